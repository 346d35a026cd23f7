"""Offline GLB at year scale: Dantzig-Wolfe column generation over hours.

The offline problem (cosim.glb.offline) couples its hours only through each site's
horizon environmental total H_i = sum_t h_ti(x_t), inside the norm ||H||_q (one per
group with env_norm separate). Written per hour, with f_t the hour's energy, moving,
unserved and social cost and X_t its feasible set (served + unserved = 1, capacity):

    min  sum_t f_t(x_t) + sum_g N_g(H_g),   H_g = sum_t h_gt(x_t),   x_t in X_t

Dantzig-Wolfe keeps, per hour, a few solutions x_t^k (columns) with their cost f_t^k
and footprint h_t^k (one N-vector per group), and solves a small *master* over convex
weights lambda_tk per hour:

    min  sum_tk lambda_tk f_t^k + sum_g N_g(sum_tk lambda_tk h_gt^k),   sum_k lambda_tk = 1

Its multipliers on the totals, theta_g = grad N_g(H_g*) (the gradient of the scaled
norm at the master's totals; the solver's dual for q = inf), price each hour
independently: min f_t(x) + sum_g theta_g . h_gt(x), which is the env-linear hourly
problem of the online dual algorithm (env per arc weighted by theta[site]). Bounds:

- lower: sum_t of the pricing values (the Lagrangian dual at theta; the conjugate of the
  norm is 0 there because theta lies in the dual-norm ball, projected into it if the
  solver's dual strays);
- upper: the master's objective at its weights, which bounds the true objective of the
  allocation x_t = sum_k lambda_tk x_t^k (feasible: X_t is convex; f_t convex). It never
  rises: each master is written around the last one's mix (weights moved away from it,
  objective divided by its value, so the solver sees O(1) numbers and the last mix is a
  feasible point), and a solver point worse than the last mix (an inaccurate end) is a
  failure, handled by a line search between the two (_master).

The gap (upper - lower) / |upper| falls to the stated tolerance: the master is a
cutting-plane (Kelley) model of the concave dual, which converges (finitely for an LP,
e-glb; in the limit for the conic se-glb). Columns unused for `_MAX_AGE` masters are
dropped to keep the master and the memory small.

A horizon longer than SAMPLE_ABOVE_HOURS starts from the multipliers of the same
decomposition on a sample of its hours (every k-th, about SAMPLE_HOURS): the gradient of
a norm depends only on its totals' proportions, which the sample estimates, and the first
full pricing is then close to the optimal theta (at 8,760 h it saves the passes that move
theta from the uniform start, each a pricing of the whole year).

Policies with no horizon coupling (q_env None or 1: the env norm is the plain sum, linear)
need one pass: each hour solved alone, gap 0.

The hour subproblems run in chunks of hours, on a dask.distributed Client when given
(each worker builds its hourly problem once per solve and keeps it), else serially here.
`_solve_hours` is the one place that solves them.
"""
from __future__ import annotations

import logging
import math
import time
import uuid
import warnings
from dataclasses import dataclass, fields, replace

import cvxpy as cp
import numpy as np
import scipy.sparse as sp

from cosim.glb.formulation import (
    Arcs,
    Coefficients,
    Solution,
    clean_fractions,
    coefficients,
    lq,
    make_arcs,
    objective_terms,
)
from cosim.glb.guard import check_coefficients, check_instance
from cosim.glb.hour_inputs import hour_inputs
from cosim.glb.norms import column_norms
from cosim.glb.online import hourly_problem
from cosim.glb.policies import Policy
from cosim.glb.solve import solve_problem
from cosim.instance import Instance

_log = logging.getLogger(__name__)

DEFAULT_GAP = 1e-5
"""The relative gap (upper - lower bound) / |upper| at which the decomposition stops."""

MAX_ITERATIONS = 200
"""Masters at most; a solve that has not reached its gap by then reports the gap it has."""

