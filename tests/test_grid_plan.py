"""A data center's `grid` field: which grid each site draws from, its refusals, a run on
four balancing areas, and `cosim grid-check` on the shared EIA-930 files."""
from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_cli import assert_bad_input, cosim

from cosim.errors import InputError
from cosim.grid_plan import build_grids, grid_plan
from cosim.runner import run_scenario
from cosim.scenario import parse_scenario
from cosim.scenario_files import load_scenario

REPO_ROOT = Path(__file__).resolve().parents[1]
US_BA = REPO_ROOT / "scenarios" / "us_balancing_areas.yaml"


def _doc(**datacenter_grids) -> dict:
    """A small scenario with grid signals: Virginia and Texas (shipped), Seattle (no grid)."""
    dcs = [{"name": n, "servers": 10, "location": {"lat": 40.0, "lon": -90.0}} for n in ("Virginia", "Texas", "Seattle")]
    for dc in dcs:
        if dc["name"] in datacenter_grids:
            dc["grid"] = datacenter_grids[dc["name"]]
    return {"name": "t", "hours": 2, "start": "2022-09-26T00:00:00Z",
            "models": [{"name": "m", "energy_wh_per_request": 1, "resources_per_request": 1, "quality_score": 1}],
            "datacenters": dcs, "regions": [{"name": "r", "local_datacenter": "Virginia"}], "signals": {"source": "grids"}}


def test_shipped_sites_default_to_their_net_and_a_named_net_is_checked():
    doc = _doc()
    doc["datacenters"] = doc["datacenters"][:2]
    plan = grid_plan(parse_scenario(doc), source="s.yaml")
    assert plan.shipped == {"us_east": ["Virginia"], "ercot": ["Texas"]} and plan.balancing_areas == {}
    named = _doc(Virginia={"kind": "shipped", "name": "us_east"})
    named["datacenters"] = named["datacenters"][:2]
    assert grid_plan(parse_scenario(named)).shipped == plan.shipped


@pytest.mark.parametrize("grids, where, reason", [
    ({"Virginia": {"kind": "shipped", "name": "atlantis"}}, "datacenters.0.grid.name", "unknown shipped net 'atlantis'"),
    ({"Virginia": {"kind": "shipped", "name": "eu"}}, "datacenters.0.grid", "'Virginia' is not a site of the shipped net 'eu'"),
    ({}, "datacenters.2.name", "'Seattle' is in none of the shipped grids"),
])
def test_grid_plan_refusals(grids, where, reason):
    with pytest.raises(InputError) as err:
        grid_plan(parse_scenario(_doc(**grids)), source="s.yaml")
    assert err.value.where == where and reason in err.value.reason and err.value.source == "s.yaml"


def test_a_missing_file_is_refused_naming_the_field(tmp_path):
    doc = _doc(Seattle={"kind": "balancing-area", "file": "eia930/NOPE.csv"})
    with pytest.raises(InputError) as err:
        grid_plan(parse_scenario(doc), data_dir=tmp_path, source="s.yaml")
    assert err.value.where == "datacenters.2.grid.file" and "eia930/NOPE.csv" in err.value.reason


@pytest.mark.parametrize("grid, where, reason", [
    ({"kind": "cim", "file": "x"}, "datacenters.2.grid", "tag"),
    ({"kind": "balancing-area"}, "datacenters.2.grid.balancing-area.file", "Field required"),
    ({"kind": "balancing-area", "file": "a.csv", "name": "x"}, "datacenters.2.grid.balancing-area.name", "unknown field"),
])
def test_the_grid_field_is_validated(grid, where, reason):
    with pytest.raises(InputError) as err:
        parse_scenario(_doc(Seattle=grid), source="s.yaml")
    assert err.value.where == where and reason in err.value.reason


def test_a_grid_needs_grid_signals():
    doc = _doc(Seattle={"kind": "balancing-area", "file": "eia930/BPAT.csv"})
    doc["signals"] = {"source": "synthetic"}
    with pytest.raises(InputError, match=r"datacenters\.2\.grid: needs signals: grids"):
        parse_scenario(doc)


