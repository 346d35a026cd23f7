"""A scenario turned into arrays: the numbers every policy and metric reads.

Index names follow SE-GLB: data centers i (N), users j (J), models k (K), hours t (T).
A user is a user region in one latency tier (Luo & Cheng); with a single tier the users
are SE-GLB's user regions (R of them). Arrays are numpy, shaped with those letters in
that order.
"""
from __future__ import annotations

import re
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from cosim import loaders
from cosim.errors import DataWarning, InputError
from cosim.grid_plan import RunGrids, build_grids, grid_plan, site_weather
from cosim.masks import check_feasible, feasible, frictions_usd_per_request, reach
from cosim.plausibility import PlausibilityWarning, check_scenario, check_signals
from cosim.policy import PolicyWeights
from cosim.scenario import Scenario
from cosim.signals import LOCATIONS as SYNTHETIC_LOCATIONS
from cosim.signals import synthetic_signals
from grids.files import hourly_window
from grids.outcome import SIGNALS


@dataclass(frozen=True)
class Instance:
    """One scenario's hourly inputs, as arrays."""

    name: str
    times: pd.DatetimeIndex  # (T,) UTC hours
    datacenters: list[str]  # (N,)
    regions: list[str]  # (R,) user regions
    models: list[str]  # (K,)
    demand: np.ndarray  # (J, T) requests per hour per user
    price_usd_per_mwh: np.ndarray  # (N, T)
    carbon_kg_per_kwh: np.ndarray  # (N, T)
    wue_l_per_kwh: np.ndarray  # (N, T) water per kWh of IT energy
    pue: np.ndarray  # (N,)
    capacity: np.ndarray  # (N,) resource units per hour
    energy_kwh_per_request: np.ndarray  # (K,) IT energy
    resources_per_request: np.ndarray  # (K,)
    quality_score: np.ndarray  # (K,)
    hosted: np.ndarray  # (N, K) bool
    mask: np.ndarray  # (J, N) bool: legal and system masks allow user j at data center i
    distance_km: np.ndarray  # (J, N) great-circle distance from the user's region, 0 where unknown
    local: np.ndarray  # (J,) index of the user's region's local data center
    weights: PolicyWeights
    ewif_l_per_kwh: np.ndarray | None = None  # (N, T) off-site water per facility kWh; zeros when not given
    lme_kg_per_kwh: np.ndarray | None = None  # (N, T) marginal emissions at the site's bus; NaN without grids
    notes: tuple[str, ...] = ()  # data warnings met while building (e.g. a grid shedding load)
    tiers: tuple[str, ...] = ("default",)  # latency tier names
    user_region: np.ndarray | None = None  # (J,) index into regions; one user per region when not given
    user_tier: np.ndarray | None = None  # (J,) index into tiers
    latency_ms: np.ndarray | None = None  # (J, N) L_cs + m L_sc + L_queue; zeros when not given
    tau_ms: np.ndarray | None = None  # (J,) latency budget; inf when not given
    inference_ms: np.ndarray | None = None  # (K,) L_inference; zeros when not given
    friction_usd_per_request: np.ndarray | None = None  # (J, N) migration friction + delay penalty

    def __post_init__(self):
        shape = self.price_usd_per_mwh.shape
        j, n = self.mask.shape
        defaults = {
            "ewif_l_per_kwh": lambda: np.zeros(shape),
            "lme_kg_per_kwh": lambda: np.full(shape, np.nan),
            "user_region": lambda: np.arange(j),
            "user_tier": lambda: np.zeros(j, dtype=int),
            "latency_ms": lambda: np.zeros((j, n)),
            "tau_ms": lambda: np.full(j, np.inf),
            "inference_ms": lambda: np.zeros(len(self.models)),
            "friction_usd_per_request": lambda: np.zeros((j, n)),
        }
        for name, make in defaults.items():
            if getattr(self, name) is None:
                object.__setattr__(self, name, make())
        t = len(self.times)
        for name in self._HOURLY:
            rows = j if name == "demand" else n
            if getattr(self, name).shape != (rows, t):
                raise ValueError(f"{name} has shape {getattr(self, name).shape}, expected {(rows, t)}")

    _HOURLY = ("demand", *SIGNALS)

    def window(self, start: int, stop: int) -> Instance:
        """The same instance for hours start..stop-1 only."""
        hourly = {name: getattr(self, name)[:, start:stop] for name in self._HOURLY}
        return replace(self, times=self.times[start:stop], **hourly)

    def take_hours(self, hours: np.ndarray) -> Instance:
        """The same instance for the given hours only (indices into times, in that order)."""
        hours = np.asarray(hours, dtype=int)
        hourly = {name: getattr(self, name)[:, hours] for name in self._HOURLY}
        return replace(self, times=self.times[hours], **hourly)

    def with_tau(self, tau_ms: np.ndarray, *, source: str | Path = "<scenario>", where: str = "tau_ms") -> Instance:
        """The same instance with other latency budgets (J,), ms; InputError (at *where*)
        naming the region and tier when a budget leaves a user no feasible site."""
        tau_ms = np.asarray(tau_ms, dtype=float)
        check_feasible(self.users, self.datacenters, self.mask, self.hosted, self.latency_ms, self.inference_ms,
                       tau_ms, source=source, tau_where=lambda j: where)
        return replace(self, tau_ms=tau_ms)

    def scaled(self, user_factor: np.ndarray | float, dc_factor: np.ndarray | float) -> Instance:
        """The same world with more requests per user (J,) and more capacity per data center
        (N,), and the social weight times the requests' factor (scaled requests / requests
        over the horizon; the factor itself when it is one number).

        Every other cost term grows with the requests; the social term (USD per hour per
        point of request-averaged quality loss) does not, so it is scaled with them to keep
        the scenario's trade-off between quality and energy per request. Used by `--ai-share`
        (docs/cosimulation.md, AI share: unscaled, paper10 scaled up 30-400x finds quality
        nearly free and every policy moves to the smallest model) and for one of M operators
        (1/M of everything: its problem is 1/M of the single operator's). One weight for all
        regions: where the factors differ per user, a region weighs quality (the requests'
        factor / its own factor) times as much as at the scenario's scale."""
        demand = self.demand * np.reshape(user_factor, (-1, 1))
        if np.ndim(user_factor) == 0:
            factor = float(user_factor)
        else:
            factor = float(demand.sum() / self.demand.sum()) if self.demand.sum() > 0 else 1.0
        weights = self.weights.model_copy(update={"social_weight_usd": self.weights.social_weight_usd * factor})
        return replace(self, demand=demand, capacity=self.capacity * dc_factor, weights=weights)

    @property
    def feasible(self) -> np.ndarray:
        """(J, N, K): user j may be served at data center i by model k (all masks)."""
        return feasible(self.mask, self.hosted, self.latency_ms, self.inference_ms, self.tau_ms)

    @property
    def region_demand(self) -> np.ndarray:
        """(R, T) requests per hour per user region, all tiers."""
        out = np.zeros((len(self.regions), self.demand.shape[1]))
        np.add.at(out, self.user_region, self.demand)
        return out

    @property
    def users(self) -> list[tuple[str, str]]:
        """(region, tier) of every user."""
        return [(self.regions[r], self.tiers[t]) for r, t in zip(self.user_region, self.user_tier)]

    @property
    def quality_loss(self) -> np.ndarray:
        """s_k: points below the best model (0 for the best), (K,)."""
        return self.quality_score.max() - self.quality_score

    @property
    def shape(self) -> tuple[int, int, int, int]:
        """(N, J, K, T), J counting users (region x tier)."""
        return len(self.datacenters), self.demand.shape[0], len(self.models), len(self.times)


