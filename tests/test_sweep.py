"""Sweep files (cosim.sweep): parsing, expansion into exact run lists, run ids, and every
bad input refused by `cosim batch` with exit 2, one line, before anything is written."""
from __future__ import annotations

import math
import textwrap
from pathlib import Path

import pytest
import yaml

from cosim.catalog import CATALOG, Catalog
from cosim.errors import InputError
from cosim.scenario_files import load_scenario
from cosim.sweep import load_sweep
from tests.test_cli import assert_bad_input, cosim

REPO_ROOT = Path(__file__).resolve().parents[1]
PAPER10 = REPO_ROOT / "scenarios" / "paper10.yaml"
REGULATION = REPO_ROOT / "scenarios" / "regulation_masks.yaml"
TABLE1 = ["cost-glb", "all-glb", "e-glb", "se-glb"]
MASKS = ["none", "latency-only", "eu-residency", "same-country", "state-locality"]


def write(folder: Path, text: str, name: str = "sweep.yaml") -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text))
    return path


def refused(path: Path, where: str, reason: str, *, line: int | None = None) -> InputError:
    with pytest.raises(InputError) as info:
        load_sweep(path)
    err = info.value
    assert err.source == (str(path) if line is None else f"{path}:{line}"), err
    assert err.where == where, err
    assert reason in err.reason, err
    return err


# ====================================================================== the shipped sweep


def test_regulation_masks_expands_to_masks_times_table1_policies():
    sweep = load_sweep(REGULATION, hours=6)
    assert sweep.name == "regulation_masks"
    assert sweep.combine == "grid"
    assert [(r.params["mask"], r.policy) for r in sweep.runs] == [(m, p) for m in MASKS for p in TABLE1]
    assert [r.index for r in sweep.runs] == list(range(20))
    assert len({r.run_id for r in sweep.runs}) == 20
    assert all(r.scenario.hours == 6 and r.mode == "offline" for r in sweep.runs)
    paper10 = load_scenario(PAPER10)
    assert paper10.policies == TABLE1  # the four Table-1 policies are paper10's
    by_mask = {r.params["mask"]: r.scenario for r in sweep.runs}
    budgets = {m: [t.tau_ms for t in s.tiers] for m, s in by_mask.items()}
    assert budgets["none"] == [math.inf] * 3
    for m in MASKS[1:]:
        assert budgets[m] == [60.0, 200.0, math.inf], m  # paper10's budgets under every other set
    rules = {m: [(r.kind, r.jurisdiction, r.tiers) for r in s.mask.rules] for m, s in by_mask.items()}
    assert rules == {
        "none": [], "latency-only": [],
        "eu-residency": [("jurisdiction", "EU", None)],
        "same-country": [("same-country", None, None)],
        "state-locality": [("local", None, ["interactive", "standard"])],
    }
    # state locality binds exactly the tiers that carry state
    assert [t.name for t in paper10.tiers if t.state_mb > 0] == ["interactive", "standard"]
    # the overlays change nothing else: tier shares, state and sites are paper10's
    for s in by_mask.values():
        assert [t.model_dump(exclude={"tau_ms"}) for t in s.tiers] == [t.model_dump(exclude={"tau_ms"}) for t in paper10.tiers]
        assert s.datacenters == paper10.datacenters and s.seed == paper10.seed


def test_every_shipped_sweep_loads():
    sweeps = [p for p in sorted((REPO_ROOT / "scenarios").glob("*.yaml")) if "axes" in yaml.safe_load(p.read_text())]
    assert REGULATION in sweeps
    for path in sweeps:
        assert load_sweep(path, hours=1).runs, path


