"""Errors a user can fix (InputError: the CLI turns them into exit code 2 and one line) and
non-finite numbers met at a solver's boundary (SolverInputError: exit code 1, one line).
Defined in grids/ (the lowest layer, which raises them too)."""
from grids.errors import DataWarning, InputError, SolverInputError

__all__ = ["DataWarning", "InputError", "SolverInputError"]
