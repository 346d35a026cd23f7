"""Derive the hourly-signal calibration of ``cosim.signals`` from the E-GLB dataset.

Usage::

    python benchmarks/derive_signal_stats.py [DATA_DIR] [--check] [--markdown]

DATA_DIR is the shared data folder that holds ``eglb/`` (or the ``eglb`` folder
itself); default ``$COSIM_DATA_DIR``, else ``../shared/data`` relative to the repo root.

Source: E-GLB, public code of "Towards Environmentally Equitable AI via Geographical
Load Balancing" (github.com/Ren-Research/Environmentally-Equitable-AI, MIT license):
hourly UTC series from 2022-09-22 00:00 to 2022-10-11 00:00 (the first 457 rows of every
file) of electricity price (USD/MWh), grid carbon intensity (kg/kWh) and water usage
effectiveness WUE (L/kWh) for 10 data-center locations.

Only derived statistics are written, never data rows. Output
``cosim/calibration/eglb_signal_stats.csv`` (long format, one row per location, signal
and UTC hour 0..23):

- ``mean``: mean of the signal over the 457 hours (signal unit);
- ``shape``: mean of the signal at that UTC hour of day / ``mean`` (dimensionless);
- ``resid_cv``: population standard deviation (ddof=0) of the residual
  ``r_t = value_t / (mean * shape[hour_utc(t)]) - 1`` (same on the 24 rows);
- ``resid_ar1``: lag-1 autocorrelation of ``r_t`` (standard ACF estimator
  ``sum((r_t - rbar)(r_{t-1} - rbar)) / sum((r_t - rbar)^2)``; same on the 24 rows).

Numbers are rounded to 6 significant digits. ``--check`` recomputes and exits 1 when the
shipped file differs by more than 1e-5 relative; ``--markdown`` prints the per-location
summary table used in docs/sources.md (and does not write the file).

This script reads the files with pandas directly and imports nothing from the project.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd

REPO_ROOT = Path(__file__).resolve().parents[1]
OUT_PATH = REPO_ROOT / "cosim" / "calibration" / "eglb_signal_stats.csv"

N_ROWS = 457  # 2022-09-22 00:00 .. 2022-10-11 00:00 UTC; some price files have 481 rows
FIRST_HOUR = pd.Timestamp("2022-09-22 00:00")

# location name used by cosim -> spelling in the E-GLB file names
LOCATIONS = {
    "Virginia": "Virginia",
    "Georgia": "Georgia",
    "Texas": "Texas",
    "Nevada": "Nevada",
    "Belgium": "Belguim",  # (sic) in E-GLB
    "Netherlands": "Netherlands",
    "Germany": "Germany",
    "Denmark": "Denmark",
    "Singapore": "Singapore",
    "Japan": "Japan",
}

# signal -> (folder, file-name suffix, value column)
SIGNALS = {
    "price_usd_per_mwh": ("price", "Price", "Price (USD/MWh)"),
    "carbon_kg_per_kwh": ("carbon", "carbon", "Carbon (kg/kWh)"),
    "wue_l_per_kwh": ("water", "water", " WUE (L/kWh)"),  # leading space (sic)
}

COLUMNS = ["location", "signal", "hour_utc", "mean", "shape", "resid_cv", "resid_ar1"]
NUMERIC = ["mean", "shape", "resid_cv", "resid_ar1"]
HEADER = (
    "# Derived statistics (no data rows) of the E-GLB dataset, public code of 'Towards\n"
    "# Environmentally Equitable AI via Geographical Load Balancing'\n"
    "# (github.com/Ren-Research/Environmentally-Equitable-AI, MIT license), hourly UTC\n"
    "# 2022-09-22 00:00 to 2022-10-11 00:00. Written by benchmarks/derive_signal_stats.py;\n"
    "# see docs/sources.md. Units: price USD/MWh, carbon kg/kWh, WUE L/kWh.\n"
)


def default_data_dir() -> Path:
    """``$COSIM_DATA_DIR`` if set, else ``<repo root>/../shared/data``."""
    env = os.environ.get("COSIM_DATA_DIR")
    return Path(env) if env else REPO_ROOT.parent / "shared" / "data"


def eglb_dir(data_dir: str | Path) -> Path:
    """The E-GLB folder: ``data_dir/eglb`` or ``data_dir`` itself if it holds ``price/``."""
    data_dir = Path(data_dir)
    if (data_dir / "eglb").is_dir():
        return data_dir / "eglb"
    if (data_dir / "price").is_dir():
        return data_dir
    raise FileNotFoundError(f"{data_dir}: no eglb/ folder (nor price/, carbon/, water/) here")


def read_series(eglb: Path, location: str, signal: str) -> pd.Series:
    """The first 457 hourly values of one E-GLB file, indexed by naive UTC time."""
    folder, suffix, column = SIGNALS[signal]
    path = eglb / folder / f"{LOCATIONS[location]}_{suffix}.csv"
    df = pd.read_csv(path).iloc[:N_ROWS]
    if len(df) != N_ROWS:
        raise ValueError(f"{path}: {len(df)} rows, expected at least {N_ROWS}")
    time = pd.to_datetime(df["Time (UTC)"], format="%Y-%m-%d %H")
    expected = pd.date_range(FIRST_HOUR, periods=N_ROWS, freq="h")
    if not (time.to_numpy() == expected.to_numpy()).all():
        raise ValueError(f"{path}: times are not hourly from {FIRST_HOUR}")
    values = pd.to_numeric(df[column], errors="raise").astype(float)
    if values.isna().any():
        raise ValueError(f"{path}: missing values in {column!r}")
    return pd.Series(values.to_numpy(), index=pd.DatetimeIndex(time), name=signal)


def series_stats(values: pd.Series) -> dict[str, object]:
    """mean, 24-value shape, resid_cv and resid_ar1 of one hourly series (unrounded)."""
    v = values.to_numpy(dtype=float)
    hour = values.index.hour.to_numpy()
    mean = float(v.mean())
    shape = pd.Series(v).groupby(hour).mean().reindex(range(24)).to_numpy() / mean
    if np.isnan(shape).any():
        raise ValueError("some UTC hour of day has no value")
    resid = v / (mean * shape[hour]) - 1.0
    dev = resid - resid.mean()
    cv = float(resid.std(ddof=0))
    ar1 = float((dev[1:] * dev[:-1]).sum() / (dev * dev).sum())
    return {"mean": mean, "shape": shape, "resid_cv": cv, "resid_ar1": ar1}


def derive(data_dir: str | Path) -> pd.DataFrame:
    """The statistics table (columns COLUMNS), rounded to 6 significant digits."""
    eglb = eglb_dir(data_dir)
    rows = []
    for location in LOCATIONS:
        for signal in SIGNALS:
            s = series_stats(read_series(eglb, location, signal))
            for hour in range(24):
                rows.append(
                    {
                        "location": location,
                        "signal": signal,
                        "hour_utc": hour,
                        "mean": s["mean"],
                        "shape": s["shape"][hour],
                        "resid_cv": s["resid_cv"],
                        "resid_ar1": s["resid_ar1"],
                    }
                )
    df = pd.DataFrame(rows, columns=COLUMNS)
    for col in NUMERIC:
        df[col] = [float(f"{x:.6g}") for x in df[col]]
    return df


def to_csv_text(df: pd.DataFrame) -> str:
    """The file's text: source header then the table with 6 significant digits."""
    return HEADER + df.to_csv(index=False, float_format="%.6g", lineterminator="\n")


