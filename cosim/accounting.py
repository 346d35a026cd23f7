"""Accounting that must be kept apart (DESIGN.md): attributional, consequential and
first-order emissions, predicted versus realized savings, rebound, and who pays.

- attributional: each site's energy x the average intensity of its grid (what a
  data-center operator reports);
- consequential: total system emissions with the data-center load minus without it, both
  from dispatch (what the atmosphere sees);
- first-order: the decided energy x the marginal emissions (LME) seen at decision time,
  the small-change estimate the operator optimized against;
- who pays: the change in LMP times the background load (consumers who did not move).

Energies in MWh (MW over one hour), intensities in kg/MWh, emissions in kg, money in USD.
"""
from __future__ import annotations

import math

import numpy as np

from cosim.hourly_log import HourlyLog


def attributional_kg(energy_mwh: np.ndarray, avg_kg_per_mwh: np.ndarray) -> float:
    """Sum over sites of energy x the average intensity of the site's grid."""
    return float(np.dot(np.asarray(energy_mwh, float), np.asarray(avg_kg_per_mwh, float)))


def consequential_kg(with_load_kg: float, without_load_kg: float) -> float:
    """System emissions with the load minus without it (two dispatches)."""
    return float(with_load_kg - without_load_kg)


def first_order_kg(energy_mwh: np.ndarray, lme_kg_per_mwh: np.ndarray) -> float:
    """The decided energy x the marginal emissions seen when deciding."""
    return float(np.dot(np.asarray(energy_mwh, float), np.asarray(lme_kg_per_mwh, float)))


def consumers_cost_change_usd(lmp_with: np.ndarray, lmp_without: np.ndarray, background_mw: np.ndarray) -> float:
    """What the consumers who did not move pay more (positive) for the same energy:
    (LMP with the load - LMP without) x background load, summed over buses."""
    return float(np.dot(np.asarray(lmp_with, float) - np.asarray(lmp_without, float), np.asarray(background_mw, float)))


REBOUND_TOL = 1e-9
"""A predicted saving at or below this share of the baseline's own figure is round-off:
nothing was predicted, and the rebound is not defined."""


def rebound(predicted_savings: float, realized_savings: float, *, scale: float = 0.0) -> float:
    """1 - realized / predicted: the share of a predicted saving the grid's response took
    back (0: as predicted; 1: nothing saved; > 1: the move made things worse; < 0: saved
    more than predicted). Defined only for a predicted saving (> 0): when the policy was
    predicted to save nothing or to lose (predicted <= REBOUND_TOL x |scale|, *scale* the
    baseline's own figure), there is nothing to take back and 1 - realized / predicted
    would read backwards (a loss smaller than predicted would show as a rebound): NaN
    (null in summary.json; rebound_reason says why)."""
    if not math.isfinite(predicted_savings) or predicted_savings <= REBOUND_TOL * max(abs(scale), 1.0):
        return math.nan
    return 1.0 - realized_savings / predicted_savings


def rebound_reason(predicted_savings: float, realized_savings: float, *, scale: float = 0.0, unit: str) -> str | None:
    """Why `rebound` is not defined (None when it is), naming the predicted and realized
    savings in *unit*."""
    if not math.isnan(rebound(predicted_savings, realized_savings, scale=scale)):
        return None
    if not math.isfinite(predicted_savings):
        return "not defined: no finite predicted saving"
    what = "no saving" if abs(predicted_savings) <= REBOUND_TOL * max(abs(scale), 1.0) else "a loss"
    return (f"not defined: {what} predicted ({predicted_savings:.6g} {unit} saved predicted, "
            f"{realized_savings:.6g} {unit} realized)")


