"""Table-1 metrics of SE-GLB, relocation and accounting, from a policy's allocation.

"avg" and "max" follow SE-GLB's Table 1: horizon totals per data center averaged
over / maxed over data centers (energy cost, water, carbon), and request-normalized
performance cost per user region averaged over / maxed over regions; max_avg is
their ratio (1 = perfectly even).

perf_cost (SE-GLB's) is a region's quality loss s_k y summed over its served requests,
divided by all its demand: an unserved request adds nothing to the loss but counts in the
denominator, so dropping requests lowers it (perf_score, the score of the served requests,
does not see them either). perf_cost_all_demand and perf_score_all_demand count every
unserved request as served by the worst model (the largest s_k, the lowest score), so a
policy cannot look better by dropping requests than by serving them with its smallest model.

The allocations are sparse (Solution.x): sums run over their stored entries, window by
window of hours (Solution.windows), so beyond the allocations themselves memory grows
with one window's entries, never with arcs x hours.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from cosim.glb.formulation import Solution
from cosim.instance import Instance


def site_hourly(inst: Instance, sol: Solution) -> dict[str, np.ndarray]:
    """Per data center and hour (N, T): energy_kwh (IT), facility_kwh, energy_cost_usd, carbon_kg,
    water_l (on-site: IT kWh x WUE, plus off-site: facility kWh x EWIF)."""
    n, _, _, t_count = inst.shape
    energy_kwh = np.zeros(n * t_count)
    for t0, t1 in sol.windows():  # window by window: no (entries,) array of the whole horizon
        a, t, y = sol.request_entries(inst, t0, t1)
        it_kwh = inst.energy_kwh_per_request[sol.arcs.k[a]] * y
        energy_kwh += np.bincount(sol.arcs.i[a] * t_count + t, weights=it_kwh, minlength=n * t_count)
    energy_kwh = energy_kwh.reshape(n, t_count)
    facility_kwh = inst.pue[:, None] * energy_kwh
    return {
        "energy_kwh": energy_kwh,
        "facility_kwh": facility_kwh,
        "energy_cost_usd": facility_kwh * inst.price_usd_per_mwh / 1000.0,
        "carbon_kg": facility_kwh * inst.carbon_kg_per_kwh,
        "water_l": energy_kwh * inst.wue_l_per_kwh + facility_kwh * inst.ewif_l_per_kwh,
    }


def _spread(per_unit: np.ndarray, *, total: bool = True, noise: float = 1e-9) -> dict[str, float]:
    """avg, max and max/avg (and total) over sites or regions; max/avg is 1 when every
    entry is at or below *noise* (nothing to spread: solver round-off is not inequity)."""
    avg, peak = float(per_unit.mean()), float(per_unit.max())
    out = {"avg": avg, "max": peak, "max_avg": peak / avg if peak > noise else 1.0}
    if total:
        out = {"total": float(per_unit.sum()), **out}
    return out


# A ten-thousandth of a benchmark point: interior-point round-off (fractions ~1e-6 of a
# region's demand on a smaller model), not a downgrade anyone would notice.
_PERF_NOISE_POINTS = 1e-4


def policy_metrics(inst: Instance, sol: Solution) -> dict:
    """The summary.json METRICS of one policy (see docs/outputs.md)."""
    sites = site_hourly(inst, sol)
    arcs = sol.arcs
    y_arc = np.zeros(len(arcs))  # (A,) horizon requests per arc
    for t0, t1 in sol.windows():
        a, _, y = sol.request_entries(inst, t0, t1)
        y_arc += np.bincount(a, weights=y, minlength=len(arcs))
    demand_r = inst.region_demand.sum(axis=1)
    served_r = arcs.by_region @ y_arc
    loss_r = arcs.by_region @ (inst.quality_loss[arcs.k] * y_arc)
    score_r = arcs.by_region @ (inst.quality_score[arcs.k] * y_arc)
    perf_cost = np.divide(loss_r, demand_r, out=np.zeros_like(loss_r), where=demand_r > 0)
    perf_score = np.divide(score_r, served_r, out=np.full_like(score_r, np.nan), where=served_r > 0)
    # over all demand: an unserved request counts as one served by the worst model
    unserved = sol.unserved_requests(inst)
    unserved_r = np.zeros(len(inst.regions))
    np.add.at(unserved_r, inst.user_region, unserved.sum(axis=1))
    worst_score = float(inst.quality_score.min())
    worst_loss = float(inst.quality_loss.max())
    perf_cost_all = np.divide(loss_r + worst_loss * unserved_r, demand_r, out=np.zeros_like(loss_r), where=demand_r > 0)
    perf_score_all = np.divide(score_r + worst_score * unserved_r, demand_r, out=np.full_like(score_r, np.nan),
                               where=demand_r > 0)

    it_kwh_arc = inst.energy_kwh_per_request[arcs.k] * y_arc
    away = inst.local[arcs.j] != arcs.i
    return {
        "energy_cost_usd": _spread(sites["energy_cost_usd"].sum(axis=1)),
        "water_m3": _spread(sites["water_l"].sum(axis=1) / 1000.0),
        "carbon_t": _spread(sites["carbon_kg"].sum(axis=1) / 1000.0),
        "energy_mwh": _spread(sites["energy_kwh"].sum(axis=1) / 1000.0),
        "perf_cost": _spread(perf_cost, total=False, noise=_PERF_NOISE_POINTS),
        "perf_score": {"avg": float(np.nanmean(perf_score)), "min": float(np.nanmin(perf_score))},
        "perf_cost_all_demand": _spread(perf_cost_all, total=False, noise=_PERF_NOISE_POINTS),
        "perf_score_all_demand": {"avg": float(np.nanmean(perf_score_all)), "min": float(np.nanmin(perf_score_all))},
        "served_requests": float(y_arc.sum()),
        "unserved_requests": float(unserved.sum()),
        "unserved_hours": unserved_diagnosis(inst, sol),
        "rid": _share(it_kwh_arc[away].sum(), it_kwh_arc.sum()),
        "per_datacenter": {
            dc: {
                "energy_cost_usd": float(sites["energy_cost_usd"][i].sum()),
                "water_m3": float(sites["water_l"][i].sum() / 1000.0),
                "carbon_t": float(sites["carbon_kg"][i].sum() / 1000.0),
            }
            for i, dc in enumerate(inst.datacenters)
        },
        "per_region": {
            r: {"perf_cost": float(perf_cost[j]), "perf_score": float(perf_score[j]), "served_requests": float(served_r[j])}
            for j, r in enumerate(inst.regions)
        },
        "per_tier": {
            tier: {
                "demand_requests": float(inst.demand[inst.user_tier == t].sum()),
                "served_requests": float(y_arc[inst.user_tier[arcs.j] == t].sum()),
                "unserved_requests": float(unserved[inst.user_tier == t].sum()),
                "rid": _share(it_kwh_arc[away & (inst.user_tier[arcs.j] == t)].sum(),
                              it_kwh_arc[inst.user_tier[arcs.j] == t].sum()),
            }
            for t, tier in enumerate(inst.tiers)
        },
        "solve": {
            "mode": sol.mode,
            "algorithm": sol.algorithm,
            "solver": sol.solver,
            "objective_usd": sol.objective_usd,
            "solver_s": round(sol.solve_s, 4),
            "total_s": round(sol.total_s, 4),
            "fallback_hours": [inst.times[t].isoformat() for t in sol.fallback_hours],
        },
    }


def _share(part: float, whole: float) -> float:
    return float(part / whole) if whole > 0 else 0.0


def unserved_diagnosis(inst: Instance, sol: Solution, tol: float = 1e-6) -> list[dict]:
    """Every user-hour with unserved requests, and why: the demand against the most
    the user's feasible data centers could serve that hour with their smallest model."""
    unserved = sol.unserved_requests(inst)
    # the most requests each site could serve in an hour: with its lightest hosted model
    lightest = np.where(inst.hosted, inst.resources_per_request[None, :], np.inf).min(axis=1)
    out = []
    usable = inst.feasible.any(axis=2)  # (J, N)
    for j, t in zip(*np.nonzero(unserved > tol * np.maximum(inst.demand, 1.0))):
        allowed = usable[j]
        reachable = float((inst.capacity[allowed] / lightest[allowed]).sum())
        region, tier = inst.users[j]
        out.append({
            "time": inst.times[t].isoformat(),
            "region": region,
            "tier": tier,
            "unserved_requests": float(unserved[j, t]),
            "demand_requests": float(inst.demand[j, t]),
            "reason": f"demand {inst.demand[j, t]:.6g} vs at most {reachable:.6g} requests/h on the data centers allowed "
                      f"({', '.join(np.array(inst.datacenters)[allowed])}), shared with other users",
        })
    return out


