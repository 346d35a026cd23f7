"""Hourly generation by fuel in the EIA-930 form: reading, checking and filling gaps.

The file (U.S. EIA Form 930 hourly grid monitor, as analysts download or redistribute it):
the first column a timestamp (UTC; a zone-naive time is taken as UTC; the column may be
unnamed), then MW per fuel code ``WND, SUN, WAT, OIL, NG, COL, NUC, OTH`` (any subset; a
code absent is 0 MW). ``avg_CI`` (an intensity some redistributions add) is accepted and
ignored. Refused with ``file: line or column: reason`` (InputError; exit code 2):
unparsable or off-the-hour timestamps, duplicate or unsorted hours, unknown or repeated
columns, non-numeric or negative values, and values that look like kW or GW instead of
MW. Gaps (empty cells, hours missing from the sequence) of at most
:data:`MAX_FILLED_GAP_H` hours between two complete hours are filled by linear
interpolation, one note each; longer gaps, and gaps at the file's ends, stay NaN: a run
whose window avoids them is fine, :meth:`GenerationByFuel.window` refuses one that
touches them.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from grids.errors import InputError
from grids.files import header_hint

FUEL_COLUMNS: dict[str, str] = {"WND": "wind", "SUN": "solar", "WAT": "hydro", "OIL": "oil", "NG": "gas", "COL": "coal",
                                "NUC": "nuclear", "OTH": "other"}
"""EIA-930 fuel codes -> the fuel names of grids/data/fuels.yaml (grids.fleet.fuel_factors)."""
IGNORED_COLUMNS = ("avg_CI",)
"""Columns read past: a redistributor's own intensity, not the data (never used)."""
MAX_FILLED_GAP_H = 6
"""Longest run of gap hours filled by linear interpolation."""
KW_PEAK_MW = 1_000_000.0
"""A peak total generation above this (more than any interconnection: the US Lower 48
peaked near 760 GW) means the values are kW, not MW."""
GW_PEAK_MW = 1_000.0
"""A peak total below this whose values are mostly not whole numbers means GW (EIA-930
reports whole MW; a small BA of a few MW in whole MW passes)."""
_LINE_OFFSET = 2  # file line of data row 0 (line 1 is the header)


@dataclass(frozen=True)
class GenerationByFuel:
    """A BA's hourly generation by fuel. ``mw``: every UTC hour from the file's first to
    last (index ``time``), the :data:`FUEL_COLUMNS` codes in that order, MW; filled gaps
    interpolated, long gaps NaN. ``notes``: one line per filled gap; ``unfilled``: (first,
    last) hour of each gap left NaN; ``lines``: the file line of each hour (0 for hours
    missing from the file)."""

    source: str
    mw: pd.DataFrame
    notes: tuple[str, ...] = ()
    unfilled: tuple[tuple[pd.Timestamp, pd.Timestamp], ...] = ()
    filled: tuple[tuple[pd.Timestamp, pd.Timestamp], ...] = ()
    lines: np.ndarray | None = None

    def window(self, start: pd.Timestamp | str, hours: int) -> pd.DataFrame:
        """The rows of ``[start, start + hours)``; InputError when the file does not cover
        them or an unfilled gap lies in them."""
        times = pd.date_range(_utc(start), periods=int(hours), freq="h", name="time")
        index = self.mw.index
        if not len(index) or times[0] < index[0] or times[-1] > index[-1]:
            have = f"{index[0]:%Y-%m-%d %H:%M} to {index[-1]:%Y-%m-%d %H:%M} UTC" if len(index) else "no hours"
            raise InputError(self.source, "time", f"covers {have}, but the run needs {times[0]:%Y-%m-%d %H:%M} to "
                                                  f"{times[-1]:%Y-%m-%d %H:%M} UTC")
        for first, last in self.unfilled:
            if first <= times[-1] and last >= times[0]:
                hours_long = int((last - first) / pd.Timedelta(hours=1)) + 1
                raise InputError(self.source, self._lines_of(first, last),
                                 f"gap of {hours_long} h ({first:%Y-%m-%d %H:%M} to {last:%Y-%m-%d %H:%M} UTC) inside the run; "
                                 f"gaps up to {MAX_FILLED_GAP_H} h are filled, longer ones need data")
        return self.mw.loc[times]

    def notes_in(self, start: pd.Timestamp | str, hours: int) -> tuple[str, ...]:
        """The notes of the filled gaps that touch ``[start, start + hours)``."""
        t0 = _utc(start)
        t1 = t0 + pd.Timedelta(hours=int(hours) - 1)
        return tuple(note for note, (first, last) in zip(self.notes, self.filled) if first <= t1 and last >= t0)

    def _lines_of(self, first: pd.Timestamp, last: pd.Timestamp) -> str:
        if self.lines is None:
            return "time"
        pos = self.mw.index.get_indexer([first, last])
        lines = [int(n) for n in self.lines[pos[0]:pos[1] + 1] if n > 0]
        if not lines:  # the hours are missing from the file: name the lines around them
            before = [int(n) for n in self.lines[:pos[0]] if n > 0]
            return f"after line {before[-1]}" if before else "before the first row"
        return f"lines {lines[0]}-{lines[-1]}" if lines[0] != lines[-1] else f"line {lines[0]}"


