"""Lq norms of nonnegative cvxpy expressions, column by column, as conic epigraphs.

The norms are scaled by m^(1 - 1/q) (m entries), so that a vector whose entries are all
equal costs the same under every q: q reshapes the penalty towards the worst entry
without changing its overall weight. q = 1 is the plain sum; q -> inf tends to m x max.

cvxpy's pnorm accepts an axis only for q = 2, so the norms of every hour's vector are
written out: ||v||_q <= s iff v_j <= r_j^(1/q) s^(1-1/q) with sum_j r_j = s, r >= 0,
and each weighted geometric mean becomes second-order cones (cvxpy's own gm_constrs).
Second-order cones, not 3-D power cones: Clarabel stalls ("insufficient progress") on
the power-cone form of paper10, where most hours sit at the cone's apex (v = s = 0),
and solves the SOC form (measured in docs/performance.md). q = 1 and q = inf stay
linear, so those problems remain LPs. q is used as a fraction with denominator <= 64.
"""
from __future__ import annotations

import math
from fractions import Fraction

import cvxpy as cp
import numpy as np
from cvxpy.utilities.power_tools import gm_constrs


def column_norms(v: cp.Expression, q: float, scaled: bool = True) -> tuple[cp.Expression, list[cp.Constraint]]:
    """Upper bounds on m^(1-1/q) ||v[:, t]||_q for a nonnegative (m, T) or (m,) expression
    (the plain norm when *scaled* is False).

    Returns (s, constraints) with s of shape (T,) (or scalar); at the optimum of a
    problem that minimizes a positive multiple of sum(s), s equals the scaled norms.
    """
    m = v.shape[0]
    if q == 1:
        return cp.sum(v, axis=0), []
    if math.isinf(q):
        return (m if scaled else 1) * cp.max(v, axis=0), []
    p = Fraction(q).limit_denominator(64)
    factor = m ** (1.0 - 1.0 / float(p)) if scaled else 1.0
    if v.ndim == 1:
        s = cp.Variable(nonneg=True)
        r = cp.Variable(m, nonneg=True)
        s_rows = s * np.ones(m)
        constraints = [cp.sum(r) == s]
    else:
        t = v.shape[1]
        s = cp.Variable(t, nonneg=True)
        r = cp.Variable((m, t), nonneg=True)
        s_rows = np.ones((m, 1)) @ cp.reshape(s, (1, t), order="C")
        constraints = [cp.sum(r, axis=0) == s]
    constraints += gm_constrs(v, [r, s_rows], (1 / p, 1 - 1 / p))
    return factor * s, constraints
