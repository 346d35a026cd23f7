"""Reading input files: YAML documents, the hours of an hourly frame a horizon needs, and
what a refused header lacks told without echoing the file."""
from __future__ import annotations

import difflib
import errno
import os
import stat
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from grids.errors import InputError

YAML_LIMIT_BYTES = 10_000_000
"""The largest YAML file read (scenarios, sweeps, region and grid files): 10 MB."""

CSV_LIMIT_BYTES = 1_000_000_000
"""The largest CSV file read (hourly series, tables, RTT matrices): 1 GB."""

MAX_DEPTH = 100
"""The deepest nesting of mappings and lists a YAML document may have."""

MAX_NODES = 1_000_000
"""The most values (scalars, mappings and lists, aliases counted at every use) a YAML
document may hold once its aliases are expanded; a scenario and the files it `extends:`
together too."""


def read_limited(path: str | Path, *, limit_bytes: int, kind: str, source: str | None = None) -> bytes:
    """The bytes of the regular file *path*; InputError naming the file (*source*, default
    the path) when it is missing, not a regular file (a folder, a device such as /dev/zero,
    a FIFO: never opened, so never read forever or waited on) or larger than
    *limit_bytes* (at most that many plus one are read). *kind* names the file type in the
    message ("YAML")."""
    source = str(path) if source is None else source
    check_regular(path, limit_bytes=limit_bytes, kind=kind, source=source)
    try:
        with open(path, "rb") as handle:
            data = handle.read(limit_bytes + 1)
    except OSError as exc:
        raise InputError(source, "file", exc.strerror or "cannot be read") from None
    if len(data) > limit_bytes:
        raise InputError(source, "file", f"larger than the {_size(limit_bytes)} limit for {kind} files")
    return data


def check_regular(path: str | Path, *, limit_bytes: int, kind: str, source: str | None = None) -> None:
    """InputError naming *source* unless *path* is a regular file of at most *limit_bytes*."""
    source = str(path) if source is None else source
    try:
        info = os.stat(path)
    except OSError as exc:
        raise InputError(source, "file", "not found" if exc.errno == errno.ENOENT else (exc.strerror or "cannot be read")) from None
    if stat.S_ISDIR(info.st_mode):
        raise InputError(source, "file", "not a file (a folder)")
    if not stat.S_ISREG(info.st_mode):
        raise InputError(source, "file", "not a regular file (a device, FIFO or socket is never read)")
    if info.st_size > limit_bytes:
        raise InputError(source, "file", f"{_size(info.st_size)}, larger than the {_size(limit_bytes)} limit for {kind} files")


def _size(n: int) -> str:
    return f"{n / 1e9:g} GB" if n >= 1e9 else f"{n / 1e6:g} MB" if n >= 1e6 else f"{n:,} bytes"


def decode_utf8(data: bytes, source: str) -> str:
    """*data* as UTF-8 text (a leading byte-order mark dropped); InputError naming *source*,
    the first bad byte and its offset otherwise (a Latin-1 or binary file)."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(source, "file", f"not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start})") from None


def read_yaml(path: str | Path, *, source: str | None = None, max_nodes: int = MAX_NODES) -> Any:
    """The YAML document in *path*; InputError naming the file (*source*, default the path)
    when it cannot be read (see :func:`read_limited`, 10 MB at most) or is not UTF-8 text,
    and ``FILE:LINE`` with the line of the mistake when it cannot be parsed (an unclosed
    bracket or quote: the line it opens on, not the end of the file), repeats a key of a
    mapping, nests deeper than :data:`MAX_DEPTH` or expands (aliases) to more than
    *max_nodes* values."""
    source = str(path) if source is None else source
    text = decode_utf8(read_limited(path, limit_bytes=YAML_LIMIT_BYTES, kind="YAML", source=source), source)
    return parse_yaml(text, source, max_nodes=max_nodes)


def parse_yaml(text: str, source: str, *, max_nodes: int = MAX_NODES) -> Any:
    """The YAML document *text* (read from *source*), with the checks of :func:`read_yaml`."""
    try:
        loader = _CheckedLoader(text, max_nodes=max_nodes)  # the reader refuses control characters here
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        raise InputError(f"{source}:{line}", "file", f"control character #x{exc.character:04x} at offset "
                         f"{exc.position} (YAML allows printable text only)") from None
    try:
        return loader.get_single_data()
    except _Refusal as exc:
        raise InputError(f"{source}:{exc.line}", exc.where, exc.reason) from None
    except yaml.YAMLError as exc:
        raise _syntax_error(exc, text, source) from None
    finally:
        loader.dispose()


def count_values(data: Any, cap: int) -> int:
    """How many values *data* (parsed YAML: dicts, lists, scalars) holds, a shared one counted
    at every use, counting no further than *cap* + 1 (so a billion laughs stops early)."""
    seen, stack = 0, [data]
    while stack and seen <= cap:
        item = stack.pop()
        seen += 1
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return seen


class _Refusal(Exception):
    """A document the checked loader refuses: at *line* (1-based), *where*, *reason*."""

    def __init__(self, line: int, where: str, reason: str):
        self.line, self.where, self.reason = line, where, reason
        super().__init__(reason)


class _CheckedLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing a key repeated in one mapping (YAML says keys are
    unique; PyYAML would keep the last), nesting deeper than :data:`MAX_DEPTH` (before
    the recursive composer reaches Python's recursion limit) and a document of more than
    *max_nodes* values with its aliases expanded (counted on the node graph, without
    expanding it)."""

    def __init__(self, text: str, *, max_nodes: int):
        super().__init__(text)
        self._depth, self._max_nodes = 0, max_nodes
        self._sizes: dict[int, int] = {}

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            node = super().compose_node(parent, index)
        else:
            self._depth += 1
            if self._depth > MAX_DEPTH:
                mark = self.peek_event().start_mark
                raise _Refusal(mark.line + 1, "nesting", f"deeper than {MAX_DEPTH} levels of mappings and lists")
            try:
                node = super().compose_node(parent, index)
            finally:
                self._depth -= 1
        if id(node) not in self._sizes:
            children = (node.value if isinstance(node, yaml.SequenceNode) else
                        [part for pair in node.value for part in pair] if isinstance(node, yaml.MappingNode) else [])
            size = 1 + sum(self._sizes.get(id(child), 1) for child in children)
            self._sizes[id(node)] = size
            if size > self._max_nodes:
                raise _Refusal(node.start_mark.line + 1, "aliases",
                               f"expands to more than {self._max_nodes:,} values (aliases counted at every use)")
        return node

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            seen: dict[object, int] = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":  # `<<: *base` may be overridden
                    continue
                key = self.construct_object(key_node, deep=True)
                line = key_node.start_mark.line + 1
                try:
                    first = seen.get(key)
                except TypeError:  # an unhashable key: the constructor refuses it
                    continue
                if first is not None:
                    raise _Refusal(line, str(key), f"key repeated (first at line {first}); the keys of a mapping are unique")
                seen[key] = line
        return super().construct_mapping(node, deep=deep)


def _syntax_error(exc: yaml.YAMLError, text: str, source: str) -> InputError:
    problem, mark = getattr(exc, "problem", None), getattr(exc, "problem_mark", None)
    context, opened = getattr(exc, "context", None), getattr(exc, "context_mark", None)
    if mark is None:
        return InputError(source, "yaml syntax", f"not valid YAML ({' '.join(str(exc).split())})")
    at_end = mark.index >= len(text.rstrip())
    line = opened.line + 1 if opened is not None and at_end else mark.line + 1
    reason = " ".join((problem or str(exc)).split())  # one line
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