def build_instance(
    scenario: Scenario, *, data_dir: Path | None = None, source: str | Path | None = None,
    dc_load_mw: pd.DataFrame | None = None, strict: bool = False, grids: RunGrids | None = None,
) -> Instance:
    """Arrays for *scenario*; external datasets are looked up under *data_dir*.

    *dc_load_mw* (time x data center, MW): the data centers' load the grids see when
    signals come from dispatch (`signals: grids`); none means grids without data centers.
    Values outside their plausible range (cosim.plausibility: scenario fields, signal files,
    computed signals) are notes; with *strict* the first is refused (InputError), the
    scenario's fields before any file is read. *grids*: the scenario's grids built once for
    the run (cosim.grid_plan.RunGrids) instead of anew (same signals, same notes).
    """
    source = scenario.source_file if source is None else source
    times = pd.date_range(pd.Timestamp(scenario.start), periods=scenario.hours, freq="h", name="time")
    where = reach(scenario, data_dir=data_dir, source=source)  # masks first: they fail fast
    users = where.users
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", DataWarning)
        check_scenario(scenario, source)
        _refuse_implausible(caught, strict)
        signals = _signals(scenario, times, data_dir, source, dc_load_mw, grids)
        _refuse_implausible(caught, strict)
    for w in caught:  # anything else goes on to the caller's handlers
        if not issubclass(w.category, DataWarning):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    shares = np.array([scenario.tiers[t].share for t in users.tier])
    return Instance(
        notes=condense_notes(dict.fromkeys(str(w.message) for w in caught if issubclass(w.category, DataWarning))),
        ewif_l_per_kwh=signals.get("ewif_l_per_kwh"),
        lme_kg_per_kwh=signals.get("lme_kg_per_kwh"),
        name=scenario.name,
        times=times,
        datacenters=[d.name for d in scenario.datacenters],
        regions=[r.name for r in scenario.regions],
        models=[m.name for m in scenario.models],
        demand=_demand(scenario, times, data_dir, source)[users.region] * shares[:, None],
        price_usd_per_mwh=signals["price_usd_per_mwh"],
        carbon_kg_per_kwh=signals["carbon_kg_per_kwh"],
        wue_l_per_kwh=signals["wue_l_per_kwh"],
        pue=np.array([d.pue for d in scenario.datacenters]),
        capacity=np.array([d.capacity for d in scenario.datacenters]),
        energy_kwh_per_request=np.array([m.energy_wh_per_request / 1000.0 for m in scenario.models]),
        resources_per_request=np.array([m.resources_per_request for m in scenario.models]),
        quality_score=np.array([m.quality_score for m in scenario.models]),
        hosted=where.hosted,
        mask=where.masks.allowed,
        distance_km=where.distance_km[users.region],
        local=where.local[users.region],
        weights=scenario.policy,
        tiers=tuple(t.name for t in scenario.tiers),
        user_region=users.region,
        user_tier=users.tier,
        latency_ms=where.masks.latency_ms,
        tau_ms=where.tau_ms,
        inference_ms=where.inference_ms,
        friction_usd_per_request=frictions_usd_per_request(scenario, users, where.local, where.masks.latency_ms),
    )


