"""A balancing area (BA) as a pandapower net, dispatched hour by hour by grids' DC-OPF.

The fleet is fitted to the BA's hourly generation by fuel (:mod:`grids.ba_fleet`). The
net is one copper-plate bus (the file has no network): one load (the BA's generation each
hour), one gen per fleet unit and one controllable sgen each for wind and solar, with the
columns every shipped net carries (``zone``, ``fuel``, ``tech``, ``co2_kg_per_mwh``,
``water_l_per_mwh``, ``marginal_cost_usd_per_mwh``), and one bus per data-center site,
joined to the BA bus by a closed bus-bus switch (pandapower fuses them: the sites see the
BA bus's LMP and LME). Each hour sets the units' availability, must-run output and cost
(fuel prices change by month, water values by day), so everything downstream (LMP,
average intensity, LME and its validity range, EWIF, consequential accounting, who pays)
works as on a shipped net.

    >>> from grids.eia930 import read_generation_by_fuel
    >>> ba = build_balancing_area(read_generation_by_fuel("eia930/BPAT.csv"), sites=["Oregon"])
    >>> week = ba.for_hours("2022-01-10T00:00Z", 168)
    >>> week.dispatch(12, site_mw=np.array([50.0])).lme_kg_per_kwh   # kg/kWh at the site
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from grids.ba_fleet import RENEWABLE, BalancingAreaFleet, fit_fleet
from grids.eia930 import FUEL_COLUMNS, GenerationByFuel, runs
from grids.errors import InputError
from grids.grid import RegionGrid
from grids.profiles import HourlyProfiles, hour_range

_FIXED_KINDS = ("must-take", "must-run")
_UNIT_COLUMNS = ("unit", "zone", "fuel", "tech", "kind", "co2_kg_per_mwh", "water_l_per_mwh", "marginal_cost_usd_per_mwh",
                 "heat_rate_mmbtu_per_mwh")
"""The columns a BA net's gen and sgen tables carry beyond pandapower's (as the shipped nets')."""


@dataclass
class BalancingAreaGrid(RegionGrid):
    """A BA's grid: a :class:`grids.grid.RegionGrid` whose hourly inputs come from its
    fitted fleet (``fleet``) and its file (``data``), not from synthetic profiles."""

    fleet: BalancingAreaFleet | None = None
    data: GenerationByFuel | None = None

    def hourly(self, start: pd.Timestamp | str, hours: int) -> HourlyProfiles:
        """The BA's demand (MW on its one load), wind and solar availability (MW per sgen),
        and each gen's availability and cost for *hours* hours from *start* (UTC);
        InputError when the file does not cover them or has a gap too long to fill there."""
        times = hour_range(start, hours)
        self.data.window(times[0], len(times))  # refuses what the file cannot give
        fl, net = self.fleet, self.net
        gen_units = net.gen["unit"].to_numpy()
        sgen_units = net.sgen["unit"].to_numpy()
        return HourlyProfiles(
            load_mw=pd.DataFrame({net.load.index[0]: fl.demand_mw.loc[times].to_numpy()}, index=times),
            sgen_max_mw=pd.DataFrame(fl.available_mw.loc[times, sgen_units].to_numpy(), index=times, columns=net.sgen.index),
            gen_max_mw=pd.DataFrame(fl.available_mw.loc[times, gen_units].to_numpy(), index=times, columns=net.gen.index),
            gen_cost_usd_per_mwh=pd.DataFrame(fl.cost_usd_per_mwh.loc[times, gen_units].to_numpy(), index=times,
                                              columns=net.gen.index),
        )

    def for_hours(self, start: pd.Timestamp | str, hours: int) -> RegionGrid:
        """As :meth:`grids.grid.RegionGrid.for_hours`, from the net's design limits and
        costs (an hour written by :meth:`apply_hour` is undone first)."""
        net = self.net
        fixed = net.gen["kind"].isin(_FIXED_KINDS).to_numpy()
        top = np.maximum(self.fleet.available_mw.max().reindex(net.gen["unit"]).to_numpy(), 1e-3)
        net.gen["max_p_mw"], net.gen["min_p_mw"] = top, np.where(fixed, top, 0.0)
        gens = net.poly_cost["et"] == "gen"
        net.poly_cost.loc[gens, "cp1_eur_per_mw"] = net.gen["marginal_cost_usd_per_mwh"].reindex(
            net.poly_cost.loc[gens, "element"]).to_numpy()
        return super().for_hours(start, hours)

    def apply_hour(self, t: pd.Timestamp | str, *, profiles: HourlyProfiles | None = None) -> pd.Timestamp:
        """Write hour *t* into the net as pandapower's OPF reads it: load, sgen limits, gen
        limits (must-run and must-take units fixed at their output) and linear costs
        (``poly_cost``), so that ``pp.rundcopp`` solves the same hour as :meth:`dispatch`."""
        t = hour_range(t, 1)[0]
        prof = profiles if profiles is not None else self.hourly(t, 1)
        net = self.net
        net.load["p_mw"] = prof.load_mw.loc[t].reindex(net.load.index).to_numpy()
        net.sgen["max_p_mw"] = net.sgen["p_mw"] = prof.sgen_max_mw.loc[t].reindex(net.sgen.index).to_numpy()
        avail = prof.gen_max_mw.loc[t].reindex(net.gen.index).to_numpy()
        fixed = net.gen["kind"].isin(_FIXED_KINDS).to_numpy()
        net.gen["max_p_mw"] = avail
        net.gen["min_p_mw"] = np.where(fixed, avail, 0.0)
        net.gen["p_mw"] = net.gen["min_p_mw"]
        cost = prof.gen_cost_usd_per_mwh.loc[t]
        gens = net.poly_cost["et"] == "gen"
        net.poly_cost.loc[gens, "cp1_eur_per_mw"] = cost.reindex(net.poly_cost.loc[gens, "element"]).to_numpy()
        return t


def build_balancing_area(data: GenerationByFuel, sites: Sequence[str] = (), *, name: str | None = None,
                         fleet: BalancingAreaFleet | None = None) -> BalancingAreaGrid:
    """The grid of the BA in *data* with data-center *sites* (names, each its own bus).
    *name*: the grid's name (default: the file's stem, ``BPAT``)."""
    fleet = fit_fleet(data, name) if fleet is None else fleet
    zone = name or fleet.name
    sites = list(dict.fromkeys(sites))
    net = _build_net(fleet, zone, sites)
    spec = {"name": zone, "source": data.source, "zones": {zone: {}}, "sites": {s: {"zone": zone} for s in sites}}
    return BalancingAreaGrid(name=zone, net=net, spec=spec, fleet=fleet, data=data, timeseries_source=data.source)


def _build_net(fleet: BalancingAreaFleet, zone: str, sites: list[str]):
    import pandapower as pp

    net = pp.create_empty_network(name=zone)
    ba = pp.create_bus(net, vn_kv=345.0, name=zone)
    for s in sites:
        b = pp.create_bus(net, vn_kv=345.0, name=f"dc:{s}")
        pp.create_switch(net, ba, b, et="b", closed=True)
    net.bus["zone"] = zone
    net.bus["dc_site"] = pd.Series([None] + sites, index=net.bus.index, dtype=object)
    pp.create_load(net, ba, p_mw=float(fleet.demand_mw.mean()), name="generation", controllable=False)
    net.load["zone"], net.load["kind"] = zone, "background"
    units = fleet.units
    peak = fleet.available_mw.max()
    typical_cost = fleet.cost_usd_per_mwh.mean()
    rows = {"gen": [], "sgen": []}
    for unit, u in units.iterrows():
        pmax = max(float(peak[unit]), 1e-3)
        mc = float(typical_cost[unit])
        if u["code"] in RENEWABLE:
            i = pp.create_sgen(net, ba, p_mw=pmax, max_p_mw=pmax, min_p_mw=0.0, controllable=True, name=unit, type=u["fuel"])
            pp.create_poly_cost(net, i, "sgen", cp1_eur_per_mw=mc)
            table = "sgen"
        else:
            fixed = u["kind"] in _FIXED_KINDS
            i = pp.create_gen(net, ba, p_mw=0.0, vm_pu=1.0, max_p_mw=pmax, min_p_mw=pmax if fixed else 0.0, controllable=True,
                              slack=not len(net.gen), name=unit, type=u["kind"])
            pp.create_poly_cost(net, i, "gen", cp1_eur_per_mw=mc)
            table = "gen"
        rows[table].append({"unit": unit, "zone": zone, "fuel": u["fuel"], "tech": u["kind"], "kind": u["kind"],
                            "co2_kg_per_mwh": u["co2_kg_per_mwh"], "water_l_per_mwh": u["water_l_per_mwh"],
                            "marginal_cost_usd_per_mwh": mc, "heat_rate_mmbtu_per_mwh": u["heat_rate_mmbtu_per_mwh"]})
    for table, meta in rows.items():
        frame = pd.DataFrame(meta, index=net[table].index, columns=_UNIT_COLUMNS)
        for col in _UNIT_COLUMNS:
            net[table][col] = frame[col]
    if not len(net.gen):
        raise InputError(zone, "fuels", "no dispatchable generation (coal, gas, oil, hydro, nuclear or other)")
    return net


def year_baseline(data: GenerationByFuel, *, marginal: bool = True) -> pd.DataFrame:
    """The BA's dispatch without data centers over every hour of its file: per hour
    ``carbon_kg_per_kwh`` (average intensity of the dispatched mix), ``lme_kg_per_kwh``,
    ``price_usd_per_mwh`` and ``p_mw:<code>`` (generation by EIA fuel code, MW). Hours in
    unfilled gaps are NaN."""
    grid = build_balancing_area(data)
    times = data.mw.index
    valid = ~data.mw.isna().any(axis=1).to_numpy()
    out = np.full((len(times), 3 + len(FUEL_COLUMNS)), np.nan)
    for first, last in runs(valid):
        horizon = grid.for_hours(times[first], last - first)
        for k in range(last - first):
            r = horizon.solve_hour(k, marginal=marginal)
            row = out[first + k]
            row[0] = r.avg_intensity_kg_per_mwh / 1000.0
            row[1] = r.bus_lme_kg_per_mwh[0] / 1000.0
            row[2] = r.bus_lmp_usd_per_mwh[0]
            row[3:] = r.fuel_p_mw @ _fuel_to_code(r.labels.fuel)
    columns = ["carbon_kg_per_kwh", "lme_kg_per_kwh", "price_usd_per_mwh"] + [f"p_mw:{c}" for c in FUEL_COLUMNS]
    frame = pd.DataFrame(out, index=times, columns=columns)
    frame.loc[~valid, :] = np.nan
    return frame


def _fuel_to_code(fuels: pd.Index) -> np.ndarray:
    """(fuels, codes) 0/1 matrix: a result's fuel mix (fuels.yaml names) to EIA fuel codes."""
    return (fuels.to_numpy()[:, None] == np.array(list(FUEL_COLUMNS.values()))[None, :]).astype(float)
