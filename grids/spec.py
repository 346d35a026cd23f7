"""The region spec (``grids/data/regions/<net>.yaml``, schema in docs/grids.md) as pydantic
models. Field constraints hold the ranges, :class:`RegionSpec`'s validator the cross-field
rules; errors become ``InputError(source, where, reason)`` with *where* the dotted field
path (:mod:`grids.validation`). Unknown keys are ignored, as they always were. The
catalogues a spec names (``fuels``, profile ``techs``, load ``shapes``) come from the data
files as the validation context; whether the slack is an ext_grid or a gen of the fleet is
checked by ``build_net``.
"""
from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

from grids.validation import FieldError, input_error, known_in

DEFAULT_SITE_LINE_MW = 1000.0  # model MW per connection line of a DC bus (not scaled)


def _timezone(v: str) -> str:
    try:
        pd.Timestamp("2022-01-01", tz="UTC").tz_convert(v)
    except Exception:
        raise ValueError(f"unknown time zone {v!r}") from None
    return v


Name = Annotated[str, BeforeValidator(str)]  # mapping keys and labels: YAML may give numbers
Fuel = Annotated[str, known_in("fuels", "unknown fuel {v!r}")]
Tech = Annotated[str, known_in("techs", "unknown profile technology {v!r} (known: {known})")]
Shape = Annotated[str, known_in("shapes", "unknown load shape {v!r} (known: {known})")]
Lat = Annotated[float, Field(ge=-90, le=90)]   # degrees
Lon = Annotated[float, Field(ge=-180, le=180)]  # degrees
Share = Annotated[float, Field(ge=0, le=1)]
NonNeg = Annotated[float, Field(ge=0)]
Empty = BeforeValidator(lambda v: {} if v is None else v)  # a null block is an empty one


class _Block(BaseModel):
    model_config = ConfigDict(allow_inf_nan=False)


class Load(_Block):
    """A zone's background load (real-system MW) and its AR(1) noise (relative sd, lag-1)."""

    mean_mw: NonNeg
    shape: Shape  # daily shape in profiles.yaml
    noise_cv: float = Field(0.0, ge=0, le=0.5)
    noise_ar1: float = Field(0.9, ge=0, le=0.999)


class Exports(_Block):
    """Flat net exports (real-system MW; < 0 = imports) at *bus* (None: the zone's first bus)."""

    mean_mw: float = 0.0
    bus: str | None = None


class CapacityFactor(_Block):
    """Hourly capacity factor of a profile technology (shares of capacity; hours local)."""

    mean: Share
    daily_amplitude: Share = 0.0
    peak_hour_local: float = Field(14.0, ge=0, le=24)
    noise_cv: float = Field(0.0, ge=0, le=2)
    noise_ar1: float = Field(0.95, ge=0, le=0.999)
    daily_cv: Share = 0.0
    max_cf: float | None = Field(None, gt=0, le=1)  # None: 0.7 for pv, else 0.95
    shared: Share = 0.0  # weight of the noise common to the net's zones


class Zone(_Block):
    """A zone: time zone (IANA; None = UTC), centre, prices, load, exports, capacity factors."""

    label: Name | None = None  # None: the zone's name
    timezone: Annotated[str, AfterValidator(_timezone)] | None = None
    lat: Lat
    lon: Lon
    carbon_price_usd_per_t: NonNeg = 0.0
    fuel_prices_usd_per_mmbtu: Annotated[dict[Fuel, NonNeg], Empty] = {}
    load: Load
    exports: Annotated[Exports, Empty] = Field(default_factory=Exports)
    cf: Annotated[dict[Tech, CapacityFactor], Empty] = {}


class Bus(_Block):
    """A grid bus; *load_share* = its weight in the zone's background load."""

    zone: str
    lat: Lat
    lon: Lon
    load_share: NonNeg = 1.0


class Line(_Block):
    """A line of *circuits* parallel circuits, rated in real-system MW (length None: 1.2 x
    great-circle distance; name None: ``<from>-<to>``)."""

    from_: str = Field(alias="from")
    to: str
    capacity_mw: float = Field(gt=0)
    circuits: int = Field(1, ge=1)
    length_km: float | None = Field(None, gt=0)
    name: Name | None = None


