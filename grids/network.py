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
from collections import deque
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from grids.errors import InputError
from grids.files import read_yaml
from grids.fleet import DATA_DIR, fuel_factors, marginal_costs, profile_techs, read_fleet
from grids.geo import great_circle_km

REGIONS_DIR = DATA_DIR / "regions"
FLEETS_DIR = DATA_DIR / "fleets"
PROFILES_FILE = DATA_DIR / "profiles.yaml"

X_OHM_PER_KM = 0.30   # typical 380-400 kV overhead line (per circuit)
R_OVER_X = 0.1
ROUTE_FACTOR = 1.2    # line length = great-circle distance x this (routing)
MIN_LINE_KM = 5.0
DEFAULT_SITE_LINE_MW = 1000.0  # model MW per connection line of a DC bus (not scaled)


@lru_cache(maxsize=None)
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


def _num(src, where, v, *, lo=None, hi=None, lo_open=False, default=None):
    if v is None:
        if default is not None:
            return float(default)
        raise InputError(src, where, "missing")
    try:
        x = float(v)
    except (TypeError, ValueError):
        raise InputError(src, where, f"not a number: {v!r}") from None
    if not math.isfinite(x):
        raise InputError(src, where, f"not finite: {v!r}")
    if lo is not None and (x <= lo if lo_open else x < lo):
        raise InputError(src, where, f"must be {'>' if lo_open else '>='} {lo:g}, got {x:g}")
    if hi is not None and x > hi:
        raise InputError(src, where, f"must be <= {hi:g}, got {x:g}")
    return x


