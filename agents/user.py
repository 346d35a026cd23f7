"""UserAgent: the users of one region in one latency tier."""
from __future__ import annotations

import mesa
import numpy as np


class UserAgent(mesa.Agent):
    """Requests per hour from a trace or profile (`base`), answering the price of inference:
    demand = base x (price / reference price)^(-elasticity), the price being what energy
    cost this user's requests last hour against the no-relocation reference."""

    def __init__(self, model: mesa.Model, *, index: int, region: str, tier: str, base: np.ndarray, elasticity: float):
        super().__init__(model)
        self.index = index  # position in the instance's users
        self.region = region
        self.tier = tier
        self.base = base
        self.elasticity = elasticity
        self.price_index = 1.0  # last hour's cost per request over the reference
        self.demand = 0.0

    def emit(self, hour: int) -> float:
        """This hour's requests."""
        factor = self.price_index ** (-self.elasticity) if self.elasticity and self.price_index > 0 else 1.0
        self.demand = float(self.base[hour] * factor)
        return self.demand