class Site(_Block):
    """A DC site: its own bus, one line of *line_mw* (model MW) to each bus in *connect*."""

    zone: str
    connect: list[Any] = Field(min_length=1)
    lat: Lat
    lon: Lon
    line_mw: float = Field(DEFAULT_SITE_LINE_MW, gt=0)


class ExtGrid(_Block):
    """An outside market: price (USD/MWh), import and export limits (real-system MW)."""

    bus: str
    fuel: Fuel
    price_usd_per_mwh: float
    import_mw: NonNeg
    export_mw: NonNeg = 0.0
    note: Name = ""


class RegionSpec(_Block):
    """A region: the net is the real system times *scale*; *slack* names the ext_grid or gen
    that is the angle reference; *fleet* a file in grids/data/fleets/."""

    name: str = Field(min_length=1)
    title: Name | None = None  # None: the name
    scale: float = Field(1.0, gt=0, le=1)
    base_kv: float = Field(380.0, gt=0)
    zones: dict[Name, Zone] = Field(min_length=1)
    buses: dict[Name, Bus] = Field(min_length=1)
    lines: Annotated[list[Line], BeforeValidator(lambda v: [] if v is None else v)] = []
    sites: Annotated[dict[Name, Site], Empty] = {}
    ext_grids: Annotated[dict[Name, ExtGrid], Empty] = {}
    slack: str = Field(min_length=1)
    fleet: Any = None

    @model_validator(mode="after")
    def _references(self) -> RegionSpec:
        self.title = self.name if self.title is None else self.title
        for bn, b in self.buses.items():
            if bn.startswith("dc:"):
                raise FieldError(f"buses.{bn}", "the prefix 'dc:' is reserved for data-center buses")
            if b.zone not in self.zones:
                raise FieldError(f"buses.{bn}.zone", f"unknown zone {b.zone!r}")
        for zn, z in self.zones.items():
            z.label = zn if z.label is None else z.label
            for tech, c in z.cf.items():
                c.max_cf = (0.7 if tech == "pv" else 0.95) if c.max_cf is None else c.max_cf
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
            if ln.from_ == ln.to:
                raise FieldError(f"lines[{i}]", "a line needs two different buses")
            ln.name = f"{ln.from_}-{ln.to}" if ln.name is None else ln.name
        for sn, s in self.sites.items():
            if s.zone not in self.zones:
                raise FieldError(f"sites.{sn}.zone", f"unknown zone {s.zone!r}")
            for c in s.connect:
                if c not in self.buses or self.buses[c].zone != s.zone:
                    raise FieldError(f"sites.{sn}.connect", f"{c!r} is not a bus of zone {s.zone}")
        for en, e in self.ext_grids.items():
            if e.bus not in self.buses:
                raise FieldError(f"ext_grids.{en}.bus", f"unknown bus {e.bus!r}")
        if unreached := unconnected_buses(self):
            raise FieldError("lines", f"buses not connected to the rest: {', '.join(unreached)}")
        return self


SPEC_REASONS = {  # better reasons than "missing" / "must be a mapping" for whole blocks
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
    """The buses the lines do not join to the first one, sorted ([] = one connected net)."""
    adj: dict[str, set[str]] = {b: set() for b in spec.buses}
    for ln in spec.lines:
        adj[ln.from_].add(ln.to)
        adj[ln.to].add(ln.from_)
    seen, todo = {next(iter(adj))}, deque([next(iter(adj))])
    while todo:
        for n in adj[todo.popleft()] - seen:
            seen.add(n)
            todo.append(n)
    return sorted(set(adj) - seen)


def parse_region_spec(doc: Mapping, source: str | Path, *, fuels: Any, techs: Any, shapes: Any) -> RegionSpec:
    """Validate a parsed region spec against the known *fuels*, profile *techs* and load
    *shapes*; InputError names the first bad field."""
    try:
        return RegionSpec.model_validate(doc, context={"fuels": fuels, "techs": techs, "shapes": shapes})
    except ValidationError as exc:
        raise input_error(exc, source, SPEC_REASONS) from None
