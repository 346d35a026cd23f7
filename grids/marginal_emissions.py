"""Empirical marginal emission factors of a balancing area from its hourly generation by fuel.

Input: a frame of generation by fuel code (columns such as ``WND``, ``NG``, ``COL``; MW,
one row per hour, a UTC ``DatetimeIndex``; gaps NaN), as ``grids.eia930`` reads EIA-930
files. Emission factors are those of ``grids/data/fuels.yaml``
(:func:`grids.fleet.fuel_factors`, kg CO2 per MWh of electricity).

- :func:`emissions_kg`: CO2 emitted in each hour (kg; MW x 1 h x kg/MWh).
- :func:`average_intensity_kg_per_kwh`: the hour's emissions per unit generated (kg/kWh).
- :func:`dispatchable_net_load_mw`: generation less wind and solar (MW).
- :func:`empirical_mef`: per season and for the year, the OLS slope of the hour-to-hour
  change in emissions on the hour-to-hour change in dispatchable net load (kg/kWh): the
  method of Hawkes (2010) and Siler-Evans, Azevedo and Morgan (2012), docs/grids.md.
"""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from grids.eia930 import FUEL_COLUMNS as _FUEL_COLUMNS
from grids.fleet import fuel_factors

VARIABLE_FUELS = ("wind", "solar")
"""Fuels left out of the dispatchable net load (their codes, by default ``WND`` and ``SUN``)."""

SEASONS = {"DJF": (12, 1, 2), "MAM": (3, 4, 5), "JJA": (6, 7, 8), "SON": (9, 10, 11)}
"""Meteorological seasons by calendar month (UTC)."""

PERIODS = (*SEASONS, "year")
"""Rows of :func:`empirical_mef` and of a grid check's summary."""

MIN_DIFFERENCES = 30
"""Fewest hourly differences a regression is fitted on; fewer give NaN (with the count)."""

MEF_COLUMNS = ("mef_kg_per_kwh", "stderr_kg_per_kwh", "r2", "hours")


def fuel_map(fuels: Mapping[str, str] | None = None) -> dict[str, str]:
    """The fuel code -> fuel name mapping: *fuels*, or the EIA-930 codes when None."""
    return dict(_FUEL_COLUMNS if fuels is None else fuels)


def fuel_columns(mw: pd.DataFrame, fuels: Mapping[str, str] | None = None) -> pd.DataFrame:
    """The fuel-code columns of *mw*, in the mapping's order (other columns left out).

    Raises ValueError naming the codes *mw* lacks."""
    codes = list(fuel_map(fuels))
    missing = [c for c in codes if c not in mw.columns]
    if missing:
        raise ValueError(f"generation frame lacks fuel column(s) {', '.join(missing)} (has {', '.join(map(str, mw.columns))})")
    return mw[codes].astype(float)


def co2_kg_per_mwh(fuels: Mapping[str, str] | None = None) -> pd.Series:
    """Emission factor of each fuel code (kg CO2/MWh), from ``fuels.yaml``."""
    table = fuel_factors()["co2_kg_per_mwh"]
    names = fuel_map(fuels)
    unknown = sorted({n for n in names.values() if n not in table.index})
    if unknown:
        raise ValueError(f"no emission factor for fuel(s) {', '.join(unknown)} (known: {', '.join(table.index)})")
    return pd.Series({code: float(table[name]) for code, name in names.items()}, name="co2_kg_per_mwh")


def generation_mw(mw: pd.DataFrame, fuels: Mapping[str, str] | None = None) -> pd.Series:
    """Total generation of each hour (MW); NaN where any fuel is NaN."""
    return fuel_columns(mw, fuels).sum(axis=1, skipna=False).rename("generation_mw")


def emissions_kg(mw: pd.DataFrame, fuels: Mapping[str, str] | None = None) -> pd.Series:
    """CO2 emitted in each hour (kg = MW x 1 h x kg/MWh); NaN where any fuel is NaN."""
    factors = co2_kg_per_mwh(fuels)
    return fuel_columns(mw, fuels).mul(factors, axis=1).sum(axis=1, skipna=False).rename("emissions_kg")