def test_sites_on_one_file_share_a_grid_and_a_site_on_two_grids_is_refused(data_dir):
    doc = _doc(Seattle={"kind": "balancing-area", "file": "eia930/BPAT.csv"},
               Texas={"kind": "balancing-area", "file": "eia930/BPAT.csv"})
    plan = grid_plan(parse_scenario(doc), data_dir=data_dir)
    (name, file, sites), = plan.balancing_areas.values()
    assert (name, file, sites) == ("BPAT", "eia930/BPAT.csv", ["Texas", "Seattle"])
    assert plan.grid_of() == {"Virginia": "us_east", "Texas": "BPAT", "Seattle": "BPAT"}
    grids = build_grids(plan, seed=0)
    assert [g.name for g in grids] == ["us_east", "BPAT"] and list(grids[1].sites) == ["Texas", "Seattle"]
    two = copy.deepcopy(doc)
    two["datacenters"].append({"name": "Seattle2", "signal_site": "Seattle", "servers": 1,
                               "grid": {"kind": "balancing-area", "file": "eia930/AZPS.csv"}})
    with pytest.raises(InputError) as err:
        grid_plan(parse_scenario(two), data_dir=data_dir)
    assert err.value.where == "datacenters.3.grid.file" and "already on grid 'BPAT'" in err.value.reason


@pytest.mark.slow
def test_four_balancing_areas_online_lagged_report_consequential_emissions_and_savings(data_dir):
    spec = load_scenario(US_BA).with_hours(12)
    result = run_scenario(spec, mode="online", coupling="lagged", data_dir=data_dir, source=US_BA, policies=["all-glb", "cost-glb"])
    inst = result.instance
    assert np.isfinite(inst.lme_kg_per_kwh).all() and (inst.lme_kg_per_kwh >= 0).all()
    # the sites' LMEs are those of their BAs' marginal fuels: Seattle's (BPAT) hydro in these hours
    assert inst.lme_kg_per_kwh[0] == pytest.approx(0.014, abs=1e-9)
    for name in ("all-glb", "cost-glb"):
        gf, log = result.metrics[name]["grid_feedback"], result.models[name].log
        assert gf["emissions_consequential_t"] > 0 and np.isfinite(gf["savings"]["emissions_realized_t"])
        # every grid-hour: demand dispatched = the BA's generation + the data centers' facility MW
        np.testing.assert_allclose(log.grid_demand_mw.sum(axis=0), log.grid_background_mw.sum(axis=0) + log.facility_mw.sum(axis=0),
                                   rtol=1e-9)
    # relocating away from MISO's and AZPS's fossil margin saves emissions against nearest
    assert result.metrics["all-glb"]["grid_feedback"]["savings"]["emissions_realized_t"] > 0


