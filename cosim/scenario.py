"""The scenario schema: the pydantic models of a scenario's sections, their cross-field
checks, and the validation of a parsed YAML mapping into a :class:`Scenario`.

A scenario names the world (user regions, data centers, models), where demand and
grid signals come from, the policy weights and norms, the horizon and the seed.
Every field and its unit is documented in docs/scenarios.md; reading files (and
`extends`) is cosim.scenario_files, the `policy` section is cosim.policy.
"""
from __future__ import annotations

import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Literal, Self

from pydantic import Field, PrivateAttr, ValidationError, field_validator, model_validator

from cosim.errors import InputError
from cosim.fields import MAX_HOURS, MAX_SEED, Country, StrictModel, count, quantity
from cosim.paths import FOLDER_NAME_RULE, is_folder_name
from cosim.policy import POLICY_NAMES, PolicyWeights
from cosim.scenario_errors import FieldError as _FieldError
from cosim.scenario_errors import input_error


class Location(StrictModel):
    """A point on the globe, in degrees."""

    lat: quantity("degrees", 90, ge=-90, le=90)
    lon: quantity("degrees", 180, ge=-180, le=180)


class Model(StrictModel):
    """An AI model that data centers can host."""

    name: str
    energy_wh_per_request: quantity("Wh", 1e6, gt=0)
    """IT energy per request, Wh (before PUE)."""
    resources_per_request: quantity("capacity units", 1e12, gt=0)
    """Capacity used per request, in the unit of DataCenter.capacity_per_hour."""
    quality_score: quantity("points", 1e6)
    """Benchmark score; the quality loss s_k is the best model's score minus this (points)."""
    inference_ms: quantity("ms", 1e9, ge=0) = 0.0
    """L_inference of Luo & Cheng: time to the answer (or first token) on this model, ms."""


class ShippedGrid(StrictModel):
    """One of the shipped nets (grids/data/regions): eu, us_east, ercot, nevada, singapore, japan."""

    kind: Literal["shipped"]
    name: str


class BalancingAreaGrid(StrictModel):
    """A balancing area built from its hourly generation by fuel (EIA-930 form)."""

    kind: Literal["balancing-area"]
    file: str
    """The hourly generation-by-fuel file, relative to the data dir (e.g. eia930/BPAT.csv)."""


class PandapowerGrid(StrictModel):
    """A user's own net: a pandapower JSON file or a MATPOWER case, the site at one of its buses."""

    kind: Literal["pandapower"]
    file: str
    """The net, relative to the data dir: pandapower JSON (.json) or MATPOWER (.m, .mat)."""
    bus: count("bus index", 10**9, ge=0)
    """The net's bus index of this data center."""
    timeseries: str | None = None
    """Hourly load and availability (`time`, `load:<index>`, `sgen:<index>`, `gen:<index>`),
    relative to the data dir; omitted: the net's own values, held flat."""


class RtsGmlcGrid(StrictModel):
    """The RTS-GMLC test system from the data dir (rts-gmlc/), the site at one of its buses."""

    kind: Literal["rts-gmlc"]
    bus: count("bus id", 10**9, ge=0)
    """The RTS bus id of this data center (101 ... 325)."""


GridRef = Annotated[ShippedGrid | BalancingAreaGrid | PandapowerGrid | RtsGmlcGrid, Field(discriminator="kind")]


