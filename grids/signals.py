"""Hourly signals at data-center sites, from dispatching their regional grids.

For every hour each net is re-dispatched (grids.opf.Dispatcher) with its background
load, renewable availability and the data centers' load at their buses, and each site
gets:

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

from grids.opf import Dispatcher
from grids.outcome import SIGNALS, HourOutcome
from grids.regions import RegionGrid, build_region, site_region
from grids.water import onsite_wue_series

_UNIT_TABLES = ("gen", "sgen", "ext_grid")


def site_signals(sites: list[str], start, hours: int, *, seed: int = 0, dc_load_mw: pd.DataFrame | None = None) -> dict[str, pd.DataFrame]:
    """Per signal a (time x site) frame for the shipped nets holding *sites*.

    *dc_load_mw*: data-center load per hour (rows) and site (columns), MW, added at the
    sites' buses; none means the grids without data centers.
    """
    by_region: dict[str, list[str]] = defaultdict(list)
    for site in dict.fromkeys(sites):
        by_region[site_region(site)].append(site)
    frames: dict[str, list[pd.DataFrame]] = defaultdict(list)
    for region, region_sites in by_region.items():
        hourly = region_hours(build_region(region, seed=seed), start, hours, dc_load_mw=dc_load_mw)
        for name in SIGNALS:
            frames[name].append(hourly[name][region_sites])
    return {name: pd.concat(parts, axis=1)[list(dict.fromkeys(sites))] for name, parts in frames.items()}


def grid_regions(sites: list[str], *, seed: int = 0) -> list[RegionGrid]:
    """The shipped regional grids holding *sites*, each built once."""
    return [build_region(name, seed=seed) for name in dict.fromkeys(site_region(s) for s in sites)]


def region_hours(rg: RegionGrid, start, hours: int, *, dc_load_mw: pd.DataFrame | None = None) -> dict[str, pd.DataFrame]:
    """Dispatch one region hour by hour; per signal a (time x the region's sites) frame."""
    grid = RegionHours(rg, start, hours)
    extra = None
    if dc_load_mw is not None:
        extra = dc_load_mw.reindex(index=grid.times, columns=grid.sites).fillna(0.0).to_numpy(float)
    outcomes = [grid.dispatch(k, None if extra is None else extra[k]) for k in range(hours)]
    return {name: pd.DataFrame(np.array([getattr(o, name) for o in outcomes]), index=grid.times, columns=grid.sites)
            for name in SIGNALS}


class RegionHours:
    """One region's grid hour by hour: re-dispatch it with the data centers' load at their
    buses and read what each site sees. Built once; `dispatch` warm-starts from the last hour."""

    def __init__(self, rg: RegionGrid, start, hours: int):
        self.region = rg
        self.profiles = rg.hourly(start, hours)
        self.times = self.profiles.load_mw.index
        net = rg.net
        self.dispatcher = Dispatcher(net, name=rg.name)
        self.sites = list(rg.sites)
        self._site_bus = np.array([rg.sites[s] for s in self.sites])
        zones = list(rg.spec["zones"])
        self._zone_of_site = np.array([zones.index(rg.site_zone[s]) for s in self.sites])
        self._zones = len(zones)
        units = pd.concat([net[t][["zone", "fuel", "co2_kg_per_mwh", "water_l_per_mwh"]] for t in _UNIT_TABLES if len(net[t])])
        self._unit_zone = units["zone"].map({z: k for k, z in enumerate(zones)}).to_numpy(int)
        self._co2 = units["co2_kg_per_mwh"].to_numpy(float)
        self._water = units["water_l_per_mwh"].to_numpy(float)
        self._load_bus = net.load["bus"].reindex(self.profiles.load_mw.columns).to_numpy()
        self._wue = np.column_stack([onsite_wue_series(s, self.times[0], len(self.times)).to_numpy() for s in self.sites])

    def dispatch(self, k: int, site_mw: np.ndarray | None = None) -> HourOutcome:
        """Hour *k* with *site_mw* (one value per site, MW; None = no data centers)."""
        net = self.region.net
        load = self.profiles.load_mw.iloc[k]
        result = self.dispatcher.solve(
            load_mw=load,
            sgen_max_mw=self.profiles.sgen_max_mw.iloc[k],
            extra_bus_mw=None if site_mw is None else pd.Series(site_mw, index=self._site_bus),
            hour_label=self.times[k],
        )
        p = np.concatenate([getattr(result, f"{t}_p_mw").reindex(net[t].index).to_numpy(float) for t in _UNIT_TABLES if len(net[t])])
        p = np.where(p > 1e-9, p, 0.0)  # exports through an ext_grid are not production
        produced = np.bincount(self._unit_zone, weights=p, minlength=self._zones)
        safe = np.where(produced > 0, produced, np.nan)
        lmp = result.lmp_usd_per_mwh
        return HourOutcome(
            price_usd_per_mwh=lmp.reindex(self._site_bus).to_numpy(float),
            carbon_kg_per_kwh=(np.bincount(self._unit_zone, weights=p * self._co2, minlength=self._zones) / safe / 1000.0)[self._zone_of_site],
            lme_kg_per_kwh=result.lme_kg_per_mwh.reindex(self._site_bus).to_numpy(float) / 1000.0,
            wue_l_per_kwh=self._wue[k],
            ewif_l_per_kwh=(np.bincount(self._unit_zone, weights=p * self._water, minlength=self._zones) / safe / 1000.0)[self._zone_of_site],
            emissions_kg=float(result.emissions_kg),
            cost_usd=float(result.cost_usd),
            consumers_cost_usd=float(np.nansum(lmp.reindex(self._load_bus).to_numpy(float) * load.to_numpy(float))),
            demand_mw=float(result.load_mw),
            shed_mw=result.shed_total_mw,
        )