SAMPLE_ABOVE_HOURS = 1000
"""Horizons longer than this start from the multipliers of a sample of their hours (_sampled_theta)."""

SAMPLE_HOURS = 360
"""About how many hours that sample has."""

_MAX_AGE = 8
"""A column whose weight stayed 0 in this many masters in a row is dropped."""

_MASTER_CLARABEL = {"tol_gap_abs": 1e-9, "tol_gap_rel": 1e-9, "tol_feas": 1e-9, "tol_ktratio": 1e-7, "max_iter": 500,
                    "reduced_tol_gap_abs": 1e-7, "reduced_tol_gap_rel": 1e-7, "reduced_tol_feas": 1e-7,
                    "reduced_tol_ktratio": 1e-5}
"""Clarabel's settings for the master (see _solve_master), whose objective is O(1) (_master):
1e-9, and "almost solved" (cvxpy's optimal_inaccurate) only within 1e-7, not Clarabel's
default 5e-5 (at which masters of 8,760 hours stalled the gap near 2e-4)."""

_WEIGHT_TOL = 1e-9
"""Master weights below this count as 0 (for the columns' ages)."""


@dataclass(frozen=True)
class HourBatch:
    """The priced solutions of a run of hours start..stop-1 (n hours)."""

    start: int
    x: np.ndarray  # (n, A) fractions per arc
    u: np.ndarray  # (n, J) unserved fractions
    cost_usd: np.ndarray  # (n,) f_t: energy + moving + unserved + social, USD
    env_usd: np.ndarray  # (n, G, N) h_t: environmental cost per group and site, USD
    fallback: tuple[int, ...]  # hours (of the horizon) whose solve needed a fallback
    solve_s: float  # time inside the solver


def solve_offline_decomposed(inst: Instance, policy: Policy, *, client=None, gap: float = DEFAULT_GAP,
                             chunk_hours: int | None = None, max_iterations: int = MAX_ITERATIONS) -> Solution:
    """The policy's horizon-optimal allocation by column generation over hours (module
    docstring), to a relative gap *gap*; the hours on *client* (a dask.distributed
    Client) in chunks of *chunk_hours*, serially without one."""
    if not (math.isfinite(gap) and gap > 0):
        raise ValueError(f"gap must be a positive number, not {gap}")
    started = time.perf_counter()
    check_instance(inst, where=f"{policy.name} offline: solver input")
    arcs = make_arcs(inst, policy)
    _, _, _, t_count = inst.shape
    hours = _HourSolver(inst, policy, client, chunk_hours)
    try:
        if policy.q_env is None or policy.q_env == 1:
            state = _separable(hours, inst)
        else:
            theta = _sampled_theta(inst, policy, client, gap, max_iterations) if t_count > SAMPLE_ABOVE_HOURS else None
            state = _column_generation(hours, inst, policy, gap, max_iterations, theta)
    finally:
        hours.close()
    xv, uv = clean_fractions(arcs, state.x.T, state.u.T)
    return Solution(
        policy=policy, arcs=arcs, x=xv, u=uv, mode="offline", algorithm="full-horizon",
        solver=_solver_name(policy), objective_usd=objective_terms(inst, policy, arcs, xv, uv)["total_usd"],
        solve_s=state.solve_s, total_s=time.perf_counter() - started,
        fallback_hours=sorted(state.fallback), method="decomposed", iterations=state.iterations, gap=state.gap,
    )


# ---------------------------------------------------------------------------- the coordinator


@dataclass
class _Result:
    x: np.ndarray  # (T, A)
    u: np.ndarray  # (T, J)
    iterations: int
    gap: float
    solve_s: float
    fallback: set[int]
    theta: list[np.ndarray] | None = None  # the last multipliers (decomposed)
    history: list[_Bounds] | None = None  # every master's bounds (decomposed)


