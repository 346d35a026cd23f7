"""The region spec (``grids/data/regions/<net>.yaml``, schema in docs/grids.md) as pydantic
models, and the conversion of pydantic's errors into :class:`InputError`.

Field constraints say the ranges; the model validators of :class:`RegionSpec` the
cross-field rules (buses in known zones, lines between known buses, sites on buses of
their zone, a connected network). The catalogues a spec refers to (fuels, profile
technologies, load shapes) come from the data files, passed as the validation context:
``RegionSpec.model_validate(doc, context={"fuels": ..., "techs": ..., "shapes": ...})``.
Unknown keys are ignored, as they always were. Whether the slack names an ext_grid or a
gen is checked by :func:`grids.network.build_net`, which has the fleet.
"""
from __future__ import annotations

from collections import deque
from pathlib import Path
from typing import Annotated, Any, Mapping

import pandas as pd
from pydantic import (BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, ValidationInfo,
                      field_validator, model_validator)

from cosim.errors import InputError

DEFAULT_SITE_LINE_MW = 1000.0  # model MW per connection line of a DC bus (not scaled)


class FieldError(ValueError):
    """A check that names its field: *where* is relative to the model that raises it
    (``""`` = the model itself)."""

    def __init__(self, where: str, reason: str):
        self.where, self.reason = where, reason
        super().__init__(reason)


def _where(loc: tuple, rel: str = "") -> str:
    out = ""
    for p in loc:
        out += f"[{p}]" if isinstance(p, int) else f".{p}" if out else str(p)
    if rel:
        out = f"{out}.{rel}" if out else rel
    return out or "(top level)"


_BOUNDS = {"greater_than": ("gt", ">"), "greater_than_equal": ("ge", ">="), "less_than": ("lt", "<"),
           "less_than_equal": ("le", "<=")}
_TYPE_ERRORS = {"missing", "model_type", "model_attributes_type", "dict_type", "list_type", "string_type",
                "too_short", "string_too_short"}


def input_error(exc: ValidationError, source: str | Path,
                reasons: Mapping[tuple[str, ...], str] | None = None) -> InputError:
    """The first error of *exc* as ``InputError(source, where, reason)``; *where* is the
    dotted field path (``zones.BE.load.mean_mw``, ``lines[0].to``).

    *reasons*: a better reason than the generic one when a field is missing or of the wrong
    kind, by field path with ``*`` for any key or index (``("zones", "*", "load")``).
    """
    err = exc.errors()[0]
    loc, kind, v = tuple(err["loc"]), err["type"], err.get("input")
    cause = (err.get("ctx") or {}).get("error")
    if isinstance(cause, FieldError):
        return InputError(source, _where(loc, cause.where), cause.reason)
    for pattern, reason in (reasons or {}).items():
        if kind in _TYPE_ERRORS and len(pattern) == len(loc) and all(p in ("*", q) for p, q in zip(pattern, loc)):
            return InputError(source, _where(loc), reason)
    if kind == "value_error":
        reason = err["msg"].removeprefix("Value error, ")
    elif kind == "missing" or v is None:
        reason = "missing"
    elif kind in _BOUNDS:
        key, op = _BOUNDS[kind]
        reason = f"must be {op} {err['ctx'][key]:g}, got {float(v):g}"
    elif kind.startswith(("float_", "int_parsing", "int_type")):
        reason = f"not a number: {v!r}"
    elif kind == "finite_number":
        reason = f"not finite: {v!r}"
    elif kind == "int_from_float":
        reason = f"not a whole number: {v!r}"
    elif kind in ("model_type", "model_attributes_type", "dict_type"):
        reason = "must be a mapping"
    elif kind == "list_type":
        reason = "must be a list"
    elif kind == "string_type":
        reason = f"not a text: {v!r}"
    else:
        reason = err["msg"]
    return InputError(source, _where(loc), reason)


def _none_to_empty(v: Any) -> Any:
    return {} if v is None else v


Name = Annotated[str, BeforeValidator(str)]  # mapping keys and labels: YAML may give numbers
Lat = Annotated[float, Field(ge=-90, le=90)]
Lon = Annotated[float, Field(ge=-180, le=180)]
Share = Annotated[float, Field(ge=0, le=1)]
Empty = BeforeValidator(_none_to_empty)  # an empty (null) block is no block


class _Block(BaseModel):
    model_config = ConfigDict(allow_inf_nan=False, populate_by_name=True)


