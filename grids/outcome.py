"""What a grid publishes for one hour: the signal names, defined once, and a region-hour's
dispatch outcome as the data centers and the accounting see it."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SIGNALS = ("price_usd_per_mwh", "carbon_kg_per_kwh", "lme_kg_per_kwh", "wue_l_per_kwh", "ewif_l_per_kwh")
"""The signals every data-center site gets each hour (grids.signals' module docstring)."""


@dataclass(frozen=True)
class HourOutcome:
    """One region-hour's dispatch as the data centers and the accounting see it.
    Site arrays follow RegionHours.sites."""

    price_usd_per_mwh: np.ndarray  # LMP at each site's bus
    carbon_kg_per_kwh: np.ndarray  # average intensity of the site's zone
    lme_kg_per_kwh: np.ndarray  # marginal emissions at the site's bus
    wue_l_per_kwh: np.ndarray  # on-site WUE from wet-bulb temperature
    ewif_l_per_kwh: np.ndarray  # off-site water intensity of the zone's mix
    emissions_kg: float  # the whole region's generation emissions this hour
    cost_usd: float  # generation cost
    consumers_cost_usd: float  # LMP x background load, summed over the net's loads (who pays)
    demand_mw: float  # total demand served, data centers included
    shed_mw: float
