"""Fuel factors and generator fleet tables.

A fleet table (one CSV per net in ``grids/data/fleets/``) has one row per generating unit
or aggregated block of units at one bus:

============================  =======================================================
column                        meaning
============================  =======================================================
``name``                      unique unit name
``bus``                       bus name, must exist in the region spec
``fuel``                      one of :func:`fuel_factors` (coal, gas, nuclear, oil,
                              other, solar, hydro, wind)
``tech``                      technology; ``pv``, ``wind_onshore``, ``wind_offshore``
                              and ``hydro_ror`` become profile-driven sgens, anything
                              else (``ccgt``, ``ocgt``, ``steam``, ``coal``, ...) a gen
``capacity_mw``               installed capacity of the real system (MW, >= 0), before
                              the net's ``scale``
``availability``              share of the capacity available in the modelled window
                              (0..1]: outages, derating, calibration (see docs/grids.md)
``min_load``                  must-run share of the available capacity (0..1)
``heat_rate_mmbtu_per_mwh``   heat rate (>= 0; 0 for fuel-free units)
``vom_usd_per_mwh``           variable O&M (USD/MWh, may hold an opportunity cost)
``fuel_price_usd_per_mmbtu``  optional; empty = the zone's price for the fuel
``source``                    short name of the figure's source (documentation)
============================  =======================================================

Marginal cost (USD/MWh) = fuel price x heat rate + VOM + carbon price (USD/t) x CO2 rate
(t/MWh), the carbon term for coal, gas and oil only; profile units (sgens) cost 0. Bad rows raise :class:`cosim.errors.InputError`
naming the file and the row (``row N`` = line N of the CSV, the header being line 1).
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Mapping

import numpy as np
import pandas as pd

from grids.errors import InputError
from grids.files import read_yaml

DATA_DIR = Path(__file__).resolve().parent / "data"
FUELS_FILE = DATA_DIR / "fuels.yaml"

FLEET_COLUMNS = (
    "name",
    "bus",
    "fuel",
    "tech",
    "capacity_mw",
    "availability",
    "min_load",
    "heat_rate_mmbtu_per_mwh",
    "vom_usd_per_mwh",
)
OPTIONAL_COLUMNS = ("fuel_price_usd_per_mmbtu", "source")
_NUMERIC = ("capacity_mw", "availability", "min_load", "heat_rate_mmbtu_per_mwh", "vom_usd_per_mwh")


@lru_cache(maxsize=None)
def _fuels_yaml(path: str) -> dict:
    doc = read_yaml(path)
    if not isinstance(doc, dict) or not isinstance(doc.get("fuels"), dict):
        raise InputError(path, "fuels", "missing mapping of fuel -> factors")
    return doc


def gal_to_litre() -> float:
    """Litres per US gallon as used by the fuel table (3.78541)."""
    return float(_fuels_yaml(str(FUELS_FILE)).get("gal_to_litre", 3.78541))


def fuel_factors() -> pd.DataFrame:
    """The fuel table: index ``fuel``; columns ``co2_kg_per_kwh``, ``water_gal_per_mwh``,
    ``co2_kg_per_mwh`` (= 1000 x kg/kWh) and ``water_l_per_mwh`` (= gal/MWh x 3.78541)."""
    doc = _fuels_yaml(str(FUELS_FILE))
    rows = []
    for fuel, f in doc["fuels"].items():
        try:
            co2 = float(f["co2_kg_per_kwh"])
            water = float(f["water_gal_per_mwh"])
        except (KeyError, TypeError, ValueError):
            raise InputError(FUELS_FILE, f"fuels.{fuel}", "needs numeric co2_kg_per_kwh and water_gal_per_mwh") from None
        rows.append((fuel, co2, water))
    df = pd.DataFrame(rows, columns=["fuel", "co2_kg_per_kwh", "water_gal_per_mwh"]).set_index("fuel")
    df["co2_kg_per_mwh"] = df["co2_kg_per_kwh"] * 1000.0
    df["water_l_per_mwh"] = df["water_gal_per_mwh"] * gal_to_litre()
    return df


def carbon_priced_fuels() -> set[str]:
    """Fuels charged at the zone's carbon price (coal, gas, oil)."""
    return set(_fuels_yaml(str(FUELS_FILE)).get("carbon_priced", ["coal", "gas", "oil"]))


