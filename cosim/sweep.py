"""Sweep files: a base scenario plus axes, expanded into the runs of a batch (docs/batch.md).

A sweep names a base scenario, optional `hours` and `mode`, named scenario overlays for
the `mask` axis and the axes themselves, each a list of values, combined as a `grid`
(cartesian product, first axis slowest) or a `list` (zipped). Every run is one policy
on one resolved scenario; it gets a deterministic id from its resolved parameters, so a
rerun of the same sweep finds the runs it already completed.

Everything is validated here, before anything is written: an unknown field, axis or
value, or an overlay that fails scenario validation raises InputError naming the sweep
file, the field and the reason.
"""
from __future__ import annotations

import hashlib
import itertools
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import TypeAdapter, ValidationError

from cosim.errors import InputError
from cosim.fields import MAX_HOURS, field_adapter
from cosim.options import COUPLINGS, MAX_OPERATORS, MODES
from cosim.paths import FOLDER_NAME_RULE, is_folder_name
from cosim.policy import POLICY_NAMES, PolicyWeights
from cosim.scenario import Demand, Scenario, Tier, parse_scenario
from cosim.scenario_files import MAX_VALUES, base_scenario_path, load_scenario, resolve_scenario_path
from grids.files import key_line, read_yaml


@dataclass(frozen=True)
class Axis:
    """A sweepable parameter: its catalog column and SQL type, and what its values set."""

    column: str
    sql_type: str
    doc: str


AXES: dict[str, Axis] = {
    "mask": Axis("mask", "VARCHAR", "a named overlay of `masks:` (scenario fields, merged like `extends:`)"),
    "policy": Axis("policy", "VARCHAR", "GLB policy name"),
    "mode": Axis("mode", "VARCHAR", "offline | online"),
    "coupling": Axis("coupling", "VARCHAR", "open | lagged | iterate (online with grids)"),
    "q": Axis("q", "DOUBLE", "both equity norms, policy.q_social and policy.q_env (>= 1, or inf)"),
    "q_social": Axis("q_social", "DOUBLE", "policy.q_social (>= 1, or inf)"),
    "q_env": Axis("q_env", "DOUBLE", "policy.q_env (>= 1, or inf)"),
    "tau": Axis("tau_ms", "DOUBLE", "latency budget of every tier, ms (> 0, or inf)"),
    "mu_carbon": Axis("mu_carbon_usd_per_t", "DOUBLE", "policy.mu_carbon_usd_per_t, USD/t"),
    "mu_water": Axis("mu_water_usd_per_m3", "DOUBLE", "policy.mu_water_usd_per_m3, USD/m3"),
    "ai_share": Axis("ai_share", "DOUBLE", "AI load as a share of the grids' demand (0 < x < 10; grids only)"),
    "elasticity": Axis("elasticity", "DOUBLE", "users' price elasticity of demand (>= 0)"),
    "operators": Axis("operators", "INTEGER", "operators sharing every site (>= 1)"),
    "seed": Axis("seed", "BIGINT", "the scenario's seed (>= 0)"),
}
"""Known axes, in the order their columns appear in the catalog."""

AXIS_FIELDS: dict[str, TypeAdapter] = {
    "q": field_adapter(PolicyWeights, "q_social"),
    "q_social": field_adapter(PolicyWeights, "q_social"),
    "q_env": field_adapter(PolicyWeights, "q_env"),
    "tau": field_adapter(Tier, "tau_ms"),
    "mu_carbon": field_adapter(PolicyWeights, "mu_carbon_usd_per_t"),
    "mu_water": field_adapter(PolicyWeights, "mu_water_usd_per_m3"),
    "elasticity": field_adapter(Demand, "price_elasticity"),
    "seed": field_adapter(Scenario, "seed"),
}
"""Axes that set a scenario field -> the field's own validator (type, limits, unit): a
value goes through the same checks as in a scenario file, before any run is expanded."""

MAX_RUNS = 100_000
"""The most runs one sweep may expand to."""

COMBINES = ("grid", "list")
_FIELDS = ("name", "description", "base", "hours", "mode", "combine", "masks", "axes")
_NAMED_LISTS = ("models", "datacenters", "regions", "tiers")


