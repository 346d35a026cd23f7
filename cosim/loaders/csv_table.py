"""CSV files as text tables, the machinery every loader of cosim.loaders shares: reading a
UTF-8 file, checking its header and rows, and parsing its times (UTC) and numbers.

Every bad input raises :class:`cosim.errors.InputError` (``source: where: reason``), never
a pandas or csv error. Row numbers in messages are the ones a spreadsheet user sees: the
header is row 1 and the first data row is row 2 (so data row *i*, counted from 0, is row
``i + 2``).
"""
from __future__ import annotations

import csv
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from cosim.errors import InputError
from grids.files import CSV_LIMIT_BYTES, check_regular, header_hint

_FIRST_DATA_ROW = 2  # spreadsheet row of the first data row: the header is row 1
_SHORT_HOUR = re.compile(r"^\d{4}-\d{2}-\d{2}[ T]\d{2}$")  # "2022-09-22 00"


@dataclass(frozen=True)
class Table:
    """A CSV file as text: the stripped header and the data rows, all of the header's width."""

    path: Path
    header: list[str]
    rows: list[list[str]]

    def column(self, index: int) -> list[str]:
        """The raw text of column *index*, one entry per data row."""
        return [row[index] for row in self.rows]


def row_number(i: int) -> int:
    """Spreadsheet row number of data row *i* (0-based): the header is row 1."""
    return i + _FIRST_DATA_ROW


def _quote_list(names: Sequence[str]) -> str:
    """*names* quoted and comma-separated, "(none)" when empty (for messages)."""
    return ", ".join(repr(n) for n in names) if names else "(none)"


def read_csv_records(path: Path) -> list[list[str]]:
    """The rows of a UTF-8 CSV file as lists of strings, trailing blank lines dropped;
    InputError(path, "file", ...) when it cannot be read as one (not a regular file, a device
    or FIFO never opened; larger than grids.files.CSV_LIMIT_BYTES, 1 GB)."""
    check_regular(path, limit_bytes=CSV_LIMIT_BYTES, kind="CSV")
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


def read_table(path: str | Path) -> Table:
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
                raise InputError(path, f"row {row_number(i)}", "empty row")
            raise InputError(path, f"row {row_number(i)}", f"{len(row)} fields, the header has {len(header)}")
    if not rows:
        raise InputError(path, "rows", "no data rows below the header")
    return Table(path, header, rows)


def column_index(table: Table, name: str, *, recognised: bool = False) -> int:
    """Position of column *name* (matched after stripping whitespace); InputError when absent.

    The message lists the file's columns only when the caller *recognised* the header as
    one of its data files (its time column found): otherwise the file may be no data file
    at all, and a refusal never prints another file's content (grids.files.header_hint)."""
    wanted = name.strip()
    try:
        return table.header.index(wanted)
    except ValueError:
        has = f"the file has {_quote_list(table.header)}" if recognised else header_hint(table.header, [wanted])
        raise InputError(table.path, "header", f"missing column {wanted!r}; {has}") from None


def require_header(table: Table, expected: Sequence[str]) -> None:
    """Refuse unless the header is exactly *expected* (after stripping whitespace)."""
    wanted = [name.strip() for name in expected]
    if table.header != wanted:  # the header is not echoed: the file may be no data file at all
        raise InputError(
            table.path, "header", f"expected columns {_quote_list(wanted)}; {header_hint(table.header, wanted)}"
        )


def parse_times(table: Table, index: int) -> pd.DatetimeIndex:
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
        raise InputError(table.path, f"row {row_number(i)}", reason)
    return pd.DatetimeIndex(parsed, name="time")


def _exact_float(text: str) -> float:
    """The correctly rounded value of *text*, NaN when it is not a number."""
    try:
        return float(text)
    except ValueError:
        return float("nan")


def parse_numbers(
    table: Table, indices: Sequence[int], *, nonnegative: bool, integer: bool = False
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

    def refuse(mask: np.ndarray, reason: Callable[[str, float], str]) -> None:
        """InputError at the first cell of *mask*, *reason*(its text, its value)."""
        if mask.any():
            i = int(np.flatnonzero(mask.any(axis=1))[0])
            k = int(np.flatnonzero(mask[i])[0])
            where = f"row {row_number(i)}, column {table.header[indices[k]]}"
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
