"""Hourly inputs of a regional net: background load and renewable availability.

Per zone, for any UTC start and horizon (docs/grids.md, "Profiles"):

- background load = mean x daily shape (local time, ``profiles.yaml``) x weekday factor
  x (1 + cv z_t), z a stationary AR(1);
- net exports to outside the net: flat;
- PV availability = capacity x CF, CF from the sun's elevation at the zone
  (:mod:`grids.sun`), scaled so a clear 1 October averages the zone's capacity factor,
  times a lognormal day clearness (AR(1) over days) and hourly noise;
- wind = capacity x mean CF x (1 + a cos(2 pi (h_local - peak)/24)) x lognormal AR(1)
  noise; run-of-river hydro likewise (flat);
- all noise is drawn from :func:`grids.noise.stream` ``(seed, net, zone, stream)``, hour
  by hour from 2015-01-01 00:00 UTC, so a value depends only on (seed, net, zone, stream,
  hour): the same seed gives the same series and any window is a slice of the same path.

An hourly series file (:func:`read_timeseries`) may override the synthetic load and
capacity factors of some zones.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
import pandas as pd

from grids.errors import InputError
from grids.files import hourly_window
from grids.network import load_shapes
from grids.noise import ar1, lognormal_factor, stream
from grids.sun import clear_sky_pv_shape

if TYPE_CHECKING:
    from pandapower.auxiliary import pandapowerNet

EPOCH = pd.Timestamp("2015-01-01T00:00:00", tz="UTC")
"""First hour of every noise path (profiles may start no earlier)."""
MAX_HOURS = 24 * 366 * 20

_FAMILY = {"wind_onshore": "wind", "wind_offshore": "wind"}


class HourlyProfiles(NamedTuple):
    """Hourly inputs of a net: both frames are indexed by UTC hour (``time``)."""

    load_mw: pd.DataFrame       # columns: net.load index (background and export loads), MW
    sgen_max_mw: pd.DataFrame   # columns: net.sgen index, available MW (max_p_mw)
    gen_max_mw: pd.DataFrame | None = None  # columns: net.gen index, available MW (None: max_p_mw)
    gen_cost_usd_per_mwh: pd.DataFrame | None = None  # columns: net.gen index (None: poly_cost)


def hour_range(start: pd.Timestamp | str, hours: int) -> pd.DatetimeIndex:
    """*hours* UTC hours from *start* (naive = UTC, on the hour, not before :data:`EPOCH`),
    named ``time``; InputError for anything else."""
    try:
        ts = pd.Timestamp(start)
    except (TypeError, ValueError):
        raise InputError("<grids>", "start", f"not a time: {start!r}") from None
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    if ts != ts.floor("h"):
        raise InputError("<grids>", "start", f"{ts} is not on the hour")
    if ts < EPOCH:
        raise InputError("<grids>", "start", f"{ts:%Y-%m-%d %H:%M} UTC is before {EPOCH:%Y-%m-%d} (profile epoch)")
    try:
        hours = int(hours)
    except (TypeError, ValueError):
        raise InputError("<grids>", "hours", f"not an integer: {hours!r}") from None
    if not 1 <= hours <= MAX_HOURS:
        raise InputError("<grids>", "hours", f"must be in 1..{MAX_HOURS}, got {hours}")
    return pd.date_range(ts, periods=hours, freq="h", name="time")


def hourly_profiles(name: str, net: pandapowerNet, spec: dict, seed: int, times: pd.DatetimeIndex, *,
                    timeseries: pd.DataFrame | None = None,
                    timeseries_source: str = "<timeseries>") -> HourlyProfiles:
    """Background load (MW per ``net.load`` index) and sgen availability (MW per
    ``net.sgen`` index) of net *name* (region spec *spec*, noise *seed*) for the UTC hours
    *times* (:func:`hour_range`); *timeseries* columns override the synthetic ones."""
    k0 = int((times[0] - EPOCH) / pd.Timedelta(hours=1))
    n = k0 + len(times)
    zone_load = {}
    zone_cf: dict[tuple[str, str], np.ndarray] = {}
    ts = None if timeseries is None else hourly_window(timeseries, times, timeseries_source)
    shapes = load_shapes()
    for zn, z in spec["zones"].items():
        local = times.tz_convert(z["timezone"])
        col = f"load:{zn}"
        if ts is not None and col in ts.columns:
            zone_load[zn] = ts[col].to_numpy(dtype=float)
        else:
            sh = shapes[z["load"]["shape"]]
            dow = local.dayofweek.to_numpy()
            week = np.where(dow == 5, sh["weekend"][0], np.where(dow == 6, sh["weekend"][1], 1.0))
            week_norm = (5 + sh["weekend"][0] + sh["weekend"][1]) / 7.0
            base = sh["shape"][local.hour.to_numpy()] * week / week_norm
            cv = z["load"]["noise_cv"]
            if cv > 0:
                zz = _ar1_path(seed, (name, zn, "load"), z["load"]["noise_ar1"], n)[k0:]
                base = base * np.maximum(0.5, 1 + cv * zz)
            zone_load[zn] = z["load"]["mean_mw"] * spec["scale"] * base
        for tech, c in z["cf"].items():
            col = f"cf:{zn}:{tech}"
            if ts is not None and col in ts.columns:
                zone_cf[(zn, tech)] = np.clip(ts[col].to_numpy(dtype=float), 0, 1)
                continue
            zone_cf[(zn, tech)] = _capacity_factor(name, seed, zn, z, tech, c, times, local, k0, n)
    load = pd.DataFrame(index=times, columns=net.load.index, dtype=float)
    for zn in spec["zones"]:
        rows = net.load[(net.load["zone"] == zn) & (net.load["kind"] == "background")]
        if len(rows):
            tot = _zone_load_base(net, zn)
            for i in rows.index:
                load[i] = zone_load[zn] * (_base_p(net, i) / tot)
        for i in net.load.index[(net.load["zone"] == zn) & (net.load["kind"] == "export")]:
            load[i] = _base_p(net, i)
    sg = pd.DataFrame(index=times, columns=net.sgen.index, dtype=float)
    for i, r in net.sgen.iterrows():
        cf = zone_cf.get((r["zone"], r["tech"]))
        if cf is None:
            raise InputError(spec["source"], f"zones.{r['zone']}.cf.{r['tech']}",
                             f"sgen {r['name']!r} needs a capacity factor for {r['tech']} in zone {r['zone']}")
        sg[i] = r["capacity_mw"] * cf
    load.index.name = sg.index.name = "time"
    return HourlyProfiles(load, sg)


def _ar1_path(seed: int, keys: tuple[str, ...], phi: float, n: int) -> np.ndarray:
    """The first *n* hours (or days) of the AR(1) noise path of stream (seed, keys)."""
    return ar1(stream(seed, *keys).standard_normal(n), phi)


def _capacity_factor(name, seed, zn, z, tech, c, times, local, k0, n) -> np.ndarray:
    """Hourly capacity factor (0..max_cf) of *tech* in zone *zn*."""
    keys = (name, zn, tech)
    if tech == "pv":
        base = clear_sky_pv_shape(times, z["lat"], z["lon"])
    else:
        h = local.hour.to_numpy() + 0.5
        base = 1.0 + c["daily_amplitude"] * np.cos(2 * np.pi * (h - c["peak_hour_local"]) / 24.0)
    f = np.ones(len(times))
    if c["noise_cv"] > 0:
        zh = _ar1_path(seed, keys + ("hour",), c["noise_ar1"], n)[k0:]
        rho = c["shared"]
        if rho > 0:  # weather common to the whole net (e.g. wind over BE/NL/DE/DK)
            zc = _ar1_path(seed, (name, "shared", _FAMILY.get(tech, tech), "hour"), c["noise_ar1"], n)[k0:]
            zh = math.sqrt(rho) * zc + math.sqrt(1 - rho) * zh
        f *= lognormal_factor(zh, c["noise_cv"])
    if c["daily_cv"] > 0:  # day clearness (PV): 1 + cv z_day, z AR(1) over local days, in [0.15, 1.6]
        day0 = (local[0].normalize().tz_localize(None) - EPOCH.tz_localize(None).normalize()).days
        days = (local.normalize().tz_localize(None) - local[0].normalize().tz_localize(None)).days.to_numpy()
        nd = max(0, day0) + int(days.max()) + 2
        zd = _ar1_path(seed, keys + ("day",), 0.5, nd)[np.maximum(0, day0) + days]
        f *= np.clip(1.0 + c["daily_cv"] * zd, 0.15, 1.6)
    return np.clip(c["mean"] * base * f, 0.0, c["max_cf"])


def _zone_load_base(net, zn) -> float:
    rows = net.load[(net.load["zone"] == zn) & (net.load["kind"] == "background")]
    return float(sum(_base_p(net, i) for i in rows.index))


def _base_p(net, i) -> float:
    """Load i's design share: the p_mw it was built with (kept in column base_p_mw)."""
    return float(net.load.at[i, "base_p_mw"])


