"""A user's own net as a grid (grids.user_net, the `pandapower` and `rts-gmlc` grid kinds):
the LME at a site against a finite-difference re-dispatch with pandapower's rundcopp,
sites sharing a net, the refusals, a timeseries file, and an RTS-GMLC bus."""
from __future__ import annotations

import copy
import warnings

import numpy as np
import pandapower as pp
import pandapower.networks as pn
import pandas as pd
import pytest

from cosim.errors import DataWarning, InputError
from cosim.grid_plan import build_grids, grid_plan
from cosim.loaders import DataDir
from cosim.scenario import parse_scenario
from grids.reference import run_dcopp
from grids.user_net import build_user_net, read_net, read_net_timeseries

START = "2022-09-22T00:00Z"
COST = {("ext_grid", 0): 20.0, ("gen", 0): 30.0, ("gen", 1): 25.0, ("gen", 2): 40.0, ("gen", 3): 35.0, ("gen", 4): 50.0}
CO2 = {"ext_grid": [800.0], "gen": [900.0, 400.0, 500.0, 300.0, 700.0]}


def case30() -> pp.pandapowerNet:
    """case30 with distinct linear costs, a CO2 rate on every unit and a fuel (for water);
    line 30 (the 100 % line of its DC-OPF) binds, so two units are marginal."""
    net = pn.case30()
    pc = net.poly_cost
    pc["cp2_eur_per_mw2"] = pc["cp0_eur"] = 0.0
    pc["cp1_eur_per_mw"] = [COST[(et, int(el))] for et, el in zip(pc["et"], pc["element"])]
    for table, rates in CO2.items():
        net[table]["co2_kg_per_mwh"] = rates
        net[table]["fuel"] = "gas"
    return net


@pytest.fixture
def net_file(tmp_path):
    path = tmp_path / "case30.json"
    pp.to_json(case30(), str(path))
    return path


