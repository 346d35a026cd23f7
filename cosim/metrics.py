"""Table-1 metrics of SE-GLB, relocation and accounting, from a policy's allocation.

"avg" and "max" follow SE-GLB's Table 1: horizon totals per data center averaged
over / maxed over data centers (energy cost, water, carbon), and request-normalized
performance cost per user region averaged over / maxed over regions; max_avg is
their ratio (1 = perfectly even).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from cosim.glb.formulation import Solution
from cosim.instance import Instance


def site_hourly(inst: Instance, sol: Solution) -> dict[str, np.ndarray]:
    """Per data center and hour (N, T): energy_kwh (IT), facility_kwh, energy_cost_usd, carbon_kg,
    water_l (on-site: IT kWh x WUE, plus off-site: facility kWh x EWIF)."""
    y = sol.requests(inst)
    energy_kwh = sol.arcs.by_dc @ (inst.energy_kwh_per_request[sol.arcs.k][:, None] * y)
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
    y = sol.requests(inst)
    arcs = sol.arcs
    demand_j = inst.demand.sum(axis=1)
    served_j = arcs.by_region @ y.sum(axis=1)
    loss_j = arcs.by_region @ (inst.quality_loss[arcs.k] * y.sum(axis=1))
    score_j = arcs.by_region @ (inst.quality_score[arcs.k] * y.sum(axis=1))
    perf_cost = np.divide(loss_j, demand_j, out=np.zeros_like(loss_j), where=demand_j > 0)
    perf_score = np.divide(score_j, served_j, out=np.full_like(score_j, np.nan), where=served_j > 0)

    it_kwh_arc = inst.energy_kwh_per_request[arcs.k][:, None] * y
    away = inst.local[arcs.j] != arcs.i
    total_kwh = float(it_kwh_arc.sum())
    unserved = sol.unserved_requests(inst)
    return {
        "energy_cost_usd": _spread(sites["energy_cost_usd"].sum(axis=1)),
        "water_m3": _spread(sites["water_l"].sum(axis=1) / 1000.0),
        "carbon_t": _spread(sites["carbon_kg"].sum(axis=1) / 1000.0),
        "energy_mwh": _spread(sites["energy_kwh"].sum(axis=1) / 1000.0),
        "perf_cost": _spread(perf_cost, total=False, noise=_PERF_NOISE_POINTS),
        "perf_score": {"avg": float(np.nanmean(perf_score)), "min": float(np.nanmin(perf_score))},
        "served_requests": float(y.sum()),
        "unserved_requests": float(unserved.sum()),
        "unserved_hours": unserved_diagnosis(inst, sol),
        "rid": float(it_kwh_arc[away].sum() / total_kwh) if total_kwh > 0 else 0.0,
        "per_datacenter": {
            dc: {
                "energy_cost_usd": float(sites["energy_cost_usd"][i].sum()),
                "water_m3": float(sites["water_l"][i].sum() / 1000.0),
                "carbon_t": float(sites["carbon_kg"][i].sum() / 1000.0),
            }
            for i, dc in enumerate(inst.datacenters)
        },
        "per_region": {
            r: {"perf_cost": float(perf_cost[j]), "perf_score": float(perf_score[j]), "served_requests": float(served_j[j])}
            for j, r in enumerate(inst.regions)
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


def unserved_diagnosis(inst: Instance, sol: Solution, tol: float = 1e-6) -> list[dict]:
    """Every region-hour with unserved requests, and why: the demand against the most
    the region's allowed data centers could serve that hour with their smallest model."""
    unserved = sol.unserved_requests(inst)
    # the most requests each site could serve in an hour: with its lightest hosted model
    lightest = np.where(inst.hosted, inst.resources_per_request[None, :], np.inf).min(axis=1)
    out = []
    for j, t in zip(*np.nonzero(unserved > tol * np.maximum(inst.demand, 1.0))):
        allowed = inst.mask[j] & inst.hosted.any(axis=1)
        reachable = float((inst.capacity[allowed] / lightest[allowed]).sum())
        out.append({
            "time": inst.times[t].isoformat(),
            "region": inst.regions[j],
            "unserved_requests": float(unserved[j, t]),
            "demand_requests": float(inst.demand[j, t]),
            "reason": f"demand {inst.demand[j, t]:.6g} vs at most {reachable:.6g} requests/h on the data centers allowed "
                      f"({', '.join(np.array(inst.datacenters)[allowed])}), shared with other regions",
        })
    return out


TABLE1_ROWS = (
    ("energy cost avg (USD)", ("energy_cost_usd", "avg")),
    ("water avg (m3)", ("water_m3", "avg")),
    ("water max (m3)", ("water_m3", "max")),
    ("water max/avg", ("water_m3", "max_avg")),
    ("carbon avg (t)", ("carbon_t", "avg")),
    ("carbon max (t)", ("carbon_t", "max")),
    ("carbon max/avg", ("carbon_t", "max_avg")),
    ("perf cost avg (points)", ("perf_cost", "avg")),
    ("perf cost max (points)", ("perf_cost", "max")),
    ("perf cost max/avg", ("perf_cost", "max_avg")),
    ("perf score avg", ("perf_score", "avg")),
    ("perf score min", ("perf_score", "min")),
    ("unserved requests", ("unserved_requests",)),
    ("RID (energy away from local)", ("rid",)),
    ("online/offline objective", ("online", "online_to_offline_ratio")),
)
"""SE-GLB Table 1 (plus unserved, RID and the online ratio): label, path into METRICS."""


def table1(metrics: dict[str, dict]) -> pd.DataFrame:
    """The SE-GLB Table 1 comparison: one row per metric, one column per policy (None where absent)."""
    def get(m: dict, path: tuple[str, ...]):
        for key in path:
            if not isinstance(m, dict) or key not in m:
                return None
            m = m[key]
        return m

    frame = pd.DataFrame({name: [get(m, path) for _, path in TABLE1_ROWS] for name, m in metrics.items()},
                         index=[label for label, _ in TABLE1_ROWS])
    return frame.dropna(how="all")