class DataCenter(StrictModel):
    """A data-center site: where it is, its PUE, capacity and hosted models, and its signals."""

    name: str
    location: Location | None = None
    pue: quantity("", 100, ge=1) = 1.1
    servers: count("servers", 10**9, gt=0) | None = None
    server_power_kw: quantity("kW", 1e5, gt=0) | None = None
    capacity_per_hour: quantity("capacity units per hour", 1e15, gt=0) | None = None
    """Resource capacity per hour; defaults to servers x 3600 (server-seconds)."""
    models: list[str] | None = None
    """Hosted models; all models when omitted."""
    signal_site: str | None = None
    """Column of the signal source for this site; defaults to the data center's name."""
    country: Country | None = None
    """Where the site is, for legal rules (data residency)."""
    queue_ms: quantity("ms", 1e9, ge=0) = 0.0
    """L_queue of Luo & Cheng: queueing delay at this site, ms."""
    capacity_class: str = "cloud"
    """A label tiers can require (system mask), e.g. cloud, edge, hyperscale."""
    grid: GridRef | None = None
    """With `signals: grids`, the grid the site draws from: `{kind: shipped, name: ...}`,
    `{kind: balancing-area, file: ...}`, `{kind: pandapower, file: ..., bus: ...}` or
    `{kind: rts-gmlc, bus: ...}`; default: the shipped net holding the site."""
    weather_file: str | None = None
    """An EnergyPlus weather file (.epw) relative to the data dir (e.g.
    weather/USA_VA_Leesburg.Exec.epw): the site's on-site WUE hour by hour from its wet
    bulb, whatever the signal source; none: the signal source's WUE."""

    @model_validator(mode="after")
    def _capacity_known(self) -> Self:
        if self.capacity_per_hour is None and self.servers is None:
            raise ValueError("give capacity_per_hour or servers")
        return self

    @property
    def capacity(self) -> float:
        """Resource capacity per hour (server-seconds when derived from servers)."""
        return self.capacity_per_hour if self.capacity_per_hour is not None else self.servers * 3600.0

    @property
    def site(self) -> str:
        """The column of the signal sources for this site: `signal_site`, else the name."""
        return self.signal_site or self.name


class Region(StrictModel):
    """A user region: where requests come from."""

    name: str
    location: Location | None = None
    utc_offset_h: quantity("h", 14, ge=-12, le=14) = 0.0
    local_datacenter: str | None = None
    """The data center that serves this region when nothing is relocated."""
    demand_weight: quantity("", 1e9, gt=0) = 1.0
    """Relative size of this region's demand for the `profile` and `eglb-workload` sources."""
    country: Country | None = None
    """Where the users are, for legal rules (data residency)."""
    service_location: Location | None = None
    """The region's service node (API front door); defaults to the region's location."""


class Demand(StrictModel):
    """Where each region's hourly requests come from."""

    source: Literal["profile", "eglb-workload", "csv"] = "profile"
    requests_per_hour: quantity("requests/h", 1e15, gt=0) = 1.0
    """profile: mean requests per hour for a region of weight 1.
    eglb-workload: requests per hour at the trace's peak power, per region."""
    peak_to_mean: quantity("", 1000, ge=1) = 1.0
    """profile: daily peak over daily mean (a cosine over the local day)."""
    peak_hour_local: quantity("h", 24, ge=0, lt=24) = 14.0
    dataset: str = "eglb"
    """eglb-workload: dataset folder under the data dir."""
    file: str | None = None
    """csv: hourly file (a `time` column, one column per region), relative to the data dir."""
    price_elasticity: quantity("", 1000, ge=0) = 0.0
    """Co-simulation: elasticity of a user's requests to the price per request it pays (0: fixed)."""
    list_price_usd_per_request: quantity("USD", 1e6, gt=0) = 0.001
    """Co-simulation: what a request costs users before tier discounts; energy cost passes through on top."""
    tier_sensitivity: quantity("", 1e6, ge=0) = 0.0
    """Co-simulation: logit weight on a tier's price (over the list price) when users choose
    their tier (0: every tier keeps its share)."""

    @model_validator(mode="after")
    def _file_for_csv(self) -> Self:
        if self.source == "csv" and not self.file:
            raise ValueError("source 'csv' needs file")
        return self