def read_region_spec(src: str | Path | dict, *, source: str | None = None) -> dict:
    """Read and validate a region spec (YAML path or already-parsed dict).

    Returns a normalised dict (numbers as floats, defaults filled in, ``source`` set).
    """
    if isinstance(src, dict):
        doc, source = src, source or "<region spec>"
    else:
        source = source or str(src)
        doc = read_yaml(src, source=source)
    if not isinstance(doc, dict):
        raise InputError(source, "file", "a region spec must be a mapping")
    spec: dict[str, Any] = {"source": source}
    name = doc.get("name")
    if not isinstance(name, str) or not name:
        raise InputError(source, "name", "missing region name")
    spec["name"] = name
    spec["title"] = str(doc.get("title", name))
    spec["scale"] = _num(source, "scale", doc.get("scale", 1.0), lo=0, lo_open=True, hi=1)
    spec["base_kv"] = _num(source, "base_kv", doc.get("base_kv", 380.0), lo=0, lo_open=True)
    fuels = fuel_factors()
    ptechs = profile_techs()
    shapes = load_shapes()

    zones = doc.get("zones")
    if not isinstance(zones, dict) or not zones:
        raise InputError(source, "zones", "needs at least one zone")
    spec["zones"] = {}
    for zn, z in zones.items():
        w = f"zones.{zn}"
        if not isinstance(z, dict):
            raise InputError(source, w, "must be a mapping")
        tz = z.get("timezone")
        try:
            pd.Timestamp("2022-01-01", tz="UTC").tz_convert(tz)
        except Exception:
            raise InputError(source, f"{w}.timezone", f"unknown time zone {tz!r}") from None
        zs: dict[str, Any] = {
            "label": str(z.get("label", zn)),
            "timezone": tz,
            "lat": _num(source, f"{w}.lat", z.get("lat"), lo=-90, hi=90),
            "lon": _num(source, f"{w}.lon", z.get("lon"), lo=-180, hi=180),
            "carbon_price_usd_per_t": _num(source, f"{w}.carbon_price_usd_per_t",
                                           z.get("carbon_price_usd_per_t", 0.0), lo=0),
        }
        fp = z.get("fuel_prices_usd_per_mmbtu", {}) or {}
        if not isinstance(fp, dict):
            raise InputError(source, f"{w}.fuel_prices_usd_per_mmbtu", "must be a mapping fuel -> price")
        for f in fp:
            if f not in fuels.index:
                raise InputError(source, f"{w}.fuel_prices_usd_per_mmbtu.{f}", f"unknown fuel {f!r}")
        zs["fuel_prices_usd_per_mmbtu"] = {f: _num(source, f"{w}.fuel_prices_usd_per_mmbtu.{f}", v, lo=0)
                                           for f, v in fp.items()}
        ld = z.get("load")
        if not isinstance(ld, dict):
            raise InputError(source, f"{w}.load", "missing load (mean_mw, shape)")
        shape = ld.get("shape")
        if shape not in shapes:
            raise InputError(source, f"{w}.load.shape", f"unknown load shape {shape!r} (known: {', '.join(shapes)})")
        zs["load"] = {
            "mean_mw": _num(source, f"{w}.load.mean_mw", ld.get("mean_mw"), lo=0),
            "shape": shape,
            "noise_cv": _num(source, f"{w}.load.noise_cv", ld.get("noise_cv", 0.0), lo=0, hi=0.5),
            "noise_ar1": _num(source, f"{w}.load.noise_ar1", ld.get("noise_ar1", 0.9), lo=0, hi=0.999),
        }
        ex = z.get("exports") or {}
        zs["exports"] = {"mean_mw": _num(source, f"{w}.exports.mean_mw", ex.get("mean_mw", 0.0)),
                         "bus": ex.get("bus")}
        cfs = z.get("cf", {}) or {}
        zs["cf"] = {}
        for tech, c in cfs.items():
            cw = f"{w}.cf.{tech}"
            if tech not in ptechs:
                raise InputError(source, cw, f"unknown profile technology {tech!r} (known: {', '.join(ptechs)})")
            if not isinstance(c, dict):
                raise InputError(source, cw, "must be a mapping with at least 'mean'")
            zs["cf"][tech] = {
                "mean": _num(source, f"{cw}.mean", c.get("mean"), lo=0, hi=1),
                "daily_amplitude": _num(source, f"{cw}.daily_amplitude", c.get("daily_amplitude", 0.0), lo=0, hi=1),
                "peak_hour_local": _num(source, f"{cw}.peak_hour_local", c.get("peak_hour_local", 14.0), lo=0, hi=24),
                "noise_cv": _num(source, f"{cw}.noise_cv", c.get("noise_cv", 0.0), lo=0, hi=2),
                "noise_ar1": _num(source, f"{cw}.noise_ar1", c.get("noise_ar1", 0.95), lo=0, hi=0.999),
                "daily_cv": _num(source, f"{cw}.daily_cv", c.get("daily_cv", 0.0), lo=0, hi=1),
                "max_cf": _num(source, f"{cw}.max_cf", c.get("max_cf", 0.7 if tech == "pv" else 0.95),
                               lo=0, lo_open=True, hi=1),
                "shared": _num(source, f"{cw}.shared", c.get("shared", 0.0), lo=0, hi=1),
            }
        spec["zones"][str(zn)] = zs

    buses = doc.get("buses")
    if not isinstance(buses, dict) or not buses:
        raise InputError(source, "buses", "needs at least one bus")
    spec["buses"] = {}
    for bn, b in buses.items():
        w = f"buses.{bn}"
        if not isinstance(b, dict):
            raise InputError(source, w, "must be a mapping")
        if str(bn).startswith("dc:"):
            raise InputError(source, w, "the prefix 'dc:' is reserved for data-center buses")
        if b.get("zone") not in spec["zones"]:
            raise InputError(source, f"{w}.zone", f"unknown zone {b.get('zone')!r}")
        spec["buses"][str(bn)] = {
            "zone": b["zone"],
            "lat": _num(source, f"{w}.lat", b.get("lat"), lo=-90, hi=90),
            "lon": _num(source, f"{w}.lon", b.get("lon"), lo=-180, hi=180),
            "load_share": _num(source, f"{w}.load_share", b.get("load_share", 1.0), lo=0),
        }
    for zn, zs in spec["zones"].items():
        zb = [b for b, v in spec["buses"].items() if v["zone"] == zn]
        if not zb:
            raise InputError(source, f"zones.{zn}", "zone has no bus")
        if sum(spec["buses"][b]["load_share"] for b in zb) <= 0:
            raise InputError(source, f"zones.{zn}", "no bus of the zone has a positive load_share")
        eb = zs["exports"]["bus"]
        if eb is None:
            zs["exports"]["bus"] = zb[0]
        elif eb not in spec["buses"] or spec["buses"][eb]["zone"] != zn:
            raise InputError(source, f"zones.{zn}.exports.bus", f"{eb!r} is not a bus of zone {zn}")

    lines = doc.get("lines") or []
    if not isinstance(lines, list):
        raise InputError(source, "lines", "must be a list")
    spec["lines"] = []
    for i, ln in enumerate(lines):
        w = f"lines[{i}]"
        if not isinstance(ln, dict):
            raise InputError(source, w, "must be a mapping")
        a, b = ln.get("from"), ln.get("to")
        for end, v in (("from", a), ("to", b)):
            if v not in spec["buses"]:
                raise InputError(source, f"{w}.{end}", f"unknown bus {v!r}")
        if a == b:
            raise InputError(source, w, "a line needs two different buses")
        spec["lines"].append({
            "from": a, "to": b,
            "capacity_mw": _num(source, f"{w}.capacity_mw", ln.get("capacity_mw"), lo=0, lo_open=True),
            "circuits": int(_num(source, f"{w}.circuits", ln.get("circuits", 1), lo=1)),
            "length_km": None if ln.get("length_km") is None else
            _num(source, f"{w}.length_km", ln.get("length_km"), lo=0, lo_open=True),
            "name": str(ln.get("name", f"{a}-{b}")),
        })

    sites = doc.get("sites") or {}
    if not isinstance(sites, dict):
        raise InputError(source, "sites", "must be a mapping site -> {zone, connect}")
    spec["sites"] = {}
    for sn, s in sites.items():
        w = f"sites.{sn}"
        if not isinstance(s, dict):
            raise InputError(source, w, "must be a mapping")
        zn = s.get("zone")
        if zn not in spec["zones"]:
            raise InputError(source, f"{w}.zone", f"unknown zone {zn!r}")
        conn = s.get("connect")
        if not isinstance(conn, list) or not conn:
            raise InputError(source, f"{w}.connect", "needs a list of buses")
        for c in conn:
            if c not in spec["buses"] or spec["buses"][c]["zone"] != zn:
                raise InputError(source, f"{w}.connect", f"{c!r} is not a bus of zone {zn}")
        spec["sites"][str(sn)] = {
            "zone": zn, "connect": list(conn),
            "lat": _num(source, f"{w}.lat", s.get("lat"), lo=-90, hi=90),
            "lon": _num(source, f"{w}.lon", s.get("lon"), lo=-180, hi=180),
            "line_mw": _num(source, f"{w}.line_mw", s.get("line_mw", DEFAULT_SITE_LINE_MW), lo=0, lo_open=True),
        }

    exts = doc.get("ext_grids") or {}
    if not isinstance(exts, dict):
        raise InputError(source, "ext_grids", "must be a mapping name -> {bus, fuel, price_usd_per_mwh, ...}")
    spec["ext_grids"] = {}
    for en, e in exts.items():
        w = f"ext_grids.{en}"
        if not isinstance(e, dict):
            raise InputError(source, w, "must be a mapping")
        if e.get("bus") not in spec["buses"]:
            raise InputError(source, f"{w}.bus", f"unknown bus {e.get('bus')!r}")
        if e.get("fuel") not in fuels.index:
            raise InputError(source, f"{w}.fuel", f"unknown fuel {e.get('fuel')!r}")
        spec["ext_grids"][str(en)] = {
            "bus": e["bus"], "fuel": e["fuel"],
            "price_usd_per_mwh": _num(source, f"{w}.price_usd_per_mwh", e.get("price_usd_per_mwh")),
            "import_mw": _num(source, f"{w}.import_mw", e.get("import_mw"), lo=0),
            "export_mw": _num(source, f"{w}.export_mw", e.get("export_mw", 0.0), lo=0),
            "note": str(e.get("note", "")),
        }
    slack = doc.get("slack")
    if not isinstance(slack, str) or not slack:
        raise InputError(source, "slack", "name the ext_grid or gen that is the angle reference")
    spec["slack"] = slack
    spec["fleet"] = doc.get("fleet")
    _check_connected(spec)
    return spec