@dataclass(frozen=True)
class Run:
    """One run of a sweep: one policy on one resolved scenario, and the runner's options."""

    run_id: str
    params: dict  # swept axis -> value, in the sweep's axis order (plus `policy`)
    scenario: Scenario
    policy: str
    mode: str = "offline"
    coupling: str | None = None
    ai_share: float | None = None
    operators: int = 1
    elasticity: float | None = None
    source: str = "<sweep>"
    index: int = 0  # position in the sweep's expansion

    def columns(self) -> dict:
        """The catalog's parameter columns: swept axes hold the run's value, policy, mode and
        seed always the effective one, other axes None (the base scenario's value applies)."""
        out = {axis.column: None for axis in AXES.values()}
        for name, value in self.params.items():
            out[AXES[name].column] = value
        out.update(policy=self.policy, mode=self.mode, seed=self.scenario.seed)
        return out


@dataclass(frozen=True)
class Sweep:
    """A parsed sweep: its name, file, base scenario, axes and expanded runs."""

    name: str
    path: Path
    base: Scenario
    combine: str
    axes: dict[str, list] = field(default_factory=dict)
    runs: list[Run] = field(default_factory=list)


def load_sweep(path: str | Path, *, hours: int | None = None, allow_outside: bool = False) -> Sweep:
    """Read, validate and expand a sweep file (a path, or a shipped sweep by name, as for
    scenarios); *hours* overrides the sweep's `hours`. Its `base` lies next to it or among
    the shipped scenarios, as `extends:` (cosim.paths), unless *allow_outside*."""
    path = resolve_scenario_path(path)
    data = _read(path)
    for key in data:
        if key not in _FIELDS:
            raise InputError(path, str(key), f"unknown field (known: {', '.join(_FIELDS)})")
    base_name = data.get("base")
    if not isinstance(base_name, str) or not base_name:
        raise InputError(path, "base", "names the base scenario: a path relative to this file or a shipped scenario")
    base_path = base_scenario_path(path, base_name, where="base", allow_outside=allow_outside)
    base = load_scenario(base_path, allow_outside=allow_outside)
    hours = data.get("hours") if hours is None else hours
    if hours is not None:
        if not isinstance(hours, int) or isinstance(hours, bool) or not 1 <= hours <= MAX_HOURS:
            raise InputError(path, "hours", f"a whole number of hours from 1 to {MAX_HOURS:,} (ten years), not {hours!r}")
        base = base.with_hours(hours)
    mode = data.get("mode", "offline")
    if mode not in MODES:
        raise InputError(path, "mode", f"must be one of {', '.join(MODES)}, not {mode!r}")
    combine = data.get("combine", "grid")
    if combine not in COMBINES:
        raise InputError(path, "combine", f"must be one of {', '.join(COMBINES)}, not {combine!r}")
    masks = data.get("masks") or {}
    if not isinstance(masks, dict):
        raise InputError(path, "masks", "a mapping of rule-set name -> scenario overlay")
    axes = _axes(path, data.get("axes"))
    base_data = base.model_dump()
    for mask_name, overlay in masks.items():  # each rule set alone on the base, named by its own field
        if overlay is not None and not isinstance(overlay, dict):
            raise InputError(path, f"masks.{mask_name}", "a mapping of scenario fields (an overlay)")
        try:
            parse_scenario(_overlay(base_data, overlay or {}, path, f"masks.{mask_name}"), path)
        except InputError as exc:
            if exc.source != str(path) or exc.where.startswith("masks."):
                raise
            raise InputError(path, f"masks.{mask_name}.{exc.where}", exc.reason) from None
    name = data.get("name", path.stem)
    if not is_folder_name(name):  # it names the batch folder, cosim-out/<name>
        given = "the file name" if "name" not in data else "name"
        raise InputError(path, "name", f"{given} {name!r} cannot name a folder ({FOLDER_NAME_RULE})"
                         + ("; set name:" if "name" not in data else ""))

    rows = _combine(path, axes, combine)
    if "policy" not in axes:  # each run is one policy: without the axis, the base's policies
        rows = [{**row, "policy": p} for row in rows for p in base.policies]
    runs, seen = [], {}
    for n, row in enumerate(rows):
        run = _resolve_run(path, base, base_data, masks, row, mode, n)
        if run.run_id in seen:
            raise InputError(path, "axes", f"runs {seen[run.run_id] + 1} and {n + 1} are the same run ({_describe(row)})")
        seen[run.run_id] = n
        runs.append(run)
    return Sweep(name=name, path=path, base=base, combine=combine, axes=axes, runs=runs)


def _read(path: Path) -> dict:
    data = read_yaml(path, max_nodes=MAX_VALUES)
    if not isinstance(data, dict):
        raise InputError(path, "(top level)", "a sweep is a mapping with base, axes, ...")
    return data