class Signals(StrictModel):
    """Where hourly price, carbon intensity and WUE per site come from."""

    source: Literal["synthetic", "grids", "eglb", "csv"] = "synthetic"
    """synthetic: calibrated generator; grids: dispatch of the shipped regional grids
    (grids/); eglb: the E-GLB dataset; csv: your own hourly files."""
    dataset: str = "eglb"
    """eglb: dataset folder under the data dir."""
    price_file: str | None = None
    carbon_file: str | None = None
    wue_file: str | None = None
    """csv: hourly files relative to the data dir, one column per site (USD/MWh, kg/kWh, L/kWh)."""

    @model_validator(mode="after")
    def _files_for_csv(self) -> Self:
        if self.source == "csv":
            missing = [f for f in ("price_file", "carbon_file", "wue_file") if not getattr(self, f)]
            if missing:
                raise ValueError(f"source 'csv' needs {', '.join(missing)}")
        return self


class Tier(StrictModel):
    """A latency tier (Luo & Cheng): a share of every region's requests with one latency
    budget, a number of rounds and the state that moves when served away from home."""

    name: str
    share: quantity("", 1, ge=0, le=1) = 1.0
    """Share of each region's requests in this tier; the tiers' shares add up to 1."""
    tau_ms: quantity("ms", 1e9, allow_inf=True, gt=0) = math.inf
    """Latency budget tau, ms: a site is feasible iff L <= tau ("inf" = no budget)."""
    rounds: count("rounds", 10**6, ge=1) = 1
    """m: service-to-compute round trips per request (multi-round interactions)."""
    access_ms: quantity("ms", 1e9, ge=0) = 0.0
    """Last-mile RTT from the client to the region's network, ms (added to L_cs)."""
    state_mb: quantity("MB", 1e9, ge=0) = 0.0
    """Session state moved per request served away from the local site, MB."""
    payload_kb: quantity("kB", 1e12, ge=0) = 0.0
    """Request plus response carried across regions per relocated request, kB."""
    cache_loss_usd_per_request: quantity("USD", 1e6, ge=0) = 0.0
    """Cost of a cold cache (KV or prompt cache) per relocated request, USD."""
    delay_usd_per_request_per_s: quantity("USD/s", 1e6, ge=0) = 0.0
    """gamma of Luo & Cheng: USD per request per second of network and queueing latency."""
    capacity_classes: list[str] | None = None
    """Data-center classes this tier may use (system mask); any when omitted."""
    discount: quantity("", 1, ge=0, lt=1) = 0.0
    """Share off the list price for requests in this tier (co-simulation tier choice)."""


class Frictions(StrictModel):
    """Migration frictions priced per relocated request, on top of the tiers' own."""

    egress_usd_per_gb: quantity("USD/GB", 1e6, ge=0) = 0.0
    """Inter-region transfer price for state and payload, USD/GB."""
    replica_usd_per_request: quantity("USD", 1e6, ge=0) = 0.0
    """Keeping a model replica warm away from home, amortized per relocated request, USD."""


class Latency(StrictModel):
    """Where link latencies come from (cosim.latency); all RTTs in ms."""

    source: Literal["coordinates", "measured"] = "coordinates"
    """coordinates: great-circle fiber estimate; measured: a P50 RTT matrix (Azure's by default)."""
    route_inflation: quantity("", 100, gt=0) | None = None
    """Fiber route length over great-circle distance; the calibrated default when omitted."""
    fiber_km_per_ms: quantity("km/ms", 300, gt=0) = 200.0
    rtt_file: str = "azure-latency/p50_rtt_ms.csv"
    """measured: the RTT matrix, relative to the data dir."""
    codes: dict[str, str] = {}
    """measured: region or data-center name -> matrix code it attaches to (else the nearest)."""


