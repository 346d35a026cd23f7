"""A property-based fuzz of scenario files (hypothesis): whatever a mutation of a valid
scenario does (a leaf replaced by inf, nan, a huge or negative number, a wrong type, an
empty string or control characters; a required key deleted, a key duplicated, nesting
hundreds deep, an alias bomb, random bytes), `cosim validate` and `cosim run` exit 0 or 2,
never 1; a refusal is one line on stderr without a traceback, and a refused run writes
nothing (its --out folder does not exist).

Most examples run the CLI in this process (tests/test_inputs.py's `cli`: cosim.cli.main,
as the console script calls it); a few run the real `cosim` in a subprocess. Derandomized
(the same examples on every run) and bounded to about a minute in all.
"""
from __future__ import annotations

import math
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from test_inputs import ENV, TINY, cli, refused_line

BASE = yaml.safe_load(TINY)
LINES = TINY.splitlines(keepends=True)


def _paths(node, prefix=()):
    """(path, is a mapping) of every node under *node* (parsed YAML), depth first."""
    if isinstance(node, dict):
        yield prefix, True
        for key, value in node.items():
            yield from _paths(value, (*prefix, key))
    elif isinstance(node, list):
        yield prefix, False
        for n, value in enumerate(node):
            yield from _paths(value, (*prefix, n))
    else:
        yield prefix, False


def _get(node, path):
    for part in path:
        node = node[part]
    return node


LEAVES = [path for path, _ in _paths(BASE) if path and not isinstance(_get(BASE, path), (dict, list))]
MAPPINGS = [path for path, is_map in _paths(BASE) if is_map]
NODES = [path for path, _ in _paths(BASE) if path]

NASTY = [math.inf, -math.inf, math.nan, ".inf", "-.inf", ".nan", "inf", "nan", "Infinity", 1e308, -1e308, 1e12,
         10**12, 2**70, -(2**70), -1, 0, -0.0, 5e-324, "", " ", "\x1b[31mred\x1b[0m", "\x07bell", "[bold]x[/bold]",
         "a\nb", "\u202eevil", True, False, None, [], {}, [1, 2], {"a": 1}, "1e999", "x" * 5000, "../../etc/passwd"]
"""Values a fuzzed leaf may take (beyond hypothesis' own numbers and text)."""

values = st.one_of(
    st.sampled_from(NASTY),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(2**80), max_value=2**80),
    st.text(max_size=20),
)


def _set(doc, path, value):
    """A copy of *doc* with the node at *path* set to *value* (or removed when value is _DELETE)."""
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(doc, dict):
        out = dict(doc)
        if not rest and value is _DELETE:
            out.pop(head, None)
        else:
            out[head] = _set(doc[head], rest, value)
        return out
    out = list(doc)
    if not rest and value is _DELETE:
        del out[head]
    else:
        out[head] = _set(doc[head], rest, value)
    return out


_DELETE = object()


def _nested(depth: int, leaf):
    for _ in range(depth):
        leaf = [leaf] if depth % 2 else {"k": leaf}
    return leaf


def _bomb(levels: int) -> str:
    rows = ['  l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    rows += [f"  l{n}: &l{n} [{', '.join([f'*l{n - 1}'] * 9)}]" for n in range(1, levels)]
    return "\n".join(rows) + "\n"


def _dump(doc) -> bytes:
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=10_000).encode("utf-8")


