"""Errors a user can fix: the CLI turns them into exit code 2 and one line. Defined in
grids/ (the lowest layer, which raises them too)."""
from grids.errors import DataWarning, InputError

__all__ = ["DataWarning", "InputError"]
