"""The pandapower reference path: ``pp.rundcopp`` on a region's net, what it dispatched,
and the hour-by-hour baseline without data-center load (by rundcopp or by the fast
DC-OPF of :mod:`grids.opf`, the same LP solved by HiGHS)."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from grids.grid import UNIT_TABLES, RegionGrid
from grids.opf import Dispatcher
from grids.outcome import produced_mw, zone_average

if TYPE_CHECKING:
    from pandapower.auxiliary import pandapowerNet

PIPS_RETRY = {"PDIPM_GRADTOL": 1e-5, "PDIPM_COMPTOL": 1e-5, "PDIPM_MAX_IT": 300}
"""Looser PIPS tolerances of :func:`run_dcopp`'s one retry."""


def run_dcopp(net: pandapowerNet, **kwargs: Any) -> None:
    """``pp.rundcopp(net)``; if pandapower's interior-point solver (PIPS) stops short of
    its default 1e-6 tolerances, which happens on these nets in some hours with
    curtailment (renewables at zero LMP next to must-run units), retry once with
    gradient and complementarity tolerances of 1e-5 (:data:`PIPS_RETRY`). Raises
    RuntimeError if that fails too."""
    import pandapower as pp
    from pandapower.auxiliary import OPFNotConverged

    try:
        pp.rundcopp(net, **kwargs)
        return
    except OPFNotConverged:
        pass
    try:
        pp.rundcopp(net, **{**PIPS_RETRY, **kwargs})
    except OPFNotConverged:
        raise RuntimeError(f"{net.name}: rundcopp did not converge, even with {PIPS_RETRY}") from None


def dispatched_units(net: pandapowerNet) -> pd.DataFrame:
    """After an OPF / power flow: one row per gen, sgen and ext_grid with ``element``,
    ``index``, ``name``, ``zone``, ``fuel``, ``p_mw``, ``co2_kg_per_mwh``,
    ``water_l_per_mwh``, ``marginal_cost_usd_per_mwh``."""
    parts = []
    for table in UNIT_TABLES:
        t = net[table]
        if not len(t):
            continue
        res = net[f"res_{table}"]
        parts.append(pd.DataFrame({
            "element": table, "index": t.index, "name": t["name"], "zone": t["zone"], "fuel": t["fuel"],
            "p_mw": res["p_mw"].reindex(t.index).to_numpy(dtype=float),
            "co2_kg_per_mwh": t["co2_kg_per_mwh"].to_numpy(dtype=float),
            "water_l_per_mwh": t["water_l_per_mwh"].to_numpy(dtype=float),
            "marginal_cost_usd_per_mwh": t["marginal_cost_usd_per_mwh"].to_numpy(dtype=float),
        }))
    return pd.concat(parts, ignore_index=True)


def zone_intensity(units: pd.DataFrame) -> pd.Series:
    """Average carbon intensity (kg/MWh) of each producing zone of *units*
    (:func:`dispatched_units`), by :func:`grids.outcome.zone_average`; zones sorted by name."""
    zones = sorted(set(units["zone"]))
    code = units["zone"].map({z: k for k, z in enumerate(zones)}).to_numpy(int)
    avg = zone_average(code, units["p_mw"].to_numpy(float), units["co2_kg_per_mwh"].to_numpy(float), len(zones))
    s = pd.Series(avg, index=pd.Index(zones, name="zone"), name="avg_intensity_kg_per_mwh")
    return s.dropna()


def zone_fuel_mix(units: pd.DataFrame) -> pd.DataFrame:
    """Production (MW) by zone (rows) and fuel (columns), producing units only."""
    u = units[produced_mw(units["p_mw"].to_numpy(float)) > 0]
    return u.pivot_table(index="zone", columns="fuel", values="p_mw", aggfunc="sum", fill_value=0.0)


@dataclass
class Baseline:
    """Hourly dispatch of a region without data-center load (see :func:`baseline_signals`)."""

    region: str
    engine: str
    prices: pd.DataFrame          # time x DC site: LMP at the site's bus, USD/MWh
    intensity: pd.DataFrame       # time x zone: average intensity of the zone's production, kg/kWh
    site_zone: dict[str, str]     # DC site -> zone
    mix_mw: pd.DataFrame          # time x (zone, fuel): production, MW (p > 0 only)
    seconds: float = 0.0
    fallback_hours: list = field(default_factory=list)  # engine "pandapower": hours rundcopp
    # could not solve, solved by the Dispatcher instead

    def site_intensity(self) -> pd.DataFrame:
        """time x DC site: the average intensity of the site's zone, kg/kWh."""
        return pd.DataFrame({s: self.intensity[z] for s, z in self.site_zone.items()})


