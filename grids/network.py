"""Region specs (buses, lines, zones, sites) and the pandapower net built from a spec and a
fleet table.

A region spec is a YAML file in ``grids/data/regions/`` (its schema is in docs/grids.md):
``name``, ``scale`` (the net is the real system times *scale*: loads, capacities and line
limits), ``base_kv``, ``zones`` (time zone, coordinates, fuel and carbon prices, background
load, net exports, renewable capacity factors), ``buses`` (name -> zone, lat, lon,
load_share), ``lines`` (from, to, capacity_mw of the real system, circuits), ``sites`` (DC
site -> zone, buses it connects to, connection rating), ``ext_grids`` (outside markets
with a price and import/export limits) and ``slack`` (an ext_grid or gen name).

The net (``build_net``) carries everything a user needs to inspect or save it with
pandapower's own I/O:

- ``net.bus``: ``zone``, ``dc_site`` (site name on the data-center buses, else None),
  ``lat``, ``lon``;
- ``net.gen`` / ``net.sgen`` / ``net.ext_grid``: ``zone``, ``fuel``, ``tech``,
  ``co2_kg_per_mwh``, ``water_l_per_mwh``, ``marginal_cost_usd_per_mwh``, and the terms of
  the cost (``heat_rate_mmbtu_per_mwh``, ``fuel_price_usd_per_mmbtu``, ``vom_usd_per_mwh``,
  ``carbon_cost_usd_per_mwh``); sgens also ``capacity_mw`` (the model capacity their
  hourly capacity factor applies to);
- ``net.poly_cost``: linear costs, ``cp1_eur_per_mw`` = marginal cost in **USD**/MWh
  (pandapower names the column eur; the unit here is USD);
- ``net.load``: ``zone`` and ``kind`` (``background`` or ``export``);
- ``net.line``: ``max_loading_percent`` 100 with ``max_i_ka`` set from the MW rating, and
  ``capacity_mw`` (model MW), ``kind`` (``internal``, ``tie`` or ``site``).
"""
from __future__ import annotations

import math
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from grids.errors import InputError
from grids.files import read_yaml
from grids.fleet import DATA_DIR, fuel_factors, marginal_costs, profile_techs, read_fleet
from grids.geo import great_circle_km
from grids.spec import parse_region_spec

if TYPE_CHECKING:
    from pandapower.auxiliary import pandapowerNet

REGIONS_DIR = DATA_DIR / "regions"
FLEETS_DIR = DATA_DIR / "fleets"
PROFILES_FILE = DATA_DIR / "profiles.yaml"

X_OHM_PER_KM = 0.30   # typical 380-400 kV overhead line (per circuit)
R_OVER_X = 0.1
ROUTE_FACTOR = 1.2    # line length = great-circle distance x this (routing)
MIN_LINE_KM = 5.0


@cache
def load_shapes() -> dict[str, dict[str, Any]]:
    """Daily load shapes (local time) and weekend factors from ``profiles.yaml``."""
    doc = read_yaml(PROFILES_FILE)
    out = {}
    for name, d in (doc or {}).get("load_shapes", {}).items():
        shape = np.asarray(d.get("shape", []), dtype=float)
        if shape.shape != (24,) or (shape <= 0).any():
            raise InputError(PROFILES_FILE, f"load_shapes.{name}.shape", "needs 24 positive values")
        wk = [float(x) for x in d.get("weekend", [1.0, 1.0])]
        if len(wk) != 2 or min(wk) <= 0:
            raise InputError(PROFILES_FILE, f"load_shapes.{name}.weekend", "needs [saturday, sunday] > 0")
        out[name] = {"shape": shape / shape.mean(), "weekend": wk}
    return out




def read_region_spec(src: str | Path | dict, *, source: str | None = None) -> dict:
    """Read and validate a region spec (YAML path or already-parsed dict; models in
    :mod:`grids.spec`).

    Returns a normalised dict (numbers as floats, defaults filled in, ``source`` set).
    """
    if isinstance(src, dict):
        doc, source = src, source or "<region spec>"
    else:
        source = source or str(src)
        doc = read_yaml(src, source=source)
    if not isinstance(doc, dict):
        raise InputError(source, "file", "a region spec must be a mapping")
    model = parse_region_spec(doc, source, fuels=set(fuel_factors().index), techs=list(profile_techs()),
                              shapes=list(load_shapes()))
    return {"source": source, **model.model_dump(by_alias=True)}


def _line_params(spec: dict, a: tuple[float, float], b: tuple[float, float], length_km, capacity_model_mw: float,
                 circuits: int) -> dict:
    km = length_km if length_km is not None else max(MIN_LINE_KM, ROUTE_FACTOR * great_circle_km(*a, *b))
    x = X_OHM_PER_KM / circuits
    return dict(length_km=km, r_ohm_per_km=R_OVER_X * x, x_ohm_per_km=x, c_nf_per_km=0.0,
                max_i_ka=capacity_model_mw / (math.sqrt(3) * spec["base_kv"]), max_loading_percent=100.0)


