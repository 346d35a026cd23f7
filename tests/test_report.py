"""`cosim report DIR` (cosim.report): comparison tables (CSV, Markdown) and PNG figures
per mask rule set and policy, from a catalog written by cosim.catalog (rows with known
values, so every cell can be checked), and refusals of what cannot be reported."""
from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

from cosim.catalog import CATALOG, Catalog
from cosim.report import NO_MASK, write_report
from tests.test_cli import assert_bad_input, cosim

PNG = b"\x89PNG\r\n\x1a\n"
FIGURES = ("equity.png", "energy_cost.png", "carbon.png", "rid.png")


def row(run_id: str, mask: str | None, policy: str, seed: int, cost: float, **extra) -> dict:
    return {"run_id": run_id, "status": "ok", "sweep": "s", "scenario": "paper10", "hours": 6, "mask": mask,
            "policy": policy, "mode": "offline", "seed": seed, "energy_cost_usd": cost, "carbon_attributional_t": cost / 100,
            "carbon_consequential_t": cost / 80, "energy_cost_max_avg": 1.5, "carbon_max_avg": 1.2, "water_max_avg": 1.1,
            "perf_cost_max_avg": 2.0, "rid": 0.25, "unserved_requests": 0.0,
            "started_at": datetime(2026, 1, 1, tzinfo=UTC), **extra}


@pytest.fixture
def catalog_dir(tmp_path) -> Path:
    """Two masks x two policies, two seeds each (averaged), and one failed run."""
    folder = tmp_path / "batch"
    rows = []
    n = 0
    for mask in ("none", "eu-residency"):
        for policy in ("cost-glb", "se-glb"):
            for seed in (1, 2):
                cost = 1000.0 * (n // 2 + 1) + (100.0 if seed == 2 else 0.0)
                rows.append(row(f"r{n}", mask, policy, seed, cost, sweep_index=n))
                n += 1
    rows.append({"run_id": "broken", "status": "failed", "sweep": "s", "mask": "none", "policy": "e-glb", "sweep_index": n,
                 "error": "InputError: x.csv: file: not found\nsecond line"})
    with Catalog(folder) as catalog:
        for r in rows:
            catalog.record(r)
    return folder


def test_comparison_is_the_mean_per_mask_and_policy_in_sweep_order(catalog_dir):
    report = write_report(catalog_dir)
    assert report.folder == catalog_dir / "report"
    assert report.failed == 1 and report.averaged_over == ["seed"]
    frame = pd.read_csv(catalog_dir / "report" / "comparison.csv")
    assert list(frame[["mask", "policy", "n_runs"]].itertuples(index=False, name=None)) == [
        ("none", "cost-glb", 2), ("none", "se-glb", 2), ("eu-residency", "cost-glb", 2), ("eu-residency", "se-glb", 2)]
    assert frame["energy_cost_usd"].tolist() == [1050.0, 2050.0, 3050.0, 4050.0]
    assert frame["carbon_consequential_t"].tolist() == pytest.approx([1050 / 80, 2050 / 80, 3050 / 80, 4050 / 80])
    assert frame["carbon_attributional_t"].tolist() == pytest.approx([10.5, 20.5, 30.5, 40.5])
    runs = pd.read_csv(catalog_dir / "report" / "runs.csv")
    assert len(runs) == 9 and set(runs["status"]) == {"ok", "failed"}


def test_markdown_tables_and_failed_runs(catalog_dir):
    write_report(catalog_dir)
    text = (catalog_dir / "report" / "report.md").read_text()
    assert "8 completed run(s), 1 failed" in text
    assert "mean over the runs that differ in: seed" in text
    section = text.split("## Energy cost (USD, horizon total over sites)")[1].split("##")[0]
    assert "| mask \\ policy | cost-glb | se-glb |" in section
    assert "| none | 1,050 | 2,050 |" in section and "| eu-residency | 3,050 | 4,050 |" in section
    for title in ("Carbon, attributional", "Carbon, consequential", "Equity: energy cost max/avg", "RID"):
        assert f"## {title}" in text, title
    assert "| broken | InputError: x.csv: file: not found |" in text  # first line of the error


def test_figures_are_pngs(catalog_dir, tmp_path):
    out = tmp_path / "elsewhere"
    report = write_report(catalog_dir, out)
    assert report.folder == out and not (catalog_dir / "report").exists()
    for name in FIGURES:
        data = (out / name).read_bytes()
        assert data.startswith(PNG) and len(data) > 10_000, name


def test_runs_without_a_mask_axis_are_the_base_mask(tmp_path):
    with Catalog(tmp_path) as catalog:
        catalog.record(row("a", None, "nearest", 0, 500.0))
    frame = write_report(tmp_path).comparison
    assert frame[["mask", "policy"]].values.tolist() == [[NO_MASK, "nearest"]]


def test_cli_report(catalog_dir):
    proc = cosim("report", catalog_dir, cwd=catalog_dir)
    assert proc.returncode == 0, proc.stderr
    out = " ".join(proc.stdout.split())
    assert "note: cells average over runs differing in seed" in out
    assert f"report written to {catalog_dir / 'report'}/: comparison.csv, runs.csv, report.md, " in out


def test_cli_refuses_what_it_cannot_report(tmp_path):
    assert_bad_input(cosim("report", tmp_path, cwd=tmp_path), f"{tmp_path / CATALOG}: file: no batch catalog here")
    with Catalog(tmp_path) as catalog:
        catalog.record({"run_id": "x", "status": "failed", "error": "boom"})
    assert_bad_input(cosim("report", tmp_path, cwd=tmp_path), "runs: no completed run to report")
    assert not (tmp_path / "report").exists()
    with Catalog(tmp_path):  # a batch still writing
        proc = cosim("report", tmp_path, cwd=tmp_path)
    assert_bad_input(proc, "catalog: in use by another process")
