"""One hour's GLB problem as numbers: the seam between the online (and offline-by-hour)
drivers and the hourly problems that solve it.

Every figure is scaled by a dollar figure of the order of the hour's cost (the hour's
`scale`, USD), so the solvers see O(1) numbers; fractions are of a user's demand.
Both forms of the hourly problem read the same :class:`HourInputs`: the cvxpy
reference (`cosim.glb.online.HourlyProblem`) and the solvers' own form
(`cosim.glb.native_lp.LpHourlyProblem`, `cosim.glb.native_conic.ConicHourlyProblem`),
each with ``solve(inputs, where) -> (x, u, fallback, solver_s)``.

The hour's problem (see cosim.glb.formulation for the terms), in scaled units:

    min  cost . x + penalty . u + social norm(x) + env terms(x) + move_cost sum|x - x_prev|
    s.t. sum over a user's arcs of x + u = 1,  sum over a site's arcs of resources x <= 1,
         sum over a user's arcs away from its local site of x <= max_shift,  x, u >= 0

An environmental group's term is ``||env_so_far + sum over a site's arcs of env x||_q_env``
(the myopic norm) or, for an env-linear problem, ``env . x``: E-GLB's dual mirror descent
and an offline decomposition over hours both price each arc's environmental cost with a
per-site dual weight folded into ``env`` (see :func:`hour_inputs`'s *env_weights*).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cosim.glb.formulation import Arcs, Coefficients
from cosim.instance import Instance


@dataclass(frozen=True)
class HourInputs:
    """One hour's scaled numbers (arrays over the A arcs, J users, N sites)."""

    cost: np.ndarray  # (A,) energy + moving cost per unit fraction / scale; may be < 0
    resources: np.ndarray  # (A,) share of the arc's site capacity used per unit fraction
    penalty: np.ndarray  # (J,) unserved cost per unit fraction / scale
    social: np.ndarray  # (A,) social weight x quality loss x user's share of its region / scale
    env: tuple[np.ndarray, ...]  # per environmental group (A,) env cost per unit fraction / scale
    env_so_far: tuple[np.ndarray, ...]  # per group (N,) each site's env cost so far / scale
    move_cost: float = 0.0  # switching cost per unit fraction moved (damping); 0 = none
    x_prev: np.ndarray | None = None  # (A,) last hour's fractions (damping); None = zeros
    max_shift: float | None = None  # cap on each user's share served away from its local site

    def previous(self) -> np.ndarray:
        """x_prev, or zeros when there is no previous hour."""
        return self.x_prev if self.x_prev is not None else np.zeros(len(self.cost))


def hour_scale(c: Coefficients, t: int) -> float:
    """A dollar figure of the order of hour *t*'s cost (USD), so the solver sees O(1) numbers."""
    per_arc = c.energy[:, t] + c.env[:, t] + c.moving[:, t]
    positive = per_arc[per_arc > 0]
    return float(np.median(positive)) if len(positive) else 1.0


def hour_inputs(inst: Instance, arcs: Arcs, c: Coefficients, t: int = 0, *,
                env_weights: list[np.ndarray] | None = None, env_so_far: list[np.ndarray] | None = None,
                move_cost: float = 0.0, x_prev: np.ndarray | None = None,
                max_shift: float | None = None) -> tuple[HourInputs, float]:
    """Hour *t* of coefficients *c* (of *inst* on *arcs*) as HourInputs, and its scale (USD).

    *env_weights*: per environmental group, a weight per site (N,) multiplying each arc's
    environmental cost (a dual price: dmd's N theta, or a decomposition's multiplier);
    None = 1. *env_so_far*: per group, each site's environmental cost so far in USD (N,);
    None = zeros. *move_cost* is already in scaled units (multiples of the hour's cost)."""
    n = len(inst.datacenters)
    scale = hour_scale(c, t)
    groups = c.env_groups(inst.weights.env_norm)
    weights = env_weights if env_weights is not None else [np.ones(n)] * len(groups)
    so_far = env_so_far if env_so_far is not None else [np.zeros(n)] * len(groups)
    inputs = HourInputs(
        cost=(c.energy[:, t] + c.moving[:, t]) / scale,
        resources=c.resources[:, t] / inst.capacity[arcs.i],
        penalty=c.unserved[:, t] / scale,
        social=c.social[:, t] * inst.weights.social_weight_usd / scale,
        env=tuple(env[:, t] * np.asarray(w)[arcs.i] / scale for env, w in zip(groups, weights)),
        env_so_far=tuple(np.asarray(s, dtype=float) / scale for s in so_far),
        move_cost=float(move_cost), x_prev=x_prev, max_shift=max_shift,
    )
    return inputs, scale
