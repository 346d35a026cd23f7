"""Where inputs may lead the CLI on disk: folder names made from scenario and sweep names,
and the files a scenario names kept inside the folders they may come from.

* An output folder derived from a name (``cosim-out/<name>`` without ``--out``) takes a
  *folder name*: letters, digits, ``-``, ``_`` and ``.``, not starting with ``.``, at most
  100 characters (:data:`FOLDER_NAME`). The schema refuses any other scenario or sweep
  ``name`` (exit 2 naming the field), and :func:`default_out` checks the folder it gives
  stays inside ``cosim-out``.
* A file a scenario names (a CSV field, a dataset, the RTT file, a grid or weather file)
  and a base it ``extends:`` must lie inside one of its *roots* (the data dir, the
  scenario's folder, the shipped scenarios) once resolved: ``..`` and absolute paths
  leading elsewhere are refused, and a symlink counts by where it points. The user can
  lift the rule for a command with ``--allow-outside-paths`` (docs/scenarios.md, Paths).
"""
from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path

from cosim.errors import InputError

OUT_ROOT = Path("cosim-out")
"""Where `cosim run`, `frontier` and `batch` write without ``--out``."""

FOLDER_NAME = r"^[A-Za-z0-9_-][A-Za-z0-9._-]{0,99}$"
"""A name that may become a folder: letters, digits, ``-``, ``_``, ``.``; not starting
with ``.`` (no ``..``, no hidden or temporary folder); 1 to 100 characters."""

FOLDER_NAME_RULE = "letters, digits, '-', '_' and '.', not starting with '.', at most 100 characters"
""":data:`FOLDER_NAME` in words, for messages."""

_FOLDER = re.compile(FOLDER_NAME)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def is_folder_name(name: object) -> bool:
    """Whether *name* matches :data:`FOLDER_NAME` (a str that is safe as one folder)."""
    return isinstance(name, str) and _FOLDER.fullmatch(name) is not None


def default_out(name: str, *, suffix: str = "", source: str | Path = "name") -> Path:
    """``cosim-out/<name><suffix>``, the output folder of a name; InputError(source, "name")
    when *name* is no folder name or the folder would not be inside ``cosim-out``."""
    if not is_folder_name(name) or not is_folder_name(name + suffix):
        raise InputError(source, "name", f"{name!r} cannot name an output folder ({FOLDER_NAME_RULE}); "
                                         "rename it or pass --out")
    folder = OUT_ROOT / f"{name}{suffix}"
    if not inside(folder, [OUT_ROOT]):
        raise InputError(source, "name", f"cosim-out/{name}{suffix} leads outside cosim-out (a symlink?); pass --out")
    return folder


def inside(path: Path, roots: Iterable[Path]) -> bool:
    """Whether *path*, resolved (symlinks followed, ``..`` folded), lies inside one of *roots*
    (resolved too). A path that does not exist yet is judged by its resolved parent chain."""
    target = Path(os.path.realpath(path))
    for root in roots:
        base = Path(os.path.realpath(root))
        if target == base or base in target.parents:
            return True
    return False


def check_name_text(name: object, *, source: str | Path, where: str) -> str:
    """*name*, a path as a scenario gives it; InputError(source, where) when it is not a
    non-empty string or holds a control character (NUL, ESC...), which no file name needs."""
    if not isinstance(name, str) or not name.strip():
        raise InputError(source, where, "a file name: a non-empty string")
    if _CONTROL.search(name):
        raise InputError(source, where, "the file name holds a control character")
    return name


def contained(path: Path, roots: Iterable[Path], *, name: str, source: str | Path, where: str,
              allow_outside: bool, roots_text: str) -> Path:
    """*path* (the file *name* a scenario gives, found on disk) when it lies inside one of
    *roots* or *allow_outside*; else InputError(source, where) naming the rule."""
    roots = [r for r in roots if r is not None]
    if allow_outside or inside(path, roots):
        return path
    if Path(name).is_absolute():
        how = "an absolute path elsewhere"
    elif ".." in Path(name).parts:
        how = "'..' leads out of them"
    else:
        how = "a symlink pointing elsewhere"
    raise InputError(source, where, f"'{name}' is outside {roots_text}: {how}; a scenario's files stay inside "
                                    "them unless the command is given --allow-outside-paths")
