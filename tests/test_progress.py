"""Progress and attribution (issue 17): `cosim batch` without a terminal logs a line per run,
warnings raised in a run name its run, policy and hour, `cosim masks` shows a scenario a
rule leaves infeasible, and `cosim run --help` lists the choices of --mode and --coupling."""
from __future__ import annotations

import io
import logging
import os
import re
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from cosim import cosimulation
from cosim.progress import LOGGER, PolicySteps
from cosim.runner import run_scenario
from cosim.scenario_files import load_scenario

SMALL = """\
name: small
hours: 3
start: 2022-09-22T00:00:00Z
models:
  - {name: llm, energy_wh_per_request: 2, resources_per_request: 1, quality_score: 0}
datacenters:
  - {name: Virginia, capacity_per_hour: 100}
  - {name: Georgia, capacity_per_hour: 100}
regions:
  - {name: east, local_datacenter: Virginia}
  - {name: south, local_datacenter: Georgia}
demand: {requests_per_hour: 20}
"""


def cosim(*args, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "COSIM_DATA_DIR"}
    env["COLUMNS"] = "200"
    return subprocess.run([sys.executable, "-m", "cosim.cli", *map(str, args)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=180)


def test_batch_without_a_terminal_logs_one_line_per_run(tmp_path):
    (tmp_path / "small.yaml").write_text(SMALL)
    sweep = tmp_path / "sweep.yaml"
    sweep.write_text(f"name: tiny\nbase: {tmp_path / 'small.yaml'}\naxes:\n  policy: [cost-glb, e-glb]\n")
    proc = cosim("batch", sweep, "--hours", 3, "--workers", 1, "--out", tmp_path / "b", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stderr.strip().splitlines()
    runs = [line for line in lines if re.fullmatch(r"\d\d:\d\d:\d\d tiny: run \S+ done \(\d+\.\d s; [12] of 2\)", line)]
    assert len(runs) == 2, proc.stderr
    assert {re.search(r"run (\S+) ", line).group(1).split("_")[0] for line in runs} == {"cost-glb", "e-glb"}
    assert any(re.fullmatch(r"\d\d:\d\d:\d\d tiny: 2 run\(s\) to run, 0 done before", line) for line in lines), lines


def test_policy_steps_log_each_policy_with_its_elapsed_time():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    LOGGER.addHandler(handler)
    old_level = LOGGER.level
    LOGGER.setLevel(logging.INFO)
    try:
        steps = PolicySteps("equity: social q 2")
        steps.on_policy("nearest (baseline)")
        steps.on_policy("se-glb")
        steps.close()
        steps.close()  # nothing running: no line
    finally:
        LOGGER.removeHandler(handler)
        LOGGER.setLevel(old_level)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    assert re.fullmatch(r"equity: social q 2 nearest \(baseline\) done \(\d\.\d s\)", lines[0])
    assert re.fullmatch(r"equity: social q 2 se-glb done \(\d\.\d s\)", lines[1])


def test_a_warning_in_a_run_names_the_run_policy_and_hour(tmp_path, monkeypatch):
    (tmp_path / "small.yaml").write_text(SMALL)
    spec = load_scenario(tmp_path / "small.yaml")
    emit = cosimulation.CoSimulation._emit

    def noisy(self, k):
        warnings.warn("Solution may be inaccurate", UserWarning, stacklevel=1)
        return emit(self, k)

    monkeypatch.setattr(cosimulation.CoSimulation, "_emit", noisy)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run_scenario(spec, policies=["e-glb"], mode="online", label="run-7")
    messages = [str(w.message) for w in caught if issubclass(w.category, UserWarning)]
    assert messages == [f"run-7: policy e-glb, hour 2022-09-22T0{h}:00Z: Solution may be inaccurate" for h in range(3)]


def invoke(*args) -> object:
    """`cosim ARGS` in this process (typer's runner: no interpreter start-up per test)."""
    from typer.testing import CliRunner

    from cosim.cli import app

    return CliRunner().invoke(app, [str(a) for a in args], env={"COLUMNS": "200"})


def test_masks_shows_a_scenario_a_rule_leaves_infeasible_and_names_the_rule(tmp_path):
    path = tmp_path / "nowhere.yaml"
    path.write_text(SMALL + "mask:\n  rules:\n"
                    "    - {name: embargo, kind: deny, regions: [south], datacenters: [Virginia, Georgia]}\n")
    result = invoke("masks", path)
    assert result.exit_code == 0, result.output
    out = result.output
    assert "2 of 4 (region, tier, data center) pairs feasible" in out
    assert ("infeasible: region 'south', tier 'default': no data center may serve it "
            "(legal: embargo excludes 2)") in out
    assert re.search(r"south\s+legal\s+legal", out), out  # the table is shown
    refused = invoke("validate", path)  # a run still refuses it
    assert "no data center may serve it" in str(refused.exception)


def test_run_help_lists_the_choices_of_mode_and_coupling():
    out = invoke("run", "--help").output
    assert re.search(r"--mode\s+\[offline\|online\]", out), out
    assert re.search(r"--coupling\s+\[open\|lagged\|iterate\]", out), out
    bad = invoke("run", "--mode", "sideways", "--hours", 1)  # still cosim.options' InputError (exit 2, one line)
    assert str(bad.exception) == "--mode: sideways: must be one of offline, online"


@pytest.mark.parametrize(("command", "marked"), [("batch", "sweep"), ("validate", "scenario")])
def test_help_marks_required_arguments(command, marked):
    out = invoke(command, "--help").output
    row = next(line for line in out.splitlines() if re.search(rf"\s{marked}\s+<", line))
    assert re.search(rf"\*\s+{marked}\s", row) and "[required]" in row, out