def test_a_shipped_sweep_is_found_by_name_from_anywhere(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    by_name = load_sweep("regulation_masks", hours=1)
    assert [r.run_id for r in by_name.runs] == [r.run_id for r in load_sweep(REGULATION, hours=1).runs]
    with pytest.raises(InputError, match="neither a path nor a shipped scenario"):
        load_sweep("no_such_sweep")


def test_eu_residency_set_is_the_shipped_eu_residency_scenario():
    run = next(r for r in load_sweep(REGULATION).runs if r.params["mask"] == "eu-residency")
    shipped = load_scenario(REPO_ROOT / "scenarios" / "eu_residency.yaml")
    assert run.scenario.mask == shipped.mask
    assert run.scenario.tiers == shipped.tiers


# ====================================================================== expansion


def test_grid_is_the_cartesian_product_first_axis_slowest(tmp_path):
    path = write(tmp_path, """
        base: paper10
        hours: 3
        axes:
          q: [1, inf]
          policy: [nearest, se-glb]
          seed: [1, 2]
    """)
    sweep = load_sweep(path)
    assert [(r.params["q"], r.policy, r.scenario.seed) for r in sweep.runs] == [
        (1.0, "nearest", 1), (1.0, "nearest", 2), (1.0, "se-glb", 1), (1.0, "se-glb", 2),
        (math.inf, "nearest", 1), (math.inf, "nearest", 2), (math.inf, "se-glb", 1), (math.inf, "se-glb", 2),
    ]
    assert [r.run_id.rsplit("_", 1)[0] for r in sweep.runs[:2]] == ["q1_nearest_seed1", "q1_nearest_seed2"]
    for r in sweep.runs:
        q = r.params["q"]
        assert (r.scenario.policy.q_social, r.scenario.policy.q_env) == (q, q)
        assert r.columns()["q"] == q and r.columns()["seed"] == r.scenario.seed
        assert r.columns()["mask"] is None and r.columns()["tau_ms"] is None  # not swept


def test_list_zips_and_runs_every_base_policy_without_a_policy_axis(tmp_path):
    path = write(tmp_path, """
        base: paper10
        hours: 2
        combine: list
        axes:
          tau: [50, 100]
          mu_carbon: [0, 3000]
    """)
    runs = load_sweep(path).runs
    assert [(r.params["tau"], r.params["mu_carbon"], r.policy) for r in runs] == [
        (50, 0, p) for p in TABLE1] + [(100, 3000, p) for p in TABLE1]
    assert [t.tau_ms for t in runs[0].scenario.tiers] == [50.0] * 3  # tau: every tier's budget
    assert runs[4].scenario.policy.mu_carbon_usd_per_t == 3000
    assert runs[0].columns()["tau_ms"] == 50 and runs[0].columns()["mu_carbon_usd_per_t"] == 0


def test_runner_options_from_axes(tmp_path):
    path = write(tmp_path, """
        base: paper10
        hours: 2
        mode: online
        axes:
          policy: [se-glb]
          coupling: [open, lagged]
          ai_share: [0.05]
          elasticity: [0.2]
          operators: [2]
    """)
    runs = load_sweep(path).runs
    assert [(r.mode, r.coupling, r.ai_share, r.elasticity, r.operators) for r in runs] == [
        ("online", "open", 0.05, 0.2, 2), ("online", "lagged", 0.05, 0.2, 2)]


def test_named_list_overlay_merges_by_name_and_lists_elsewhere_are_replaced(tmp_path):
    path = write(tmp_path, """
        base: paper10
        masks:
          slow-chat: {tiers: {interactive: {tau_ms: 120}}}
          two-sites: {policies: [nearest], mask: {allow: {Japan: [Japan, Singapore]}}}
        axes:
          mask: [slow-chat, two-sites]
          policy: [nearest]
    """)
    slow, two = (r.scenario for r in load_sweep(path).runs)
    assert [t.tau_ms for t in slow.tiers] == [120.0, 200.0, math.inf]
    assert slow.tiers[0].state_mb == 2 and slow.tiers[0].share == 0.5  # the rest of the tier kept
    assert two.mask.allow == {"Japan": ["Japan", "Singapore"]} and two.policies == ["nearest"]


def test_run_ids_are_deterministic_readable_and_follow_every_parameter(tmp_path):
    path = write(tmp_path, """
        base: paper10
        hours: 4
        axes:
          policy: [cost-glb]
          q: [inf]
          tau: [100]
    """)
    first, again = load_sweep(path).runs[0], load_sweep(path).runs[0]
    assert first.run_id == again.run_id
    assert first.run_id.startswith("cost-glb_qinf_tau100_") and len(first.run_id.rsplit("_", 1)[1]) == 10
    assert load_sweep(path, hours=5).runs[0].run_id != first.run_id  # a different horizon is another run
    # the same resolved parameters from another sweep file get the same id
    other = write(tmp_path, """
        name: renamed
        base: paper10
        axes:
          policy: [cost-glb]
          q: [.inf]
          tau: [100.0]
    """, "other.yaml")
    assert load_sweep(other, hours=4).runs[0].run_id == first.run_id


def test_base_relative_to_the_sweep_file(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "mine.yaml").write_text("extends: paper10\nname: mine\n")
    path = write(tmp_path, """
        base: sub/mine.yaml
        axes: {policy: [nearest]}
    """)
    assert load_sweep(path).runs[0].scenario.name == "mine"


# ====================================================================== refusals (in process)


@pytest.mark.parametrize(("body", "where", "reason"), [
    ("axes: {colour: [red]}", "axes.colour", "unknown axis"),
    ("axes: {policy: [cost-glb, fastest]}", "axes.policy", "unknown policy 'fastest'"),
    ("axes: {policy: []}", "axes.policy", "non-empty list"),
    ("axes: {mask: [gdpr]}", "axes.mask", "unknown mask rule set 'gdpr'"),
    ("masks: {bad: {tiers: {interactive: {tau_ms: -5}}}}\naxes: {mask: [bad]}", "masks.bad.tiers.0.tau_ms", "greater than 0"),
    ("masks: {bad: {mask: {rules: [{kind: jurisdiction}]}}}\naxes: {mask: [bad]}", "masks.bad.mask.rules.0", "needs jurisdiction"),
    ("masks: {bad: {tiers: {chat: {tau_ms: 5}}}}\naxes: {mask: [bad]}", "masks.bad.tiers.chat", "unknown tier"),
    ("masks: {bad: {colour: red}}\naxes: {mask: [bad]}", "masks.bad.colour", "unknown field"),
    ("axes: {q: [0.5]}", "axes.q.0", "greater than or equal to 1"),  # up front, at the value's line
    ("axes: {coupling: [lagged]}", "axes.coupling", "set mode: online"),
    ("axes: {ai_share: [0]}", "axes.ai_share.0", "> 0"),
    ("combine: list\naxes: {policy: [nearest], seed: [1, 2]}", "axes", "equal lengths (policy 1, seed 2)"),
    ("combine: zip\naxes: {seed: [1]}", "combine", "must be one of grid, list"),
    ("axes: {policy: [nearest, nearest]}", "axes", "runs 1 and 2 are the same run"),
    ("hours: 0\naxes: {seed: [1]}", "hours", "from 1 to 87,600"),
    ("hours: 1000000000000\naxes: {seed: [1]}", "hours", "from 1 to 87,600"),
    ("colour: red\naxes: {seed: [1]}", "colour", "unknown field"),
    ("axes: [policy]", "axes", "a mapping of axis"),
    ("axes: {policy: [nearest]}}", "yaml syntax", "not valid YAML"),
])
def test_bad_sweeps_are_refused_naming_file_field_and_reason(tmp_path, body, where, reason):
    path = write(tmp_path, f"base: paper10\n{body}\n")
    refused(path, where, reason, line=2 if where in ("yaml syntax", "axes.q.0", "axes.ai_share.0") else None)


def test_unknown_base_is_refused(tmp_path):
    refused(write(tmp_path, "base: nowhere\naxes: {seed: [1]}\n"), "base", "'nowhere' not found")


# ====================================================================== refusals by the CLI


def _catalog_with_one_row(folder: Path) -> bytes:
    with Catalog(folder) as catalog:
        catalog.record({"run_id": "kept", "status": "ok"})
    return (folder / CATALOG).read_bytes()


@pytest.mark.parametrize(("body", "parts"), [
    ("axes: {colour: [red]}", ("sweep.yaml: axes.colour: unknown axis",)),
    ("axes: {policy: [fastest]}", ("sweep.yaml: axes.policy: unknown policy 'fastest'",)),
    ("masks: {bad: {tiers: {interactive: {tau_ms: -5}}}}\naxes: {mask: [bad]}", ("sweep.yaml: masks.bad.tiers.0.tau_ms:",)),
    ("axes: {policy: [nearest]}}", ("sweep.yaml:2: yaml syntax: not valid YAML",)),
])
def test_cli_refuses_bad_sweeps_with_exit_2_and_writes_nothing(tmp_path, body, parts):
    path = write(tmp_path, f"base: paper10\n{body}\n")
    fresh, existing = tmp_path / "fresh", tmp_path / "existing"
    existing.mkdir()
    before = _catalog_with_one_row(existing)
    for out in (fresh, existing):
        assert_bad_input(cosim("batch", path, "--out", out, "--workers", 1, cwd=tmp_path), *parts)
    assert not fresh.exists()
    assert sorted(p.name for p in existing.iterdir()) == [CATALOG]
    assert (existing / CATALOG).read_bytes() == before