def build_net(spec: dict | str | Path, fleet: pd.DataFrame | str | Path | None = None) -> pandapowerNet:
    """Build the pandapower net of a region from its spec and fleet table.

    *spec*: a parsed spec (from :func:`read_region_spec`) or a path; *fleet*: a path, a
    DataFrame (raw or from :func:`grids.fleet.read_fleet`) or None for the spec's own
    ``fleet`` file in ``grids/data/fleets/``. Generators are created with ``p_mw`` 0 and
    sgens with ``max_p_mw`` = their capacity; :meth:`grids.grid.RegionGrid.apply_hour`
    writes an hour's load and availability.
    """
    import pandapower as pp

    if not isinstance(spec, dict) or "source" not in spec:
        spec = read_region_spec(spec)
    if fleet is None:
        if not spec.get("fleet"):
            raise InputError(spec["source"], "fleet", "no fleet file named and none given")
        fleet = FLEETS_DIR / spec["fleet"]
    if isinstance(fleet, pd.DataFrame) and "profile" in fleet.columns and "row" in fleet.columns:
        fl = fleet
        fsrc = "<fleet>"
    else:
        fsrc = str(fleet) if not isinstance(fleet, pd.DataFrame) else "<fleet>"
        fl = read_fleet(fleet, buses=set(spec["buses"]), source=fsrc)
    unknown = sorted(set(fl["bus"]) - set(spec["buses"]))
    if unknown:
        r = fl[fl["bus"] == unknown[0]].iloc[0]
        raise InputError(fsrc, f"row {r['row']} ({r['name']}): bus", f"unknown bus {unknown[0]!r}")

    scale = spec["scale"]
    zone_of_bus = {b: v["zone"] for b, v in spec["buses"].items()}
    costs = marginal_costs(fl, zone_of_bus,
                           {z: v["fuel_prices_usd_per_mmbtu"] for z, v in spec["zones"].items()},
                           {z: v["carbon_price_usd_per_t"] for z, v in spec["zones"].items()}, source=fsrc)
    fuels = fuel_factors()

    net = pp.create_empty_network(name=spec["name"], sn_mva=100.0)
    bus_idx: dict[str, int] = {}
    zone_col, site_col, lat_col, lon_col = {}, {}, {}, {}
    for bn, b in spec["buses"].items():
        i = pp.create_bus(net, vn_kv=spec["base_kv"], name=bn)
        bus_idx[bn] = i
        zone_col[i], site_col[i], lat_col[i], lon_col[i] = b["zone"], None, b["lat"], b["lon"]
    for sn, s in spec["sites"].items():
        i = pp.create_bus(net, vn_kv=spec["base_kv"], name=f"dc:{sn}")
        bus_idx[f"dc:{sn}"] = i
        zone_col[i], site_col[i], lat_col[i], lon_col[i] = s["zone"], sn, s["lat"], s["lon"]
    net.bus["zone"] = pd.Series(zone_col, dtype=object)
    net.bus["dc_site"] = pd.Series(site_col, dtype=object)
    net.bus["lat"] = pd.Series(lat_col, dtype=float)
    net.bus["lon"] = pd.Series(lon_col, dtype=float)

    kinds, caps = {}, {}
    for ln in spec["lines"]:
        a, b = spec["buses"][ln["from"]], spec["buses"][ln["to"]]
        cap = ln["capacity_mw"] * scale
        i = pp.create_line_from_parameters(
            net, bus_idx[ln["from"]], bus_idx[ln["to"]], name=ln["name"],
            **_line_params(spec, (a["lat"], a["lon"]), (b["lat"], b["lon"]), ln["length_km"], cap, ln["circuits"]))
        kinds[i] = "internal" if a["zone"] == b["zone"] else "tie"
        caps[i] = cap
    for sn, s in spec["sites"].items():
        for c in s["connect"]:
            b = spec["buses"][c]
            i = pp.create_line_from_parameters(
                net, bus_idx[c], bus_idx[f"dc:{sn}"], name=f"dc:{sn}-{c}",
                **_line_params(spec, (b["lat"], b["lon"]), (s["lat"], s["lon"]), None, s["line_mw"], 1))
            kinds[i], caps[i] = "site", s["line_mw"]
    net.line["kind"] = pd.Series(kinds, dtype=object)
    net.line["capacity_mw"] = pd.Series(caps, dtype=float)

    # background load: the zone's load spread over its buses by load_share; exports: one load
    lzone, lkind = {}, {}
    for zn, z in spec["zones"].items():
        zb = [b for b, v in spec["buses"].items() if v["zone"] == zn and v["load_share"] > 0]
        tot = sum(spec["buses"][b]["load_share"] for b in zb)
        for b in zb:
            p = z["load"]["mean_mw"] * scale * spec["buses"][b]["load_share"] / tot
            i = pp.create_load(net, bus_idx[b], p_mw=p, name=f"load:{b}", controllable=False)
            lzone[i], lkind[i] = zn, "background"
        if z["exports"]["mean_mw"] != 0:
            i = pp.create_load(net, bus_idx[z["exports"]["bus"]], p_mw=z["exports"]["mean_mw"] * scale,
                               name=f"export:{zn}", controllable=False)
            lzone[i], lkind[i] = zn, "export"
    net.load["zone"] = pd.Series(lzone, dtype=object)
    net.load["kind"] = pd.Series(lkind, dtype=object)
    net.load["base_p_mw"] = net.load["p_mw"].astype(float)  # design value; hourly p_mw scales it

    extra = {"gen": {}, "sgen": {}, "ext_grid": {}}

    def _meta(table, i, zone, fuel, tech, mc, hr, fp, vom, cc, installed):
        extra[table][i] = dict(zone=zone, fuel=fuel, tech=tech,
                               co2_kg_per_mwh=float(fuels.at[fuel, "co2_kg_per_mwh"]),
                               water_l_per_mwh=float(fuels.at[fuel, "water_l_per_mwh"]),
                               marginal_cost_usd_per_mwh=float(mc), heat_rate_mmbtu_per_mwh=float(hr),
                               fuel_price_usd_per_mmbtu=float(fp), vom_usd_per_mwh=float(vom),
                               carbon_cost_usd_per_mwh=float(cc), installed_mw=float(installed))

    slack_found = False
    for k, r in fl.iterrows():
        c = costs.loc[k]
        pmax = r["capacity_mw"] * r["availability"] * scale
        zone = zone_of_bus[r["bus"]]
        if r["profile"]:
            i = pp.create_sgen(net, bus_idx[r["bus"]], p_mw=pmax, name=r["name"], max_p_mw=pmax, min_p_mw=0.0,
                               controllable=True, type=r["tech"])
            pp.create_poly_cost(net, i, "sgen", cp1_eur_per_mw=0.0)
            _meta("sgen", i, zone, r["fuel"], r["tech"], 0.0, 0.0, 0.0, 0.0, 0.0, r["capacity_mw"])
            extra["sgen"][i]["capacity_mw"] = pmax
        else:
            is_slack = r["name"] == spec["slack"]
            slack_found |= is_slack
            i = pp.create_gen(net, bus_idx[r["bus"]], p_mw=0.0, vm_pu=1.0, name=r["name"], max_p_mw=pmax,
                              min_p_mw=r["min_load"] * pmax, controllable=True, slack=is_slack, type=r["tech"])
            pp.create_poly_cost(net, i, "gen", cp1_eur_per_mw=float(c["marginal_cost_usd_per_mwh"]))
            _meta("gen", i, zone, r["fuel"], r["tech"], c["marginal_cost_usd_per_mwh"], r["heat_rate_mmbtu_per_mwh"],
                  c["fuel_price_usd_per_mmbtu"], r["vom_usd_per_mwh"], c["carbon_cost_usd_per_mwh"], r["capacity_mw"])
    # An outside market: the slack one is an ext_grid (pandapower allows one reference per
    # connected net); any other is a gen with a negative lower limit (exports).
    for en, e in spec["ext_grids"].items():
        is_slack = en == spec["slack"]
        slack_found |= is_slack
        if is_slack:
            i = pp.create_ext_grid(net, bus_idx[e["bus"]], vm_pu=1.0, name=en, max_p_mw=e["import_mw"] * scale,
                                   min_p_mw=-e["export_mw"] * scale, controllable=True)
            table = "ext_grid"
        else:
            i = pp.create_gen(net, bus_idx[e["bus"]], p_mw=0.0, vm_pu=1.0, name=en, max_p_mw=e["import_mw"] * scale,
                              min_p_mw=-e["export_mw"] * scale, controllable=True, type="import")
            table = "gen"
        pp.create_poly_cost(net, i, table, cp1_eur_per_mw=e["price_usd_per_mwh"])
        _meta(table, i, zone_of_bus[e["bus"]], e["fuel"], "import", e["price_usd_per_mwh"], 0.0, 0.0,
              e["price_usd_per_mwh"], 0.0, e["import_mw"])
    if not slack_found:
        raise InputError(spec["source"], "slack", f"{spec['slack']!r} is neither an ext_grid nor a gen of the fleet")

    cols = ["zone", "fuel", "tech", "co2_kg_per_mwh", "water_l_per_mwh", "marginal_cost_usd_per_mwh",
            "heat_rate_mmbtu_per_mwh", "fuel_price_usd_per_mmbtu", "vom_usd_per_mwh", "carbon_cost_usd_per_mwh",
            "installed_mw"]
    for table in ("gen", "sgen", "ext_grid"):
        meta = pd.DataFrame.from_dict(extra[table], orient="index")
        tcols = cols + (["capacity_mw"] if table == "sgen" else [])
        for c in tcols:
            if len(meta):
                net[table][c] = meta[c].reindex(net[table].index)
            else:
                net[table][c] = pd.Series(dtype=object if c in ("zone", "fuel", "tech") else float)
    return net
