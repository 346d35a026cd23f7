"""A scenario turned into arrays: the numbers every policy and metric reads.

Index names follow SE-GLB: data centers i (N), user regions j (J), models k (K),
hours t (T). Arrays are numpy, shaped with those letters in that order.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from cosim import loaders
from cosim.errors import DataWarning, InputError
from cosim.scenario import PolicyWeights, Scenario
from cosim.signals import LOCATIONS as SYNTHETIC_LOCATIONS, synthetic_signals


@dataclass(frozen=True)
class Instance:
    """One scenario's hourly inputs, as arrays."""

    name: str
    times: pd.DatetimeIndex  # (T,) UTC hours
    datacenters: list[str]  # (N,)
    regions: list[str]  # (J,)
    models: list[str]  # (K,)
    demand: np.ndarray  # (J, T) requests per hour
    price_usd_per_mwh: np.ndarray  # (N, T)
    carbon_kg_per_kwh: np.ndarray  # (N, T)
    wue_l_per_kwh: np.ndarray  # (N, T) water per kWh of IT energy
    pue: np.ndarray  # (N,)
    capacity: np.ndarray  # (N,) resource units per hour
    energy_kwh_per_request: np.ndarray  # (K,) IT energy
    resources_per_request: np.ndarray  # (K,)
    quality_score: np.ndarray  # (K,)
    hosted: np.ndarray  # (N, K) bool
    mask: np.ndarray  # (J, N) bool: region j may be served at data center i
    distance_km: np.ndarray  # (J, N) great-circle distance, 0 where locations are unknown
    local: np.ndarray  # (J,) index of the region's local data center
    weights: PolicyWeights
    ewif_l_per_kwh: np.ndarray | None = None  # (N, T) off-site water per facility kWh; zeros when not given
    lme_kg_per_kwh: np.ndarray | None = None  # (N, T) marginal emissions at the site's bus; NaN without grids
    notes: tuple[str, ...] = ()  # data warnings met while building (e.g. a grid shedding load)

    def __post_init__(self):
        shape = self.price_usd_per_mwh.shape
        if self.ewif_l_per_kwh is None:
            object.__setattr__(self, "ewif_l_per_kwh", np.zeros(shape))
        if self.lme_kg_per_kwh is None:
            object.__setattr__(self, "lme_kg_per_kwh", np.full(shape, np.nan))
        t = len(self.times)
        for name in self._HOURLY:
            rows = len(self.regions) if name == "demand" else len(self.datacenters)
            if getattr(self, name).shape != (rows, t):
                raise ValueError(f"{name} has shape {getattr(self, name).shape}, expected {(rows, t)}")

    _HOURLY = ("demand", "price_usd_per_mwh", "carbon_kg_per_kwh", "wue_l_per_kwh", "ewif_l_per_kwh", "lme_kg_per_kwh")

    def window(self, start: int, stop: int) -> "Instance":
        """The same instance for hours start..stop-1 only."""
        hourly = {name: getattr(self, name)[:, start:stop] for name in self._HOURLY}
        return replace(self, times=self.times[start:stop], **hourly)

    @property
    def quality_loss(self) -> np.ndarray:
        """s_k: points below the best model (0 for the best), (K,)."""
        return self.quality_score.max() - self.quality_score

    @property
    def shape(self) -> tuple[int, int, int, int]:
        """(N, J, K, T)."""
        return len(self.datacenters), len(self.regions), len(self.models), len(self.times)


