"""Progress lines for runs nobody watches in a terminal (a CI log, `nohup`, a pipe): one
logged line per step on stderr, with the wall clock (UTC) and the step's elapsed time, e.g.
``12:03:04 rebound: share 0.1 se-glb done (41 s)``.

Nothing is printed until :func:`log_progress_lines` installs the handler (the study scripts
and `cosim batch` without a terminal do): library callers (notebooks) stay quiet.
"""
from __future__ import annotations

import logging
import sys
import time
from typing import TextIO

LOGGER = logging.getLogger("cosim.progress")


def log_progress_lines(stream: TextIO | None = None) -> None:
    """Send the progress lines to *stream* (default stderr), once per process."""
    if any(getattr(h, "_cosim_progress", False) for h in LOGGER.handlers):
        return
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    formatter = logging.Formatter("%(asctime)s %(message)s", datefmt="%H:%M:%S")
    formatter.converter = time.gmtime
    handler.setFormatter(formatter)
    handler._cosim_progress = True  # type: ignore[attr-defined]
    LOGGER.addHandler(handler)
    LOGGER.setLevel(logging.INFO)
    LOGGER.propagate = False


def progress(message: str) -> None:
    """One progress line (shown once :func:`log_progress_lines` was called)."""
    LOGGER.info(message)


class PolicySteps:
    """The policies of one run as progress lines: pass :meth:`on_policy` as run_scenario's
    *on_policy*; each policy's line (``LABEL POLICY done (N s)``) is logged when the next one
    starts, the last one's by :meth:`close`."""

    def __init__(self, label: str) -> None:
        self.label = label
        self._current: str | None = None
        self._started = 0.0

    def on_policy(self, name: str) -> None:
        """*name* starts: the previous policy is done."""
        self.close()
        self._current, self._started = name, time.perf_counter()

    def close(self) -> None:
        """The current policy is done: log its line."""
        if self._current is not None:
            elapsed_s = time.perf_counter() - self._started
            progress(f"{self.label} {self._current} done ({elapsed_s:.0f} s)" if elapsed_s >= 10
                     else f"{self.label} {self._current} done ({elapsed_s:.1f} s)")
            self._current = None
