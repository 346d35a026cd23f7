"""The study library (cosim.studies) and the policy scripts (scenarios/*.py).

Short horizons (3 h of paper10): the tables must hold the numbers a direct
run_scenario call gives, and the qualitative shape the notebooks rely on.
"""
from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cosim.cosimulation import Herding
from cosim.errors import InputError
from cosim.runner import run_scenario
from cosim.studies import equity, rebound
from cosim.studies.common import check_policies, check_range, study_scenario, with_norms

REPO_ROOT = Path(__file__).resolve().parents[1]
HOURS = 3


@pytest.fixture(scope="module")
def spec():
    return study_scenario("paper10", HOURS)


@pytest.fixture(scope="module")
def share_runs(spec):
    return rebound.share_runs(spec, (0.001, 0.1), ("all-glb", "se-glb"))


# ------------------------------------------------------------------------------ rebound

def test_savings_rows_are_the_run_metrics(spec, share_runs):
    frame = rebound.savings_frame(share_runs)
    assert len(frame) == 4 and set(frame["policy"]) == {"all-glb", "se-glb"}
    direct = run_scenario(spec, policies=["se-glb"], mode="offline", ai_share=0.1).metrics["se-glb"]["grid_feedback"]
    row = frame[(frame["ai_share_target"] == 0.1) & (frame["policy"] == "se-glb")].iloc[0]
    assert row["emissions_predicted_savings_t"] == pytest.approx(direct["savings"]["emissions_predicted_t"], rel=1e-6)
    assert row["emissions_realized_savings_t"] == pytest.approx(direct["savings"]["emissions_realized_t"], rel=1e-6)
    assert row["energy_cost_realized_savings_usd"] == pytest.approx(direct["savings"]["energy_cost_realized_usd"], rel=1e-6)
    assert row["ai_share_realized"] == pytest.approx(direct["ai_share"], rel=1e-9)
    assert row["emissions_consequential_t"] == pytest.approx(direct["emissions_consequential_t"], rel=1e-6)
    scarce = frame.groupby("ai_share_target")["decision_scarcity_site_hours"].first()
    assert scarce[0.001] == 0 and scarce[0.1] >= 0


def test_shares_ordered_and_feedback_grows(share_runs):
    frame = rebound.savings_frame(share_runs)
    for _, g in frame.groupby("policy"):
        g = g.sort_values("ai_share_target")
        assert np.all(np.diff(g["ai_share_realized"]) > 0)
        # the gap between realized and predicted energy-cost savings, relative to the
        # prediction, grows with the share: a tiny share is first-order, a large one is not
        gap = (g["energy_cost_realized_savings_usd"] - g["energy_cost_predicted_savings_usd"]).abs() \
            / g["energy_cost_predicted_savings_usd"].abs()
        assert gap.iloc[0] < 0.02 < gap.iloc[-1]


def test_who_pays_covers_every_grid(share_runs):
    frame = rebound.who_pays_frame(share_runs)
    metrics = share_runs[0.1].metrics["se-glb"]["grid_feedback"]["savings"]["consumers_cost_change_usd"]
    rows = frame[(frame["ai_share_target"] == 0.1) & (frame["policy"] == "se-glb")].set_index("grid")
    assert set(rows.index) == set(metrics) == {"us_east", "ercot", "nevada", "eu", "singapore", "japan"}
    for grid, usd in metrics.items():
        assert rows.loc[grid, "consumers_cost_change_usd"] == pytest.approx(usd)


def test_herding_frame_matches_a_direct_run(spec):
    frame = rebound.herding_frame(spec, operators=(2,), dampings=(0.0,), policies=("all-glb",), ai_share=0.1)
    assert list(frame[["operators", "damping", "policy"]].itertuples(index=False, name=None)) == [(2, 0.0, "all-glb")]
    direct = run_scenario(spec, policies=["all-glb"], mode="online", coupling="lagged", ai_share=0.1, operators=2,
                          herding=Herding(damping=0.0)).metrics["all-glb"]["grid_feedback"]
    assert frame["load_swing_ratio"].iloc[0] == pytest.approx(direct["load_swing"])
    assert frame["emissions_gap_t"].iloc[0] == pytest.approx(
        direct["savings"]["emissions_realized_t"] - direct["savings"]["emissions_predicted_t"])


