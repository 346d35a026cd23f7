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
  allocation x_t = sum_k lambda_tk x_t^k (feasible: X_t is convex; f_t convex).

The gap (upper - lower) / |upper| falls to the stated tolerance: the master is a
cutting-plane (Kelley) model of the concave dual, which converges (finitely for an LP,
e-glb; in the limit for the conic se-glb). Columns unused for `_MAX_AGE` masters are
dropped to keep the master and the memory small.

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

_MAX_AGE = 8
"""A column whose weight stayed 0 in this many masters in a row is dropped."""

_MASTER_CLARABEL = {"tol_gap_abs": 1e-10, "tol_gap_rel": 1e-10, "tol_feas": 1e-10, "tol_ktratio": 1e-8, "max_iter": 500}
"""Clarabel's settings for the master (see _solve_master)."""

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
            state = _column_generation(hours, inst, policy, gap, max_iterations)
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


def _separable(hours: _HourSolver, inst: Instance) -> _Result:
    """Each hour alone: no env term, or its plain sum (theta = 1 on every site)."""
    groups = inst.weights.env_group_count
    n = len(inst.datacenters)
    batch = hours.price([np.ones(n) for _ in range(groups)])
    return _Result(x=batch.x, u=batch.u, iterations=1, gap=0.0, solve_s=batch.solve_s, fallback=set(batch.fallback))


def _column_generation(hours: _HourSolver, inst: Instance, policy: Policy, gap: float, max_iterations: int) -> _Result:
    """Dantzig-Wolfe to the relative *gap* (module docstring)."""
    n, _, _, t_count = inst.shape
    q = float(policy.q_env)
    scaled = inst.weights.norm_scale == "entries"
    groups = inst.weights.env_group_count
    theta = [_uniform_gradient(n, q, scaled) for _ in range(groups)]
    columns: _Columns | None = None
    lower, reached = -math.inf, math.inf
    weights = np.zeros(0)
    solve_s, fallback = 0.0, set()
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
        weights, theta_next, master_s = _master(columns, t_count, policy, scaled)
        solve_s += master_s
        upper = columns.value(weights, q, scaled)  # nonincreasing: only unused columns are dropped
        reached = (upper - lower) / max(abs(upper), 1e-12)
        _log.info("%s decomposition: master %d, %d columns, pricing %.2f s (solver %.2f s), master %.2f s (solver), "
                  "lower %.6f, upper %.6f USD, gap %.2e", policy.name, iterations, len(columns.hour), pricing_s,
                  batch.solve_s, master_s, lower, upper, reached)
        if reached <= gap:
            break
        columns.age(weights)
        theta = theta_next
    x, u = columns.combine(weights, t_count)
    return _Result(x=x, u=u, iterations=iterations, gap=max(reached, 0.0), solve_s=solve_s, fallback=fallback)


class _Columns:
    """Every hour's kept solutions (columns), as flat arrays over columns m."""

    def __init__(self, hour, x, u, cost, env):
        self.hour, self.x, self.u, self.cost, self.env = hour, x, u, cost, env  # (M,), (M, A), (M, J), (M,), (M, G, N)
        self.idle = np.zeros(len(hour), dtype=int)

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

    def age(self, weights: np.ndarray) -> None:
        """Count the masters each column went unused; drop the long unused ones."""
        self.idle = np.where(weights > _WEIGHT_TOL, 0, self.idle + 1)
        keep = self.idle < _MAX_AGE
        if not keep.all():
            for name in ("hour", "x", "u", "cost", "env", "idle"):
                setattr(self, name, getattr(self, name)[keep])

    def value(self, weights: np.ndarray, q: float, scaled: bool) -> float:
        """The master objective at *weights*, USD: an upper bound on the combined allocation's."""
        totals = np.einsum("m,mgn->gn", weights, self.env)
        return float(weights @ self.cost) + float(sum(lq(h, q, scaled=scaled) for h in totals))

    def combine(self, weights: np.ndarray, t_count: int) -> tuple[np.ndarray, np.ndarray]:
        """(x (T, A), u (T, J)): every hour's columns mixed by their weights."""
        mix = sp.csr_matrix((weights, (self.hour, np.arange(len(weights)))), shape=(t_count, len(weights)))
        return np.asarray(mix @ self.x), np.asarray(mix @ self.u)


def _master(columns: _Columns, t_count: int, policy: Policy, scaled: bool) -> tuple[np.ndarray, list[np.ndarray], float]:
    """The master's weights (M,), summing to 1 per hour, the next multipliers theta per
    group (N,), and its solver time, s."""
    m = len(columns.hour)
    q = float(policy.q_env)
    ref = float(np.abs(columns.cost).sum() + columns.env.sum()) / max(t_count, 1) or 1.0
    scale = ref * t_count  # the objective's order, so the solver sees O(1) numbers
    lam = cp.Variable(m, nonneg=True)
    convexity = sp.csr_matrix((np.ones(m), (columns.hour, np.arange(m))), shape=(t_count, m))
    objective = (columns.cost / scale) @ lam
    constraints = [convexity @ lam == 1]
    links, totals = [], []
    for g in range(columns.env.shape[1]):
        total = cp.Variable(columns.env.shape[2])
        link = total == (columns.env[:, g, :].T / scale) @ lam
        norm, cons = column_norms(total, q, scaled)
        objective += norm
        constraints += [link, *cons]
        links.append(link)
        totals.append(total)
    problem = cp.Problem(cp.Minimize(objective), constraints)
    _solve_master(problem, conic=q not in (1.0, math.inf), where=f"{policy.name} decomposition master")
    weights = np.clip(lam.value, 0.0, None)
    weights /= np.asarray(convexity @ weights).ravel()[columns.hour]
    n = columns.env.shape[2]
    theta = []
    for g in range(columns.env.shape[1]):
        if math.isinf(q):
            theta.append(_into_dual_ball(-np.asarray(links[g].dual_value, dtype=float), q, scaled, n))
        else:
            theta.append(_gradient(np.einsum("m,mn->n", weights, columns.env[:, g, :]), q, scaled))
    return weights, theta, float(problem.solver_stats.solve_time or 0.0)


def _solve_master(problem: cp.Problem, *, conic: bool, where: str) -> None:
    """Solve the master: with a conic norm, Clarabel to tight tolerances first (at the
    project's usual 1e-7 its weights leave columns with reduced cost ~1e-5 of the
    objective in the mix and the bounds stall at that gap), else as any problem."""
    if conic:
        try:
            with warnings.catch_warnings():  # an inaccurate end is retried below, which warns if it must
                warnings.simplefilter("ignore", UserWarning)
                problem.solve(solver="CLARABEL", **_MASTER_CLARABEL)
            if problem.status == cp.OPTIMAL:
                return
        except cp.error.SolverError:
            pass
    solve_problem(problem, conic=conic, where=where)


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
