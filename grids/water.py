"""Water intensity of a data center's electricity: on-site cooling water and off-site
(generation) water.

- On-site WUE (L/kWh of IT energy) from the wet-bulb temperature Tw in degrees F::

      WUE = c / (c - 1) x (6e-5 Tw^3 - 0.01 Tw^2 + 0.61 Tw - 10.4),   floored at 0.05

  with c the cycles of concentration of the cooling tower (6 by default). Source: the
  E-GLB / SE-GLB papers' formula (../shared/data/README.md, "Facts for figures").
- Off-site EWIF (L/kWh of electricity): the dispatched mix's water intensity,
  sum_f p_f x w_f / sum_f p_f, with w_f the fuel's consumptive water (gal/MWh x 3.78541
  L/gal, ``grids/data/fuels.yaml``: coal 450, gas 300, nuclear 600, oil 350, other 475,
  solar / hydro / wind 0). Off-site water of a facility = EWIF x facility energy.
- Wet-bulb temperature per DC location: a daily cosine in local time around a late
  September / early October climatology (``grids/data/wetbulb.yaml``; assumptions, basis
  named there and in docs/grids.md).
"""
from __future__ import annotations

from collections.abc import Mapping
from functools import cache

import numpy as np
import pandas as pd

from grids.errors import InputError
from grids.files import read_yaml
from grids.fleet import DATA_DIR, fuel_factors

WETBULB_FILE = DATA_DIR / "wetbulb.yaml"
WUE_FLOOR = 0.05


def onsite_wue_l_per_kwh(tw_f: float | np.ndarray | pd.Series | pd.DataFrame, cycles: float = 6.0
                         ) -> float | np.ndarray | pd.Series | pd.DataFrame:
    """On-site water usage effectiveness (L/kWh) at wet-bulb temperature *tw_f* (deg F).

    Vectorized: a scalar gives a float, an array an array, a Series / DataFrame the same
    shape and index. NaN stays NaN.
    """
    try:
        c = float(cycles)
    except (TypeError, ValueError):
        raise InputError("<water>", "cycles", f"not a number: {cycles!r}") from None
    if not c > 1:
        raise InputError("<water>", "cycles", f"cycles of concentration must be > 1, got {cycles!r}")
    if isinstance(tw_f, (pd.Series, pd.DataFrame)):
        tw = tw_f.astype(float)
    else:
        tw = np.asarray(tw_f, dtype=float)
    w = c / (c - 1.0) * (6e-5 * tw ** 3 - 0.01 * tw ** 2 + 0.61 * tw - 10.4)
    out = np.where(np.isnan(w), np.nan, np.maximum(w, WUE_FLOOR))
    if isinstance(tw_f, pd.Series):
        return pd.Series(out, index=tw_f.index, name=tw_f.name)
    if isinstance(tw_f, pd.DataFrame):
        return pd.DataFrame(out, index=tw_f.index, columns=tw_f.columns)
    return float(out) if np.ndim(out) == 0 else out


def _water_by_fuel() -> pd.Series:
    return fuel_factors()["water_l_per_mwh"]


