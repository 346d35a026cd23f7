"""RTS-GMLC (NREL / GridMod) as a pandapower net, with fuels, costs, CO2 and water rates.

The RTS-GMLC test system (https://github.com/GridMod/RTS-GMLC, data (c) NREL under the data
use notice in the dataset's NOTICE.md) is a 73-bus, three-area synthetic system with 2020
hourly day-ahead load and renewable series. This module turns it into the project's one data
object, a :class:`pandapower.pandapowerNet`, so a real test system can stand in for a region:

- :func:`load_rts_gmlc` builds the net (buses, lines, transformers, loads, thermal units as
  ``net.gen``, wind/PV/RTPV/hydro as controllable ``net.sgen``, linear costs in
  ``net.poly_cost``, one zero-output ``ext_grid`` as the angle reference);
- :func:`grids.rts_gmlc_series.load_rts_gmlc_series` reads the hourly ``DAY_AHEAD_*`` series
  for a window and maps them onto the net's load and sgen indices, and
  :func:`grids.rts_gmlc_series.apply_hour` writes one hour of them into the net
  (reading the files: :mod:`grids.rts_gmlc_files`).

Per-generator facts are extra columns of ``net.gen`` and ``net.sgen``: ``fuel`` (coal, gas,
oil, nuclear, hydro, wind, solar, other), ``co2_kg_per_mwh``, ``water_l_per_mwh``,
``marginal_cost_usd_per_mwh`` and others listed in :func:`load_rts_gmlc`. Units skipped
(storage, synchronous condensers, CSP without a series) are listed in ``net.rts_skipped``.

The module stays near 470 lines: a quarter is this description and the dataset's fixed
facts (fuel map, water rates, series files); the rest builds the net table by table.

Every bad input raises :class:`grids.errors.InputError` (``file: field or row: reason``).
See docs/rts_gmlc.md for the modelling choices and the data notice.
"""
from __future__ import annotations

import math
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandapower as pp
import pandas as pd

from grids.errors import InputError
from grids.rts_gmlc_files import column_numbers, dataset_root, read_table

if TYPE_CHECKING:
    from pandapower.auxiliary import pandapowerNet

__all__ = [
    "FUEL_MAP",
    "KG_PER_LB",
    "L_PER_GAL",
    "SERIES_FILES",
    "WATER_GAL_PER_MWH",
    "load_rts_gmlc",
]

KG_PER_LB = 0.45359237
L_PER_GAL = 3.78541
BASE_MVA = 100.0
"""The per-unit base of bus.csv/branch.csv impedances."""

FUEL_MAP: dict[str, str] = {
    "Coal": "coal",
    "NG": "gas",
    "Oil": "oil",
    "Nuclear": "nuclear",
    "Hydro": "hydro",
    "Wind": "wind",
    "Solar": "solar",
}
"""RTS ``Fuel`` -> project fuel. Fuels in :data:`SKIPPED_FUELS` are not modelled; any other
fuel is refused (nothing is dropped silently)."""

SKIPPED_FUELS: dict[str, str] = {
    "Storage": "storage is not modelled (no state of charge in an hourly DC-OPF)",
    "Sync_Cond": "synchronous condenser: reactive power only (PMax 0)",
}

THERMAL_FUELS = ("coal", "gas", "oil", "nuclear")
RENEWABLE_FUELS = ("hydro", "wind", "solar")

WATER_GAL_PER_MWH: dict[str, float] = {
    "coal": 450.0,
    "gas": 300.0,
    "nuclear": 600.0,
    "oil": 350.0,
    "other": 475.0,
    "solar": 0.0,
    "hydro": 0.0,
    "wind": 0.0,
}
"""Off-site water consumption by fuel, gal/MWh (figures of ../shared/data/README.md)."""

