"""RTS-GMLC's hourly day-ahead load and renewable availability, mapped onto a net built
by :func:`grids.rts_gmlc.load_rts_gmlc`, and one hour of them written into the net."""
from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from grids.errors import InputError
from grids.rts_gmlc import SERIES_FILES, load_rts_gmlc
from grids.rts_gmlc_files import dataset_root, read_day_ahead

if TYPE_CHECKING:
    from pandapower.auxiliary import pandapowerNet

__all__ = ["LOAD_FILE", "apply_hour", "load_rts_gmlc_series"]

LOAD_FILE = "DAY_AHEAD_regional_Load.csv"
"""The areas' hourly load, MW."""
_HOUR = pd.Timedelta(hours=1)


def _window(path: Path, times: pd.DatetimeIndex, start, hours) -> slice:
    """Rows of *times* from *start* for *hours*; InputError when outside the file's span."""
    try:
        t0 = pd.Timestamp(start)
    except (TypeError, ValueError):
        raise InputError("<arguments>", "start", f"{start!r} is not a time") from None
    if pd.isna(t0):
        raise InputError("<arguments>", "start", f"{start!r} is not a time")
    t0 = t0.tz_localize("UTC") if t0.tzinfo is None else t0.tz_convert("UTC")
    if t0 != t0.floor("h"):
        raise InputError("<arguments>", "start", f"{start!r} is not on the hour")
    if isinstance(hours, bool) or not isinstance(hours, (int, np.integer)) or hours < 1:
        raise InputError("<arguments>", "hours", f"{hours!r}: give a whole number of hours >= 1")
    first, last = times[0], times[-1]
    end = t0 + (int(hours) - 1) * _HOUR
    if t0 < first or end > last:
        raise InputError(
            path, "time",
            f"{t0:%Y-%m-%d %H:%M} + {hours} h (to {end:%Y-%m-%d %H:%M}) is outside the data, "
            f"{first:%Y-%m-%d %H:%M} to {last:%Y-%m-%d %H:%M} UTC",
        )
    i0 = int((t0 - first) / _HOUR)
    return slice(i0, i0 + int(hours))


def load_rts_gmlc_series(
    root: str | Path,
    *,
    start: pd.Timestamp | str = "2020-01-01 00:00",
    hours: int = 24,
    areas: Iterable[int] | None = None,
    net: pandapowerNet | None = None,
) -> dict:
    """Hourly load and renewable availability for *hours* hours from *start*.

    Returns a dict:

    - ``"load_mw"``: DataFrame (hours x ``net.load`` index): the area totals of
      DAY_AHEAD_regional_Load.csv times each load's ``load_share``;
    - ``"sgen_max_mw"``: DataFrame (hours x ``net.sgen`` index): each unit's column (its GEN
      UID) of DAY_AHEAD_pv/rtpv/wind/hydro.csv (hydro's scheduled output taken as availability);
    - ``"area_load_mw"``: DataFrame (hours x area) of the area totals.

    The index is tz-aware UTC, hourly, named ``time``: RTS period p of a day is hour p-1 of
    that day (the data's clock, labelled UTC without a shift). *start* naive is read as UTC.
    The net is ``load_rts_gmlc(root, areas=areas)`` unless *net* (built by
    :func:`load_rts_gmlc`) is given; then *areas* must be None.
    """
    if net is None:
        net = load_rts_gmlc(root, areas=areas)
    elif areas is not None:
        raise InputError("<arguments>", "areas", "give areas or net, not both (the net fixes the areas)")
    root = dataset_root(root)
    for table, column in (("bus", "area"), ("load", "area"), ("load", "load_share"), ("sgen", "unit_type")):
        if column not in net[table]:
            raise InputError("<net>", f"net.{table}", f"no column {column!r}: give a net built by load_rts_gmlc")

    # load
    load_path = root / LOAD_FILE
    area_list = sorted(set(net.bus["area"].astype(int)))
    area_cols = [str(a) for a in area_list]
    times, area_vals = read_day_ahead(load_path, area_cols)
    rows = _window(load_path, times, start, hours)
    index = pd.DatetimeIndex(times[rows], freq="h", name="time")
    area_load = pd.DataFrame(area_vals[rows], index=index, columns=area_list)
    share = net.load["load_share"].to_numpy(dtype=float)
    load_mw = pd.DataFrame(area_load[net.load["area"].astype(int)].to_numpy() * share,
                           index=index, columns=net.load.index)

    # renewables
    sgen_max = pd.DataFrame(np.nan, index=index, columns=net.sgen.index)
    for fname in sorted(set(SERIES_FILES.values())):
        units = net.sgen.index[net.sgen["unit_type"].map(SERIES_FILES) == fname]
        if not len(units):
            continue
        path = root / fname
        names = [str(n) for n in net.sgen.loc[units, "name"]]
        ftimes, vals = read_day_ahead(path, names)
        frows = _window(path, ftimes, start, hours)
        if not ftimes[frows].equals(index):
            raise InputError(path, "time", f"its hours do not match those of {LOAD_FILE}")
        sgen_max.loc[:, units] = vals[frows]
    unmapped = sgen_max.columns[sgen_max.isna().any()]
    if len(unmapped):
        s = unmapped[0]
        raise InputError("<net>", f"sgen {s} ({net.sgen.at[s, 'name']})",
                         f"unit type {net.sgen.at[s, 'unit_type']!r} has no DAY_AHEAD series")
    return {"load_mw": load_mw, "sgen_max_mw": sgen_max, "area_load_mw": area_load}