def _separable(hours: _HourSolver, inst: Instance) -> _Result:
    """Each hour alone: no env term, or its plain sum (theta = 1 on every site)."""
    groups = inst.weights.env_group_count
    n = len(inst.datacenters)
    batch = hours.price([np.ones(n) for _ in range(groups)])
    return _Result(x=batch.x, u=batch.u, iterations=1, gap=0.0, solve_s=batch.solve_s, fallback=set(batch.fallback))


def _column_generation(hours: _HourSolver, inst: Instance, policy: Policy, gap: float, max_iterations: int,
                       theta: list[np.ndarray] | None = None) -> _Result:
    """Dantzig-Wolfe to the relative *gap* (module docstring), from the multipliers *theta*
    (the norm's gradient at equal totals when None)."""
    n, _, _, t_count = inst.shape
    q = float(policy.q_env)
    scaled = inst.weights.norm_scale == "entries"
    groups = inst.weights.env_group_count
    if theta is None:
        theta = [_uniform_gradient(n, q, scaled) for _ in range(groups)]
    columns: _Columns | None = None
    lower, reached, upper = -math.inf, math.inf, math.inf
    solve_s, fallback, history = 0.0, set(), []
    iterations = 0
    while iterations < max_iterations:
        iterations += 1
        pricing_started = time.perf_counter()
        batch = hours.price(theta)
        pricing_s = time.perf_counter() - pricing_started
        solve_s += batch.solve_s
        fallback |= set(batch.fallback)
        priced = batch.cost_usd + np.einsum("tgn,gn->t", batch.env_usd, np.array(theta))
        lower = max(lower, float(priced.sum()))
        if columns is None:
            columns = _Columns.first(batch)
        else:
            columns.add(batch, priced, theta)
        step = _master(columns, t_count, policy, scaled)
        solve_s += step.solve_s
        upper = step.value_usd  # nonincreasing: the master starts from the last mix and never accepts worse
        reached = (upper - lower) / max(abs(upper), 1e-12)
        history.append(_Bounds(lower_usd=lower, upper_usd=upper, columns=len(columns.hour), status=step.status,
                               accepted=step.accepted))
        _log.info("%s decomposition: master %d, %d columns (%d in the master), pricing %.2f s (solver %.2f s), "
                  "master %.2f s (solver, %s, %s), lower %.6f, upper %.6f USD, gap %.2e", policy.name, iterations,
                  len(columns.hour), step.size, pricing_s, batch.solve_s, step.solve_s, step.status, step.accepted,
                  lower, upper, reached)
        columns.weights = step.weights
        theta = step.theta
        if reached <= gap:
            break
        columns.age()
    x, u = columns.combine(columns.weights, t_count)
    return _Result(x=x, u=u, iterations=iterations, gap=max(reached, 0.0), solve_s=solve_s, fallback=fallback,
                   theta=theta, history=history)


@dataclass(frozen=True)
class _Bounds:
    """One master's bounds (USD), its column count, the solver's status and what was kept."""

    lower_usd: float
    upper_usd: float
    columns: int
    status: str
    accepted: str  # solved | line search | kept (see _master)


def _sampled_theta(inst: Instance, policy: Policy, client, gap: float, max_iterations: int) -> list[np.ndarray]:
    """Starting multipliers for a long horizon: the decomposition's own on every k-th hour
    (about SAMPLE_HOURS of them; k coprime to 24, so every hour of the day is sampled,
    across the seasons). The norm's gradient depends on the totals' proportions only, which
    the sample estimates, so the full horizon starts near its optimal theta."""
    t_count = len(inst.times)
    stride = max(2, round(t_count / SAMPLE_HOURS))
    while math.gcd(stride, 24) != 1:
        stride += 1
    sample = inst.take_hours(np.arange(0, t_count, stride))
    hours = _HourSolver(sample, policy, client, None)
    try:
        state = _column_generation(hours, sample, policy, gap, max_iterations)
    finally:
        hours.close()
    _log.info("%s decomposition: starting multipliers from %d sampled hours (every %d-th), %d masters, gap %.2e",
              policy.name, len(sample.times), stride, state.iterations, state.gap)
    return state.theta


