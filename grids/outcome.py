"""What one region-hour's dispatch gives the data centers and the accounting: the signal
names, the hour's record, and the zone averages they are computed with."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SIGNALS = ("price_usd_per_mwh", "carbon_kg_per_kwh", "wue_l_per_kwh", "ewif_l_per_kwh", "lme_kg_per_kwh")
"""The signals each data-center site sees every hour, in the order of the outputs'
columns: LMP at its bus (USD/MWh), average carbon intensity of its zone (kg/kWh), on-site
WUE (L/kWh), off-site water intensity of its zone's mix (L/kWh), marginal emissions at its
bus (kg/kWh). The first three are what a signal file or the synthetic generator gives;
EWIF and LME come from dispatch."""

PRODUCING_MW = 1e-9
"""Units with output above this (MW) are production; an ext_grid exporting (p < 0) is not."""


@dataclass(frozen=True)
class HourOutcome:
    """One region-hour's dispatch as the data centers and the accounting see it.
    Site arrays follow the grid's sites."""

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


def produced_mw(p_mw: np.ndarray) -> np.ndarray:
    """Unit outputs counted as production (MW): p where p > :data:`PRODUCING_MW`, else 0."""
    return np.where(p_mw > PRODUCING_MW, p_mw, 0.0)


def zone_average(unit_zone: np.ndarray, p_mw: np.ndarray, rate: np.ndarray, zones: int) -> np.ndarray:
    """(zones,) production-weighted average of a unit rate, in the rate's unit: sum(p x
    rate) / sum(p) over each zone's producing units (:func:`produced_mw`); NaN for a zone
    producing nothing. With CO2 in kg/MWh it is the zone's average carbon intensity
    (kg/MWh), with water in L/MWh its off-site water intensity (L/MWh).
    *unit_zone*: zone position (0..zones-1) of each unit; *p_mw*: their outputs, MW."""
    p = produced_mw(p_mw)
    produced = np.bincount(unit_zone, weights=p, minlength=zones)
    weighted = np.bincount(unit_zone, weights=p * rate, minlength=zones)
    return weighted / np.where(produced > 0, produced, np.nan)