def _axes(path: Path, axes) -> dict[str, list]:
    if not isinstance(axes, dict) or not axes:
        raise InputError(path, "axes", f"a mapping of axis -> list of values (known axes: {', '.join(AXES)})")
    for name, values in axes.items():
        if name not in AXES:
            raise InputError(path, f"axes.{name}", f"unknown axis (known: {', '.join(AXES)})")
        if not isinstance(values, list) or not values:
            raise InputError(path, f"axes.{name}", "a non-empty list of values")
        for n, value in enumerate(values):
            reason = _axis_value_problem(name, value)
            if reason is not None:
                raise InputError(_at(path, ("axes", name, n)), f"axes.{name}.{n}", reason)
    return dict(axes)


def _axis_value_problem(name: str, value) -> str | None:
    """Why *value* cannot be a value of axis *name* (the field it sets refuses it, or it is
    not a number in the axis' range), or None. Names (mask, policy...) are checked later."""
    adapter = AXIS_FIELDS.get(name)
    if adapter is not None:
        if isinstance(value, bool):
            return f"a number, not {value!r}"
        try:
            adapter.validate_python(value)
        except ValidationError as exc:
            return exc.errors()[0]["msg"].removeprefix("Value error, ")
    if name == "ai_share" and not (_number(value) and 0 < value < 10):
        return f"a share of the grids' demand, > 0 and below 10, not {value!r}"
    if name == "operators" and (not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= MAX_OPERATORS):
        return f"a whole number of operators from 1 to {MAX_OPERATORS:,}, not {value!r}"
    return None


def _at(path: Path, loc: tuple) -> str:
    """``FILE:LINE`` of *loc* in the sweep file *path* (the file alone when not found)."""
    try:
        found = key_line(path.read_text(encoding="utf-8"), loc)
    except (OSError, UnicodeDecodeError):
        found = None
    return f"{path}:{found[1]}" if found else str(path)


def _combine(path: Path, axes: dict[str, list], combine: str) -> list[dict]:
    names = list(axes)
    runs = math.prod(len(v) for v in axes.values()) if combine == "grid" else max(len(v) for v in axes.values())
    if runs > MAX_RUNS:
        raise InputError(path, "axes", f"{runs:,} combinations, more than the {MAX_RUNS:,} runs one sweep may hold")
    if combine == "grid":
        return [dict(zip(names, values)) for values in itertools.product(*axes.values())]
    lengths = {len(v) for v in axes.values()}
    if len(lengths) > 1:
        sizes = ", ".join(f"{n} {len(v)}" for n, v in axes.items())
        raise InputError(path, "axes", f"combine 'list' zips the axes: they need equal lengths ({sizes})")
    return [dict(zip(names, values)) for values in zip(*axes.values())]


def _resolve_run(path: Path, base: Scenario, base_data: dict, masks: dict, row: dict, mode: str, index: int) -> Run:
    """Apply one row of axis values to the base scenario and the runner's options."""
    data = base_data
    options = {"mode": mode, "coupling": None, "ai_share": None, "operators": 1, "elasticity": None}
    policy = None
    for name, value in row.items():
        where = f"axes.{name}"
        if name == "mask":
            if not isinstance(value, str) or value not in masks:
                known = ", ".join(masks) or "none defined under masks:"
                raise InputError(path, where, f"unknown mask rule set {value!r} (known: {known})")
            data = _overlay(data, masks[value] or {}, path, f"masks.{value}")
        elif name == "policy":
            if value not in POLICY_NAMES:
                raise InputError(path, where, f"unknown policy {value!r} (known: {', '.join(POLICY_NAMES)})")
            policy = value
        elif name == "mode":
            if value not in MODES:
                raise InputError(path, where, f"unknown mode {value!r} (known: {', '.join(MODES)})")
            options["mode"] = value
        elif name == "coupling":
            if value not in COUPLINGS:
                raise InputError(path, where, f"unknown coupling {value!r} (known: {', '.join(COUPLINGS)})")
            options["coupling"] = value
        elif name in ("q", "q_social", "q_env"):
            keys = ("q_social", "q_env") if name == "q" else (name,)
            data = _overlay(data, {"policy": {k: value for k in keys}}, path, where)
        elif name == "tau":
            data = _overlay(data, {"tiers": {t["name"]: {"tau_ms": value} for t in data["tiers"]}}, path, where)
        elif name in ("mu_carbon", "mu_water"):
            data = _overlay(data, {"policy": {AXES[name].column: value}}, path, where)
        elif name == "seed":
            data = _overlay(data, {"seed": value}, path, where)
        elif name == "ai_share":
            if not _number(value) or not 0 < value < 10:
                raise InputError(path, where, f"a share of the grids' demand, > 0 and below 10, not {value!r}")
            options["ai_share"] = float(value)
        elif name == "elasticity":
            if not _number(value) or value < 0:
                raise InputError(path, where, f"a price elasticity >= 0, not {value!r}")
            options["elasticity"] = float(value)
        elif name == "operators":
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise InputError(path, where, f"a whole number of operators >= 1, not {value!r}")
            options["operators"] = value
    scenario = base if data is base_data else _validate(data, path, row)
    grids_on = scenario.signals.source == "grids"
    if options["ai_share"] is not None and not grids_on:
        raise InputError(path, "axes.ai_share", "needs simulated grids (signals: grids)")
    coupling = options["coupling"]
    if coupling not in (None, "open"):
        if options["mode"] != "online":
            raise InputError(path, "axes.coupling", f"'{coupling}': offline plans are replayed open-loop; set mode: online")
        if not grids_on:
            raise InputError(path, "axes.coupling", f"'{coupling}' needs simulated grids (signals: grids)")
    params = {name: _normalize(name, value) for name, value in row.items()}  # 1 == 1.0, "inf" == .inf
    params["policy"] = policy
    return Run(run_id=run_id(scenario, params, options), params=params, scenario=scenario, policy=policy,
               source=str(path), index=index, **options)


