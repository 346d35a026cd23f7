"""The data dir: where datasets and data files named by scenarios live, outside the
repository (``--data-dir`` or the environment variable ``COSIM_DATA_DIR``), and the one
place a scenario's file names become paths (:func:`dataset_path`): next to the scenario or
under the data dir, and inside one of them (cosim.paths) unless the user allows outside
paths (``--allow-outside-paths``)."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from cosim.errors import InputError
from cosim.paths import check_name_text, contained, inside

DATA_DIR_ENV = "COSIM_DATA_DIR"
"""Environment variable naming the data dir when ``--data-dir`` is not given."""


@dataclass(frozen=True)
class DataDir:
    """The data dir (*folder*, None when none is given) and whether a scenario may name files
    outside it and outside its own folder (*allow_outside*: ``--allow-outside-paths``).

    Every function taking a ``data_dir`` takes one of these, a plain path or None (both
    meaning: files stay inside); it is picklable, so batch workers get the same rule."""

    folder: Path | None = None
    allow_outside: bool = False

    def __str__(self) -> str:
        return str(self.folder)

    def resolved(self) -> DataDir:
        """The same with *folder* made absolute (for workers in other folders)."""
        return DataDir(None if self.folder is None else self.folder.resolve(), self.allow_outside)


def as_data_dir(value: DataDir | str | Path | None) -> DataDir:
    """*value* as a :class:`DataDir` (a path or None: that folder, files inside)."""
    if isinstance(value, DataDir):
        return value
    return DataDir(None if value is None or not str(value) else Path(value))


def resolve_data_dir(cli_value: str | Path | None = None) -> Path | None:
    """The data dir: *cli_value* (``--data-dir``) if given, else ``$COSIM_DATA_DIR``, else None.

    Empty strings count as not given. The path is returned as given (``~`` expanded), not
    checked: :func:`dataset_path` reports a missing dataset with the scenario that needs it.
    """
    for value in (cli_value, os.environ.get(DATA_DIR_ENV)):
        if value is not None and str(value).strip():
            return Path(str(value).strip()).expanduser()
    return None


def data_dir_option(cli_value: str | Path | None = None, *, allow_outside: bool = False) -> DataDir:
    """The CLI's data dir (:func:`resolve_data_dir`) with its path rule: *allow_outside*
    (``--allow-outside-paths``) lets a scenario name files anywhere."""
    return DataDir(resolve_data_dir(cli_value), allow_outside)


def dataset_path(data_dir: DataDir | str | Path | None, name: str, *, source: str | Path, where: str = "dataset") -> Path:
    """A dataset folder (or file) *name* named by the scenario file *source* in its field
    *where*: the path relative to the scenario file's folder when it exists there (data next
    to the scenario wins), else ``data_dir / name``. An absolute *name* is taken as it is.

    The path found must lie inside the data dir or the scenario's folder once resolved (a
    symlink counts by where it points; cosim.paths) unless *data_dir* allows outside paths.

    Raises InputError(source, where, ...) when the name is empty or holds a control
    character, when it leads outside (``..``, an absolute path, a symlink), or when neither
    place has it (no data dir, or nothing by that name under it).
    """
    data = as_data_dir(data_dir)
    check_name_text(name, source=source, where=where)
    folder = Path(source).parent if _is_file(source) else None
    roots = [r for r in (folder, data.folder) if r is not None]
    places = [f"the data dir {data.folder}" if data.folder is not None else None,
              f"the scenario's folder {folder}" if folder is not None else None]
    roots_text = " and ".join(p for p in places if p) or "the scenario's folder"
    for root in (folder, data.folder):
        if root is not None and _exists(root / name):
            return contained(root / name, roots, name=name, source=source, where=where,
                             allow_outside=data.allow_outside, roots_text=roots_text)
    if roots and not data.allow_outside and not any(inside(Path(os.path.normpath(r.resolve() / name)), [r]) for r in roots):
        contained(Path(name), roots, name=name, source=source, where=where, allow_outside=False, roots_text=roots_text)
    also = f" nor next to the scenario in {folder}" if folder is not None else ""
    if data.folder is None:
        raise InputError(source, where, f"'{name}' needs a data dir: set --data-dir or COSIM_DATA_DIR")
    raise InputError(
        source, where, f"'{name}' not found under data dir {data.folder}{also} (set --data-dir or COSIM_DATA_DIR)"
    )


def _exists(path: Path) -> bool:
    try:
        return path.exists()
    except (OSError, ValueError):  # a name too long, an embedded NUL
        return False


def _is_file(source: str | Path) -> bool:
    try:
        return Path(source).is_file()
    except (OSError, ValueError):
        return False
