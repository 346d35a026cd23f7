"""SE-GLB's cost terms as arrays over arcs, shared by the offline and online solvers.

An arc a = (k, i, j) is a model k at data center i that user j (a user region in one
latency tier) may use: the model is hosted there and the legal, system and latency
masks allow it (cosim.masks). Decisions are fractions x[a, t] of user j's demand
lambda[j, t], so y = lambda * x requests and sum over a user's arcs plus the unserved
fraction u[j, t] is 1. Every cost term is linear in x per hour except the two norms:

    energy   = sum_a PUE_i price_it e_k lambda_jt x_at            (USD)
    moving   = sum_a (d_ij + f_ij) lambda_jt x_at                  (USD)
    social_t = w * || (sum_{a in r} s_k w_jt x_at)_r ||_q_social   (USD per hour)
    env      = || (sum_{a in i, t} (mu_c carbon + mu_w water)_at x_at)_i ||_q_env   (USD)

d_ij is SE-GLB's distance cost, f_ij the migration friction and delay penalty of Luo &
Cheng per request; the social norm runs over user regions r (SE-GLB's equity), each
user weighted by its share w_jt of the region's requests that hour.

with ||.||_q scaled by m^(1-1/q) (glb.norms): q = 1 is the sum, q = inf is m x max.
    unserved = sum_j VOLL lambda_jt u_jt                           (USD)
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from cosim.glb.policies import Policy
from cosim.instance import Instance


@dataclass(frozen=True)
class Arcs:
    """The (model, data center, user) triples a policy may use."""

    k: np.ndarray  # (A,)
    i: np.ndarray  # (A,)
    j: np.ndarray  # (A,)
    by_dc: sp.csr_matrix  # (N, A) 0/1: sums arcs per data center
    by_user: sp.csr_matrix  # (J, A) 0/1: sums arcs per user
    by_region: sp.csr_matrix  # (R, A) 0/1: sums arcs per user region

    def __len__(self) -> int:
        return len(self.k)


def make_arcs(inst: Instance, policy: Policy) -> Arcs:
    """All feasible arcs; for a local-only policy, only each user's nearest feasible site."""
    n, j_count, _, _ = inst.shape
    feasible = inst.feasible  # (J, N, K)
    if policy.local_only:
        site = np.zeros((j_count, n), dtype=bool)
        for j in range(j_count):
            site[j, _nearest_feasible(inst, feasible[j].any(axis=1), j)] = True
        feasible = feasible & site[:, :, None]
    kk, ii, jj = np.nonzero(feasible.transpose(2, 1, 0))  # ordered by model, site, user
    cols = np.arange(len(kk))
    ones = np.ones(len(kk))
    return Arcs(
        k=kk, i=ii, j=jj,
        by_dc=sp.csr_matrix((ones, (ii, cols)), shape=(n, len(kk))),
        by_user=sp.csr_matrix((ones, (jj, cols)), shape=(j_count, len(kk))),
        by_region=sp.csr_matrix((ones, (inst.user_region[jj], cols)), shape=(len(inst.regions), len(kk))),
    )


def _nearest_feasible(inst: Instance, usable: np.ndarray, j: int) -> int:
    """The user's local data center if *usable* (N,), else the nearest usable one."""
    if inst.local[j] >= 0 and usable[inst.local[j]]:
        return int(inst.local[j])
    candidates = np.flatnonzero(usable)
    return int(candidates[np.argmin(inst.distance_km[j, candidates])])