def apply_hour(net: pandapowerNet, series: dict, t: int | pd.Timestamp | str) -> None:
    """Write hour *t* of *series* (from :func:`load_rts_gmlc_series`) into *net*, in place.

    *t* is a row position (int) or a time (str or Timestamp; naive = UTC) of the series.
    Sets ``net.load.p_mw`` (and ``q_mvar`` at the bus's constant MVAR/MW ratio), the sgens'
    ``max_p_mw`` (availability) and their ``p_mw`` (the uncurtailed output: what a
    non-controllable sgen injects and a power flow uses; the OPF may curtail a controllable one).
    """
    load, avail = series["load_mw"], series["sgen_max_mw"]
    if isinstance(t, (int, np.integer)) and not isinstance(t, bool):
        if not -len(load) <= t < len(load):
            raise InputError("<series>", "hour", f"position {t} is outside the series' {len(load)} hours")
        pos = int(t) % len(load)
    else:
        try:
            ts = pd.Timestamp(t)
        except (TypeError, ValueError):
            raise InputError("<series>", "hour", f"{t!r} is not a time") from None
        ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
        if ts not in load.index:
            raise InputError("<series>", "hour", f"{ts:%Y-%m-%d %H:%M} UTC is not in the series "
                                                 f"({load.index[0]:%Y-%m-%d %H:%M} to {load.index[-1]:%Y-%m-%d %H:%M})")
        pos = int(load.index.get_loc(ts))
    for table, frame in (("load", load), ("sgen", avail)):
        missing = frame.columns.difference(net[table].index)
        if len(missing):
            raise InputError("<series>", f"{table} {missing[0]}", f"not in net.{table} (series of another net?)")
    p = load.iloc[pos]
    net.load.loc[p.index, "p_mw"] = p.to_numpy()
    if "q_per_p" in net.load:
        net.load.loc[p.index, "q_mvar"] = p.to_numpy() * net.load.loc[p.index, "q_per_p"].fillna(0.0).to_numpy()
    a = avail.iloc[pos]
    net.sgen.loc[a.index, "max_p_mw"] = a.to_numpy()
    net.sgen.loc[a.index, "p_mw"] = a.to_numpy()