SERIES_FILES: dict[str, str] = {
    "HYDRO": "DAY_AHEAD_hydro.csv",
    "ROR": "DAY_AHEAD_hydro.csv",
    "PV": "DAY_AHEAD_pv.csv",
    "RTPV": "DAY_AHEAD_rtpv.csv",
    "WIND": "DAY_AHEAD_wind.csv",
}
"""RTS ``Unit Type`` of a renewable unit -> the DAY_AHEAD file with its hourly availability
(column = GEN UID). A renewable unit whose type is not here (CSP) is skipped and reported."""

_BUS_COLUMNS = ("Bus ID", "Bus Name", "BaseKV", "Bus Type", "MW Load", "MVAR Load", "V Mag", "Area", "lat", "lng")
_BRANCH_COLUMNS = ("UID", "From Bus", "To Bus", "R", "X", "B", "Cont Rating", "Tr Ratio")
_GEN_COLUMNS = (
    "GEN UID", "Bus ID", "Unit Type", "Fuel", "MW Inj", "V Setpoint p.u.", "PMax MW", "PMin MW",
    "Fuel Price $/MMBTU", "Output_pct_0", "HR_avg_0", "VOM", "Emissions CO2 Lbs/MMBTU",
)
_SKIPPED_COLUMNS = ["gen_uid", "bus", "fuel", "unit_type", "pmax_mw", "reason"]


# --------------------------------------------------------------------------------------
# arguments
# --------------------------------------------------------------------------------------


def _check_areas(areas, available: Iterable[int]) -> list[int]:
    available = sorted(set(int(a) for a in available))
    if areas is None:
        return available
    if isinstance(areas, (int, np.integer, str)):
        areas = [areas]
    try:
        chosen = sorted({int(a) for a in areas})
    except (TypeError, ValueError):
        raise InputError("<arguments>", "areas", f"{areas!r} is not a set of area numbers") from None
    unknown = [a for a in chosen if a not in available]
    if not chosen or unknown:
        raise InputError(
            "<arguments>", "areas", f"{list(areas)!r}: choose a non-empty subset of the areas {available}"
        )
    return chosen


# --------------------------------------------------------------------------------------
# heat rates, costs, emissions
# --------------------------------------------------------------------------------------


