"""grids.opf: DC-OPF with HiGHS against pandapower's rundcopp, LMEs against re-dispatch.

Every number here can fail: dispatch within 1e-3 MW and LMPs within 1e-2 USD/MWh of
pp.rundcopp (case9, case30, case118, congested case118, phase shifters, pwl costs), LMEs
within 1e-6 relative of +/-0.01 MW finite differences, validity ranges checked just inside
and just outside, shedding at VOLL, warm start equal to cold solves.
"""
from __future__ import annotations

import copy

import numpy as np
import pandapower as pp
import pandapower.networks as pn
import pandas as pd
import pytest

from grids.opf import Dispatcher, DispatchResult, LoadShedWarning, dispatch

# pandapower's own notices on its shipped cases (tap_dependency_table, dtype changes)
pytestmark = [pytest.mark.filterwarnings("ignore::DeprecationWarning"),
              pytest.mark.filterwarnings("ignore::FutureWarning")]

MW_TOL = 1e-3
LMP_TOL = 1e-2
LME_REL = 1e-6
FD_MW = 0.01


def linear_costs(net, seed: int):
    """cp2 -> 0, distinct cp1 (unique optimum), distinct emission rates on every unit."""
    rng = np.random.default_rng(seed)
    n = len(net.poly_cost)
    c1 = 10.0 + rng.permutation(n) * 0.917 + rng.uniform(0, 0.5, n)
    net.poly_cost["cp2_eur_per_mw2"] = 0.0
    net.poly_cost["cp1_eur_per_mw"] = np.round(c1, 4)
    assert net.poly_cost.cp1_eur_per_mw.is_unique
    net.gen["co2_kg_per_mwh"] = np.round(rng.uniform(0.0, 1100.0, len(net.gen)), 2)
    net.ext_grid["co2_kg_per_mwh"] = np.round(rng.uniform(0.0, 1100.0, len(net.ext_grid)), 2)
    return net


def tighten(net, n_lines: int = 3, factor: float = 0.7):
    """Limit the most loaded lines below their unconstrained flow so congestion binds."""
    pp.rundcopp(net)
    top = net.res_line.loading_percent.sort_values(ascending=False).index[:n_lines]
    net.line.loc[top, "max_loading_percent"] = net.res_line.loading_percent[top] * factor
    return net


def _case(name: str):
    if name == "case9":  # line 6 binds
        return linear_costs(pn.case9(), 2)
    if name == "case9_degenerate":  # ext_grid at 250 MW and line 0 at 250 MVA at once
        return linear_costs(pn.case9(), 1)
    if name == "case30":  # line 28 binds with these costs
        return linear_costs(pn.case30(), 2)
    if name == "case118":
        return linear_costs(pn.case118(), 3)
    if name == "case118_congested":
        return tighten(linear_costs(pn.case118(), 3))
    raise KeyError(name)


_CACHE: dict = {}


def case(name: str):
    """A fresh copy of a prepared net (prepared once per session)."""
    if name not in _CACHE:
        _CACHE[name] = _case(name)
    return copy.deepcopy(_CACHE[name])


def assert_matches_rundcopp(net, res: DispatchResult):
    pp.rundcopp(net)
    assert np.abs(res.gen_p_mw - net.res_gen.p_mw).max() < MW_TOL
    assert np.abs(res.ext_grid_p_mw - net.res_ext_grid.p_mw).max() < MW_TOL
    if len(net.sgen):
        assert np.abs(res.sgen_p_mw - net.res_sgen.p_mw).max() < MW_TOL
    assert np.abs(res.lmp_usd_per_mwh - net.res_bus.lam_p).max() < LMP_TOL
    assert res.cost_usd == pytest.approx(net.res_cost, rel=1e-6, abs=1e-3)


