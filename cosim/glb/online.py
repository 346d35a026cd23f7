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

`OnlineSolver` keeps that state and decides one hour at a time from whatever signals it
is given (an operator's decision rule: `decide` returns a Choice, `commit` carries it),
so the co-simulation's operators can feed it the grids' published signals;
`solve_online` runs it over an instance's own signals. Two optional terms damp herding
when several operators share the grids: a switching cost on moving a user's demand
between arcs from one hour to the next (`damping`, in multiples of the hour's typical
arc cost per unit of demand moved) and a cap on the share of each user's demand served
away from its local site (`max_shift`).
"""
from __future__ import annotations

import math
import time

import cvxpy as cp
import numpy as np

from agents.hour import Choice
from cosim.glb.formulation import Arcs, Solution, clean_fractions, coefficients, make_arcs, objective_terms
from cosim.glb.guard import check_coefficients, check_instance
from cosim.glb.norms import column_norms
from cosim.glb.policies import Policy
from cosim.glb.solve import solve_problem
from cosim.instance import Instance


class HourlyProblem:
    """One hour of a GLB policy as a DPP problem: set the parameters, call solve()."""

    def __init__(self, inst: Instance, policy: Policy, arcs: Arcs, *, env_linear: bool,
                 damping: bool = False, max_shift: bool = False):
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
        if damping:  # switching cost: |x - x_prev| per arc, priced per unit of demand moved
            self.move_cost = cp.Parameter(nonneg=True, name="move_cost")
            self.x_prev = cp.Parameter(a, nonneg=True, name="x_prev")
            moved = cp.Variable(a, nonneg=True)
            objective += self.move_cost * cp.sum(moved)
            constraints += [moved >= self.x - self.x_prev, moved >= self.x_prev - self.x]
        if max_shift:  # at most this share of each user's demand away from its local site
            self.max_shift = cp.Parameter(nonneg=True, name="max_shift")
            away = arcs.by_user.multiply((arcs.i != inst.local[arcs.j]).astype(float)[None, :]).tocsr()
            constraints.append(away @ self.x <= self.max_shift)
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


class OnlineSolver:
    """A policy deciding hour by hour: the DPP problem built once, the environmental state
    (myopic totals or dual weights) carried from one decision to the next."""

    def __init__(self, inst: Instance, policy: Policy, algorithm: str | None = None, *,
                 damping: float = 0.0, max_shift: float | None = None):
        if algorithm is None:
            algorithm = "dmd" if policy.q_env is not None and math.isinf(policy.q_env) else "myopic"
        if algorithm == "dmd" and not (policy.q_env is not None and math.isinf(policy.q_env)):
            raise ValueError("dual mirror descent needs q_env = inf (the E-GLB minimax)")
        check_instance(inst, where=f"{policy.name} online: solver input")
        self.inst, self.policy, self.algorithm = inst, policy, algorithm
        self.damping, self.max_shift = damping, max_shift
        self.arcs = make_arcs(inst, policy)
        n, _, _, t_count = inst.shape
        self.problem = HourlyProblem(inst, policy, self.arcs, env_linear=algorithm == "dmd",
                                     damping=damping > 0, max_shift=max_shift is not None)
        groups = 1 if inst.weights.env_norm == "combined" else 2
        self.env_so_far = [np.zeros(n) for _ in range(groups)]  # USD per data center
        self.theta = [np.full(n, 1.0 / n) for _ in range(groups)]
        self.step = math.sqrt(2.0 * math.log(max(n, 2)) / t_count)
        # the scaled minimax norm is N x max_i H_i = max over the simplex of N theta . H
        self.dual_scale = n if inst.weights.norm_scale == "entries" else 1.0
        self.x_prev: np.ndarray | None = None
        self.solve_s = 0.0

    def decide(self, hour: int, shown: Instance) -> Choice:
        """Fractions (x per arc, u per user) for the one-hour instance *shown* (this
        solver's users, sites and models; its signals are the ones to decide on) of hour
        *hour*, and whether a fallback solver was needed. The carried state is untouched
        until the choice is committed (a same-hour iteration may decide again)."""
        arcs, hourly, inst = self.arcs, self.problem, self.inst
        where = f"{self.policy.name} online, hour {hour}: solver input"
        check_instance(shown, hourly_only=True, where=where)
        c = coefficients(shown, arcs)
        check_coefficients(c, where=where)
        scale = _hour_scale(c, 0)
        hourly.cost.value = (c.energy[:, 0] + c.moving[:, 0]) / scale
        hourly.resources.value = c.resources[:, 0] / inst.capacity[arcs.i]
        hourly.penalty.value = c.unserved[:, 0] / scale
        hourly.social.value = c.social[:, 0] * inst.weights.social_weight_usd / scale
        groups = c.env_groups(inst.weights.env_norm)
        for g, env in enumerate(groups):
            weight = self.dual_scale * self.theta[g][arcs.i] if self.algorithm == "dmd" else 1.0
            hourly.env[g].value = env[:, 0] * weight / scale
            hourly.env_so_far[g].value = self.env_so_far[g] / scale
        if self.damping > 0:
            hourly.move_cost.value = self.damping  # the hour's costs are scaled to O(1)
            hourly.x_prev.value = self.x_prev if self.x_prev is not None else np.zeros(len(arcs))
            if self.x_prev is None:
                hourly.move_cost.value = 0.0  # nothing to move from in the first hour
        if self.max_shift is not None:
            hourly.max_shift.value = self.max_shift
        x, u, fallback = hourly.solve(where=f"hour {shown.times[0].isoformat()}")
        self.solve_s += float(hourly.problem.solver_stats.solve_time or 0.0)
        x, u = clean_fractions(arcs, x[:, None], u[:, None])
        return Choice(x=x[:, 0], u=u[:, 0], fallback=fallback, carry=tuple(env[:, 0] for env in groups))

    def commit(self, choice: Choice) -> None:
        """Carry *choice* (one of this solver's decisions) into the state: the previous
        fractions of the switching cost, the environmental totals so far, the dual weights."""
        x = choice.x
        self.x_prev = x
        for g, env in enumerate(choice.carry):
            env_t = self.arcs.by_dc @ (env * x)
            self.env_so_far[g] += env_t
            bound = env.max()  # one user's whole demand on the dirtiest arc this hour
            if self.algorithm == "dmd" and bound > 0:
                # exponentiated gradient ascent on the simplex, the gradient brought to O(1) by
                # a bound that does not depend on the decision (dividing by env_t.max() would
                # erase how much more one site emitted than another: theta would settle where
                # the sites are each the hour's worst equally often, not where H_i are even)
                self.theta[g] = self.theta[g] * np.exp(self.step * env_t / bound)
                self.theta[g] /= self.theta[g].sum()


def solve_online(inst: Instance, policy: Policy, algorithm: str | None = None, *,
                 damping: float = 0.0, max_shift: float | None = None) -> Solution:
    """Run the policy hour by hour on the instance's own signals; *algorithm* is myopic or
    dmd (default: dmd for q_env = inf)."""
    started = time.perf_counter()
    solver = OnlineSolver(inst, policy, algorithm, damping=damping, max_shift=max_shift)
    _, j_count, _, t_count = inst.shape
    x_all = np.zeros((len(solver.arcs), t_count))
    u_all = np.zeros((j_count, t_count))
    hour_s = np.zeros(t_count)
    fallback_hours = []
    for t in range(t_count):
        tick = time.perf_counter()
        choice = solver.decide(t, inst.window(t, t + 1))
        solver.commit(choice)
        x_all[:, t], u_all[:, t] = choice.x, choice.u
        hour_s[t] = time.perf_counter() - tick
        if choice.fallback:
            fallback_hours.append(t)
    return Solution(
        policy=policy, arcs=solver.arcs, x=x_all, u=u_all, mode="online", algorithm=solver.algorithm,
        solver="HIGHS" if not policy.conic else "CLARABEL",
        objective_usd=objective_terms(inst, policy, solver.arcs, x_all, u_all)["total_usd"],
        solve_s=solver.solve_s, total_s=time.perf_counter() - started,
        fallback_hours=fallback_hours, hour_solve_s=hour_s,
    )


def _hour_scale(c, t: int) -> float:
    """A dollar figure of the order of one hour's cost, so the solver sees O(1) numbers."""
    per_arc = c.energy[:, t] + c.env[:, t] + c.moving[:, t]
    positive = per_arc[per_arc > 0]
    return float(np.median(positive)) if len(positive) else 1.0
