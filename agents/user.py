"""UserAgent: the users of one region in one latency tier."""
from __future__ import annotations

import math
from collections.abc import Sequence

import mesa
import numpy as np


class UserAgent(mesa.Agent):
    """The requests of one region in one tier, answering the price of inference.

    Each hour the region's requests (`region_base`, from the trace or profile) are split
    over its tiers by a logit on the tiers' prices (`tier_shares`; with no price
    sensitivity each tier keeps its base share), then scaled by the price response:
    demand = region_base x chosen share x (price / reference)^(-elasticity), the price
    being the list price less the tier's discount plus the energy cost per request this
    user was served at last hour, the reference the same with the energy cost of its
    local site at the exogenous price (USD per request).
    """

    def __init__(self, model: mesa.Model, *, index: int, region: str, tier: str, region_base: np.ndarray,
                 share: float, list_price: float, discount: float, elasticity: float):
        super().__init__(model)
        self.index = index  # position in the instance's users
        self.region = region
        self.tier = tier
        self.region_base = region_base  # (T,) requests of the whole region
        self.share = share  # base share of the region's requests in this tier
        self.elasticity = elasticity
        self.offer = list_price * (1.0 - discount)  # USD per request before energy
        self.price_usd_per_request = self.offer
        self.reference_usd_per_request = self.offer
        self.demand = 0.0  # this hour's requests

    def utility(self, sensitivity: float, list_price: float) -> float:
        """Logit utility of this tier for the region's users."""
        return math.log(self.share) - sensitivity * self.price_usd_per_request / list_price

    def emit(self, hour: int, chosen_share: float) -> float:
        """This hour's requests, given the share of the region that chose this tier."""
        index = self.price_usd_per_request / self.reference_usd_per_request
        response = index ** (-self.elasticity) if self.elasticity else 1.0
        self.demand = float(self.region_base[hour] * chosen_share * response)
        return self.demand

    def answer_price(self, energy_usd_per_request: float, home_energy_usd_per_request: float) -> None:
        """Next hour's price and reference: the offer plus the energy cost per request this
        user was served at, and plus that of its home site at the exogenous price."""
        self.price_usd_per_request = self.offer + energy_usd_per_request
        self.reference_usd_per_request = self.offer + home_energy_usd_per_request


def tier_shares(users: Sequence[UserAgent], region: np.ndarray, sensitivity: float, list_price: float) -> np.ndarray:
    """(J,) the share of its region's requests each user's tier gets this hour: a logit on
    the tiers' last prices (the base shares when users are not price-sensitive). *users*
    in index order; *region* (J,) the region index of each."""
    base = np.array([user.share for user in users])
    if sensitivity == 0:
        return base
    utility = np.array([u.utility(sensitivity, list_price) for u in users])
    weight = np.exp(utility - utility.max())
    return weight / np.bincount(region, weights=weight)[region]
