"""Scenario files: reading a scenario's YAML (and the files it `extends`), and finding a
scenario by path or by the name of one shipped in scenarios/. The schema they are validated
against is cosim.scenario.
"""
from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

from cosim.errors import InputError
from cosim.paths import check_name_text, contained
from cosim.scenario import SOURCE_FIELDS, Scenario, parse_scenario
from grids.files import count_values, key_line, read_yaml


def load_scenario(path: str | Path, *, allow_outside: bool = False) -> Scenario:
    """Read and validate a scenario YAML file (a path or a shipped scenario's name:
    :func:`resolve_scenario_path`).

    A file may start from another with `extends: NAME_OR_PATH` (a path relative to the
    file, or a shipped scenario): its fields override the base's, mappings merged key by
    key, lists and values replaced whole; `field: null` removes the base's value (the
    field's default applies). A file that switches a section's source (demand, signals,
    latency) must not leave fields only the old source reads behind (SOURCE_FIELDS).
    A base lies inside the folder of the file named here or among the shipped scenarios
    (:func:`base_scenario_path`) unless *allow_outside* (``--allow-outside-paths``).

    A bad field is named with the file and line that set it (``FILE:LINE: field: reason``,
    the base's file when the value came from there).
    """
    path = resolve_scenario_path(path)
    files: list[Path] = []
    roots = (path.parent, shipped_scenarios_dir())
    data = _read_with_bases(path, (), files, roots, allow_outside)
    if count_values(data, MAX_VALUES) > MAX_VALUES:
        raise InputError(path, "extends" if len(files) > 1 else "(top level)",
                         f"the scenario{' and the files it extends' if len(files) > 1 else ''} expand to more than "
                         f"{MAX_VALUES:,} values (aliases counted at every use)")
    try:
        return parse_scenario(data, path)
    except InputError as exc:
        raise _at_line(exc, files) from None


MAX_VALUES = 100_000
"""The most values a scenario may hold, its aliases expanded and its `extends:` bases merged
in (the shipped ones hold under 500): a billion laughs, in one file or split across a file
and its base, is refused before anything walks it."""


MAX_EXTENDS = 32
"""The most files one chain of `extends:` may hold (the scenario included)."""


def _read_with_bases(path: Path, seen: tuple[Path, ...], files: list[Path], roots: tuple[Path, ...],
                     allow_outside: bool) -> dict:
    """The merged mapping of *path* and its bases; *files* gets them, the extending file first."""
    data = read_yaml(path, max_nodes=MAX_VALUES)
    files.append(path)
    if not isinstance(data, dict) or "extends" not in data:
        return data
    base_name = data.pop("extends")
    base_path = base_scenario_path(path, base_name, where="extends", roots=roots, allow_outside=allow_outside)
    if base_path.resolve() in seen or base_path.resolve() == path.resolve():
        raise InputError(path, "extends", f"'{base_name}' extends this file again (a cycle)")
    if len(seen) + 1 >= MAX_EXTENDS:
        raise InputError(path, "extends", f"more than {MAX_EXTENDS} files in one chain of `extends:`")
    base = _read_with_bases(base_path, (*seen, path.resolve()), files, roots, allow_outside)
    if not isinstance(base, dict):
        raise InputError(base_path, "(top level)", "a scenario is a mapping of fields")
    _check_sources(base, data, path, base_name)
    return _merge(base, data)


def base_scenario_path(path: Path, base_name: object, *, where: str, roots: tuple[Path, ...] | None = None,
                       allow_outside: bool = False) -> Path:
    """The base scenario *base_name* that the file *path* names in its field *where*
    (`extends:`, a sweep's `base:`): the path relative to *path*'s folder when it is there,
    else, for a bare name (no '/'), the shipped scenario of that name.

    The base must lie inside *roots* once resolved (default: *path*'s folder and the
    shipped scenarios; symlinks count by where they point) unless *allow_outside*.
    InputError(path, where) when it is not a name, not found, or outside.
    """
    if not isinstance(base_name, str) or not base_name.strip():
        raise InputError(path, where, "names a scenario: a path or a shipped scenario's name")
    check_name_text(base_name, source=path, where=where)
    roots = (path.parent, shipped_scenarios_dir()) if roots is None else roots
    relative = path.parent / base_name
    if relative.is_file():
        base = relative
    elif not _looks_like_path(base_name, slash_only=True) and (shipped := _shipped(base_name)) is not None:
        base = shipped
    else:
        raise InputError(path, where, f"'{base_name}' not found (neither a path next to this file nor a shipped scenario)")
    return contained(base, roots, name=base_name, source=path, where=where, allow_outside=allow_outside,
                     roots_text=f"the folder {roots[0]} and the shipped scenarios")