def average_intensity_kg_per_kwh(mw: pd.DataFrame, fuels: Mapping[str, str] | None = None) -> pd.Series:
    """The hour's emissions per unit generated (kg/kWh); NaN where generation is 0 or a fuel NaN."""
    generation = generation_mw(mw, fuels)
    intensity = emissions_kg(mw, fuels) / generation.where(generation != 0) / 1000.0
    return intensity.rename("intensity_kg_per_kwh")


def dispatchable_net_load_mw(mw: pd.DataFrame, fuels: Mapping[str, str] | None = None) -> pd.Series:
    """Total generation less wind and solar (MW; the codes whose fuel is in VARIABLE_FUELS)."""
    columns = fuel_columns(mw, fuels)
    dispatchable = [code for code, name in fuel_map(fuels).items() if name not in VARIABLE_FUELS]
    return columns[dispatchable].sum(axis=1, skipna=False).rename("net_load_mw")


def season_of(index: pd.DatetimeIndex) -> np.ndarray:
    """The season name of each time (by its UTC month; a naive index is taken as UTC)."""
    months = _utc(index).month
    season = np.full(len(index), "", dtype=object)
    for name, in_season in SEASONS.items():
        season[np.isin(months, in_season)] = name
    return season


def empirical_mef(mw: pd.DataFrame, fuels: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Empirical marginal emission factors: index ``DJF, MAM, JJA, SON, year`` (``period``).

    Columns: ``mef_kg_per_kwh``, the OLS slope (with intercept) of the change in emissions
    from one hour to the next (kg) on the change in dispatchable net load (MW), / 1000;
    ``stderr_kg_per_kwh``, its standard error; ``r2``; ``hours``, the number of differences.
    A difference is taken only between consecutive hours (one hour apart) that both have
    every fuel, and belongs to the season of its later hour. A period with fewer than
    MIN_DIFFERENCES differences (or no variation in net load) gets NaN and its count.
    """
    if not isinstance(mw.index, pd.DatetimeIndex):
        raise ValueError("generation frame needs a DatetimeIndex of hours")
    frame = mw.sort_index()
    d_emissions = emissions_kg(frame, fuels).diff().to_numpy()
    d_load = dispatchable_net_load_mw(frame, fuels).diff().to_numpy()
    step = frame.index.to_series().diff().to_numpy()
    valid = (step == np.timedelta64(1, "h")) & np.isfinite(d_emissions) & np.isfinite(d_load)
    season = season_of(frame.index)
    rows = {name: _ols(d_load[valid & (season == name)], d_emissions[valid & (season == name)]) for name in SEASONS}
    rows["year"] = _ols(d_load[valid], d_emissions[valid])
    table = pd.DataFrame.from_dict(rows, orient="index", columns=list(MEF_COLUMNS))
    table["hours"] = table["hours"].astype(int)
    table.index.name = "period"
    return table


def _ols(x: np.ndarray, y: np.ndarray) -> tuple[float, float, float, int]:
    """Closed-form OLS of y on x with intercept: (slope / 1000, its stderr / 1000, r2, n)."""
    n = len(x)
    if n < MIN_DIFFERENCES:
        return (np.nan, np.nan, np.nan, n)
    dx, dy = x - x.mean(), y - y.mean()
    sxx, sxy, syy = float(dx @ dx), float(dx @ dy), float(dy @ dy)
    if sxx == 0.0:
        return (np.nan, np.nan, np.nan, n)
    slope = sxy / sxx
    residual = dy - slope * dx
    ssr = float(residual @ residual)
    stderr = np.sqrt(ssr / (n - 2) / sxx)
    r2 = 1.0 - ssr / syy if syy > 0 else np.nan
    return (slope / 1000.0, stderr / 1000.0, r2, n)


def _utc(index: pd.DatetimeIndex) -> pd.DatetimeIndex:
    return index.tz_localize("UTC") if index.tz is None else index.tz_convert("UTC")