# ---------------------------------------------------------------- rundcopp agreement
@pytest.mark.parametrize("name", ["case9", "case30", "case118", "case118_congested"])
def test_dispatch_and_lmp_match_rundcopp(name):
    net = case(name)
    res = dispatch(net, name=name)
    assert_matches_rundcopp(net, res)
    # power balances (lossless DC): generation = demand - shed
    gen = res.gen_p_mw.sum() + res.ext_grid_p_mw.sum() + res.sgen_p_mw.sum()
    assert gen == pytest.approx(res.load_mw - res.shed_mw.sum(), abs=1e-6)
    assert res.shed_mw.abs().max() < 1e-9 and res.message == ""
    # line flows as pandapower's DC OPF reports them
    assert np.abs(res.branch_flow_mw.loc["line"] - net.res_line.p_from_mw).max() < MW_TOL
    assert res.lme_valid_mw.min().min() > 0.1  # non-degenerate optimum: LMPs are unique
    if name in ("case9", "case30", "case118_congested"):
        assert res.congested_branches, "the case must be congested"
        assert res.lmp_usd_per_mwh.max() - res.lmp_usd_per_mwh.min() > 0.1
        for tab, idx in res.congested_branches:  # at pandapower's MVA rating of the line
            ln = net.line.loc[idx]
            rate = (ln.max_loading_percent / 100 * ln.max_i_ka * ln.df * ln.parallel
                    * net.bus.vn_kv[ln.from_bus] * np.sqrt(3))
            assert tab == "line" and abs(res.branch_flow_mw[(tab, idx)]) == pytest.approx(rate, rel=1e-7)
    else:
        assert res.lmp_usd_per_mwh.max() - res.lmp_usd_per_mwh.min() < 1e-6


def test_degenerate_optimum_lmp_is_one_sided_and_flagged():
    """Primal degeneracy: the ext_grid sits at its 250 MW limit and line 0 at its 250 MVA
    rating. The LMP at bus 0 is not unique: every value between the left and right
    derivatives of cost is an optimal dual. Ours (a simplex basis) is one of the one-sided
    derivatives, and lme_valid_mw reports 0 MW on the other side; pandapower's interior
    point returns a value strictly inside. Dispatch still agrees."""
    net = case("case9_degenerate")
    d = Dispatcher(net)
    res = d.solve()
    pp.rundcopp(net)
    assert np.abs(res.gen_p_mw - net.res_gen.p_mw).max() < MW_TOL
    left = (res.cost_usd - d.solve(extra_bus_mw={0: -FD_MW}).cost_usd) / FD_MW
    right = (d.solve(extra_bus_mw={0: FD_MW}).cost_usd - res.cost_usd) / FD_MW
    assert right - left > 1.0
    ours, theirs = res.lmp_usd_per_mwh[0], net.res_bus.lam_p[0]
    assert min(abs(ours - left), abs(ours - right)) < 1e-6
    assert left - 1e-6 <= theirs <= right + 1e-6
    assert min(res.lme_valid_mw.loc[0]) < 1e-6


def test_phase_shifter_and_taps_match_rundcopp():
    net = case("case118_congested")
    net.trafo.loc[0, "shift_degree"] = 8.0
    net.trafo.loc[3, "shift_degree"] = -5.0
    res = dispatch(net)
    assert_matches_rundcopp(net, res)
    assert np.abs(res.branch_flow_mw.loc["trafo"] - net.res_trafo.p_hv_mw).max() < MW_TOL


def test_pwl_costs_match_rundcopp():
    net = pn.case9()
    net.poly_cost.drop(net.poly_cost.index, inplace=True)
    pp.create_pwl_cost(net, 0, "ext_grid", [[0, 100, 20], [100, 250, 45]])
    pp.create_pwl_cost(net, 0, "gen", [[0, 150, 25], [150, 300, 35]])
    pp.create_pwl_cost(net, 1, "gen", [[0, 200, 30], [200, 270, 50]])
    res = dispatch(net)
    pp.rundcopp(net)
    assert np.abs(res.gen_p_mw - net.res_gen.p_mw).max() < MW_TOL
    assert np.abs(res.ext_grid_p_mw - net.res_ext_grid.p_mw).max() < MW_TOL
    assert np.abs(res.lmp_usd_per_mwh - net.res_bus.lam_p).max() < LMP_TOL
    assert res.cost_usd == pytest.approx(net.res_cost, rel=1e-6)


def test_nonconvex_pwl_refused():
    net = pn.case9()
    net.poly_cost.drop(net.poly_cost.index, inplace=True)
    pp.create_pwl_cost(net, 0, "gen", [[0, 150, 35], [150, 300, 25]])
    with pytest.raises(ValueError, match="not convex"):
        Dispatcher(net)