def read_shipped(path: str | Path = OUT_PATH) -> pd.DataFrame:
    """The shipped statistics file as a DataFrame."""
    return pd.read_csv(path, comment="#")


def compare(fresh: pd.DataFrame, shipped: pd.DataFrame, rtol: float = 1e-5) -> list[str]:
    """Differences between two statistics tables; empty when they agree within rtol."""
    problems = []
    if list(shipped.columns) != COLUMNS:
        return [f"columns {list(shipped.columns)} != {COLUMNS}"]
    keys = ["location", "signal", "hour_utc"]
    a = fresh.set_index(keys)
    b = shipped.set_index(keys)
    missing = a.index.difference(b.index)
    extra = b.index.difference(a.index)
    if len(missing):
        problems.append(f"{len(missing)} rows missing, e.g. {missing[0]}")
    if len(extra):
        problems.append(f"{len(extra)} unexpected rows, e.g. {extra[0]}")
    common = a.index.intersection(b.index)
    for col in NUMERIC:
        x = a.loc[common, col].to_numpy(dtype=float)
        y = b.loc[common, col].to_numpy(dtype=float)
        bad = ~np.isclose(y, x, rtol=rtol, atol=1e-12)
        for key, xv, yv in list(zip(common[bad], x[bad], y[bad]))[:5]:
            problems.append(f"{key} {col}: shipped {yv:.6g}, fresh {xv:.6g}")
        if bad.sum() > 5:
            problems.append(f"... {bad.sum() - 5} more differences in {col}")
    return problems