def read_generation_by_fuel(path: str | Path, *, source: str | None = None) -> GenerationByFuel:
    """Read an EIA-930 generation-by-fuel CSV (module docstring); InputError naming
    *source* (default: the path) and the line or column for anything it refuses."""
    source = str(path) if source is None else source
    raw = _read_csv(path, source)
    times = _timestamps(raw.iloc[:, 0], source)
    mw = _fuel_values(raw.iloc[:, 1:], source)
    _check_units(mw, source)
    mw.index = times
    full = pd.date_range(times[0], times[-1], freq="h", name="time")
    lines = pd.Series(np.arange(len(times)) + _LINE_OFFSET, index=times).reindex(full, fill_value=0).to_numpy()
    mw = mw.reindex(full)
    filled, unfilled, notes = [], [], []
    gap = mw.isna().any(axis=1).to_numpy()
    for first, last in runs(gap):
        a, b = full[first], full[last - 1]
        inside = first > 0 and last < len(full)
        if inside and last - first <= MAX_FILLED_GAP_H:
            filled.append((a, b))
        else:
            unfilled.append((a, b))
    if filled:
        interpolated = mw.interpolate(method="time", limit_area="inside")
        for a, b in filled:
            mw.loc[a:b] = interpolated.loc[a:b]
    data = GenerationByFuel(source=source, mw=mw, unfilled=tuple(unfilled), filled=tuple(filled), lines=lines)
    for a, b in filled:
        n = int((b - a) / pd.Timedelta(hours=1)) + 1
        when = f"{a:%Y-%m-%d %H:%M} UTC" if n == 1 else f"{a:%Y-%m-%d %H:%M} to {b:%Y-%m-%d %H:%M} UTC"
        notes.append(f"{source}: {data._lines_of(a, b)} ({when}): {n} h gap filled by linear interpolation")
    return GenerationByFuel(source=source, mw=mw, notes=tuple(notes), unfilled=tuple(unfilled), filled=tuple(filled), lines=lines)