TABLE1_ROWS = (
    ("energy cost total (USD)", ("energy_cost_usd", "total")),
    ("energy cost per site, avg (USD)", ("energy_cost_usd", "avg")),
    ("water per site, avg (m3)", ("water_m3", "avg")),
    ("water per site, max (m3)", ("water_m3", "max")),
    ("water max/avg", ("water_m3", "max_avg")),
    ("carbon per site, avg (t)", ("carbon_t", "avg")),
    ("carbon per site, max (t)", ("carbon_t", "max")),
    ("carbon max/avg", ("carbon_t", "max_avg")),
    ("perf cost per region, avg (points)", ("perf_cost", "avg")),
    ("perf cost per region, max (points)", ("perf_cost", "max")),
    ("perf cost max/avg", ("perf_cost", "max_avg")),
    ("perf cost, all demand, avg (points)", ("perf_cost_all_demand", "avg")),
    ("perf score per region, avg", ("perf_score", "avg")),
    ("perf score per region, min", ("perf_score", "min")),
    ("perf score, all demand, avg", ("perf_score_all_demand", "avg")),
    ("unserved requests", ("unserved_requests",)),
    ("RID (energy away from local)", ("rid",)),
    ("online/offline objective", ("online", "online_to_offline_ratio")),
)
"""SE-GLB Table 1 (plus unserved, RID and the online ratio): label, path into METRICS.
"per site" rows are horizon totals per data center, averaged or maxed over the sites;
"per region" rows are per user region; "all demand" rows count every unserved request as
served by the worst model (docs/outputs.md, perf_cost)."""


