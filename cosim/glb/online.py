"""Online GLB: hour by hour, with no data from the future.

The hourly problem is built once per policy with cvxpy Parameters (DPP) and re-solved
every hour with new prices, intensities and demand. Two ways to handle the
environmental norm, which spans the whole horizon:

- myopic: carry each data center's environmental cost so far (H0) and minimize
  ||H0 + this hour's||_q, so the hour pays for what it adds to the horizon norm;
- dual mirror descent (E-GLB, q_env = inf only): max_i H_i = max over the simplex of
  theta . H (N theta . H for the scaled norm, N x max); each hour minimizes theta_t . h_t
  (times N when scaled), then theta moves by an exponentiated gradient step towards
  the data centers whose footprint grew most, the gradient h_t divided by a bound that
  does not depend on the decision (the hour's largest arc cost). This follows
  E-GLB's online algorithm (Li, Yang, Wierman, Ren 2023) in its Lagrangian form,
  without its auxiliary budget variables.
"""
from __future__ import annotations

import math
import time

import cvxpy as cp
import numpy as np

from cosim.glb.formulation import Arcs, Solution, clean_fractions, coefficients, make_arcs, objective_terms
from cosim.glb.norms import column_norms
from cosim.glb.policies import Policy
from cosim.glb.solve import solve_problem
from cosim.instance import Instance

ALGORITHMS = ("myopic", "dmd")


class HourlyProblem:
    """One hour of a GLB policy as a DPP problem: set the parameters, call solve()."""

    def __init__(self, inst: Instance, policy: Policy, arcs: Arcs, *, env_linear: bool):
        n, j_count, _, _ = inst.shape
        a = len(arcs)
        scaled = inst.weights.norm_scale == "entries"
        groups = 1 if inst.weights.env_norm == "combined" else 2
        self.policy = policy
        self.cost = cp.Parameter(a, name="cost")  # energy + moving, per unit fraction; prices can be < 0
        self.resources = cp.Parameter(a, nonneg=True, name="resources")
        self.penalty = cp.Parameter(j_count, nonneg=True, name="unserved_penalty")
        # one (env, env_so_far) pair per environmental norm (see Coefficients.env_groups)
        self.env = [cp.Parameter(a, nonneg=True, name=f"env{g}") for g in range(groups)]
        self.env_so_far = [cp.Parameter(n, nonneg=True, name=f"env_so_far{g}") for g in range(groups)]
        # social weight x s_k x w_jt: users' shares of their region move by the hour, and the
        # weight rides inside the norm (positively homogeneous) so the problem stays DPP
        self.social = cp.Parameter(a, nonneg=True, name="social")
        self.x = cp.Variable(a, nonneg=True)
        self.u = cp.Variable(j_count, nonneg=True)

        objective = self.cost @ self.x + self.penalty @ self.u
        constraints = [
            arcs.by_user @ self.x + self.u == 1,
            arcs.by_dc @ cp.multiply(self.resources, self.x) <= 1,
        ]
        if policy.q_social is not None:
            norm, cons = column_norms(arcs.by_region @ cp.multiply(self.social, self.x), policy.q_social, scaled)
            objective += norm
            constraints += cons
        if policy.q_env is not None:
            for env, so_far in zip(self.env, self.env_so_far):
                if env_linear or policy.q_env == 1:
                    objective += env @ self.x
                else:
                    norm, cons = column_norms(so_far + arcs.by_dc @ cp.multiply(env, self.x), policy.q_env, scaled)
                    objective += norm
                    constraints += cons
        self.problem = cp.Problem(cp.Minimize(objective), constraints)

    def solve(self, where: str) -> tuple[np.ndarray, np.ndarray, bool]:
        """Solve with the current parameter values: (x, u, fallback needed)."""
        _, fallback = solve_problem(self.problem, conic=self.policy.conic, where=where)
        return self.x.value, self.u.value, fallback


