"""Warnings raised inside a run (cvxpy's, a solver's, numpy's) re-issued with the run,
policy and hour they belong to: ``paper10: policy se-glb, hour 2022-09-22T03:00+00:00:
Solution may be inaccurate...``. The project's own DataWarnings (notes for summary.json)
pass through unchanged."""
from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator

from cosim.errors import DataWarning


@contextlib.contextmanager
def attributed(where: str) -> Iterator[None]:
    """Re-issue every warning raised in the block, prefixed ``WHERE: ``, after it ends
    (its category, file and line kept, so filters and pytest see them as before)."""
    with warnings.catch_warnings(record=True) as caught:  # the caller's filters still apply inside
        yield
    for w in caught:
        message = w.message if issubclass(w.category, DataWarning) else f"{where}: {w.message}"
        warnings.warn_explicit(message, w.category, w.filename, w.lineno)