def test_demand_frame_zero_elasticity_adds_nothing(spec):
    frame = rebound.demand_frame(spec, elasticities=(1.0,), policies=("all-glb",), ai_share=0.03)
    assert set(frame["elasticity"]) == {0.0, 1.0} and set(frame["policy"]) == {"nearest", "all-glb"}
    zero = frame[frame["elasticity"] == 0.0]
    assert np.allclose(zero["requests_added_pct"], 0.0, atol=1e-9)
    assert np.allclose(zero["energy_added_mwh"], 0.0) and np.allclose(zero["emissions_added_t"], 0.0)
    one = frame[frame["elasticity"] == 1.0].set_index("policy")
    assert abs(one.loc["all-glb", "requests_added_pct"]) > 1e-4  # relocation moves the price, users answer
    assert one.loc["nearest", "requests_added_vs_nearest_pct"] == pytest.approx(0.0, abs=1e-12)
    assert one.loc["all-glb", "requests_added_vs_nearest_pct"] == pytest.approx(
        one.loc["all-glb", "requests_added_pct"] - one.loc["nearest", "requests_added_pct"])


# ------------------------------------------------------------------------------- equity

def test_pareto_front_is_monotone():
    frame = pd.DataFrame({"energy_cost_usd": [5, 1, 3, 2, 4, 2, 6],
                          "perf_cost_max_avg_ratio": [1.0, 3.0, 1.5, 2.5, 1.6, 2.0, 1.0]})
    front = equity.pareto_front(frame)
    assert list(front["energy_cost_usd"]) == [1, 2, 3, 5]
    assert list(front["perf_cost_max_avg_ratio"]) == [3.0, 2.0, 1.5, 1.0]


def test_q_sweep_rows_and_cost_of_equity(spec):
    frame = equity.q_sweep(spec, (1.0, math.inf), norms=("both",), modes=("offline", "online"))
    assert len(frame) == 4
    direct = run_scenario(with_norms(spec, q_social=math.inf, q_env=math.inf), policies=["se-glb"]).metrics["se-glb"]
    row = frame[(frame["q"] == math.inf) & (frame["mode"] == "offline")].iloc[0]
    assert row["energy_cost_usd"] == pytest.approx(direct["energy_cost_usd"]["total"], rel=1e-6)
    assert row["carbon_max_avg_ratio"] == pytest.approx(direct["carbon_t"]["max_avg"], rel=1e-6)
    offline = frame[frame["mode"] == "offline"].set_index("q")
    # equity costs energy and evens out carbon across sites
    assert offline.loc[math.inf, "energy_cost_usd"] > offline.loc[1.0, "energy_cost_usd"]
    assert offline.loc[math.inf, "carbon_max_avg_ratio"] < offline.loc[1.0, "carbon_max_avg_ratio"]
    online = frame[frame["mode"] == "online"]
    assert (online["online_to_offline_ratio"] >= 1 - 1e-4).all()
    assert offline["online_to_offline_ratio"].isna().all()
    costs = equity.cost_of_equity(frame)
    assert costs["energy_cost_increase_pct"].iloc[0] == pytest.approx(
        100 * (offline.loc[math.inf, "energy_cost_usd"] / offline.loc[1.0, "energy_cost_usd"] - 1))


def test_q_one_runs_once(spec, monkeypatch):
    calls = []
    from cosim.studies import common

    real = common.run_scenario  # the studies run through common.run_logged
    monkeypatch.setattr(common, "run_scenario", lambda *a, **k: calls.append(1) or real(*a, **k))
    frame = equity.q_sweep(spec.with_hours(1), (1.0,), norms=equity.NORMS)
    assert len(frame) == 3 and len(calls) == 1
    assert frame["energy_cost_usd"].nunique() == 1


# ------------------------------------------------------------------------------ checks

