"""Tests of cosim.signals and of its E-GLB calibration file."""
from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:  # plain `pytest` from a checkout without an install
    sys.path.insert(0, str(REPO_ROOT))

from cosim.errors import InputError  # noqa: E402
from cosim.signals import LOCATIONS, SIGNALS, calibration_table, synthetic_signals  # noqa: E402

START = pd.Timestamp("2024-01-01 00:00", tz="UTC")
DAYS30 = 30 * 24
POOL = 64  # independent 30-day series pooled where one draw is too noisy (see below)


def _data_dir() -> Path:
    env = os.environ.get("COSIM_DATA_DIR")
    return Path(env) if env else REPO_ROOT.parent / "shared" / "data"


def _load_script():
    path = REPO_ROOT / "benchmarks" / "derive_signal_stats.py"
    spec = importlib.util.spec_from_file_location("derive_signal_stats", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _calib() -> dict[tuple[str, str], tuple[float, np.ndarray, float, float]]:
    out = {}
    for (loc, sig), g in calibration_table().groupby(["location", "signal"]):
        g = g.sort_values("hour_utc")
        out[(loc, sig)] = (
            float(g["mean"].iloc[0]), g["shape"].to_numpy(),
            float(g["resid_cv"].iloc[0]), float(g["resid_ar1"].iloc[0]),
        )
    return out


def _rel_se_of_mean(cv: float, phi: float, n: int) -> float:
    """Relative standard error of the n-hour mean of 1 + cv * z, z unit AR(1) with phi."""
    factor = (1 + phi) / (1 - phi) - 2 * phi * (1 - phi**n) / (n * (1 - phi) ** 2)
    return cv * np.sqrt(factor / n)


@pytest.fixture(scope="module")
def pooled() -> dict[str, pd.DataFrame]:
    """POOL independent 30-day series (seeds 0..POOL-1) per location and signal, stacked."""
    runs = [synthetic_signals(LOCATIONS, START, DAYS30, seed) for seed in range(POOL)]
    return {s: pd.concat([r[s] for r in runs]) for s in SIGNALS}


# --- calibration file -------------------------------------------------------------


def test_shipped_stats_match_fresh_derivation_from_eglb():
    data = _data_dir()
    if not (data / "eglb").is_dir():
        pytest.skip(f"E-GLB data not found at {data / 'eglb'} (set COSIM_DATA_DIR to the shared data folder)")
    script = _load_script()
    fresh = script.derive(data)
    shipped = script.read_shipped(REPO_ROOT / "cosim" / "calibration" / "eglb_signal_stats.csv")
    assert len(fresh) == len(LOCATIONS) * len(SIGNALS) * 24
    assert script.compare(fresh, shipped) == []
    # the check itself can fail: a 1e-4 relative change of one figure is reported
    tampered = shipped.copy()
    tampered.loc[5, "shape"] *= 1 + 1e-4
    assert len(script.compare(fresh, tampered)) == 1


def test_calibration_table_complete_and_sane():
    t = calibration_table()
    assert list(t.columns) == ["location", "signal", "hour_utc", "mean", "shape", "resid_cv", "resid_ar1"]
    assert set(t["location"]) == set(LOCATIONS)
    assert set(t["signal"]) == set(SIGNALS)
    counts = t.groupby(["location", "signal"])["hour_utc"].apply(lambda h: sorted(h) == list(range(24)))
    assert counts.all() and len(counts) == 30
    assert (t["mean"] > 0).all() and (t["shape"] > 0).all() and (t["resid_cv"] >= 0).all()
    assert ((t["resid_ar1"] > -1) & (t["resid_ar1"] < 1)).all()
    per_series = t.groupby(["location", "signal"])[["mean", "resid_cv", "resid_ar1"]].nunique()
    assert (per_series == 1).all().all()


def test_shape_averages_to_one():
    avg = calibration_table().groupby(["location", "signal"])["shape"].mean()
    assert ((avg - 1).abs() < 1e-3).all(), avg[(avg - 1).abs() >= 1e-3]


# --- generated series ------------------------------------------------------------


def test_layout_index_and_columns():
    locs = ["Japan", "Belgium", "Texas"]
    out = synthetic_signals(locs, START, 50, seed=3)
    assert tuple(out) == SIGNALS
    for df in out.values():
        assert list(df.columns) == locs
        assert isinstance(df.index, pd.DatetimeIndex) and df.index.name == "time"
        assert str(df.index.tz) == "UTC"
        assert len(df) == 50 and df.index[0] == START
        assert (df.index.to_series().diff().dropna() == pd.Timedelta("1h")).all()
        assert df.dtypes.eq(float).all()


def test_start_in_other_zone_aligns_on_utc_hour():
    # 05:00 in New York in January is 10:00 UTC, where E-GLB US prices step up 4x
    start = pd.Timestamp("2024-01-01 05:00", tz="America/New_York")
    price = synthetic_signals(["Virginia"], start, 24, seed=0)["price_usd_per_mwh"]["Virginia"]
    assert price.index[0] == pd.Timestamp("2024-01-01 10:00", tz="UTC")
    shape = _calib()[("Virginia", "price_usd_per_mwh")][1]
    assert shape[10] / shape[9] > 3  # the calibrated step exists...
    assert price.iloc[0] / price.iloc[-1] > 3  # ...and is generated at 10:00 UTC, not 09:00


def test_single_30_day_mean_within_10_percent_where_sampling_noise_is_small():
    """One 30-day draw, for every series whose AR(1) standard error of a 30-day mean is
    <= 2.5 % (10 % is then >= 4 standard errors). The persistent, volatile European and
    Japanese prices have standard errors up to ~20 % per 30-day draw, as E-GLB itself
    does; they are checked on the pooled draws in the next test."""
    calib = _calib()
    out = synthetic_signals(LOCATIONS, START, DAYS30, seed=0)
    checked = 0
    for (loc, sig), (mean, _shape, cv, phi) in calib.items():
        if _rel_se_of_mean(cv, phi, DAYS30) > 0.025:
            continue
        checked += 1
        got = out[sig][loc].mean()
        assert abs(got / mean - 1) < 0.10, (loc, sig, got, mean)
    assert checked >= 10


def test_pooled_30_day_mean_within_10_percent_of_eglb(pooled):
    calib = _calib()
    for (loc, sig), (mean, _shape, _cv, _phi) in calib.items():
        got = pooled[sig][loc].mean()
        assert abs(got / mean - 1) < 0.10, (loc, sig, got, mean)


def test_hour_of_day_profile_follows_shape(pooled):
    calib = _calib()
    checked = 0
    for (loc, sig), (_mean, shape, _cv, _phi) in calib.items():
        if shape.max() - shape.min() <= 0.05:
            continue
        checked += 1
        x = pooled[sig][loc]
        profile = x.groupby(x.index.hour).mean().reindex(range(24)).to_numpy()
        r = np.corrcoef(profile, shape)[0, 1]
        assert r > 0.9, (loc, sig, r)
    assert checked >= 20


def test_all_values_positive(pooled):
    for sig in SIGNALS:
        assert (pooled[sig].to_numpy() > 0).all(), sig
        assert np.isfinite(pooled[sig].to_numpy()).all(), sig


def test_same_seed_identical_different_seed_different():
    a = synthetic_signals(LOCATIONS, START, 200, seed=7)
    b = synthetic_signals(LOCATIONS, START, 200, seed=7)
    c = synthetic_signals(LOCATIONS, START, 200, seed=8)
    for sig in SIGNALS:
        pd.testing.assert_frame_equal(a[sig], b[sig])
        # every column changes with the seed (US prices barely vary, hence not allclose)
        assert (a[sig].to_numpy() != c[sig].to_numpy()).any(axis=0).all(), sig


def test_streams_independent_across_locations_and_signals():
    out = synthetic_signals(LOCATIONS, START, DAYS30, seed=1)
    calib = _calib()
    # residual multipliers value / (mean * shape) - 1 must not be copies of each other
    resid = []
    for sig in SIGNALS:
        for loc in LOCATIONS:
            mean, shape, cv, _ = calib[(loc, sig)]
            x = out[sig][loc]
            resid.append(x.to_numpy() / (mean * shape[x.index.hour]) - 1)
    resid = np.array(resid)
    corr = np.corrcoef(resid)
    off_diag = corr[~np.eye(len(corr), dtype=bool)]
    assert np.nanmax(np.abs(off_diag)) < 0.999


def test_subset_of_locations_gives_identical_columns():
    full = synthetic_signals(LOCATIONS, START, 100, seed=11)
    subset = ["Singapore", "Virginia"]
    part = synthetic_signals(subset, START, 100, seed=11)
    for sig in SIGNALS:
        pd.testing.assert_frame_equal(part[sig], full[sig][subset])


def test_shorter_horizon_is_prefix():
    long = synthetic_signals(["Denmark"], START, 100, seed=5)
    short = synthetic_signals(["Denmark"], START, 40, seed=5)
    for sig in SIGNALS:
        pd.testing.assert_frame_equal(short[sig], long[sig].iloc[:40], check_freq=False)


def test_zero_hours_gives_empty_frames():
    out = synthetic_signals(["Japan"], START, 0, seed=0)
    assert all(len(df) == 0 and list(df.columns) == ["Japan"] for df in out.values())


def test_unknown_location_raises_input_error_naming_it():
    with pytest.raises(InputError) as exc:
        synthetic_signals(["Virginia", "Atlantis"], START, 24, seed=0)
    assert "Atlantis" in str(exc.value)
    assert exc.value.source == "<signals>"
    assert exc.value.where == "location 'Atlantis'"
    assert "Belgium" in exc.value.reason  # lists the known ones


@pytest.mark.parametrize(
    "kwargs, where",
    [
        ({"locations": ["Texas", "Texas"]}, "location 'Texas'"),
        ({"start": pd.Timestamp("2024-01-01")}, "start"),
        ({"start": pd.Timestamp("2024-01-01 00:30", tz="UTC")}, "start"),
        ({"hours": -1}, "hours"),
        ({"seed": -3}, "seed"),
    ],
)
def test_bad_arguments_raise_input_error(kwargs, where):
    args = {"locations": ["Texas"], "start": START, "hours": 24, "seed": 0} | kwargs
    with pytest.raises(InputError) as exc:
        synthetic_signals(**args)
    assert exc.value.where == where
