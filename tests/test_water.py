"""On-site WUE from wet-bulb temperature, off-site EWIF from the dispatched mix, and the
wet-bulb climatology of the 10 paper locations."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cosim.errors import InputError
from grids.water import offsite_ewif_l_per_kwh, onsite_wue_l_per_kwh, onsite_wue_series, wet_bulb_f, wetbulb_climatology

GAL = 3.78541
PAPER_SITES = ["Virginia", "Georgia", "Texas", "Nevada", "Belgium", "Netherlands", "Germany", "Denmark",
               "Singapore", "Japan"]


@pytest.mark.parametrize("tw, expected", [
    # 6/5 x (6e-5 Tw^3 - 0.01 Tw^2 + 0.61 Tw - 10.4), by hand:
    (60.0, 1.2 * (12.96 - 36.0 + 36.6 - 10.4)),    # 3.792
    (70.0, 1.2 * (20.58 - 49.0 + 42.7 - 10.4)),    # 4.656
    (80.0, 1.2 * (30.72 - 64.0 + 48.8 - 10.4)),    # 6.144
    (30.0, 1.2 * (1.62 - 9.0 + 18.3 - 10.4)),      # 0.624
    (20.0, 0.05),                                  # 6/5 x (-1.72) < 0: the floor
    (0.0, 0.05),
])
def test_onsite_wue_hand_computed(tw, expected):
    assert onsite_wue_l_per_kwh(tw) == pytest.approx(expected, abs=1e-9)


def test_onsite_wue_values_rounded():
    assert onsite_wue_l_per_kwh(60) == pytest.approx(3.792)
    assert onsite_wue_l_per_kwh(70) == pytest.approx(4.656)
    assert onsite_wue_l_per_kwh(80) == pytest.approx(6.144)


def test_onsite_wue_vectorized_monotone_and_cycles():
    tw = np.linspace(25.0, 95.0, 141)
    w = onsite_wue_l_per_kwh(tw)
    assert isinstance(w, np.ndarray) and w.shape == tw.shape
    assert (np.diff(w) >= 0).all()
    assert (np.diff(w[tw >= 30]) > 0).all()     # strictly increasing above the floor
    assert w.min() >= 0.05
    s = pd.Series([60.0, 70.0, np.nan], index=list("abc"), name="tw")
    ws = onsite_wue_l_per_kwh(s)
    assert list(ws.index) == list("abc") and np.isnan(ws["c"])
    assert ws["a"] == pytest.approx(3.792)
    # c cycles of concentration: factor c / (c - 1)
    assert onsite_wue_l_per_kwh(60, cycles=3) == pytest.approx(1.5 * 3.16)
    assert onsite_wue_l_per_kwh(60, cycles=6.0) == pytest.approx(1.2 * 3.16)
    with pytest.raises(InputError, match="cycles"):
        onsite_wue_l_per_kwh(60, cycles=1)


def test_ewif_of_simple_mixes():
    assert offsite_ewif_l_per_kwh({"gas": 100.0}) == pytest.approx(300 * GAL / 1000)
    assert offsite_ewif_l_per_kwh({"coal": 50.0, "wind": 50.0}) == pytest.approx(225 * GAL / 1000)
    assert offsite_ewif_l_per_kwh(pd.Series({"nuclear": 1.0, "solar": 3.0})) == pytest.approx(150 * GAL / 1000)
    # a dispatched unit table (p_mw + fuel); an exporting ext_grid (p < 0) is not generation
    units = pd.DataFrame({"fuel": ["gas", "gas", "hydro"], "p_mw": [30.0, 70.0, -20.0]})
    assert offsite_ewif_l_per_kwh(units) == pytest.approx(300 * GAL / 1000)
    # hours x fuels: one value per hour
    hours = pd.DataFrame({"coal": [50.0, 0.0, 0.0], "wind": [50.0, 10.0, 0.0]})
    e = offsite_ewif_l_per_kwh(hours)
    assert e.iloc[0] == pytest.approx(225 * GAL / 1000) and e.iloc[1] == 0.0 and np.isnan(e.iloc[2])
    with pytest.raises(InputError, match="unknown fuel"):
        offsite_ewif_l_per_kwh({"plutonium": 1.0})


def test_ewif_of_a_dispatched_net():
    pytest.importorskip("pandapower")
    from grids.reference import dispatched_units, run_dcopp
    from grids.registry import build_region
    rg = build_region("singapore", seed=0)
    rg.apply_hour("2022-09-22T00:00Z")  # 08:00 local
    run_dcopp(rg.net)
    u = dispatched_units(rg.net)
    e = offsite_ewif_l_per_kwh(u)
    # almost all gas: close to 300 gal/MWh
    assert e == pytest.approx(300 * GAL / 1000, rel=0.05)
    mix = u[u.p_mw > 0].groupby("fuel")["p_mw"].sum()
    assert offsite_ewif_l_per_kwh(mix) == pytest.approx(e)


def test_wet_bulb_profiles_of_the_paper_sites():
    clim = wetbulb_climatology()
    assert sorted(clim) == sorted(PAPER_SITES + ["Seattle", "Phoenix", "Chicago", "New York"])
    for site in clim:
        tw = wet_bulb_f(site, "2022-09-22T00:00Z", 48)
        c = clim[site]
        assert len(tw) == 48 and tw.index.tz is not None
        assert tw.mean() == pytest.approx(c["tw_mean_f"], abs=1e-9)
        assert tw.max() - tw.min() == pytest.approx(c["tw_amplitude_f"], rel=0.02)
        hot = tw.index[tw.argmax()].tz_convert(c["timezone"]).hour
        assert abs(hot - c["peak_hour_local"]) <= 1
        assert 30 < tw.min() and tw.max() < 85
    # Singapore is the most humid and hot: the highest WUE; Nevada (dry) the lowest
    means = {s: onsite_wue_series(s, "2022-09-22", 24).mean() for s in PAPER_SITES}
    assert max(means, key=means.get) == "Singapore" and min(means, key=means.get) == "Nevada"
    with pytest.raises(InputError, match="no wet-bulb climatology"):
        wet_bulb_f("Atlantis", "2022-09-22", 2)
