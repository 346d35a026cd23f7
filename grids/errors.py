"""Errors a user can fix: the CLI turns them into exit code 2 and one line."""
from __future__ import annotations

from pathlib import Path


class InputError(Exception):
    """Bad input: a scenario, a CSV or a sweep that cannot be used.

    The message always reads ``source: where: reason`` where *source* is the file
    (or ``<scenario>`` for in-memory input), *where* the field or row, and *reason*
    what is wrong with it.
    """

    def __init__(self, source: str | Path, where: str, reason: str):
        self.source = str(source)
        self.where = where
        self.reason = reason
        super().__init__(f"{self.source}: {where}: {reason}")


class DataWarning(UserWarning):
    """Something in the inputs the user should know of, not an error: a grid that had to
    shed load in some hour, for instance. Captured into summary.json's "notes"."""


class SolverInputError(ValueError):
    """A number about to reach a solver (an optimizer's or a dispatch's input) that is NaN or
    infinite although the inputs were validated: an internal error (the CLI's exit code 1,
    one line), naming the array and the element, e.g. ``energy_kwh_per_request has inf at
    model 2 ('big')``. A ValueError, as the checks it replaces raised."""
