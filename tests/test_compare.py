"""`cosim compare` on real runs, and what summary.json records for it (issue 17, items 3 and 7).

- two short runs of paper10 (offline cost-glb; online cost-glb and se-glb at an AI share)
  compared: the printed and CSV numbers are those of each summary.json, the settings that
  differ are named and the equal ones are not; the figure is drawn;
- a batch folder written through cosim.batch's own run function (run_one) and catalog;
- summary.json's options, provenance and `nearest` baseline; an older summary.json without
  options compares on what it has;
- bad input: exit 2, one line naming the folder.
"""
from __future__ import annotations

import json
import math
import re
import shutil
import textwrap
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cosim import batch as batch_
from cosim.catalog import Catalog
from cosim.cli import _number, _row
from cosim.compare import check_figure, compare, find_runs
from cosim.errors import InputError
from cosim.glb import make_policy, solve_offline
from cosim.instance import build_instance
from cosim.metrics import FEEDBACK_ROWS, TABLE1_ROWS, metric_at, policy_metrics
from cosim.runner import run_scenario
from cosim.scenario_files import load_scenario
from cosim.sweep import load_sweep
from tests.test_cli import PAPER10, assert_bad_input, cosim

HOURS = 6


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    """A: offline cost-glb; B: online cost-glb and se-glb at AI share 0.05; 6 hours each."""
    base = tmp_path_factory.mktemp("compare")
    spec = load_scenario(PAPER10).with_hours(HOURS)
    a, b = base / "A", base / "B"
    run_scenario(spec, policies=["cost-glb"], out=a, source=PAPER10)
    run_scenario(spec, policies=["cost-glb", "se-glb"], mode="online", ai_share=0.05, out=b, source=PAPER10)
    return a, b


def _summary(folder: Path) -> dict:
    return json.loads((folder / "summary.json").read_text())


def _line(stdout: str, label: str) -> list[str]:
    """The cells after *label* on its line of a printed table."""
    for line in stdout.splitlines():
        if line.strip().startswith(label + "  "):
            return line.strip()[len(label):].split()
    raise AssertionError(f"no line '{label}' in\n{stdout}")