def solve_online(inst: Instance, policy: Policy, algorithm: str | None = None) -> Solution:
    """Run the policy hour by hour; *algorithm* is myopic or dmd (default: dmd for q_env = inf)."""
    started = time.perf_counter()
    if algorithm is None:
        algorithm = "dmd" if policy.q_env is not None and math.isinf(policy.q_env) else "myopic"
    if algorithm == "dmd" and not (policy.q_env is not None and math.isinf(policy.q_env)):
        raise ValueError("dual mirror descent needs q_env = inf (the E-GLB minimax)")
    arcs = make_arcs(inst, policy)
    c = coefficients(inst, arcs)
    n, j_count, _, t_count = inst.shape
    hourly = HourlyProblem(inst, policy, arcs, env_linear=algorithm == "dmd")

    x_all = np.zeros((len(arcs), t_count))
    u_all = np.zeros((j_count, t_count))
    groups = c.env_groups(inst.weights.env_norm)
    env_so_far = [np.zeros(n) for _ in groups]  # USD per data center
    theta = [np.full(n, 1.0 / n) for _ in groups]
    step = math.sqrt(2.0 * math.log(max(n, 2)) / t_count)
    # the scaled minimax norm is N x max_i H_i = max over the simplex of N theta . H
    dual_scale = n if inst.weights.norm_scale == "entries" else 1.0
    hour_s = np.zeros(t_count)
    solve_s = 0.0
    fallback_hours = []
    for t in range(t_count):
        scale = _hour_scale(c, t)
        hourly.cost.value = (c.energy[:, t] + c.moving[:, t]) / scale
        hourly.resources.value = c.resources[:, t] / inst.capacity[arcs.i]
        hourly.penalty.value = c.unserved[:, t] / scale
        hourly.social.value = c.social[:, t] * inst.weights.social_weight_usd / scale
        for g, env in enumerate(groups):
            weight = dual_scale * theta[g][arcs.i] if algorithm == "dmd" else 1.0
            hourly.env[g].value = env[:, t] * weight / scale
            hourly.env_so_far[g].value = env_so_far[g] / scale
        tick = time.perf_counter()
        x, u, fallback = hourly.solve(where=f"hour {inst.times[t].isoformat()}")
        hour_s[t] = time.perf_counter() - tick
        solve_s += float(hourly.problem.solver_stats.solve_time or 0.0)
        if fallback:
            fallback_hours.append(t)
        x_all[:, t], u_all[:, t] = x, u
        for g, env in enumerate(groups):
            env_t = arcs.by_dc @ (env[:, t] * np.maximum(x, 0.0))
            env_so_far[g] += env_t
            bound = env[:, t].max()  # one region's whole demand on the dirtiest arc this hour
            if algorithm == "dmd" and bound > 0:
                # exponentiated gradient ascent on the simplex, the gradient brought to O(1) by
                # a bound that does not depend on the decision (dividing by env_t.max() would
                # erase how much more one site emitted than another: theta would settle where
                # the sites are each the hour's worst equally often, not where H_i are even)
                theta[g] = theta[g] * np.exp(step * env_t / bound)
                theta[g] /= theta[g].sum()

    x_all, u_all = clean_fractions(arcs, x_all, u_all)
    return Solution(
        policy=policy, arcs=arcs, x=x_all, u=u_all, mode="online", algorithm=algorithm,
        solver="HIGHS" if not policy.conic else "CLARABEL",
        objective_usd=objective_terms(inst, policy, arcs, x_all, u_all)["total_usd"],
        solve_s=solve_s, total_s=time.perf_counter() - started,
        fallback_hours=fallback_hours, hour_solve_s=hour_s,
    )


def _hour_scale(c, t: int) -> float:
    """A dollar figure of the order of one hour's cost, so the solver sees O(1) numbers."""
    per_arc = c.energy[:, t] + c.env[:, t] + c.moving[:, t]
    positive = per_arc[per_arc > 0]
    return float(np.median(positive)) if len(positive) else 1.0