def _refuse_implausible(caught: list[warnings.WarningMessage], strict: bool) -> None:
    """With *strict*, the first plausibility warning caught as an InputError."""
    for w in caught if strict else ():
        if isinstance(w.message, PlausibilityWarning):
            raise w.message.as_error()


def _demand(scenario: Scenario, times: pd.DatetimeIndex, data_dir, source) -> np.ndarray:
    d = scenario.demand
    regions = scenario.regions
    if d.source == "profile":
        if d.peak_to_mean > 2:
            raise InputError(source, "demand.peak_to_mean", "a cosine day cannot peak above 2x its mean")
        amplitude = d.peak_to_mean - 1.0
        hour_utc = times.hour.to_numpy() + times.minute.to_numpy() / 60.0
        rows = []
        for r in regions:
            local_hour = (hour_utc + r.utc_offset_h) % 24.0
            shape = 1.0 + amplitude * np.cos(2 * np.pi * (local_hour - d.peak_hour_local) / 24.0)
            rows.append(d.requests_per_hour * r.demand_weight * shape)
        return np.array(rows)
    if d.source == "eglb-workload":
        root = loaders.dataset_path(data_dir, d.dataset, source=source, where="demand.dataset")
        workload = loaders.load_eglb(root, hours=None).workload_w
        workload = hourly_window(workload.to_frame(), times, root / "AI_workload.csv").iloc[:, 0].to_numpy()
        per_region = d.requests_per_hour * workload / workload.max()
        return np.array([per_region * r.demand_weight for r in regions])
    path = loaders.dataset_path(data_dir, d.file, source=source, where="demand.file")
    frame = loaders.load_hourly_csv(path, columns=[r.name for r in regions], hours=len(times), start=times[0])
    return frame.to_numpy().T.copy()