FEEDBACK_ROWS = (
    ("emissions attributional (t CO2)", ("emissions_attributional_t",)),
    ("emissions consequential (t CO2)", ("emissions_consequential_t",)),
    ("emissions first-order (t CO2)", ("emissions_first_order_t",)),
    ("energy cost predicted (USD)", ("energy_cost_predicted_usd",)),
    ("energy cost realized (USD)", ("energy_cost_realized_usd",)),
    ("emissions saved vs nearest, predicted (t CO2)", ("savings", "emissions_predicted_t")),
    ("emissions saved vs nearest, realized (t CO2)", ("savings", "emissions_realized_t")),
    ("emissions rebound (share)", ("savings", "emissions_rebound")),
    ("energy cost saved vs nearest, predicted (USD)", ("savings", "energy_cost_predicted_usd")),
    ("energy cost saved vs nearest, realized (USD)", ("savings", "energy_cost_realized_usd")),
    ("AI share of grid demand (share)", ("ai_share",)),
    ("load swing (share)", ("load_swing",)),
    ("load shed by the grids (MWh)", ("shed_mwh",)),
    ("iterations per hour (max)", ("iterations", "max")),
)
"""The grid-feedback rows `cosim run` and `cosim compare` print: label, path into a
policy's METRICS["grid_feedback"] (cosim.accounting.grid_feedback)."""


def metric_at(metrics: dict | None, path: tuple[str, ...]):
    """The value at *path* in nested dicts, None where a key is absent."""
    for key in path:
        if not isinstance(metrics, dict) or key not in metrics:
            return None
        metrics = metrics[key]
    return metrics


