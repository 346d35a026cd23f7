"""Readers for the hourly input data: generic CSVs, the E-GLB dataset and the Azure LLM trace.

Every time index returned here is a tz-aware UTC :class:`pandas.DatetimeIndex` named
``"time"`` with one row per hour (``freq`` is one hour). Every bad input raises
:class:`cosim.errors.InputError` (``source: where: reason``), never a pandas or csv error.

Row numbers in messages are the ones a spreadsheet user sees: the header is row 1 and the
first data row is row 2 (so data row *i*, counted from 0, is row ``i + 2``).

Datasets live outside the repository, in the data dir (``--data-dir`` or the environment
variable ``COSIM_DATA_DIR``); scenarios name a dataset by its folder name under it
(``eglb``, ``azure-llm-2023``).
"""
from __future__ import annotations

import csv
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from cosim.errors import InputError

__all__ = [
    "AZURE_LLM_DATASET",
    "AZURE_TRACES",
    "EGLB_DATASET",
    "EGLB_HOURS",
    "EGLB_LOCATIONS",
    "EglbData",
    "dataset_path",
    "load_azure_llm_dataset",
    "load_azure_llm_trace",
    "load_eglb",
    "load_hourly_csv",
    "read_csv_records",
    "resolve_data_dir",
]

DATA_DIR_ENV = "COSIM_DATA_DIR"
"""Environment variable naming the data dir when ``--data-dir`` is not given."""

_HOUR = pd.Timedelta(hours=1)
_HOURLY = pd.offsets.Hour()
_FIRST_DATA_ROW = 2  # spreadsheet row of the first data row: the header is row 1
_SHORT_HOUR = re.compile(r"^\d{4}-\d{2}-\d{2}[ T]\d{2}$")  # "2022-09-22 00"


# --------------------------------------------------------------------------------------
# Shared CSV machinery (used by every loader below)
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Table:
    """A CSV file as text: the stripped header and the data rows, all of the header's width."""

    path: Path
    header: list[str]
    rows: list[list[str]]

    def column(self, index: int) -> list[str]:
        """The raw text of column *index*, one entry per data row."""
        return [row[index] for row in self.rows]


def _row_number(i: int) -> int:
    """Spreadsheet row number of data row *i* (0-based): the header is row 1."""
    return i + _FIRST_DATA_ROW


def _quote_list(names: Sequence[str]) -> str:
    return ", ".join(repr(n) for n in names) if names else "(none)"


