"""The hourly GLB problem of the LP policies in HiGHS's own form (highspy), warm-started.

`LpHourlyProblem` has the interface of the cvxpy reference (cosim.glb.online.
HourlyProblem): ``solve(inputs, where) -> (x, u, fallback, solver_s)``. The rows of
cosim.glb.hour_form (no cones: every norm is 1 or inf) are passed to one persistent
`Highs` once; each hour changes the column costs, the row bounds that move, and the
matrix coefficients that carry the hour's numbers, then re-solves from the previous
hour's basis (HiGHS keeps it across these changes). The coefficients go in one of two
ways (`coefficients=`): "change" calls `changeCoeff` per hour entry that moved; "pass"
writes the whole column-wise matrix and re-passes the model, restoring the basis with
`setBasis`. "auto" (the default) takes "change" when few entries moved, else "pass".

A solve that does not end Optimal is retried with Clarabel on the same rows
(cosim.glb.native_conic), the reference's own order (HiGHS, then Clarabel), and the hour
is recorded as a fallback.
"""
from __future__ import annotations

import time

import highspy
import numpy as np

from cosim.glb.formulation import Arcs
from cosim.glb.hour_form import HourForm
from cosim.glb.hour_inputs import HourInputs
from cosim.glb.native_conic import ConicHourlyProblem
from cosim.glb.policies import Policy
from cosim.glb.solve import _swallow_highs_banner
from cosim.instance import Instance

_CHANGE_SHARE = 0.05
"""auto: re-pass the model when more than this share of the matrix's entries moved."""


class LpHourlyProblem:
    """One hour of an LP policy as a persistent HiGHS model: build once, solve(inputs) each hour."""

    solver_name = "HIGHS"

    def __init__(self, inst: Instance, policy: Policy, arcs: Arcs, *, env_linear: bool,
                 damping: bool = False, max_shift: bool = False, coefficients: str = "auto"):
        if policy.conic:
            raise ValueError(f"{policy.name}: a conic policy has no LP form (use ConicHourlyProblem)")
        self.policy = policy
        self.form = f = HourForm(inst, policy, arcs, env_linear=env_linear, damping=damping, max_shift=max_shift)
        self.A, self.slot_pos = f.linear_matrix()
        self.coefficients = coefficients
        inf = highspy.kHighsInf
        self.row_lower = np.concatenate([f.b_base[:f.n_eq], np.full(f.n_ineq, -inf)])
        self.col_lower = np.full(f.n, -inf)
        self.col_lower[f.nonneg_idx] = 0.0
        self.col_upper = np.full(f.n, inf)
        _swallow_highs_banner()
        self.highs = h = highspy.Highs()
        h.setOptionValue("output_flag", False)
        self._lp = lp = highspy.HighsLp()
        lp.num_col_, lp.num_row_ = f.n, f.n_eq + f.n_ineq
        lp.col_cost_ = np.zeros(f.n)
        lp.col_lower_, lp.col_upper_ = self.col_lower, self.col_upper
        lp.row_lower_, lp.row_upper_ = self.row_lower, f.b_base.copy()
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_ = self.A.indptr.astype(np.int32)
        lp.a_matrix_.index_ = self.A.indices.astype(np.int32)
        lp.a_matrix_.value_ = self.A.data
        h.passModel(lp)
        self._cols = np.arange(f.n, dtype=np.int32)
        self._rows = np.arange(f.n_eq + f.n_ineq, dtype=np.int32)
        self._slot_row = f.slot_rows.astype(np.int32)
        self._slot_col = f.slot_cols.astype(np.int32)
        self._slots = np.zeros(f.n_slots)  # the values HiGHS holds now
        self._conic = None
        self.objective_value = float("nan")  # the last hour's objective (scaled units)
        self.status = ""
        self.last_z: np.ndarray | None = None  # the last hour's solution, every variable

    def _load(self, inputs: HourInputs) -> None:
        """Write the hour's costs, bounds and coefficients into the HiGHS model."""
        f, h = self.form, self.highs
        c = f.objective(inputs)
        b = f.rhs(inputs)
        slots = f.slots(inputs)
        moved = np.flatnonzero(slots != self._slots)
        lower = self.row_lower.copy()
        lower[:f.n_eq] = b[:f.n_eq]
        mode = self.coefficients
        if mode == "auto":
            mode = "change" if len(moved) <= _CHANGE_SHARE * len(self.A.data) else "pass"
        if mode == "pass" and len(moved):
            basis = h.getBasis()
            self.A.data[self.slot_pos] = slots
            lp = self._lp
            lp.col_cost_ = c
            lp.row_lower_, lp.row_upper_ = lower, b
            lp.a_matrix_.value_ = self.A.data
            h.passModel(lp)
            if basis.valid:
                h.setBasis(basis)
        else:
            for k in moved:
                h.changeCoeff(int(self._slot_row[k]), int(self._slot_col[k]), float(slots[k]))
            h.changeColsCost(len(c), self._cols, c)
            h.changeRowsBounds(len(b), self._rows, lower, b)
        self._slots = slots

    def solve(self, inputs: HourInputs, where: str = "hour") -> tuple[np.ndarray, np.ndarray, bool, float]:
        """Solve the hour: (x, u, whether a fallback was needed, seconds in the solvers)."""
        self._load(inputs)
        h = self.highs
        tick = time.perf_counter()
        h.run()
        solver_s = time.perf_counter() - tick
        status = h.getModelStatus()
        if status == highspy.HighsModelStatus.kOptimal:
            z = np.asarray(h.getSolution().col_value)
            self.objective_value = float(h.getInfo().objective_function_value)
            self.status = "Optimal"
            self.last_z = z
            x, u = self.form.split(z)
            return x, u, False, solver_s
        # the reference's order: HiGHS, then Clarabel (on the same rows)
        if self._conic is None:
            self._conic = ConicHourlyProblem(None, self.policy, None, env_linear=False, form=self.form)
        h.clearSolver()  # the next hour starts cold rather than from a failed basis
        x, u, _, seconds = self._conic.solve(inputs, where=where)
        self.objective_value = self._conic.objective_value
        self.last_z = self._conic.last_z
        self.status = f"HiGHS {h.modelStatusToString(status)}; Clarabel {self._conic.status}"
        return x, u, True, solver_s + seconds
