"""Memory that does not grow with objects per hour (issue 15, deliverable 4): the grids'
dispatch without data centers is kept as arrays over the horizon, not one HourOutcome per
grid-hour, and gives back the outcomes it was given."""
from __future__ import annotations

import dataclasses
from types import SimpleNamespace

import numpy as np

from agents.grid import _SITE_FIELDS, _TOTAL_FIELDS, WithoutDataCenters
from grids.outcome import HourOutcome


class _Grid:
    """A stand-in region grid: hour h's dispatch without data centers, counted."""

    def __init__(self, sites: int):
        self.sites, self.calls = sites, []

    def dispatch(self, hour: int, site_mw):
        assert site_mw is None
        self.calls.append(hour)
        rng = np.random.default_rng(hour)
        return HourOutcome(**{f: rng.uniform(size=self.sites) for f in _SITE_FIELDS},
                           **{f: float(rng.uniform()) for f in _TOTAL_FIELDS})


def _agent(name: str, grid: _Grid, hours: int):
    return SimpleNamespace(name=name, grid=grid, sites=[f"s{k}" for k in range(grid.sites)],
                           background_mw=np.zeros(hours))


def _assert_same(got: HourOutcome, want: HourOutcome) -> None:
    for f in _SITE_FIELDS:
        np.testing.assert_array_equal(getattr(got, f), getattr(want, f))
    assert [getattr(got, f) for f in _TOTAL_FIELDS] == [getattr(want, f) for f in _TOTAL_FIELDS]


def test_every_outcome_field_is_kept():
    assert set(_SITE_FIELDS) | set(_TOTAL_FIELDS) == {f.name for f in dataclasses.fields(HourOutcome)}


def test_outcomes_come_back_equal_dispatched_once_per_grid_hour_and_held_as_arrays():
    hours = 50
    without = WithoutDataCenters()
    a, b = _Grid(3), _Grid(3)
    first, second = _agent("north", a, hours), _agent("north", b, hours)  # two runs' agents of one grid
    other = _agent("south", _Grid(2), hours)
    for h in range(hours):
        _assert_same(without.outcome(first, h), _Grid(3).dispatch(h, None))
        without.outcome(other, h)
    assert a.calls == list(range(hours))
    without.outcome(first, 3)  # asked again: not dispatched again
    _assert_same(without.outcome(second, 17), _Grid(3).dispatch(17, None))
    assert b.calls == [] and a.calls == list(range(hours))  # the second run's agent reads the first one's dispatch
    held = sum(v.nbytes for d in (without._sites, without._totals, without._done) for v in d.values())
    assert held == hours * (8 * 5 * (3 + 2) + 2 * 8 * 5 + 2)  # 8 bytes a value, one flag a grid-hour