class Load(_Block):
    """Background load of a zone (real-system MW) and its hourly noise."""

    mean_mw: float = Field(ge=0)
    shape: str = Field(None, validate_default=True)  # a name in profiles.yaml "load_shapes"
    noise_cv: float = Field(0.0, ge=0, le=0.5)
    noise_ar1: float = Field(0.9, ge=0, le=0.999)

    @field_validator("shape", mode="before")
    @classmethod
    def _known_shape(cls, v: Any, info: ValidationInfo) -> Any:
        shapes = info.context["shapes"]
        if v not in shapes:
            raise ValueError(f"unknown load shape {v!r} (known: {', '.join(shapes)})")
        return v


class Exports(_Block):
    """Flat net exports to unmodelled neighbours (real-system MW, < 0 = imports) at *bus*
    (default: the zone's first bus)."""

    mean_mw: float = 0.0
    bus: str | None = None


class CapacityFactor(_Block):
    """Hourly capacity factor of one profile technology in a zone (shares of capacity)."""

    mean: Share
    daily_amplitude: Share = 0.0
    peak_hour_local: float = Field(14.0, ge=0, le=24)
    noise_cv: float = Field(0.0, ge=0, le=2)
    noise_ar1: float = Field(0.95, ge=0, le=0.999)
    daily_cv: Share = 0.0
    max_cf: float | None = Field(None, gt=0, le=1)  # None: 0.7 for pv, else 0.95
    shared: Share = 0.0


class Zone(_Block):
    """A bidding zone: time zone, centre, prices, load, exports and capacity factors."""

    label: Name | None = None  # None: the zone's name
    timezone: str | None = None  # IANA; None = UTC
    lat: Lat
    lon: Lon
    carbon_price_usd_per_t: float = Field(0.0, ge=0)
    fuel_prices_usd_per_mmbtu: Annotated[dict[str, Annotated[float, Field(ge=0)]], Empty] = {}
    load: Load
    exports: Annotated[Exports, Empty] = Field(default_factory=Exports)
    cf: Annotated[dict[str, CapacityFactor], Empty] = {}

    @field_validator("timezone", mode="before")
    @classmethod
    def _known_tz(cls, v: Any) -> Any:
        try:
            pd.Timestamp("2022-01-01", tz="UTC").tz_convert(v)
        except Exception:
            raise ValueError(f"unknown time zone {v!r}") from None
        return v

    @field_validator("fuel_prices_usd_per_mmbtu", mode="before")
    @classmethod
    def _known_fuels(cls, v: Any, info: ValidationInfo) -> Any:
        for f in v if isinstance(v, dict) else ():
            if f not in info.context["fuels"]:
                raise FieldError(str(f), f"unknown fuel {f!r}")
        return v

    @field_validator("cf", mode="before")
    @classmethod
    def _known_techs(cls, v: Any, info: ValidationInfo) -> Any:
        techs = info.context["techs"]
        for t in v if isinstance(v, dict) else ():
            if t not in techs:
                raise FieldError(str(t), f"unknown profile technology {t!r} (known: {', '.join(techs)})")
        return v

    @model_validator(mode="after")
    def _max_cf(self) -> Zone:
        for tech, c in self.cf.items():
            if c.max_cf is None:
                c.max_cf = 0.7 if tech == "pv" else 0.95
        return self


class Bus(_Block):
    """A grid bus of a zone; *load_share* = its weight in the zone's background load."""

    zone: str
    lat: Lat
    lon: Lon
    load_share: float = Field(1.0, ge=0)


class Line(_Block):
    """A line (or corridor of *circuits*) between two buses, rated in real-system MW."""

    from_: str = Field(alias="from")
    to: str
    capacity_mw: float = Field(gt=0)
    circuits: int = Field(1, ge=1)
    length_km: float | None = Field(None, gt=0)  # None: 1.2 x great-circle distance
    name: Name | None = None  # None: "<from>-<to>"

    @model_validator(mode="after")
    def _ends(self) -> Line:
        if self.from_ == self.to:
            raise FieldError("", "a line needs two different buses")
        self.name = self.name if self.name is not None else f"{self.from_}-{self.to}"
        return self


class Site(_Block):
    """A data-center site: its own bus, joined by one line of *line_mw* (model MW) to each
    bus in *connect*."""

    zone: str
    connect: list[Any] = Field(min_length=1)
    lat: Lat
    lon: Lon
    line_mw: float = Field(DEFAULT_SITE_LINE_MW, gt=0)


class ExtGrid(_Block):
    """An outside market at a bus: a price (USD/MWh) and import / export limits (real MW)."""

    bus: str
    fuel: str
    price_usd_per_mwh: float
    import_mw: float = Field(ge=0)
    export_mw: float = Field(0.0, ge=0)
    note: Name = ""