def _validate(data: dict, path: Path, row: dict) -> Scenario:
    try:
        return parse_scenario(data, path)
    except InputError as exc:
        raise InputError(path, f"axes ({_describe(row)}): {exc.where}", exc.reason) from None


def _overlay(base: dict, over: dict, path: Path, where: str) -> dict:
    """*over* on top of *base*, as `extends:` merges (mappings key by key, anything else
    replaced), except that a mapping over a list of named items (models, datacenters,
    regions, tiers) merges into the items by name."""
    out = dict(base)
    for key, value in over.items():
        current = out.get(key)
        if isinstance(value, dict) and isinstance(current, list) and key in _NAMED_LISTS:
            names = [item.get("name") for item in current]
            for name in value:
                if name not in names:
                    raise InputError(path, f"{where}.{key}.{name}", f"unknown {key[:-1]} (known: {', '.join(names)})")
                if not isinstance(value[name], dict):
                    raise InputError(path, f"{where}.{key}.{name}", "a mapping of fields to change")
            out[key] = [_overlay(item, value.get(item["name"], {}), path, f"{where}.{key}.{item['name']}") for item in current]
        elif isinstance(value, dict) and isinstance(current, dict):
            out[key] = _overlay(current, value, path, f"{where}.{key}")
        else:
            out[key] = value
    return out


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _normalize(name: str, value):
    """A swept value as the catalog holds it: numbers of DOUBLE axes as floats ("inf" -> inf)."""
    if AXES[name].sql_type != "DOUBLE":
        return value
    if isinstance(value, str) and value.strip().lower() in ("inf", "infinity", ".inf"):
        return math.inf
    return float(value) if _number(value) or value == math.inf else value


def _describe(row: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in row.items())


def run_id(scenario: Scenario, params: dict, options: dict) -> str:
    """Readable parts (the swept values) and a hash of everything that defines the run: the
    resolved scenario, the policy and the runner's options. Same inputs, same id. It is a
    safe folder name under DIR/runs/: letters, digits, '.', '+', '-', '_', starting with a
    letter or digit (whatever a mask's name or an axis value holds). Fields
    at their defaults are left out of the hash, so a field added later with a default
    (as a data center's `grid`) leaves the ids of existing runs as they were."""
    key = json.dumps({"scenario": scenario.model_dump(exclude_defaults=True), "params": params, "options": options},
                     sort_keys=True, default=str)
    digest = hashlib.sha256(key.encode()).hexdigest()[:10]
    parts = [_slug(name, value) for name, value in params.items()]
    # never a leading dot: temporary folder names start with one (cosim.folder_transaction),
    # so no cleanup can take a run for a leftover, and no run folder is hidden
    readable = "_".join(p for p in parts if p)[:80].lstrip(".")
    return f"{readable}_{digest}" if readable else digest


def _slug(name: str, value) -> str:
    text = f"{value:g}" if isinstance(value, float) else str(value)
    if name not in ("mask", "policy", "mode", "coupling"):
        text = f"{name.replace('_', '')}{text}"
    # a folder name part: no separator, no control character, no leading '.' (no '..', no
    # hidden or temporary folder such as batch's .tmp-*), no leading '-'
    return re.sub(r"[^A-Za-z0-9.+-]+", "-", text).strip(".-")[:32].strip(".-")