class _Columns:
    """Every hour's kept solutions (columns), as flat arrays over columns m."""

    def __init__(self, hour, x, u, cost, env):
        self.hour, self.x, self.u, self.cost, self.env = hour, x, u, cost, env  # (M,), (M, A), (M, J), (M,), (M, G, N)
        self.idle = np.zeros(len(hour), dtype=int)
        self.weights = np.zeros(len(hour))  # the last master's mix (M,), summing to 1 per hour
        self.weights[np.unique(hour, return_index=True)[1]] = 1.0

    @classmethod
    def first(cls, batch: HourBatch) -> _Columns:
        return cls(np.arange(len(batch.cost_usd)), batch.x, batch.u, batch.cost_usd, batch.env_usd)

    def add(self, batch: HourBatch, priced: np.ndarray, theta: list[np.ndarray]) -> None:
        """Keep the hours' new solutions that price below every kept column of their hour."""
        current = self.cost + np.einsum("mgn,gn->m", self.env, np.array(theta))
        best = np.full(len(priced), np.inf)
        np.minimum.at(best, self.hour, current)
        new = np.flatnonzero(priced < best - 1e-9 * np.maximum(np.abs(best), 1.0))
        self.hour = np.concatenate([self.hour, new])
        self.x = np.concatenate([self.x, batch.x[new]])
        self.u = np.concatenate([self.u, batch.u[new]])
        self.cost = np.concatenate([self.cost, batch.cost_usd[new]])
        self.env = np.concatenate([self.env, batch.env_usd[new]])
        self.idle = np.concatenate([self.idle, np.zeros(len(new), dtype=int)])
        self.weights = np.concatenate([self.weights, np.zeros(len(new))])

    def age(self) -> None:
        """Count the masters each column went unused in the mix (weight 0: _master rounds
        weights below _WEIGHT_TOL to 0); drop the long unused ones, which leaves the mix."""
        self.idle = np.where(self.weights > _WEIGHT_TOL, 0, self.idle + 1)
        keep = self.idle < _MAX_AGE
        if not keep.all():
            for name in ("hour", "x", "u", "cost", "env", "idle", "weights"):
                setattr(self, name, getattr(self, name)[keep])

    def per_hour(self, values: np.ndarray) -> np.ndarray:
        """The sum of *values* (M,) over each hour's columns, (T,) (T = the last hour + 1)."""
        return np.bincount(self.hour, weights=values, minlength=int(self.hour.max()) + 1)

    def value(self, weights: np.ndarray, q: float, scaled: bool) -> float:
        """The master objective at *weights*, USD: an upper bound on the combined allocation's."""
        totals = np.einsum("m,mgn->gn", weights, self.env)
        return float(weights @ self.cost) + float(sum(lq(h, q, scaled=scaled) for h in totals))

    def combine(self, weights: np.ndarray, t_count: int) -> tuple[np.ndarray, np.ndarray]:
        """(x (T, A), u (T, J)): every hour's columns mixed by their weights."""
        mix = sp.csr_matrix((weights, (self.hour, np.arange(len(weights)))), shape=(t_count, len(weights)))
        return np.asarray(mix @ self.x), np.asarray(mix @ self.u)


@dataclass(frozen=True)
class _MasterStep:
    """A master's outcome: the mix (M,), its objective (USD), the next multipliers per group
    (N,), the solver's time (s) and status, the master's column count, and what was kept."""

    weights: np.ndarray
    value_usd: float
    theta: list[np.ndarray]
    solve_s: float
    status: str
    size: int
    accepted: str  # solved: the solver's point; line search: the best point between the last
    # mix and the solver's (which was worse than the last); kept: the last mix (no point at all)


