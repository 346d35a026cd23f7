"""One hour's GLB problem assembled once as sparse conic data, updated in place by the hour.

The layout both native hourly problems share (cosim.glb.native_lp for HiGHS,
cosim.glb.native_conic for Clarabel): variables z, the objective c . z, and

    A z + s = b,  s in  Zero^eq  x  Nonneg^ineq  x  SOC(3)^cones

with every variable listed in `nonneg` also >= 0 (HiGHS: a column bound; Clarabel: a
row -z <= 0 after the inequalities). A is built once with its structure fixed; only
three things move from hour to hour: the objective c, the right-hand side b, and the
matrix entries that carry the hour's coefficients ("slots": each arc's capacity use,
its social loss and its environmental cost per group). `HourForm` knows where each of
them sits (`slot_rows`, `slot_cols`, the offsets into the slot vector) so a backend
writes them straight into its own CSC/CSR arrays.

The model is the cvxpy reference's (cosim.glb.online.HourlyProblem), written out:

- q = 1 norms are linear terms (the social sum is social . x; the myopic env 1-norm is
  env . x, its constant sum of env_so_far left out as in the reference);
- q = inf norms are an epigraph z >= each entry, priced m (scaled) or 1;
- other q: entries v_j = the affine expression (an equality row, the slots in it), then
  ||v||_q <= s iff v_j <= r_j^(1/p) s^(1-1/p), sum r = s, r >= 0, with each weighted
  geometric mean as the same tree of 3-D second-order cones cvxpy's gm_constrs builds
  (dyad_completion and decompose of cvxpy.utilities.power_tools), p = q as a fraction
  with denominator <= 64; the norm is priced m^(1-1/p) (scaled) or 1.
"""
from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import scipy.sparse as sp
from cvxpy.utilities.power_tools import decompose, dyad_completion

from cosim.glb.formulation import Arcs
from cosim.glb.hour_inputs import HourInputs
from cosim.glb.policies import Policy
from cosim.instance import Instance


class _Rows:
    """Triplets of one block of rows (eq or ineq), constant entries and slot entries apart."""

    def __init__(self):
        self.count = 0
        self.rows, self.cols, self.vals = [], [], []  # constant entries
        self.slot_rows, self.slot_cols, self.slot_ids = [], [], []  # hour-dependent entries
        self.rhs = []

    def add(self, rows, cols, vals, rhs) -> np.ndarray:
        """Rows numbered from self.count on: entries (local row, col, value) and their rhs."""
        first = self.count
        self.count += len(rhs)
        self.rows.append(np.asarray(rows, dtype=np.int64) + first)
        self.cols.append(np.asarray(cols, dtype=np.int64))
        self.vals.append(np.asarray(vals, dtype=float))
        self.rhs.append(np.asarray(rhs, dtype=float))
        return np.arange(first, self.count)

    def slots(self, rows, cols, ids) -> None:
        """Hour-dependent entries at (global row of this block, col): slot vector positions *ids*."""
        self.slot_rows.append(np.asarray(rows, dtype=np.int64))
        self.slot_cols.append(np.asarray(cols, dtype=np.int64))
        self.slot_ids.append(np.asarray(ids, dtype=np.int64))


def _cat(parts, dtype) -> np.ndarray:
    return np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype=dtype)