def build_instance(
    scenario: Scenario, *, data_dir: Path | None = None, source: str | Path = "<scenario>",
    dc_load_mw: pd.DataFrame | None = None,
) -> Instance:
    """Arrays for *scenario*; external datasets are looked up under *data_dir*.

    *dc_load_mw* (time x data center, MW): the data centers' load the grids see when
    signals come from dispatch (`signals: grids`); none means grids without data centers.
    """
    times = pd.date_range(pd.Timestamp(scenario.start), periods=scenario.hours, freq="h", name="time")
    model_index = {m.name: k for k, m in enumerate(scenario.models)}
    hosted = np.zeros((len(scenario.datacenters), len(scenario.models)), dtype=bool)
    for i, dc in enumerate(scenario.datacenters):
        for name in model_index if dc.models is None else dc.models:  # [] hosts nothing
            hosted[i, model_index[name]] = True

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", DataWarning)
        signals = _signals(scenario, times, data_dir, source, dc_load_mw)
    for w in caught:  # anything else goes on to the caller's handlers
        if not issubclass(w.category, DataWarning):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    distance = _distances(scenario)
    mask = _mask(scenario, hosted, source)
    return Instance(
        notes=tuple(str(w.message) for w in caught if issubclass(w.category, DataWarning)),
        ewif_l_per_kwh=signals.get("ewif_l_per_kwh"),
        lme_kg_per_kwh=signals.get("lme_kg_per_kwh"),
        name=scenario.name,
        times=times,
        datacenters=[d.name for d in scenario.datacenters],
        regions=[r.name for r in scenario.regions],
        models=[m.name for m in scenario.models],
        demand=_demand(scenario, times, data_dir, source),
        price_usd_per_mwh=signals["price_usd_per_mwh"],
        carbon_kg_per_kwh=signals["carbon_kg_per_kwh"],
        wue_l_per_kwh=signals["wue_l_per_kwh"],
        pue=np.array([d.pue for d in scenario.datacenters]),
        capacity=np.array([d.capacity for d in scenario.datacenters]),
        energy_kwh_per_request=np.array([m.energy_wh_per_request / 1000.0 for m in scenario.models]),
        resources_per_request=np.array([m.resources_per_request for m in scenario.models]),
        quality_score=np.array([m.quality_score for m in scenario.models]),
        hosted=hosted,
        mask=mask,
        distance_km=distance,
        local=_local(scenario, distance, mask),
        weights=scenario.policy,
    )


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
        root = loaders.dataset_path(data_dir, d.dataset, source=source)
        workload = loaders.load_eglb(root, hours=None).workload_w
        workload = _window(workload.to_frame(), times, root / "AI_workload.csv").iloc[:, 0].to_numpy()
        per_region = d.requests_per_hour * workload / workload.max()
        return np.array([per_region * r.demand_weight for r in regions])
    path = loaders.dataset_path(data_dir, d.file, source=source)
    frame = loaders.load_hourly_csv(path, columns=[r.name for r in regions], hours=len(times), start=times[0])
    return frame.to_numpy().T.copy()


def _window(frame: pd.DataFrame, times: pd.DatetimeIndex, path) -> pd.DataFrame:
    """Rows of *frame* for exactly *times*; InputError when the file does not cover them."""
    missing = times.difference(frame.index)
    if len(missing):
        raise InputError(path, "rows", f"no data for {missing[0].isoformat()} ({len(missing)} of {len(times)} horizon hours missing)")
    return frame.loc[times]