def test_compare_prints_and_writes_each_summarys_numbers_and_names_what_differs(two_runs, tmp_path):
    a, b = two_runs
    proc = cosim("compare", a, b, "--csv", tmp_path / "c.csv", "--figure", tmp_path / "c.png", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    header = proc.stdout.splitlines()[0]
    named = header.partition("differ in: ")[2].split(", ")
    assert set(named) == {"mode", "coupling", "ai_share"}, header
    for same in ("scenario", "hours", "start", "seed", "operators", "damping", "scenario_sha256", "policies"):
        assert same not in named
    summaries = {"A": _summary(a), "B": _summary(b)}
    columns = [("A", "cost-glb"), ("B", "cost-glb"), ("B", "se-glb")]
    for label, path in TABLE1_ROWS:
        values = [metric_at(summaries[run]["policies"][policy], path) for run, policy in columns]
        if all(v is None for v in values):
            continue
        assert _line(proc.stdout, label) == _row(values), label
    for label, path in FEEDBACK_ROWS:
        values = [metric_at(summaries[run]["policies"][policy]["grid_feedback"], path) for run, policy in columns]
        if all(v is None for v in values):
            continue
        assert _line(proc.stdout, label) == _row(values), label
    assert _line(proc.stdout, "mode") == ["offline", "online", "online"]
    total = summaries["A"]["policies"]["cost-glb"]["energy_cost_usd"]["total"]
    assert _line(proc.stdout, "energy cost total (USD)")[0] == f"{total:,.0f}"
    assert not re.search(r"\de-1\d|(^|\s)-0(\.0*)?(\s|$)", proc.stdout, re.M), proc.stdout  # no round-off noise, no -0

    frame = pd.read_csv(tmp_path / "c.csv", float_precision="round_trip")
    assert set(frame.columns) == {"run", "folder", "policy", "section", "metric", "path", "value", "mode", "coupling",
                                  "ai_share"}
    assert len(frame) == len(columns) * (len(TABLE1_ROWS) + len(FEEDBACK_ROWS))
    for row in frame.itertuples():
        value = metric_at(summaries[row.run]["policies"][row.policy], tuple(row.path.split(".")))
        if value is None:
            assert math.isnan(row.value), row
        else:
            assert row.value == value, row  # the number itself, not a rounding of it
    assert set(frame.loc[frame["run"] == "B", "ai_share"]) == {0.05} and frame.loc[frame["run"] == "A", "ai_share"].isna().all()
    png = (tmp_path / "c.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20_000


def test_policy_filter_keeps_only_that_policy(two_runs, tmp_path):
    a, b = two_runs
    result = compare(find_runs([a, b]), ["se-glb"])
    assert result.columns == [("B", "se-glb")]
    assert list(result.section("table1").columns) == ["B/se-glb"]
    with pytest.raises(InputError, match="--policy: value 1: 'nope' is in none of the runs"):
        compare(find_runs([a, b]), ["nope"])


def test_summary_records_options_provenance_and_the_baseline(two_runs):
    a, b = two_runs
    sa, sb = _summary(a), _summary(b)
    assert sa["options"] == {"policies": ["cost-glb"], "mode": "offline", "coupling": "open", "online_algorithm": None,
                             "ai_share": None, "operators": 1, "damping": 0.0, "max_shift": None, "sequential": False,
                             "elasticity": None, "strict": False, "offline_method": "monolithic", "workers": None,
                             "scheduler": None}
    assert sb["options"]["coupling"] == "lagged" and sb["options"]["ai_share"] == 0.05
    prov = sa["provenance"]
    assert prov["scenario_file"] == str(PAPER10) and prov["seed"] == 2024 and prov["gridshift_version"]
    assert re.fullmatch(r"[0-9a-f]{64}", prov["scenario_sha256"]) and prov["scenario_sha256"] == sb["provenance"]["scenario_sha256"]
    assert prov["written_at"].endswith("+00:00")
    # nearest was not asked for, yet its metrics are written: the savings are against them
    base = sa["baseline"]
    assert base["policy"] == "nearest" and "nearest" not in sa["policies"]
    gf, bgf = sa["policies"]["cost-glb"]["grid_feedback"], base["metrics"]["grid_feedback"]
    assert gf["savings"]["emissions_predicted_t"] == pytest.approx(bgf["emissions_first_order_t"] - gf["emissions_first_order_t"])
    assert gf["savings"]["emissions_realized_t"] == pytest.approx(bgf["emissions_consequential_t"] - gf["emissions_consequential_t"])
    assert base["metrics"]["energy_cost_usd"]["total"] == pytest.approx(bgf["energy_cost_realized_usd"])
    assert base["metrics"]["rid"] == 0.0  # no relocation


def test_rebound_without_a_predicted_saving_is_null_with_its_reason(two_runs):
    """cost-glb chases price: it was predicted to emit more than nearest. The old rebound,
    1 - realized / predicted, printed 4e-12 there (as if it had saved as predicted)."""
    savings = _summary(two_runs[0])["policies"]["cost-glb"]["grid_feedback"]["savings"]
    assert savings["emissions_predicted_t"] < 0
    assert savings["emissions_rebound"] is None
    assert savings["emissions_rebound_reason"].startswith("not defined: a loss predicted")


def test_table1_says_per_site_and_has_the_total():
    """The energy cost row was "energy cost avg (USD)": the average over sites of their bills,
    read as a total by a careful user. (The printed total: the first test above.)"""
    labels = dict((path, label) for label, path in TABLE1_ROWS)
    assert "per site" in labels[("energy_cost_usd", "avg")] and "total" in labels[("energy_cost_usd", "total")]
    assert "per site" in labels[("carbon_t", "avg")] and "per region" in labels[("perf_cost", "avg")]


def test_a_summary_without_options_compares_on_what_it_has(two_runs, tmp_path):
    old = tmp_path / "old"
    old.mkdir()
    summary = _summary(two_runs[0])
    del summary["options"], summary["provenance"], summary["baseline"]
    (old / "summary.json").write_text(json.dumps(summary))
    result = compare(find_runs([old, two_runs[1]]))
    assert set(result.differing) == {"mode", "coupling", "ai_share"}
    assert result.unrecorded["operators"] == ["old"]


def test_batch_folder(tmp_path):
    """Two 3-hour runs of a sweep over the mask, written by cosim.batch.run_one and recorded
    in the catalog as `cosim batch` records them."""
    sweep_file = tmp_path / "sweep.yaml"
    sweep_file.write_text("base: paper10\nhours: 3\n" + textwrap.dedent("""
        masks:
          latency-only: {}
          eu-residency: {mask: {rules: [{kind: jurisdiction, jurisdiction: EU}]}}
        axes:
          mask: [latency-only, eu-residency]
          policy: [se-glb]
        """))
    sweep = load_sweep(sweep_file)
    out = tmp_path / "batch"
    runs_dir = out / batch_.RUNS
    runs_dir.mkdir(parents=True)
    with Catalog(out) as catalog:
        for run in sweep.runs:
            outcome = batch_.run_one(run, str(runs_dir), None)
            assert outcome["status"] == "ok", outcome["error"]
            catalog.record(batch_._row(sweep, run, outcome, runs_dir))
    result = compare(find_runs([out]))
    ids = [run.run_id for run in sweep.runs]
    assert result.columns == [(ids[0], "se-glb"), (ids[1], "se-glb")]
    assert "swept mask" in result.differing and "scenario_sha256" in result.differing
    assert "hours" not in result.differing and "mode" not in result.differing
    table = result.section("table1")
    for n, run_id in enumerate(ids):
        summary = _summary(runs_dir / run_id)
        assert table.loc["carbon per site, avg (t)"].iloc[n] == summary["policies"]["se-glb"]["carbon_t"]["avg"]
    proc = cosim("compare", out, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "the runs differ in: " in proc.stdout and "swept mask" in proc.stdout.splitlines()[0]


def _refused(folders: list[Path]) -> str:
    with pytest.raises(InputError) as err:
        compare(find_runs(folders))
    return str(err.value)


def test_bad_folders_are_refused_naming_the_folder(two_runs, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert _refused([empty]) == f"{empty}: folder: not a run folder (no summary.json) nor a batch folder (no catalog.duckdb)"
    assert _refused([tmp_path / "nowhere"]) == f"{tmp_path / 'nowhere'}: folder: no such folder"
    broken = tmp_path / "broken"
    shutil.copytree(two_runs[0], broken)
    (broken / "summary.json").write_text('{"scenario": "paper10",\n "policies": ')
    assert _refused([two_runs[0], broken]).startswith(f"{broken / 'summary.json'}: line 2: not valid JSON")
    (broken / "summary.json").write_text('{"scenario": "paper10"}')
    assert _refused([broken]) == f"{broken / 'summary.json'}: policies: missing or empty: not a summary.json of `cosim run`"
    (broken / "summary.json").write_bytes(b"\xff\xfe{")
    assert _refused([broken]) == f"{broken / 'summary.json'}: file: not text (UTF-8)"
    with pytest.raises(InputError, match=r"^--figure: .*c\.jpg: a \.png file$"):
        check_figure(tmp_path / "c.jpg")


def test_bad_input_exits_2_with_one_line_and_writes_nothing(two_runs, tmp_path):
    proc = cosim("compare", two_runs[0], tmp_path / "nowhere", "--csv", tmp_path / "c.csv", cwd=tmp_path)
    assert_bad_input(proc, str(tmp_path / "nowhere"), "no such folder")
    assert not (tmp_path / "c.csv").exists()


def test_a_batch_without_completed_runs_is_refused(tmp_path):
    sweep_file = tmp_path / "sweep.yaml"
    sweep_file.write_text("base: paper10\nhours: 3\naxes:\n  policy: [se-glb]\n")
    sweep = load_sweep(sweep_file)
    out = tmp_path / "batch"
    with Catalog(out) as catalog:
        run = sweep.runs[0]
        catalog.record(batch_._row(sweep, run, {"status": "failed", "error": "RuntimeError: x", "metrics": {}}, out / "runs"))
    assert _refused([out]) == f"{out / 'catalog.duckdb'}: runs: no completed run in this batch (1 recorded)"


# ------------------------------------------------------------------ round-off and perf cost


def test_round_off_prints_as_zero():
    assert _number(-0.0) == "0" and _number(2.2e-14) == "0" and _number(-3e-10) == "0"
    assert _number(4.169e-12) == "0"  # the emissions rebound `cosim run --hours 6 --policy cost-glb` printed
    assert _number(1e-5) == "1e-05" and _number(-0.6963) == "-0.6963" and _number(-1234.5) == "-1,234"
    # relative to the row: 1e-6 beside 10,000 is round-off, beside 1 it is not
    assert _row([10_000.0, 1e-6, None]) == ["10,000", "0", "-"]
    assert _row([1.0, 1e-6]) == ["1", "1e-06"]
    assert _row([float("nan"), float("inf"), -2.5e-13]) == ["-", "inf", "0"]


def test_perf_cost_over_all_demand_counts_dropped_requests_as_the_worst_model():
    """Drop half of one region's requests: SE-GLB's perf_cost (loss over served / demand) does
    not rise, the all-demand one rises as if the worst model had served them."""
    spec = load_scenario(PAPER10).with_hours(2)
    inst = build_instance(spec, source=PAPER10)
    sol = solve_offline(inst, make_policy("all-glb", spec.policy))
    j0 = 0
    on = sol.arcs.j == j0
    dropped = replace(sol, x=np.where(on[:, None], sol.x.toarray() * 0.5, sol.x.toarray()), u=sol.u.copy())
    dropped.u[j0] += 0.5 * (1 - sol.u[j0])
    before, after = policy_metrics(inst, sol), policy_metrics(inst, dropped)
    assert after["unserved_requests"] > before["unserved_requests"] + 1
    r0 = inst.user_region[j0]
    region = inst.regions[r0]
    assert after["per_region"][region]["perf_cost"] <= before["per_region"][region]["perf_cost"] + 1e-12
    demand_r = inst.region_demand.sum(axis=1)[r0]
    unserved_r = after["unserved_requests"] - before["unserved_requests"]
    worst = float(inst.quality_loss.max())
    expected = after["per_region"][region]["perf_cost"] + worst * unserved_r / demand_r
    n_regions = len(inst.regions)
    assert after["perf_cost_all_demand"]["avg"] == pytest.approx(
        before["perf_cost_all_demand"]["avg"] + (expected - before["per_region"][region]["perf_cost"]) / n_regions)
    assert after["perf_cost_all_demand"]["avg"] > after["perf_cost"]["avg"]
    assert before["perf_cost_all_demand"] == pytest.approx(before["perf_cost"])  # nothing unserved: the same
    assert after["perf_score_all_demand"]["avg"] < before["perf_score_all_demand"]["avg"]