def test_sgens_fuel_mix_water_and_overrides():
    net = case("case30")
    pp.create_sgen(net, 5, p_mw=30, controllable=True, min_p_mw=0, max_p_mw=30)
    pp.create_sgen(net, 7, p_mw=12, controllable=False)
    pp.create_poly_cost(net, 0, "sgen", cp1_eur_per_mw=1.5)
    net.gen["fuel"] = ["gas", "coal", "gas", "hydro", "oil"]
    net.sgen["fuel"] = ["wind", "solar"]
    net.gen["water_l_per_mwh"] = [700.0, 2000.0, 700.0, 0.0, 1000.0]
    d = Dispatcher(net, name="ieee30")
    res = d.solve()
    assert_matches_rundcopp(net, res)
    assert res.sgen_p_mw[1] == pytest.approx(12.0)  # must-take
    out = pd.concat([res.gen_p_mw, res.sgen_p_mw, res.ext_grid_p_mw])
    assert res.fuel_mix_mw.sum() == pytest.approx(out.sum(), abs=1e-9)
    assert res.fuel_mix_mw["wind"] == pytest.approx(res.sgen_p_mw[0], abs=1e-9)
    assert res.fuel_mix_mw["unknown"] == pytest.approx(res.ext_grid_p_mw.sum(), abs=1e-9)
    expect_co2 = (res.gen_p_mw * net.gen.co2_kg_per_mwh).sum() + (res.ext_grid_p_mw * net.ext_grid.co2_kg_per_mwh).sum()
    assert res.emissions_kg == pytest.approx(expect_co2, rel=1e-12)
    assert res.avg_intensity_kg_per_mwh == pytest.approx(expect_co2 / out.clip(lower=0).sum(), rel=1e-12)
    assert res.water_l == pytest.approx((res.gen_p_mw * net.gen.water_l_per_mwh).sum(), rel=1e-12)
    # availability: controllable sgen capped, must-take sgen injects the given value, gen capped
    r2 = d.solve(sgen_max_mw={0: 10.0, 1: 3.0}, gen_max_mw={1: 20.0})
    assert r2.sgen_p_mw[0] == pytest.approx(10.0, abs=1e-9)
    assert r2.sgen_p_mw[1] == pytest.approx(3.0)
    assert r2.gen_p_mw[1] <= 20.0 + 1e-9
    # the same hour through pandapower
    net2 = copy.deepcopy(net)
    net2.sgen.loc[0, "max_p_mw"] = 10.0
    net2.sgen.loc[1, "p_mw"] = 3.0
    net2.gen.loc[1, "max_p_mw"] = 20.0
    assert_matches_rundcopp(net2, r2)
    # loads and data-center load: same as editing the net
    r3 = d.solve(load_mw={3: 40.0}, extra_bus_mw={11: 25.0})
    net3 = copy.deepcopy(net)
    net3.load.loc[3, "p_mw"] = 40.0 / net3.load.scaling[3]
    pp.create_load(net3, 11, p_mw=25.0)
    assert_matches_rundcopp(net3, r3)
    with pytest.raises(ValueError, match="ieee30: extra_bus_mw: unknown index"):
        d.solve(extra_bus_mw={9999: 1.0})
    with pytest.raises(ValueError, match="load_mw"):
        d.solve(load_mw={0: float("nan")})


def test_quadratic_cost_refused():
    net = pn.case30()  # ships with cp2 != 0
    with pytest.raises(ValueError, match="cp2_eur_per_mw2"):
        Dispatcher(net)


def test_net_is_not_modified():
    net = case("case9")
    before = (net.gen.copy(), net.load.copy(), net.poly_cost.copy(), set(net.keys()))
    Dispatcher(net).solve()
    pd.testing.assert_frame_equal(net.gen, before[0])
    pd.testing.assert_frame_equal(net.load, before[1])
    pd.testing.assert_frame_equal(net.poly_cost, before[2])
    assert set(net.keys()) == before[3]


# ---------------------------------------------------------------- LMEs
def _fd_check(d: Dispatcher, res: DispatchResult, buses) -> int:
    """LME at each bus against (emissions(+/-0.01 MW) - emissions) / delta; returns sides checked."""
    checked = 0
    for b in buses:
        lme = res.lme_kg_per_mwh[b]
        valid = res.lme_valid_mw.loc[b]
        for delta, room in ((FD_MW, valid.up_mw), (-FD_MW, valid.down_mw)):
            if room < abs(delta):  # the basis changes within 0.01 MW: one-sided LME
                continue
            fd = (d.solve(extra_bus_mw={b: delta}).emissions_kg - res.emissions_kg) / delta
            assert abs(fd - lme) <= LME_REL * max(abs(lme), 1.0), (b, delta, lme, fd)
            checked += 1
    return checked


def test_lme_finite_differences_case30_every_bus():
    net = case("case30")
    d = Dispatcher(net)
    res = d.solve()
    assert res.congested_branches
    assert res.lme_kg_per_mwh.max() - res.lme_kg_per_mwh.min() > 10.0  # congestion separates LMEs
    n = _fd_check(d, res, net.bus.index)
    assert n >= 2 * len(net.bus) - 4