def _read_csv(path: str | Path, source: str) -> pd.DataFrame:
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    except FileNotFoundError:
        raise InputError(source, "file", "not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(source, "file", f"cannot be read ({exc})") from None
    except pd.errors.EmptyDataError:
        raise InputError(source, "file", "empty") from None
    except pd.errors.ParserError as exc:
        raise InputError(source, "file", f"not a CSV table ({str(exc).splitlines()[0]})") from None
    if raw.shape[1] < 2:
        raise InputError(source, "columns", "needs a timestamp column and at least one fuel column")
    if not len(raw):
        raise InputError(source, "file", "no data rows")
    names = [str(c).strip() for c in raw.columns[1:]]
    if not set(names) & set(FUEL_COLUMNS):  # not an EIA-930 file: its header is not echoed
        raise InputError(source, "columns", f"no fuel column (known: {', '.join(FUEL_COLUMNS)}); "
                                            f"{header_hint(names, FUEL_COLUMNS)}")
    seen = set()
    for name in names:
        base = name.split(".")[0] if name.split(".")[-1].isdigit() and name.split(".")[0] in FUEL_COLUMNS else name
        if base in seen or name != base:
            raise InputError(source, f"column {base}", "appears twice")
        seen.add(name)
        if name not in FUEL_COLUMNS and name not in IGNORED_COLUMNS:
            raise InputError(source, f"column {name}", f"unknown fuel column (known: {', '.join(FUEL_COLUMNS)})")
    if not seen & set(FUEL_COLUMNS):
        raise InputError(source, "columns", f"no fuel column (known: {', '.join(FUEL_COLUMNS)})")
    raw.columns = [raw.columns[0], *names]
    return raw


def _timestamps(column: pd.Series, source: str) -> pd.DatetimeIndex:
    try:  # the common form, fast; anything else element by element
        parsed = pd.to_datetime(column, utc=True, format="ISO8601")
    except (ValueError, TypeError):
        parsed = pd.to_datetime(column, errors="coerce", utc=True, format="mixed")
    bad = parsed.isna().to_numpy()
    if bad.any():
        k = int(np.argmax(bad))
        raise InputError(source, f"line {k + _LINE_OFFSET}", f"not a time: {column.iloc[k]!r}")
    times = pd.DatetimeIndex(parsed, name="time")
    off = times != times.floor("h")
    if off.any():
        k = int(np.argmax(off))
        raise InputError(source, f"line {k + _LINE_OFFSET}", f"{times[k]:%Y-%m-%d %H:%M} UTC is not on the hour")
    step = np.diff(times.asi8)
    if (step == 0).any():
        k = int(np.argmax(step == 0)) + 1
        raise InputError(source, f"line {k + _LINE_OFFSET}",
                         f"duplicate hour {times[k]:%Y-%m-%d %H:%M} UTC (also line {k - 1 + _LINE_OFFSET})")
    if (step < 0).any():
        k = int(np.argmax(step < 0)) + 1
        raise InputError(source, f"line {k + _LINE_OFFSET}",
                         f"hours not sorted: {times[k]:%Y-%m-%d %H:%M} UTC comes after {times[k - 1]:%Y-%m-%d %H:%M} UTC")
    return times


def _fuel_values(cells: pd.DataFrame, source: str) -> pd.DataFrame:
    """The fuel columns as floats, in FUEL_COLUMNS order (absent codes 0; empty cells NaN)."""
    out = pd.DataFrame(0.0, index=cells.index, columns=list(FUEL_COLUMNS))
    for code in FUEL_COLUMNS:
        if code not in cells.columns:
            continue
        text = cells[code].str.strip()
        values = pd.to_numeric(text.where(text != ""), errors="coerce")
        bad = values.isna() & (text != "")
        if bad.any():
            k = int(np.argmax(bad.to_numpy()))
            raise InputError(source, f"line {k + _LINE_OFFSET}, column {code}", f"not a number ({text.iloc[k]!r})")
        neg = (values < 0).to_numpy()
        if neg.any():
            k = int(np.argmax(neg))
            raise InputError(source, f"line {k + _LINE_OFFSET}, column {code}", f"negative generation ({values.iloc[k]:g} MW)")
        if not np.isfinite(values.dropna()).all():
            k = int(np.argmax(~np.isfinite(values.fillna(0.0)).to_numpy()))
            raise InputError(source, f"line {k + _LINE_OFFSET}, column {code}", "not a finite number")
        out[code] = values
    return out


def _check_units(mw: pd.DataFrame, source: str) -> None:
    peak = float(mw.sum(axis=1, min_count=1).max())
    if peak > KW_PEAK_MW:
        raise InputError(source, "values", f"peak total generation {peak:,.0f} looks like kW, expected MW "
                                           f"(no balancing area exceeds {KW_PEAK_MW:,.0f} MW)")
    values = mw.to_numpy().ravel()
    nonzero = values[np.isfinite(values) & (values != 0)]
    fractional = np.mean(nonzero != np.round(nonzero)) if nonzero.size else 0.0
    if peak < GW_PEAK_MW and fractional > 0.5:
        raise InputError(source, "values", f"peak total generation {peak:g} with fractional values looks like GW, expected MW "
                                           "(EIA-930 reports whole MW)")


def _utc(t: pd.Timestamp | str) -> pd.Timestamp:
    ts = pd.Timestamp(t)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def runs(flags: np.ndarray) -> list[tuple[int, int]]:
    """[first, last) positions of each run of True."""
    edges = np.diff(np.concatenate([[0], flags.astype(int), [0]]))
    return list(zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)))