def _check_connected(spec: dict) -> None:
    adj: dict[str, set[str]] = {b: set() for b in spec["buses"]}
    for ln in spec["lines"]:
        adj[ln["from"]].add(ln["to"])
        adj[ln["to"]].add(ln["from"])
    start = next(iter(adj))
    seen, todo = {start}, deque([start])
    while todo:
        for n in adj[todo.popleft()]:
            if n not in seen:
                seen.add(n)
                todo.append(n)
    missing = sorted(set(adj) - seen)
    if missing:
        raise InputError(spec["source"], "lines", f"buses not connected to the rest: {', '.join(missing)}")


def _line_params(spec: dict, a: tuple[float, float], b: tuple[float, float], length_km, capacity_model_mw: float,
                 circuits: int) -> dict:
    km = length_km if length_km is not None else max(MIN_LINE_KM, ROUTE_FACTOR * great_circle_km(*a, *b))
    x = X_OHM_PER_KM / circuits
    return dict(length_km=km, r_ohm_per_km=R_OVER_X * x, x_ohm_per_km=x, c_nf_per_km=0.0,
                max_i_ka=capacity_model_mw / (math.sqrt(3) * spec["base_kv"]), max_loading_percent=100.0)


def build_net(spec: dict | str | Path, fleet: pd.DataFrame | str | Path | None = None):
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
