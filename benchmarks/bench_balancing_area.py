"""Balancing-area grids: fit, warm hourly dispatch with LMEs, a full-year baseline.

    python benchmarks/bench_balancing_area.py [--data-dir ../shared/data] [--hours 500]

For each EIA-930 file of the data dir (eia930/*.csv): the time to read it and fit the
fleet (bands, blocks, a year of daily water values), the warm per-hour time of
``BalancingAreaGrid.dispatch`` with two data-center sites and LMEs (HourOutcome built;
median over ``--hours`` hours after 50 warm-up hours, best of 3 passes per hour), and the
wall time of ``year_baseline`` (8,760 hours without data centers, LMEs included).
Goals (issue 13): the warm hourly dispatch with LMEs at most 1 ms; a year in seconds.
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from grids.ba_fleet import fit_fleet  # noqa: E402
from grids.balancing_area import build_balancing_area, year_baseline  # noqa: E402
from grids.eia930 import read_generation_by_fuel  # noqa: E402

warnings.filterwarnings("ignore")


def bench(path: Path, hours: int) -> dict:
    t0 = time.perf_counter()
    data = read_generation_by_fuel(path)
    t1 = time.perf_counter()
    fleet = fit_fleet(data)
    t2 = time.perf_counter()
    grid = build_balancing_area(data, ["Virginia", "Texas"], fleet=fleet).for_hours(data.mw.index[0], 50 + hours)
    load = np.array([100.0, 50.0])
    for k in range(50):
        grid.dispatch(k, load)
    per_hour = []
    for k in range(50, 50 + hours):
        best = np.inf
        for _ in range(3):
            s = time.perf_counter()
            grid.dispatch(k, load)
            best = min(best, time.perf_counter() - s)
        per_hour.append(best)
    t3 = time.perf_counter()
    year_baseline(data)
    t4 = time.perf_counter()
    return {"read_s": t1 - t0, "fit_s": t2 - t1, "dispatch_ms": 1e3 * statistics.median(per_hour),
            "dispatch_p90_ms": 1e3 * float(np.quantile(per_hour, 0.9)), "year_s": t4 - t3, "hours": len(data.mw)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", type=Path, default=Path(os.environ.get("COSIM_DATA_DIR", REPO.parent / "shared" / "data")))
    ap.add_argument("--hours", type=int, default=500)
    args = ap.parse_args()
    files = sorted((args.data_dir / "eia930").glob("*.csv"))
    if not files:
        sys.exit(f"no eia930/*.csv under {args.data_dir}")
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print("| BA | read (s) | fit (s) | warm dispatch + LMEs, median (ms) | p90 (ms) | year baseline (s) |")
    print("|---|---:|---:|---:|---:|---:|")
    for path in files:
        r = bench(path, args.hours)
        print(f"| {path.stem} | {r['read_s']:.3f} | {r['fit_s']:.2f} | {r['dispatch_ms']:.3f} | {r['dispatch_p90_ms']:.3f} | "
              f"{r['year_s']:.1f} |")


if __name__ == "__main__":
    main()
