"""A balancing area's fleet, fitted to its hourly generation by fuel (EIA-930 form).

The file says what each fuel produced every hour, not which plants exist. The fleet is
read from it in one way for any balancing area (docs/grids.md, "Balancing-area grids";
parameters with sources in ``grids/data/balancing_area.yaml``):

- demand each hour = the BA's total generation (net interchange is not in the file: the
  BA is taken to serve its own generation; imports and exports stay as observed);
- nuclear and other (biomass, geothermal, storage, ...): must-take at their observed
  output (no fuel price to bid with; the data show them not following load);
- wind and solar: available at their observed output, curtailable at zero cost;
- coal, gas, oil: a *committed band* per hour, the [min, max] of the fuel's observed
  output over the centred ``band_window_h`` hours widened by ``ramp_headroom`` mean hourly
  ramps; the band's floor is must-run, the rest is cut into ``blocks_per_fuel`` blocks
  whose heat rates rise across the technology's range, priced at that month's fuel price
  plus variable O&M; gas and oil also have quick-start capacity above the band (up to the
  fuel's maximum in the file) at the top heat rate plus a start-up adder;
- hydro: a committed band read the same way, its floor must-run and the band priced at a
  *water value* per UTC day: the price at which an hour-by-hour merit-order dispatch of that
  day produces the day's observed hydro energy (the dual of a daily energy budget, so the
  hour-local dispatch reproduces the daily budget while hydro sets the price and the
  marginal emissions in the hours the data say it follows load).

Everything is per hour over the file's span: ``units`` (one row per fleet unit) and the
``available_mw`` and ``cost_usd_per_mwh`` frames (time x unit).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd

from grids.eia930 import FUEL_COLUMNS, GenerationByFuel
from grids.errors import InputError
from grids.files import read_yaml
from grids.fleet import fuel_factors

PARAMETERS_FILE = Path(__file__).parent / "data" / "balancing_area.yaml"
THERMAL = ("COL", "NG", "OIL")
MUST_TAKE = ("NUC", "OTH")
RENEWABLE = ("WND", "SUN")
HYDRO = "WAT"
_BETWEEN_USD_PER_MWH = 0.01
"""Renewables bid just below zero so they are curtailed after nothing else is; ties
between blocks are split by this much so that the marginal unit (and its LME) is unique."""


@dataclass(frozen=True)
class BalancingAreaFleet:
    """A BA's fleet over the file's hours.

    ``units``: one row per unit, index = unit name (``NG band 2``), columns ``code`` (EIA
    fuel code), ``fuel`` (fuels.yaml name), ``kind`` (must-take, must-run, band,
    quick-start, renewable), ``heat_rate_mmbtu_per_mwh``, ``co2_kg_per_mwh``,
    ``water_l_per_mwh``. ``available_mw`` (time x unit): MW each unit can give that hour
    (must-take and must-run units give exactly that); ``cost_usd_per_mwh`` (time x unit);
    ``demand_mw`` (time): the BA's generation; ``observed_mw``: the file's MW by fuel code.
    """

    name: str
    units: pd.DataFrame
    available_mw: pd.DataFrame
    cost_usd_per_mwh: pd.DataFrame
    demand_mw: pd.Series
    observed_mw: pd.DataFrame

    @property
    def times(self) -> pd.DatetimeIndex:
        return self.available_mw.index


@cache
def parameters() -> dict:
    """The model's parameters (``balancing_area.yaml``), checked."""
    doc = read_yaml(PARAMETERS_FILE) or {}
    try:
        out = {
            "band_window_h": int(doc["band_window_h"]), "ramp_headroom": float(doc["ramp_headroom"]),
            "blocks_per_fuel": int(doc["blocks_per_fuel"]), "quick_start": tuple(doc["quick_start"]),
            "start_adder_usd_per_mwh": float(doc["start_adder_usd_per_mwh"]),
            "heat_rate": {f: tuple(map(float, doc["heat_rate_mmbtu_per_mwh"][f])) for f in THERMAL},
            "vom": {f: float(doc["vom_usd_per_mwh"][f]) for f in THERMAL},
            "fuel_price": {f: np.array(doc["fuel_price_usd_per_mmbtu"][f], float) for f in THERMAL},
        }
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(PARAMETERS_FILE, "parameters", f"missing or not a number: {exc}") from None
    if any(len(p) != 12 for p in out["fuel_price"].values()):
        raise InputError(PARAMETERS_FILE, "fuel_price_usd_per_mmbtu", "needs 12 monthly prices per fuel")
    return out


