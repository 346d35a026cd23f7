"""Running a cvxpy problem with the project's solver choice and one fallback.

LPs (every norm 1 or inf) go to HiGHS, problems with cones to Clarabel, as DESIGN.md
chooses. A failed solve is retried once with the other solver; a solve that ends
"optimal_inaccurate" is kept. Either way the caller records the hour as one that
needed a fallback, and the summary lists it.
"""
from __future__ import annotations

import ctypes
import functools
import os
import sys

import cvxpy as cp

# Clarabel's defaults (1e-8) stall on paper10's degenerate cones one step short of
# "solved"; 1e-7 is still far below any figure we report.
_SETTINGS = {
    "CLARABEL": {"tol_gap_abs": 1e-7, "tol_gap_rel": 1e-7, "tol_feas": 1e-7, "tol_ktratio": 1e-5},
    "HIGHS": {},
    "SCS": {"eps": 1e-6, "max_iters": 200_000},
}


class SolverFailure(RuntimeError):
    """No solver returned an optimal point (an internal error: exit code 1)."""


def solve_problem(problem: cp.Problem, *, conic: bool, where: str) -> tuple[str, bool]:
    """Solve *problem*; return (solver used, whether it needed a fallback or ended inaccurate)."""
    order = ("CLARABEL", "SCS") if conic else ("HIGHS", "CLARABEL")
    errors = []
    for attempt, solver in enumerate(order):
        if solver == "HIGHS":
            _swallow_highs_banner()
        try:
            problem.solve(solver=solver, **_SETTINGS[solver])
        except cp.error.SolverError as exc:
            errors.append(f"{solver}: {exc}")
            continue
        if problem.status == cp.OPTIMAL:
            return solver, attempt > 0
        if problem.status == cp.OPTIMAL_INACCURATE:
            return solver, True
        errors.append(f"{solver}: {problem.status}")
    raise SolverFailure(f"{where}: no solver succeeded ({'; '.join(errors)})")


@functools.cache
def _swallow_highs_banner() -> None:
    """highspy 1.16 prints its banner to stdout (file descriptor 1) when a process makes its
    first Highs(), before any option can be set, and cvxpy makes one per HiGHS solve; it
    would precede `cosim`'s tables and break one-line outputs. Make the first one here with
    file descriptor 1 on /dev/null."""
    import highspy

    sys.stdout.flush()
    try:
        saved = os.dup(1)
    except OSError:  # no stdout at all: nothing to protect
        return
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 1)
            highspy.Highs()
            ctypes.CDLL(None).fflush(None)  # C stdio buffers, before stdout comes back
    finally:
        os.dup2(saved, 1)
        os.close(saved)
