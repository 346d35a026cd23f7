"""Offline GLB: the whole horizon at once with full information, as in SE-GLB (eq. 4a-4c).

method "monolithic": one vectorized cvxpy problem over all arcs and hours: the variable
is an (A, T) matrix of demand fractions, every linear term is one elementwise product,
the hourly social norms are T power-cone epigraphs built in one call, the environmental
norm is one more. method "decomposed": the same problem by column generation over hours
(cosim.glb.decomposition), to a stated gap, its hours in parallel on a Dask client.
"""
from __future__ import annotations

import time

import cvxpy as cp
import numpy as np

from cosim.glb.decomposition import DEFAULT_GAP, solve_offline_decomposed
from cosim.glb.formulation import Solution, clean_fractions, coefficients, make_arcs, objective_terms
from cosim.glb.guard import check_coefficients, check_instance
from cosim.glb.norms import column_norms
from cosim.glb.policies import Policy
from cosim.glb.solve import solve_problem
from cosim.instance import Instance

METHODS = ("monolithic", "decomposed")
"""The ways to solve the offline problem (docs/model.md, Offline at year scale)."""


def solve_offline(inst: Instance, policy: Policy, method: str = "monolithic", *, client=None,
                  gap: float = DEFAULT_GAP) -> Solution:
    """The policy's horizon-optimal allocation: one problem (monolithic), or by column
    generation over hours to the relative *gap* (decomposed; its hours on *client*, a
    dask.distributed Client, when given)."""
    if method == "decomposed":
        return solve_offline_decomposed(inst, policy, client=client, gap=gap)
    if method != "monolithic":
        raise ValueError(f"unknown offline method '{method}' (known: {', '.join(METHODS)})")
    started = time.perf_counter()
    check_instance(inst, where=f"{policy.name} offline: solver input")
    arcs = make_arcs(inst, policy)
    c = coefficients(inst, arcs)
    check_coefficients(c, where=f"{policy.name} offline: solver input")
    n, j_count, _, t_count = inst.shape
    scale = _scale(c)
    scaled = inst.weights.norm_scale == "entries"

    x = cp.Variable((len(arcs), t_count), nonneg=True)
    u = cp.Variable((j_count, t_count), nonneg=True)
    linear = (c.energy + c.moving) / scale
    objective = cp.sum(cp.multiply(linear, x)) + cp.sum(cp.multiply(c.unserved / scale, u))
    constraints = [
        arcs.by_user @ x + u == 1,
        arcs.by_dc @ cp.multiply(c.resources / inst.capacity[arcs.i][:, None], x) <= 1,  # share of capacity
    ]
    if policy.q_social is not None and inst.weights.social_weight_usd > 0:
        loss = arcs.by_region @ cp.multiply(c.social, x)  # (R, T) points
        norms, cons = column_norms(loss, policy.q_social, scaled)
        objective += inst.weights.social_weight_usd / scale * cp.sum(norms)
        constraints += cons
    if policy.q_env is not None:
        for env in c.env_groups(inst.weights.env_norm):
            per_dc = arcs.by_dc @ cp.sum(cp.multiply(env / scale, x), axis=1)  # (N,) USD / scale
            norm, cons = column_norms(per_dc, policy.q_env, scaled)
            objective += norm
            constraints += cons

    problem = cp.Problem(cp.Minimize(objective), constraints)
    solver, fallback = solve_problem(problem, conic=policy.conic, where="offline horizon")
    xv, uv = clean_fractions(arcs, x.value, u.value)
    return Solution(
        policy=policy, arcs=arcs, x=xv, u=uv, mode="offline", algorithm="full-horizon", solver=solver,
        objective_usd=objective_terms(inst, policy, arcs, xv, uv)["total_usd"],
        solve_s=float(problem.solver_stats.solve_time or 0.0),
        total_s=time.perf_counter() - started,
        fallback_hours=list(range(t_count)) if fallback else [],
    )


def _scale(c) -> float:
    """A dollar figure of the order of the objective, so the solver sees O(1) numbers."""
    per_arc = (c.energy + c.env + c.moving).sum(axis=1)
    ref = float(np.median(per_arc[per_arc > 0])) if (per_arc > 0).any() else 1.0
    return max(ref, 1e-9)

