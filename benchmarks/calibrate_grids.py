"""Calibrate the regional grids against the E-GLB means (docs/grids.md, "Calibration").

Dispatches every shipped net without data-center load hour by hour over the E-GLB window
(2022-09-22 00:00 UTC, 457 hours by default) and, per DC site, compares

- the mean price: LMP at the site's bus (USD/MWh), bound 30 % of the E-GLB mean;
- the mean average carbon intensity of the site's zone (production mix, kg/kWh), bound
  20 % of the E-GLB mean;
- the daily movement of that intensity: the mean over UTC days of (max - min) / mean of
  the day must be at least 3 % (else "flat").

E-GLB means and hour-of-day shapes come from cosim/calibration/eglb_signal_stats.csv.
Prints a Markdown table (and the zones' fuel mix with --mix); exits 1 if any site misses.

    python benchmarks/calibrate_grids.py                  # 457 h, Dispatcher if present
    python benchmarks/calibrate_grids.py --hours 72 --engine pandapower --mix
"""
from __future__ import annotations

import argparse
import logging
import sys
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

STATS = ROOT / "cosim" / "calibration" / "eglb_signal_stats.csv"
PRICE_TOL = 0.30
CARBON_TOL = 0.20
MIN_DAILY_RANGE = 0.03


def _quiet():
    warnings.filterwarnings("ignore")
    logging.getLogger("pandapower").setLevel(logging.ERROR)


def eglb_stats() -> pd.DataFrame:
    """Per location: E-GLB mean price, mean carbon and carbon daily-shape peak-to-trough."""
    d = pd.read_csv(STATS, comment="#")
    out = {}
    for loc, g in d.groupby("location"):
        p = g[g.signal == "price_usd_per_mwh"]
        c = g[g.signal == "carbon_kg_per_kwh"]
        out[loc] = {"price": float(p["mean"].iloc[0]), "carbon": float(c["mean"].iloc[0]),
                    "carbon_p2t": float(c["shape"].max() - c["shape"].min())}
    return pd.DataFrame(out).T


def _run(args):
    name, start, hours, seed, engine = args
    _quiet()
    from grids.reference import baseline_signals
    from grids.registry import build_region
    rg = build_region(name, seed=seed)
    return baseline_signals(rg, start, hours, engine=engine)


def summarize(baselines, stats: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for b in baselines:
        si = b.site_intensity()
        for site in b.prices.columns:
            price = b.prices[site]
            c = si[site]
            day = c.index.floor("D")
            daily = c.groupby(day).agg(["min", "max", "mean"])
            daily = daily[c.groupby(day).size() >= 20]
            rng = float(((daily["max"] - daily["min"]) / daily["mean"]).mean())
            hod = c.groupby(c.index.hour).mean()
            e = stats.loc[site]
            rows.append({
                "site": site, "net": b.region, "zone": b.site_zone[site],
                "eglb_price": e["price"], "price": float(price.mean()),
                "price_err": float(price.mean() / e["price"] - 1),
                "eglb_carbon": e["carbon"], "carbon": float(c.mean()),
                "carbon_err": float(c.mean() / e["carbon"] - 1),
                "daily_min": float(daily["min"].mean()), "daily_max": float(daily["max"].mean()),
                "daily_range": rng, "hod_p2t": float((hod.max() - hod.min()) / c.mean()),
                "eglb_p2t": e["carbon_p2t"],
            })
    df = pd.DataFrame(rows).set_index("site")
    df["ok"] = ((df["price_err"].abs() <= PRICE_TOL) & (df["carbon_err"].abs() <= CARBON_TOL)
                & (df["daily_range"] >= MIN_DAILY_RANGE))
    return df


def markdown(df: pd.DataFrame) -> str:
    lines = ["| site | net / zone | E-GLB price | ours | error | E-GLB carbon | ours | error "
             "| intensity daily min-max | daily range | E-GLB hour-of-day p2t | ours | within bounds |",
             "|---|---|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---|"]
    for s, r in df.iterrows():
        lines.append(
            f"| {s} | {r['net']} / {r['zone']} | {r['eglb_price']:.1f} | {r['price']:.1f} | {100 * r['price_err']:+.0f} % "
            f"| {r['eglb_carbon']:.3f} | {r['carbon']:.3f} | {100 * r['carbon_err']:+.0f} % "
            f"| {r['daily_min']:.3f} - {r['daily_max']:.3f} | {100 * r['daily_range']:.0f} % "
            f"| {100 * r['eglb_p2t']:.0f} % | {100 * r['hod_p2t']:.0f} % | {'yes' if r['ok'] else '**no**'} |")
    return "\n".join(lines)


def mix_markdown(baselines) -> str:
    lines = ["| net | zone | " + " | ".join(["coal", "gas", "oil", "nuclear", "other", "hydro", "wind", "solar"])
             + " | production MW (model) |", "|---|---|" + "---:|" * 9]
    for b in baselines:
        m = b.mix_mw.mean()
        for z in m.index.get_level_values("zone").unique():
            mz = m[z]
            tot = mz.sum()
            cells = [f"{100 * mz.get(f, 0.0) / tot:.0f} %" for f in
                     ["coal", "gas", "oil", "nuclear", "other", "hydro", "wind", "solar"]]
            lines.append(f"| {b.region} | {z} | " + " | ".join(cells) + f" | {tot:.0f} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--start", default="2022-09-22T00:00:00Z")
    ap.add_argument("--hours", type=int, default=457)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--regions", nargs="*", default=None)
    ap.add_argument("--engine", default="auto", choices=["auto", "dispatcher", "pandapower"])
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--mix", action="store_true", help="also print each zone's mean fuel mix")
    a = ap.parse_args(argv)
    _quiet()
    from grids.registry import region_names
    names = a.regions or region_names()
    t0 = time.perf_counter()
    jobs = [(n, a.start, a.hours, a.seed, a.engine) for n in names]
    if a.jobs > 1 and len(jobs) > 1:
        with ProcessPoolExecutor(max_workers=a.jobs) as ex:
            baselines = list(ex.map(_run, jobs))
    else:
        baselines = [_run(j) for j in jobs]
    df = summarize(baselines, eglb_stats())
    print(f"Calibration: {a.hours} h from {a.start}, seed {a.seed}, engine {baselines[0].engine}, "
          f"{time.perf_counter() - t0:.1f} s wall\n")
    print(markdown(df))
    for b in baselines:
        if b.fallback_hours:
            print(f"\n{b.region}: rundcopp did not converge in {len(b.fallback_hours)} of {a.hours} hours "
                  f"(solved by the Dispatcher): {', '.join(f'{t:%m-%d %H:00}' for t in b.fallback_hours)}")
    if a.mix:
        print()
        print(mix_markdown(baselines))
    bad = df.index[~df["ok"]].tolist()
    if bad:
        print(f"\nOut of bounds (price {PRICE_TOL:.0%}, carbon {CARBON_TOL:.0%}, daily range >= "
              f"{MIN_DAILY_RANGE:.0%}): {', '.join(bad)}")
        return 1
    print(f"\nAll {len(df)} sites within bounds.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
