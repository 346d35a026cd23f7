"""Batch runs on Dask (issue 6): throughput of 1 and 2 local workers, overhead per run.

    python benchmarks/bench_batch.py [--hours 6] [--workers 1,2] [--repeat 1] [--masks latency-only,eu-residency]

The sweep: paper10 cut to --hours, the mask rule sets named by --masks (from
scenarios/regulation_masks.yaml) x the four Table-1 policies: 8 short runs by default.
For each worker count, into a fresh folder, through the same code as `cosim batch`
(cosim.batch.dask_client, cosim.catalog.Catalog, cosim.batch.run_batch):

- startup s: the LocalCluster of W single-threaded worker processes up and a client connected;
- sweep s: from the first submission to the last catalog row (run_batch's elapsed_s);
- total s: startup + sweep + closing the cluster (what `cosim batch` costs, without the CLI's
  import time);
- compute s: the runs' own wall time inside the workers, summed (the catalog's wall_s);
- throughput: runs per second of sweep, and of total;
- overhead per run: (W x sweep s - compute s) / runs, worker time not spent inside a run
  (scheduling, serialization, the client's catalog writes, idle workers at the tail), and
  the same with total s in place of sweep s (cluster start-up amortized over the runs);
- catalog write ms: the client's DuckDB transaction per row (timed around Catalog.record).

The ratio of 2-worker to 1-worker throughput is the scaling figure (goal >= 1.7x on 2 cores);
the overhead per run should stay under 1 s. The machine's load average is printed before and
after each measurement: other processes on the machine disturb both. Figures go to
docs/performance.md ("Batch runs (issue 6)").
"""
from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
TABLE1 = ["cost-glb", "all-glb", "e-glb", "se-glb"]


def _sweep_file(folder: Path, hours: int, masks: list[str]) -> Path:
    shipped = yaml.safe_load((REPO / "scenarios" / "regulation_masks.yaml").read_text())
    body = {"name": "bench_batch", "base": str(REPO / "scenarios" / "paper10.yaml"), "hours": hours,
            "masks": {m: shipped["masks"][m] for m in masks}, "axes": {"mask": masks, "policy": TABLE1}}
    path = folder / "bench_batch.yaml"
    path.write_text(yaml.safe_dump(body, sort_keys=False))
    return path


def _measure(sweep_path: Path, workers: int, folder: Path) -> dict:
    from cosim import catalog as catalog_
    from cosim.batch import dask_client, run_batch
    from cosim.sweep import load_sweep

    sweep = load_sweep(sweep_path)
    out = folder / f"w{workers}"
    shutil.rmtree(out, ignore_errors=True)
    writes = []
    record = catalog_.Catalog.record

    def timed_record(self, row):
        t = time.perf_counter()
        record(self, row)
        writes.append(time.perf_counter() - t)

    load_before = os.getloadavg()[0]
    t0 = time.perf_counter()
    catalog_.Catalog.record = timed_record
    try:
        with dask_client(workers=workers) as client:
            startup = time.perf_counter() - t0
            with catalog_.Catalog(out) as catalog:
                result = run_batch(sweep, out, client, catalog)
                rows = catalog.rows()
    finally:
        catalog_.Catalog.record = record
    total = time.perf_counter() - t0
    n = len(rows)
    assert n == len(sweep.runs) and (rows["status"] == "ok").all(), rows[["run_id", "status", "error"]]
    compute = float(rows["wall_s"].sum())
    sweep_s = result.elapsed_s
    return {
        "workers": workers, "runs": n, "startup_s": startup, "sweep_s": sweep_s, "total_s": total,
        "compute_s": compute, "run_s_median": float(rows["wall_s"].median()),
        "throughput_sweep": n / sweep_s, "throughput_total": n / total,
        "overhead_sweep_s": (workers * sweep_s - compute) / n, "overhead_total_s": (workers * total - compute) / n,
        "catalog_write_ms": 1000 * statistics.median(writes), "load_before": load_before, "load_after": os.getloadavg()[0],
    }


def _machine() -> str:
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor())
    import dask
    import distributed
    import duckdb

    return (f"{model}, nproc {os.cpu_count()}, {platform.machine()}; Python {platform.python_version()}, "
            f"dask {dask.__version__}, distributed {distributed.__version__}, duckdb {duckdb.__version__}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hours", type=int, default=6)
    parser.add_argument("--workers", default="1,2", help="worker counts, comma-separated")
    parser.add_argument("--repeat", type=int, default=1, help="measurements per worker count (the fastest sweep is kept)")
    parser.add_argument("--masks", default="latency-only,eu-residency")
    args = parser.parse_args()
    masks = args.masks.split(",")
    print(_machine())
    with tempfile.TemporaryDirectory(prefix="bench-batch-") as tmp:
        folder = Path(tmp)
        sweep_path = _sweep_file(folder, args.hours, masks)
        best = {}
        for _ in range(args.repeat):
            for workers in (int(w) for w in args.workers.split(",")):
                m = _measure(sweep_path, workers, folder)
                print(f"  W={workers}: sweep {m['sweep_s']:.1f} s, total {m['total_s']:.1f} s, "
                      f"compute {m['compute_s']:.1f} s, load {m['load_before']:.2f} -> {m['load_after']:.2f}", flush=True)
                if workers not in best or m["sweep_s"] < best[workers]["sweep_s"]:
                    best[workers] = m
    print(f"\nsweep: paper10, {args.hours} h, masks {', '.join(masks)} x {len(TABLE1)} Table-1 policies "
          f"= {len(masks) * len(TABLE1)} runs; best of {args.repeat}\n")
    print("| workers | runs | startup s | sweep s | total s | compute s (sum) | run s (median) | runs/s (sweep) | "
          "runs/s (total) | overhead s/run (sweep) | overhead s/run (total) | catalog write ms | load avg before -> after |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for w, m in sorted(best.items()):
        print(f"| {w} | {m['runs']} | {m['startup_s']:.1f} | {m['sweep_s']:.1f} | {m['total_s']:.1f} | {m['compute_s']:.1f} | "
              f"{m['run_s_median']:.2f} | {m['throughput_sweep']:.3f} | {m['throughput_total']:.3f} | "
              f"{m['overhead_sweep_s']:.2f} | {m['overhead_total_s']:.2f} | {m['catalog_write_ms']:.1f} | "
              f"{m['load_before']:.2f} -> {m['load_after']:.2f} |")
    if 1 in best and 2 in best:
        print(f"\nthroughput 2 workers / 1 worker: {best[2]['throughput_sweep'] / best[1]['throughput_sweep']:.2f}x (sweep), "
              f"{best[2]['throughput_total'] / best[1]['throughput_total']:.2f}x (total)")


if __name__ == "__main__":
    main()