def test_lme_finite_differences_case118_sample_congested_and_not():
    for name in ("case118", "case118_congested"):
        net = case(name)
        d = Dispatcher(net)
        res = d.solve()
        sample = net.bus.index[::8]
        n = _fd_check(d, res, sample)
        assert n >= 2 * len(sample) - 2
        if name == "case118_congested":
            assert res.lme_kg_per_mwh.nunique() > 5


def test_lme_equals_reduced_basis_solve():
    """The HiGHS back-solve and the basis restricted to binding rows give the same LMEs."""
    net = case("case118_congested")
    d = Dispatcher(net)
    res = d.solve()
    st, basic = d.h.getBasicVariables()
    CB = basic[basic >= 0]
    nonbasic = np.ones(len(d._model_rows), bool)
    nonbasic[-1 - basic[basic < 0]] = False
    RN = d._model_rows[nonbasic]
    M = d.A_full[np.ix_(RN, CB)]
    y = np.linalg.solve(M.T, d.col_co2[CB])
    lme = y @ d.A_bus[RN, :]
    ib = d._netbus_to_i
    assert np.allclose(res.lme_kg_per_mwh.to_numpy(), lme[ib], rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("name", ["case30", "case118_congested"])
def test_lme_validity_range_edges(name):
    net = case(name)
    d = Dispatcher(net)
    res = d.solve()
    buses = net.bus.index[:: max(1, len(net.bus) // 10)]
    edges = 0
    for b in buses:
        lme = res.lme_kg_per_mwh[b]
        for side, sign in (("up_mw", 1.0), ("down_mw", -1.0)):
            w = res.lme_valid_mw.loc[b, side]
            if not np.isfinite(w) or w < 0.05:
                continue
            inside = d.solve(extra_bus_mw={b: sign * (w - 0.01)})
            outside = d.solve(extra_bus_mw={b: sign * (w + 0.01)})
            assert abs(inside.lme_kg_per_mwh[b] - lme) <= LME_REL * max(abs(lme), 1.0), (b, side)
            assert abs(outside.lme_kg_per_mwh[b] - lme) > 1e-3, (b, side, w)
            # and the new LME is the true slope beyond the edge (finite difference there)
            e2 = d.solve(extra_bus_mw={b: sign * (w + 0.02)}).emissions_kg
            fd = (e2 - outside.emissions_kg) / (sign * 0.01)
            assert fd == pytest.approx(outside.lme_kg_per_mwh[b], rel=1e-5, abs=1e-4)
            edges += 1
    assert edges >= len(buses)


# ---------------------------------------------------------------- shortfall
def _two_bus():
    net = pp.create_empty_network()
    b0 = pp.create_bus(net, 110)
    b1 = pp.create_bus(net, 110)
    pp.create_ext_grid(net, b0, min_p_mw=0, max_p_mw=100)
    pp.create_line_from_parameters(net, b0, b1, 10, 0.1, 0.4, 10, max_i_ka=50 / (110 * 3 ** 0.5),
                                   max_loading_percent=100)
    pp.create_load(net, b1, p_mw=60)
    pp.create_gen(net, b1, p_mw=0, min_p_mw=0, max_p_mw=20, controllable=True)
    pp.create_poly_cost(net, 0, "ext_grid", cp1_eur_per_mw=20)
    pp.create_poly_cost(net, 0, "gen", cp1_eur_per_mw=50)
    return net


def test_load_beyond_deliverable_capacity_sheds_excess_at_voll():
    net = _two_bus()
    d = Dispatcher(net, name="tiny", voll_usd_per_mwh=5000.0)
    ok = d.solve()
    assert ok.shed_mw.sum() == 0 and ok.message == ""
    assert_matches_rundcopp(net, ok)
    # 90 MW at bus 1: 50 MW over the line + 20 MW local = 70 MW deliverable -> shed 20 MW
    with pytest.warns(LoadShedWarning, match="tiny.*2026-01-01T05:00Z.*shed 20.000 MW"):
        res = d.solve(load_mw={0: 90.0}, hour_label="2026-01-01T05:00Z")
    assert res.shed_mw[1] == pytest.approx(20.0, abs=1e-9)
    assert res.shed_mw[0] == 0.0
    assert res.lmp_usd_per_mwh[1] == pytest.approx(5000.0)
    assert res.lmp_usd_per_mwh[0] == pytest.approx(20.0)
    assert "'tiny'" in res.message and "2026-01-01T05:00Z" in res.message and "5000" in res.message
    assert res.gen_p_mw[0] == pytest.approx(20.0) and res.ext_grid_p_mw[0] == pytest.approx(50.0)
    assert res.cost_usd == pytest.approx(50 * 20 + 20 * 50)
    assert res.objective_usd == pytest.approx(res.cost_usd + 20 * 5000.0)
    # one more MW at bus 1 is shed, emits nothing; valid down to the edge of shedding
    assert res.lme_kg_per_mwh[1] == 0.0
    assert res.lme_valid_mw.loc[1, "down_mw"] == pytest.approx(20.0)


def test_fleet_short_of_total_load_sheds_exactly_the_excess():
    net = case("case9")
    net.line["max_loading_percent"] = np.nan  # unlimited: only the fleet is short
    cap = net.gen.max_p_mw.sum() + net.ext_grid.max_p_mw.sum()
    d = Dispatcher(net, name="nine")
    scale = (cap + 40.0) / net.load.p_mw.sum()
    with pytest.warns(LoadShedWarning, match="nine"):
        res = d.solve(load_scale=scale, hour_label=7)
    assert res.shed_mw.sum() == pytest.approx(40.0, abs=1e-6)
    assert np.allclose(res.lmp_usd_per_mwh, d.voll)
    assert res.gen_p_mw.sum() + res.ext_grid_p_mw.sum() == pytest.approx(cap, abs=1e-6)


def test_over_generation_spills_must_take_output():
    net = pp.create_empty_network()
    b0 = pp.create_bus(net, 110)
    b1 = pp.create_bus(net, 110)
    pp.create_gen(net, b0, p_mw=0, min_p_mw=0, max_p_mw=100, controllable=True, slack=True)
    pp.create_line_from_parameters(net, b0, b1, 10, 0.1, 0.4, 10, max_i_ka=1)
    pp.create_load(net, b0, p_mw=10)
    pp.create_sgen(net, b1, p_mw=30)
    pp.create_poly_cost(net, 0, "gen", cp1_eur_per_mw=20)
    with pytest.warns(LoadShedWarning, match="over-generation: spilled 20.000 MW"):
        res = Dispatcher(net, name="windy", spill_usd_per_mwh=300.0).solve(hour_label=3)
    assert res.spill_mw[1] == pytest.approx(20.0)
    assert res.lmp_usd_per_mwh[0] == pytest.approx(-300.0)


# ---------------------------------------------------------------- warm start
def test_warm_start_24_hours_equals_cold_solves():
    net = case("case118_congested")
    d = Dispatcher(net)
    hours = 0.8 + 0.3 * np.sin(np.linspace(0, 2 * np.pi, 24, endpoint=False)) ** 2
    for h, s in enumerate(hours):
        warm = d.solve(load_scale=s, hour_label=h)
        cold = Dispatcher(net).solve(load_scale=s, hour_label=h)
        assert np.abs(warm.gen_p_mw - cold.gen_p_mw).max() < 1e-6
        assert np.abs(warm.ext_grid_p_mw - cold.ext_grid_p_mw).max() < 1e-6
        assert np.abs(warm.lmp_usd_per_mwh - cold.lmp_usd_per_mwh).max() < 1e-6
        assert np.abs(warm.lme_kg_per_mwh - cold.lme_kg_per_mwh).max() < 1e-6
        assert np.abs(warm.lme_valid_mw - cold.lme_valid_mw).to_numpy().max() < 1e-6
        assert warm.cost_usd == pytest.approx(cold.cost_usd, rel=1e-10)
    # the warm sequence is also what pandapower finds at one of those hours
    net.load["scaling"] = hours[5]
    assert_matches_rundcopp(net, d.solve(load_scale=hours[5]))


def test_dispatch_after_another_highs_solve_in_the_process():
    """HiGHS keeps one thread scheduler per process: a Dispatcher built after some other
    HiGHS solve (cvxpy's, here a bare highspy one with default options) must still
    dispatch. It failed every hour with "HiGHS did not find an optimal dispatch (Not Set)"
    when the Dispatcher asked for threads=1 after the scheduler had started with more."""
    import highspy

    other = highspy.Highs()
    other.setOptionValue("output_flag", False)
    other.addVar(0.0, 1.0)
    other.changeColCost(0, 1.0)
    other.run()
    net = linear_costs(pn.case9(), seed=0)
    result = Dispatcher(net, name="case9").solve()
    assert result.load_mw == pytest.approx(float(net.load.p_mw.sum()), rel=1e-9)
    assert result.shed_total_mw == pytest.approx(0.0, abs=1e-9)