class HourForm:
    """The hour's problem as conic data with its hour-dependent positions (module docstring).

    After construction: `n` variables, `n_eq` equality rows then `n_ineq` inequality rows
    (`linear_matrix()`, with `b_base`), `soc_idx` = (cones, 3) variable indices (c0, c1, t)
    of each cone c0 + c1 >= ||(c0 - c1, 2 t)|| (`conic_matrix()` has them all), and
    `slot_rows`/`slot_cols` of the hour's entries; `slots`, `rhs`, `objective` give an
    hour's values from its HourInputs."""

    def __init__(self, inst: Instance, policy: Policy, arcs: Arcs, *, env_linear: bool,
                 damping: bool = False, max_shift: bool = False):
        n_dc, j_count, _, _ = inst.shape
        a = len(arcs)
        self.policy, self.arcs, self.a, self.j_count = policy, arcs, a, j_count
        self.scaled = inst.weights.norm_scale == "entries"
        self.groups = inst.weights.env_group_count
        self.damping, self.has_max_shift = damping, max_shift
        self.n = 0
        self.nonneg: list[np.ndarray] = []
        self.c_const: dict[int, float] = {}  # epigraph and norm variables: fixed prices
        self.soc: list[np.ndarray] = []
        eq, ineq = _Rows(), _Rows()
        self._eq, self._ineq = eq, ineq
        self.n_slots = 0
        arc = np.arange(a)

        self.x = self._vars(a)
        self.u = self._vars(j_count)
        # each user's demand: served on its arcs or unserved
        eq.add(np.concatenate([arcs.j, np.arange(j_count)]), np.concatenate([self.x, self.u]),
               np.ones(a + j_count), np.ones(j_count))
        # capacity: sum over a site's arcs of resources x <= 1
        cap_rows = ineq.add([], [], [], np.ones(n_dc))
        self.slot_resources = self._slot(ineq, cap_rows[arcs.i], self.x, sign=1.0)
        self.moved = None
        if damping:  # moved >= |x - x_prev|: x - moved <= x_prev, -x - moved <= -x_prev
            self.moved = self._vars(a)
            self.rows_up = ineq.add(np.concatenate([arc, arc]), np.concatenate([self.x, self.moved]),
                                    np.concatenate([np.ones(a), -np.ones(a)]), np.zeros(a))
            self.rows_down = ineq.add(np.concatenate([arc, arc]), np.concatenate([self.x, self.moved]),
                                      -np.ones(2 * a), np.zeros(a))
        if max_shift:
            away = np.flatnonzero(arcs.i != inst.local[arcs.j])
            self.rows_shift = ineq.add(arcs.j[away], self.x[away], np.ones(len(away)), np.zeros(j_count))

        self.social_linear = policy.q_social == 1
        self.slot_social = None
        if policy.q_social is not None and not self.social_linear:
            region = inst.user_region[arcs.j]
            self.slot_social = self._norm(policy.q_social, len(inst.regions), region, so_far=False)
        self.env_linear = [False] * self.groups
        self.slot_env: list[np.ndarray | None] = [None] * self.groups
        self.rows_so_far: list[np.ndarray | None] = [None] * self.groups
        self.so_far_sign = [0.0] * self.groups  # +1: rows of the eq block, -1: of the ineq block
        if policy.q_env is not None:
            for g in range(self.groups):
                if env_linear or policy.q_env == 1:
                    self.env_linear[g] = True  # as the reference: env . x, no constant
                else:
                    self.slot_env[g], self.rows_so_far[g], self.so_far_sign[g] = self._norm(
                        policy.q_env, n_dc, arcs.i, so_far=True)
        self._finish()

    # -- building ------------------------------------------------------------------

    def _vars(self, count: int, nonneg: bool = True) -> np.ndarray:
        idx = np.arange(self.n, self.n + count)
        self.n += count
        if nonneg:
            self.nonneg.append(idx)
        return idx

    def _slot(self, rows: _Rows, row_of_arc: np.ndarray, cols: np.ndarray, sign: float) -> tuple[np.ndarray, float]:
        """A-long slot block (one entry per arc at (row_of_arc[a], cols[a])): its slot ids and sign."""
        ids = np.arange(self.n_slots, self.n_slots + len(cols))
        self.n_slots += len(cols)
        rows.slots(row_of_arc, cols, ids)
        return ids, sign

    def _norm(self, q: float, m: int, row_of_arc: np.ndarray, *, so_far: bool):
        """The norm over m entries of (so_far +) sum of slot x per entry; returns the slot
        block, and for so_far the rows whose rhs carries it and its sign in b."""
        eq, ineq = self._eq, self._ineq
        if math.isinf(q):
            zvar = self._vars(1)[0]
            self.c_const[zvar] = float(m if self.scaled else 1)
            # entry + so_far <= z:  entry - z <= -so_far
            rows = ineq.add(np.arange(m), np.full(m, zvar), -np.ones(m), np.zeros(m))
            slot = self._slot(ineq, rows[row_of_arc], self.x, sign=1.0)
            return (slot, rows, -1.0) if so_far else slot
        p = Fraction(q).limit_denominator(64)
        v = self._vars(m, nonneg=False)
        # v - sum slot x = so_far
        rows = eq.add(np.arange(m), v, np.ones(m), np.zeros(m))
        slot = self._slot(eq, rows[row_of_arc], self.x, sign=-1.0)
        s = self._vars(1)[0]
        r = self._vars(m)
        eq.add(np.concatenate([np.zeros(m, dtype=np.int64), [0]]), np.concatenate([r, [s]]),
               np.concatenate([np.ones(m), [-1.0]]), [0.0])
        self.c_const[s] = float(m ** (1.0 - 1.0 / float(p)) if self.scaled else 1.0)
        self._geo_mean(v, [r, np.full(m, s)], (1 / p, 1 - 1 / p))
        return (slot, rows, 1.0) if so_far else slot

    def _geo_mean(self, t: np.ndarray, x_list: list[np.ndarray], weights) -> None:
        """t <= prod x_i^w_i entrywise as cvxpy's gm_constrs tree of 3-D SOCs."""
        w = dyad_completion(weights)
        tree = decompose(w)
        x_list = list(x_list) + [t] * (len(w) - len(x_list))
        node = {tuple(w): t}
        for i, (wi, xi) in enumerate(zip(w, x_list)):
            if wi > 0:
                unit = [Fraction(0)] * len(w)
                unit[i] = Fraction(1)
                node[tuple(unit)] = xi
        for elem, children in tree.items():
            if 1 in elem:
                continue
            for key in (elem, *children):
                if key not in node:
                    node[key] = self._vars(len(t), nonneg=False)
            self.soc.append(np.stack([node[children[0]], node[children[1]], node[elem]], axis=1))

    def _finish(self) -> None:
        eq, ineq = self._eq, self._ineq
        self.n_eq, self.n_ineq = eq.count, ineq.count
        rows = _cat([*eq.rows, *(r + eq.count for r in ineq.rows)], np.int64)
        cols = _cat([*eq.cols, *ineq.cols], np.int64)
        vals = _cat([*eq.vals, *ineq.vals], float)
        const = sp.csc_matrix((vals, (rows, cols)), shape=(self.n_eq + self.n_ineq, self.n))
        const.sum_duplicates()
        const.eliminate_zeros()
        const = const.tocoo()
        s_rows = _cat([*eq.slot_rows, *(r + eq.count for r in ineq.slot_rows)], np.int64)
        s_cols = _cat([*eq.slot_cols, *ineq.slot_cols], np.int64)
        s_ids = _cat([*eq.slot_ids, *ineq.slot_ids], np.int64)
        self.slot_rows = np.empty(self.n_slots, dtype=np.int64)
        self.slot_cols = np.empty(self.n_slots, dtype=np.int64)
        self.slot_rows[s_ids], self.slot_cols[s_ids] = s_rows, s_cols
        # the linear rows' constant entries as triplets (the slots apart)
        self.lin_rows, self.lin_cols, self.lin_vals = const.row.astype(np.int64), const.col.astype(np.int64), const.data
        self.b_base = np.concatenate([*eq.rhs, *ineq.rhs]) if (eq.rhs or ineq.rhs) else np.zeros(0)
        self.nonneg_idx = _cat(self.nonneg, np.int64)
        self.soc_idx = np.concatenate(self.soc) if self.soc else np.zeros((0, 3), dtype=np.int64)
        self.c_base = np.zeros(self.n)
        for var, price in self.c_const.items():
            self.c_base[var] = price

    def linear_matrix(self) -> tuple[sp.csc_matrix, np.ndarray]:
        """The eq and ineq rows (n_eq + n_ineq, n) as CSC, and the slots' data positions."""
        return csc_with_slots(self.lin_rows, self.lin_cols, self.lin_vals, self.slot_rows, self.slot_cols,
                              (self.n_eq + self.n_ineq, self.n))

    def conic_matrix(self) -> tuple[sp.csc_matrix, np.ndarray]:
        """A of  A z + s = b: the linear rows, then -z <= 0 for the nonnegative variables, then
        each cone's rows -(c0 + c1), -(c0 - c1), -2 t (b = 0 there); and the slots' data positions."""
        n_lin, n_nn, n_soc = self.n_eq + self.n_ineq, len(self.nonneg_idx), len(self.soc_idx)
        c0, c1, t = (self.soc_idx[:, k] for k in range(3))
        soc_row = n_lin + n_nn + 3 * np.arange(n_soc)
        rows = np.concatenate([self.lin_rows, n_lin + np.arange(n_nn), soc_row, soc_row, soc_row + 1, soc_row + 1,
                               soc_row + 2])
        cols = np.concatenate([self.lin_cols, self.nonneg_idx, c0, c1, c0, c1, t])
        vals = np.concatenate([self.lin_vals, -np.ones(n_nn), -np.ones(n_soc), -np.ones(n_soc), -np.ones(n_soc),
                               np.ones(n_soc), -2.0 * np.ones(n_soc)])
        return csc_with_slots(rows, cols, vals, self.slot_rows, self.slot_cols, (n_lin + n_nn + 3 * n_soc, self.n))

    # -- by the hour ---------------------------------------------------------------

    def slots(self, inputs: HourInputs) -> np.ndarray:
        """The hour's values of the slot entries (in slot-id order)."""
        values = np.empty(self.n_slots)
        ids, sign = self.slot_resources
        values[ids] = sign * inputs.resources
        if self.slot_social is not None:
            ids, sign = self.slot_social
            values[ids] = sign * inputs.social
        for g, slot in enumerate(self.slot_env):
            if slot is not None:
                ids, sign = slot
                values[ids] = sign * inputs.env[g]
        return values

    def rhs(self, inputs: HourInputs) -> np.ndarray:
        """b of the linear rows (eq then ineq) for the hour."""
        b = self.b_base.copy()
        if self.damping:
            prev = inputs.previous()
            b[self.n_eq + self.rows_up] = prev
            b[self.n_eq + self.rows_down] = -prev
        if self.has_max_shift:
            b[self.n_eq + self.rows_shift] = inputs.max_shift if inputs.max_shift is not None else 1.0
        for g, rows in enumerate(self.rows_so_far):
            if rows is not None:
                # so_far rows: v - env x = so_far (eq, q finite) or env x - z <= -so_far (ineq, q = inf)
                base = 0 if self.so_far_sign[g] > 0 else self.n_eq
                b[base + rows] = self.so_far_sign[g] * inputs.env_so_far[g]
        return b

    def objective(self, inputs: HourInputs) -> np.ndarray:
        """c of the hour's objective c . z (the reference's objective value, no constant)."""
        c = self.c_base.copy()
        cx = inputs.cost.copy()
        if self.social_linear:
            cx += inputs.social
        for g, linear in enumerate(self.env_linear):
            if linear:
                cx += inputs.env[g]
        c[self.x] = cx
        c[self.u] = inputs.penalty
        if self.moved is not None:
            c[self.moved] = inputs.move_cost
        return c

    def split(self, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(x, u) out of a solution z."""
        return np.asarray(z[self.x], dtype=float), np.asarray(z[self.u], dtype=float)


def csc_with_slots(rows: np.ndarray, cols: np.ndarray, vals: np.ndarray, slot_rows: np.ndarray,
                   slot_cols: np.ndarray, shape: tuple[int, int]) -> tuple[sp.csc_matrix, np.ndarray]:
    """A CSC matrix of constant entries (duplicates summed, zeros dropped) and slot entries
    (distinct positions, none shared with a constant; stored as explicit zeros), and the
    position of each slot in its `data`, so an hour writes ``A.data[pos] = slots``."""
    const = sp.csc_matrix((vals, (rows, cols)), shape=shape)
    const.sum_duplicates()
    const.eliminate_zeros()
    const = const.tocoo()
    n_const = len(const.data)
    all_rows = np.concatenate([const.row.astype(np.int64), slot_rows])
    all_cols = np.concatenate([const.col.astype(np.int64), slot_cols])
    order = np.lexsort((all_rows, all_cols))  # column-major, rows ascending within a column
    indptr = np.concatenate([[0], np.cumsum(np.bincount(all_cols, minlength=shape[1]))])
    data = np.concatenate([const.data, np.zeros(len(slot_rows))])[order]
    pos = np.empty(len(order), dtype=np.int64)
    pos[order] = np.arange(len(order))
    matrix = sp.csc_matrix((data, all_rows[order], indptr), shape=shape)
    return matrix, pos[n_const:]