def profile_techs() -> dict[str, str]:
    """Technologies built as profile-driven sgens, with the fuel each must have."""
    return dict(_fuels_yaml(str(FUELS_FILE)).get("profile_techs", {}))


def read_fleet(src: str | Path | pd.DataFrame, *, buses: set[str] | None = None,
               source: str | Path | None = None) -> pd.DataFrame:
    """Read and validate a fleet table (CSV path or DataFrame).

    *buses*: the bus names the region defines; a row at another bus is refused.
    *source*: the name used in error messages (defaults to the path, or ``<fleet>``).
    Returns a DataFrame with the columns of :data:`FLEET_COLUMNS` plus the optional ones
    (``fuel_price_usd_per_mmbtu`` NaN where empty), a ``row`` column (the CSV line number)
    and ``profile`` (True for sgen technologies).
    """
    if isinstance(src, pd.DataFrame):
        df = src.copy()
        source = source or "<fleet>"
    else:
        source = source or str(src)
        try:
            df = pd.read_csv(src, comment="#", skipinitialspace=True, dtype=str, keep_default_na=False)
        except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
            raise InputError(source, "file", f"cannot read fleet table ({exc})") from None
    df.columns = [str(c).strip() for c in df.columns]
    missing = [c for c in FLEET_COLUMNS if c not in df.columns]
    if missing:
        raise InputError(source, "header", f"missing column(s) {', '.join(missing)}")
    if df.empty:
        raise InputError(source, "rows", "fleet table has no units")
    df = df.reset_index(drop=True)
    df["row"] = np.arange(len(df)) + 2  # line number in the CSV (header = line 1)
    for c in OPTIONAL_COLUMNS:
        if c not in df.columns:
            df[c] = ""
    fuels = fuel_factors()
    ptechs = profile_techs()
    out_num: dict[str, list[float]] = {c: [] for c in _NUMERIC}
    prices: list[float] = []
    seen: set[str] = set()
    for i, r in df.iterrows():
        where = f"row {r['row']}"
        name = str(r["name"]).strip()
        if not name:
            raise InputError(source, f"{where}: name", "empty unit name")
        where = f"row {r['row']} ({name})"
        if name in seen:
            raise InputError(source, f"{where}: name", "duplicate unit name")
        seen.add(name)
        fuel = str(r["fuel"]).strip()
        if fuel not in fuels.index:
            raise InputError(source, f"{where}: fuel", f"unknown fuel {fuel!r} (known: {', '.join(fuels.index)})")
        tech = str(r["tech"]).strip()
        if not tech:
            raise InputError(source, f"{where}: tech", "empty technology")
        if tech in ptechs and ptechs[tech] != fuel:
            raise InputError(source, f"{where}: fuel", f"technology {tech!r} needs fuel {ptechs[tech]!r}, not {fuel!r}")
        if tech not in ptechs and fuel in ("solar", "wind"):
            raise InputError(source, f"{where}: tech", f"fuel {fuel!r} needs a profile technology "
                             f"({', '.join(t for t, f in ptechs.items() if f == fuel)})")
        bus = str(r["bus"]).strip()
        if buses is not None and bus not in buses:
            raise InputError(source, f"{where}: bus", f"unknown bus {bus!r}")
        vals = {}
        for c in _NUMERIC:
            try:
                v = float(str(r[c]).strip())
            except ValueError:
                raise InputError(source, f"{where}: {c}", f"not a number: {r[c]!r}") from None
            if not np.isfinite(v):
                raise InputError(source, f"{where}: {c}", f"not finite: {r[c]!r}")
            vals[c] = v
        if vals["capacity_mw"] < 0:
            raise InputError(source, f"{where}: capacity_mw", f"negative capacity {vals['capacity_mw']:g} MW")
        if not 0 < vals["availability"] <= 1:
            raise InputError(source, f"{where}: availability", f"must be in (0, 1], got {vals['availability']:g}")
        if not 0 <= vals["min_load"] <= 1:
            raise InputError(source, f"{where}: min_load", f"must be in [0, 1], got {vals['min_load']:g}")
        if vals["heat_rate_mmbtu_per_mwh"] < 0:
            raise InputError(source, f"{where}: heat_rate_mmbtu_per_mwh", "negative heat rate")
        if tech in ptechs and vals["min_load"] > 0:
            raise InputError(source, f"{where}: min_load", "profile units (sgens) cannot have a must-run share")
        p = str(r["fuel_price_usd_per_mmbtu"]).strip()
        if p in ("", "nan", "NaN"):
            prices.append(np.nan)
        else:
            try:
                pv = float(p)
            except ValueError:
                raise InputError(source, f"{where}: fuel_price_usd_per_mmbtu", f"not a number: {p!r}") from None
            if not np.isfinite(pv) or pv < 0:
                raise InputError(source, f"{where}: fuel_price_usd_per_mmbtu", f"must be >= 0, got {p!r}")
            prices.append(pv)
        for c in _NUMERIC:
            out_num[c].append(vals[c])
        df.at[i, "name"], df.at[i, "fuel"], df.at[i, "tech"], df.at[i, "bus"] = name, fuel, tech, bus
    for c in _NUMERIC:
        df[c] = np.asarray(out_num[c], dtype=float)
    df["fuel_price_usd_per_mmbtu"] = np.asarray(prices, dtype=float)
    df["source"] = df["source"].astype(str)
    df["profile"] = df["tech"].isin(list(ptechs))
    return df[list(FLEET_COLUMNS) + list(OPTIONAL_COLUMNS) + ["row", "profile"]]