def baseline_signals(rg: RegionGrid, start: pd.Timestamp | str, hours: int, *, engine: str = "auto") -> Baseline:
    """Dispatch *rg* hour by hour over ``[start, start + hours)`` without data-center load.

    *engine*: ``"pandapower"`` (``pp.rundcopp`` on the net via :func:`run_dcopp`),
    ``"dispatcher"`` (:class:`grids.opf.Dispatcher`, the same LP solved by HiGHS, much
    faster) or ``"auto"`` (the dispatcher). Average intensity is per zone,
    production-based (:func:`grids.outcome.zone_average`; ext_grid imports count as
    production of the zone they connect to, exports do not). With ``"pandapower"``, an
    hour that rundcopp cannot solve even after :func:`run_dcopp`'s retry is solved by the
    Dispatcher and listed in ``fallback_hours``.
    """
    if engine not in ("auto", "dispatcher", "pandapower"):
        raise ValueError(f"engine must be auto, dispatcher or pandapower, not {engine!r}")
    engine = "pandapower" if engine == "pandapower" else "dispatcher"
    prof = rg.hourly(start, hours)
    net = rg.net
    disp = Dispatcher(net, name=rg.name) if engine == "dispatcher" else None
    tables = [t for t in UNIT_TABLES if len(net[t])]
    zones = list(rg.spec["zones"])
    zcode = {z: k for k, z in enumerate(zones)}
    fuels = sorted(set().union(*[set(net[t]["fuel"]) for t in tables]))
    fcode = {f: k for k, f in enumerate(fuels)}
    zc = np.concatenate([net[t]["zone"].map(zcode).to_numpy(int) for t in tables])
    fc = np.concatenate([net[t]["fuel"].map(fcode).to_numpy(int) for t in tables])
    co2 = np.concatenate([net[t]["co2_kg_per_mwh"].to_numpy(float) for t in tables])
    site_bus = pd.Series(rg.sites)
    nz, nf, n = len(zones), len(fuels), len(prof.load_mw)
    prices = np.empty((n, len(site_bus)))
    inten = np.empty((n, nz))
    mix = np.empty((n, nz * nf))
    t0 = time.perf_counter()
    fallback = []

    def _dispatch(d, t):
        r = d.solve(load_mw=prof.load_mw.loc[t], sgen_max_mw=prof.sgen_max_mw.loc[t], marginal=False, hour_label=t)
        parts = {"gen": r.gen_p_mw, "sgen": r.sgen_p_mw, "ext_grid": r.ext_grid_p_mw}
        return np.concatenate([parts[tb].reindex(net[tb].index).to_numpy(float) for tb in tables]), r.lmp_usd_per_mwh

    for k, t in enumerate(prof.load_mw.index):
        if disp is not None:
            p, lmp = _dispatch(disp, t)
        else:
            rg.apply_hour(t, profiles=prof)
            try:
                run_dcopp(net)
                p = np.concatenate([net[f"res_{tb}"]["p_mw"].reindex(net[tb].index).to_numpy(float) for tb in tables])
                lmp = net.res_bus["lam_p"]
            except RuntimeError:
                p, lmp = _dispatch(Dispatcher(net, name=rg.name), t)
                fallback.append(t)
        prices[k] = lmp.reindex(site_bus.to_numpy()).to_numpy(float)
        inten[k] = zone_average(zc, p, co2, nz) / 1000.0
        mix[k] = np.bincount(zc * nf + fc, weights=produced_mw(p), minlength=nz * nf)
    idx = prof.load_mw.index
    return Baseline(
        region=rg.name, engine=engine,
        prices=pd.DataFrame(prices, index=idx, columns=list(site_bus.index)),
        intensity=pd.DataFrame(inten, index=idx, columns=zones),
        site_zone=dict(rg.site_zone),
        mix_mw=pd.DataFrame(mix, index=idx, columns=pd.MultiIndex.from_product([zones, fuels], names=["zone", "fuel"])),
        seconds=time.perf_counter() - t0,
        fallback_hours=fallback,
    )
