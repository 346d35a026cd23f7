"""Seeded synthetic hourly grid signals per data-center location, needing no external file.

Until the power-grid models provide them, the embedded default scenario uses these
three hourly signals per location:

- ``price_usd_per_mwh``: electricity price, USD/MWh;
- ``carbon_kg_per_kwh``: grid carbon intensity, kg CO2 per kWh;
- ``wue_l_per_kwh``: water usage effectiveness, litres of water per kWh.

Calibration: ``cosim/calibration/eglb_signal_stats.csv`` holds, per location and signal,
the overall mean, the 24-value UTC hour-of-day shape (hour mean / overall mean), and the
standard deviation ``resid_cv`` and lag-1 autocorrelation ``resid_ar1`` of the residual
``value / (mean * shape) - 1``. These are derived statistics (no data rows) of the public
E-GLB dataset (Ren-Research/Environmentally-Equitable-AI, MIT license; hourly UTC
2022-09-22 to 2022-10-11), written by ``benchmarks/derive_signal_stats.py``; see
``docs/sources.md``.

Model, for the hour starting at UTC time ``t``::

    value(t) = mean * shape[hour_utc(t)] * max(0.05, 1 + resid_cv * z_t)
    z_0 = e_0,  z_t = resid_ar1 * z_{t-1} + sqrt(1 - resid_ar1**2) * e_t

with ``e_t`` i.i.d. standard normal, so ``z`` is a stationary AR(1) process with unit
variance. The floor at 5 % of the hourly profile keeps every value positive (E-GLB has a
few negative European prices; the floor lifts the generated mean by at most about 2 %).

Random streams: for each (location, signal) the generator is
``numpy.random.default_rng(numpy.random.SeedSequence(seed, spawn_key=(crc32(location),
crc32(signal))))`` with ``crc32`` of the UTF-8 name (zlib), i.e. a stable child of
``default_rng(seed)``'s seed sequence keyed by the names (:func:`grids.noise.stream`), not
by the position in the request. Each stream draws ``standard_normal(hours)`` once: element 0 is ``e_0``, element
``k`` is ``e_k``. Hence the same seed gives identical output, every (location, signal)
is independent of the others, a subset of locations gives the same values for those
locations, and a shorter horizon is a prefix of a longer one. The noise does not depend
on ``start``; only the hour-of-day alignment of the shape does.
"""
from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from importlib import resources

import numpy as np
import pandas as pd

from cosim.errors import InputError
from grids import noise
from grids.outcome import SIGNALS as GRID_SIGNALS

SIGNALS = GRID_SIGNALS[:3]  # price, carbon, WUE: EWIF and LME come from dispatch only
"""Signal names: price in USD/MWh, carbon intensity in kg/kWh, WUE in L/kWh."""

LOCATIONS = (
    "Virginia", "Georgia", "Texas", "Nevada", "Belgium",
    "Netherlands", "Germany", "Denmark", "Singapore", "Japan",
)
"""Locations with a calibration, in the order of the calibration file."""

FLOOR = 0.05
"""Lowest multiplier of ``mean * shape``: values never drop below 5 % of the hourly profile."""

STATS_FILE = "eglb_signal_stats.csv"
_SOURCE = "<signals>"


@lru_cache(maxsize=1)
def _stats_table() -> pd.DataFrame:
    """The calibration table as shipped (read once from package cosim.calibration)."""
    text = resources.files("cosim.calibration").joinpath(STATS_FILE)
    with text.open("r", encoding="utf-8") as fh:
        return pd.read_csv(fh, comment="#")


