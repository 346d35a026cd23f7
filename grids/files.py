"""Reading input files: YAML documents, the hours of an hourly frame a horizon needs, and
what a refused header lacks told without echoing the file."""
from __future__ import annotations

import difflib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from grids.errors import InputError


def read_yaml(path: str | Path, *, source: str | None = None) -> Any:
    """The YAML document in *path*; InputError naming the file (*source*, default the path)
    when it cannot be read, and ``FILE:LINE`` with the line of the mistake when it cannot be
    parsed (an unclosed bracket or quote: the line it opens on, not the end of the file)."""
    source = str(path) if source is None else source
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(source, "file", exc.strerror or "cannot be read") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise _syntax_error(exc, text, source) from None


def _syntax_error(exc: yaml.YAMLError, text: str, source: str) -> InputError:
    problem, mark = getattr(exc, "problem", None), getattr(exc, "problem_mark", None)
    context, opened = getattr(exc, "context", None), getattr(exc, "context_mark", None)
    if mark is None:
        return InputError(source, "yaml syntax", f"not valid YAML ({exc})")
    at_end = mark.index >= len(text.rstrip())
    line = opened.line + 1 if opened is not None and at_end else mark.line + 1
    reason = problem or str(exc)
    if at_end and opened is not None:
        reason = f"{context} that starts here, {reason} (the file ends first)"
    elif context and opened is not None and opened.line + 1 != line:
        reason = f"{reason}, {context} from line {opened.line + 1}"
    return InputError(f"{source}:{line}", "yaml syntax", f"not valid YAML: {reason}")


def key_line(text: str, loc: tuple) -> tuple[int, int] | None:
    """Where a field is in the YAML *text*: (how many parts of *loc* were found, 1-based line
    of the deepest one found), *loc* a field path (``("models", 0, "energy_wh_per_request")``:
    keys of mappings, indices of lists); None when the text does not parse or not even the
    first part is there. A missing field gives the line of the section holding it."""
    try:
        node = yaml.compose(text)
    except yaml.YAMLError:
        return None
    found, line = 0, None
    for part in loc:
        child = None
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode) and key.value == str(part):
                    child, where = value, key.start_mark.line + 1
                    break
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
            child = node.value[part]
            where = child.start_mark.line + 1
        if child is None:
            break
        node, found, line = child, found + 1, where
    return None if line is None else (found, line)


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


def header_hint(found: Sequence[str], wanted: Sequence[str]) -> str:
    """How a file's header *found* differs from the columns *wanted*, told without printing
    the header: the file may be no data file at all (a path pointing at the wrong file), and
    a refusal never prints another file's content. Says how many columns the header has, how
    many of them are expected, and names only those of its other columns close to a missing
    name (a slip of case, spacing or spelling: difflib's close matches, or one name inside
    the other), e.g. ``the header has 2 column(s): 1 expected, 1 other; 'Time' looks like
    'time'``."""
    found = [str(f).strip() for f in found]
    wanted = [str(w).strip() for w in wanted]
    others = {f.lower(): f for f in found if f and f not in wanted}
    present = sum(f in wanted for f in found)
    pairs = []
    for name in wanted:
        if name in found:
            continue
        close = difflib.get_close_matches(name.lower(), list(others), n=1, cutoff=0.6)
        close = close or [f for f in others if len(f) >= 3 and (f in name.lower() or name.lower() in f)][:1]
        if close:
            pairs.append(f"{others[close[0]]!r} looks like {name!r}")
    counts = [f"{present} expected" if present else "none expected"]
    if len(found) > present:
        counts.append(f"{len(found) - present} other")
    hint = f"the header has {len(found)} column(s): {', '.join(counts)}"
    return f"{hint}; {'; '.join(pairs)}" if pairs else hint
