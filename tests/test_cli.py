"""The `cosim` command, run as a real process: exit codes, stderr lines, the output contract.

DESIGN.md, "Output contract": summary.json and per-policy Parquet tables; exit codes
0 (success), 2 (bad input: one line `file: field or row: reason`, no traceback), 1 (internal).
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from cosim.manifest import read_manifest, verify

REPO_ROOT = Path(__file__).resolve().parents[1]
PAPER10 = REPO_ROOT / "scenarios" / "paper10.yaml"
HOURS = 6
POLICIES = {"cost-glb", "all-glb", "e-glb", "se-glb"}
TIMING_KEYS = ("solver_s", "total_s")  # in each policy's "solve"; they vary run to run


def cosim(*args: str, cwd: Path, env: dict | None = None, command: list[str] | None = None) -> subprocess.CompletedProcess:
    """Run `python -m cosim.cli ARGS` (or *command* ARGS) in *cwd*, without a data dir from the caller."""
    full_env = {k: v for k, v in os.environ.items() if k != "COSIM_DATA_DIR"}
    full_env.update(env or {})
    return subprocess.run(
        [*(command or [sys.executable, "-m", "cosim.cli"]), *map(str, args)],
        cwd=cwd, env=full_env, capture_output=True, text=True, timeout=120,
    )


def assert_bad_input(proc: subprocess.CompletedProcess, *parts: str) -> str:
    """Exit 2, exactly one non-empty stderr line, no traceback; the line holds every *part*."""
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    line = lines[0]
    assert line.startswith("error: "), line
    for part in parts:
        assert part in line, (part, line)
    return line


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """`cosim run paper10 --hours 6` twice, into two folders."""
    base = tmp_path_factory.mktemp("cli-runs")
    outs = []
    for n in (1, 2):
        out = base / f"out{n}"
        proc = cosim("run", PAPER10, "--hours", HOURS, "--out", out, "--no-report", cwd=base)
        assert proc.returncode == 0, proc.stderr
        assert "Traceback" not in proc.stderr
        assert f"outputs written to {out}" in proc.stdout.replace("\n", "")
        assert proc.stdout.startswith("paper10: "), proc.stdout[:200]  # no solver banner first (highspy 1.16)
        outs.append(out)
    return outs


# ======================================================================================
# Success
# ======================================================================================


def test_validate_paper10():
    proc = cosim("validate", "scenarios/paper10.yaml", cwd=REPO_ROOT)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 1, proc.stdout
    line = lines[0]
    assert line.startswith("scenarios/paper10.yaml: ok - 'paper10': "), line
    for part in ("10 data centers", "10 user regions x 3 tiers", "3 models", "432 hours from 2022-09-22 00:00 UTC",
                 "222 of 300 (region, tier)-site pairs feasible", "demand 1,080,000,000 requests", "signals: grids"):
        assert part in line, (part, line)


def test_installed_console_script(tmp_path):
    script = Path(sys.executable).with_name("cosim")
    if not script.exists():
        pytest.skip(f"no console script next to {sys.executable}")
    proc = cosim("validate", "paper10", cwd=tmp_path, command=[str(script)])
    assert proc.returncode == 0, proc.stderr
    assert "ok - 'paper10'" in proc.stdout


def test_validate_csv_scenario_with_data_dir(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    times = pd.date_range("2022-09-22", periods=3, freq="h", tz="UTC").strftime("%Y-%m-%dT%H:%M:%SZ")
    for name in ("price", "carbon", "wue"):
        (data / f"{name}.csv").write_text("time,Texas\n" + "".join(f"{t},1.5\n" for t in times))
    (data / "demand.csv").write_text("time,south\n" + "".join(f"{t},10\n" for t in times))
    scenario = tmp_path / "csv.yaml"
    scenario.write_text(
        "name: csv\nhours: 3\n"
        "models: [{name: m, energy_wh_per_request: 1, resources_per_request: 1, quality_score: 1}]\n"
        "datacenters: [{name: Texas, capacity_per_hour: 100}]\n"
        "regions: [{name: south}]\n"
        "demand: {source: csv, file: demand.csv}\n"
        "signals: {source: csv, price_file: price.csv, carbon_file: carbon.csv, wue_file: wue.csv}\n"
    )
    assert cosim("validate", scenario, "--data-dir", data, cwd=tmp_path).returncode == 0
    assert cosim("validate", scenario, cwd=tmp_path, env={"COSIM_DATA_DIR": str(data)}).returncode == 0
    assert_bad_input(cosim("validate", scenario, cwd=tmp_path), f"{scenario}: signals.price_file: ", "needs a data dir", "--data-dir")
    (data / "wue.csv").write_text("time,Texas\n" + f"{times[0]},nan\n")
    assert_bad_input(cosim("validate", scenario, "--data-dir", data, cwd=tmp_path),
                     str(data / "wue.csv"), "row 2, column Texas", "not a finite number")


def test_summary_contract(runs):
    summary = json.loads((runs[0] / "summary.json").read_text())
    assert summary["scenario"] == "paper10"
    assert set(summary["policies"]) == POLICIES
    for name, m in summary["policies"].items():
        assert set(m["energy_cost_usd"]) >= {"total", "avg"}, name
        for key in ("water_m3", "carbon_t", "perf_cost"):
            assert set(m[key]) >= {"avg", "max", "max_avg"}, (name, key)
            assert m[key]["max"] >= m[key]["avg"] >= 0, (name, key)
        assert set(m["perf_score"]) >= {"avg", "min"}, name
        assert m["perf_score"]["avg"] >= m["perf_score"]["min"] > 0, name
        for key in ("unserved_requests", "served_requests", "rid"):
            assert isinstance(m[key], (int, float)), (name, key)
        assert m["served_requests"] > 0 and m["unserved_requests"] >= 0
        assert 0 <= m["rid"] <= 1
        # energy cost: total over sites = 10 x the average over sites
        assert m["energy_cost_usd"]["total"] == pytest.approx(10 * m["energy_cost_usd"]["avg"])
        # per tier: the tiers' requests add up to the policy's, and interactive relocates least
        tiers = m["per_tier"]
        assert set(tiers) == {"interactive", "standard", "batch"}
        assert sum(t["served_requests"] for t in tiers.values()) == pytest.approx(m["served_requests"], rel=1e-9)
        assert tiers["interactive"]["rid"] <= tiers["batch"]["rid"]
    assert summary["tiers"] == ["interactive", "standard", "batch"]
    # paper10's masks by hand (`cosim masks paper10`): Singapore's and Japan's interactive users
    # reach only their own site; batch and the standard users whose 200 ms reach every site
    # (Belgium, Netherlands, Germany, Denmark, Japan) are energy-oriented; the rest regional
    demand = pd.read_parquet(runs[0] / "se-glb" / "demand.parquet")
    by_user = demand.groupby(["user_region", "tier"], observed=True)["requests"].sum() / demand["requests"].sum()
    local = by_user[("Singapore", "interactive")] + by_user[("Japan", "interactive")]
    everywhere = by_user.xs("batch", level="tier").sum() + sum(
        by_user[(r, "standard")] for r in ("Belgium", "Netherlands", "Germany", "Denmark", "Japan"))
    layers = summary["relocatable"]["layers"]
    assert layers == pytest.approx({"local": local, "regional": 1 - local - everywhere, "energy_oriented": everywhere})
    assert 0 <= summary["relocatable"]["break_even"]["share"] <= 1


def test_parquet_contract(runs):
    out = runs[0]
    summary = json.loads((out / "summary.json").read_text())
    hours = pd.date_range("2022-09-22", periods=HOURS, freq="h", tz="UTC")
    for name in POLICIES:
        folder = out / name
        alloc = pd.read_parquet(folder / "allocations.parquet")
        sites = pd.read_parquet(folder / "sites.parquet")
        demand = pd.read_parquet(folder / "demand.parquet")

        assert set(alloc.columns) >= {"time", "user_region", "datacenter", "model", "tier", "requests"}
        assert set(sites.columns) >= {"time", "datacenter", "energy_kwh", "facility_kwh", "price_usd_per_mwh",
                                      "carbon_kg_per_kwh", "wue_l_per_kwh"}
        assert set(demand.columns) >= {"time", "user_region", "tier", "requests", "unserved"}

        for frame in (alloc, sites, demand):
            assert isinstance(frame["time"].dtype, pd.DatetimeTZDtype), frame["time"].dtype
            assert str(frame["time"].dt.tz) == "UTC"
            assert set(frame["time"]) <= set(hours)

        assert len(alloc) > 0 and (alloc["requests"] > 0).all()
        assert not alloc.duplicated(["time", "user_region", "datacenter", "model", "tier"]).any()
        assert len(sites) == 10 * HOURS
        assert not sites.duplicated(["time", "datacenter"]).any()
        assert set(sites["time"]) == set(hours)
        assert len(demand) == 10 * 3 * HOURS  # regions x tiers x hours
        assert (demand["requests"] > 0).all() and (demand["unserved"] >= 0).all()
        assert (sites["facility_kwh"] >= sites["energy_kwh"]).all()

        m = summary["policies"][name]
        served, unserved = m["served_requests"], m["unserved_requests"]
        assert demand["requests"].sum() == pytest.approx(served + unserved, rel=1e-9)
        assert alloc["requests"].sum() == pytest.approx(served, rel=1e-9)
        assert demand["unserved"].sum() == pytest.approx(unserved, rel=1e-9, abs=1e-6)
        # and hour by hour, user by user (region x tier): served + unserved = demand
        served_jt = alloc.groupby(["time", "user_region", "tier"], observed=True)["requests"].sum()
        d = demand.set_index(["time", "user_region", "tier"])
        gap = d["requests"] - d["unserved"] - served_jt.reindex(d.index, fill_value=0.0)
        assert (gap.abs() <= 1e-6 * d["requests"]).all()


VARYING_PROVENANCE = ("written_at", "command_line")  # when summary.json was written, and the --out it was given


def _without_timing(text: str) -> list[str]:
    """summary.json's lines without the timing lines, the varying provenance lines and the
    top-level `timings` object (measured seconds and counts) whole."""
    pattern = re.compile(r'^\s*"(' + "|".join((*TIMING_KEYS, *VARYING_PROVENANCE)) + ')":')
    kept, block_indent = [], None
    for line in text.splitlines():
        if block_indent is not None:
            if re.match(block_indent + r"\},?$", line):
                block_indent = None
            continue
        opened = re.match(r'^(\s*)"timings": \{$', line)
        if opened:
            block_indent = opened.group(1)
        elif not pattern.match(line):
            kept.append(line)
    return kept


def test_same_run_twice_same_outputs(runs):
    """Determinism (docs/reliability.md): the same scenario and seed give byte-identical
    Parquet files and the same summary.json byte for byte apart from the timing lines and
    the provenance's written_at and command line (each on one line)."""
    a, b = (out / "summary.json" for out in runs)
    text_a, text_b = a.read_text(), b.read_text()
    assert _without_timing(text_a) == _without_timing(text_b)  # byte for byte, timing lines aside
    dropped = json.loads(text_a)
    for m in dropped["policies"].values():
        assert set(TIMING_KEYS) <= set(m["solve"])  # the lines removed above are really the timing ones
    assert set(VARYING_PROVENANCE) <= set(dropped["provenance"])  # the two other lines that vary
    timings_lines = len(json.dumps(dropped["timings"], indent=2).splitlines())
    assert len(text_a.splitlines()) - len(_without_timing(text_a)) == \
        2 * text_a.count('"solve": {') + 2 + timings_lines  # only those
    command_lines = [json.loads(t)["provenance"]["command_line"] for t in (text_a, text_b)]
    assert [c.replace(str(out), "OUT") for c, out in zip(command_lines, runs)] == [command_lines[0].replace(str(runs[0]), "OUT")] * 2
    for name in POLICIES:
        for table in ("allocations", "sites", "demand"):
            first, second = (out / name / f"{table}.parquet" for out in runs)
            assert first.read_bytes() == second.read_bytes(), (name, table)  # byte-identical files
    manifests = [read_manifest(out) for out in runs]
    assert {k: v for k, v in manifests[0].items() if k != "summary.json"} == \
        {k: v for k, v in manifests[1].items() if k != "summary.json"}  # the same files, sizes and digests
    assert all(verify(out) == [] for out in runs)