def summary(df: pd.DataFrame) -> pd.DataFrame:
    """Per location: mean of each signal and peak-to-trough (max - min) of its daily shape."""
    out = {}
    for (location, signal), g in df.groupby(["location", "signal"], sort=False):
        row = out.setdefault(location, {})
        row[f"mean_{signal}"] = float(g["mean"].iloc[0])
        row[f"p2t_{signal}"] = float(g["shape"].max() - g["shape"].min())
    return pd.DataFrame.from_dict(out, orient="index").reindex(list(LOCATIONS))


def markdown_table(df: pd.DataFrame) -> str:
    """The summary as a Markdown table (peak-to-trough in % of the mean)."""
    s = summary(df)
    lines = [
        "| location | price USD/MWh | carbon kg/kWh | WUE L/kWh "
        "| price shape p2t | carbon shape p2t | WUE shape p2t |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for loc, r in s.iterrows():
        lines.append(
            f"| {loc} | {r['mean_price_usd_per_mwh']:.1f} | {r['mean_carbon_kg_per_kwh']:.3f} "
            f"| {r['mean_wue_l_per_kwh']:.2f} | {100 * r['p2t_price_usd_per_mwh']:.0f} % "
            f"| {100 * r['p2t_carbon_kg_per_kwh']:.0f} % | {100 * r['p2t_wue_l_per_kwh']:.0f} % |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", nargs="?", default=None,
                        help="folder holding eglb/ (default $COSIM_DATA_DIR or ../shared/data)")
    parser.add_argument("--check", action="store_true",
                        help="recompute and exit 1 if the shipped file differs beyond 1e-5 relative")
    parser.add_argument("--markdown", action="store_true",
                        help="print the per-location summary table (does not write the file)")
    args = parser.parse_args(argv)
    data_dir = Path(args.data_dir) if args.data_dir else default_data_dir()
    try:
        fresh = derive(data_dir)
    except (FileNotFoundError, ValueError, KeyError) as exc:
        print(f"derive_signal_stats: {exc}", file=sys.stderr)
        return 2
    if args.markdown:
        print(markdown_table(fresh))
    if args.check:
        if not OUT_PATH.exists():
            print(f"{OUT_PATH}: missing", file=sys.stderr)
            return 1
        problems = compare(fresh, read_shipped(OUT_PATH))
        if problems:
            print(f"{OUT_PATH} differs from a fresh derivation:", file=sys.stderr)
            for p in problems:
                print(f"  {p}", file=sys.stderr)
            return 1
        print(f"{OUT_PATH.relative_to(REPO_ROOT)}: matches {eglb_dir(data_dir)}")
        return 0
    if not args.markdown:
        OUT_PATH.parent.mkdir(parents=True, exist_ok=True)
        OUT_PATH.write_text(to_csv_text(fresh), encoding="utf-8")
        print(f"wrote {OUT_PATH.relative_to(REPO_ROOT)} ({len(fresh)} rows)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