def _check_sources(base: dict, override: dict, path: Path, base_name: str) -> None:
    """InputError naming the first field of the base that only the base's source of a
    section reads, when *override* switches that source and neither sets nor removes it
    (a field left at its default value is no leftover)."""
    for section, (model, owners) in SOURCE_FIELDS.items():
        old, new = base.get(section), override.get(section)
        if not isinstance(new, dict) or "source" not in new:
            continue
        old = old if isinstance(old, dict) else {}
        was, now = old.get("source", model.model_fields["source"].default), new["source"]
        if was == now or now not in owners:  # an unknown source: the schema says so
            continue
        left = [f for f in owners.get(was, ()) if f in old and f not in new and f not in owners[now]
                and old[f] != model.model_fields[f].default]
        if left:
            them = f"`{left[0]}: null`" + (f" (and {', '.join(left[1:])})" if len(left) > 1 else "")
            raise InputError(path, f"{section}.{left[0]}",
                             f"left behind: '{base_name}' sets it for {section} source '{was}', which this file "
                             f"switches to '{now}' (that source does not read it); remove it here with {them}, or set "
                             f"source '{was}' back")


def _merge(base: dict, override: dict) -> dict:
    """*override* on top of *base*: mappings merged key by key, anything else replaced, a
    None (YAML null) removes the base's key."""
    out = dict(base)
    for key, value in override.items():
        if value is None and key in out:
            del out[key]
            continue
        out[key] = _merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def _at_line(exc: InputError, files: list[Path]) -> InputError:
    """*exc* (about a field, a dotted path) with ``FILE:LINE`` of the file that sets the
    field (or the deepest part of its path found: the section of a missing field),
    extending file first on a tie; unchanged when no file has it."""
    if exc.where.startswith("("):
        return exc
    loc = tuple(int(p) if p.isdigit() else p for p in exc.where.split("."))
    best = None
    for file in files:
        try:
            found = key_line(file.read_text(encoding="utf-8"), loc)
        except OSError:
            continue
        if found is not None and (best is None or found[0] > best[0]):
            best = (found[0], file, found[1])
    if best is None:
        return exc
    return InputError(f"{best[1]}:{best[2]}", exc.where, exc.reason)


def shipped_scenarios_dir() -> Path:
    """The scenarios/ folder: the checkout's own, or the copy inside the installed wheel."""
    checkout = Path(__file__).resolve().parent.parent / "scenarios"
    if checkout.is_dir():
        return checkout
    return Path(str(resources.files("cosim") / "_scenarios"))


def resolve_scenario_path(name: str | Path) -> Path:
    """The scenario (or sweep) file the user names: a *name* that looks like a path (holds a
    '/' or ends in .yaml or .yml) must exist as given, never replaced by a shipped file of
    the same name; a bare name (``paper10``) is a shipped scenario. InputError naming it
    otherwise."""
    text = str(name)
    check_name_text(text, source="<scenario>", where="file")
    if _looks_like_path(text):
        path = Path(name)
        if not path.exists():  # one that exists but is no regular file: the reader refuses it (grids.files)
            why = "not found"
            twin = _shipped(path.name) if path.name.lower().endswith((".yaml", ".yml")) else None
            bare = Path(path.name).stem if twin is not None else DEFAULT_SCENARIO
            raise InputError(path, "file", f"{why} (a path must exist as given, never replaced by a shipped file; "
                                           f"a shipped scenario is named bare: {bare})")
        return path
    shipped = _shipped(text)
    if shipped is None:
        known = ", ".join(sorted(p.stem for p in shipped_scenarios_dir().glob("*.yaml")))
        raise InputError(text, "file", f"not found (neither a path nor a shipped scenario; shipped: {known}; a file "
                                       "in this folder is named ./NAME)")
    return shipped


def _looks_like_path(name: str, *, slash_only: bool = False) -> bool:
    """Whether *name* is a path rather than a shipped scenario's name: it holds a '/' (or
    the OS's separator), or (unless *slash_only*) ends in .yaml or .yml."""
    if "/" in name or os.sep in name or (os.altsep and os.altsep in name):
        return True
    return not slash_only and name.lower().endswith((".yaml", ".yml"))


def _shipped(name: str) -> Path | None:
    """The shipped scenario *name* (with or without .yaml), None when there is none; a
    name with a separator or a leading '.' is none."""
    if _looks_like_path(name, slash_only=True) or name.startswith(".") or not name.strip():
        return None
    folder = shipped_scenarios_dir()
    for candidate in (folder / name, folder / f"{name}.yaml"):
        if candidate.is_file():
            return candidate
    return None


DEFAULT_SCENARIO = "paper10"
