"""Balancing-area grids (grids.ba_fleet, grids.balancing_area): a hand-built BA whose
marginal fuel is known, the fleet read from a file, agreement with pandapower's rundcopp
and with the vectorised merit order, water values against the daily hydro energy."""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from grids.ba_fleet import BalancingAreaFleet, fit_fleet, merit_order, parameters
from grids.balancing_area import build_balancing_area, year_baseline
from grids.eia930 import FUEL_COLUMNS, GenerationByFuel
from grids.errors import InputError
from grids.reference import run_dcopp

START = pd.Timestamp("2022-07-11T00:00Z")


def _data(mw: dict[str, np.ndarray], start=START) -> GenerationByFuel:
    hours = len(next(iter(mw.values())))
    times = pd.date_range(start, periods=hours, freq="h", name="time")
    frame = pd.DataFrame({c: np.asarray(mw.get(c, np.zeros(hours)), float) for c in FUEL_COLUMNS}, index=times)
    return GenerationByFuel(source="<test>", mw=frame, notes=(), unfilled=())


def _two_fuel_fleet(hours: int = 3) -> tuple[GenerationByFuel, BalancingAreaFleet]:
    """Nuclear fixed at 200 MW, a coal band of 500 MW at 30 USD/MWh, a gas band of 500 MW at
    50 USD/MWh; demand 400 MW."""
    data = _data({"NUC": np.full(hours, 200.0), "COL": np.full(hours, 200.0)})
    units = pd.DataFrame({
        "code": ["NUC", "COL", "NG"], "fuel": ["nuclear", "coal", "gas"], "kind": ["must-take", "band", "band"],
        "heat_rate_mmbtu_per_mwh": [np.nan, 10.0, 7.0], "co2_kg_per_mwh": [15.0, 968.0, 440.0],
        "water_l_per_mwh": [2271.246, 1703.4345, 1135.623]},
        index=pd.Index(["NUC must-take", "COL band 1", "NG band 1"], name="name"))
    times = data.mw.index
    fleet = BalancingAreaFleet(
        name="TWO", units=units,
        available_mw=pd.DataFrame({"NUC must-take": 200.0, "COL band 1": 500.0, "NG band 1": 500.0}, index=times),
        cost_usd_per_mwh=pd.DataFrame({"NUC must-take": 0.0, "COL band 1": 30.0, "NG band 1": 50.0}, index=times),
        demand_mw=pd.Series(400.0, index=times), observed_mw=data.mw)
    return data, fleet


def test_two_fuel_ba_marginal_fuel_and_switch_point():
    data, fleet = _two_fuel_fleet()
    grid = build_balancing_area(data, ["Virginia"], fleet=fleet).for_hours(START, 3)
    # 400 MW: nuclear 200, coal 200 and marginal
    base = grid.dispatch(0, None)
    assert base.lme_kg_per_kwh[0] == pytest.approx(0.968, abs=1e-9)
    assert base.price_usd_per_mwh[0] == pytest.approx(30.0, abs=1e-9)
    assert base.carbon_kg_per_kwh[0] == pytest.approx((200 * 15 + 200 * 968) / 400 / 1000, abs=1e-12)
    # +250 MW of data center: coal 450, still marginal; +350 MW: coal full at 500, gas 50 marginal
    mid = grid.dispatch(1, np.array([250.0]))
    assert mid.lme_kg_per_kwh[0] == pytest.approx(0.968, abs=1e-9) and mid.price_usd_per_mwh[0] == pytest.approx(30.0)
    high = grid.dispatch(2, np.array([350.0]))
    assert high.lme_kg_per_kwh[0] == pytest.approx(0.440, abs=1e-9) and high.price_usd_per_mwh[0] == pytest.approx(50.0)
    assert high.emissions_kg == pytest.approx(200 * 15 + 500 * 968 + 50 * 440, rel=1e-12)
    assert high.demand_mw == pytest.approx(750.0)
    # the LME's validity range at +250 MW ends where coal fills: 50 MW up, 450 MW down (coal to 0)
    r = grid.dispatcher.solve(load_mw=grid.profiles.load_mw.iloc[1], gen_max_mw=grid.profiles.gen_max_mw.iloc[1],
                              gen_cost_usd_per_mwh=grid.profiles.gen_cost_usd_per_mwh.iloc[1],
                              extra_bus_mw=pd.Series([250.0], index=grid._site_bus))
    valid = r.lme_valid_mw.loc[grid._site_bus[0]]
    assert valid["up_mw"] == pytest.approx(50.0, abs=1e-6) and valid["down_mw"] == pytest.approx(450.0, abs=1e-6)


