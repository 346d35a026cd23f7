"""GridAgent: one regional power grid (grids/) in the co-simulation."""
from __future__ import annotations

import mesa
import numpy as np

from grids.grid import RegionGrid
from grids.outcome import HourOutcome


class GridAgent(mesa.Agent):
    """One regional grid: publishes its sites' signals and re-dispatches with the data
    centers' load at their buses (MW, one value per site in `sites` order)."""

    def __init__(self, model: mesa.Model, region: RegionGrid, start, hours: int,
                 without: dict[int, HourOutcome] | None = None):
        super().__init__(model)
        self.name = region.name
        self.grid = region.for_hours(start, hours)
        self.sites: list[str] = list(self.grid.sites)
        # hour -> dispatch without data centers; may be shared by the runs of one scenario,
        # whose grids are the same whatever the policy
        self._without = {} if without is None else without
        self._last: tuple[tuple, HourOutcome] | None = None  # (hour, site MW bytes) -> its dispatch
        self.background_mw = self.grid.background_mw
        """(T,) the grid's own demand per hour, MW (the loads of its net)."""

    def dispatch(self, hour: int, site_mw: np.ndarray) -> HourOutcome:
        """Hour *hour* dispatched with *site_mw* at the sites' buses. The same hour with the
        same load as the last call (a converged iteration realized, a grid whose sites did
        not move) is that call's outcome, not a new dispatch."""
        key = (hour, None if site_mw is None else np.asarray(site_mw, dtype=float).tobytes())
        if self._last is not None and self._last[0] == key:
            return self._last[1]
        outcome = self.grid.dispatch(hour, site_mw)
        self._last = (key, outcome)
        return outcome

    def without_datacenters(self, hour: int) -> HourOutcome:
        """Hour *hour* with no data-center load: the reference of consequential accounting
        and of who pays (dispatched once per hour, whatever the policy or coupling)."""
        if hour not in self._without:
            self._without[hour] = self.grid.dispatch(hour, None)
        return self._without[hour]
