"""DataCenter: one operator's compute at one site."""
from __future__ import annotations

import mesa


class DataCenter(mesa.Agent):
    """Capacity (resource units per hour), PUE and the site whose grid it draws from, and
    `facility_mw`, this operator's draw there in the current hour."""

    def __init__(self, model: mesa.Model, *, name: str, site: str, operator: str, index: int,
                 pue: float, capacity: float):
        super().__init__(model)
        self.name = name
        self.site = site
        self.operator = operator
        self.index = index  # position in the instance's data centers
        self.pue = pue
        self.capacity = capacity
        self.facility_mw = 0.0  # this hour's draw

    def draw(self, facility_mw: float) -> None:
        """Set this hour's draw, MW."""
        self.facility_mw = facility_mw
