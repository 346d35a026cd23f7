"""GridAgent: one regional power grid (grids/) in the co-simulation."""
from __future__ import annotations

from typing import TYPE_CHECKING

import mesa
import numpy as np

from agents.hour import GridHour
from grids.outcome import HourOutcome

if TYPE_CHECKING:
    import pandas as pd

    from grids.grid import RegionGrid


_SITE_FIELDS = ("price_usd_per_mwh", "carbon_kg_per_kwh", "lme_kg_per_kwh", "wue_l_per_kwh", "ewif_l_per_kwh")
_TOTAL_FIELDS = ("emissions_kg", "cost_usd", "consumers_cost_usd", "demand_mw", "shed_mw")


class WithoutDataCenters:
    """The grids' dispatch with no data-center load, hour by hour: the reference of
    consequential accounting and of who pays. It is the same whatever the policy or
    coupling, so the runs of one scenario share one (each hour dispatched once, by the
    first run that needs it).

    Kept per grid as arrays over the horizon (hours x sites per signal, hours x totals:
    8 bytes a value), not as one HourOutcome object per grid-hour; `outcome` rebuilds the
    hour's HourOutcome from them (views, equal values)."""

    def __init__(self) -> None:
        self._sites: dict[str, np.ndarray] = {}  # grid -> (T, 5, sites) the signals of _SITE_FIELDS
        self._totals: dict[str, np.ndarray] = {}  # grid -> (T, 5) the floats of _TOTAL_FIELDS
        self._done: dict[str, np.ndarray] = {}  # grid -> (T,) hours dispatched

    def outcome(self, grid: GridAgent, hour: int) -> HourOutcome:
        name = grid.name
        if name not in self._done:
            hours = len(grid.background_mw)
            self._sites[name] = np.zeros((hours, len(_SITE_FIELDS), len(grid.sites)))
            self._totals[name] = np.zeros((hours, len(_TOTAL_FIELDS)))
            self._done[name] = np.zeros(hours, dtype=bool)
        sites, totals = self._sites[name][hour], self._totals[name][hour]
        if not self._done[name][hour]:
            result = grid.grid.dispatch(hour, None)
            sites[:] = [getattr(result, f) for f in _SITE_FIELDS]
            totals[:] = [getattr(result, f) for f in _TOTAL_FIELDS]
            self._done[name][hour] = True
        return HourOutcome(**dict(zip(_SITE_FIELDS, sites)), **{f: float(v) for f, v in zip(_TOTAL_FIELDS, totals)})


class GridAgent(mesa.Agent):
    """One regional grid: publishes its sites' signals and re-dispatches with the data
    centers' load at their buses (MW, one value per site in `sites` order)."""

    def __init__(self, model: mesa.Model, region: RegionGrid, start: pd.Timestamp | str, hours: int,
                 without: WithoutDataCenters | None = None):
        super().__init__(model)
        self.name = region.name
        self.grid = region.for_hours(start, hours)
        self.sites: list[str] = list(self.grid.sites)
        self._without = WithoutDataCenters() if without is None else without
        self._last: tuple[tuple, HourOutcome] | None = None  # (hour, site MW bytes) -> its dispatch
        self.background_mw = self.grid.background_mw
        """(T,) the grid's own demand per hour, MW (the loads of its net)."""

    def dispatch(self, hour: int, site_mw: np.ndarray | None) -> HourOutcome:
        """Hour *hour* dispatched with *site_mw* at the sites' buses (None: no data
        centers). The same hour with the same load as the last call (a converged iteration
        realized, a grid whose sites did not move) is that call's outcome, not a new
        dispatch."""
        key = (hour, None if site_mw is None else np.asarray(site_mw, dtype=float).tobytes())
        if self._last is not None and self._last[0] == key:
            return self._last[1]
        outcome = self.grid.dispatch(hour, site_mw)
        self._last = (key, outcome)
        return outcome

    def publish(self, hour: int, site_mw: np.ndarray) -> HourOutcome:
        """What the grid publishes for *hour* when the data centers draw *site_mw*: its
        dispatch at that load (prices, intensities, LMEs and water at the sites)."""
        return self.dispatch(hour, site_mw)

    def realize(self, hour: int, site_mw: np.ndarray) -> GridHour:
        """Re-dispatch *hour* with the load the data centers decided, beside the same hour
        without data centers."""
        with_load = self.dispatch(hour, site_mw)
        return GridHour(with_load=with_load, without_load=self._without.outcome(self, hour),
                        background_mw=float(self.background_mw[hour]))
