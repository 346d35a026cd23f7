"""Scenario files: the YAML schema, validated with pydantic, and where scenarios live.

A scenario names the world (user regions, data centers, models), where demand and
grid signals come from, the policy weights and norms, the horizon and the seed.
Every field and its unit is documented in docs/scenarios.md.
"""
from __future__ import annotations

import math
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from cosim.errors import InputError

NonNegative = Annotated[float, Field(ge=0)]
Positive = Annotated[float, Field(gt=0)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Location(_Strict):
    """A point on the globe, in degrees."""

    lat: Annotated[float, Field(ge=-90, le=90)]
    lon: Annotated[float, Field(ge=-180, le=180)]


class Model(_Strict):
    """An AI model that data centers can host."""

    name: str
    energy_wh_per_request: Positive
    """IT energy per request, Wh (before PUE)."""
    resources_per_request: Positive
    """Capacity used per request, in the unit of DataCenter.capacity_per_hour."""
    quality_score: float
    """Benchmark score; the quality loss s_k is the best model's score minus this (points)."""


class DataCenter(_Strict):
    name: str
    location: Location | None = None
    pue: Annotated[float, Field(ge=1)] = 1.1
    servers: Annotated[int, Field(gt=0)] | None = None
    server_power_kw: Positive | None = None
    capacity_per_hour: Positive | None = None
    """Resource capacity per hour; defaults to servers x 3600 (server-seconds)."""
    models: list[str] | None = None
    """Hosted models; all models when omitted."""
    signal_site: str | None = None
    """Column of the signal source for this site; defaults to the data center's name."""

    @model_validator(mode="after")
    def _capacity_known(self):
        if self.capacity_per_hour is None and self.servers is None:
            raise ValueError("give capacity_per_hour or servers")
        return self

    @property
    def capacity(self) -> float:
        """Resource capacity per hour (server-seconds when derived from servers)."""
        return self.capacity_per_hour if self.capacity_per_hour is not None else self.servers * 3600.0

    @property
    def site(self) -> str:
        return self.signal_site or self.name


class Region(_Strict):
    """A user region: where requests come from."""

    name: str
    location: Location | None = None
    utc_offset_h: Annotated[float, Field(ge=-12, le=14)] = 0.0
    local_datacenter: str | None = None
    """The data center that serves this region when nothing is relocated."""
    demand_weight: Positive = 1.0
    """Relative size of this region's demand for the `profile` demand source."""


class Demand(_Strict):
    """Where each region's hourly requests come from."""

    source: Literal["profile", "eglb-workload", "csv"] = "profile"
    requests_per_hour: Positive = 1.0
    """profile: mean requests per hour for a region of weight 1.
    eglb-workload: requests per hour at the trace's peak power, per region."""
    peak_to_mean: Annotated[float, Field(ge=1)] = 1.0
    """profile: daily peak over daily mean (a cosine over the local day)."""
    peak_hour_local: Annotated[float, Field(ge=0, lt=24)] = 14.0
    dataset: str = "eglb"
    """eglb-workload: dataset folder under the data dir."""
    file: str | None = None
    """csv: hourly file (a `time` column, one column per region), relative to the data dir."""

    @model_validator(mode="after")
    def _file_for_csv(self):
        if self.source == "csv" and not self.file:
            raise ValueError("source 'csv' needs file")
        return self


class Signals(_Strict):
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
    def _files_for_csv(self):
        if self.source == "csv":
            missing = [f for f in ("price_file", "carbon_file", "wue_file") if not getattr(self, f)]
            if missing:
                raise ValueError(f"source 'csv' needs {', '.join(missing)}")
        return self


Norm = Annotated[float, Field(ge=1)]


class PolicyWeights(_Strict):
    """Prices on carbon, water and quality loss, and the equity norms (SE-GLB)."""

    mu_carbon_usd_per_t: NonNegative = 1500.0
    mu_water_usd_per_m3: NonNegative = 60.0
    social_weight_usd: NonNegative = 1.0
    """USD per point of request-averaged quality loss, per hour, inside the social norm."""
    energy_weight: NonNegative = 1.0
    """Multiplies the energy cost (1 = dollars as billed)."""
    q_social: Norm = 2.0
    q_env: Norm = 2.0
    env_norm: Literal["combined", "separate"] = "combined"
    """combined: ||mu_c carbon_i + mu_w water_i||_q (SE-GLB);
    separate: mu_c ||carbon_i||_q + mu_w ||water_i||_q (E-GLB's code)."""
    norm_scale: Literal["entries", "none"] = "entries"
    """entries: Lq norms times m^(1-1/q), so q = 1 is the sum and q = inf is m x max;
    none: the plain norm (q = inf is the max)."""
    moving_cost_usd_per_request_per_1000km: NonNegative = 0.0
    unserved_penalty_usd_per_request: Positive = 10.0

    @field_validator("q_social", "q_env", mode="before")
    @classmethod
    def _inf(cls, v):
        if isinstance(v, str) and v.strip().lower() in ("inf", "infinity", ".inf"):
            return math.inf
        return v


class Mask(_Strict):
    """Which data centers may serve which region (the latency graph comes later)."""

    default: Literal["all", "local"] = "all"
    allow: dict[str, list[str]] = {}
    """region -> the only data centers allowed for it (replaces the default)."""
    deny: dict[str, list[str]] = {}
    """region -> data centers removed from what it may use."""


class Scenario(_Strict):
    name: str
    description: str = ""
    start: datetime = datetime(2022, 9, 22, tzinfo=timezone.utc)
    hours: Annotated[int, Field(gt=0)]
    seed: Annotated[int, Field(ge=0)] = 0
    models: Annotated[list[Model], Field(min_length=1)]
    datacenters: Annotated[list[DataCenter], Field(min_length=1)]
    regions: Annotated[list[Region], Field(min_length=1)]
    demand: Demand = Demand()
    signals: Signals = Signals()
    policy: PolicyWeights = PolicyWeights()
    policies: list[str] = ["cost-glb", "all-glb", "e-glb", "se-glb"]
    mask: Mask = Mask()

    @field_validator("start")
    @classmethod
    def _utc(cls, v: datetime) -> datetime:
        v = v.replace(tzinfo=timezone.utc) if v.tzinfo is None else v.astimezone(timezone.utc)
        if (v.minute, v.second, v.microsecond) != (0, 0, 0):
            raise ValueError(f"{v.isoformat()} is not on a whole hour (the model is hourly)")
        return v

    @model_validator(mode="after")
    def _names_resolve(self):
        for kind, items in (("models", self.models), ("datacenters", self.datacenters), ("regions", self.regions)):
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
        for n, name in enumerate(self.policies):
            from cosim.glb.policies import POLICY_NAMES  # late: glb imports this module

            if name not in POLICY_NAMES:
                raise _FieldError(f"policies.{n}", f"unknown policy '{name}' (known: {', '.join(POLICY_NAMES)})")
        return self

    def with_hours(self, hours: int) -> "Scenario":
        """The same scenario cut to its first *hours* hours."""
        return self.model_copy(update={"hours": hours})


class _FieldError(ValueError):
    """A cross-field check that names its own field path."""

    def __init__(self, where: str, reason: str):
        self.where = where
        self.reason = reason
        super().__init__(f"{where}: {reason}")


def _where(loc: tuple) -> str:
    return ".".join(str(p) for p in loc) or "(top level)"


def parse_scenario(data: object, source: str | Path = "<scenario>") -> Scenario:
    """Validate a mapping (parsed YAML) as a scenario; InputError names the first bad field."""
    if not isinstance(data, dict):
        raise InputError(source, "(top level)", "a scenario is a mapping of fields")
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        ctx_error = (err.get("ctx") or {}).get("error")
        if isinstance(ctx_error, _FieldError):
            raise InputError(source, ctx_error.where, ctx_error.reason) from None
        reason = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            reason = "unknown field"
        raise InputError(source, _where(err["loc"]), reason) from None


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario YAML file (a path or a shipped scenario's name)."""
    path = resolve_scenario_path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise InputError(path, "file", exc.strerror or "cannot be read") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "yaml"
        raise InputError(path, where, f"not valid YAML ({getattr(exc, 'problem', None) or exc})") from None
    return parse_scenario(data, path)


def shipped_scenarios_dir() -> Path:
    """The scenarios/ folder: the checkout's own, or the copy inside the installed wheel."""
    checkout = Path(__file__).resolve().parent.parent / "scenarios"
    if checkout.is_dir():
        return checkout
    return Path(str(resources.files("cosim") / "_scenarios"))


def resolve_scenario_path(name: str | Path) -> Path:
    """A path as given if it exists, else a shipped scenario by name (with or without .yaml)."""
    path = Path(name)
    if path.exists():
        return path
    for candidate in (shipped_scenarios_dir() / path.name, shipped_scenarios_dir() / f"{path.name}.yaml"):
        if candidate.exists():
            return candidate
    raise InputError(path, "file", "not found (neither a path nor a shipped scenario)")


DEFAULT_SCENARIO = "paper10"
