"""Fuel factors and generator fleet tables.

A fleet table (one CSV per net in ``grids/data/fleets/``) has one row per generating unit
or aggregated block of units at one bus; its columns, their meaning, unit and allowed values
are declared in :data:`FLEET_SCHEMA`, which :func:`read_fleet` checks.

Marginal cost (USD/MWh) = fuel price x heat rate + VOM + carbon price (USD/t) x CO2 rate
(t/MWh), the carbon term for coal, gas and oil only; profile units (sgens) cost 0. Bad rows
raise :class:`cosim.errors.InputError` naming the file, the row (``row N`` = line N of the
CSV, the header being line 1) and the column.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Mapping, NamedTuple

import numpy as np
import pandas as pd
import yaml

from cosim.errors import InputError

DATA_DIR = Path(__file__).resolve().parent / "data"
FUELS_FILE = DATA_DIR / "fuels.yaml"


class Column(NamedTuple):
    """One fleet-table column: what it holds and what a cell may be."""

    name: str
    doc: str
    number: bool = False   # a finite float; else text (stripped)
    lo: float | None = None
    hi: float | None = None
    lo_open: bool = False
    required: bool = True  # the header must have it; an optional column may be absent or empty
    nonempty: str = ""     # what an empty cell lacks ("empty unit name")
    unique: bool = False
    choices: str = ""      # catalogue the value must be in: "fuels" (the fuel table) or "buses" (the spec's)
    bad: str = ""          # reason for a value out of range or not in the catalogue (str.format: v, known)


FLEET_SCHEMA = (
    Column("name", "unique unit name", nonempty="unit name", unique=True),
    Column("bus", "bus name, must exist in the region spec", choices="buses", bad="unknown bus {v!r}"),
    Column("fuel", "one of the fuel table (coal, gas, nuclear, oil, other, solar, hydro, wind)",
           choices="fuels", bad="unknown fuel {v!r} (known: {known})"),
    Column("tech", "technology: pv, wind_onshore, wind_offshore and hydro_ror become profile-driven "
           "sgens, any other (ccgt, ocgt, steam, coal, ...) a gen", nonempty="technology"),
    Column("capacity_mw", "installed capacity of the real system (MW), before the net's scale",
           number=True, lo=0, bad="negative capacity {v:g} MW"),
    Column("availability", "share of the capacity available in the modelled window: outages, "
           "derating, calibration (docs/grids.md)", number=True, lo=0, lo_open=True, hi=1),
    Column("min_load", "must-run share of the available capacity (0 for profile units)", number=True, lo=0, hi=1),
    Column("heat_rate_mmbtu_per_mwh", "heat rate, HHV (MMBtu/MWh; 0 for fuel-free units)", number=True, lo=0,
           bad="negative heat rate"),
    Column("vom_usd_per_mwh", "variable O&M (USD/MWh; may hold an opportunity cost)", number=True),
    Column("fuel_price_usd_per_mmbtu", "fuel price (USD/MMBtu); empty = the zone's price for the fuel",
           number=True, lo=0, required=False),
    Column("source", "short name of the figure's source (documentation)", required=False),
)
FLEET_COLUMNS = tuple(c.name for c in FLEET_SCHEMA if c.required)
OPTIONAL_COLUMNS = tuple(c.name for c in FLEET_SCHEMA if not c.required)


@lru_cache(maxsize=None)
def _fuels_yaml(path: str) -> dict:
    try:
        with open(path, encoding="utf-8") as fh:
            doc = yaml.safe_load(fh)
    except (OSError, yaml.YAMLError) as exc:
        raise InputError(path, "file", f"cannot read fuel table ({exc})") from None
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
    df = df.reset_index(drop=True).reindex(columns=[c.name for c in FLEET_SCHEMA], fill_value="")
    ptechs = profile_techs()
    catalogues = {"fuels": list(fuel_factors().index), "buses": buses}
    out: dict[str, list] = {c.name: [] for c in FLEET_SCHEMA}
    for k, cells in enumerate(df.itertuples(index=False)):
        where = f"row {k + 2}"
        rec = {}
        for col, raw in zip(FLEET_SCHEMA, cells):
            try:
                v = rec[col.name] = _cell(col, raw, catalogues)
            except ValueError as exc:
                raise InputError(source, f"{where}: {col.name}", str(exc)) from None
            if col.name == "name":
                where = f"row {k + 2} ({v})"
            if col.unique and v in out[col.name]:
                raise InputError(source, f"{where}: {col.name}", f"duplicate {col.nonempty or col.name}")
        if broken := _row_rules(rec, ptechs):
            raise InputError(source, f"{where}: {broken[0]}", broken[1])
        for c, v in rec.items():
            out[c].append(v)
    fl = pd.DataFrame({c.name: np.asarray(out[c.name], dtype=float if c.number else object) for c in FLEET_SCHEMA})
    fl["row"] = np.arange(len(fl)) + 2  # line number in the CSV (header = line 1)
    fl["profile"] = fl["tech"].isin(list(ptechs))
    return fl


def _cell(col: Column, raw: object, catalogues: Mapping) -> str | float:
    """One cell checked against its column; ValueError says what is wrong."""
    s = str(raw).strip()
    if not col.number:
        if col.nonempty and not s:
            raise ValueError(f"empty {col.nonempty}")
        known = catalogues.get(col.choices)
        if known is not None and s not in known:
            raise ValueError(col.bad.format(v=s, known=", ".join(known)))
        return s
    if not col.required and s in ("", "nan", "NaN"):
        return np.nan
    try:
        v = float(s)
    except ValueError:
        raise ValueError(f"not a number: {raw!r}") from None
    if not np.isfinite(v):
        raise ValueError(f"not finite: {raw!r}")
    if (col.lo is not None and (v <= col.lo if col.lo_open else v < col.lo)) or (col.hi is not None and v > col.hi):
        if col.bad:
            raise ValueError(col.bad.format(v=v))
        if col.hi is None:
            raise ValueError(f"must be >= {col.lo:g}, got {v:g}")
        raise ValueError(f"must be in {'(' if col.lo_open else '['}{col.lo:g}, {col.hi:g}], got {v:g}")
    return v


def _row_rules(r: Mapping, ptechs: Mapping[str, str]) -> tuple[str, str] | None:
    """The checks that span columns: (column, reason) of the first broken one, else None."""
    tech, fuel = r["tech"], r["fuel"]
    if tech in ptechs and ptechs[tech] != fuel:
        return "fuel", f"technology {tech!r} needs fuel {ptechs[tech]!r}, not {fuel!r}"
    if tech not in ptechs and fuel in ("solar", "wind"):
        techs = ", ".join(t for t, f in ptechs.items() if f == fuel)
        return "tech", f"fuel {fuel!r} needs a profile technology ({techs})"
    if tech in ptechs and r["min_load"] > 0:
        return "min_load", "profile units (sgens) cannot have a must-run share"
    return None


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