def _master(columns: _Columns, t_count: int, policy: Policy, scaled: bool) -> _MasterStep:
    """The master, written around the last mix (columns.weights): per hour, weights mu >= 0
    on the hour's columns with sum <= 1, the rest staying on the hour's last mix, so

        min  (C0 + sum_m mu_m dc_m) / V0 + sum_g N_g((H0_g + sum_m mu_m dh_gm) / V0)

    with C0, H0 the last mix's cost and totals, dc, dh a column's cost and footprint minus
    its hour's last mix's, V0 the last mix's objective (the solver sees O(1) numbers, and
    the last mix, mu = 0, is feasible with value 1). Columns equal to their hour's mix
    (every column of a one-column hour) are left out. A solver point worse than the last
    mix is a solver failure: the best point on the segment between the two is kept."""
    q = float(policy.q_env)
    w0 = columns.weights
    base = columns.value(w0, q, scaled)
    mix = sp.csr_matrix((w0, (columns.hour, np.arange(len(w0)))), shape=(t_count, len(w0)))
    m_count, g_count, n = columns.env.shape
    mix_cost = mix @ columns.cost  # (T,)
    mix_env = np.asarray(mix @ columns.env.reshape(m_count, -1)).reshape(t_count, g_count, n)
    d_cost = columns.cost - mix_cost[columns.hour]
    d_env = columns.env - mix_env[columns.hour]
    size_usd = np.abs(d_cost) + np.abs(d_env).sum(axis=(1, 2))
    live = np.flatnonzero(size_usd > 1e-12 * max(abs(base), 1.0) / max(t_count, 1))
    if len(live) == 0:
        return _MasterStep(w0, base, _theta_at(columns, w0, q, scaled, None), 0.0, "no new columns", 0, "kept")
    scale = max(abs(base), 1e-12)
    hours_live, row = np.unique(columns.hour[live], return_inverse=True)
    mu = cp.Variable(len(live), nonneg=True, name="mu")
    per_hour = sp.csr_matrix((np.ones(len(live)), (row, np.arange(len(live)))), shape=(len(hours_live), len(live)))
    objective = float(w0 @ columns.cost) / scale + (d_cost[live] / scale) @ mu
    constraints = [per_hour @ mu <= 1]
    links = []
    totals0 = mix_env.sum(axis=0)  # (G, N)
    for g in range(g_count):
        total = cp.Variable(n)
        link = total == totals0[g] / scale + (d_env[live, g, :].T / scale) @ mu
        norm, cons = column_norms(total, q, scaled)
        objective += norm
        constraints += [link, *cons]
        links.append(link)
    problem = cp.Problem(cp.Minimize(objective), constraints)
    status = _solve_master(problem, conic=q not in (1.0, math.inf), where=f"{policy.name} decomposition master")
    solve_s = float(problem.solver_stats.solve_time or 0.0) if problem.solver_stats else 0.0
    if mu.value is None:
        return _MasterStep(w0, base, _theta_at(columns, w0, q, scaled, None), solve_s, status, len(live), "kept")
    step = np.zeros(len(w0))
    step[live] = np.clip(mu.value, 0.0, None)
    taken = np.asarray(per_hour @ step[live]).ravel()
    over = np.ones(t_count)
    over[hours_live] = np.maximum(taken, 1.0)
    step /= over[columns.hour]  # every hour's new weights sum to 1 at most
    rest = np.ones(t_count)
    rest[hours_live] -= np.minimum(taken, 1.0)
    w1 = _rounded(columns, w0 * rest[columns.hour] + step)
    value = columns.value(w1, q, scaled)
    duals = [-np.asarray(link.dual_value, dtype=float) for link in links] if math.isinf(q) else None
    if value <= base:
        return _MasterStep(w1, value, _theta_at(columns, w1, q, scaled, duals), solve_s, status, len(live), "solved")
    _log.warning("%s decomposition master: the solver's point (%s) is worse than the last mix by %.2e relative; "
                 "kept the best point between them", policy.name, status, (value - base) / scale)
    w2 = _rounded(columns, _line_search(columns, w0, w1, q, scaled))
    value = columns.value(w2, q, scaled)
    if value > base:
        w2, value = w0, base
    return _MasterStep(w2, value, _theta_at(columns, w2, q, scaled, None), solve_s, status, len(live), "line search")