@dataclass(frozen=True)
class Coefficients:
    """Per-arc, per-hour coefficients of the cost terms, in USD per unit of fraction x."""

    energy: np.ndarray  # (A, T) energy cost if the whole region's demand took the arc
    moving: np.ndarray  # (A, T)
    env_carbon: np.ndarray  # (A, T) mu_c * carbon
    env_water: np.ndarray  # (A, T) mu_w * water
    resources: np.ndarray  # (A, T) capacity used
    social: np.ndarray  # (A, T) s_k w_jt: points of the region's quality loss
    unserved: np.ndarray  # (J, T) VOLL * lambda

    @property
    def env(self) -> np.ndarray:
        """(A, T) environmental cost, carbon and water together."""
        return self.env_carbon + self.env_water

    def env_groups(self, env_norm: str) -> list[np.ndarray]:
        """The environmental costs that each get their own norm over data centers."""
        return [self.env] if env_norm == "combined" else [self.env_carbon, self.env_water]


def coefficients(inst: Instance, arcs: Arcs) -> Coefficients:
    """Cost coefficients of every arc and hour (see the module docstring)."""
    w = inst.weights
    lam = inst.demand[arcs.j]  # (A, T)
    it_kwh = inst.energy_kwh_per_request[arcs.k][:, None] * lam
    facility_kwh = inst.pue[arcs.i][:, None] * it_kwh
    carbon_t = facility_kwh * inst.carbon_kg_per_kwh[arcs.i] / 1000.0
    water_m3 = (it_kwh * inst.wue_l_per_kwh[arcs.i] + facility_kwh * inst.ewif_l_per_kwh[arcs.i]) / 1000.0
    per_request = (w.moving_cost_usd_per_request_per_1000km * inst.distance_km[arcs.j, arcs.i] / 1000.0
                   + inst.friction_usd_per_request[arcs.j, arcs.i])
    return Coefficients(
        energy=w.energy_weight * facility_kwh * inst.price_usd_per_mwh[arcs.i] / 1000.0,
        moving=per_request[:, None] * lam,
        env_carbon=w.mu_carbon_usd_per_t * carbon_t,
        env_water=w.mu_water_usd_per_m3 * water_m3,
        resources=inst.resources_per_request[arcs.k][:, None] * lam,
        social=inst.quality_loss[arcs.k][:, None] * region_shares(inst)[arcs.j],
        unserved=w.unserved_penalty_usd_per_request * inst.demand,
    )


def region_shares(inst: Instance) -> np.ndarray:
    """(J, T) each user's share of its region's requests (1 for a region's only user)."""
    region = inst.region_demand[inst.user_region]
    return np.divide(inst.demand, region, out=np.ones_like(inst.demand), where=region > 0)


def lq(v: np.ndarray, q: float, axis: int = 0, scaled: bool = True) -> np.ndarray:
    """m^(1-1/q) times the q-norm of nonnegative *v* along *axis* (m entries; see glb.norms),
    or the plain norm when *scaled* is False. Scaled, q = 1 is the sum and q = inf is m x max.
    """
    m = v.shape[axis] if scaled else 1
    if np.isinf(q):
        return m * v.max(axis=axis)
    return m ** (1.0 - 1.0 / q) * (v**q).sum(axis=axis) ** (1.0 / q)