def fit_fleet(data: GenerationByFuel, name: str | None = None) -> BalancingAreaFleet:
    """The fleet of the BA in *data* (see the module docstring), over all its hours.
    Hours of unfilled gaps get no units (a run over them is refused by the loader)."""
    par = parameters()
    obs = data.mw
    gap = obs.isna().any(axis=1).to_numpy()
    factors = fuel_factors()
    month = obs.index.month.to_numpy() - 1
    units, avail, cost = [], {}, {}

    def add(unit: str, code: str, kind: str, mw: np.ndarray, usd: np.ndarray | float, heat_rate: float = np.nan):
        fuel = FUEL_COLUMNS[code]
        units.append({"name": unit, "code": code, "fuel": fuel, "kind": kind, "heat_rate_mmbtu_per_mwh": heat_rate,
                      "co2_kg_per_mwh": float(factors.at[fuel, "co2_kg_per_mwh"]),
                      "water_l_per_mwh": float(factors.at[fuel, "water_l_per_mwh"])})
        avail[unit] = np.where(gap, 0.0, np.nan_to_num(mw))
        cost[unit] = np.broadcast_to(np.asarray(usd, float), len(obs)).copy()

    for code in MUST_TAKE:
        if obs[code].max() > 0:
            add(f"{code} must-take", code, "must-take", obs[code].to_numpy(float), 0.0)
    for k, code in enumerate(RENEWABLE):
        if obs[code].max() > 0:
            add(code, code, "renewable", obs[code].to_numpy(float), -_BETWEEN_USD_PER_MWH * (k + 1))
    for code in THERMAL:
        x = obs[code]
        if not x.max() > 0:
            continue
        lo, hi = _band(x, par)
        add(f"{code} must-run", code, "must-run", lo, 0.0)
        lo_hr, hi_hr = par["heat_rate"][code]
        price = par["fuel_price"][code][month]
        n = par["blocks_per_fuel"]
        for b, hr in enumerate(np.linspace(lo_hr, hi_hr, n)):
            add(f"{code} band {b + 1}", code, "band", (hi - lo) / n, hr * price + par["vom"][code], hr)
        if code in par["quick_start"]:
            add(f"{code} quick-start", code, "quick-start", float(x.max()) - hi,
                hi_hr * price + par["vom"][code] + par["start_adder_usd_per_mwh"], hi_hr)
    demand = obs.sum(axis=1, min_count=len(obs.columns)).fillna(0.0)
    if obs[HYDRO].max() > 0:
        lo, hi = _band(obs[HYDRO], par)
        add("WAT must-run", HYDRO, "must-run", lo, 0.0)
        add("WAT band", HYDRO, "band", hi - lo, 0.0)
        units_df = pd.DataFrame(units).set_index("name")
        cost["WAT band"] = _water_values(units_df, pd.DataFrame(avail, index=obs.index), pd.DataFrame(cost, index=obs.index),
                                         demand, obs[HYDRO])
    units_df = pd.DataFrame(units).set_index("name")
    return BalancingAreaFleet(
        name=name or Path(data.source).stem, units=units_df,
        available_mw=pd.DataFrame(avail, index=obs.index)[units_df.index],
        cost_usd_per_mwh=pd.DataFrame(cost, index=obs.index)[units_df.index],
        demand_mw=demand.rename("demand_mw"), observed_mw=obs)


