"""Fuel factors and generator fleet tables.

A fleet table (one CSV per net in ``grids/data/fleets/``) has one row per generating unit
or aggregated block of units at one bus; its columns, their meaning, unit and allowed values
are declared by :class:`FleetRow`, which :func:`read_fleet` checks each row against.

Marginal cost (USD/MWh) = fuel price x heat rate + VOM + carbon price (USD/t) x CO2 rate
(t/MWh), the carbon term for coal, gas and oil only; profile units (sgens) cost 0. Bad rows
raise :class:`cosim.errors.InputError` naming the file, the row (``row N`` = line N of the
CSV, the header being line 1) and the column.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import cache
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import pandas as pd
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    model_validator,
)

from grids.errors import InputError
from grids.files import read_yaml
from grids.validation import FieldError, input_error, known_in

DATA_DIR = Path(__file__).resolve().parent / "data"
FUELS_FILE = DATA_DIR / "fuels.yaml"


def _rule(ok: Callable[[Any], bool], reason: str) -> AfterValidator:
    """A check of one cell with the fleet table's own wording (*reason* formats v)."""
    def check(v: Any) -> Any:
        if not ok(v):
            raise ValueError(reason.format(v=v))
        return v
    return AfterValidator(check)


Text = Annotated[str, BeforeValidator(lambda v: str(v).strip())]
EmptyIsNone = BeforeValidator(lambda v: None if str(v).strip() in ("", "nan", "NaN") else v)


class FleetRow(BaseModel):
    """One row of a fleet table: a generating unit or block of units at one bus. Capacities
    are of the real system (MW, before the net's scale); shares are of the capacity."""

    model_config = ConfigDict(allow_inf_nan=False)

    name: Annotated[Text, _rule(bool, "empty unit name")]  # unique in the table
    bus: Annotated[Text, known_in("buses", "unknown bus {v!r}")]  # a bus of the region spec
    fuel: Annotated[Text, known_in("fuels", "unknown fuel {v!r} (known: {known})")]  # fuels.yaml
    tech: Annotated[Text, _rule(bool, "empty technology")]  # a profile tech (pv, wind_*, hydro_ror): sgen; else gen
    capacity_mw: Annotated[float, _rule(lambda v: v >= 0, "negative capacity {v:g} MW")]
    availability: Annotated[float, _rule(lambda v: 0 < v <= 1, "must be in (0, 1], got {v:g}")]  # in the window
    min_load: Annotated[float, _rule(lambda v: 0 <= v <= 1, "must be in [0, 1], got {v:g}")]  # must-run share
    heat_rate_mmbtu_per_mwh: Annotated[float, _rule(lambda v: v >= 0, "negative heat rate")]  # HHV; 0: no fuel
    vom_usd_per_mwh: float  # variable O&M, may hold an opportunity cost
    fuel_price_usd_per_mmbtu: Annotated[Annotated[float, Field(ge=0)] | None, EmptyIsNone] = None  # None: zone's
    source: Text = ""  # short name of the figure's source

    @model_validator(mode="after")
    def _profile_units(self, info: ValidationInfo) -> FleetRow:
        ptechs, tech, fuel = info.context["techs"], self.tech, self.fuel
        if tech in ptechs and ptechs[tech] != fuel:
            raise FieldError("fuel", f"technology {tech!r} needs fuel {ptechs[tech]!r}, not {fuel!r}")
        if tech not in ptechs and fuel in ("solar", "wind"):
            techs = ", ".join(t for t, f in ptechs.items() if f == fuel)
            raise FieldError("tech", f"fuel {fuel!r} needs a profile technology ({techs})")
        if tech in ptechs and self.min_load > 0:
            raise FieldError("min_load", "profile units (sgens) cannot have a must-run share")
        return self


FLEET_COLUMNS = tuple(c for c, f in FleetRow.model_fields.items() if f.is_required())
OPTIONAL_COLUMNS = tuple(c for c, f in FleetRow.model_fields.items() if not f.is_required())


@cache
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
    ctx = {"fuels": list(fuel_factors().index), "buses": buses, "techs": profile_techs()}
    rows, seen = [], set()
    for k, cells in enumerate(df.to_dict("records")):
        name = str(cells["name"]).strip()
        where = f"row {k + 2} ({name})" if name else f"row {k + 2}"
        if name in seen:
            raise InputError(source, f"{where}: name", "duplicate unit name")
        seen.add(name)
        try:
            rows.append(FleetRow.model_validate(cells, context=ctx).model_dump())
        except ValidationError as exc:
            err = input_error(exc, source)
            raise InputError(source, f"{where}: {err.where}", err.reason) from None
    fl = pd.DataFrame(rows, columns=list(FleetRow.model_fields))
    fl["fuel_price_usd_per_mmbtu"] = fl["fuel_price_usd_per_mmbtu"].astype(float)  # None -> NaN
    fl["row"] = np.arange(len(fl)) + 2  # line number in the CSV (header = line 1)
    fl["profile"] = fl["tech"].isin(list(ctx["techs"]))
    return fl


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