def grid_feedback(log: HourlyLog, baseline_log: HourlyLog | None = None, *, baseline: str = "nearest",
                  ai_share_requested: float | None = None) -> dict:
    """summary.json's `grid_feedback` of one co-simulated policy, from its hourly log, with
    savings against *baseline_log* (the same co-simulation of the no-relocation policy,
    named *baseline*) and *ai_share_requested* (--ai-share, which holds for the offline
    no-relocation baseline only; `ai_share` is what the run drew)."""
    totals = _totals(log)
    background = log.grid_background_mw
    out = {
        "coupling": log.coupling,
        "operators": log.operators,
        "emissions_attributional_t": totals["attributional_kg"] / 1000.0,
        "emissions_consequential_t": totals["consequential_kg"] / 1000.0,
        "emissions_first_order_t": totals["first_order_kg"] / 1000.0,
        "energy_cost_predicted_usd": totals["cost_predicted_usd"],
        "energy_cost_realized_usd": totals["cost_realized_usd"],
        "consumers_cost_change_usd": dict(zip(log.grid_names, map(float, totals["consumers_usd"]))),
        "ai_share": _share(log.facility_mw.sum(), background.sum()),
        "ai_share_requested": ai_share_requested,
        "ai_share_per_grid": {name: _share(log.grid_demand_mw[n].sum() - background[n].sum(), background[n].sum())
                              for n, name in enumerate(log.grid_names)},
        "load_swing": _load_swing(log.facility_mw),
        "shed_mwh": float(log.shed_mw.sum()),
        "shed_hours": int((log.shed_mw.sum(axis=0) > 1e-6).sum()),
        "iterations": {"mean": float(log.iterations.mean()), "max": int(log.iterations.max()),
                       "unconverged_hours": int((log.residual > log.iterate_tol).sum())},
    }
    if baseline_log is not None:
        base = _totals(baseline_log)
        predicted = (base["first_order_kg"] - totals["first_order_kg"]) / 1000.0
        realized = (base["consequential_kg"] - totals["consequential_kg"]) / 1000.0
        cost_predicted = base["cost_predicted_usd"] - totals["cost_predicted_usd"]
        cost_realized = base["cost_realized_usd"] - totals["cost_realized_usd"]
        out["savings"] = {
            "baseline": baseline,
            "emissions_predicted_t": predicted,
            "emissions_realized_t": realized,
            "emissions_rebound": rebound(predicted, realized, scale=base["first_order_kg"] / 1000.0),
            "emissions_rebound_reason": rebound_reason(predicted, realized, scale=base["first_order_kg"] / 1000.0,
                                                       unit="t"),
            "energy_cost_predicted_usd": cost_predicted,
            "energy_cost_realized_usd": cost_realized,
            "energy_cost_rebound": rebound(cost_predicted, cost_realized, scale=base["cost_predicted_usd"]),
            "energy_cost_rebound_reason": rebound_reason(cost_predicted, cost_realized, scale=base["cost_predicted_usd"],
                                                         unit="USD"),
            "consumers_cost_change_usd": {name: float(v - b) for name, v, b in
                                          zip(log.grid_names, totals["consumers_usd"], base["consumers_usd"])},
        }
    return out


def _totals(log: HourlyLog) -> dict:
    """Horizon totals of one co-simulation, from its hourly log."""
    mwh = log.facility_mw  # (N, T): MW over one hour
    seen, realized = log.seen, log.realized
    return {
        "first_order_kg": first_order_kg(mwh.ravel(), 1000.0 * seen["lme_kg_per_kwh"].ravel()),
        "attributional_kg": attributional_kg(mwh.ravel(), 1000.0 * realized["carbon_kg_per_kwh"].ravel()),
        "consequential_kg": consequential_kg(log.emissions_with_kg.sum(), log.emissions_without_kg.sum()),
        "cost_predicted_usd": float((mwh * seen["price_usd_per_mwh"]).sum()),
        "cost_realized_usd": float((mwh * realized["price_usd_per_mwh"]).sum()),
        "consumers_usd": (log.consumers_with_usd - log.consumers_without_usd).sum(axis=1),
    }


def _load_swing(facility_mw: np.ndarray) -> float:
    """How much the data centers' load moves between sites from hour to hour: the mean over
    hours of sum_i |L_it - L_i,t-1| / sum_i L_it (0: steady; herding oscillation shows as
    values near 2)."""
    if facility_mw.shape[1] < 2:
        return 0.0
    moved = np.abs(np.diff(facility_mw, axis=1)).sum(axis=0)
    total = facility_mw[:, 1:].sum(axis=0)
    return float(np.mean(np.divide(moved, total, out=np.zeros_like(moved), where=total > 0)))


def _share(part_mwh: float, whole_mwh: float) -> float:
    """part / whole (data centers' MWh over the grids' own MWh), 0 for an empty whole."""
    return float(part_mwh / whole_mwh) if whole_mwh > 0 else 0.0