def test_checks_raise_input_errors():
    with pytest.raises(InputError, match="--hours: 0: must be at least 1"):
        study_scenario("paper10", 0)
    with pytest.raises(InputError, match="unknown policy 'nope'"):
        check_policies(["se-glb", "nope"])
    with pytest.raises(InputError, match=r"value 2: 0 is outside \(0, 10\]"):
        check_range([0.1, 0.0], "--shares", low=0.0, high=10.0, low_open=True)
    with pytest.raises(InputError, match="unknown norm"):
        equity.check_norms(["social", "spatial"])


# ------------------------------------------------------------------------------ scripts

def _script(name: str, *args, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "COSIM_DATA_DIR"}
    return subprocess.run([sys.executable, str(REPO_ROOT / "scenarios" / name), *map(str, args)], check=False,
                          cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def _bad_input(proc: subprocess.CompletedProcess, *parts: str) -> None:
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    for part in parts:
        assert part in lines[0], (part, lines[0])


def test_rebound_script_writes_its_files(tmp_path):
    proc = _script("rebound_effects.py", "--hours", 2, "--shares", "0.1", "--policies", "se-glb", "--operators", "1",
                   "--dampings", "0", "--elasticities", "0", "--out", "out", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    for name in ("savings", "who_pays", "herding", "demand"):
        assert (tmp_path / "out" / f"{name}.png").stat().st_size > 1000
        assert len(pd.read_csv(tmp_path / "out" / f"{name}.csv")) > 0
    savings = pd.read_csv(tmp_path / "out" / "savings.csv")
    assert list(savings["policy"]) == ["se-glb"] and "emissions_realized_savings_t" in savings


def test_equity_script_writes_its_files(tmp_path):
    proc = _script("equity_tradeoffs.py", "--hours", 2, "--qs", "1,inf", "--norms", "both", "--out", "out", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    frame = pd.read_csv(tmp_path / "out" / "q_sweep.csv")
    assert sorted(frame["mode"]) == ["offline", "offline", "online", "online"]
    assert np.isinf(frame["q"]).sum() == 2
    for name in ("pareto.png", "online_offline.png", "cost_of_equity.csv"):
        assert (tmp_path / "out" / name).stat().st_size > 100


@pytest.mark.parametrize("script, args, parts", [
    ("rebound_effects.py", ("--hours", 0), ("--hours", "must be at least 1")),
    ("rebound_effects.py", ("--policies", "se-glb,nope"), ("--policies", "unknown policy 'nope'")),
    ("rebound_effects.py", ("--shares", "0.1,abc"), ("--shares", "'abc' is not a number")),
    ("rebound_effects.py", ("--shares", "0"), ("--shares", "outside")),
    ("rebound_effects.py", ("--colour", "red"), ("unrecognized arguments: --colour red",)),
    ("equity_tradeoffs.py", ("--hours", 0), ("--hours",)),
    ("equity_tradeoffs.py", ("--qs", "0.5"), ("--qs", "outside [1, inf]")),
    ("equity_tradeoffs.py", ("--policy", "nope"), ("--policy", "unknown policy 'nope'")),
    ("equity_tradeoffs.py", ("--scenario", "missing.yaml"), ("missing.yaml", "not found")),
])
def test_scripts_bad_input_exit_2_one_line(tmp_path, script, args, parts):
    proc = _script(script, *args, "--out", "out", cwd=tmp_path)
    _bad_input(proc, *parts)
    assert not (tmp_path / "out").exists()


# --------------------------------------------------------------------------- regulation

def _catalog(path: Path) -> Path:
    """A small catalog with issue 6's column names: two masks x two policies x two seeds, one failed run."""
    import duckdb

    rows = []
    for mask, factor in (("latency-only", 1.0), ("eu-residency", 1.1)):
        for policy, rid in (("cost-glb", 0.3), ("se-glb", 0.2)):
            for seed in (1, 2):
                rows.append({"run_id": f"{mask}-{policy}-{seed}", "sweep_index": 10 - len(rows), "status": "ok",
                             "error": None, "mask": mask,
                             "policy": policy, "seed": seed, "energy_cost_usd": 1000.0 * factor + seed,
                             "carbon_consequential_t": 10.0 * factor, "perf_cost_max_avg": 1.5 * factor,
                             "rid": rid / factor, "elapsed_s": 1.0})
    rows.append({"run_id": "broken", "sweep_index": 0, "status": "failed", "error": "solver failure", "mask": "latency-only",
                 "policy": "se-glb", "seed": 3, "energy_cost_usd": None, "carbon_consequential_t": None,
                 "perf_cost_max_avg": None, "rid": None,
                 "elapsed_s": 0.1})
    frame = pd.DataFrame(rows)
    with duckdb.connect(str(path / "catalog.duckdb")) as con:
        con.register("frame", frame)
        con.execute("CREATE TABLE runs AS SELECT * FROM frame")
    return path


def test_regulation_tables_from_a_catalog(tmp_path):
    from cosim.studies import regulation

    runs = regulation.read_catalog(_catalog(tmp_path))
    assert len(runs) == 9 and (runs["status"] == "failed").sum() == 1
    table = regulation.mask_table(runs)
    assert len(table) == 4 and (table["runs"] == 2).all()  # the failed run is not averaged in
    assert list(table["mask"]) == ["eu-residency", "eu-residency", "latency-only", "latency-only"]  # sweep order
    row = table[(table["mask"] == "latency-only") & (table["policy"] == "se-glb")].iloc[0]
    assert row["energy_cost_usd"] == pytest.approx(1001.5)
    cost = regulation.regulation_cost(table).set_index("policy")
    assert list(cost["mask"]) == ["eu-residency", "eu-residency"] and set(cost["reference"]) == {"latency-only"}
    assert cost.loc["se-glb", "energy_cost_usd_change_pct"] == pytest.approx(100 * (1101.5 / 1001.5 - 1))
    assert cost.loc["cost-glb", "carbon_consequential_t_change_pct"] == pytest.approx(10.0)
    assert cost.loc["se-glb", "rid_change"] == pytest.approx(0.2 / 1.1 - 0.2)
    assert regulation.plot_masks(table, tmp_path / "masks.png").stat().st_size > 1000


def test_regulation_bad_catalogs(tmp_path):
    from cosim.studies import regulation

    with pytest.raises(InputError, match="not found"):
        regulation.read_catalog(tmp_path)
    runs = regulation.read_catalog(_catalog(tmp_path))
    with pytest.raises(InputError, match="table nope"):
        regulation.read_catalog(tmp_path, table="nope")
    with pytest.raises(InputError, match="column rule"):
        regulation.mask_table(runs, mask="rule")
    with pytest.raises(InputError, match="no completed run of the reference mask"):
        regulation.regulation_cost(regulation.mask_table(runs), reference="none")


_TINY_SWEEP = """\
name: tiny_masks
base: paper10
mode: offline
combine: grid
masks:
  latency-only:
    mask: {rules: []}
  same-country:
    mask:
      rules:
        - {name: same-country, kind: same-country}
axes:
  mask: [latency-only, same-country]
  policy: [cost-glb]
"""


def test_regulation_script_runs_the_batch_and_writes_its_files(tmp_path):
    sweep = tmp_path / "tiny.yaml"
    sweep.write_text(_TINY_SWEEP)
    proc = _script("regulation_masks.py", "--sweep", sweep, "--hours", 1, "--workers", 1, "--out", "out", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    masks = pd.read_csv(tmp_path / "out" / "masks.csv")
    assert list(masks["mask"]) == ["latency-only", "same-country"] and (masks["runs"] == 1).all()
    cost = pd.read_csv(tmp_path / "out" / "regulation_cost.csv")
    assert list(cost["mask"]) == ["same-country"] and cost["rid_change"].iloc[0] < 0  # locality removes relocation
    assert (tmp_path / "out" / "masks.png").stat().st_size > 1000
    assert (tmp_path / "out" / "batch" / "catalog.duckdb").is_file()


@pytest.mark.parametrize("args, parts", [
    (("--hours", 0), ("--hours", "must be at least 1")),
    (("--workers", 0), ("--workers", "outside")),
    (("--sweep", "missing.yaml"), ("missing.yaml",)),
])
def test_regulation_script_bad_input(tmp_path, args, parts):
    _bad_input(_script("regulation_masks.py", *args, "--out", "out", cwd=tmp_path), *parts)