SOURCE_FIELDS: dict[str, tuple[type[StrictModel], dict[str, tuple[str, ...]]]] = {
    "demand": (Demand, {"profile": ("requests_per_hour", "peak_to_mean", "peak_hour_local"),
                        "eglb-workload": ("requests_per_hour", "dataset"), "csv": ("file",)}),
    "signals": (Signals, {"synthetic": (), "grids": (), "eglb": ("dataset",),
                          "csv": ("price_file", "carbon_file", "wue_file")}),
    "latency": (Latency, {"coordinates": (), "measured": ("rtt_file", "codes")}),
}
"""Section -> (its model, source -> the fields only that source reads): a file that
`extends:` another and switches a section's source may not leave the old source's fields
behind (cosim.scenario_files). Fields not listed apply to every source."""


RULE_KINDS = ("jurisdiction", "same-country", "local", "allow", "deny")


class Rule(StrictModel):
    """A legal rule of the mask: which data centers the users it binds may use."""

    kind: Literal["jurisdiction", "same-country", "local", "allow", "deny"]
    """jurisdiction: only sites in the jurisdiction; same-country: only sites in the users'
    country; local: only the region's local site; allow: only `datacenters`; deny: not those."""
    name: str | None = None
    """Shown by `cosim masks` when the rule excludes a pair; defaults to the kind."""
    jurisdiction: str | None = None
    """jurisdiction: EU (built in) or a name in mask.jurisdictions."""
    regions: list[str] | None = None
    """User regions bound; default: those in the jurisdiction, or every region."""
    tiers: list[str] | None = None
    """Tiers bound; default: every tier."""
    datacenters: list[str] = []
    """allow and deny: the data centers named."""

    @model_validator(mode="after")
    def _fields_for_kind(self) -> Self:
        if self.kind == "jurisdiction" and not self.jurisdiction:
            raise ValueError("kind 'jurisdiction' needs jurisdiction")
        if self.kind in ("allow", "deny") and not self.datacenters:
            raise ValueError(f"kind '{self.kind}' needs datacenters")
        return self

    @property
    def label(self) -> str:
        """The rule's name, else its kind."""
        return self.name or self.kind


EU_COUNTRIES = ("AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE",
                "IT", "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK")
"""The 27 member states of the European Union (europa.eu, since 2020)."""


class Mask(StrictModel):
    """Which data centers may serve which users: a default, region shorthands and legal rules.
    Latency budgets (tiers) and the system mask (hosted models, capacity class) come on top."""

    default: Literal["all", "local"] = "all"
    allow: dict[str, list[str]] = {}
    """region -> the only data centers allowed for it (replaces the default)."""
    deny: dict[str, list[str]] = {}
    """region -> data centers removed from what it may use."""
    rules: list[Rule] = []
    """Legal rules, each restricting what the users it binds may use."""
    jurisdictions: dict[str, list[Country]] = {}
    """Jurisdiction name -> its countries, beyond the built-in EU."""

    def jurisdiction(self, name: str) -> tuple[str, ...] | None:
        """The countries of a jurisdiction, or None when unknown."""
        if name in self.jurisdictions:
            return tuple(self.jurisdictions[name])
        return EU_COUNTRIES if name == "EU" else None