def _signals(scenario: Scenario, times: pd.DatetimeIndex, data_dir, source, dc_load_mw,
             built: RunGrids | None = None) -> dict[str, np.ndarray]:
    """Per signal an (N, T) array. A data center's `weather_file` gives its site's WUE
    whatever the source: through the grids (cosim.grid_plan.build_grids) with `grids`, in
    place of the source's rows of that site otherwise."""
    s = scenario.signals
    sites = [dc.site for dc in scenario.datacenters]
    if s.source == "grids":
        from grids.signals import site_signals  # pandapower loads only when grids are used

        site_load = None
        if dc_load_mw is not None:  # data centers sharing a site add up
            site_load = dc_load_mw.T.groupby([dc.site for dc in scenario.datacenters]).sum().T
        if built is None:
            grids = build_grids(grid_plan(scenario, data_dir=data_dir, source=source), seed=scenario.seed,
                                start=times[0], hours=len(times))
        else:
            grids = built.grids
            built.warn_notes()
        frames = site_signals(sites, times[0], len(times), dc_load_mw=site_load, grids=grids)
        check_signals({name: frame[sites].to_numpy().T for name, frame in frames.items()},
                      [dc.name for dc in scenario.datacenters], times, source=source, origin="signals (grids)")
    elif s.source == "synthetic":
        _check_sites(scenario, SYNTHETIC_LOCATIONS, "has no synthetic calibration", source)
        frames = synthetic_signals(list(dict.fromkeys(sites)), times[0], len(times), scenario.seed)
    elif s.source == "eglb":
        _check_sites(scenario, loaders.EGLB_LOCATIONS, "is not an E-GLB location", source)
        root = loaders.dataset_path(data_dir, s.dataset, source=source, where="signals.dataset")
        data = loaders.load_eglb(root, locations=tuple(dict.fromkeys(sites)))
        frames = {
            "price_usd_per_mwh": hourly_window(data.price_usd_per_mwh, times, root / "price"),
            "carbon_kg_per_kwh": hourly_window(data.carbon_kg_per_kwh, times, root / "carbon"),
            "wue_l_per_kwh": hourly_window(data.wue_l_per_kwh, times, root / "water"),
        }
    else:
        frames = {}
        for name, field, file in (("price_usd_per_mwh", "price_file", s.price_file), ("carbon_kg_per_kwh", "carbon_file", s.carbon_file),
                                  ("wue_l_per_kwh", "wue_file", s.wue_file)):
            path = loaders.dataset_path(data_dir, file, source=source, where=f"signals.{field}")
            frames[name] = loaders.load_hourly_csv(
                path, columns=list(dict.fromkeys(sites)), hours=len(times), start=times[0],
                nonnegative=name != "price_usd_per_mwh",  # negative prices occur (as in E-GLB)
                quantity=name,
            )
    out = {name: frame[sites].to_numpy().T.copy() for name, frame in frames.items()}
    if s.source != "grids":  # the grids took theirs from the plan
        from grids.weather import onsite_wue_from_epw

        for site, (path, file) in site_weather(scenario, data_dir=data_dir, source=source).items():
            out["wue_l_per_kwh"][[n for n, at in enumerate(sites) if at == site]] = onsite_wue_from_epw(path, times, source=file).to_numpy()
    return out


def _check_sites(scenario: Scenario, known, reason: str, source) -> None:
    """Every data center's signal site must be one the signal source knows."""
    for n, dc in enumerate(scenario.datacenters):
        if dc.site not in known:
            field = f"datacenters.{n}.signal_site" if dc.signal_site else f"datacenters.{n}.name"
            raise InputError(source, field, f"'{dc.site}' {reason} (known: {', '.join(known)}); set signal_site")


_SHED = re.compile(r"^region '(?P<region>[^']+)', hour (?P<hour>.+?): fleet cannot meet load: shed (?P<mw>[0-9.]+) MW")


def condense_notes(notes: Iterable[str]) -> tuple[str, ...]:
    """Data warnings as notes, one line per grid region for load shedding (which can repeat
    every hour) with its count of hours and largest shed; other notes as they are."""
    shed: dict[str, list[float]] = {}
    out = []
    for note in notes:
        m = _SHED.match(note)
        if m is None:
            out.append(note)
        else:
            shed.setdefault(m["region"], []).append(float(m["mw"]))
    for region, mw in shed.items():
        out.append(f"region '{region}': the fleet could not meet load in {len(mw)} hour(s): shed up to {max(mw):.1f} MW, "
                   f"{sum(mw):.1f} MWh in all, at VOLL")
    return tuple(out)