# ======================================================================================
# Bad input: exit 2, one line, no traceback
# ======================================================================================


def test_missing_scenario_file(tmp_path):
    missing = tmp_path / "missing.yaml"
    assert_bad_input(cosim("run", missing, "--hours", 1, cwd=tmp_path), str(missing), "file", "not found")


def test_unknown_policy(tmp_path):
    proc = cosim("run", PAPER10, "--hours", 1, "--policy", "nope", "--out", tmp_path / "o", cwd=tmp_path)
    assert_bad_input(proc, "--policy", "unknown policy 'nope'")
    assert not (tmp_path / "o").exists()


def test_scenario_with_unknown_field(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(PAPER10.read_text().replace("seed: 2024", "seed: 2024\nseeds: 3"))
    assert_bad_input(cosim("run", path, "--hours", 1, "--out", tmp_path / "o", cwd=tmp_path),
                     f"{path}:10: seeds: unknown field 'seeds' (did you mean seed?)")


def test_hours_zero(tmp_path):
    assert_bad_input(cosim("run", PAPER10, "--hours", 0, cwd=tmp_path), "--hours")


def test_bad_mode(tmp_path):
    assert_bad_input(cosim("run", PAPER10, "--hours", 1, "--mode", "sideways", cwd=tmp_path),
                     "--mode", "sideways", "offline, online")


def test_unknown_option(tmp_path):
    assert_bad_input(cosim("run", "--colour", "red", cwd=tmp_path), "--colour")


def test_yaml_syntax_error(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("name: broken\nhours: 4\n  seed: 3\n")
    assert_bad_input(cosim("validate", path, cwd=tmp_path), f"{path}:3: yaml syntax: not valid YAML")


def test_brackets_in_a_message_are_printed(tmp_path):
    missing = tmp_path / "[bold]x[/bold].yaml"
    assert_bad_input(cosim("validate", missing, cwd=tmp_path), str(missing))


def test_the_cli_loads_no_heavy_module_before_a_command_needs_it():
    """`cosim --help` stays fast: importing cosim.cli loads neither the runner's solvers and
    grids nor pandas (each command imports what it uses); its default scenario is
    cosim.scenario_files' own."""
    import subprocess
    import sys

    from cosim import cli
    from cosim.scenario_files import DEFAULT_SCENARIO

    assert cli.DEFAULT_SCENARIO == DEFAULT_SCENARIO
    heavy = ("cvxpy", "pandapower", "pandas", "cosim.glb", "cosim.runner", "cosim.instance", "highspy", "clarabel")
    code = "import sys, cosim.cli; print(' '.join(m for m in " + repr(heavy) + " if m in sys.modules))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert loaded == []