def _rounded(columns: _Columns, weights: np.ndarray) -> np.ndarray:
    """*weights* with entries below _WEIGHT_TOL set to 0 and every hour's renormalized to 1."""
    weights = np.where(weights > _WEIGHT_TOL, weights, 0.0)
    return weights / columns.per_hour(weights)[columns.hour]


def _line_search(columns: _Columns, w0: np.ndarray, w1: np.ndarray, q: float, scaled: bool) -> np.ndarray:
    """The best mix on the segment w0 + s (w1 - w0), s in [0, 1] (golden section on the
    convex master objective)."""
    def value(s: float) -> float:
        return columns.value(w0 + s * (w1 - w0), q, scaled)

    ratio = (math.sqrt(5.0) - 1.0) / 2.0
    a, b = 0.0, 1.0
    c, d = b - ratio * (b - a), a + ratio * (b - a)
    fc, fd = value(c), value(d)
    for _ in range(60):
        if fc <= fd:
            b, d, fd = d, c, fc
            c = b - ratio * (b - a)
            fc = value(c)
        else:
            a, c, fc = c, d, fd
            d = a + ratio * (b - a)
            fd = value(d)
    return w0 + min((0.0, a, b), key=value) * (w1 - w0)


def _theta_at(columns: _Columns, weights: np.ndarray, q: float, scaled: bool, duals: list[np.ndarray] | None) -> list[np.ndarray]:
    """The next multipliers: the norm's gradient at the mix's totals per group (for q = inf
    the master's duals on the totals when given, projected into the dual-norm ball)."""
    n = columns.env.shape[2]
    totals = np.einsum("m,mgn->gn", weights, columns.env)
    if math.isinf(q):
        if duals is not None:
            return [_into_dual_ball(d, q, scaled, n) for d in duals]
        return [_max_subgradient(h, scaled) for h in totals]
    return [_gradient(h, q, scaled) for h in totals]


def _max_subgradient(total: np.ndarray, scaled: bool) -> np.ndarray:
    """A subgradient of the (scaled) max at *total* (N,): the factor on the largest entry."""
    theta = np.zeros(len(total))
    theta[int(np.argmax(total))] = float(len(total)) if scaled else 1.0
    return theta


def _solve_master(problem: cp.Problem, *, conic: bool, where: str) -> str:
    """Solve the master; return the solver and its status ("CLARABEL optimal"). With a
    conic norm, Clarabel to tight tolerances first (at the project's usual 1e-7 its weights
    leave columns with reduced cost ~1e-5 of the objective in the mix and the bounds stall
    at that gap), an inaccurate end kept (the caller checks its point against the last
    mix), else as any problem."""
    if conic:
        try:
            with warnings.catch_warnings():  # an inaccurate end is checked by the caller
                warnings.simplefilter("ignore", UserWarning)
                problem.solve(solver="CLARABEL", **_MASTER_CLARABEL)
            if problem.status in (cp.OPTIMAL, cp.OPTIMAL_INACCURATE):
                return f"CLARABEL {problem.status}"
        except cp.error.SolverError:
            pass
    solver, _ = solve_problem(problem, conic=conic, where=where)
    return f"{solver} {problem.status}"


def _gradient(total: np.ndarray, q: float, scaled: bool) -> np.ndarray:
    """The gradient of the (scaled) q-norm at the nonnegative totals *total* (N,)."""
    n = len(total)
    norm = float(lq(total, q, scaled=False))
    if norm <= 0:
        return _uniform_gradient(n, q, scaled)
    factor = n ** (1.0 - 1.0 / q) if scaled else 1.0
    return factor * (total / norm) ** (q - 1.0)


