"""The data dir: where datasets and data files named by scenarios live, outside the
repository (``--data-dir`` or the environment variable ``COSIM_DATA_DIR``)."""
from __future__ import annotations

import os
from pathlib import Path

from cosim.errors import InputError

DATA_DIR_ENV = "COSIM_DATA_DIR"
"""Environment variable naming the data dir when ``--data-dir`` is not given."""


def resolve_data_dir(cli_value: str | Path | None = None) -> Path | None:
    """The data dir: *cli_value* (``--data-dir``) if given, else ``$COSIM_DATA_DIR``, else None.

    Empty strings count as not given. The path is returned as given (``~`` expanded), not
    checked: :func:`dataset_path` reports a missing dataset with the scenario that needs it.
    """
    for value in (cli_value, os.environ.get(DATA_DIR_ENV)):
        if value is not None and str(value).strip():
            return Path(str(value).strip()).expanduser()
    return None


def dataset_path(data_dir: str | Path | None, name: str, *, source: str | Path) -> Path:
    """A dataset folder (or file) *name* named by the scenario file *source*: the path
    relative to the scenario file's folder when it exists there (data next to the scenario
    wins), else ``data_dir / name``. An absolute *name* is taken as it is.

    Raises InputError(source, "dataset", ...) when neither has it (no data dir, or nothing
    by that name under it).
    """
    beside = _beside_scenario(source, name)
    if beside is not None:
        return beside
    if data_dir is not None:
        path = Path(data_dir) / name
        if path.exists():
            return path
    also = f" nor next to the scenario in {Path(source).parent}" if _is_file(source) else ""
    if data_dir is None:
        raise InputError(source, "dataset", f"'{name}' needs a data dir: set --data-dir or COSIM_DATA_DIR")
    raise InputError(
        source, "dataset", f"'{name}' not found under data dir {data_dir}{also} (set --data-dir or COSIM_DATA_DIR)"
    )


def _is_file(source: str | Path) -> bool:
    try:
        return Path(source).is_file()
    except (OSError, ValueError):
        return False


def _beside_scenario(source: str | Path, name: str) -> Path | None:
    """``folder of source / name`` when *source* is a file and that path exists, else None."""
    if not _is_file(source):
        return None
    path = Path(source).parent / name
    return path if path.exists() else None