def _signals(scenario: Scenario, times: pd.DatetimeIndex, data_dir, source, dc_load_mw) -> dict[str, np.ndarray]:
    s = scenario.signals
    sites = [dc.site for dc in scenario.datacenters]
    if s.source == "grids":
        from grids.regions import paper_regions  # pandapower loads only when grids are used
        from grids.signals import site_signals

        _check_sites(scenario, {site for names in paper_regions().values() for site in names}, "is in none of the shipped grids", source)
        site_load = None
        if dc_load_mw is not None:  # data centers sharing a site add up
            site_load = dc_load_mw.T.groupby([dc.site for dc in scenario.datacenters]).sum().T
        frames = site_signals(sites, times[0], len(times), seed=scenario.seed, dc_load_mw=site_load)
    elif s.source == "synthetic":
        _check_sites(scenario, SYNTHETIC_LOCATIONS, "has no synthetic calibration", source)
        frames = synthetic_signals(list(dict.fromkeys(sites)), times[0], len(times), scenario.seed)
    elif s.source == "eglb":
        _check_sites(scenario, loaders.EGLB_LOCATIONS, "is not an E-GLB location", source)
        root = loaders.dataset_path(data_dir, s.dataset, source=source)
        data = loaders.load_eglb(root, locations=tuple(dict.fromkeys(sites)))
        frames = {
            "price_usd_per_mwh": _window(data.price_usd_per_mwh, times, root / "price"),
            "carbon_kg_per_kwh": _window(data.carbon_kg_per_kwh, times, root / "carbon"),
            "wue_l_per_kwh": _window(data.wue_l_per_kwh, times, root / "water"),
        }
    else:
        frames = {}
        for name, file in (("price_usd_per_mwh", s.price_file), ("carbon_kg_per_kwh", s.carbon_file), ("wue_l_per_kwh", s.wue_file)):
            path = loaders.dataset_path(data_dir, file, source=source)
            frames[name] = loaders.load_hourly_csv(
                path, columns=list(dict.fromkeys(sites)), hours=len(times), start=times[0],
                nonnegative=name != "price_usd_per_mwh",  # negative prices occur (as in E-GLB)
            )
    return {name: frame[sites].to_numpy().T.copy() for name, frame in frames.items()}


def _check_sites(scenario: Scenario, known, reason: str, source) -> None:
    """Every data center's signal site must be one the signal source knows."""
    for n, dc in enumerate(scenario.datacenters):
        if dc.site not in known:
            field = f"datacenters.{n}.signal_site" if dc.signal_site else f"datacenters.{n}.name"
            raise InputError(source, field, f"'{dc.site}' {reason} (known: {', '.join(known)}); set signal_site")


def _great_circle_km(a, b) -> float:
    lat1, lon1, lat2, lon2 = map(math.radians, (a.lat, a.lon, b.lat, b.lon))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(h))


def _distances(scenario: Scenario) -> np.ndarray:
    out = np.zeros((len(scenario.regions), len(scenario.datacenters)))
    for j, r in enumerate(scenario.regions):
        for i, dc in enumerate(scenario.datacenters):
            if r.location is not None and dc.location is not None:
                out[j, i] = _great_circle_km(r.location, dc.location)
    return out


def _mask(scenario: Scenario, hosted: np.ndarray, source) -> np.ndarray:
    dc_index = {d.name: i for i, d in enumerate(scenario.datacenters)}
    mask = np.zeros((len(scenario.regions), len(scenario.datacenters)), dtype=bool)
    for j, r in enumerate(scenario.regions):
        if r.name in scenario.mask.allow:
            for name in scenario.mask.allow[r.name]:
                mask[j, dc_index[name]] = True
        elif scenario.mask.default == "all":
            mask[j, :] = True
        else:
            mask[j, dc_index[r.local_datacenter]] = True
        for name in scenario.mask.deny.get(r.name, []):
            mask[j, dc_index[name]] = False
        if not (mask[j] & hosted.any(axis=1)).any():
            raise InputError(source, f"mask (region '{r.name}')", "no data center may serve it: the mask and the hosted models leave none")
    return mask


def _local(scenario: Scenario, distance: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The region's local data center: as declared, else the nearest, else the one of the same name, else -1."""
    dc_index = {d.name: i for i, d in enumerate(scenario.datacenters)}
    local = np.full(len(scenario.regions), -1)
    for j, r in enumerate(scenario.regions):
        if r.local_datacenter is not None:
            local[j] = dc_index[r.local_datacenter]
        elif r.location is not None and all(d.location is not None for d in scenario.datacenters):
            local[j] = int(np.argmin(distance[j]))
        elif r.name in dc_index:
            local[j] = dc_index[r.name]
    return local