@lru_cache(maxsize=1)
def _calibration() -> dict[tuple[str, str], tuple[float, np.ndarray, float, float]]:
    """(location, signal) -> (mean, shape[24], resid_cv, resid_ar1), checked once."""
    out = {}
    for (location, signal), g in _stats_table().groupby(["location", "signal"], sort=False):
        g = g.sort_values("hour_utc")
        if list(g["hour_utc"]) != list(range(24)):
            raise RuntimeError(f"{STATS_FILE}: {location}/{signal} lacks 24 UTC hours")
        shape = g["shape"].to_numpy(dtype=float)
        shape.setflags(write=False)
        ar1 = float(g["resid_ar1"].iloc[0])
        if not -1.0 < ar1 < 1.0:
            raise RuntimeError(f"{STATS_FILE}: {location}/{signal} resid_ar1 {ar1} not in (-1, 1)")
        out[(location, signal)] = (float(g["mean"].iloc[0]), shape, float(g["resid_cv"].iloc[0]), ar1)
    return out


def calibration_table() -> pd.DataFrame:
    """A copy of the calibration table: location, signal, hour_utc, mean (signal unit),
    shape (dimensionless), resid_cv (dimensionless), resid_ar1 (dimensionless)."""
    return _stats_table().copy()


def synthetic_signals(
    locations: Iterable[str],
    start: pd.Timestamp,
    hours: int,
    seed: int,
) -> dict[str, pd.DataFrame]:
    """Seeded hourly price, carbon intensity and WUE for the given locations.

    Parameters
    ----------
    locations: names from ``LOCATIONS`` (e.g. ``"Belgium"``), each at most once; the
        columns keep this order.
    start: tz-aware pandas Timestamp on a whole hour: the first hour's start (converted
        to UTC).
    hours: number of hourly values (>= 0).
    seed: non-negative integer seed; see the module docstring for the stream layout.

    Returns
    -------
    ``{signal: DataFrame}`` for every name in ``SIGNALS``; each DataFrame is indexed by a
    tz-aware UTC hourly DatetimeIndex named ``"time"`` (the start of each hour) with one
    float column per location: price in USD/MWh, carbon intensity in kg/kWh, WUE in L/kWh.
    Every value is positive.

    Raises
    ------
    InputError: unknown or repeated location, naive or non-whole-hour ``start``, negative
        ``hours`` or ``seed``.
    """
    names = [locations] if isinstance(locations, str) else list(locations)
    for i, name in enumerate(names):
        if name not in LOCATIONS:
            raise InputError(
                _SOURCE, f"location '{name}'",
                f"unknown location; known: {', '.join(LOCATIONS)}",
            )
        if name in names[:i]:
            raise InputError(_SOURCE, f"location '{name}'", "listed more than once")
    try:
        t0 = pd.Timestamp(start)
    except (TypeError, ValueError) as exc:
        raise InputError(_SOURCE, "start", f"not a timestamp: {start!r} ({exc})") from None
    if t0.tzinfo is None:
        raise InputError(_SOURCE, "start", f"{t0} has no time zone; give e.g. tz='UTC'")
    t0 = t0.tz_convert("UTC")
    if t0 != t0.floor("h"):
        raise InputError(_SOURCE, "start", f"{t0} is not on a whole hour")
    if isinstance(hours, bool) or not isinstance(hours, (int, np.integer)) or hours < 0:
        raise InputError(_SOURCE, "hours", f"must be a non-negative integer, got {hours!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InputError(_SOURCE, "seed", f"must be a non-negative integer, got {seed!r}")

    index = pd.date_range(t0, periods=int(hours), freq="h", name="time")
    hour_of_day = index.hour.to_numpy()
    calib = _calibration()
    out: dict[str, pd.DataFrame] = {}
    for signal in SIGNALS:
        columns = {}
        for name in names:
            mean, shape, cv, phi = calib[(name, signal)]
            z = noise.ar1(noise.stream(int(seed), name, signal).standard_normal(int(hours)), phi)
            columns[name] = mean * shape[hour_of_day] * np.maximum(FLOOR, 1.0 + cv * z)
        out[signal] = pd.DataFrame(columns, index=index, columns=names, dtype=float)
    return out