def read_csv_records(path: Path) -> list[list[str]]:
    """The rows of a UTF-8 CSV file as lists of strings, trailing blank lines dropped;
    InputError(path, "file", ...) when it cannot be read as one."""
    if not path.exists():
        raise InputError(path, "file", "not found")
    if not path.is_file():
        raise InputError(path, "file", "not a file")
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            records = list(csv.reader(handle))
    except UnicodeDecodeError as exc:
        raise InputError(path, "file", f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except csv.Error as exc:
        raise InputError(path, "file", f"not a readable CSV file ({exc})") from None
    except OSError as exc:
        raise InputError(path, "file", f"cannot be read ({exc.strerror or exc})") from None
    while records and not any(field.strip() for field in records[-1]):
        records.pop()  # trailing blank lines are harmless
    return records


def _read_table(path: str | Path) -> _Table:
    """Read *path* as a comma-separated UTF-8 file with a header row.

    Header names are stripped of surrounding whitespace. Trailing empty lines are ignored;
    an empty line between data rows, a row with the wrong number of fields, a duplicate or
    empty header name are refused.
    """
    path = Path(path)
    records = read_csv_records(path)
    if not records:
        raise InputError(path, "header", "the file is empty (a header row is needed)")
    header = [name.strip() for name in records[0]]
    for position, name in enumerate(header, start=1):
        if not name:
            raise InputError(path, "header", f"column {position} has an empty name")
    seen: set[str] = set()
    for name in header:
        if name in seen:
            raise InputError(path, "header", f"column {name!r} appears twice")
        seen.add(name)
    rows = records[1:]
    for i, row in enumerate(rows):
        if len(row) != len(header):
            if not any(field.strip() for field in row):
                raise InputError(path, f"row {_row_number(i)}", "empty row")
            raise InputError(path, f"row {_row_number(i)}", f"{len(row)} fields, the header has {len(header)}")
    if not rows:
        raise InputError(path, "rows", "no data rows below the header")
    return _Table(path, header, rows)


def _column_index(table: _Table, name: str) -> int:
    """Position of column *name* (matched after stripping whitespace); InputError when absent."""
    wanted = name.strip()
    try:
        return table.header.index(wanted)
    except ValueError:
        raise InputError(
            table.path, "header", f"missing column {wanted!r}; the file has {_quote_list(table.header)}"
        ) from None


def _require_header(table: _Table, expected: Sequence[str]) -> None:
    """Refuse unless the header is exactly *expected* (after stripping whitespace)."""
    wanted = [name.strip() for name in expected]
    if table.header != wanted:
        raise InputError(
            table.path, "header", f"expected columns {_quote_list(wanted)}, found {_quote_list(table.header)}"
        )


def _parse_times(table: _Table, index: int) -> pd.DatetimeIndex:
    """Column *index* parsed as UTC times.

    Accepts ISO 8601 (``2022-09-22T00:00:00Z``, ``2023-11-16 18:15:46.6805900``...) and
    ``YYYY-MM-DD HH``. Naive times are taken as UTC; times with an offset are converted.
    """
    raw = [text.strip() for text in table.column(index)]
    normalised = [f"{text}:00" if _SHORT_HOUR.match(text) else text for text in raw]
    parsed = pd.to_datetime(pd.Series(normalised, dtype=object), format="ISO8601", utc=True, errors="coerce")
    bad = np.flatnonzero(parsed.isna().to_numpy())
    if len(bad):
        i = int(bad[0])
        if not raw[i]:
            reason = f"empty time in column {table.header[index]!r}"
        else:
            reason = f"cannot parse time {raw[i]!r} (expected ISO 8601 or 'YYYY-MM-DD HH')"
        raise InputError(table.path, f"row {_row_number(i)}", reason)
    return pd.DatetimeIndex(parsed, name="time")


def _exact_float(text: str) -> float:
    """The correctly rounded value of *text*, NaN when it is not a number."""
    try:
        return float(text)
    except ValueError:
        return float("nan")


def _parse_numbers(
    table: _Table, indices: Sequence[int], *, nonnegative: bool, integer: bool = False
) -> np.ndarray:
    """Columns *indices* as a float array (rows x columns).

    Refuses empty, non-numeric, NaN and infinite values, negative ones when *nonnegative*
    and fractional ones when *integer*; the message names the first offending row and column.
    """
    if not indices:
        return np.empty((len(table.rows), 0))
    # Python's float() rounds exactly; pandas' fast parser can differ in the last bit
    raw = [[row[j] for j in indices] for row in table.rows]
    values = np.array([[_exact_float(v) for v in row] for row in raw], dtype=float).reshape(len(raw), len(indices))

    def refuse(mask: np.ndarray, reason) -> None:
        if mask.any():
            i = int(np.flatnonzero(mask.any(axis=1))[0])
            k = int(np.flatnonzero(mask[i])[0])
            where = f"row {_row_number(i)}, column {table.header[indices[k]]}"
            raise InputError(table.path, where, reason(raw[i][k].strip(), values[i, k]))

    refuse(
        ~np.isfinite(values),
        lambda text, _: "empty value" if not text else f"{text!r} is not a finite number",
    )
    if integer:
        refuse(values != np.floor(values), lambda text, _: f"{text!r} is not a whole number")
    if nonnegative:
        refuse(values < 0, lambda text, _: f"negative value {text}")
    return values


def _check_hourly(table: _Table, times: pd.DatetimeIndex) -> None:
    """Refuse times that are not on the hour or not strictly increasing by exactly one hour."""
    off_hour = np.flatnonzero(times != times.floor(_HOURLY))
    if len(off_hour):
        i = int(off_hour[0])
        raise InputError(table.path, f"row {_row_number(i)}", f"time {times[i].isoformat()} is not on the hour")
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
            reason = f"gap: {this.isoformat()} follows {prev.isoformat()} (expected {(prev + _HOUR).isoformat()})"
        raise InputError(table.path, f"row {_row_number(i)}", reason)


def _utc(start: pd.Timestamp | str) -> pd.Timestamp:
    """*start* as a UTC Timestamp (a naive one is taken as UTC)."""
    ts = pd.Timestamp(start)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def _check_hours(hours: int | None) -> None:
    if hours is not None and (isinstance(hours, bool) or not isinstance(hours, (int, np.integer)) or hours < 1):
        raise ValueError(f"hours must be a positive integer, got {hours!r}")


def _window(
    table: _Table, times: pd.DatetimeIndex, *, start: pd.Timestamp | None, hours: int | None
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


def _hourly_index(first: pd.Timestamp, periods: int) -> pd.DatetimeIndex:
    """UTC hourly index named "time" starting at *first*."""
    return pd.date_range(_utc(first), periods=periods, freq=_HOURLY, name="time")


def _load_hourly(
    path: str | Path,
    *,
    time_column: str,
    columns: Sequence[str] | None,
    nonnegative: bool,
    hours: int | None,
    start: pd.Timestamp | None,
    exact_header: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Body of :func:`load_hourly_csv`; *exact_header*, if given, must be the whole header."""
    _check_hours(hours)
    if columns is not None:
        columns = [str(c).strip() for c in columns]
        if len(set(columns)) != len(columns):
            raise ValueError(f"columns requested twice: {columns!r}")
    table = _read_table(path)
    if exact_header is not None:
        _require_header(table, exact_header)
    time_index = _column_index(table, time_column)
    if columns is None:
        names = [name for name in table.header if name != table.header[time_index]]
        if not names:
            raise InputError(table.path, "header", f"no value column besides {table.header[time_index]!r}")
    else:
        names = columns
    value_indices = [_column_index(table, name) for name in names]
    times = _parse_times(table, time_index)
    values = _parse_numbers(table, value_indices, nonnegative=nonnegative)
    _check_hourly(table, times)
    keep = _window(table, times, start=start, hours=hours)
    kept = values[keep]
    frame = pd.DataFrame(kept, index=_hourly_index(times[keep.start], len(kept)), columns=list(names), dtype=float)
    return frame


# --------------------------------------------------------------------------------------
# Generic hourly CSV
# --------------------------------------------------------------------------------------


def load_hourly_csv(
    path: str | Path,
    *,
    time_column: str = "time",
    columns: Sequence[str] | None = None,
    hours: int | None = None,
    start: pd.Timestamp | None = None,
    nonnegative: bool = True,
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

    The whole file is validated, including rows outside the returned window.

    Raises InputError(path, where, reason) with *where* one of ``file`` (not found),
    ``header`` (missing or duplicate column), ``row N`` (bad time, gap, duplicate, wrong field
    count), ``row N, column C`` (empty, non-numeric, NaN, infinite or negative value) or
    ``rows`` (no data, does not cover *start*, fewer rows than *hours*). Row numbers are
    spreadsheet rows: the header is row 1, the first data row is row 2.
    """
    return _load_hourly(
        path, time_column=time_column, columns=columns, nonnegative=nonnegative, hours=hours, start=start
    )


# --------------------------------------------------------------------------------------
# E-GLB dataset (Ren-Research/Environmentally-Equitable-AI)
# --------------------------------------------------------------------------------------

EGLB_DATASET = "eglb"
"""Folder name of the E-GLB dataset under the data dir."""

EGLB_LOCATIONS = (
    "Virginia",
    "Georgia",
    "Texas",
    "Nevada",
    "Belgium",
    "Netherlands",
    "Germany",
    "Denmark",
    "Singapore",
    "Japan",
)
"""The ten E-GLB data-center locations, correctly spelled."""

EGLB_HOURS = 457
"""Hours every E-GLB series covers: 2022-09-22 00:00 to 2022-10-11 00:00 UTC."""

_EGLB_TIME_COLUMN = "Time (UTC)"
_EGLB_FILE_SPELLING = {"Belgium": "Belguim"}  # the dataset's file names misspell Belgium
# kind -> (folder, file name pattern, value header, refuse negatives)
_EGLB_SIGNALS = {
    "price": ("price", "{loc}_Price.csv", "Price (USD/MWh)", False),  # negative prices do occur
    "carbon": ("carbon", "{loc}_carbon.csv", "Carbon (kg/kWh)", True),
    "water": ("water", "{loc}_water.csv", "WUE (L/kWh)", True),  # header is " WUE (L/kWh)"
}
_EGLB_WORKLOAD = ("AI_workload.csv", "Power (Watt)")


@dataclass(frozen=True)
class EglbData:
    """The E-GLB hourly signals; every frame/series shares one UTC hourly index "time".

    DataFrames have one column per location (correct spelling, in the requested order).
    """

    price_usd_per_mwh: pd.DataFrame
    """Electricity price, USD/MWh (may be negative)."""
    carbon_kg_per_kwh: pd.DataFrame
    """Grid carbon intensity, kg CO2 per kWh."""
    wue_l_per_kwh: pd.DataFrame
    """Water usage effectiveness, litres per kWh."""
    workload_w: pd.Series
    """Power of an LLM inference API, W (the workload shape)."""


def _eglb_file(root: Path, kind: str, location: str) -> Path:
    folder, pattern, _, _ = _EGLB_SIGNALS[kind]
    return root / folder / pattern.format(loc=_EGLB_FILE_SPELLING.get(location, location))


def _eglb_series(path: Path, header: str, *, nonnegative: bool, hours: int) -> pd.Series:
    """One two-column E-GLB file (``Time (UTC)`` and *header*), its first *hours* rows."""
    frame = _load_hourly(
        path,
        time_column=_EGLB_TIME_COLUMN,
        columns=[header],
        nonnegative=nonnegative,
        hours=hours,
        start=None,
        exact_header=[_EGLB_TIME_COLUMN, header],
    )
    return frame.iloc[:, 0]


def _same_index(path: Path, index: pd.DatetimeIndex, ref_path: Path, ref: pd.DatetimeIndex) -> None:
    """Refuse *index* (of *path*) unless it equals *ref* (of *ref_path*)."""
    if index.equals(ref):
        return
    if len(index) != len(ref):
        raise InputError(path, "rows", f"{len(index)} rows, {ref_path.name} has {len(ref)}")
    i = int(np.flatnonzero(index != ref)[0])
    raise InputError(
        path,
        f"row {_row_number(i)}",
        f"time {index[i].isoformat()} differs from {ref_path.name}, which has {ref[i].isoformat()}: "
        "all E-GLB series must share one time index",
    )


def load_eglb(
    root: str | Path, *, hours: int | None = None, locations: Sequence[str] = EGLB_LOCATIONS
) -> EglbData:
    """Load the E-GLB dataset from its folder *root* (``<data dir>/eglb``).

    Reads ``price/<Loc>_Price.csv`` (USD/MWh), ``carbon/<Loc>_carbon.csv`` (kg/kWh),
    ``water/<Loc>_water.csv`` (L/kWh) and ``AI_workload.csv`` (W); ``Belgium`` is read from
    the dataset's misspelled ``Belguim_*`` files. Each file must have exactly the columns
    ``Time (UTC)`` and its value column (whitespace around header names is ignored).

    Every series is cut to its first *hours* rows (default :data:`EGLB_HOURS` = 457: some
    price files run 24 h longer); a file with fewer rows is refused. All series must share
    the same time index. Negative prices are kept (they occur in Belgium and the
    Netherlands); negative carbon, WUE or power are refused.
    """
    root = Path(root)
    _check_hours(hours)
    n = EGLB_HOURS if hours is None else hours
    locations = list(locations)
    unknown = [loc for loc in locations if loc not in EGLB_LOCATIONS]
    if unknown:
        raise InputError(root, "locations", f"unknown location {unknown[0]!r}; known: {', '.join(EGLB_LOCATIONS)}")
    if not locations:
        raise InputError(root, "locations", "no location requested")
    if len(set(locations)) != len(locations):
        dup = next(loc for loc in locations if locations.count(loc) > 1)
        raise InputError(root, "locations", f"location {dup!r} requested twice")
    if not root.is_dir():
        raise InputError(root, "folder", "not found (expected the E-GLB dataset folder)")

    ref_path = root / _EGLB_WORKLOAD[0]
    workload = _eglb_series(ref_path, _EGLB_WORKLOAD[1], nonnegative=True, hours=n).rename("workload_w")
    ref = workload.index

    frames: dict[str, pd.DataFrame] = {}
    for kind, (_, _, header, nonnegative) in _EGLB_SIGNALS.items():
        columns = {}
        for loc in locations:
            path = _eglb_file(root, kind, loc)
            series = _eglb_series(path, header, nonnegative=nonnegative, hours=n)
            _same_index(path, series.index, ref_path, ref)
            columns[loc] = series.to_numpy()
        frame = pd.DataFrame(columns, index=ref.copy(), columns=locations, dtype=float)
        frame.columns.name = "location"
        frames[kind] = frame
    return EglbData(
        price_usd_per_mwh=frames["price"],
        carbon_kg_per_kwh=frames["carbon"],
        wue_l_per_kwh=frames["water"],
        workload_w=workload,
    )


# --------------------------------------------------------------------------------------
# Azure LLM inference trace 2023 (Azure/AzurePublicDataset)
# --------------------------------------------------------------------------------------

AZURE_LLM_DATASET = "azure-llm-2023"
"""Folder name of the Azure LLM inference trace 2023 under the data dir."""

AZURE_TRACES = {"conv": "AzureLLMInferenceTrace_conv.csv", "code": "AzureLLMInferenceTrace_code.csv"}
"""Trace name -> file name inside the dataset folder."""

_AZURE_COLUMNS = ("TIMESTAMP", "ContextTokens", "GeneratedTokens")


def load_azure_llm_trace(path: str | Path) -> pd.DataFrame:
    """Hourly totals of one Azure LLM inference trace file (one row per request).

    The file has the columns ``TIMESTAMP`` (UTC, e.g. ``2023-11-16 18:15:46.6805900``),
    ``ContextTokens`` and ``GeneratedTokens`` (whole, non-negative token counts). Rows need
    not be sorted.

    Returns a DataFrame indexed by UTC hour (``"time"``, the hour each request falls in),
    from the first request's hour to the last one's, with int64 columns ``requests``
    (requests per hour), ``context_tokens`` and ``generated_tokens`` (tokens per hour).
    Hours without requests inside that span are present with 0.
    """
    table = _read_table(path)
    _require_header(table, _AZURE_COLUMNS)
    times = _parse_times(table, 0)
    tokens = _parse_numbers(table, [1, 2], nonnegative=True, integer=True).astype(np.int64)
    hour = times.floor(_HOURLY)
    first = hour.min()
    slot = ((hour - first) // _HOUR).to_numpy(dtype=np.int64)
    periods = int(slot.max()) + 1
    index = _hourly_index(first, periods)
    return pd.DataFrame(
        {
            "requests": np.bincount(slot, minlength=periods).astype(np.int64),
            "context_tokens": _int_bincount(slot, tokens[:, 0], periods),
            "generated_tokens": _int_bincount(slot, tokens[:, 1], periods),
        },
        index=index,
    )


def _int_bincount(slot: np.ndarray, values: np.ndarray, periods: int) -> np.ndarray:
    """Exact integer sums of *values* per *slot* (np.bincount would sum in float)."""
    out = np.zeros(periods, dtype=np.int64)
    np.add.at(out, slot, values)
    return out


def load_azure_llm_dataset(root: str | Path, trace: str = "conv") -> pd.DataFrame:
    """Hourly totals (see :func:`load_azure_llm_trace`) of *trace* (``"conv"`` or ``"code"``)
    in the dataset folder *root* (``<data dir>/azure-llm-2023``)."""
    if trace not in AZURE_TRACES:
        raise InputError(root, "trace", f"unknown trace {trace!r}; known: {', '.join(AZURE_TRACES)}")
    return load_azure_llm_trace(Path(root) / AZURE_TRACES[trace])


# --------------------------------------------------------------------------------------
# Data dir
# --------------------------------------------------------------------------------------


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