def offsite_ewif_l_per_kwh(mix: Mapping[str, float] | pd.Series | pd.DataFrame) -> float | pd.Series:
    """Water intensity (L/kWh) of a dispatched generation mix.

    *mix* may be:

    - a mapping or Series fuel -> MW (e.g. ``DispatchResult.fuel_mix_mw``): a float;
    - a dispatched unit table with columns ``p_mw`` and either ``water_l_per_mwh`` or
      ``fuel`` (e.g. :func:`grids.reference.dispatched_units`, or ``net.gen`` joined with
      ``net.res_gen``): a float;
    - a DataFrame with one column per fuel (rows = hours, values MW): a Series per row.

    Negative outputs (exports through an ext_grid) are not generation and are ignored.
    A mix without any generation gives NaN. Unknown fuels raise InputError.
    """
    w = _water_by_fuel()

    def _per_fuel(fuels) -> np.ndarray:
        unknown = [f for f in fuels if f not in w.index]
        if unknown:
            raise InputError("<mix>", "fuel", f"unknown fuel(s) {', '.join(map(str, unknown))} "
                             f"(known: {', '.join(w.index)})")
        return w.reindex(list(fuels)).to_numpy(float)

    if isinstance(mix, pd.DataFrame) and "p_mw" in mix.columns:
        p = np.clip(mix["p_mw"].to_numpy(float), 0.0, None)
        if "water_l_per_mwh" in mix.columns:
            wl = mix["water_l_per_mwh"].to_numpy(float)
        elif "fuel" in mix.columns:
            wl = _per_fuel(mix["fuel"].tolist())
        else:
            raise InputError("<mix>", "columns", "a unit table needs water_l_per_mwh or fuel next to p_mw")
        tot = p.sum()
        return float((p * wl).sum() / tot / 1000.0) if tot > 0 else float("nan")
    if isinstance(mix, pd.DataFrame):
        wl = _per_fuel(list(mix.columns))
        p = np.clip(mix.to_numpy(float), 0.0, None)
        tot = p.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            val = np.where(tot > 0, (p * wl).sum(axis=1) / tot / 1000.0, np.nan)
        return pd.Series(val, index=mix.index, name="ewif_l_per_kwh")
    if isinstance(mix, (pd.Series, Mapping)):
        s = pd.Series(mix, dtype=float)
        wl = _per_fuel(list(s.index))
        p = np.clip(s.to_numpy(float), 0.0, None)
        tot = p.sum()
        return float((p * wl).sum() / tot / 1000.0) if tot > 0 else float("nan")
    raise InputError("<mix>", "type", f"expected a fuel -> MW mapping or a unit table, got {type(mix).__name__}")


@cache
def wetbulb_climatology() -> dict[str, dict]:
    """Per DC location: timezone, tw_mean_f, tw_amplitude_f, peak_hour_local, basis."""
    doc = read_yaml(WETBULB_FILE)
    out = {}
    for site, d in (doc or {}).get("sites", {}).items():
        try:
            out[site] = {"timezone": str(d["timezone"]), "tw_mean_f": float(d["tw_mean_f"]),
                         "tw_amplitude_f": float(d["tw_amplitude_f"]),
                         "peak_hour_local": float(d.get("peak_hour_local", 15)), "basis": str(d.get("basis", ""))}
        except (KeyError, TypeError, ValueError):
            raise InputError(WETBULB_FILE, f"sites.{site}", "needs timezone, tw_mean_f, tw_amplitude_f") from None
    return out


def wet_bulb_f(site: str, start: pd.Timestamp | str, hours: int) -> pd.Series:
    """Hourly wet-bulb temperature (deg F) at a DC location, UTC index ``time``:
    mean + amplitude / 2 x cos(2 pi (local hour + 0.5 - peak hour) / 24)."""
    clim = wetbulb_climatology()
    if site not in clim:
        raise InputError(WETBULB_FILE, "sites", f"no wet-bulb climatology for {site!r} (known: {', '.join(clim)})")
    c = clim[site]
    ts = pd.Timestamp(start)
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    if int(hours) < 1:
        raise InputError("<water>", "hours", f"must be >= 1, got {hours!r}")
    times = pd.date_range(ts, periods=int(hours), freq="h", name="time")
    local = times.tz_convert(c["timezone"])
    h = local.hour.to_numpy() + local.minute.to_numpy() / 60.0 + 0.5
    tw = c["tw_mean_f"] + 0.5 * c["tw_amplitude_f"] * np.cos(2 * np.pi * (h - c["peak_hour_local"]) / 24.0)
    return pd.Series(tw, index=times, name=f"wet_bulb_f:{site}")


def onsite_wue_series(site: str, start: pd.Timestamp | str, hours: int, cycles: float = 6.0) -> pd.Series:
    """Hourly on-site WUE (L/kWh) at a DC location from :func:`wet_bulb_f`."""
    return onsite_wue_l_per_kwh(wet_bulb_f(site, start, hours), cycles=cycles).rename(f"wue_l_per_kwh:{site}")