def marginal_costs(fleet: pd.DataFrame, zone_of_bus: Mapping[str, str],
                   zone_fuel_prices: Mapping[str, Mapping[str, float]],
                   zone_carbon_price: Mapping[str, float], *, source: str = "<fleet>") -> pd.DataFrame:
    """Per unit: the fuel price used, the carbon cost and the marginal cost (USD/MWh).

    Profile units (sgens) cost 0. A fuel-burning unit (heat rate > 0) whose zone has no
    price for its fuel and no per-unit price is refused.
    Returns a DataFrame aligned with *fleet* with columns ``fuel_price_usd_per_mmbtu``,
    ``carbon_cost_usd_per_mwh`` and ``marginal_cost_usd_per_mwh``.
    """
    co2 = fuel_factors()["co2_kg_per_mwh"]
    priced = carbon_priced_fuels()
    price, ccost, mc = [], [], []
    for _, r in fleet.iterrows():
        zone = zone_of_bus[r["bus"]]
        if r["profile"]:
            price.append(0.0)
            ccost.append(0.0)
            mc.append(0.0)
            continue
        p = r["fuel_price_usd_per_mmbtu"]
        if not np.isfinite(p):
            zp = zone_fuel_prices.get(zone, {})
            if r["fuel"] in zp:
                p = float(zp[r["fuel"]])
            elif r["heat_rate_mmbtu_per_mwh"] == 0:
                p = 0.0
            else:
                raise InputError(source, f"row {r['row']} ({r['name']}): fuel_price_usd_per_mmbtu",
                                 f"zone {zone!r} has no {r['fuel']} price and the row gives none")
        c = float(zone_carbon_price.get(zone, 0.0)) * co2[r["fuel"]] / 1000.0 if r["fuel"] in priced else 0.0
        price.append(p)
        ccost.append(c)
        mc.append(p * r["heat_rate_mmbtu_per_mwh"] + r["vom_usd_per_mwh"] + c)
    return pd.DataFrame({"fuel_price_usd_per_mmbtu": price, "carbon_cost_usd_per_mwh": ccost,
                         "marginal_cost_usd_per_mwh": mc}, index=fleet.index)
