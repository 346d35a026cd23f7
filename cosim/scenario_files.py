"""Scenario files: reading a scenario's YAML (and the files it `extends`), and finding a
scenario by path or by the name of one shipped in scenarios/. The schema they are validated
against is cosim.scenario.
"""
from __future__ import annotations

from importlib import resources
from pathlib import Path

from cosim.errors import InputError
from cosim.scenario import Scenario, parse_scenario
from grids.files import read_yaml


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario YAML file (a path or a shipped scenario's name).

    A file may start from another with `extends: NAME_OR_PATH` (a path relative to the
    file, or a shipped scenario): its fields override the base's, mappings merged key by
    key, lists and values replaced whole.
    """
    path = resolve_scenario_path(path)
    return parse_scenario(_read_with_bases(path, ()), path)


def _read_with_bases(path: Path, seen: tuple[Path, ...]) -> dict:
    data = read_yaml(path)
    if not isinstance(data, dict) or "extends" not in data:
        return data
    base_name = data.pop("extends")
    if not isinstance(base_name, str):
        raise InputError(path, "extends", "names a scenario: a path or a shipped scenario's name")
    relative = path.parent / base_name
    try:
        base_path = relative if relative.exists() else resolve_scenario_path(base_name)
    except InputError:
        raise InputError(path, "extends", f"'{base_name}' not found (neither a path next to this file nor a shipped scenario)") from None
    if base_path.resolve() in seen or base_path.resolve() == path.resolve():
        raise InputError(path, "extends", f"'{base_name}' extends this file again (a cycle)")
    base = _read_with_bases(base_path, (*seen, path.resolve()))
    if not isinstance(base, dict):
        raise InputError(base_path, "(top level)", "a scenario is a mapping of fields")
    return _merge(base, data)


def _merge(base: dict, override: dict) -> dict:
    """*override* on top of *base*: mappings merged key by key, anything else replaced."""
    out = dict(base)
    for key, value in override.items():
        out[key] = _merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def shipped_scenarios_dir() -> Path:
    """The scenarios/ folder: the checkout's own, or the copy inside the installed wheel."""
    checkout = Path(__file__).resolve().parent.parent / "scenarios"
    if checkout.is_dir():
        return checkout
    return Path(str(resources.files("cosim") / "_scenarios"))


def resolve_scenario_path(name: str | Path) -> Path:
    """A path as given if it exists, else a shipped scenario by name (with or without .yaml)."""
    path = Path(name)
    if path.exists():
        return path
    for candidate in (shipped_scenarios_dir() / path.name, shipped_scenarios_dir() / f"{path.name}.yaml"):
        if candidate.exists():
            return candidate
    raise InputError(path, "file", "not found (neither a path nor a shipped scenario)")


DEFAULT_SCENARIO = "paper10"
