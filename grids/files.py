"""Reading input files: YAML documents, and the hours of an hourly frame a horizon needs."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from grids.errors import InputError


def read_yaml(path: str | Path, *, source: str | None = None) -> Any:
    """The YAML document in *path*; InputError naming the file (*source*, default the path)
    and the line when it cannot be read or parsed."""
    source = str(path) if source is None else source
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(source, "file", exc.strerror or "cannot be read") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "yaml"
        raise InputError(source, where, f"not valid YAML ({getattr(exc, 'problem', None) or exc})") from None


def hourly_window(frame: pd.DataFrame, times: pd.DatetimeIndex, source: str | Path) -> pd.DataFrame:
    """The rows of *frame* (indexed by UTC hour) for exactly *times*; InputError naming
    *source* when the frame does not cover them all."""
    missing = times.difference(frame.index)
    if len(missing):
        have = (f"{frame.index[0]:%Y-%m-%d %H:%M} to {frame.index[-1]:%Y-%m-%d %H:%M} UTC"
                if len(frame) else "no hours")
        raise InputError(source, "time",
                         f"series covers {have} ({len(frame)} h) but the horizon needs "
                         f"{times[0]:%Y-%m-%d %H:%M} to {times[-1]:%Y-%m-%d %H:%M} UTC ({len(times)} h)")
    return frame.loc[times]
