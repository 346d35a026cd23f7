"""Reading the RTS-GMLC dataset's files: its folder, its CSV tables and its hourly
``DAY_AHEAD_*`` series (see grids/rts_gmlc.py for the dataset and its notice)."""
from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from grids.errors import InputError
from grids.files import header_hint

RTS_DATASET = "rts-gmlc"
"""Folder name of the dataset under the data dir."""

_TIME_COLUMNS = ("Year", "Month", "Day", "Period")
_HOUR = pd.Timedelta(hours=1)


def dataset_root(root: str | Path) -> Path:
    """The folder holding gen.csv: *root* itself, or *root*/rts-gmlc (a data dir)."""
    root = Path(root).expanduser()
    if not root.is_dir():
        raise InputError(root, "folder", "not found (expected the RTS-GMLC folder or the data dir holding it)")
    if not (root / "gen.csv").exists() and (root / RTS_DATASET / "gen.csv").exists():
        return root / RTS_DATASET
    return root


def read_table(path: Path, required: Iterable[str]) -> pd.DataFrame:
    """*path* as strings (header stripped); InputError when absent, unreadable or missing columns."""
    if not path.exists():
        raise InputError(path, "file", "not found")
    if not path.is_file():
        raise InputError(path, "file", "not a file")
    try:
        frame = pd.read_csv(path, keep_default_na=False, skipinitialspace=True)
    except pd.errors.EmptyDataError:
        raise InputError(path, "header", "the file is empty (a header row is needed)") from None
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        raise InputError(path, "file", f"not a readable CSV file ({str(exc).strip()})") from None
    except OSError as exc:
        raise InputError(path, "file", f"cannot be read ({exc.strerror or exc})") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise InputError(
            path, "header", f"missing column(s) {', '.join(map(repr, missing))}; {header_hint(list(frame.columns), missing)}"
        )
    if frame.empty:
        raise InputError(path, "rows", "no data rows below the header")
    return frame


def column_numbers(
    frame: pd.DataFrame,
    column: str,
    path: Path,
    *,
    label: pd.Series | None = None,
    rows: np.ndarray | None = None,
    missing_ok: bool = False,
) -> np.ndarray:
    """Column *column* as floats; refuses text, empty or infinite values in *rows* (default all).

    With *missing_ok*, empty and ``NA`` cells are NaN instead of an error.
    """
    col = frame[column]
    if pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):
        values = col.to_numpy(dtype=float)  # fast path: pandas parsed every cell as a number
        raw = None
    else:
        raw = col.astype(str).str.strip()
        values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float)
    check = np.ones(len(frame), dtype=bool) if rows is None else rows
    bad = check & ~np.isfinite(values)
    if missing_ok and raw is not None:
        bad &= ~raw.isin(["", "NA", "NaN", "nan"]).to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        where = f"row {i + 2}" + (f" ({label.iloc[i]})" if label is not None else "") + f", column {column}"
        text = raw.iloc[i] if raw is not None else str(col.iloc[i])
        raise InputError(path, where, "empty value" if not text else f"{text!r} is not a finite number")
    return values



def read_day_ahead(path: Path, columns: list[str]) -> tuple[pd.DatetimeIndex, np.ndarray]:
    """A DAY_AHEAD file: its UTC-labelled hourly times and the values of *columns*."""
    frame = read_table(path, list(_TIME_COLUMNS) + columns)
    parts = {}
    for c in _TIME_COLUMNS:
        v = column_numbers(frame, c, path)
        bad = v != np.round(v)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise InputError(path, f"row {i + 2}, column {c}", f"{frame[c].iloc[i]!r} is not a whole number")
        parts[c] = v.astype(int)
    period = parts["Period"]
    bad = (period < 1) | (period > 24)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(path, f"row {i + 2}, column Period", f"{period[i]} is outside 1..24 (hour-ending periods)")
    days = pd.to_datetime(
        pd.DataFrame({"year": parts["Year"], "month": parts["Month"], "day": parts["Day"]}), errors="coerce"
    )
    if days.isna().any():
        i = int(np.flatnonzero(days.isna().to_numpy())[0])
        raise InputError(path, f"row {i + 2}", "Year, Month, Day are not a calendar date")
    times = pd.DatetimeIndex(days + pd.to_timedelta(period - 1, unit="h")).tz_localize("UTC")
    steps = np.diff(times.asi8)
    bad = steps != _HOUR.value
    if bad.any():
        i = int(np.flatnonzero(bad)[0]) + 1
        raise InputError(path, f"row {i + 2}", f"{times[i]:%Y-%m-%d %H:%M} does not follow "
                                               f"{times[i - 1]:%Y-%m-%d %H:%M} by one hour")
    values = np.column_stack([column_numbers(frame, c, path) for c in columns]) if columns else np.empty((len(frame), 0))
    if (values < 0).any():
        i, k = (int(v[0]) for v in np.nonzero(values < 0))
        raise InputError(path, f"row {i + 2}, column {columns[k]}", f"negative value {values[i, k]}")
    return pd.DatetimeIndex(times, name="time"), values