def _heat_rates(gen: pd.DataFrame, path: Path, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Full-load average and width-weighted incremental heat rates (BTU/kWh) of each unit.

    The curve: ``HR_avg_0`` is the average heat rate up to output point 0 (``Output_pct_0`` x
    PMax, = PMin); ``HR_incr_k`` the incremental heat rate between points k-1 and k. Segments
    are used while both ``Output_pct_k`` and ``HR_incr_k`` are given.

    - full-load average = (HR_avg_0 x pct_0 + sum_k HR_incr_k x (pct_k - pct_(k-1))) / pct_last
    - incremental = sum_k HR_incr_k x (pct_k - pct_(k-1)) / (pct_last - pct_0)
      (the slope of the fuel curve's secant from PMin to PMax), NaN when the curve has no
      width or no positive incremental heat rate.
    """
    label = gen["GEN UID"].astype(str).str.strip()
    pct0 = column_numbers(gen, "Output_pct_0", path, label=label, rows=rows)
    hr0 = column_numbers(gen, "HR_avg_0", path, label=label, rows=rows)
    fuel_used = hr0 * pct0  # BTU/kWh x fraction of PMax: fuel at point 0 per kW of PMax
    incr_fuel = np.zeros(len(gen))
    last = pct0.copy()
    k = 1
    while f"Output_pct_{k}" in gen.columns and f"HR_incr_{k}" in gen.columns:
        pct = column_numbers(gen, f"Output_pct_{k}", path, label=label, rows=rows, missing_ok=True)
        incr = column_numbers(gen, f"HR_incr_{k}", path, label=label, rows=rows, missing_ok=True)
        use = rows & np.isfinite(pct) & np.isfinite(incr) & (pct > 0)
        width = np.where(use, pct - last, 0.0)
        bad = use & (width < -1e-9)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise InputError(
                path, f"row {i + 2} ({label.iloc[i]}), column Output_pct_{k}",
                f"output points must increase ({pct[i]} after {last[i]})",
            )
        incr_fuel += np.where(use, incr * width, 0.0)
        last = np.where(use, pct, last)
        k += 1
    with np.errstate(divide="ignore", invalid="ignore"):
        full_load = (fuel_used + incr_fuel) / last
        span = last - pct0
        incremental = np.where((span > 1e-9) & (incr_fuel > 0), incr_fuel / span, np.nan)
    return full_load, incremental


# --------------------------------------------------------------------------------------
# the net
# --------------------------------------------------------------------------------------


def load_rts_gmlc(root: str | Path, *, areas: Iterable[int] | None = None, enforce_pmin: bool = True) -> pandapowerNet:
    """Build the RTS-GMLC system (or the sub-network of *areas*) as a pandapower net.

    *root* is the RTS-GMLC folder (``../shared/data/rts-gmlc``) or the data dir holding it.
    *areas* is a subset of {1, 2, 3}: only buses of those areas and branches with both ends in
    them are kept (tie lines to other areas are dropped). With *enforce_pmin* (default),
    thermal units have ``min_p_mw`` = PMin, i.e. every unit is committed; with False,
    ``min_p_mw`` = 0 (a relaxed commitment: in about a third of 2020's hours the load is below
    the fleet's total PMin and the committed-fleet OPF is infeasible). PMin is kept in
    ``pmin_mw`` either way.

    The net (``sn_mva`` = 100, ``f_hz`` = 60):

    - ``net.bus``: index = RTS ``Bus ID`` (so 313 is bus 313 in every subset), ``name`` = Bus
      Name, ``vn_kv`` = BaseKV, ``zone`` = "area<N>", extra ``area`` (int), geodata (lng, lat);
    - ``net.load``: one per bus with ``MW Load`` > 0, ``p_mw``/``q_mvar`` = bus.csv's values,
      extra ``area``, ``load_share`` (the bus's share of its area's MW Load, which distributes
      the hourly area totals) and ``q_per_p`` (MVAR/MW, kept by :func:`apply_hour`);
    - ``net.line``: branches with ``Tr Ratio`` 0, length 1 km, x_ohm_per_km = X x BaseKV^2/100,
      r likewise, c from B, ``max_i_ka`` = Cont Rating / (sqrt(3) BaseKV), max_loading 100 %;
    - ``net.trafo``: branches with ``Tr Ratio`` > 0, sn_mva = Cont Rating, vk/vkr from X and R
      on the 100 MVA base, an off-nominal ratio tap at the from-bus side (as MATPOWER's TAP);
    - ``net.gen``: coal, gas, oil and nuclear units (controllable, min/max from PMin/PMax,
      ``p_mw`` = MW Inj of the data's base case);
    - ``net.sgen``: wind, PV, RTPV and hydro units (controllable, min 0, ``max_p_mw`` = PMax
      and ``p_mw`` = MW Inj until :func:`apply_hour` writes an hour's availability);
    - extra columns on gen and sgen: ``fuel``, ``unit_type`` (RTS Unit Type), ``area``,
      ``pmin_mw``, ``pmax_mw``, ``fuel_price_usd_per_mmbtu``, ``vom_usd_per_mwh``,
      ``heat_rate_btu_per_kwh`` (full-load average), ``incr_heat_rate_btu_per_kwh``,
      ``marginal_cost_usd_per_mwh``, ``co2_kg_per_mwh``, ``water_l_per_mwh``;
    - ``net.poly_cost``: one linear cost per gen and sgen, ``cp1_eur_per_mw`` = the marginal
      cost in USD/MWh (pandapower's column says EUR; the project's currency is USD);
    - ``net.ext_grid``: one, at the ``Ref`` bus (113; if outside *areas*, the kept bus with the
      most thermal capacity), ``min_p_mw`` = ``max_p_mw`` = 0: an angle reference only, never
      an energy source in the OPF (in a plain power flow it balances the mismatch);
    - ``net.rts_skipped``: the units of the kept areas that are not modelled, with the reason.
    """
    root = dataset_root(root)
    bus_path, branch_path, gen_path = root / "bus.csv", root / "branch.csv", root / "gen.csv"
    bus = read_table(bus_path, _BUS_COLUMNS)
    branch = read_table(branch_path, _BRANCH_COLUMNS)
    gen = read_table(gen_path, _GEN_COLUMNS)

    # ---- buses
    blabel = bus["Bus ID"].astype(str).str.strip()
    bus_id = column_numbers(bus, "Bus ID", bus_path)
    if (bus_id != np.round(bus_id)).any():
        i = int(np.flatnonzero(bus_id != np.round(bus_id))[0])
        raise InputError(bus_path, f"row {i + 2}, column Bus ID", f"{blabel.iloc[i]!r} is not a whole number")
    bus_id = bus_id.astype(int)
    dup = pd.Series(bus_id).duplicated().to_numpy()
    if dup.any():
        i = int(np.flatnonzero(dup)[0])
        raise InputError(bus_path, f"row {i + 2}, column Bus ID", f"bus {bus_id[i]} appears twice")
    base_kv = column_numbers(bus, "BaseKV", bus_path, label=blabel)
    if (base_kv <= 0).any():
        i = int(np.flatnonzero(base_kv <= 0)[0])
        raise InputError(bus_path, f"row {i + 2} ({blabel.iloc[i]}), column BaseKV", "must be > 0")
    area_all = column_numbers(bus, "Area", bus_path, label=blabel).astype(int)
    chosen = _check_areas(areas, area_all)
    keep_bus = np.isin(area_all, chosen)
    mw_load = column_numbers(bus, "MW Load", bus_path, label=blabel)
    mvar_load = column_numbers(bus, "MVAR Load", bus_path, label=blabel)
    if (mw_load < 0).any():
        i = int(np.flatnonzero(mw_load < 0)[0])
        raise InputError(bus_path, f"row {i + 2} ({blabel.iloc[i]}), column MW Load", "negative load")
    v_mag = column_numbers(bus, "V Mag", bus_path, label=blabel)
    lat = column_numbers(bus, "lat", bus_path, label=blabel, missing_ok=True)
    lng = column_numbers(bus, "lng", bus_path, label=blabel, missing_ok=True)
    kv_of = dict(zip(bus_id, base_kv))
    area_of = dict(zip(bus_id, area_all))
    kept_ids = set(bus_id[keep_bus].tolist())

    net = pp.create_empty_network(name="RTS-GMLC" + ("" if areas is None else f" areas {chosen}"),
                                  f_hz=60.0, sn_mva=BASE_MVA)
    ids = bus_id[keep_bus]
    has_geo = np.isfinite(lat[keep_bus]) & np.isfinite(lng[keep_bus])
    pp.create_buses(
        net, len(ids), vn_kv=base_kv[keep_bus], index=ids,
        name=bus["Bus Name"].astype(str).str.strip().to_numpy()[keep_bus],
        geodata=[(x, y) for x, y in zip(lng[keep_bus], lat[keep_bus])] if has_geo.all() else None,
        zone=[f"area{a}" for a in area_all[keep_bus]],
    )
    net.bus["area"] = area_all[keep_bus]

    # ---- loads: one per bus with MW Load > 0; share of the area's total
    area_total = pd.Series(mw_load).groupby(area_all).sum()
    lmask = keep_bus & (mw_load > 0)
    lidx = pp.create_loads(
        net, bus_id[lmask], p_mw=mw_load[lmask], q_mvar=mvar_load[lmask],
        name=[f"load_{b}" for b in bus_id[lmask]], controllable=False,
    )
    net.load.loc[lidx, "area"] = area_all[lmask]
    net.load["area"] = net.load["area"].astype(int)
    net.load.loc[lidx, "load_share"] = mw_load[lmask] / area_total.loc[area_all[lmask]].to_numpy()
    net.load.loc[lidx, "q_per_p"] = mvar_load[lmask] / mw_load[lmask]

    # ---- branches
    _add_branches(net, branch, branch_path, kv_of, kept_ids)

    # ---- generators
    skipped = _add_units(net, gen, gen_path, kept_ids, area_of, enforce_pmin)
    net["rts_skipped"] = pd.DataFrame(skipped, columns=_SKIPPED_COLUMNS)

    # ---- reference bus: zero-output ext_grid (angle reference only)
    ref_rows = [i for i in np.flatnonzero(keep_bus) if str(bus["Bus Type"].iloc[i]).strip().lower() == "ref"]
    if ref_rows:
        ref_bus = int(bus_id[ref_rows[0]])
        vm = float(v_mag[ref_rows[0]])
    else:
        if len(net.gen):
            cap = net.gen.groupby("bus")["max_p_mw"].sum()
            ref_bus = int(cap[cap == cap.max()].index.min())
        else:
            ref_bus = int(min(kept_ids))
        vm = float(v_mag[np.flatnonzero(bus_id == ref_bus)[0]])
    at_ref = net.gen.index[net.gen.bus == ref_bus]
    if len(at_ref):  # one voltage set point per bus
        vm = float(net.gen.at[at_ref[0], "vm_pu"])
        net.gen.loc[at_ref, "vm_pu"] = vm
    pp.create_ext_grid(net, ref_bus, vm_pu=vm, va_degree=0.0, name=f"ref_{ref_bus}",
                       min_p_mw=0.0, max_p_mw=0.0, min_q_mvar=-1e4, max_q_mvar=1e4, controllable=True)
    return net


def _add_branches(net, branch: pd.DataFrame, path: Path, kv_of: dict, kept_ids: set) -> None:
    label = branch["UID"].astype(str).str.strip()
    f = column_numbers(branch, "From Bus", path, label=label).astype(int)
    t = column_numbers(branch, "To Bus", path, label=label).astype(int)
    for name, ends in (("From Bus", f), ("To Bus", t)):
        unknown = ~np.isin(ends, list(kv_of))
        if unknown.any():
            i = int(np.flatnonzero(unknown)[0])
            raise InputError(path, f"row {i + 2} ({label.iloc[i]}), column {name}", f"bus {ends[i]} is not in bus.csv")
    r = column_numbers(branch, "R", path, label=label)
    x = column_numbers(branch, "X", path, label=label)
    b = column_numbers(branch, "B", path, label=label)
    rating = column_numbers(branch, "Cont Rating", path, label=label)
    ratio = column_numbers(branch, "Tr Ratio", path, label=label)
    for name, values in (("X", x), ("Cont Rating", rating)):
        if (values <= 0).any():
            i = int(np.flatnonzero(values <= 0)[0])
            raise InputError(path, f"row {i + 2} ({label.iloc[i]}), column {name}", f"must be > 0, found {values[i]}")
    if (ratio < 0).any():
        i = int(np.flatnonzero(ratio < 0)[0])
        raise InputError(path, f"row {i + 2} ({label.iloc[i]}), column Tr Ratio", "must be >= 0")
    keep = np.isin(f, list(kept_ids)) & np.isin(t, list(kept_ids))
    names = label.to_numpy()
    kv_f = np.array([kv_of[v] for v in f])
    kv_t = np.array([kv_of[v] for v in t])

    is_line = keep & (ratio == 0)
    bad = is_line & (kv_f != kv_t)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(path, f"row {i + 2} ({label.iloc[i]})",
                         f"a line (Tr Ratio 0) joins buses of {kv_f[i]} and {kv_t[i]} kV")
    if is_line.any():
        kv = kv_f[is_line]
        zbase = kv**2 / BASE_MVA
        pp.create_lines_from_parameters(
            net, f[is_line], t[is_line], length_km=1.0,
            r_ohm_per_km=r[is_line] * zbase, x_ohm_per_km=x[is_line] * zbase,
            c_nf_per_km=b[is_line] / zbase / (2 * math.pi * net.f_hz) * 1e9,
            max_i_ka=rating[is_line] / (math.sqrt(3) * kv), name=names[is_line], max_loading_percent=100.0,
        )

    is_trafo = keep & (ratio > 0)
    if is_trafo.any():
        ff, tt = f[is_trafo], t[is_trafo]
        kf, kt = kv_f[is_trafo], kv_t[is_trafo]
        from_is_hv = kf >= kt
        hv = np.where(from_is_hv, ff, tt)
        lv = np.where(from_is_hv, tt, ff)
        sn = rating[is_trafo]
        z = np.hypot(r[is_trafo], x[is_trafo])
        pp.create_transformers_from_parameters(
            net, hv, lv, sn_mva=sn,
            vn_hv_kv=np.maximum(kf, kt), vn_lv_kv=np.minimum(kf, kt),
            # impedance in % on the trafo's own base sn: z_pu(100 MVA) x 100 x sn / 100
            vkr_percent=r[is_trafo] * sn, vk_percent=z * sn, pfe_kw=0.0, i0_percent=0.0,
            # the off-nominal ratio sits on the from-bus side, as MATPOWER's TAP
            tap_side=np.where(from_is_hv, "hv", "lv"), tap_neutral=0, tap_min=0, tap_max=1, tap_pos=1,
            tap_step_percent=(ratio[is_trafo] - 1.0) * 100.0, tap_step_degree=0.0, tap_changer_type="Ratio",
            name=names[is_trafo], max_loading_percent=100.0,
        )


def _add_units(net, gen: pd.DataFrame, path: Path, kept_ids: set, area_of: dict, enforce_pmin: bool) -> list:
    label = gen["GEN UID"].astype(str).str.strip()
    gbus = column_numbers(gen, "Bus ID", path, label=label).astype(int)
    unknown = ~np.isin(gbus, list(area_of))
    if unknown.any():
        i = int(np.flatnonzero(unknown)[0])
        raise InputError(path, f"row {i + 2} ({label.iloc[i]}), column Bus ID", f"bus {gbus[i]} is not in bus.csv")
    dup = label.duplicated().to_numpy()
    if dup.any():
        i = int(np.flatnonzero(dup)[0])
        raise InputError(path, f"row {i + 2}, column GEN UID", f"{label.iloc[i]!r} appears twice")
    fuel_raw = gen["Fuel"].astype(str).str.strip()
    utype = gen["Unit Type"].astype(str).str.strip()
    kept = np.isin(gbus, list(kept_ids))
    known = set(FUEL_MAP) | set(SKIPPED_FUELS)
    bad = kept & ~fuel_raw.isin(known).to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(path, f"row {i + 2} ({label.iloc[i]}), column Fuel",
                         f"unknown fuel {fuel_raw.iloc[i]!r}; known: {sorted(known)}")
    fuel = fuel_raw.map(FUEL_MAP).to_numpy(dtype=object)
    pmax = column_numbers(gen, "PMax MW", path, label=label, rows=kept)
    pmin = column_numbers(gen, "PMin MW", path, label=label, rows=kept)

    skipped = []
    thermal = np.zeros(len(gen), dtype=bool)
    renewable = np.zeros(len(gen), dtype=bool)
    for i in np.flatnonzero(kept):
        reason = None
        if fuel_raw.iloc[i] in SKIPPED_FUELS:
            reason = SKIPPED_FUELS[fuel_raw.iloc[i]]
        elif not pmax[i] > 0:
            reason = "PMax is 0"
        elif fuel[i] in RENEWABLE_FUELS and utype.iloc[i] not in SERIES_FILES:
            reason = f"no availability series for unit type {utype.iloc[i]} in the dataset"
        if reason:
            skipped.append([label.iloc[i], int(gbus[i]), fuel_raw.iloc[i], utype.iloc[i], float(pmax[i]), reason])
        elif fuel[i] in THERMAL_FUELS:
            thermal[i] = True
        else:
            renewable[i] = True
    for name, vals, rows in (("PMin MW", pmin, thermal | renewable), ("PMax MW", pmax, thermal | renewable)):
        neg = rows & (vals < 0)
        if neg.any():
            i = int(np.flatnonzero(neg)[0])
            raise InputError(path, f"row {i + 2} ({label.iloc[i]}), column {name}", "negative")
    over = thermal & (pmin > pmax)
    if over.any():
        i = int(np.flatnonzero(over)[0])
        raise InputError(path, f"row {i + 2} ({label.iloc[i]}), column PMin MW",
                         f"PMin {pmin[i]} exceeds PMax {pmax[i]}")

    mw_inj = column_numbers(gen, "MW Inj", path, label=label, rows=thermal | renewable)
    vset = column_numbers(gen, "V Setpoint p.u.", path, label=label, rows=thermal)
    price = column_numbers(gen, "Fuel Price $/MMBTU", path, label=label, rows=thermal)
    vom = column_numbers(gen, "VOM", path, label=label, rows=thermal)
    co2_lb = column_numbers(gen, "Emissions CO2 Lbs/MMBTU", path, label=label, rows=thermal)
    hr_full, hr_incr = _heat_rates(gen, path, thermal)
    bad = thermal & ~(hr_full > 0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(path, f"row {i + 2} ({label.iloc[i]}), column HR_avg_0",
                         "a thermal unit needs a positive heat rate")
    # marginal cost: incremental heat rate; full-load average where the curve has no increments
    hr_cost = np.where(np.isfinite(hr_incr), hr_incr, hr_full)
    mc = price * hr_cost / 1000.0 + vom
    co2 = co2_lb * KG_PER_LB * hr_full / 1000.0

    def extra(table: str, idx: np.ndarray, rows: np.ndarray, fuels: list[str], cost: np.ndarray, co2_rate: np.ndarray,
              hrf: np.ndarray, hri: np.ndarray) -> None:
        df = net[table]
        df.loc[idx, "fuel"] = fuels
        df.loc[idx, "unit_type"] = utype.to_numpy()[rows]
        df.loc[idx, "area"] = [area_of[b] for b in gbus[rows]]
        df.loc[idx, "pmin_mw"] = pmin[rows]
        df.loc[idx, "pmax_mw"] = pmax[rows]
        df.loc[idx, "fuel_price_usd_per_mmbtu"] = price[rows] if table == "gen" else 0.0
        df.loc[idx, "vom_usd_per_mwh"] = vom[rows] if table == "gen" else 0.0
        df.loc[idx, "heat_rate_btu_per_kwh"] = hrf
        df.loc[idx, "incr_heat_rate_btu_per_kwh"] = hri
        df.loc[idx, "marginal_cost_usd_per_mwh"] = cost
        df.loc[idx, "co2_kg_per_mwh"] = co2_rate
        df.loc[idx, "water_l_per_mwh"] = [WATER_GAL_PER_MWH[f] * L_PER_GAL for f in fuels]
        df["area"] = df["area"].astype(int)

    if thermal.any():
        gidx = pp.create_gens(
            net, gbus[thermal], p_mw=np.clip(mw_inj[thermal], pmin[thermal], pmax[thermal]),
            vm_pu=vset[thermal], name=label.to_numpy()[thermal],
            min_p_mw=pmin[thermal] if enforce_pmin else 0.0, max_p_mw=pmax[thermal],
            controllable=True,
        )
        extra("gen", gidx, thermal, list(fuel[thermal]), mc[thermal], co2[thermal],
              hr_full[thermal], hr_incr[thermal])
        pp.create_poly_costs(net, gidx, "gen", cp1_eur_per_mw=mc[thermal])
    if renewable.any():
        sidx = pp.create_sgens(
            net, gbus[renewable], p_mw=np.clip(mw_inj[renewable], 0.0, pmax[renewable]),
            name=label.to_numpy()[renewable], min_p_mw=0.0, max_p_mw=pmax[renewable], controllable=True,
        )
        n = int(renewable.sum())
        extra("sgen", sidx, renewable, list(fuel[renewable]), np.zeros(n), np.zeros(n),
              np.full(n, np.nan), np.full(n, np.nan))
        pp.create_poly_costs(net, sidx, "sgen", cp1_eur_per_mw=0.0)
    return skipped