@st.composite
def mutated_scenarios(draw) -> bytes:
    """The bytes of a scenario file: TINY with one (sometimes two) mutations."""
    kind = draw(st.sampled_from(["leaf", "leaf", "leaf", "delete", "unknown", "deep", "duplicate", "drop-line",
                                 "bytes", "random", "truncate", "bomb", "wrong-node"]))
    event(f"mutation {kind}")
    if kind in ("leaf", "delete", "unknown", "deep", "wrong-node"):
        doc = BASE
        for _ in range(draw(st.integers(1, 2))):
            if kind == "leaf":
                doc = _set(doc, draw(st.sampled_from(LEAVES)), draw(values))
            elif kind == "delete":
                path = draw(st.sampled_from(NODES))
                try:
                    doc = _set(doc, path, _DELETE)
                except (KeyError, IndexError):
                    pass  # removed with its parent already
            elif kind == "unknown":
                path = draw(st.sampled_from(MAPPINGS))
                try:
                    doc = _set(doc, (*path, draw(st.text(min_size=1, max_size=12))), draw(values))
                except (KeyError, IndexError, TypeError):
                    pass
            elif kind == "deep":
                doc = _set(doc, draw(st.sampled_from(LEAVES)), _nested(draw(st.integers(1, 600)), draw(values)))
            else:  # a whole section replaced by a value of another kind
                doc = _set(doc, draw(st.sampled_from(NODES)), draw(st.sampled_from([[], {}, "x", 1, None, [[]], [{}]])))
        return _dump(doc)
    text = TINY.encode("utf-8")
    if kind == "duplicate":  # a line repeated: a duplicate key, or a repeated list item
        n = draw(st.integers(0, len(LINES) - 1))
        return "".join([*LINES[: n + 1], LINES[n], *LINES[n + 1:]]).encode("utf-8")
    if kind == "drop-line":
        n = draw(st.integers(0, len(LINES) - 1))
        return "".join([*LINES[:n], *LINES[n + 1:]]).encode("utf-8")
    if kind == "bytes":  # random bytes spliced in (Latin-1, NUL, control bytes...)
        at = draw(st.integers(0, len(text)))
        return text[:at] + draw(st.binary(min_size=1, max_size=16)) + text[at:]
    if kind == "truncate":
        return text[: draw(st.integers(0, len(text) - 1))]
    if kind == "bomb":
        return text + b"description:\n" + _bomb(draw(st.integers(3, 9))).encode("utf-8")
    return draw(st.binary(max_size=200))  # "random": a file of random bytes


def _check(code: int, err: str, folder: Path, out: Path | None = None, *, in_fuzz: bool = True) -> None:
    if in_fuzz:  # hypothesis records events only inside a @given test
        event(f"exit {code}")
    assert code in (0, 2), f"exit {code}: {err}"
    if code == 2:
        refused_line(code, err)  # one line, no traceback
        if out is not None:
            assert not out.exists(), "a refused run wrote its output folder"
    assert sorted(p.name for p in folder.iterdir() if p != out) == ["s.yaml"], "something was written beside the scenario"


FUZZ = settings(max_examples=320, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much])


@FUZZ
@given(mutated_scenarios())
def test_validate_a_mutated_scenario_exits_0_or_2_with_one_line(content):
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "s.yaml").write_bytes(content)
        code, _, err = cli("validate", str(folder / "s.yaml"))
        _check(code, err, folder)


@settings(FUZZ, max_examples=60)
@given(mutated_scenarios())
def test_run_a_mutated_scenario_exits_0_or_2_and_a_refusal_writes_nothing(content):
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "s.yaml").write_bytes(content)
        out = folder / "out"
        code, _, err = cli("run", str(folder / "s.yaml"), "--hours", "1", "--no-report", "--out", str(out))
        _check(code, err, folder, out)


SUBPROCESS_CASES = {
    "nan quality score": _dump(_set(BASE, ("models", 1, "quality_score"), math.nan)),
    "random bytes": bytes(range(7, 250, 3)) * 3,
}


def test_a_few_mutations_through_the_real_cli(tmp_path):
    for name, content in SUBPROCESS_CASES.items():
        folder = tmp_path / name.replace(" ", "-")
        folder.mkdir()
        (folder / "s.yaml").write_bytes(content)
        out = folder / "out"
        proc = subprocess.run([sys.executable, "-m", "cosim.cli", "run", str(folder / "s.yaml"), "--hours", "1",
                               "--no-report", "--out", str(out)], capture_output=True, text=True, env=ENV, timeout=300)
        assert proc.returncode == 2, (name, proc.stderr)
        _check(proc.returncode, proc.stderr, folder, out, in_fuzz=False)
