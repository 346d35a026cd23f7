"""DataCenter: one operator's compute at one site."""
from __future__ import annotations

import mesa


class DataCenter(mesa.Agent):
    """Capacity (resource units per hour), PUE and the site whose grid it draws from.
    It turns the IT energy of the requests it serves into facility power."""

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

    def draw(self, it_kwh: float) -> float:
        """Facility power for *it_kwh* of IT energy in one hour, MW."""
        self.facility_mw = self.pue * it_kwh / 1000.0
        return self.facility_mw