def _uniform_gradient(n: int, q: float, scaled: bool) -> np.ndarray:
    """The norm's gradient at equal totals: 1 per site scaled (the dual-norm ball's point
    along the diagonal), n^(1/q - 1) unscaled."""
    if math.isinf(q):
        return np.full(n, 1.0 if scaled else 1.0 / n)
    return np.full(n, 1.0 if scaled else n ** (1.0 / q - 1.0))


def _into_dual_ball(theta: np.ndarray, q: float, scaled: bool, n: int) -> np.ndarray:
    """*theta* (N,) made a valid multiplier: nonnegative, dual norm at most the norm's factor."""
    theta = np.clip(theta, 0.0, None)
    factor = (n ** (1.0 - 1.0 / q) if not math.isinf(q) else n) if scaled else 1.0
    dual_q = 1.0 if math.isinf(q) else q / (q - 1.0)
    size = float(lq(theta, dual_q, scaled=False))
    return theta * (factor / size) if size > factor else theta


# ---------------------------------------------------------------------------- the hours


class _HourSolver:
    """The hours' pricing problems at multipliers theta, in chunks: on a Dask client, or here."""

    def __init__(self, inst: Instance, policy: Policy, client, chunk_hours: int | None):
        t_count = len(inst.times)
        if chunk_hours is None:
            workers = len(client.scheduler_info().get("workers", {})) if client is not None else 1
            chunk_hours = max(24, math.ceil(t_count / (4 * max(workers, 1)))) if client is not None else t_count
        self.inst, self.policy, self.client = inst, policy, client
        self.key = uuid.uuid4().hex  # the workers' cache of this solve's hourly problem
        self.chunks = [(s, min(s + chunk_hours, t_count)) for s in range(0, t_count, chunk_hours)]
        self.windows = [inst.window(s, e) for s, e in self.chunks]
        if client is not None:
            self.windows = client.scatter(self.windows)

    def price(self, theta: list[np.ndarray]) -> HourBatch:
        """Every hour priced at *theta*, joined in hour order."""
        theta = [np.asarray(t, dtype=float) for t in theta]
        if self.client is None:
            batches = [_price_chunk(self.key, w, self.policy, s, theta) for w, (s, _) in zip(self.windows, self.chunks)]
        else:
            futures = [self.client.submit(_price_chunk, self.key, w, self.policy, s, theta, pure=False)
                       for w, (s, _) in zip(self.windows, self.chunks)]
            batches = self.client.gather(futures)
        return HourBatch(
            start=0, x=np.concatenate([b.x for b in batches]), u=np.concatenate([b.u for b in batches]),
            cost_usd=np.concatenate([b.cost_usd for b in batches]),
            env_usd=np.concatenate([b.env_usd for b in batches]),
            fallback=tuple(h for b in batches for h in b.fallback), solve_s=sum(b.solve_s for b in batches),
        )

    def close(self) -> None:
        """Forget this solve's hourly problem (here; the workers replace theirs at the next solve)."""
        _PROBLEMS.pop(self.key, None)
        for chunk in [k for k in _HOURS if k[0] == self.key]:
            del _HOURS[chunk]
        if self.client is not None:
            self.client.cancel(self.windows)


_PROBLEMS: dict[str, tuple[Arcs, object]] = {}
"""The process's (a Dask worker's) hourly problem of the solve under way, by solve key."""

_HOURS: dict[tuple[str, int], Coefficients] = {}
"""The process's chunks' coefficients, hour-major (see _by_hour), by (solve key, first hour)."""