def _band(x: pd.Series, par: dict) -> tuple[np.ndarray, np.ndarray]:
    """(floor, ceiling) MW of a fuel's committed band each hour (module docstring)."""
    w = par["band_window_h"]
    roll = {"window": w, "center": True, "min_periods": 1}
    ramp = x.diff().abs().rolling(**roll).mean().bfill().fillna(0.0).to_numpy()
    headroom = par["ramp_headroom"] * ramp
    top = float(x.max())
    lo = np.clip(x.rolling(**roll).min().to_numpy() - headroom, 0.0, top)
    hi = np.clip(x.rolling(**roll).max().to_numpy() + headroom, 0.0, top)
    return lo, np.maximum(hi, lo)


def merit_order(available_mw: np.ndarray, cost: np.ndarray, fixed: np.ndarray, demand_mw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Copper-plate economic dispatch of many hours at once: (units x hours) output, MW,
    and each hour's marginal unit (its row; -1 where fixed output alone meets demand).
    *fixed* (units,) marks units that always give their availability (must-take,
    must-run); the rest fill the demand left in order of cost. What the DC-OPF of
    grids.opf gives on the BA's one-bus net, vectorised: used to set water values."""
    out = np.where(fixed[:, None], available_mw, 0.0)
    rest = demand_mw - out.sum(axis=0)
    flexible = np.flatnonzero(~fixed)
    order = flexible[np.argsort(cost[flexible], axis=0, kind="stable")]  # (flexible units x hours)
    cols = np.arange(demand_mw.size)
    cap = available_mw[order, cols]
    before = np.cumsum(cap, axis=0) - cap
    p = np.clip(rest[None, :] - before, 0.0, cap)
    out[order, cols] = p
    partly = (p > 1e-9) & (p < cap - 1e-9)
    last = np.where(p > 1e-9, np.arange(len(flexible))[:, None], -1).max(axis=0)
    first_partial = np.where(partly.any(axis=0), partly.argmax(axis=0), last)
    marginal = np.where(first_partial >= 0, order[np.maximum(first_partial, 0), cols], -1)
    return out, marginal


def _water_values(units: pd.DataFrame, avail: pd.DataFrame, cost: pd.DataFrame, demand: pd.Series,
                  hydro_mw: pd.Series) -> np.ndarray:
    """(hours,) the hydro band's water value, USD/MWh, per UTC day: the candidate price
    (midway between two adjacent cost levels of that day's other units, or just outside
    them) whose merit-order dispatch gives the day's hydro energy closest to the file's."""
    fixed = units["kind"].isin(["must-take", "must-run"]).to_numpy()
    band = units.index.get_loc("WAT band")
    a_all, c_all = avail.to_numpy().T, cost.to_numpy().T
    d_all, h_all = demand.to_numpy(), hydro_mw.fillna(0.0).to_numpy()
    days = avail.index.floor("D")
    value = np.zeros(len(avail))
    for day in days.unique():
        at = np.flatnonzero(days == day)
        others = np.delete(np.arange(len(units)), band)
        levels = np.unique(np.round(c_all[np.ix_(others[~fixed[others]], at)], 6))
        if not levels.size:  # hydro is the only unit that can move: any price will do
            continue
        candidates = np.concatenate([[levels[0] - 1.0], (levels[1:] + levels[:-1]) / 2, [levels[-1] + 1.0]])
        a, c, d = a_all[:, at], c_all[:, at].copy(), d_all[at]
        best, best_err = candidates[0], np.inf
        for price in candidates:
            c[band] = price
            out, _ = merit_order(a, c, fixed, d)
            err = abs(out[band].sum() + a[units.index.get_loc("WAT must-run")].sum() - h_all[at].sum())
            if err < best_err - 1e-6:
                best, best_err = price, err
        value[at] = best
    return value
