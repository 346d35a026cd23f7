"""The command-line conventions of the policy scripts (scenarios/*.py), after `cosim`'s:
exit 0 on success, 2 on bad input with one line on stderr (`error: where: value: reason`,
no traceback), 1 on a solver failure; `--data-dir` (or $COSIM_DATA_DIR) as `cosim`'s; a
progress line per run and policy on stderr (`12:03:04 rebound: share 0.1 se-glb done (41 s)`)."""
from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

from cosim.errors import InputError
from cosim.glb import SolverFailure
from cosim.loaders import DATA_DIR_ENV, resolve_data_dir
from cosim.progress import log_progress_lines
from cosim.scenario_files import DEFAULT_SCENARIO
from cosim.terminal import visible


class StudyParser(argparse.ArgumentParser):
    """argparse with the CLI's convention: a usage error is one line and exit 2."""

    def error(self, message: str) -> NoReturn:
        """Print *message* as one line on stderr and exit 2."""
        _error_line(f"error: {self.prog}: {message}")
        sys.exit(2)


def parser(prog: str, description: str, default_out: str, default_hours: int, *, scenario: bool = True) -> StudyParser:
    """A parser with the options every study has: --scenario (unless *scenario* is False:
    a sweep names its own), --hours, --data-dir, --out."""
    p = StudyParser(prog=prog, description=description)
    if scenario:
        p.add_argument("--scenario", default=DEFAULT_SCENARIO, help="scenario YAML or shipped name (default %(default)s)")
    p.add_argument("--hours", type=int, default=default_hours, help="hours from the scenario's start (default %(default)s)")
    p.add_argument("--data-dir", type=Path, default=None,
                   help=f"folder holding external datasets (default: ${DATA_DIR_ENV})")
    p.add_argument("--out", type=Path, default=Path(default_out), help="output folder (default %(default)s)")
    return p


def data_dir(args: argparse.Namespace) -> Path | None:
    """The data dir of the parsed *args*: --data-dir, else $COSIM_DATA_DIR, else None (as `cosim`)."""
    return resolve_data_dir(args.data_dir)


def floats(text: str, where: str) -> list[float]:
    """'0.001,0.03,inf' -> [0.001, 0.03, inf]; InputError for anything not a number."""
    values = []
    for n, part in enumerate(text.split(",")):
        try:
            values.append(float(part))
        except ValueError:
            raise InputError(where, f"value {n + 1}", f"'{part.strip()}' is not a number") from None
    return values


def names(text: str) -> list[str]:
    """'all-glb,se-glb' -> ['all-glb', 'se-glb']."""
    return [part.strip() for part in text.split(",") if part.strip()]


def main(run: Callable[[list[str] | None], None], argv: list[str] | None = None) -> None:
    """Run a script's *run(argv)* with the exit-code convention; progress lines (one per
    run and policy, cosim.progress) go to stderr."""
    log_progress_lines()
    try:
        run(argv)
    except InputError as exc:
        _error_line(f"error: {exc}")
        sys.exit(2)
    except SolverFailure as exc:
        _error_line(f"solver failure: {exc}")
        sys.exit(1)
    except KeyboardInterrupt:
        _error_line("interrupted")
        sys.exit(130)


def _error_line(text: str) -> None:
    """One line on stderr, a name's control characters shown as escapes (cosim.terminal)."""
    print(visible(" ".join(text.split())), file=sys.stderr)
