"""Hourly series in CSV files: a time column (UTC, one row per hour) and numeric columns.

Every time index returned here is a tz-aware UTC :class:`pandas.DatetimeIndex` named
``"time"`` with one row per hour (``freq`` is one hour).
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from cosim.errors import InputError
from cosim.loaders.csv_table import Table, column_index, parse_numbers, parse_times, read_table, require_header, row_number
from cosim.plausibility import check_columns

HOUR = pd.Timedelta(hours=1)
"""One hour, as a duration."""

HOURLY = pd.offsets.Hour()
"""One hour, as a frequency (pandas offset)."""


def _check_hourly(table: Table, times: pd.DatetimeIndex) -> None:
    """Refuse times that are not on the hour or not strictly increasing by exactly one hour."""
    off_hour = np.flatnonzero(times != times.floor(HOURLY))
    if len(off_hour):
        i = int(off_hour[0])
        raise InputError(table.path, f"row {row_number(i)}", f"time {times[i].isoformat()} is not on the hour")
    if len(times) < 2:
        return
    steps = np.diff(times.tz_convert(None).to_numpy())  # numpy compares across time units
    bad = np.flatnonzero(steps != np.timedelta64(1, "h"))
    if len(bad):
        i = int(bad[0]) + 1
        prev, this = times[i - 1], times[i]
        if this == prev:
            reason = f"duplicate time {this.isoformat()}"
        elif this < prev:
            reason = f"time {this.isoformat()} goes back after {prev.isoformat()}"
        else:
            reason = f"gap: {this.isoformat()} follows {prev.isoformat()} (expected {(prev + HOUR).isoformat()})"
        raise InputError(table.path, f"row {row_number(i)}", reason)


def _utc(start: pd.Timestamp | str) -> pd.Timestamp:
    """*start* as a UTC Timestamp (a naive one is taken as UTC)."""
    ts = pd.Timestamp(start)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def check_hours(hours: int | None) -> None:
    """Refuse (ValueError) a horizon *hours* that is neither None nor a positive integer."""
    if hours is not None and (isinstance(hours, bool) or not isinstance(hours, (int, np.integer)) or hours < 1):
        raise ValueError(f"hours must be a positive integer, got {hours!r}")


def _window(
    table: Table, times: pd.DatetimeIndex, *, start: pd.Timestamp | None, hours: int | None
) -> slice:
    """Rows to keep: from *start* (which must be a row's time) and at most *hours* of them."""
    first = 0
    if start is not None:
        start = _utc(start)
        first = int(times.searchsorted(start))
        if first >= len(times) or times[first] != start:
            raise InputError(
                table.path,
                "rows",
                f"does not cover start {start.isoformat()}: the file has "
                f"{times[0].isoformat()} to {times[-1].isoformat()}",
            )
    available = len(times) - first
    if hours is not None:
        if available < hours:
            raise InputError(table.path, "rows", f"{available} rows, the horizon needs {hours}")
        return slice(first, first + hours)
    return slice(first, len(times))


def hourly_index(first: pd.Timestamp, periods: int) -> pd.DatetimeIndex:
    """UTC hourly index named "time" starting at *first*."""
    return pd.date_range(_utc(first), periods=periods, freq=HOURLY, name="time")


def load_hourly_csv(
    path: str | Path,
    *,
    time_column: str = "time",
    columns: Sequence[str] | None = None,
    hours: int | None = None,
    start: pd.Timestamp | None = None,
    nonnegative: bool = True,
    exact_header: Sequence[str] | None = None,
    quantity: str | None = None,
) -> pd.DataFrame:
    """Read an hourly CSV: one time column and one numeric column per site or region.

    Units are whatever the file holds; values are returned as float unchanged.

    Times may be ISO 8601 or ``YYYY-MM-DD HH``; naive times are UTC, times with an offset are
    converted to UTC. They must be on the hour and strictly increasing by exactly one hour.
    Header names are matched (and returned) with surrounding whitespace stripped.

    Returns a float DataFrame indexed by a UTC hourly ``DatetimeIndex`` named ``"time"``,
    with the file's value columns in file order, or *columns* in the order requested (other
    columns are then neither read nor checked).

    * *start* (a tz-aware Timestamp; a naive one is taken as UTC): rows before it are
      skipped, and the first remaining row must be exactly *start*.
    * *hours*: at least that many rows (from *start*) are needed; the result is cut to
      exactly *hours* rows.
    * *nonnegative*: refuse negative values (default True).
    * *exact_header*: if given, the header must be exactly these names (in order).
    * *quantity*: a quantity of cosim.plausibility.BOUNDS (``carbon_kg_per_kwh``...): a
      column with a value outside its plausible range warns (PlausibilityWarning naming the
      file, the column, the first row out of range and the likely unit mistake).

    The whole file is validated, including rows outside the returned window.

    Raises InputError(path, where, reason) with *where* one of ``file`` (not found),
    ``header`` (missing, duplicate or unexpected column), ``row N`` (bad time, gap, duplicate,
    wrong field count), ``row N, column C`` (empty, non-numeric, NaN, infinite or negative value) or
    ``rows`` (no data, does not cover *start*, fewer rows than *hours*). Row numbers are
    spreadsheet rows: the header is row 1, the first data row is row 2.
    """
    check_hours(hours)
    if columns is not None:
        columns = [str(c).strip() for c in columns]
        if len(set(columns)) != len(columns):
            raise ValueError(f"columns requested twice: {columns!r}")
    table = read_table(path)
    if exact_header is not None:
        require_header(table, exact_header)
    time_index = column_index(table, time_column)
    if columns is None:
        names = [name for name in table.header if name != table.header[time_index]]
        if not names:
            raise InputError(table.path, "header", f"no value column besides {table.header[time_index]!r}")
    else:
        names = columns
    value_indices = [column_index(table, name, recognised=True) for name in names]  # its time column found
    times = parse_times(table, time_index)
    values = parse_numbers(table, value_indices, nonnegative=nonnegative)
    _check_hourly(table, times)
    if quantity is not None:
        check_columns(quantity, values, list(names), source=table.path, row=lambda i: f"row {row_number(i)}")
    keep = _window(table, times, start=start, hours=hours)
    kept = values[keep]
    frame = pd.DataFrame(kept, index=hourly_index(times[keep.start], len(kept)), columns=list(names), dtype=float)
    return frame
