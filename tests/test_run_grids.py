"""One set of grids per run (issue 15): memoized horizons hand each run a fresh dispatcher
(Dispatcher.fresh) that answers exactly as a dispatcher built anew, and RunGrids gives every
pass the notes building the grids would have issued."""
import dataclasses
import warnings

import numpy as np
import pytest

from cosim.errors import DataWarning
from cosim.grid_plan import RunGrids
from grids.outcome import HourOutcome
from grids.registry import build_region

START, HOURS = "2022-09-22T00:00Z", 12


def _stream(grid, seed: int) -> list[HourOutcome]:
    """A run's dispatches: hours with and without data centers, interleaved, warm-started."""
    rng = np.random.default_rng(seed)
    out = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for k in range(HOURS):
            out.append(grid.dispatch(k, rng.uniform(0, 400, len(grid.sites))))
            out.append(grid.dispatch(k, None))
    return out


def _equal(a: list[HourOutcome], b: list[HourOutcome]) -> None:
    for n, (x, y) in enumerate(zip(a, b, strict=True)):
        for f in dataclasses.fields(HourOutcome):
            np.testing.assert_array_equal(getattr(x, f.name), getattr(y, f.name), err_msg=f"dispatch {n}: {f.name}")


@pytest.mark.parametrize("region", ["nevada", "eu"])  # tied costs: results depend on the warm start
def test_memoized_horizon_dispatches_as_a_new_one(region):
    memo = build_region(region, seed=0).with_horizon_memo()
    first = memo.for_hours(START, HOURS)
    used = _stream(first, 1)
    assert first.dispatcher.solves == 2 * HOURS
    second = memo.for_hours(START, HOURS)  # after another run dispatched on the same horizon
    assert second.profiles is first.profiles and second.dispatcher is not first.dispatcher
    assert second.dispatcher.solves == 0 and second.dispatcher.lp_s == 0.0
    assert not second.dispatcher._in_model.any()  # no branch row carried over
    _equal(_stream(second, 2), _stream(build_region(region, seed=0).for_hours(START, HOURS), 2))
    _equal(used, _stream(memo.for_hours(START, HOURS), 1))
    assert memo.for_hours(START, HOURS - 1).profiles is not first.profiles  # another horizon: built


def test_without_memo_every_horizon_is_built():
    grid = build_region("us_east", seed=0)
    assert grid.for_hours(START, 2).profiles is not grid.for_hours(START, 2).profiles
    memo = grid.with_horizon_memo()
    assert memo.with_site_wue({})._horizons == {}  # other WUE, its own horizons


def test_run_grids_are_built_once_and_reissue_their_notes(monkeypatch):
    from cosim import grid_plan
    from cosim.scenario_files import load_scenario, resolve_scenario_path

    path = resolve_scenario_path("paper10")
    scenario = load_scenario(path).model_copy(update={"hours": 2})
    calls = []

    def build(plan, **kw):
        calls.append(kw)
        warnings.warn("a note of the window", DataWarning, stacklevel=1)
        return [build_region(name, seed=kw["seed"]) for name in plan.shipped]

    monkeypatch.setattr(grid_plan, "build_grids", build)
    built = RunGrids(scenario, source=path)
    assert calls == []  # nothing built before it is used
    grids = built.grids
    assert built.grids is grids and len(calls) == 1 and calls[0]["hours"] == 2
    assert built.notes == ("a note of the window",)
    assert all(g._horizons == {} for g in grids)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        built.warn_notes()
    assert [str(w.message) for w in caught] == ["a note of the window"]