def _grid(sites, net=None, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return build_user_net(case30() if net is None else net, sites, name="case30", source="nets/case30.json", **kw)


def _rundcopp_emissions(net, extra: dict[int, float]) -> float:
    """Emissions (kg) of pandapower's rundcopp on *net* with *extra* MW of load at buses."""
    net = copy.deepcopy(net)
    for bus, mw in extra.items():
        pp.create_load(net, bus, p_mw=mw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        run_dcopp(net)
    return float(sum((net[f"res_{t}"]["p_mw"] * net[t]["co2_kg_per_mwh"]).sum() for t in ("gen", "ext_grid")))


# ---------------------------------------------------------------- (a) LME = finite difference with rundcopp
@pytest.mark.parametrize("bus, site_mw", [(17, 0.0), (17, 8.0), (7, 5.0), (29, 3.0)])
def test_lme_at_a_site_equals_a_rundcopp_finite_difference(bus, site_mw):
    grid = _grid({"Virginia": bus})
    day = grid.for_hours(START, 2)
    out = day.dispatch(1, np.array([site_mw]))
    r = day.solve_hour(1, np.array([site_mw]))
    assert r.congested_branches and r.bus_lme_valid_mw[day._site_pos[0], 1] >= 1.0  # +1 MW keeps the basis
    grid.apply_hour(day.times[1], profiles=day.profiles)
    base = _rundcopp_emissions(grid.net, {bus: site_mw})
    plus = _rundcopp_emissions(grid.net, {bus: site_mw + 1.0})
    fd_kg_per_kwh = (plus - base) / 1.0 / 1000.0
    assert out.lme_kg_per_kwh[0] == pytest.approx(fd_kg_per_kwh, rel=1e-3)
    assert out.emissions_kg == pytest.approx(base, rel=1e-5)


# ---------------------------------------------------------------- (b) sites sharing a net
def test_two_sites_at_one_bus_share_its_dispatch():
    two = _grid({"Virginia": 17, "Texas": 17}).for_hours(START, 1)
    one = _grid({"Virginia": 17}).for_hours(START, 1)
    both, alone = two.dispatch(0, np.array([6.0, 4.0])), one.dispatch(0, np.array([10.0]))
    assert list(two.sites) == ["Virginia", "Texas"]
    assert both.emissions_kg == pytest.approx(alone.emissions_kg, rel=1e-12)
    assert both.cost_usd == pytest.approx(alone.cost_usd, rel=1e-12)
    assert np.allclose(both.price_usd_per_mwh, alone.price_usd_per_mwh[0])
    assert np.allclose(both.lme_kg_per_kwh, alone.lme_kg_per_kwh[0])


def test_two_sites_at_two_buses_are_one_dispatch_of_the_net():
    grid = _grid({"Virginia": 17, "Texas": 7})
    day = grid.for_hours(START, 1)
    out = day.dispatch(0, np.array([6.0, 4.0]))
    grid.apply_hour(day.times[0], profiles=day.profiles)
    assert out.emissions_kg == pytest.approx(_rundcopp_emissions(grid.net, {17: 6.0, 7: 4.0}), rel=1e-5)
    assert out.price_usd_per_mwh[0] != pytest.approx(out.price_usd_per_mwh[1])  # congestion separates them


# ---------------------------------------------------------------- (c) refusals
def _isolated(net):
    """case30 with bus 25's one line out of service: bus 25 is cut off from the slack."""
    net.line.loc[(net.line.from_bus == 25) | (net.line.to_bus == 25), "in_service"] = False
    return net


@pytest.mark.parametrize("change, bus, where, reason", [
    (None, 99, "bus 99", "bus 99 is not in the net"),
    (lambda n: n.bus.__setitem__("in_service", n.bus.index != 17) or n, 17, "bus 17", "bus 17 is out of service"),
    (_isolated, 25, "bus 25", "bus 25 is isolated: not connected to the net's slack"),
], ids=["unknown-bus", "bus-out-of-service", "isolated-bus"])
def test_a_site_bus_is_refused(change, bus, where, reason):
    net = case30() if change is None else change(case30())
    with pytest.raises(InputError) as err:
        _grid({"Virginia": bus}, net=net)
    assert (err.value.source, err.value.where) == ("nets/case30.json", where) and reason in err.value.reason


def test_a_net_without_costs_is_refused():
    net = case30()
    net.poly_cost = net.poly_cost.iloc[0:0]
    with pytest.raises(InputError) as err:
        _grid({"Virginia": 17}, net=net)
    assert (err.value.source, err.value.where) == ("nets/case30.json", "poly_cost") and "no costs" in err.value.reason


def test_quadratic_costs_are_refused_saying_the_dc_opf_is_linear():
    with pytest.raises(InputError) as err:
        _grid({"Virginia": 17}, net=_quadratic())
    assert err.value.where == "poly_cost 1 (gen 0), column cp2_eur_per_mw2"
    assert "refuses quadratic terms" in err.value.reason


def _quadratic():
    net = case30()
    net.poly_cost.loc[1, "cp2_eur_per_mw2"] = 0.02
    return net


@pytest.mark.parametrize("column", ["co2_kg_per_mwh", "water_l_per_mwh"])
def test_a_unit_without_rate_or_fuel_is_refused(column):
    net = case30()
    net.gen.loc[3, "fuel"] = None
    if column == "water_l_per_mwh":
        net.gen["water_l_per_mwh"] = np.nan
    else:
        net.gen["water_l_per_mwh"] = 100.0
        net.gen.loc[3, "co2_kg_per_mwh"] = np.nan
    with pytest.raises(InputError) as err:
        _grid({"Virginia": 17}, net=net)
    assert (err.value.source, err.value.where) == ("nets/case30.json", f"gen 3, column {column}")
    assert f"no {column} and no fuel" in err.value.reason


def test_rates_come_from_the_fuel_where_the_column_is_missing():
    net = case30()
    net.gen.loc[2, "co2_kg_per_mwh"] = np.nan
    net.gen.loc[2, "fuel"] = "coal"
    grid = _grid({"Virginia": 17}, net=net)
    assert grid.net.gen.at[2, "co2_kg_per_mwh"] == pytest.approx(968.0)
    assert grid.net.gen.at[2, "water_l_per_mwh"] == pytest.approx(450 * 3.78541)
    net.gen.loc[2, "fuel"] = "peat"
    with pytest.raises(InputError, match=r"gen 2, column fuel: unknown fuel 'peat'"):
        _grid({"Virginia": 17}, net=net)


def _series(tmp_path, text: str, name="ts.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.parametrize("text, where, reason", [
    ("time,load:3\n2022-09-22T00:00Z,5\n2022-09-22T01:00Z,x\n", "row 3: load:3", "not a non-negative number: 'x'"),
    ("time,load:3,wind\n2022-09-22T00:00Z,5,1\n", "column wind", "expected load:<net.load index>"),
    ("time,sgen:0\n2022-09-22T00:00Z,5\n", "column sgen:0", "sgen 0 is not in the net"),
    ("time,load:40\n2022-09-22T00:00Z,5\n", "column load:40", "load 40 is not in the net (net.load has indices 0..19)"),
], ids=["non-numeric", "unknown-column", "no-such-table-element", "no-such-load"])
def test_a_bad_timeseries_is_refused(tmp_path, text, where, reason):
    with pytest.raises(InputError) as err:
        read_net_timeseries(_series(tmp_path, text), case30(), source="nets/ts.csv")
    assert (err.value.source, err.value.where) == ("nets/ts.csv", where) and reason in err.value.reason


def test_a_timeseries_not_covering_the_horizon_is_refused(tmp_path):
    ts = read_net_timeseries(_series(tmp_path, "time,load:3\n2022-09-22T00:00Z,5\n2022-09-22T01:00Z,6\n"), case30(),
                             source="nets/ts.csv")
    grid = _grid({"Virginia": 17}, timeseries=ts, timeseries_source="nets/ts.csv")
    with pytest.raises(InputError) as err:
        grid.for_hours(START, 3)
    assert (err.value.source, err.value.where) == ("nets/ts.csv", "time")
    assert "but the horizon needs 2022-09-22 00:00 to 2022-09-22 02:00 UTC (3 h)" in err.value.reason


def _doc(*grids) -> dict:
    dcs = [{"name": n, "servers": 10, "grid": g} for n, g in zip(("Virginia", "Texas", "Georgia"), grids)]
    return {"name": "t", "hours": 2, "start": START,
            "models": [{"name": "m", "energy_wh_per_request": 1, "resources_per_request": 1, "quality_score": 1}],
            "datacenters": dcs, "regions": [{"name": "r", "local_datacenter": "Virginia"}], "signals": {"source": "grids"}}


def test_the_grid_plan_names_the_field_of_a_bad_bus_or_file(tmp_path, net_file):
    doc = _doc({"kind": "pandapower", "file": "case30.json", "bus": 17}, {"kind": "pandapower", "file": "case30.json", "bus": 99})
    with pytest.raises(InputError) as err:
        grid_plan(parse_scenario(doc), data_dir=tmp_path, source="s.yaml")
    assert (err.value.source, err.value.where) == ("s.yaml", "datacenters.1.grid.bus")
    assert err.value.reason.startswith("case30.json: bus 99 is not in the net")
    doc = _doc({"kind": "pandapower", "file": "nets/nope.json", "bus": 17})
    with pytest.raises(InputError) as err:
        grid_plan(parse_scenario(doc), data_dir=tmp_path, source="s.yaml")
    assert err.value.where == "datacenters.0.grid.file" and "nets/nope.json" in err.value.reason
    doc = _doc({"kind": "pandapower", "file": "case30.json", "bus": 17, "timeseries": "none.csv"})
    with pytest.raises(InputError) as err:
        grid_plan(parse_scenario(doc), data_dir=tmp_path, source="s.yaml")
    assert err.value.where == "datacenters.0.grid.timeseries"


def test_the_new_grid_kinds_are_validated():
    with pytest.raises(InputError) as err:
        parse_scenario(_doc({"kind": "pandapower", "file": "x.json"}), source="s.yaml")
    assert err.value.where == "datacenters.0.grid.pandapower.bus" and "Field required" in err.value.reason
    with pytest.raises(InputError) as err:
        parse_scenario(_doc({"kind": "rts-gmlc", "bus": 101, "file": "x"}), source="s.yaml")
    assert err.value.where == "datacenters.0.grid.rts-gmlc.file" and "unknown field" in err.value.reason


def test_a_matpower_case_is_read_and_refused_without_emission_rates(tmp_path):
    from pandapower.converter.matpower import to_mpc

    path = tmp_path / "case9.mat"
    to_mpc(pn.case9(), str(path), init="flat")
    net = read_net(path, source="nets/case9.mat")
    assert len(net.bus) == 9
    net.poly_cost["cp2_eur_per_mw2"] = 0.0
    with pytest.raises(InputError) as err:
        build_user_net(net, {"Virginia": 4}, name="case9", source="nets/case9.mat")
    assert err.value.where.endswith("column co2_kg_per_mwh")


# ---------------------------------------------------------------- the plan: one net, several sites, notes
def test_sites_on_one_net_file_share_a_grid_and_the_flat_values_are_noted(tmp_path, net_file):
    doc = _doc({"kind": "pandapower", "file": "case30.json", "bus": 17}, {"kind": "shipped", "name": "ercot"},
               {"kind": "pandapower", "file": "case30.json", "bus": 17})
    plan = grid_plan(parse_scenario(doc), data_dir=tmp_path, source="s.yaml")
    (net,) = plan.user_nets.values()
    assert (net.name, net.file, net.sites) == ("case30", "case30.json", {"Virginia": 17, "Georgia": 17})
    assert plan.grid_of() == {"Virginia": "case30", "Texas": "ercot", "Georgia": "case30"}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        grids = build_grids(plan, seed=0, start=START, hours=2)
    notes = [str(w.message) for w in caught if issubclass(w.category, DataWarning)]
    assert notes == ["case30.json: no timeseries: the net's own loads and sgen limits are held flat every hour"]
    assert [g.name for g in grids] == ["ercot", "case30"] and list(grids[1].sites) == ["Virginia", "Georgia"]


# ---------------------------------------------------------------- (d) a timeseries moves the dispatch
def test_a_timeseries_load_shifts_the_dispatch_hour_by_hour(tmp_path, net_file):
    values = [21.7, 40.0, 5.0]  # load 0 (bus 1): its own value, then up, then down
    rows = "".join(f"2022-09-22T0{k}:00Z,{v}\n" for k, v in enumerate(values))
    _series(tmp_path, "time,load:0\n" + rows, "case30_hourly.csv")
    doc = _doc({"kind": "pandapower", "file": "case30.json", "bus": 17, "timeseries": "case30_hourly.csv"})
    plan = grid_plan(parse_scenario(doc), data_dir=tmp_path, source="s.yaml")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        (grid,) = build_grids(plan, seed=0, start=START, hours=3)
    (note,) = [str(w.message) for w in caught if issubclass(w.category, DataWarning)]
    assert note.startswith("case30.json: load 1, 2, 3") and "have no column in case30_hourly.csv" in note
    day = grid.for_hours(START, 3)
    out = [day.dispatch(k, np.array([0.0])) for k in range(3)]
    own = sum(case30().load.p_mw)
    assert [o.demand_mw for o in out] == pytest.approx([own - 21.7 + v for v in values])
    assert out[1].emissions_kg > out[0].emissions_kg > out[2].emissions_kg
    for k, v in enumerate(values):  # the same as the net with that load's value
        net = case30()
        net.load.loc[0, "p_mw"] = v
        flat = _grid({"Virginia": 17}, net=net).for_hours(START, 1).dispatch(0, np.array([0.0]))
        assert out[k].emissions_kg == pytest.approx(flat.emissions_kg, rel=1e-12)
        assert out[k].lme_kg_per_kwh == pytest.approx(flat.lme_kg_per_kwh, rel=1e-12)


# ---------------------------------------------------------------- (e) an RTS-GMLC bus
def test_an_rts_gmlc_bus_dispatches_with_an_lme(data_dir):
    doc = _doc({"kind": "rts-gmlc", "bus": 101}, {"kind": "rts-gmlc", "bus": 313})
    doc["start"] = "2020-07-15T12:00:00Z"
    plan = grid_plan(parse_scenario(doc), data_dir=data_dir, source="s.yaml")
    (grid,) = build_grids(plan, seed=0)
    assert grid.name == "RTS-GMLC" and grid.site_zone == {"Virginia": "area1", "Texas": "area3"}
    day = grid.for_hours("2020-07-15T12:00Z", 2)
    out = day.dispatch(1, np.array([50.0, 50.0]))
    assert np.isfinite(out.lme_kg_per_kwh).all() and out.shed_mw == 0.0
    assert (out.lme_kg_per_kwh >= 0).all() and (out.lme_kg_per_kwh < 1.2).all()
    assert out.demand_mw == pytest.approx(day.background_mw[1] + 100.0)
    # another year takes the 2020 hours 52 weeks per year away (weekdays kept)
    later = grid.for_hours("2022-07-13T12:00Z", 2)
    np.testing.assert_allclose(later.background_mw, day.background_mw, rtol=1e-12)
    with pytest.raises(InputError, match="outside the data"):
        grid.for_hours("2022-12-29T23:00Z", 3)
    bad = _doc({"kind": "rts-gmlc", "bus": 100})
    with pytest.raises(InputError) as err:
        grid_plan(parse_scenario(bad), data_dir=data_dir, source="s.yaml")
    assert err.value.where == "datacenters.0.grid.bus" and "bus 100 is not in the net" in err.value.reason


def test_the_hourly_profiles_keep_the_nets_own_values():
    grid = _grid({"Virginia": 17})
    prof = grid.hourly(START, 3)
    assert prof.load_mw.shape == (3, 20) and (prof.load_mw.iloc[2] == case30().load.p_mw).all()
    assert prof.sgen_max_mw.shape == (3, 0) and prof.gen_max_mw is None
    assert isinstance(prof.load_mw.index, pd.DatetimeIndex)


def test_a_user_net_an_rts_gmlc_bus_a_balancing_area_and_a_shipped_net_in_one_run(data_dir, tmp_path):
    """The four grid kinds in one scenario, co-simulated online with lagged feedback."""
    from cosim.runner import run_scenario

    for folder in ("eia930", "rts-gmlc"):
        (tmp_path / folder).symlink_to(data_dir / folder)
    (tmp_path / "nets").mkdir()
    pp.to_json(case30(), str(tmp_path / "nets" / "case30.json"))
    dcs = [("Virginia", None), ("Seattle", {"kind": "balancing-area", "file": "eia930/BPAT.csv"}),
           ("Chicago", {"kind": "pandapower", "file": "nets/case30.json", "bus": 17}),
           ("Phoenix", {"kind": "rts-gmlc", "bus": 101})]
    doc = {"name": "four-kinds", "hours": 6, "start": "2022-09-26T00:00:00Z",
           "models": [{"name": "m", "energy_wh_per_request": 1, "resources_per_request": 1, "quality_score": 1}],
           "datacenters": [{"name": n, "servers": 2000, "location": {"lat": 40.0, "lon": -90.0 - k}} | ({"grid": g} if g else {})
                           for k, (n, g) in enumerate(dcs)],
           "regions": [{"name": f"r{k}", "local_datacenter": n, "location": {"lat": 40.0, "lon": -90.0 - k}}
                       for k, (n, _) in enumerate(dcs)],
           "demand": {"requests_per_hour": 5_000_000}, "signals": {"source": "grids"}, "policies": ["nearest", "all-glb"]}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        result = run_scenario(parse_scenario(doc), mode="online", coupling="lagged",
                              data_dir=DataDir(tmp_path, allow_outside=True))  # its data dir is symlinks to the shared one
    log = result.models["nearest"].log
    assert log.grid_names == ("us_east", "BPAT", "case30", "RTS-GMLC")
    assert ((log.grid_demand_mw - log.grid_background_mw) > 0).all()  # served locally: every grid carries its data center
    for name in ("price_usd_per_mwh", "lme_kg_per_kwh", "carbon_kg_per_kwh"):
        assert np.isfinite(result.models["all-glb"].log.realized[name]).all(), name
    gf = result.metrics["all-glb"]["grid_feedback"]
    assert gf["emissions_consequential_t"] > 0 and np.isfinite(gf["savings"]["emissions_realized_t"])
