"""The hourly GLB problem in Clarabel's own form: assembled once, updated in place by the hour.

`ConicHourlyProblem` has the interface of the cvxpy reference (cosim.glb.online.
HourlyProblem): ``solve(inputs, where) -> (x, u, fallback, solver_s)`` for one hour's
:class:`~cosim.glb.hour_inputs.HourInputs`. The matrix A of ``A z + s = b, s in K``
(cosim.glb.hour_form) is built once; each hour overwrites the slots of ``A.data``
(capacity use, social loss, environmental cost per arc), ``q`` and ``b``, and hands them to
the persistent solver with Clarabel's data update (``solver.update(q=, b=, A=)``: it
needs ``presolve_enable = False`` and keeps the structural zeros), so no compilation and no
symbolic factorization is repeated.

Settings: the reference's (cosim.glb.solve._SETTINGS, 1e-7 gaps) plus
``tol_infeas_abs = tol_infeas_rel = 1e-12``. The hourly problem is always feasible and
bounded (u = 1, 0 <= x <= 1), so an infeasibility certificate is numerical; with
Clarabel's 1e-8 default, paper10's SE-GLB hours near the cones' apex ended "primal
infeasible" and went to SCS (docs/performance.md). A hour that does not end Solved is
retried with equilibration off, then given to SCS on the same arrays; the hour is then
recorded as a fallback (as is an AlmostSolved one), as the reference does.
"""
from __future__ import annotations

import time

import clarabel
import numpy as np
import scipy.sparse as sp

from cosim.glb.formulation import Arcs
from cosim.glb.hour_form import HourForm
from cosim.glb.hour_inputs import HourInputs
from cosim.glb.policies import Policy
from cosim.glb.solve import _SETTINGS, SolverFailure
from cosim.instance import Instance

SETTINGS = {**_SETTINGS["CLARABEL"], "tol_infeas_abs": 1e-12, "tol_infeas_rel": 1e-12, "direct_solve_method": "qdldl"}
"""Clarabel's settings for the hourly problem (module docstring). qdldl, not 0.11.1's
automatic choice (faer): 4.3x faster on a 100 x 100 x 3 hour (1.15 s against 4.99 s)."""

RETRY = {**_SETTINGS["CLARABEL"], "equilibrate_enable": False}
"""The settings of the second attempt."""

SCS = {"eps_abs": 1e-6, "eps_rel": 1e-6, "max_iters": 200_000}


def _settings(values: dict) -> clarabel.DefaultSettings:
    settings = clarabel.DefaultSettings()
    settings.verbose = False
    settings.presolve_enable = False  # data updates need it off
    for key, value in values.items():
        setattr(settings, key, value)
    return settings


class ConicHourlyProblem:
    """One hour of a GLB policy as Clarabel data: build once, then solve(inputs) each hour."""

    solver_name = "CLARABEL"

    def __init__(self, inst: Instance, policy: Policy, arcs: Arcs, *, env_linear: bool,
                 damping: bool = False, max_shift: bool = False, form: HourForm | None = None,
                 settings: dict | None = None, update: bool = True):
        self.policy = policy
        self.form = form if form is not None else HourForm(inst, policy, arcs, env_linear=env_linear,
                                                           damping=damping, max_shift=max_shift)
        f = self.form
        self.A, self.slot_pos = f.conic_matrix()
        self.P = sp.csc_matrix((f.n, f.n))
        self.n_nonneg = f.n_ineq + len(f.nonneg_idx)
        self.cones = [clarabel.ZeroConeT(f.n_eq), clarabel.NonnegativeConeT(self.n_nonneg)]
        self.cones += [clarabel.SecondOrderConeT(3)] * len(f.soc_idx)
        self.b_tail = np.zeros(self.A.shape[0] - f.n_eq - f.n_ineq)
        self.settings = _settings(SETTINGS if settings is None else settings)
        self.update = update
        self._solver = None
        self.objective_value = float("nan")  # the last hour's objective (scaled units)
        self.status = ""
        self.last_z: np.ndarray | None = None  # the last hour's solution, every variable

    def _data(self, inputs: HourInputs) -> tuple[np.ndarray, np.ndarray]:
        """(q, b) of the hour, with the hour's slots written into A.data."""
        f = self.form
        self.A.data[self.slot_pos] = f.slots(inputs)
        return f.objective(inputs), np.concatenate([f.rhs(inputs), self.b_tail])

    def solve(self, inputs: HourInputs, where: str = "hour") -> tuple[np.ndarray, np.ndarray, bool, float]:
        """Solve the hour: (x, u, whether a fallback was needed, seconds in the solvers)."""
        q, b = self._data(inputs)
        solver_s = 0.0
        errors = []
        for attempt in range(3):
            if attempt < 2:
                sol, seconds = self._clarabel(q, b, retry=attempt == 1)
                solver_s += seconds
                status = str(sol.status)
                if status in ("Solved", "AlmostSolved"):
                    return self._done(q, np.asarray(sol.x), status, attempt > 0 or status != "Solved", solver_s)
            else:
                z, status, seconds = self._scs(q, b)
                solver_s += seconds
                if status in ("solved", "solved_inaccurate"):
                    return self._done(q, z, f"SCS {status}", True, solver_s)
            errors.append(status)
        raise SolverFailure(f"{where}: no solver succeeded ({'; '.join(errors)})")

    def _done(self, q, z, status, fallback, solver_s):
        self.objective_value = float(q @ z)
        self.status = status
        self.last_z = z
        x, u = self.form.split(z)
        return x, u, fallback, solver_s

    def _clarabel(self, q: np.ndarray, b: np.ndarray, *, retry: bool):
        """One Clarabel solve: the persistent solver updated (or built), or a fresh one with RETRY."""
        tick = time.perf_counter()
        if retry:
            solver = clarabel.DefaultSolver(self.P, q, self.A, b, self.cones, _settings(RETRY))
        elif self._solver is None or not self.update:
            solver = self._solver = clarabel.DefaultSolver(self.P, q, self.A, b, self.cones, self.settings)
        else:
            solver = self._solver
            solver.update(q=q, b=b, A=self.A.data)
        sol = solver.solve()
        return sol, time.perf_counter() - tick

    def _scs(self, q: np.ndarray, b: np.ndarray):
        """The last resort: SCS on the same A, b, cones."""
        import scs

        f = self.form
        tick = time.perf_counter()
        solver = scs.SCS({"A": self.A, "b": b, "c": q},
                         {"z": f.n_eq, "l": self.n_nonneg, "q": [3] * len(f.soc_idx)}, verbose=False, **SCS)
        sol = solver.solve()
        return np.asarray(sol["x"]), str(sol["info"]["status"]), time.perf_counter() - tick
