"""`cosim run`'s figures (DIR/figures/*.png) and page (DIR/report.html), drawn from the run
folder's files: which files, that the numbers plotted are the Parquet's, one colour per
site everywhere, escaping of scenario names, and the page in a real headless Chromium.
"""
from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cosim import run_figures, run_page
from cosim.errors import InputError
from cosim.run_folder import (
    UNSERVED,
    feedback_frame,
    read_run,
    seen_realized,
    served_shares,
    site_colours,
    table1_frame,
)

REPO_ROOT = Path(__file__).resolve().parents[1]
PAPER10 = REPO_ROOT / "scenarios" / "paper10.yaml"
POLICIES = ("nearest", "se-glb")  # nearest among them: no extra baseline run
HOURS = 6
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def cosim(*args, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "COSIM_DATA_DIR"}
    return subprocess.run([sys.executable, "-m", "cosim.cli", *map(str, args)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def grid_run(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    """A real `cosim run paper10 --hours 6` with grids, two policies, figures and page."""
    base = tmp_path_factory.mktemp("run-report")
    out = base / "out"
    args = [a for p in POLICIES for a in ("--policy", p)]
    proc = cosim("run", PAPER10, "--hours", HOURS, *args, "--out", out, cwd=base)
    assert proc.returncode == 0, proc.stderr
    return out, proc


@pytest.fixture(scope="module")
def synthetic_run(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    """paper10 with synthetic signals (no grids), 3 h, one policy, with --no-report."""
    base = tmp_path_factory.mktemp("run-synthetic")
    scenario = base / "synthetic.yaml"
    scenario.write_text("extends: paper10\nname: paper10-synthetic\nsignals: {source: synthetic}\n")
    out = base / "out"
    proc = cosim("run", scenario, "--hours", 3, "--policy", "cost-glb", "--no-report", "--out", out, cwd=base)
    assert proc.returncode == 0, proc.stderr
    return out, proc


def test_cosim_run_writes_every_figure_and_the_page(grid_run):
    out, proc = grid_run
    expected = {f"{p}-{kind}.png" for p in POLICIES for kind in ("load", "served", "signals")} | {"table1.png",
                                                                                                 "grid_feedback.png"}
    assert {p.name for p in (out / "figures").iterdir()} == expected
    for name in expected:
        head = (out / "figures" / name).read_bytes()[:8]
        assert head == b"\x89PNG\r\n\x1a\n", name
    printed = proc.stdout.replace("\n", "")
    assert f"figures: {out / 'figures'}/ ({len(expected)} PNG)" in printed
    assert f"report: {out / 'report.html'}" in printed
    page = (out / "report.html").read_text(encoding="utf-8")
    assert page.count("* plotly.js v") == 1  # the library once, not once per figure
    assert "<script src=" not in page and 'src="http' not in page  # nothing to fetch


def test_no_report_skips_them_and_a_run_without_grids_has_no_signals_or_feedback(synthetic_run):
    out, proc = synthetic_run
    assert not (out / "figures").exists() and not (out / "report.html").exists()
    assert "report:" not in proc.stdout
    pngs, page = run_page.write_run_report(out)  # what `cosim figures DIR` does
    # no simulated grids: no realized signals and no grid feedback to draw
    assert {p.name for p in pngs} == {p.name for p in (out / "figures").iterdir()} == {
        "cost-glb-load.png", "cost-glb-served.png", "table1.png"}
    text = page.read_text(encoding="utf-8")
    assert "paper10-synthetic" in text and "Grid feedback" not in text


def test_cosim_figures_refuses_what_is_not_a_run_folder(tmp_path, grid_run):
    proc = cosim("figures", tmp_path, cwd=tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip() == f"error: {tmp_path / 'summary.json'}: file: not found: not a run folder (cosim run writes summary.json)"
    broken = tmp_path / "broken"
    shutil.copytree(grid_run[0], broken, ignore=shutil.ignore_patterns("figures", "report.html"))
    (broken / "se-glb" / "sites.parquet").unlink()
    with pytest.raises(InputError, match=f"{broken / 'se-glb' / 'sites.parquet'}: file: not found: summary.json lists policy 'se-glb'"):
        run_page.write_run_report(broken)
    assert not (broken / "figures").exists() and not (broken / "report.html").exists()
    (broken / "summary.json").write_text('{"scenario": "x", "policies": {}}')
    with pytest.raises(InputError, match="summary.json: policies: missing or empty"):
        read_run(broken)


def test_load_figure_plots_the_facility_energy_of_sites_parquet(grid_run, tmp_path):
    out, _ = grid_run
    run = read_run(out)
    plt = run_figures._Figures()
    for policy in POLICIES:
        sites = pd.read_parquet(out / policy / "sites.parquet")
        plotted = run_figures.load_figure(plt, run, policy, tmp_path / "load.png", site_colours(run.datacenters))
        mw = plotted.data["facility_mw"]
        assert mw.shape == (HOURS, 10)
        assert list(mw.columns) == list(sites["datacenter"].cat.categories)
        assert mw.to_numpy().sum() == pytest.approx(sites["facility_kwh"].sum() / 1000.0, rel=1e-12)
        one = sites[sites["datacenter"] == "Japan"].set_index("time")["facility_kwh"] / 1000.0
        np.testing.assert_allclose(mw["Japan"].to_numpy(), one.to_numpy())
        assert mw.to_numpy().sum() > 1.0  # MW, not kW: paper10 draws ~10 MW an hour
        assert mw.to_numpy().sum() / HOURS == pytest.approx(10.0, rel=0.3)


def test_served_shares_add_up_to_the_demand_and_the_allocations(grid_run):
    out, _ = grid_run
    run = read_run(out)
    for policy in POLICIES:
        allocations, demand = run.allocations[policy], run.demand[policy]
        shares = served_shares(allocations, demand)
        np.testing.assert_allclose(shares.sum(axis=1).to_numpy(), 1.0, rtol=1e-9)
        requests = demand.groupby("user_region", observed=False)["requests"].sum()
        served = allocations.groupby(["user_region", "datacenter"], observed=False)["requests"].sum()
        assert shares.loc["Belgium", "Germany"] * requests["Belgium"] == pytest.approx(served["Belgium", "Germany"], rel=1e-9)
    nearest = served_shares(run.allocations["nearest"], run.demand["nearest"])
    assert np.diag(nearest.to_numpy()) == pytest.approx(1.0)  # nearest serves every region at its own site


def test_served_shares_count_unserved_requests():
    times = pd.to_datetime(["2022-01-01T00:00Z", "2022-01-01T01:00Z"])
    cat = pd.CategoricalDtype(["a", "b"])
    allocations = pd.DataFrame({"time": times, "user_region": pd.Categorical(["a", "a"], dtype=cat),
                                "datacenter": pd.Categorical(["a", "b"], dtype=cat), "requests": [30.0, 10.0]})
    demand = pd.DataFrame({"time": list(times) * 2, "user_region": pd.Categorical(["a", "a", "b", "b"], dtype=cat),
                           "requests": [30.0, 20.0, 0.0, 0.0], "unserved": [0.0, 10.0, 0.0, 0.0]})
    shares = served_shares(allocations, demand)
    assert list(shares.columns) == ["a", "b", UNSERVED]
    assert shares.loc["a"].tolist() == pytest.approx([0.6, 0.2, 0.2])
    assert shares.loc["b"].isna().all()  # no demand: no share


def test_signals_figure_plots_seen_and_realized_columns(grid_run, tmp_path):
    out, _ = grid_run
    run = read_run(out)
    sites = pd.read_parquet(out / "se-glb" / "sites.parquet")
    plotted = run_figures.signals_figure(run_figures._Figures(), run, "se-glb", tmp_path / "s.png", site_colours(run.datacenters))
    for signal in ("price_usd_per_mwh", "lme_kg_per_kwh"):
        for kind, column in (("seen", signal), ("realized", f"realized_{signal}")):
            frame = plotted.data[f"{signal}_{kind}"]
            wide = sites.pivot(index="time", columns="datacenter", values=column)
            np.testing.assert_array_equal(frame.to_numpy(), wide.to_numpy())
    seen, realized = seen_realized(sites, "price_usd_per_mwh")
    assert seen.shape == realized.shape == (HOURS, 10)


def test_table1_and_feedback_figures_plot_summary_json(grid_run, tmp_path):
    out, _ = grid_run
    run = read_run(out)
    summary = json.loads((out / "summary.json").read_text())
    plt = run_figures._Figures()
    t1 = run_figures.table1_figure(plt, run, tmp_path / "t1.png").data["table1"]
    assert t1.loc["carbon per site, avg (t)", "se-glb"] == summary["policies"]["se-glb"]["carbon_t"]["avg"]
    assert t1.loc["RID (energy away from local)", "nearest"] == summary["policies"]["nearest"]["rid"]
    assert list(t1.columns) == list(POLICIES)
    fb = run_figures.feedback_figure(plt, run, tmp_path / "fb.png").data["grid_feedback"]
    gf = summary["policies"]["se-glb"]["grid_feedback"]
    assert fb.loc["emissions consequential (t CO2)", "se-glb"] == gf["emissions_consequential_t"]
    assert fb.loc["emissions saved vs nearest, realized (t CO2)", "se-glb"] == gf["savings"]["emissions_realized_t"]
    assert fb.loc["emissions saved vs nearest, predicted (t CO2)", "nearest"] == pytest.approx(0.0, abs=1e-9)
    assert feedback_frame(summary).loc["emissions first-order (t CO2)", "nearest"] == \
        summary["policies"]["nearest"]["grid_feedback"]["emissions_first_order_t"]
    assert table1_frame(summary).equals(t1)


def test_one_colour_per_site_in_every_figure(grid_run, tmp_path):
    out, _ = grid_run
    run = read_run(out)
    colours = site_colours(run.datacenters)
    assert len(set(colours.values())) == len(colours) == 10
    assert colours == site_colours(list(run.datacenters))  # by position: the same every call
    assert site_colours(["x", *run.datacenters[1:]])["Georgia"] == colours["Georgia"]
    plt = run_figures._Figures()
    drawn = [run_figures.load_figure(plt, run, p, tmp_path / f"{p}.png", colours).colours for p in POLICIES]
    drawn.append(run_figures.signals_figure(plt, run, "se-glb", tmp_path / "s.png", colours).colours)
    assert all(d == colours for d in drawn)
    # the page draws with the same colours (names escaped for plotly: paper10's need none)
    load = run_page.load_figure(run, "se-glb", colours)
    assert {t.name: t.line.color for t in load.data} == colours
    signals = run_page.signals_figure(run, "se-glb", colours)
    assert {(t.name, t.line.color) for t in signals.data} == set(colours.items())


def _hostile(run):
    """The run with a scenario name and a site name that are HTML (and a '$' for matplotlib)."""
    summary = {**run.summary, "scenario": "</script><script>window.__pwned = 1</script>$x"}
    evil = '<img src=x onerror="window.__pwned = 2">'

    def rename(frame):
        frame = frame.copy()
        if "datacenter" in frame:
            frame["datacenter"] = frame["datacenter"].cat.rename_categories({"Japan": evil})
        if "user_region" in frame:
            frame["user_region"] = frame["user_region"].cat.rename_categories({"Japan": "Ja$pan"})
        return frame

    return dataclasses.replace(run, summary=summary,
                               **{name: {p: rename(f) for p, f in getattr(run, name).items()}
                                  for name in ("sites", "allocations", "demand")}), evil


def test_names_from_the_scenario_are_escaped(grid_run, tmp_path):
    run, evil = _hostile(read_run(grid_run[0]))
    page = run_page.page_html(run)
    assert "<script>window.__pwned" not in page and "<img src=x" not in page
    assert "&lt;/script&gt;&lt;script&gt;window.__pwned = 1&lt;/script&gt;$x" in page
    plt = run_figures._Figures()  # '$' in a name does not start matplotlib's mathtext
    run_figures.served_figure(plt, run, "se-glb", tmp_path / "served.png")
    run_figures.load_figure(plt, run, "se-glb", tmp_path / "load.png", site_colours(run.datacenters))
    assert (tmp_path / "served.png").stat().st_size > 10_000


def _chromium() -> str | None:
    for candidate in (os.environ.get("COSIM_CHROMIUM"), shutil.which("chromium"), "/usr/bin/chromium"):
        if candidate and Path(candidate).is_file():
            return candidate
    return None


def _open_in_chromium(pages: list[Path], profile: Path) -> list[dict]:
    """Open each page in one headless Chromium (playwright driving the system binary, a
    fresh profile); per page: the errors, the requests that left file://, what rendered,
    and a screenshot beside the page (page.png)."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright (the test extra) is not installed")
    chromium = _chromium()
    if chromium is None:
        pytest.skip("no Chromium found (apt-get install chromium, or set COSIM_CHROMIUM)")
    results = []
    with sync_api.sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(str(profile), executable_path=chromium, headless=True,
                                                        args=CHROMIUM_FLAGS, viewport={"width": 1280, "height": 2000})
        try:
            for page in pages:
                errors, remote = [], []
                tab = context.new_page()
                tab.on("pageerror", lambda exc, errors=errors: errors.append(f"pageerror: {exc}"))
                tab.on("console", lambda msg, errors=errors: errors.append(f"console: {msg.text}") if msg.type == "error" else None)
                tab.on("request", lambda req, remote=remote: None if req.url.startswith(("file:", "data:")) else remote.append(req.url))
                tab.goto(page.as_uri(), wait_until="load")
                tab.wait_for_function(f"document.querySelectorAll('.js-plotly-plot {_DRAWN}').length > 0", timeout=30_000)
                found = tab.evaluate(f"""() => ({{
                    plots: document.querySelectorAll('.js-plotly-plot').length,
                    drawn: [...document.querySelectorAll('.js-plotly-plot')].filter(d => d.querySelector('{_DRAWN}')).length,
                    traces: [...document.querySelectorAll('.js-plotly-plot')].map(d => d.data.length),
                    title: document.title, pwned: window.__pwned === undefined ? null : window.__pwned,
                    plotly: typeof window.Plotly }})""")
                found.update(_zoom_and_hover(tab))
                tab.screenshot(path=str(page.with_suffix(".png")))
                tab.close()
                results.append({"errors": errors, "remote": remote, **found})
        finally:
            context.close()
    return results


def _zoom_and_hover(tab) -> dict:
    """Click the first figure with time axes' "1 day" button and read its x range (hours);
    hover over its plot and count the hover labels shown."""
    first = tab.locator(".js-plotly-plot:has(.rangeselector)").first
    if first.count() == 0:
        return {"day_h": None, "hover_labels": 0}
    first.scroll_into_view_if_needed()
    first.locator(".rangeselector .button", has_text="1 day").click()
    tab.wait_for_timeout(300)
    day_h = first.evaluate("d => (new Date(d.layout.xaxis.range[1]) - new Date(d.layout.xaxis.range[0])) / 3.6e6")
    drag = first.locator(".nsewdrag").first
    box = drag.bounding_box()
    drag.hover(position={"x": box["width"] * 0.9, "y": box["height"] / 2})  # on the data: the run's last hours
    tab.wait_for_timeout(300)
    return {"day_h": day_h, "hover_labels": first.locator(".hoverlayer .hovertext, .hoverlayer .legend").count()}


_DRAWN = ".main-svg .trace, .main-svg .hm"
"""What plotly draws for a trace: a group per scatter or bar trace, an image per heat map."""


def test_report_page_renders_in_headless_chromium(grid_run, tmp_path):
    """The page of a real run: no JavaScript error, nothing fetched, every figure drawn, a
    screenshot that is not blank; the same page with HTML in the names runs none of it."""
    from PIL import Image

    out, _ = grid_run
    run = read_run(out)
    figures = run_page.page_figures(run)
    shutil.copy(out / "report.html", tmp_path / "report.html")
    hostile, _ = _hostile(run)
    (tmp_path / "hostile.html").write_text(run_page.page_html(hostile), encoding="utf-8")
    seen, bad = _open_in_chromium([tmp_path / "report.html", tmp_path / "hostile.html"], tmp_path / "profile")
    assert seen["errors"] == []
    assert seen["remote"] == []  # self-contained: nothing asked of the network
    assert seen["plotly"] == "object"
    assert seen["plots"] == seen["drawn"] == len(figures) == 2 + 3 * len(POLICIES)
    assert seen["traces"] == [len(fig.data) for _, _, fig in figures]
    assert seen["title"] == "gridshift run: paper10"
    assert seen["day_h"] == pytest.approx(24.0)  # the "1 day" button zooms to a day
    assert seen["hover_labels"] > 0  # hovering shows values
    pixels = np.asarray(Image.open(tmp_path / "report.png").convert("RGB"))
    assert pixels.shape[:2] == (2000, 1280)
    colours = np.unique(pixels.reshape(-1, 3), axis=0)
    assert len(colours) > 200, len(colours)  # text, tables and coloured bars; a blank page has ~1
    assert (pixels.min(axis=2) < 200).mean() > 0.03  # more than a sliver of the screen is drawn on
    assert bad["errors"] == [] and bad["pwned"] is None and bad["drawn"] == len(figures)
    assert bad["title"] == "gridshift run: </script><script>window.__pwned = 1</script>$x"