@pytest.mark.slow
def test_grid_check_meets_the_goals_it_reaches_on_the_shared_files(data_dir, tmp_path):
    """The fit figures of docs/grids.md, asserted at the bounds reached (BPAT's LME misses
    the 20 % goal: its floor is hydro's factor; docs/grids.md says why)."""
    lme_bound = {"AZPS": 0.12, "BPAT": 0.40, "MISO": 0.12, "NYIS": 0.15}
    for ba, bound in lme_bound.items():
        proc = cosim("grid-check", f"eia930/{ba}.csv", "--data-dir", data_dir, "--out", tmp_path, cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr
        summary = pd.read_csv(tmp_path / f"{ba}_summary.csv", index_col=0)
        year = summary.loc["year"]
        assert abs(year["intensity_error"]) <= 0.05, ba
        assert year["intensity_correlation"] >= 0.9, ba
        seasons = summary.loc[["DJF", "MAM", "JJA", "SON"]]
        assert (seasons["lme_error"].abs() <= bound).all(), (ba, seasons["lme_error"].to_dict())
        assert (tmp_path / f"{ba}_grid_check.png").stat().st_size > 5000
        if ba != "BPAT":
            assert "goal missed" not in proc.stdout, proc.stdout
        else:
            assert "goal missed: LME" in proc.stdout


def test_grid_check_refuses_a_missing_file(tmp_path):
    assert_bad_input(cosim("grid-check", "eia930/NOPE.csv", "--data-dir", tmp_path, cwd=tmp_path), "eia930/NOPE.csv")


def test_gaps_filled_inside_the_window_are_the_summarys_notes(data_dir):
    from cosim.instance import build_instance

    spec = load_scenario(US_BA)
    inst = build_instance(spec.with_start("2022-06-06T20:00Z").with_hours(6), data_dir=data_dir, source=US_BA)
    assert inst.notes == ("eia930/MISO.csv: line 3768 (2022-06-06 22:00 UTC): 1 h gap filled by linear interpolation",)
    assert build_instance(spec.with_hours(6), data_dir=data_dir, source=US_BA).notes == ()


def test_cosim_run_refuses_a_bad_balancing_area_file_with_one_line(tmp_path):
    import yaml

    (tmp_path / "eia930").mkdir()
    rows = [f"2022-01-10 {h:02d}:00:00+00:00,10,0,500,{-5 if h == 1 else 900},1200,1000" for h in range(24)]
    (tmp_path / "eia930" / "BAD.csv").write_text("\n".join(["timestamp,WND,SUN,WAT,NG,COL,NUC", *rows]) + "\n")
    doc = _doc(Seattle={"kind": "balancing-area", "file": "eia930/BAD.csv"})
    doc["datacenters"] = doc["datacenters"][2:]
    doc["regions"] = [{"name": "r", "local_datacenter": "Seattle"}]
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(doc))
    out = tmp_path / "out"
    proc = cosim("run", "s.yaml", "--data-dir", tmp_path, "--out", out, cwd=tmp_path)
    assert_bad_input(proc, "eia930/BAD.csv: line 3, column NG: negative generation (-5 MW)")
    assert not out.exists()


def test_shipped_nets_refuse_a_horizon_outside_their_calibrated_window():
    doc = _doc()
    doc["datacenters"] = doc["datacenters"][:2]
    doc["start"], doc["hours"] = "2022-07-11T00:00:00Z", 24
    with pytest.raises(InputError) as err:
        grid_plan(parse_scenario(doc), source="s.yaml")
    assert err.value.where == "start" and "the shipped nets (us_east, ercot) hold the levels of 22 Sep to 11 Oct 2022" in err.value.reason
    assert "2022-07-11 00:00 to 2022-07-11 23:00 UTC" in err.value.reason
    doc["start"], doc["hours"] = "2022-10-10T00:00:00Z", 25  # ends on the window's last hour
    assert grid_plan(parse_scenario(doc)).shipped == {"us_east": ["Virginia"], "ercot": ["Texas"]}
    doc["hours"] = 26
    with pytest.raises(InputError, match="2022-10-10 00:00 to 2022-10-11 01:00 UTC"):
        grid_plan(parse_scenario(doc))


@pytest.mark.slow
def test_us_hubs_runs_a_day_with_feedback_at_every_site(data_dir):
    from grids.weather import onsite_wue_from_epw

    path = REPO_ROOT / "scenarios" / "us_hubs.yaml"
    spec = load_scenario(path).with_hours(24)
    result = run_scenario(spec, mode="online", coupling="lagged", data_dir=data_dir, source=path, policies=["se-glb"])
    log = result.models["se-glb"].log
    assert log.grid_names == ("us_east", "ercot", "BPAT", "AZPS", "MISO", "NYIS")
    # every grid re-dispatched with its data centers' load on top of its own demand
    drawn = log.grid_demand_mw - log.grid_background_mw
    assert (drawn > 0).all()
    for name in ("price_usd_per_mwh", "carbon_kg_per_kwh", "lme_kg_per_kwh", "wue_l_per_kwh"):
        assert np.isfinite(log.realized[name]).all(), name
    # on-site water from each site's weather file, hour by hour
    dalles = [d.name for d in spec.datacenters].index("The Dalles")
    epw = onsite_wue_from_epw(data_dir / "weather" / "USA_WA_Seattle-Tacoma.epw", result.instance.times)
    np.testing.assert_allclose(log.realized["wue_l_per_kwh"][dalles], epw.to_numpy(), rtol=1e-12)
    assert result.metrics["se-glb"]["grid_feedback"]["emissions_consequential_t"] > 0