class RegionSpec(_Block):
    """A region: its zones, buses, lines, DC sites and outside markets; the net is the real
    system times *scale*."""

    name: str = Field(min_length=1)
    title: Name | None = None  # None: the name
    scale: float = Field(1.0, gt=0, le=1)
    base_kv: float = Field(380.0, gt=0)
    zones: dict[Name, Zone] = Field(min_length=1)
    buses: dict[Name, Bus] = Field(min_length=1)
    lines: Annotated[list[Line], BeforeValidator(lambda v: [] if v is None else v)] = []
    sites: Annotated[dict[Name, Site], Empty] = {}
    ext_grids: Annotated[dict[Name, ExtGrid], Empty] = {}
    slack: str = Field(min_length=1)  # the ext_grid or gen that is the angle reference
    fleet: Any = None  # file name in grids/data/fleets/

    @model_validator(mode="after")
    def _references(self, info: ValidationInfo) -> RegionSpec:
        self.title = self.name if self.title is None else self.title
        for zn, z in self.zones.items():
            z.label = zn if z.label is None else z.label
        for bn, b in self.buses.items():
            if bn.startswith("dc:"):
                raise FieldError(f"buses.{bn}", "the prefix 'dc:' is reserved for data-center buses")
            if b.zone not in self.zones:
                raise FieldError(f"buses.{bn}.zone", f"unknown zone {b.zone!r}")
        for zn, z in self.zones.items():
            zb = [bn for bn, b in self.buses.items() if b.zone == zn]
            if not zb:
                raise FieldError(f"zones.{zn}", "zone has no bus")
            if sum(self.buses[b].load_share for b in zb) <= 0:
                raise FieldError(f"zones.{zn}", "no bus of the zone has a positive load_share")
            if z.exports.bus is None:
                z.exports.bus = zb[0]
            elif z.exports.bus not in zb:
                raise FieldError(f"zones.{zn}.exports.bus", f"{z.exports.bus!r} is not a bus of zone {zn}")
        for i, ln in enumerate(self.lines):
            for end, b in (("from", ln.from_), ("to", ln.to)):
                if b not in self.buses:
                    raise FieldError(f"lines[{i}].{end}", f"unknown bus {b!r}")
        for sn, s in self.sites.items():
            if s.zone not in self.zones:
                raise FieldError(f"sites.{sn}.zone", f"unknown zone {s.zone!r}")
            for c in s.connect:
                if c not in self.buses or self.buses[c].zone != s.zone:
                    raise FieldError(f"sites.{sn}.connect", f"{c!r} is not a bus of zone {s.zone}")
        for en, e in self.ext_grids.items():
            if e.bus not in self.buses:
                raise FieldError(f"ext_grids.{en}.bus", f"unknown bus {e.bus!r}")
            if e.fuel not in info.context["fuels"]:
                raise FieldError(f"ext_grids.{en}.fuel", f"unknown fuel {e.fuel!r}")
        if unreached := unconnected_buses(self):
            raise FieldError("lines", f"buses not connected to the rest: {', '.join(unreached)}")
        return self


# better reasons than "missing" / "must be a mapping" where a whole block is wrong
SPEC_REASONS = {
    ("name",): "missing region name",
    ("slack",): "name the ext_grid or gen that is the angle reference",
    ("zones",): "needs at least one zone",
    ("buses",): "needs at least one bus",
    ("zones", "*", "fuel_prices_usd_per_mmbtu"): "must be a mapping fuel -> price",
    ("zones", "*", "load"): "missing load (mean_mw, shape)",
    ("zones", "*", "cf", "*"): "must be a mapping with at least 'mean'",
    ("sites",): "must be a mapping site -> {zone, connect}",
    ("sites", "*", "connect"): "needs a list of buses",
    ("ext_grids",): "must be a mapping name -> {bus, fuel, price_usd_per_mwh, ...}",
}


def unconnected_buses(spec: RegionSpec) -> list[str]:
    """Buses the lines do not join to the first bus (sorted; [] = one connected net)."""
    adj: dict[str, set[str]] = {b: set() for b in spec.buses}
    for ln in spec.lines:
        adj[ln.from_].add(ln.to)
        adj[ln.to].add(ln.from_)
    start = next(iter(adj))
    seen, todo = {start}, deque([start])
    while todo:
        for n in adj[todo.popleft()] - seen:
            seen.add(n)
            todo.append(n)
    return sorted(set(adj) - seen)


def parse_region_spec(doc: Mapping, source: str | Path, *, fuels: Any, techs: Any, shapes: Any) -> RegionSpec:
    """Validate a parsed region spec; InputError names the first bad field.

    *fuels*, *techs*, *shapes*: the known fuel names, profile technologies and load shapes.
    """
    try:
        return RegionSpec.model_validate(doc, context={"fuels": fuels, "techs": techs, "shapes": shapes})
    except ValidationError as exc:
        raise input_error(exc, source, SPEC_REASONS) from None
