"""`cosim run --offline-method decomposed` (cosim.glb.decomposition through the runner):
the same objective as the monolithic plan, the iterations and gap in summary.json, and
the option combinations refused with one line naming the option."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from cosim.errors import InputError
from cosim.options import OFFLINE_METHODS, RunOptions
from tests.test_cli import PAPER10, assert_bad_input, cosim

HOURS = 24
SYNTHETIC = "extends: paper10\nname: paper10_synthetic\nsignals: {source: synthetic}\n"
"""paper10 on the synthetic signals: no grids to dispatch, so the runs cost little."""


def test_the_methods_are_those_of_the_solver():
    from cosim.glb.offline import METHODS

    assert OFFLINE_METHODS == METHODS


@pytest.fixture(scope="module")
def two_methods(tmp_path_factory):
    """paper10 (synthetic signals), se-glb and nearest, 24 h offline: monolithic and
    decomposed (serial), their summaries and stdout."""
    base = tmp_path_factory.mktemp("offline-method")
    scenario = base / "paper10_synthetic.yaml"
    scenario.write_text(SYNTHETIC)
    out = {}
    for method in OFFLINE_METHODS:
        folder = base / method
        proc = cosim("run", scenario, "--policy", "se-glb", "--policy", "nearest", "--hours", HOURS, "--offline-method", method,
                     "--out", folder, "--no-report", cwd=base)
        assert proc.returncode == 0, proc.stderr
        out[method] = (json.loads((folder / "summary.json").read_text()), proc.stdout)
    return out


def test_decomposed_plan_has_the_monolithic_objective(two_methods):
    mono, deco = (two_methods[m][0]["policies"]["se-glb"] for m in OFFLINE_METHODS)
    a, b = mono["solve"]["objective_usd"], deco["solve"]["objective_usd"]
    assert abs(a - b) <= 1e-4 * abs(a), (a, b)
    assert b >= a * (1 - 1e-6)  # the monolithic solve is the optimum (to its own tolerance)
    # the Table-1 figures of the replays agree as closely as the plans' objectives let them
    assert deco["energy_cost_usd"]["total"] == pytest.approx(mono["energy_cost_usd"]["total"], rel=1e-2)
    near = [two_methods[m][0]["policies"]["nearest"]["solve"]["objective_usd"] for m in OFFLINE_METHODS]
    assert near[1] == pytest.approx(near[0], rel=1e-6)


def test_summary_reports_the_method_its_iterations_and_gap(two_methods):
    mono_summary, _ = two_methods["monolithic"]
    deco_summary, stdout = two_methods["decomposed"]
    assert mono_summary["policies"]["se-glb"]["offline"] == {"method": "monolithic", "iterations": None, "gap": None}
    plan = deco_summary["policies"]["se-glb"]["offline"]
    assert plan["method"] == "decomposed"
    assert 2 <= plan["iterations"] <= 200  # se-glb's q_env 4 couples the hours: more than one master
    assert 0 <= plan["gap"] <= 1e-5
    assert deco_summary["policies"]["nearest"]["offline"] == {"method": "decomposed", "iterations": 1, "gap": 0.0}
    assert deco_summary["options"]["offline_method"] == "decomposed" and deco_summary["options"]["workers"] is None
    assert f"se-glb: offline plan decomposed over hours, {plan['iterations']} master(s)" in stdout.replace("\n", " ")
    assert "decomposed" not in two_methods["monolithic"][1]


@pytest.mark.parametrize(("args", "parts"), [
    (("--offline-method", "decomposed", "--mode", "online"), ("--offline-method", "use --mode offline")),
    (("--offline-method", "split"), ("--offline-method", "split", "monolithic, decomposed")),
    (("--offline-method", "decomposed", "--workers", "0"), ("--workers", "0", "at least one")),
    (("--workers", "2",), ("--workers", "add --offline-method decomposed")),
    (("--scheduler", "tcp://127.0.0.1:1"), ("--scheduler", "add --offline-method decomposed")),
    (("--offline-method", "decomposed", "--workers", "2", "--scheduler", "tcp://127.0.0.1:1"), ("--workers", "not both")),
])
def test_bad_combinations_exit_2_naming_the_option(tmp_path, args, parts):
    out = tmp_path / "out"
    proc = cosim("run", PAPER10, "--hours", "2", *args, "--out", out, cwd=tmp_path)
    assert_bad_input(proc, *parts)
    assert not out.exists()


def test_run_options_check_the_method_before_anything_runs():
    with pytest.raises(InputError, match="--offline-method"):
        RunOptions(mode="online", offline_method="decomposed").checked(grids=True)
    assert RunOptions(offline_method="decomposed", workers=2).checked(grids=True).workers == 2


@pytest.mark.slow
def test_decomposed_on_a_local_cluster_matches_serial(tmp_path):
    """The hours on a 2-worker LocalCluster (cosim.batch.dask_client): the same plan."""
    from cosim.runner import run_scenario
    from cosim.scenario_files import load_scenario

    spec = load_scenario(Path(PAPER10)).with_hours(12)
    serial = run_scenario(spec, policies=["se-glb"], offline_method="decomposed")
    cluster = run_scenario(spec, policies=["se-glb"], offline_method="decomposed", workers=2)
    a, b = (r.solutions["se-glb"].objective_usd for r in (serial, cluster))
    assert b == pytest.approx(a, rel=1e-6)
