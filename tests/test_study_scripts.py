"""The study scripts (scenarios/*.py) on a scenario that needs a data dir (issue 17): they
take --data-dir and $COSIM_DATA_DIR as `cosim` does, name the scenario file in every
message, and print a progress line per policy run on stderr."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = REPO_ROOT / "scenarios"
EGLB = "eglb_replication.yaml"  # the file, wherever the installed package keeps it
PROGRESS = re.compile(r"^\d\d:\d\d:\d\d (.+) done \(\d+(\.\d)? s\)$")


def script(name: str, *args, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run scenarios/NAME ARGS in *cwd*, without the caller's COSIM_DATA_DIR."""
    full_env = {k: v for k, v in os.environ.items() if k != "COSIM_DATA_DIR"}
    full_env.update(env or {})
    return subprocess.run([sys.executable, str(SCRIPTS / name), *map(str, args)], cwd=cwd, env=full_env,
                          capture_output=True, text=True, timeout=300)


def progress_steps(stderr: str) -> list[str]:
    """The steps of the progress lines on stderr (``equity: both q 1 offline se-glb``)."""
    return [m.group(1) for line in stderr.splitlines() if (m := PROGRESS.match(line))]


def test_equity_runs_eglb_replication_with_data_dir(tmp_path, data_dir):
    proc = script("equity_tradeoffs.py", "--scenario", "eglb_replication", "--hours", 3, "--qs", "1,2",
                  "--norms", "both", "--no-online", "--data-dir", data_dir, "--out", tmp_path / "out", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    frame = pd.read_csv(tmp_path / "out" / "q_sweep.csv")
    assert frame["q"].tolist() == [1.0, 2.0] and (frame["energy_cost_usd"] > 0).all()
    assert progress_steps(proc.stderr) == ["equity: both q 1 offline se-glb", "equity: both q 2 offline se-glb"]


def test_without_a_data_dir_the_message_names_the_scenario_file(tmp_path):
    proc = script("equity_tradeoffs.py", "--scenario", "eglb_replication", "--hours", 3, "--qs", "1",
                  "--norms", "social", "--no-online", "--out", tmp_path / "out", cwd=tmp_path)
    assert proc.returncode == 2
    line = proc.stderr.strip()
    assert line.startswith("error: /") and line.endswith(
        f"/{EGLB}: signals.dataset: 'eglb' needs a data dir: set --data-dir or COSIM_DATA_DIR"), line
    assert "<scenario>" not in line and not (tmp_path / "out").exists()


def test_regulation_runs_a_sweep_over_eglb_replication_with_cosim_data_dir(tmp_path, data_dir):
    sweep = tmp_path / "sweep.yaml"
    sweep.write_text("name: eglb_masks\nbase: eglb_replication\n"
                     "masks:\n  none: {mask: {rules: []}}\n  local: {mask: {rules: [{name: stay-home, kind: local}]}}\n"
                     "axes:\n  mask: [none, local]\n  policy: [e-glb]\n")
    proc = script("regulation_masks.py", "--sweep", sweep, "--hours", 3, "--reference", "none", "--out", tmp_path / "out",
                  cwd=tmp_path, env={"COSIM_DATA_DIR": str(data_dir)})
    assert proc.returncode == 0, proc.stderr
    table = pd.read_csv(tmp_path / "out" / "masks.csv")
    assert sorted(table["mask"]) == ["local", "none"]
    local = table.set_index("mask").loc["local"]
    assert local["rid"] == pytest.approx(0.0)  # stay-home: nothing served away from home
    runs = [line for line in proc.stderr.splitlines() if re.match(r"^\d\d:\d\d:\d\d eglb_masks: run \S+ done \(", line)]
    assert len(runs) == 2, proc.stderr  # the batch's progress lines, passed on as they come


def test_rebound_refuses_a_scenario_without_grids_naming_its_file(tmp_path, data_dir):
    proc = script("rebound_effects.py", "--scenario", "eglb_replication", "--hours", 2, "--data-dir", data_dir,
                  "--out", tmp_path / "out", cwd=tmp_path)
    assert proc.returncode == 2
    assert re.match(rf"error: /\S*/{EGLB}: signals.source: 'eglb': the rebound study", proc.stderr.strip()), proc.stderr
    assert "signals: {source: grids}" in proc.stderr


@pytest.mark.slow  # ~20 s of CPU: the shipped nets dispatched for 3 x 2 policies
def test_rebound_runs_eglb_replication_on_the_grids_with_data_dir(tmp_path, data_dir):
    scenario = tmp_path / "eglb_grids.yaml"
    scenario.write_text("extends: eglb_replication\nname: eglb_grids\nsignals: {source: grids}\n")
    proc = script("rebound_effects.py", "--scenario", scenario, "--hours", 1, "--shares", "0.1", "--policies", "se-glb",
                  "--operators", 1, "--dampings", 0, "--elasticities", 0, "--data-dir", data_dir,
                  "--out", tmp_path / "out", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    savings = pd.read_csv(tmp_path / "out" / "savings.csv")
    assert savings["policy"].tolist() == ["se-glb"] and savings["ai_share_target"].tolist() == [0.1]
    assert progress_steps(proc.stderr) == [
        "rebound: share 0.1 nearest (baseline)", "rebound: share 0.1 se-glb",
        "rebound: herding 1 operator(s) damping 0 nearest (baseline)", "rebound: herding 1 operator(s) damping 0 se-glb",
        "rebound: elasticity 0 nearest (baseline)", "rebound: elasticity 0 nearest", "rebound: elasticity 0 se-glb",
    ]