def objective_terms(inst: Instance, policy: Policy, arcs: Arcs, x: np.ndarray | sp.sparray, u: np.ndarray,
                    *, chunk_hours: int | None = None) -> dict[str, float]:
    """The policy's objective, term by term in USD, for fractions x (A, T; dense or sparse)
    and u (J, T).

    Computed window by window of hours (`hour_windows`), each window's coefficients only
    for the arcs with some x in it: memory grows with the nonzero allocations, never with
    arcs x hours. Every term but the environmental norm is a sum over hours; that norm is
    taken once, over the per-site totals the windows add up.
    """
    xs = sp.csc_array(x)
    xs.sum_duplicates()  # canonical: sorted, one entry per (arc, hour)
    n, _, _, t_count = inst.shape
    scaled = inst.weights.norm_scale == "entries"
    groups = 1 if inst.weights.env_norm == "combined" else 2
    energy = moving = unserved = social = 0.0
    per_dc = np.zeros((groups, n))
    for t0, t1 in hour_windows(t_count, len(arcs), chunk_hours):
        window = inst.window(t0, t1)
        rows, cols, vals = _entries(xs, t0, t1)
        used, at = np.unique(rows, return_inverse=True)
        c = coefficients(window, subset(arcs, used))
        energy += float(c.energy[at, cols] @ vals)
        moving += float(c.moving[at, cols] @ vals)
        unserved += float((c.unserved * u[:, t0:t1]).sum())
        if policy.q_social is not None:
            loss = np.zeros((len(inst.regions), t1 - t0))  # (R, hours) points
            np.add.at(loss, (inst.user_region[arcs.j[rows]], cols), c.social[at, cols] * vals)
            social += float(inst.weights.social_weight_usd * lq(loss, policy.q_social, scaled=scaled).sum())
        if policy.q_env is not None:
            for g, env in enumerate(c.env_groups(inst.weights.env_norm)):
                per_dc[g] += np.bincount(arcs.i[rows], weights=env[at, cols] * vals, minlength=n)
    env_usd = 0.0
    if policy.q_env is not None:
        env_usd = sum(float(lq(totals, policy.q_env, scaled=scaled)) for totals in per_dc)
    terms = {"energy_usd": energy, "moving_usd": moving, "unserved_usd": unserved, "social_usd": social,
             "env_usd": env_usd}
    terms["total_usd"] = sum(terms.values())
    return terms


ALLOCATION_THRESHOLD = 1e-9
"""Allocations kept: an arc's fraction x of its user's demand in an hour is stored (the
log, Solution.x, allocations.parquet) only where it is above this. The solvers' output
is already cleaned below 1e-7 (`clean_fractions`), so this drops only what a replay's
capacity cut or the mean of several operators makes smaller still."""

WINDOW_ENTRIES = 1 << 20
"""At most this many arcs x hours in one window of `hour_windows` (8 MB per float array)."""

WINDOW_HOURS = 168
"""A week: the longest window of `hour_windows`."""