class Scenario(StrictModel):
    """A whole scenario file, validated: names resolve, tier shares add up to 1, rules bind."""

    name: str
    """Names the output folder cosim-out/<name> without --out: a folder name (cosim.paths.FOLDER_NAME)."""
    description: str = ""
    start: datetime = datetime(2022, 9, 22, tzinfo=UTC)
    hours: count("hours", MAX_HOURS, gt=0)
    """The horizon, hours (at most ten years of hours, :data:`cosim.fields.MAX_HOURS`)."""
    seed: count("", MAX_SEED, ge=0) = 0
    models: Annotated[list[Model], Field(min_length=1)]
    datacenters: Annotated[list[DataCenter], Field(min_length=1)]
    regions: Annotated[list[Region], Field(min_length=1)]
    demand: Demand = Demand()
    signals: Signals = Signals()
    policy: PolicyWeights = PolicyWeights()
    policies: list[str] = ["cost-glb", "all-glb", "e-glb", "se-glb"]
    mask: Mask = Mask()
    tiers: Annotated[list[Tier], Field(min_length=1)] = [Tier(name="default")]
    latency: Latency = Latency()
    frictions: Frictions = Frictions()
    accept_implausible: list[str] = []
    """Fields (``models.0.energy_wh_per_request``) meant as they are though outside their
    plausible range (cosim.plausibility): not warned of, not refused by ``--strict``."""
    _source: str = PrivateAttr("<scenario>")

    @property
    def source_file(self) -> str:
        """The file this scenario was read from (``<scenario>`` when built in memory): what
        every InputError about it names, and the folder its relative paths start from."""
        return self._source

    @field_validator("name")
    @classmethod
    def _folder_name(cls, v: str) -> str:
        if not is_folder_name(v):  # it names the output folder, cosim-out/<name>
            raise ValueError(f"{v!r} cannot name an output folder ({FOLDER_NAME_RULE})")
        return v

    @field_validator("start")
    @classmethod
    def _utc(cls, v: datetime) -> datetime:
        return _utc_hour(v)

    @model_validator(mode="after")
    def _names_resolve(self) -> Self:
        for kind, items in (("models", self.models), ("datacenters", self.datacenters), ("regions", self.regions), ("tiers", self.tiers)):
            seen = set()
            for n, item in enumerate(items):
                if item.name in seen:
                    raise _FieldError(f"{kind}.{n}.name", f"duplicate name '{item.name}'")
                seen.add(item.name)
        model_names = {m.name for m in self.models}
        dc_names = [d.name for d in self.datacenters]
        region_names = {r.name for r in self.regions}
        for n, dc in enumerate(self.datacenters):
            for m in dc.models or []:
                if m not in model_names:
                    raise _FieldError(f"datacenters.{n}.models", f"unknown model '{m}' (known: {', '.join(sorted(model_names))})")
        for n, r in enumerate(self.regions):
            if r.local_datacenter is not None and r.local_datacenter not in dc_names:
                raise _FieldError(f"regions.{n}.local_datacenter", f"unknown data center '{r.local_datacenter}'")
        for rule in ("allow", "deny"):
            for region, dcs in getattr(self.mask, rule).items():
                if region not in region_names:
                    raise _FieldError(f"mask.{rule}.{region}", f"unknown region '{region}'")
                for dc in dcs:
                    if dc not in dc_names:
                        raise _FieldError(f"mask.{rule}.{region}", f"unknown data center '{dc}'")
        if self.mask.default == "local":
            for n, r in enumerate(self.regions):
                if r.local_datacenter is None and r.name not in self.mask.allow:
                    raise _FieldError(f"regions.{n}.local_datacenter", "mask default 'local' needs a local data center")
        for n, dc in enumerate(self.datacenters):
            if dc.grid is not None and self.signals.source != "grids":
                raise _FieldError(f"datacenters.{n}.grid", f"needs signals: grids (signals come from '{self.signals.source}')")
        self._check_tiers_and_rules(region_names, set(dc_names))
        for n, name in enumerate(self.policies):
            if name not in POLICY_NAMES:
                raise _FieldError(f"policies.{n}", f"unknown policy '{name}' (known: {', '.join(POLICY_NAMES)})")
        return self

    def _check_tiers_and_rules(self, region_names: set[str], dc_names: set[str]) -> None:
        total = sum(t.share for t in self.tiers)
        if abs(total - 1.0) > 1e-9:
            raise _FieldError("tiers", f"shares add up to {total:g}, not 1")
        tier_names = {t.name for t in self.tiers}
        for n, rule in enumerate(self.mask.rules):
            where = f"mask.rules.{n}"
            for region in rule.regions or []:
                if region not in region_names:
                    raise _FieldError(f"{where}.regions", f"unknown region '{region}'")
            for tier in rule.tiers or []:
                if tier not in tier_names:
                    raise _FieldError(f"{where}.tiers", f"unknown tier '{tier}'")
            for dc in rule.datacenters:
                if dc not in dc_names:
                    raise _FieldError(f"{where}.datacenters", f"unknown data center '{dc}'")
            if rule.kind == "jurisdiction":
                countries = self.mask.jurisdiction(rule.jurisdiction)
                if countries is None:
                    known = ", ".join(["EU", *self.mask.jurisdictions])
                    raise _FieldError(f"{where}.jurisdiction", f"unknown jurisdiction '{rule.jurisdiction}' (known: {known})")
                if rule.regions is None and not any(r.country in countries for r in self.regions):
                    raise _FieldError(where, f"binds no region: none has a country in {rule.jurisdiction} "
                                             "(set regions' country, or the rule's regions)")
            if rule.kind == "same-country":
                for region in self.regions:
                    if rule.regions is not None and region.name in rule.regions and region.country is None:
                        raise _FieldError(f"{where}.regions", f"region '{region.name}' has no country")
                if rule.regions is None and not any(r.country for r in self.regions):
                    raise _FieldError(where, "binds no region: no region has a country")
        for place in self.latency.codes:
            if place not in region_names and place not in dc_names:
                raise _FieldError(f"latency.codes.{place}", f"'{place}' is neither a region nor a data center")

    def with_hours(self, hours: int, *, source: str = "--hours") -> Scenario:
        """The same scenario cut to its first *hours* hours; InputError naming *source* when
        *hours* is not a whole number from 1 to :data:`cosim.fields.MAX_HOURS`."""
        if isinstance(hours, bool) or not isinstance(hours, int) or not 1 <= hours <= MAX_HOURS:
            raise InputError(source, str(hours), f"a whole number of hours from 1 to {MAX_HOURS:,} (ten years)")
        return self.model_copy(update={"hours": hours})

    def with_start(self, start: str, *, source: str = "--start") -> Scenario:
        """The same scenario from another UTC hour (ISO 8601, e.g. ``2022-07-11T00:00Z``;
        no zone = UTC); InputError naming *source* when it is not a whole hour."""
        try:
            when = _utc_hour(datetime.fromisoformat(start))
        except ValueError as exc:
            reason = str(exc) if "whole hour" in str(exc) or "years" in str(exc) else "not an ISO 8601 time"
            raise InputError(source, start, reason) from None
        return self.model_copy(update={"start": when})