def read_timeseries(src: str | Path | pd.DataFrame, *, source: str | None = None) -> pd.DataFrame:
    """Hourly input series overriding the synthetic ones: a UTC ``time`` column (or index)
    and columns ``load:<zone>`` (MW of the net, i.e. already scaled) and/or
    ``cf:<zone>:<tech>`` (capacity factor 0..1). Returns a frame indexed by UTC hour."""
    if isinstance(src, pd.DataFrame):
        df, source = src.copy(), source or "<timeseries>"
        if "time" in df.columns:
            df = df.set_index("time")
    else:
        source = source or str(src)
        try:
            df = pd.read_csv(src, comment="#")
        except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
            raise InputError(source, "file", f"cannot read ({exc})") from None
        if "time" not in df.columns:
            raise InputError(source, "header", "missing column 'time'")
        df = df.set_index("time")
    idx = pd.to_datetime(pd.Series(df.index.astype(str)), utc=True, errors="coerce", format="ISO8601")
    if idx.isna().any():
        k = int(np.flatnonzero(idx.isna().to_numpy())[0])
        raise InputError(source, f"row {k + 2}: time", f"not a time: {df.index[k]!r}")
    df.index = pd.DatetimeIndex(idx, name="time")
    if not df.index.is_unique:
        raise InputError(source, "time", "duplicate hours")
    for c in df.columns:
        if not (str(c).startswith("load:") or str(c).startswith("cf:")):
            raise InputError(source, f"column {c}", "expected load:<zone> or cf:<zone>:<tech>")
        v = pd.to_numeric(df[c], errors="coerce")
        if v.isna().any() or (v < 0).any():
            k = int(np.flatnonzero((v.isna() | (v < 0)).to_numpy())[0])
            raise InputError(source, f"row {k + 2}: {c}", f"not a non-negative number: {df[c].iloc[k]!r}")
        df[c] = v.astype(float)
    return df.sort_index()