def test_two_fuel_ba_beyond_the_fleet_sheds_at_voll():
    data, fleet = _two_fuel_fleet()
    grid = build_balancing_area(data, ["Virginia"], fleet=fleet).for_hours(START, 3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = grid.dispatch(0, np.array([900.0]))  # 1300 MW asked, 1200 MW of fleet
    assert out.shed_mw == pytest.approx(100.0, abs=1e-6)
    assert out.price_usd_per_mwh[0] == pytest.approx(10000.0)


def _synthetic_ba(days: int = 4) -> GenerationByFuel:
    """A BA whose gas follows a daily cycle over steady coal, with nuclear, hydro and wind."""
    h = np.arange(24 * days)
    cycle = np.sin(2 * np.pi * (h % 24) / 24)
    return _data({"NUC": np.full(h.size, 1000.0), "COL": 2000 + 100 * cycle, "NG": 1500 + 700 * cycle,
                  "WAT": 800 + 300 * cycle, "WND": 300 + 200 * np.cos(2 * np.pi * h / 37), "OTH": np.full(h.size, 50.0)})


def test_fleet_bands_follow_the_rule_and_contain_the_observation():
    data = _synthetic_ba()
    fleet = fit_fleet(data, "SYN")
    par = parameters()
    obs = data.mw
    k = 40
    w = par["band_window_h"]
    window = obs["NG"].iloc[k - w // 2:k + w - w // 2]  # pandas' centred window of even width
    ramp = obs["NG"].diff().abs().iloc[k - w // 2:k + w - w // 2].mean()
    floor = window.min() - par["ramp_headroom"] * ramp
    ceiling = min(window.max() + par["ramp_headroom"] * ramp, obs["NG"].max())
    avail = fleet.available_mw.iloc[k]
    assert avail["NG must-run"] == pytest.approx(floor, rel=1e-12)
    bands = [u for u in fleet.units.index if u.startswith("NG band")]
    assert len(bands) == par["blocks_per_fuel"]
    assert sum(avail[b] for b in bands) == pytest.approx(ceiling - floor, rel=1e-12)
    # heat rates rise across the blocks, costs = heat rate x July's gas price + VOM
    hr = fleet.units.loc[bands, "heat_rate_mmbtu_per_mwh"].to_numpy()
    assert np.all(np.diff(hr) > 0) and hr[0] == par["heat_rate"]["NG"][0] and hr[-1] == par["heat_rate"]["NG"][1]
    cost = fleet.cost_usd_per_mwh.iloc[k][bands].to_numpy()
    assert cost == pytest.approx(hr * par["fuel_price"]["NG"][6] + par["vom"]["NG"])
    # every hour: must-run <= observed <= must-run + band, for every dispatchable fuel
    for code in ("COL", "NG", "WAT"):
        run = fleet.available_mw[f"{code} must-run"]
        top = run + fleet.available_mw[[u for u in fleet.units.index if u.startswith(f"{code} band")]].sum(axis=1)
        assert (run <= obs[code] + 1e-9).all() and (obs[code] <= top + 1e-9).all()
    # coal has no quick-start capacity (slow start); gas has it up to its maximum in the file
    assert "COL quick-start" not in fleet.units.index
    ng_top = fleet.available_mw["NG must-run"] + fleet.available_mw[bands].sum(axis=1)
    assert np.allclose(fleet.available_mw["NG quick-start"] + ng_top, obs["NG"].max())
    assert fleet.units.loc["WND", "kind"] == "renewable" and fleet.units.loc["NUC must-take", "kind"] == "must-take"


def test_baseline_balances_and_matches_the_vectorised_merit_order():
    data = _synthetic_ba()
    fleet = fit_fleet(data, "SYN")
    base = year_baseline(data)
    gen = base[[f"p_mw:{c}" for c in FUEL_COLUMNS]].sum(axis=1)
    assert np.allclose(gen, fleet.demand_mw, rtol=0, atol=1e-6)  # generation = demand every hour
    fixed = fleet.units["kind"].isin(["must-take", "must-run"]).to_numpy()
    out, marginal = merit_order(fleet.available_mw.to_numpy().T, fleet.cost_usd_per_mwh.to_numpy().T, fixed,
                                fleet.demand_mw.to_numpy())
    by_code = pd.DataFrame(out.T, index=data.mw.index, columns=fleet.units.index).T.groupby(fleet.units["code"]).sum().T
    for code in by_code.columns:
        assert np.allclose(base[f"p_mw:{code}"], by_code[code], atol=1e-6), code
    lme = fleet.units["co2_kg_per_mwh"].to_numpy()[marginal] / 1000.0
    assert np.allclose(base["lme_kg_per_kwh"], lme, atol=1e-9)


def test_water_value_reproduces_the_daily_hydro_energy():
    data = _synthetic_ba()
    base = year_baseline(data, marginal=False)
    day = data.mw.index.floor("D")
    model = base["p_mw:WAT"].groupby(day).sum()
    observed = data.mw["WAT"].groupby(day).sum()
    # the water value is one price per day between the other units' cost levels: the day's
    # energy is matched to within one gas block's share of that day
    assert np.all(np.abs(model / observed - 1) < 0.05)


def test_a_ba_hour_agrees_with_pandapower_rundcopp():
    data = _synthetic_ba(days=2)
    ba = build_balancing_area(data, ["Virginia"])
    grid = ba.for_hours(START, 48)
    checked = 0
    for k in (3, 15, 30, 40):
        ours = grid.dispatcher.solve(load_mw=grid.profiles.load_mw.iloc[k], sgen_max_mw=grid.profiles.sgen_max_mw.iloc[k],
                                     gen_max_mw=grid.profiles.gen_max_mw.iloc[k],
                                     gen_cost_usd_per_mwh=grid.profiles.gen_cost_usd_per_mwh.iloc[k])
        ba.apply_hour(grid.times[k], profiles=grid.profiles)
        run_dcopp(ba.net)
        assert np.allclose(ba.net.res_gen["p_mw"].to_numpy(), ours.gen_p_mw.to_numpy(), atol=1e-3)
        if (ours.lme_valid_mw.iloc[0] > 1.0).all():  # a unique price (not at a block's edge)
            assert ba.net.res_bus["lam_p"].iloc[0] == pytest.approx(float(ours.lmp_usd_per_mwh.iloc[0]), abs=1e-3)
            checked += 1
    assert checked >= 2


def test_a_ba_without_dispatchable_generation_is_refused():
    with pytest.raises(InputError, match="no dispatchable generation"):
        build_balancing_area(_data({"WND": np.full(48, 100.0), "SUN": np.full(48, 50.0)}), ["Virginia"])


def test_a_hydro_only_ba_has_hydro_at_the_margin():
    h = np.arange(72)
    data = _data({"WAT": 900 + 300 * np.sin(2 * np.pi * h / 24), "NUC": np.full(h.size, 100.0)})
    base = year_baseline(data)
    assert np.allclose(base["lme_kg_per_kwh"], 0.014) and np.allclose(base["p_mw:WAT"], data.mw["WAT"], atol=1e-6)


def test_a_horizon_after_apply_hour_starts_from_the_design_limits():
    data = _synthetic_ba(days=2)
    ba = build_balancing_area(data, ["Virginia"])
    before = ba.for_hours(START, 48).dispatch(30, np.array([200.0]))
    ba.apply_hour(START + pd.Timedelta(hours=3))  # writes hour 3's limits and costs into the net
    after = ba.for_hours(START, 48).dispatch(30, np.array([200.0]))
    assert after.emissions_kg == pytest.approx(before.emissions_kg, rel=1e-12)
    assert after.price_usd_per_mwh[0] == pytest.approx(before.price_usd_per_mwh[0], rel=1e-12)