def table1(metrics: dict[str, dict]) -> pd.DataFrame:
    """The SE-GLB Table 1 comparison: one row per metric, one column per policy (None where
    absent; rows absent for every policy are dropped)."""
    frame = pd.DataFrame({name: [metric_at(m, path) for _, path in TABLE1_ROWS] for name, m in metrics.items()},
                         index=[label for label, _ in TABLE1_ROWS])
    return frame.dropna(how="all")


def feedback_table(metrics: dict[str, dict]) -> pd.DataFrame:
    """The grid-feedback comparison: one row per FEEDBACK_ROWS entry, one column per policy
    that has a `grid_feedback` (None where absent)."""
    names = [n for n, m in metrics.items() if "grid_feedback" in m]
    return pd.DataFrame({name: [metric_at(metrics[name]["grid_feedback"], path) for _, path in FEEDBACK_ROWS]
                         for name in names}, index=[label for label, _ in FEEDBACK_ROWS], dtype=object)


def relocatable(inst: Instance) -> dict:
    """How much demand is relocatable (Luo & Cheng), from the masks and the decision-time signals.

    layers: share of requests whose masks (latency, legal, system) leave only the local
    site (local), every site the legal and system masks allow (energy_oriented: latency
    does not bind), or some in between (regional). break_even: share of requests for which some feasible remote site beats
    the local one net of frictions, NB = J_local - J_remote > 0, with J per request of the
    best model = energy cost + carbon and water at the policy's prices + distance cost and
    friction; net_benefit_usd sums the positive NB over those requests.
    """
    feasible = inst.feasible  # (J, N, K)
    sites = feasible.any(axis=2)  # (J, N)
    allowed = inst.mask & inst.hosted.any(axis=1)[None, :]
    n = len(inst.datacenters)
    is_local = np.arange(n)[None, :] == inst.local[:, None]
    only_local = ~(sites & ~is_local).any(axis=1)
    everything = (sites == allowed).all(axis=1) & ~only_local
    demand = inst.demand.sum(axis=1)
    total = float(demand.sum())

    nb = _net_benefit(inst, feasible, is_local)  # (J, T)
    positive = nb > 0
    return {
        "layers": {
            "local": _share(demand[only_local].sum(), total),
            "regional": _share(demand[~only_local & ~everything].sum(), total),
            "energy_oriented": _share(demand[everything].sum(), total),
        },
        "break_even": {
            "share": _share((inst.demand * positive).sum(), total),
            "net_benefit_usd": float((np.where(positive & np.isfinite(nb), nb, 0.0) * inst.demand).sum()),
        },
    }


def _net_benefit(inst: Instance, feasible: np.ndarray, is_local: np.ndarray) -> np.ndarray:
    """(J, T) NB = J_local - min J_remote per request of the best model (USD); +inf where the
    local site is not feasible, -inf where no remote one is."""
    w = inst.weights
    k = int(np.argmax(inst.quality_score))
    it_kwh = inst.energy_kwh_per_request[k]
    facility = inst.pue[:, None] * it_kwh  # (N, 1) kWh per request
    per_site = (w.energy_weight * facility * inst.price_usd_per_mwh / 1000.0
                + w.mu_carbon_usd_per_t * facility * inst.carbon_kg_per_kwh / 1000.0
                + w.mu_water_usd_per_m3 * (it_kwh * inst.wue_l_per_kwh + facility * inst.ewif_l_per_kwh) / 1000.0)  # (N, T)
    per_pair = w.moving_cost_usd_per_request_per_1000km * inst.distance_km / 1000.0 + inst.friction_usd_per_request  # (J, N)
    cost = per_site[None, :, :] + per_pair[:, :, None]  # (J, N, T)
    ok = feasible[:, :, k]
    local = np.where((ok & is_local)[:, :, None], cost, np.inf).min(axis=1)
    remote = np.where((ok & ~is_local)[:, :, None], cost, np.inf).min(axis=1)
    with np.errstate(invalid="ignore"):
        nb = local - remote
    return np.where(np.isnan(nb), -np.inf, nb)  # inf - inf: neither site feasible
