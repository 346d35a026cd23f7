"""Feasibility masks per user (region x latency tier) and data center, after Luo & Cheng.

A user j may be served at data center i by model k iff three masks allow it:

- legal: the scenario's mask (default, allow/deny shorthands, then legal rules such as
  data residency by jurisdiction, same country, local only);
- system: the site hosts a model and is of a capacity class the tier may use;
- latency: L = L_cs + m L_sc + L_queue + L_inference <= tau (ms), where L_cs is the
  client's RTT to the region's service node (the tier's last mile plus the graph path),
  L_sc the service node's RTT to the site on the latency graph (cosim.latency), m the
  tier's rounds, L_queue the site's queueing delay and L_inference the model's.

`Masks` keeps, for every excluded pair, the first reason, so `cosim masks` can say why.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from cosim import loaders
from cosim.errors import InputError
from cosim.fiber import ROUTE_INFLATION
from cosim.rtt_matrix import load_rtt_matrix
from cosim.scenario import Rule, Scenario
from grids.geo import great_circle_km


@dataclass(frozen=True)
class Users:
    """The users: one per (region, tier) with a nonzero share, region-major."""

    region: np.ndarray  # (J,) index into scenario.regions
    tier: np.ndarray  # (J,) index into scenario.tiers

    @classmethod
    def of(cls, scenario: Scenario) -> Users:
        """The users of *scenario*: every (region, tier) with a share > 0, region by region."""
        pairs = [(r, t) for r in range(len(scenario.regions)) for t, tier in enumerate(scenario.tiers) if tier.share > 0]
        region, tier = zip(*pairs)
        return cls(np.array(region), np.array(tier))

    def __len__(self) -> int:
        return len(self.region)


@dataclass(frozen=True)
class Masks:
    """The three masks of every (user, data center) pair, (J, N), and why pairs are excluded."""

    legal: np.ndarray  # bool
    legal_rule: np.ndarray  # str: the first rule that excludes the pair, "" if none
    system: np.ndarray  # bool
    system_reason: np.ndarray  # str
    latency_ms: np.ndarray  # float: L_cs + m L_sc + L_queue, before the model's L_inference

    @property
    def allowed(self) -> np.ndarray:
        """Legal and system masks together (latency is checked per model)."""
        return self.legal & self.system


@dataclass(frozen=True)
class Reach:
    """Who may be served where: the users, the masks, and what the masks are built from."""

    users: Users
    hosted: np.ndarray  # (N, K) bool
    distance_km: np.ndarray  # (R, N) great-circle, 0 where a location is unknown
    local: np.ndarray  # (R,) the region's local data center, -1 if none
    masks: Masks
    inference_ms: np.ndarray  # (K,)
    tau_ms: np.ndarray  # (J,)

    def table(self, scenario: Scenario) -> pd.DataFrame:
        """One row per (region, tier, data center): feasible, the latency with the fastest
        hosted model, tau and the reason a pair is excluded (`cosim masks`)."""
        why = reasons(self.masks, self.hosted, self.inference_ms, self.tau_ms)
        fastest = np.where(self.hosted, self.inference_ms[None, :], np.inf).min(axis=1)
        rows = []
        for j, i in np.ndindex(why.shape):
            rows.append({
                "region": scenario.regions[self.users.region[j]].name,
                "tier": scenario.tiers[self.users.tier[j]].name,
                "datacenter": scenario.datacenters[i].name,
                "feasible": why[j, i] == "",
                "latency_ms": float(self.masks.latency_ms[j, i] + fastest[i]),
                "tau_ms": float(self.tau_ms[j]),
                "reason": why[j, i],
            })
        return pd.DataFrame(rows)


def reach(scenario: Scenario, *, data_dir: Path | None = None, source: str | Path | None = None,
          check: bool = True) -> Reach:
    """Users, masks and budgets of *scenario*; InputError when a user has no feasible site
    (unless *check* is False: `cosim masks` shows such a scenario, see :func:`unservable`)."""
    source = scenario.source_file if source is None else source
    users = Users.of(scenario)
    hosted = _hosted(scenario)
    distance = _distances(scenario)
    local = _local(scenario, distance)
    masks = Masks(*_legal(scenario, users, local), *_system(scenario, users, hosted),
                  user_latency_ms(scenario, users, data_dir=data_dir, source=source))
    inference = np.array([m.inference_ms for m in scenario.models])
    tau = np.array([scenario.tiers[t].tau_ms for t in users.tier])
    labels = [(scenario.regions[r].name, scenario.tiers[t].name) for r, t in zip(users.region, users.tier)]
    if check:
        check_feasible(labels, [d.name for d in scenario.datacenters], masks.allowed, hosted, masks.latency_ms,
                       inference, tau, source=source, tau_where=lambda j: f"tiers.{users.tier[j]}.tau_ms")
    return Reach(users, hosted, distance, local, masks, inference, tau)


def unservable(table: pd.DataFrame) -> list[str]:
    """One line per (region, tier) that no data center may serve, from :meth:`Reach.table`:
    ``region 'de', tier 'interactive': no data center may serve it (legal: eu-data-residency
    excludes 4, latency: over tau 6)``, naming every rule that excludes one of its pairs."""
    out = []
    for (region, tier), rows in table.groupby(["region", "tier"], sort=False):
        if rows["feasible"].any():
            continue
        kinds = rows["reason"].where(~rows["reason"].str.startswith("latency"), "latency: over tau")
        why = ", ".join(f"{reason} excludes {count}" for reason, count in kinds.value_counts(sort=False).items())
        out.append(f"region '{region}', tier '{tier}': no data center may serve it ({why})")
    return out


def feasible(allowed: np.ndarray, hosted: np.ndarray, latency_ms: np.ndarray, inference_ms: np.ndarray,
             tau_ms: np.ndarray) -> np.ndarray:
    """(J, N, K): user j may be served at site i by model k."""
    within = latency_ms[:, :, None] + inference_ms[None, None, :] <= tau_ms[:, None, None]
    return allowed[:, :, None] & hosted[None, :, :] & within


def reasons(masks: Masks, hosted: np.ndarray, inference_ms: np.ndarray, tau_ms: np.ndarray) -> np.ndarray:
    """(J, N) why each pair is excluded ("" where some model may serve it): system first,
    then legal, then latency (with the fastest hosted model's total against tau)."""
    out = np.full(masks.legal.shape, "", dtype=object)
    fastest = np.where(hosted, inference_ms[None, :], np.inf).min(axis=1)  # (N,)
    total = masks.latency_ms + fastest[None, :]
    for j, i in np.ndindex(out.shape):
        if not masks.system[j, i]:
            out[j, i] = f"system: {masks.system_reason[j, i]}"
        elif not masks.legal[j, i]:
            out[j, i] = f"legal: {masks.legal_rule[j, i]}"
        elif total[j, i] > tau_ms[j]:
            out[j, i] = f"latency: {total[j, i]:.0f} ms > tau {tau_ms[j]:g} ms"
    return out


def check_feasible(users: list[tuple[str, str]], datacenters: list[str], allowed: np.ndarray, hosted: np.ndarray,
                   latency_ms: np.ndarray, inference_ms: np.ndarray, tau_ms: np.ndarray, *,
                   source: str | Path, tau_where: Callable[[int], str]) -> None:
    """Every user (region, tier) needs one (site, model) within all masks; else InputError
    naming the region and tier (at *tau_where(j)* when the latency budget is what fails)."""
    ok = feasible(allowed, hosted, latency_ms, inference_ms, tau_ms).any(axis=(1, 2))
    for j in np.flatnonzero(~ok):
        region, tier = users[j]
        usable = allowed[j] & hosted.any(axis=1)
        if not usable.any():
            raise InputError(source, f"mask (region '{region}', tier '{tier}')",
                             "no data center may serve it: the mask and the hosted models leave none")
        fastest = np.where(hosted, inference_ms[None, :], np.inf).min(axis=1)
        total = np.where(usable, latency_ms[j] + fastest, np.inf)
        best = int(np.argmin(total))
        raise InputError(source, tau_where(j),
                         f"region '{region}', tier '{tier}': no data center within tau {tau_ms[j]:g} ms "
                         f"(the closest allowed, {datacenters[best]}, is {total[best]:.1f} ms away)")


def frictions_usd_per_request(scenario: Scenario, users: Users, local: np.ndarray, latency_ms: np.ndarray) -> np.ndarray:
    """(J, N) migration friction plus delay penalty, USD per request (Luo & Cheng).

    Away from the region's local site a request pays moving its state and payload
    (egress USD/GB), the cold cache and the remote replica; everywhere it pays
    gamma x latency. SE-GLB's distance cost d_ij is added by the GLB formulation."""
    n = len(scenario.datacenters)
    f = scenario.frictions
    out = np.zeros((len(users), n))
    for j in range(len(users)):
        tier = scenario.tiers[users.tier[j]]
        gb = tier.state_mb / 1e3 + tier.payload_kb / 1e6
        away = gb * f.egress_usd_per_gb + tier.cache_loss_usd_per_request + f.replica_usd_per_request
        out[j] = np.where(np.arange(n) == local[users.region[j]], 0.0, away)
        out[j] += tier.delay_usd_per_request_per_s * latency_ms[j] / 1000.0
    return out


# -- latency ---------------------------------------------------------------------------


def user_latency_ms(scenario: Scenario, users: Users, *, data_dir: Path | None = None,
                    source: str | Path | None = None) -> np.ndarray:
    """(J, N) L_cs + m L_sc + L_queue in ms. When some place has no location and nothing
    needs network latencies (no finite budget, no delay price), the network part is 0 and
    only the access and queueing delays remain."""
    source = scenario.source_file if source is None else source
    l_cs, l_sc = _region_latency_ms(scenario, data_dir=data_dir, source=source)
    queue = np.array([dc.queue_ms for dc in scenario.datacenters])
    out = np.empty((len(users), len(scenario.datacenters)))
    for j in range(len(users)):
        tier = scenario.tiers[users.tier[j]]
        r = users.region[j]
        out[j] = tier.access_ms + l_cs[r] + tier.rounds * l_sc[r] + queue
    return out


def needs_latency(scenario: Scenario) -> bool:
    """True when a tier has a latency budget (finite tau_ms) or a delay price: then every
    region and data center needs a location."""
    return any(math.isfinite(t.tau_ms) or t.delay_usd_per_request_per_s > 0 for t in scenario.tiers)


def _region_latency_ms(scenario: Scenario, *, data_dir: Path | None, source: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """(R,) region -> its service node and (R, N) service node -> data center, RTT in ms."""
    # late: cosim.latency imports networkx (~0.15 s), needed only when a scenario has latencies
    from cosim import latency

    r_count, n = len(scenario.regions), len(scenario.datacenters)
    located = [(f"regions.{r}.location", x.location) for r, x in enumerate(scenario.regions)]
    located += [(f"datacenters.{i}.location", x.location) for i, x in enumerate(scenario.datacenters)]
    missing = [where for where, loc in located if loc is None]
    if missing:
        if needs_latency(scenario):
            raise InputError(source, missing[0], "a location is needed: a tier has a latency budget or a delay price")
        return np.zeros(r_count), np.zeros((r_count, n))

    cfg = scenario.latency
    places, services = [], []
    for r in scenario.regions:
        code = cfg.codes.get(r.name)
        places.append(latency.Place(f"region:{r.name}", "region", r.location.lat, r.location.lon, code))
        services.append(f"region:{r.name}")  # the region is its own service node unless one is given
        if r.service_location is not None:
            s = r.service_location
            places.append(latency.Place(f"service:{r.name}", "service", s.lat, s.lon))
            services[-1] = f"service:{r.name}"
    for d in scenario.datacenters:
        places.append(latency.Place(f"dc:{d.name}", "datacenter", d.location.lat, d.location.lon, cfg.codes.get(d.name)))
    options = {"route_inflation": cfg.route_inflation or ROUTE_INFLATION, "km_per_ms": cfg.fiber_km_per_ms}
    if cfg.source == "measured":
        path = loaders.dataset_path(data_dir, cfg.rtt_file, source=source, where="latency.rtt_file")
        rtt = load_rtt_matrix(path)
        try:
            graph = latency.latency_graph(places, source="measured", rtt=rtt, **options)
        except InputError as exc:  # a place's code: name the scenario's field, not the graph node
            name = exc.where.removeprefix("place '").rstrip("'").split(":", 1)[-1]
            raise InputError(source, f"latency.codes.{name}", exc.reason) from None
    else:
        graph = latency.latency_graph(places, source="coordinates", **options)
    l_sc = latency.path_latency_ms(graph, services, [f"dc:{d.name}" for d in scenario.datacenters])
    l_cs = np.array([latency.path_latency_ms(graph, [f"region:{r.name}"], [s])[0, 0]
                     for r, s in zip(scenario.regions, services)])
    return l_cs, l_sc


# -- legal and system ------------------------------------------------------------------


def _legal(scenario: Scenario, users: Users, local: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    dcs = scenario.datacenters
    dc_index = {d.name: i for i, d in enumerate(dcs)}
    legal = np.zeros((len(users), len(dcs)), dtype=bool)
    rule = np.full(legal.shape, "", dtype=object)
    mask = scenario.mask
    for j in range(len(users)):
        region = scenario.regions[users.region[j]]
        if region.name in mask.allow:
            legal[j, [dc_index[d] for d in mask.allow[region.name]]] = True
            rule[j, ~legal[j]] = "mask.allow"
        elif mask.default == "all":
            legal[j] = True
        else:
            legal[j, dc_index[region.local_datacenter]] = True
            rule[j, ~legal[j]] = "mask.default local"
        for d in mask.deny.get(region.name, []):
            if legal[j, dc_index[d]]:
                legal[j, dc_index[d]] = False
                rule[j, dc_index[d]] = "mask.deny"
    for r in scenario.mask.rules:
        bound = _bound_regions(scenario, r)
        tiers = None if r.tiers is None else {t for t, tier in enumerate(scenario.tiers) if tier.name in r.tiers}
        for j in range(len(users)):
            if users.region[j] not in bound or (tiers is not None and users.tier[j] not in tiers):
                continue
            excluded = legal[j] & ~_rule_allows(scenario, r, users.region[j], local)
            legal[j, excluded] = False
            rule[j, excluded] = r.label
    return legal, rule


def _bound_regions(scenario: Scenario, rule: Rule) -> set[int]:
    """Indices of the regions *rule* binds."""
    if rule.regions is not None:
        return {r for r, region in enumerate(scenario.regions) if region.name in rule.regions}
    if rule.kind == "jurisdiction":
        countries = scenario.mask.jurisdiction(rule.jurisdiction)
        return {r for r, region in enumerate(scenario.regions) if region.country in countries}
    if rule.kind == "same-country":
        return {r for r, region in enumerate(scenario.regions) if region.country is not None}
    return set(range(len(scenario.regions)))


def _rule_allows(scenario: Scenario, rule: Rule, r: int, local: np.ndarray) -> np.ndarray:
    """(N,) the sites *rule* leaves to users of region *r*."""
    dcs = scenario.datacenters
    if rule.kind == "jurisdiction":
        countries = scenario.mask.jurisdiction(rule.jurisdiction)
        return np.array([d.country in countries for d in dcs])
    if rule.kind == "same-country":
        return np.array([d.country is not None and d.country == scenario.regions[r].country for d in dcs])
    if rule.kind == "local":
        return np.arange(len(dcs)) == local[r]
    named = np.array([d.name in rule.datacenters for d in dcs])
    return named if rule.kind == "allow" else ~named


def _system(scenario: Scenario, users: Users, hosted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    dcs = scenario.datacenters
    system = np.ones((len(users), len(dcs)), dtype=bool)
    why = np.full(system.shape, "", dtype=object)
    for j in range(len(users)):
        classes = scenario.tiers[users.tier[j]].capacity_classes
        for i, d in enumerate(dcs):
            if not hosted[i].any():
                system[j, i], why[j, i] = False, "hosts no model"
            elif classes is not None and d.capacity_class not in classes:
                system[j, i], why[j, i] = False, f"capacity class '{d.capacity_class}' not in {', '.join(classes)}"
    return system, why


# -- geography and hosting -------------------------------------------------------------


def _hosted(scenario: Scenario) -> np.ndarray:
    """(N, K) data center i hosts model k."""
    model_index = {m.name: k for k, m in enumerate(scenario.models)}
    hosted = np.zeros((len(scenario.datacenters), len(scenario.models)), dtype=bool)
    for i, dc in enumerate(scenario.datacenters):
        for name in model_index if dc.models is None else dc.models:  # [] hosts nothing
            hosted[i, model_index[name]] = True
    return hosted


def _distances(scenario: Scenario) -> np.ndarray:
    """(R, N) great-circle km from each region to each data center, 0 where a location is unknown."""
    out = np.zeros((len(scenario.regions), len(scenario.datacenters)))
    for r, region in enumerate(scenario.regions):
        for i, dc in enumerate(scenario.datacenters):
            if region.location is not None and dc.location is not None:
                out[r, i] = great_circle_km(region.location.lat, region.location.lon, dc.location.lat, dc.location.lon)
    return out


def _local(scenario: Scenario, distance: np.ndarray) -> np.ndarray:
    """The region's local data center: as declared, else the nearest, else the one of the same name, else -1."""
    dc_index = {d.name: i for i, d in enumerate(scenario.datacenters)}
    local = np.full(len(scenario.regions), -1)
    for r, region in enumerate(scenario.regions):
        if region.local_datacenter is not None:
            local[r] = dc_index[region.local_datacenter]
        elif region.location is not None and all(d.location is not None for d in scenario.datacenters):
            local[r] = int(np.argmin(distance[r]))
        elif region.name in dc_index:
            local[r] = dc_index[region.name]
    return local
