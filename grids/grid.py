"""A region's grid, from its pandapower net to each hour's outcome at the data-center sites.

    >>> from grids.registry import build_region
    >>> rg = build_region("eu", seed=1)
    >>> prof = rg.hourly("2022-09-22T00:00Z", 24)       # load_mw, sgen_max_mw DataFrames
    >>> rg.apply_hour("2022-09-22T12:00Z")              # writes that hour into rg.net
    >>> day = rg.for_hours("2022-09-22T00:00Z", 24)     # the grid over a horizon
    >>> day.dispatch(12, site_mw=np.zeros(len(day.sites))).price_usd_per_mwh  # USD/MWh
"""
from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from grids.errors import InputError
from grids.outcome import HourOutcome, zone_average
from grids.profiles import HourlyProfiles, hour_range, hourly_profiles

UNIT_TABLES = ("gen", "sgen", "ext_grid")
"""The net's tables of producing units, in the order unit arrays concatenate them."""

SiteWue = Path | Callable[[pd.DatetimeIndex], "pd.Series | np.ndarray"]
"""A site's own on-site WUE: an EPW file, or UTC hours -> WUE (L/kWh) per hour."""


@dataclass
class RegionGrid:
    """A region's pandapower net plus what it needs hour by hour.

    ``net``: the pandapower net (docs/grids.md lists its tables and extra columns);
    ``sites``: DC site name -> bus index (in the net's order); ``zones``: zone -> list of
    bus indices; ``site_zone``: DC site -> zone; ``spec``: the parsed region spec; ``seed``.

    :meth:`for_hours` gives the grid over a horizon, which :meth:`dispatch` re-dispatches
    hour by hour with the data centers' load at their buses.
    """

    name: str
    net: object
    spec: dict
    seed: int = 0
    timeseries: pd.DataFrame | None = None
    timeseries_source: str = "<timeseries>"
    sites: dict[str, int] = field(default_factory=dict)
    zones: dict[str, list[int]] = field(default_factory=dict)
    site_zone: dict[str, str] = field(default_factory=dict)
    site_wue_l_per_kwh: dict[str, SiteWue] = field(default_factory=dict)
    """DC site -> its own on-site WUE over a horizon, instead of the wet-bulb climatology
    (grids.water): an EPW weather file (grids.weather.onsite_wue_from_epw), or a callable
    taking the horizon's UTC hours and returning one WUE (L/kWh) per hour."""
    _cache: HourlyProfiles | None = field(default=None, repr=False)
    # set by for_hours: the horizon's profiles and what dispatch reads each hour
    profiles: HourlyProfiles | None = field(default=None, repr=False)
    background_mw: np.ndarray | None = field(default=None, repr=False)
    dispatcher: object = field(default=None, repr=False)
    _horizons: dict | None = field(default=None, repr=False)  # (start, hours) -> horizon; None: not memoized

    def __post_init__(self):
        b = self.net.bus
        self.sites = {s: int(i) for i, s in b["dc_site"].items() if s is not None and s == s}
        self.zones = {z: [int(i) for i in b.index[b["zone"] == z]] for z in self.spec["zones"]}
        self.site_zone = {s: v["zone"] for s, v in self.spec["sites"].items()}
        # apply_hour writes an hour's availability into sgen.max_p_mw; for_hours restores this
        sgen = self.net.sgen
        self._sgen_design_max_mw = sgen["max_p_mw"].copy() if "max_p_mw" in sgen.columns else None

    def with_site_wue(self, wue: Mapping[str, SiteWue]) -> RegionGrid:
        """This grid with *wue* (site -> EPW file or callable, see ``site_wue_l_per_kwh``)
        for those sites, on top of any set before; InputError for a site not in the grid."""
        unknown = [s for s in wue if s not in self.sites]
        if unknown:
            raise InputError(f"<grid {self.name}>", "sites", f"no site {', '.join(map(repr, unknown))} "
                                                         f"(its sites: {', '.join(self.sites)})")
        grid = copy.copy(self)
        grid.site_wue_l_per_kwh = {**self.site_wue_l_per_kwh, **wue}
        grid._horizons = None if self._horizons is None else {}  # its horizons hold other WUE
        return grid

    def with_horizon_memo(self) -> RegionGrid:
        """This grid with :meth:`for_hours` memoized: the first call for a (start, hours)
        builds the horizon (profiles, unit arrays, WUE, dispatcher), later calls get a copy
        of it with a :meth:`grids.opf.Dispatcher.fresh` dispatcher, so every run over that
        horizon dispatches exactly as on a horizon built anew. For the runs of one scenario
        (cosim.grid_plan.RunGrids); the net must not be changed between calls."""
        grid = copy.copy(self)
        grid._horizons = {}
        return grid

    # ------------------------------------------------------------------ profiles
    def hourly(self, start: pd.Timestamp | str, hours: int) -> HourlyProfiles:
        """Background load (MW per ``net.load`` index) and sgen availability (MW per
        ``net.sgen`` index) for *hours* hours from *start* (UTC; naive = UTC)."""
        return hourly_profiles(self.name, self.net, self.spec, self.seed, hour_range(start, hours),
                               timeseries=self.timeseries, timeseries_source=self.timeseries_source)

    # ------------------------------------------------------------------ one hour, pandapower
    def apply_hour(self, t: pd.Timestamp | str, *, profiles: HourlyProfiles | None = None) -> pd.Timestamp:
        """Write hour *t* (UTC) into the net: ``load.p_mw``, ``sgen.max_p_mw`` (= ``p_mw``),
        and initial ``gen.p_mw`` setpoints from a copper-plate merit order (so that
        ``pp.rundcpp`` starts from a plausible point; ``pp.rundcopp`` re-dispatches).

        *profiles*: precomputed :meth:`hourly` output containing *t*; otherwise a week
        from *t* is computed and cached."""
        t = hour_range(t, 1)[0]
        prof = profiles
        if prof is None:
            prof = self._cache
            if prof is None or t not in prof.load_mw.index:
                prof = self._cache = self.hourly(t, 24 * 7)
        if t not in prof.load_mw.index:
            raise InputError("<profiles>", "time", f"{t:%Y-%m-%d %H:%M} UTC is not in the given profiles")
        net = self.net
        net.load["p_mw"] = prof.load_mw.loc[t].reindex(net.load.index).to_numpy()
        av = prof.sgen_max_mw.loc[t].reindex(net.sgen.index).to_numpy()
        net.sgen["max_p_mw"] = av
        net.sgen["p_mw"] = av
        self._merit_order_setpoints()
        return t

    def _merit_order_setpoints(self) -> None:
        net = self.net
        demand = float(net.load["p_mw"].sum())
        g = net.gen
        p = np.maximum(g["min_p_mw"].to_numpy(dtype=float), 0.0)
        rest = demand - p.sum() - float(net.sgen["p_mw"].sum())
        if rest < 0:  # must-run plus renewables exceed load: curtail renewables pro rata
            tot = float(net.sgen["p_mw"].sum())
            if tot > 0:
                net.sgen["p_mw"] = net.sgen["p_mw"] * max(0.0, (tot + rest) / tot)
            rest = 0.0
        order = np.argsort(g["marginal_cost_usd_per_mwh"].to_numpy(), kind="stable")
        room = (g["max_p_mw"].to_numpy(dtype=float) - p)
        for k in order:
            if rest <= 0:
                break
            add = min(room[k], rest)
            p[k] += add
            rest -= add
        net.gen["p_mw"] = p

    # ------------------------------------------------------------------ a horizon, dispatched
    def for_hours(self, start: pd.Timestamp | str, hours: int) -> RegionGrid:
        """This grid over ``[start, start + hours)``, ready for :meth:`dispatch`: its
        ``profiles``, ``times``, ``background_mw`` ((hours,) the net's own demand per hour,
        MW) and a ``dispatcher`` (grids.opf) built once, warm-starting from the last hour.
        The net is shared with this grid, not copied (the dispatcher works on its own copy).
        On a grid made by :meth:`with_horizon_memo`, a horizon asked for before is reused
        (a copy of it with a fresh dispatcher)."""
        if self._horizons is not None:
            key = (hour_range(start, 1)[0], int(hours))
            if key not in self._horizons:
                self._horizons[key] = self._build_horizon(start, hours)
            grid = copy.copy(self._horizons[key])
            grid.dispatcher = grid.dispatcher.fresh()
            return grid
        return self._build_horizon(start, hours)

    def _build_horizon(self, start: pd.Timestamp | str, hours: int) -> RegionGrid:
        """:meth:`for_hours`, computed."""
        from grids.opf import Dispatcher

        grid = copy.copy(self)
        grid.profiles = grid.hourly(start, hours)
        grid.background_mw = grid.profiles.load_mw.sum(axis=1).to_numpy(float)
        net = grid.net
        if self._sgen_design_max_mw is not None:  # an hour written by apply_hour must not cap the horizon
            net.sgen["max_p_mw"] = self._sgen_design_max_mw
        grid.dispatcher = Dispatcher(net, name=grid.name)
        names = list(grid.sites)
        grid._site_bus = np.array([grid.sites[s] for s in names])
        zones = list(grid.spec["zones"])
        grid._zone_of_site = np.array([zones.index(grid.site_zone[s]) for s in names])
        grid._zone_count = len(zones)
        tables = [t for t in UNIT_TABLES if len(net[t])]
        units = pd.concat([net[t][["zone", "fuel", "co2_kg_per_mwh", "water_l_per_mwh"]] for t in tables])
        grid._unit_tables = tables
        grid._unit_zone = units["zone"].map({z: k for k, z in enumerate(zones)}).to_numpy(int)
        grid._co2 = units["co2_kg_per_mwh"].to_numpy(float)
        grid._water = units["water_l_per_mwh"].to_numpy(float)
        grid._site_pos = net.bus.index.get_indexer(grid._site_bus)
        grid._load_pos = net.bus.index.get_indexer(net.load["bus"].reindex(grid.profiles.load_mw.columns).to_numpy())
        grid._load_mw = grid.profiles.load_mw.to_numpy(float)
        grid._hourly_arrays = _hourly_arrays(net, grid.profiles)
        grid._wue = np.column_stack([grid._site_wue(s) for s in names] or [np.zeros((len(grid.times), 0))])
        return grid

    def _site_wue(self, site: str) -> np.ndarray:
        """(hours,) on-site WUE at *site* over the horizon: its own series when given, else
        the wet-bulb climatology (grids.water.onsite_wue_series)."""
        from grids.water import onsite_wue_series
        from grids.weather import onsite_wue_from_epw

        times, own = self.times, self.site_wue_l_per_kwh.get(site)
        if own is None:
            return onsite_wue_series(site, times[0], len(times)).to_numpy()
        if isinstance(own, (str, Path)):
            values = onsite_wue_from_epw(own, times)
        else:
            values = own(times)
        values = np.asarray(values, dtype=float)
        if values.shape != (len(times),):
            raise InputError(f"<grid {self.name}>", f"site_wue_l_per_kwh.{site}",
                             f"{values.shape} values for {len(times)} hours")
        return values

    @property
    def times(self) -> pd.DatetimeIndex:
        """The UTC hours of the horizon (:meth:`for_hours`)."""
        return self.profiles.load_mw.index

    def solve_hour(self, hour: int, site_mw: np.ndarray | None = None, *, marginal: bool = True,
                   validity: bool | None = None):
        """The dispatcher's whole result (grids.opf.DispatchResult) for hour *hour* with
        *site_mw* at the sites (None: no data centers); *validity*: compute the LMEs'
        validity ranges (default: as *marginal*)."""
        if self.dispatcher is None:
            raise RuntimeError(f"{self.name}: dispatch needs a horizon: use for_hours(start, hours)")
        return self.dispatcher.solve(
            **{name: None if rows is None else rows[hour] for name, rows in self._hourly_arrays.items()},
            extra_bus_mw=None if site_mw is None else dict(zip(self._site_bus, np.asarray(site_mw, float))),
            hour_label=self.times[hour], marginal=marginal, validity=validity,
        )

    def dispatch(self, hour: int, site_mw: np.ndarray | None = None) -> HourOutcome:
        """Hour *hour* (position in the horizon) with *site_mw* (one value per site, MW, in
        ``sites`` order; None = no data centers). The lean path: LMEs without their
        validity ranges (an HourOutcome has none), the same numbers otherwise."""
        result = self.solve_hour(hour, site_mw, validity=False)
        p = np.concatenate([result.p_mw[t] for t in self._unit_tables])
        lmp = result.bus_lmp_usd_per_mwh
        zone_of_site, zones = self._zone_of_site, self._zone_count
        return HourOutcome(
            price_usd_per_mwh=lmp[self._site_pos],
            carbon_kg_per_kwh=(zone_average(self._unit_zone, p, self._co2, zones) / 1000.0)[zone_of_site],
            lme_kg_per_kwh=result.bus_lme_kg_per_mwh[self._site_pos] / 1000.0,
            wue_l_per_kwh=self._wue[hour],
            ewif_l_per_kwh=(zone_average(self._unit_zone, p, self._water, zones) / 1000.0)[zone_of_site],
            emissions_kg=float(result.emissions_kg),
            cost_usd=float(result.cost_usd),
            consumers_cost_usd=float(np.nansum(lmp[self._load_pos] * self._load_mw[hour])),
            demand_mw=float(result.load_mw),
            shed_mw=result.shed_total_mw,
        )


def _hourly_arrays(net, prof: HourlyProfiles) -> dict[str, np.ndarray | list[pd.Series] | None]:
    """The profiles as (hours, elements) arrays in the net's table order, keyed by the
    Dispatcher.solve argument each feeds (one row per hour, no pandas in the loop)."""
    def rows(frame: pd.DataFrame | None, table: str) -> np.ndarray | list[pd.Series] | None:
        if frame is None:
            return None
        index = net[table].index
        if len(frame.columns) == len(index) and frame.columns.isin(index).all():
            return frame.reindex(columns=index).to_numpy(float)
        return [row for _, row in frame.iterrows()]  # some elements only: each hour's Series names them

    return {"load_mw": rows(prof.load_mw, "load"), "sgen_max_mw": rows(prof.sgen_max_mw, "sgen"),
            "gen_max_mw": rows(prof.gen_max_mw, "gen"), "gen_cost_usd_per_mwh": rows(prof.gen_cost_usd_per_mwh, "gen")}
