"""Online GLB: hour by hour, with no data from the future.

The hourly problem is built once per policy and re-solved every hour with new prices,
intensities and demand, from one HourInputs (cosim.glb.hour_inputs) per hour: by
default in the solvers' own form (cosim.glb.native_lp for HiGHS, cosim.glb.native_conic
for Clarabel: sparse data assembled once, updated in place), or, with
``backend="reference"``, through the cvxpy formulation with Parameters (DPP), the
readable reference of the model that the tests check the fast path against. Two ways to handle the
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
from cosim.glb.hour_inputs import HourInputs, hour_inputs
from cosim.glb.native_conic import ConicHourlyProblem
from cosim.glb.native_lp import LpHourlyProblem
from cosim.glb.norms import column_norms
from cosim.glb.policies import Policy
from cosim.glb.solve import solve_problem
from cosim.instance import Instance


class HourlyProblem:
    """One hour of a GLB policy as a DPP problem, the readable reference of the hourly
    model: solve(inputs) sets the parameters from an HourInputs and solves through cvxpy."""

    def __init__(self, inst: Instance, policy: Policy, arcs: Arcs, *, env_linear: bool,
                 damping: bool = False, max_shift: bool = False):
        n, j_count, _, _ = inst.shape
        a = len(arcs)
        scaled = inst.weights.norm_scale == "entries"
        groups = inst.weights.env_group_count
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

    def set(self, inputs: HourInputs) -> None:
        """The hour's numbers into the parameters."""
        self.cost.value = inputs.cost
        self.resources.value = inputs.resources
        self.penalty.value = inputs.penalty
        self.social.value = inputs.social
        for g, (env, so_far) in enumerate(zip(inputs.env, inputs.env_so_far)):
            self.env[g].value = env
            self.env_so_far[g].value = so_far
        if hasattr(self, "move_cost"):
            self.move_cost.value = inputs.move_cost
            self.x_prev.value = inputs.previous()
        if hasattr(self, "max_shift"):
            self.max_shift.value = inputs.max_shift if inputs.max_shift is not None else 1.0

    def solve(self, inputs: HourInputs, where: str = "hour") -> tuple[np.ndarray, np.ndarray, bool, float]:
        """Solve the hour: (x, u, fallback needed, seconds in the solver)."""
        self.set(inputs)
        _, fallback = solve_problem(self.problem, conic=self.policy.conic, where=where)
        self.objective_value = float(self.problem.value)
        return self.x.value, self.u.value, fallback, float(self.problem.solver_stats.solve_time or 0.0)


BACKENDS = ("native", "reference")
"""How the hourly problem is solved: in the solvers' own form (HiGHS, Clarabel) or through cvxpy."""


def hourly_problem(inst: Instance, policy: Policy, arcs: Arcs, *, env_linear: bool, damping: bool = False,
                   max_shift: bool = False, backend: str = "native"):
    """The hourly problem of *policy*: LpHourlyProblem (HiGHS) or ConicHourlyProblem (Clarabel)
    for the native backend, the cvxpy HourlyProblem for the reference; each with
    ``solve(inputs, where) -> (x, u, fallback, solver_s)``."""
    options = {"env_linear": env_linear, "damping": damping, "max_shift": max_shift}
    if backend == "reference":
        return HourlyProblem(inst, policy, arcs, **options)
    if backend != "native":
        raise ValueError(f"unknown backend '{backend}' (known: {', '.join(BACKENDS)})")
    if policy.conic:
        return ConicHourlyProblem(inst, policy, arcs, **options)
    return LpHourlyProblem(inst, policy, arcs, **options)


class OnlineSolver:
    """A policy deciding hour by hour: the DPP problem built once, the environmental state
    (myopic totals or dual weights) carried from one decision to the next."""

    def __init__(self, inst: Instance, policy: Policy, algorithm: str | None = None, *,
                 damping: float = 0.0, max_shift: float | None = None, backend: str = "native"):
        if algorithm is None:
            algorithm = "dmd" if policy.q_env is not None and math.isinf(policy.q_env) else "myopic"
        if algorithm == "dmd" and not (policy.q_env is not None and math.isinf(policy.q_env)):
            raise ValueError("dual mirror descent needs q_env = inf (the E-GLB minimax)")
        check_instance(inst, where=f"{policy.name} online: solver input")
        self.inst, self.policy, self.algorithm = inst, policy, algorithm
        self.damping, self.max_shift = damping, max_shift
        self.arcs = make_arcs(inst, policy)
        n, _, _, t_count = inst.shape
        self.problem = hourly_problem(inst, policy, self.arcs, env_linear=algorithm == "dmd",
                                      damping=damping > 0, max_shift=max_shift is not None, backend=backend)
        self.backend = backend
        groups = inst.weights.env_group_count
        self.env_so_far = [np.zeros(n) for _ in range(groups)]  # USD per data center
        self.theta = [np.full(n, 1.0 / n) for _ in range(groups)]
        self.step = math.sqrt(2.0 * math.log(max(n, 2)) / t_count)
        # the scaled minimax norm is N x max_i H_i = max over the simplex of N theta . H
        self.dual_scale = n if inst.weights.norm_scale == "entries" else 1.0
        self.x_prev: np.ndarray | None = None
        self.solve_s = 0.0
        self.last_inputs: HourInputs | None = None  # the last decision's numbers

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
        inputs = self.inputs(c)
        x, u, fallback, solver_s = hourly.solve(inputs, where=f"hour {shown.times[0].isoformat()}")
        self.solve_s += solver_s
        self.last_inputs = inputs
        x, u = clean_fractions(arcs, x[:, None], u[:, None])
        groups = c.env_groups(inst.weights.env_norm)
        return Choice(x=x[:, 0], u=u[:, 0], fallback=fallback, carry=tuple(env[:, 0] for env in groups))

    def inputs(self, c) -> HourInputs:
        """The hour's HourInputs from its coefficients *c* (one hour) and the carried state."""
        weights = None
        if self.algorithm == "dmd":
            weights = [self.dual_scale * theta for theta in self.theta]
        # the hour's costs are scaled to O(1), so damping is in multiples of the hour's cost;
        # nothing to move from in the first hour
        move_cost = self.damping if self.damping > 0 and self.x_prev is not None else 0.0
        inputs, _ = hour_inputs(self.inst, self.arcs, c, 0, env_weights=weights, env_so_far=self.env_so_far,
                                move_cost=move_cost, x_prev=self.x_prev if self.damping > 0 else None,
                                max_shift=self.max_shift)
        return inputs

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
                 damping: float = 0.0, max_shift: float | None = None, backend: str = "native") -> Solution:
    """Run the policy hour by hour on the instance's own signals; *algorithm* is myopic or
    dmd (default: dmd for q_env = inf); *backend* native (the solvers' own form) or
    reference (cvxpy)."""
    started = time.perf_counter()
    solver = OnlineSolver(inst, policy, algorithm, damping=damping, max_shift=max_shift, backend=backend)
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

