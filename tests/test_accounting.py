"""The accounting of DESIGN.md on hand-built grids whose dispatch can be solved by hand.

Two single-bus regions dispatched by grids.opf (merit order, so every number below is
arithmetic):

- A, clean on average, coal on the margin: hydro 900 MW at 5 USD/MWh (0 kg/MWh), coal
  500 MW at 30 (1000 kg/MWh), gas peaker 2000 MW at 60 (400 kg/MWh); load 1000 MW.
- B, dirty on average, gas on the margin: lignite 800 MW at 10 (1000 kg/MWh), gas 1000 MW
  at 40 (400 kg/MWh); load 1000 MW.
"""
from __future__ import annotations

import math

import numpy as np
import pandapower as pp
import pytest

from cosim.accounting import (
    attributional_kg,
    consequential_kg,
    consumers_cost_change_usd,
    first_order_kg,
    rebound,
    rebound_reason,
)
from grids.opf import Dispatcher


def _region(units: list[tuple[float, float, float]], load_mw: float) -> Dispatcher:
    """A one-bus net: units (max MW, USD/MWh, kg/MWh), the first one the slack."""
    net = pp.create_empty_network()
    bus = pp.create_bus(net, 110)
    pp.create_load(net, bus, p_mw=load_mw)
    for n, (p_max, cost, _co2) in enumerate(units):
        pp.create_gen(net, bus, p_mw=0, min_p_mw=0, max_p_mw=p_max, controllable=True, slack=n == 0)
        pp.create_poly_cost(net, n, "gen", cp1_eur_per_mw=cost)
    net.gen["co2_kg_per_mwh"] = [co2 for _, _, co2 in units]
    return Dispatcher(net, name="hand")


@pytest.fixture()
def grids():
    a = _region([(900, 5, 0), (500, 30, 1000), (2000, 60, 400)], 1000)
    b = _region([(800, 10, 1000), (1000, 40, 400)], 1000)
    return a, b


def _at(dispatcher: Dispatcher, dc_mw: float):
    return dispatcher.solve(extra_bus_mw={0: dc_mw})


def test_shifting_on_average_intensity_lowers_attributional_but_raises_consequential(grids):
    """A 50 MW data center in B moved to A, because A's average intensity is lower.

    In B (load 1050): lignite 800 + gas 250, average (800 000 + 100 000) / 1050 = 857.1 kg/MWh.
    In A (load 1050): hydro 900 + coal 150, average 150 000 / 1050 = 142.9 kg/MWh.
    Attributional: 50 x 857.1 = 42 857 kg in B, 50 x 142.9 = 7 143 kg in A: down 35 714 kg.
    Consequential: in B the 50 MW is gas (50 x 400 = 20 000 kg), in A coal (50 x 1000 =
    50 000 kg): the system emits 30 000 kg more per hour.
    """
    a, b = grids
    a0, b0 = _at(a, 0.0), _at(b, 0.0)
    a50, b50 = _at(a, 50.0), _at(b, 50.0)
    in_b = {"attributional": attributional_kg([50.0], [b50.avg_intensity_kg_per_mwh]),
            "consequential": consequential_kg(b50.emissions_kg, b0.emissions_kg)}
    in_a = {"attributional": attributional_kg([50.0], [a50.avg_intensity_kg_per_mwh]),
            "consequential": consequential_kg(a50.emissions_kg, a0.emissions_kg)}
    assert in_b["attributional"] == pytest.approx(50 * 900_000 / 1050)
    assert in_a["attributional"] == pytest.approx(50 * 150_000 / 1050)
    assert in_b["consequential"] == pytest.approx(20_000)
    assert in_a["consequential"] == pytest.approx(50_000)
    assert in_a["attributional"] - in_b["attributional"] == pytest.approx(-35_714.29, abs=0.01)
    assert in_a["consequential"] - in_b["consequential"] == pytest.approx(30_000)


def test_first_order_equals_realized_for_a_small_load_and_misses_for_a_large_one(grids):
    """A's LME at decision time (no data center) is coal's 1000 kg/MWh.

    1 MW: coal covers it, realized = first-order = 1000 kg.
    600 MW: coal has 400 MW left, the gas peaker takes 200 MW: realized 400 x 1000 +
    200 x 400 = 480 000 kg against a first-order 600 000 kg: the gap is -120 000 kg (the
    next unit in the merit order is cleaner than the marginal one seen when deciding).
    """
    a, _ = grids
    seen = _at(a, 0.0)
    lme = seen.lme_kg_per_mwh[0]
    assert lme == pytest.approx(1000.0)
    for dc_mw, realized in ((1.0, 1000.0), (600.0, 480_000.0)):
        after = _at(a, dc_mw)
        assert consequential_kg(after.emissions_kg, seen.emissions_kg) == pytest.approx(realized)
        assert first_order_kg([dc_mw], [lme]) == pytest.approx(1000.0 * dc_mw)
    small_gap = consequential_kg(_at(a, 1.0).emissions_kg, seen.emissions_kg) - first_order_kg([1.0], [lme])
    large_gap = consequential_kg(_at(a, 600.0).emissions_kg, seen.emissions_kg) - first_order_kg([600.0], [lme])
    assert abs(small_gap) < 1e-6
    assert large_gap == pytest.approx(-120_000.0)


def test_who_pays(grids):
    """600 MW more in A moves its LMP from coal's 30 to the peaker's 60 USD/MWh: the 1000 MW
    of background load pays 30 000 USD more in that hour."""
    a, _ = grids
    before, after = _at(a, 0.0), _at(a, 600.0)
    assert after.lmp_usd_per_mwh[0] == pytest.approx(60.0) and before.lmp_usd_per_mwh[0] == pytest.approx(30.0)
    change = consumers_cost_change_usd(after.lmp_usd_per_mwh.to_numpy(), before.lmp_usd_per_mwh.to_numpy(), np.array([1000.0]))
    assert change == pytest.approx(30_000.0)


def test_rebound():
    assert rebound(100.0, 100.0) == 0.0
    assert rebound(100.0, 25.0) == pytest.approx(0.75)
    assert rebound(100.0, -50.0) == pytest.approx(1.5)  # the move made things worse
    assert math.isnan(rebound(0.0, 10.0))


def test_rebound_is_not_defined_without_a_predicted_saving():
    """A policy predicted to lose 1 t that lost only 0.5 t did better than predicted; the old
    1 - realized / predicted called that a rebound of 0.5 (half the saving taken back)."""
    assert math.isnan(rebound(-1.0, -0.5))
    assert math.isnan(rebound(-1.0, -2.0))
    assert math.isnan(rebound(1e-12, 5.0, scale=1000.0))  # round-off of a 1000 t baseline: nothing predicted
    assert rebound(1e-3, 1e-3, scale=1000.0) == 0.0
    assert rebound_reason(100.0, 50.0, unit="t") is None
    assert rebound_reason(-1.0, -0.5, unit="t") == "not defined: a loss predicted (-1 t saved predicted, -0.5 t realized)"
    assert rebound_reason(0.0, 3.0, unit="USD").startswith("not defined: no saving predicted")
