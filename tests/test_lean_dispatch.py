"""The co-simulation's lean dispatch path (issue 15): RegionGrid.dispatch skips the LMEs'
validity ranges and takes the sites' load without pandas, and gives the very numbers of
the full DC-OPF result, hour after hour on one warm-started dispatcher."""
import dataclasses
import warnings

import numpy as np
import pytest

from grids.outcome import HourOutcome
from grids.registry import build_region


def _outcome_from_full(grid, result, hour):
    """An HourOutcome built from the full result (validity ranges computed), as before."""
    p = np.concatenate([result.p_mw[t] for t in grid._unit_tables])
    from grids.outcome import zone_average
    lmp = result.bus_lmp_usd_per_mwh
    return HourOutcome(
        price_usd_per_mwh=lmp[grid._site_pos],
        carbon_kg_per_kwh=(zone_average(grid._unit_zone, p, grid._co2, grid._zone_count) / 1000.0)[grid._zone_of_site],
        lme_kg_per_kwh=result.bus_lme_kg_per_mwh[grid._site_pos] / 1000.0,
        wue_l_per_kwh=grid._wue[hour],
        ewif_l_per_kwh=(zone_average(grid._unit_zone, p, grid._water, grid._zone_count) / 1000.0)[grid._zone_of_site],
        emissions_kg=float(result.emissions_kg), cost_usd=float(result.cost_usd),
        consumers_cost_usd=float(np.nansum(lmp[grid._load_pos] * grid._load_mw[hour])),
        demand_mw=float(result.load_mw), shed_mw=result.shed_total_mw)


@pytest.mark.parametrize("region", ["nevada", "eu"])  # both have tied costs (degenerate hours)
def test_lean_dispatch_equals_the_full_result(region):
    lean = build_region(region, seed=0).for_hours("2022-09-22T00:00Z", 12)
    full = build_region(region, seed=0).for_hours("2022-09-22T00:00Z", 12)
    rng = np.random.default_rng(3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for k in range(12):
            mw = None if k % 3 == 0 else rng.uniform(0, 400, len(lean.sites))
            a = lean.dispatch(k, mw)
            r = full.solve_hour(k, mw)
            assert np.isfinite(r.bus_lme_valid_mw).any()  # the full path computed the ranges
            b = _outcome_from_full(full, r, k)
            for f in dataclasses.fields(HourOutcome):
                np.testing.assert_allclose(getattr(a, f.name), getattr(b, f.name), rtol=1e-12, atol=1e-12,
                                           err_msg=f"{region} hour {k}: {f.name}")
    assert lean.dispatcher.solves == 12 and lean.dispatcher.lp_s > 0


def test_validity_only_when_asked():
    grid = build_region("us_east", seed=0).for_hours("2022-09-22T00:00Z", 2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = grid.solve_hour(0, np.zeros(len(grid.sites)), validity=False)
        assert np.isnan(r.bus_lme_valid_mw).all() and np.isfinite(r.bus_lme_kg_per_mwh).any()
        r = grid.solve_hour(1, np.zeros(len(grid.sites)))
        assert np.isfinite(r.bus_lme_valid_mw).any()


@pytest.mark.slow  # a 2-hour paper10 run: about 15 s on a quiet machine
def test_summary_timings_count_every_dispatch_and_decision(tmp_path):
    from cosim.runner import run_scenario
    from cosim.scenario_files import load_scenario, resolve_scenario_path

    scenario = load_scenario(resolve_scenario_path("paper10")).model_copy(update={"hours": 2})
    result = run_scenario(scenario, policies=["cost-glb", "se-glb"], out=tmp_path)
    import json
    timings = json.loads((tmp_path / "summary.json").read_text())["timings"]
    assert timings == result.timings
    grids, hours = 6, 2  # paper10's six shipped nets
    runs = timings["per_policy"]
    assert set(runs) == {"cost-glb", "se-glb", "nearest (baseline)"}
    # decision instance: 2 passes; 3 co-simulations realize; the shared hours without data centers once
    assert timings["dispatch_count"] == (2 + 3 + 1) * grids * hours
    assert sum(r["dispatch_count"] for r in runs.values()) == (3 + 1) * grids * hours
    assert timings["decisions"] == 3 and all(r["decisions"] == 1 for r in runs.values())
    assert 0 < timings["dispatch_solver_s"] < timings["wall_s"]
    assert timings["glb_solver_s"] == sum(r["glb_solver_s"] for r in runs.values())