FIRST_YEAR, LAST_YEAR = 1900, 2200
"""The years a scenario may start in (UTC): with :data:`cosim.fields.MAX_HOURS` after it,
a horizon stays inside the times pandas holds (to 2262)."""


def _utc_hour(v: datetime) -> datetime:
    """*v* in UTC (naive = UTC); ValueError unless on a whole hour."""
    v = v.replace(tzinfo=UTC) if v.tzinfo is None else v.astimezone(UTC)
    if not FIRST_YEAR <= v.year <= LAST_YEAR:
        raise ValueError(f"{v.isoformat()} is outside the years {FIRST_YEAR} to {LAST_YEAR} (a horizon must end "
                         "before pandas' last time, 2262)")
    if (v.minute, v.second, v.microsecond) != (0, 0, 0):
        raise ValueError(f"{v.isoformat()} is not on a whole hour (the model is hourly)")
    return v


def parse_scenario(data: object, source: str | Path = "<scenario>") -> Scenario:
    """Validate a mapping (parsed YAML) as a scenario read from *source* (the scenario
    remembers it: :attr:`Scenario.source_file`); InputError names the first bad field, and
    the known field a misspelled one stands for (cosim.scenario_errors)."""
    if not isinstance(data, dict):
        raise InputError(source, "(top level)", "a scenario is a mapping of fields")
    try:
        spec = Scenario.model_validate(data)
    except ValidationError as exc:
        raise input_error(exc, Scenario, source) from None
    spec._source = str(source)
    return spec
