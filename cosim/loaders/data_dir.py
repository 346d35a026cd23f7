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
    """``data_dir / name``: a dataset folder (or file) named by the scenario file *source*.

    Raises InputError(source, "dataset", ...) when there is no data dir or nothing by that
    name under it.
    """
    if data_dir is not None:
        path = Path(data_dir) / name
        if path.exists():
            return path
    if data_dir is None:
        raise InputError(source, "dataset", f"'{name}' needs a data dir: set --data-dir or COSIM_DATA_DIR")
    raise InputError(
        source, "dataset", f"'{name}' not found under data dir {data_dir} (set --data-dir or COSIM_DATA_DIR)"
    )
