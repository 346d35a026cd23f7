"""Hourly signals at data-center sites, from dispatching their regional grids.

For every hour each net is re-dispatched (:meth:`grids.grid.RegionGrid.dispatch`, the
DC-OPF of grids.opf) with its background load, renewable availability and the data
centers' load at their buses, and each site gets (:data:`grids.outcome.SIGNALS`):

- price_usd_per_mwh: the LMP at the site's bus;
- carbon_kg_per_kwh: the average intensity of its zone's dispatched production
  (sum p x co2 / sum p over the zone's units, ext_grid imports included);
- lme_kg_per_kwh: the locational marginal emissions at the site's bus (one more MW of
  load there, congestion included);
- wue_l_per_kwh: on-site WUE from the site's wet-bulb temperature (grids.water);
- ewif_l_per_kwh: off-site water intensity of its zone's dispatched mix.
"""
from __future__ import annotations

from collections import defaultdict

import numpy as np
import pandas as pd

from grids.grid import RegionGrid
from grids.outcome import SIGNALS
from grids.registry import build_region, site_region


def site_signals(sites: list[str], start: pd.Timestamp | str, hours: int, *, seed: int = 0,
                 dc_load_mw: pd.DataFrame | None = None, grids: list[RegionGrid] | None = None) -> dict[str, pd.DataFrame]:
    """Per signal a (time x site) frame from dispatching the grids holding *sites*.

    *grids*: the grids to dispatch (shipped nets or balancing areas, each holding some of
    *sites*); default: the shipped nets holding them (:func:`grid_regions`).
    *dc_load_mw*: data-center load per hour (rows) and site (columns), MW, added at the
    sites' buses; none means the grids without data centers.
    """
    wanted = list(dict.fromkeys(sites))
    frames: dict[str, list[pd.DataFrame]] = defaultdict(list)
    for rg in grid_regions(wanted, seed=seed) if grids is None else grids:
        region_sites = [s for s in rg.sites if s in wanted]
        hourly = region_hours(rg, start, hours, dc_load_mw=dc_load_mw)
        for name in SIGNALS:
            frames[name].append(hourly[name][region_sites])
    return {name: pd.concat(parts, axis=1)[wanted] for name, parts in frames.items()}


def grid_regions(sites: list[str], *, seed: int = 0) -> list[RegionGrid]:
    """The shipped regional grids holding *sites*, each built once."""
    return [build_region(name, seed=seed) for name in dict.fromkeys(site_region(s) for s in sites)]


def region_hours(rg: RegionGrid, start: pd.Timestamp | str, hours: int,
                 *, dc_load_mw: pd.DataFrame | None = None) -> dict[str, pd.DataFrame]:
    """Dispatch one region hour by hour; per signal a (time x the region's sites) frame."""
    grid = rg.for_hours(start, hours)
    sites = list(grid.sites)
    extra = None
    if dc_load_mw is not None:
        extra = dc_load_mw.reindex(index=grid.times, columns=sites).fillna(0.0).to_numpy(float)
    outcomes = [grid.dispatch(k, None if extra is None else extra[k]) for k in range(hours)]
    return {name: pd.DataFrame(np.array([getattr(o, name) for o in outcomes]), index=grid.times, columns=sites)
            for name in SIGNALS}