def hour_windows(t_count: int, arc_count: int, hours: int | None = None) -> list[tuple[int, int]]:
    """(start, stop) windows covering hours 0..t_count-1 in order: *hours* long, else a week
    or fewer hours where a week of every arc would exceed WINDOW_ENTRIES."""
    step = hours or max(1, min(WINDOW_HOURS, WINDOW_ENTRIES // max(arc_count, 1)))
    return [(t0, min(t0 + step, t_count)) for t0 in range(0, t_count, step)]


def subset(arcs: Arcs, used: np.ndarray) -> Arcs:
    """The arcs at positions *used* (sorted), in that order."""
    return Arcs(k=arcs.k[used], i=arcs.i[used], j=arcs.j[used], by_dc=arcs.by_dc[:, used],
                by_user=arcs.by_user[:, used], by_region=arcs.by_region[:, used])


def sparse_fractions(x: np.ndarray | sp.sparray, threshold: float = ALLOCATION_THRESHOLD) -> sp.csc_array:
    """(A, T) fractions as a CSC array holding only the entries above *threshold*. A CSC
    array already in that form (float, sorted, every entry above it: the co-simulation's
    log) is returned as it is, not copied: its arrays are shared."""
    if (isinstance(x, sp.csc_array) and x.dtype == np.float64 and x.has_canonical_format
            and not (x.data <= threshold).any()):
        return x
    out = sp.csc_array(x, dtype=float, copy=True)
    out.data[out.data <= threshold] = 0.0
    out.eliminate_zeros()
    out.sort_indices()
    return out


def column(x: sp.csc_array, t: int) -> np.ndarray:
    """(A,) hour t of CSC fractions, dense."""
    out = np.zeros(x.shape[0])
    lo, hi = x.indptr[t], x.indptr[t + 1]
    out[x.indices[lo:hi]] = x.data[lo:hi]
    return out


def _entries(x: sp.csc_array, t0: int, t1: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(rows, hours from t0, values) of the stored entries of hours t0..t1-1 of CSC *x*."""
    lo, hi = x.indptr[t0], x.indptr[t1]
    cols = np.repeat(np.arange(t1 - t0), np.diff(x.indptr[t0:t1 + 1]))
    return x.indices[lo:hi].astype(np.intp), cols, x.data[lo:hi]


def entries(x: sp.csc_array, t0: int = 0, t1: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(arc, hour, value) of every stored entry of CSC *x* in hours t0..t1-1 (hours counted
    from 0 of the horizon), by hour then arc."""
    t1 = x.shape[1] if t1 is None else t1
    rows, cols, vals = _entries(x, t0, t1)
    return rows, cols + t0, vals


@dataclass
class Solution:
    """A policy's allocation over the horizon and how it was obtained.

    x is always a scipy CSC array (A, T) holding the fractions above ALLOCATION_THRESHOLD;
    a dense (A, T) array given to the constructor is converted (`sparse_fractions`).
    """

    policy: Policy
    arcs: Arcs
    x: sp.csc_array  # (A, T) fraction of the user's demand per arc, sparse
    u: np.ndarray  # (J, T) unserved fraction
    mode: str  # offline | online
    algorithm: str
    solver: str
    objective_usd: float
    solve_s: float  # time inside the solver
    total_s: float  # wall time including model building
    fallback_hours: list[int]
    hour_solve_s: np.ndarray | None = None  # online: per-hour wall time of each solve
    method: str = "monolithic"  # offline: monolithic (one problem) | decomposed (glb.decomposition)
    iterations: int | None = None  # decomposed: masters solved
    gap: float | None = None  # decomposed: relative gap (upper - lower bound) / |upper| reached

    def __post_init__(self) -> None:
        self.x = sparse_fractions(self.x)

    def x_hour(self, t: int) -> np.ndarray:
        """(A,) the fractions of hour t, dense."""
        return column(self.x, t)

    def requests(self, inst: Instance) -> sp.csc_array:
        """y[a, t]: requests served on each arc, (A, T) sparse, only where x > 0 and the
        user has demand. The whole horizon at once: the metrics and the tables read it
        window by window instead (`request_entries`)."""
        rows, cols, vals = entries(self.x)
        y = sp.csc_array((vals * inst.demand[self.arcs.j[rows], cols], self.x.indices.copy(), self.x.indptr.copy()),
                         shape=self.x.shape)
        y.eliminate_zeros()
        return y

    def request_entries(self, inst: Instance, t0: int, t1: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(arc, hour, requests) of hours t0..t1-1 (hours from 0 of the horizon), by hour
        then arc: the entries of `requests` in that window, built for it alone."""
        rows, cols, vals = entries(self.x, t0, t1)
        y = vals * inst.demand[self.arcs.j[rows], cols]
        kept = y != 0
        return rows[kept], cols[kept], y[kept]

    def windows(self) -> list[tuple[int, int]]:
        """(start, stop) windows of hours over which the metrics read the allocations
        (`hour_windows` for this many arcs)."""
        return hour_windows(self.x.shape[1], len(self.arcs))

    def unserved_requests(self, inst: Instance) -> np.ndarray:
        """(J, T) requests not served."""
        return self.u * inst.demand


def clean_fractions(arcs: Arcs, x: np.ndarray, u: np.ndarray, tol: float = 1e-7) -> tuple[np.ndarray, np.ndarray]:
    """Solver output made exact: tiny values to 0 and each region-hour summing to 1.

    Interior-point solvers return x > 0 everywhere at 1e-9 scale; rescaling keeps
    served + unserved = demand to machine precision after zeroing them.
    """
    x = np.where(x < tol, 0.0, np.minimum(x, 1.0))
    u = np.where(u < tol, 0.0, np.minimum(u, 1.0))
    total = arcs.by_user @ x + u
    u = np.where(total > 0, u, 1.0)  # a user-hour the solver left empty is unserved
    total = np.where(total > 0, total, 1.0)
    return x / total[arcs.j], u / total
