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
from grids.regions import RegionGrid, build_region, site_region
from grids.water import onsite_wue_series

SIGNALS = ("price_usd_per_mwh", "carbon_kg_per_kwh", "lme_kg_per_kwh", "wue_l_per_kwh", "ewif_l_per_kwh")
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


def region_hours(rg: RegionGrid, start, hours: int, *, dc_load_mw: pd.DataFrame | None = None) -> dict[str, pd.DataFrame]:
    """Dispatch one region hour by hour; per signal a (time x the region's sites) frame."""
    profiles = rg.hourly(start, hours)
    times = profiles.load_mw.index
    net = rg.net
    dispatcher = Dispatcher(net, name=rg.name)
    site_names = list(rg.sites)
    site_bus = np.array([rg.sites[s] for s in site_names])
    zones = list(rg.spec["zones"])
    zone_of_site = np.array([zones.index(rg.site_zone[s]) for s in site_names])

    units = pd.concat([net[t][["zone", "fuel", "co2_kg_per_mwh", "water_l_per_mwh"]] for t in _UNIT_TABLES if len(net[t])])
    unit_zone = units["zone"].map({z: k for k, z in enumerate(zones)}).to_numpy(int)
    co2 = units["co2_kg_per_mwh"].to_numpy(float)
    water = units["water_l_per_mwh"].to_numpy(float)

    extra = None
    if dc_load_mw is not None:
        extra = dc_load_mw.reindex(index=times, columns=site_names).fillna(0.0).to_numpy(float)
    out = {name: np.empty((len(times), len(site_names))) for name in SIGNALS if name != "wue_l_per_kwh"}
    for k, t in enumerate(times):
        result = dispatcher.solve(
            load_mw=profiles.load_mw.iloc[k],
            sgen_max_mw=profiles.sgen_max_mw.iloc[k],
            extra_bus_mw=None if extra is None else pd.Series(extra[k], index=site_bus),
            hour_label=t,
        )
        p = np.concatenate([getattr(result, f"{t_}_p_mw").reindex(net[t_].index).to_numpy(float) for t_ in _UNIT_TABLES if len(net[t_])])
        p = np.where(p > 1e-9, p, 0.0)  # exports through an ext_grid are not production
        produced = np.bincount(unit_zone, weights=p, minlength=len(zones))
        safe = np.where(produced > 0, produced, np.nan)
        out["carbon_kg_per_kwh"][k] = (np.bincount(unit_zone, weights=p * co2, minlength=len(zones)) / safe / 1000.0)[zone_of_site]
        out["ewif_l_per_kwh"][k] = (np.bincount(unit_zone, weights=p * water, minlength=len(zones)) / safe / 1000.0)[zone_of_site]
        out["price_usd_per_mwh"][k] = result.lmp_usd_per_mwh.reindex(site_bus).to_numpy(float)
        out["lme_kg_per_kwh"][k] = result.lme_kg_per_mwh.reindex(site_bus).to_numpy(float) / 1000.0
    frames = {name: pd.DataFrame(values, index=times, columns=site_names) for name, values in out.items()}
    frames["wue_l_per_kwh"] = pd.DataFrame({s: onsite_wue_series(s, times[0], len(times)).to_numpy() for s in site_names}, index=times)
    return frames