def _price_chunk(key: str, window: Instance, policy: Policy, start: int, theta: list[np.ndarray]) -> HourBatch:
    """The hours of *window* (the horizon's hours start.. ) priced at *theta*: a task."""
    if key not in _PROBLEMS:
        _PROBLEMS.clear()  # one solve at a time per process
        _HOURS.clear()
        arcs = make_arcs(window, policy)
        _PROBLEMS[key] = (arcs, _pricing_problem(window, policy, arcs))
    arcs, problem = _PROBLEMS[key]
    if (key, start) not in _HOURS:  # each chunk's coefficients once per solve, not once per master
        c = coefficients(window, arcs)
        check_coefficients(c, where=f"{policy.name} offline decomposition: solver input")
        _HOURS[(key, start)] = _by_hour(c)
    return _solve_hours(window, policy, arcs, problem, start, theta, _HOURS[(key, start)])


def _by_hour(c: Coefficients) -> Coefficients:
    """*c* with every array transposed to (T, A) (unserved (T, J)) and contiguous, so an
    hour's row is one slice and its Coefficients (_hour) costs views, not copies."""
    return Coefficients(**{f.name: np.ascontiguousarray(getattr(c, f.name).T) for f in fields(Coefficients)})


def _hour(by_hour: Coefficients, t: int) -> Coefficients:
    """Hour *t* of the hour-major *by_hour* as a one-hour Coefficients ((A, 1) views): the
    hourly inputs then touch A numbers, where the whole window's (A, T) arrays would make
    every hour's env sum a pass over all hours (quadratic in the chunk's length)."""
    return Coefficients(**{f.name: getattr(by_hour, f.name)[t][:, None] for f in fields(Coefficients)})


def _pricing_problem(window: Instance, policy: Policy, arcs: Arcs):
    """The hour's pricing problem in the solvers' own form (cosim.glb.online.hourly_problem):
    environmental costs linear, priced per site by theta, so the env norm's q does not
    matter here (written as q = 1: an LP unless the social norm is conic)."""
    linear_env = replace(policy, q_env=None if policy.q_env is None else 1.0)
    return hourly_problem(window, linear_env, arcs, env_linear=True)


def _solve_hours(window: Instance, policy: Policy, arcs: Arcs, problem, start: int,
                 theta: list[np.ndarray], by_hour: Coefficients) -> HourBatch:
    """Each hour of *window* solved alone: min f_t(x) + sum_g theta_g . h_gt(x), with its
    cost f_t and footprints h_gt (USD) evaluated at the solution; *by_hour*: the window's
    coefficients hour-major (_by_hour). The one place the hour subproblems are solved."""
    weights = window.weights
    groups = by_hour.env_groups(weights.env_norm)  # (T, A) each
    _, j_count, _, t_count = window.shape
    x = np.zeros((t_count, len(arcs)))
    u = np.zeros((t_count, j_count))
    fallback, solve_s = [], 0.0
    for t in range(t_count):
        inputs, _ = hour_inputs(window, arcs, _hour(by_hour, t), 0, env_weights=[theta[g] for g in range(len(groups))])
        xt, ut, needed, seconds = problem.solve(inputs, where=f"hour {window.times[t].isoformat()}")
        solve_s += seconds
        if needed:
            fallback.append(start + t)
        xt, ut = clean_fractions(arcs, xt[:, None], ut[:, None])
        x[t], u[t] = xt[:, 0], ut[:, 0]
    c = by_hour
    cost = ((c.energy + c.moving) * x).sum(axis=1) + (c.unserved * u).sum(axis=1)
    if policy.q_social is not None:
        loss = arcs.by_region @ (c.social * x).T  # (R, n) points
        cost = cost + weights.social_weight_usd * lq(loss, policy.q_social, scaled=weights.norm_scale == "entries")
    env = np.stack([(arcs.by_dc @ (e * x).T).T for e in groups], axis=1)  # (n, G, N)
    return HourBatch(start=start, x=x, u=u, cost_usd=cost, env_usd=env, fallback=tuple(fallback), solve_s=solve_s)


def _solver_name(policy: Policy) -> str:
    """The solver of the hour subproblems (the master's is Clarabel for a conic env norm)."""
    return "CLARABEL" if policy.conic else "HIGHS"
