"""A synthetic scenario of any size: `cosim generate world` (docs/scenarios.md, Generated worlds).

:func:`world_scenario` builds the plain mapping of a scenario with *sites* data centers
(``dc001`` ...) and *regions* user regions (``reg001`` ...) over *hours* hours; the same
arguments give the same mapping, and :func:`world_yaml` writes it with sorted keys and
fixed rounding, so the file is byte for byte the same. :func:`write_world` puts it in an
output folder (DIR/world.yaml) through cosim.folder_transaction.

The world is paper10's (scenarios/paper10.yaml) grown: the same models, tiers, policy
weights, frictions and demand mechanism (a cosine day in local time, ``demand: profile``);
every data center sits near one of the ten shipped sites (grids/data/regions, a seeded
jitter of at most :data:`SITE_JITTER_DEG`), is dispatched on that site's shipped net
(``grid: {kind: shipped}``, ``signal_site``: data centers sharing a site share its bus and
its hourly price, carbon and WUE), and user regions sit near the same sites, so they spread
over the time zones of three continents (with fewer than ten data centers, regions sit
only at the sites that hold one). Sizes: region weights uniform in
:data:`WEIGHT_RANGE`, servers so that each country's capacity is :data:`CAPACITY_OVER_PEAK`
times the sum of its regions' daily peaks (in server-seconds at the models' mean resources
per request; see Masks below), PUE uniform in :data:`PUE_RANGE` (inside
cosim.plausibility's bounds).

The shipped nets hold the levels of 22 Sep to 11 Oct 2022 (grids.registry): with
``signals: grids`` the horizon is at most :data:`GRID_HOURS`; a longer one needs
``signals: synthetic`` (the calibrated generator at the same ten sites), or balancing-area
grids: with *grids* ``balancing-areas`` the anchors are instead every EIA-930 file of
DATA_DIR/eia930/ (by name; each a balancing area placed and zoned by
grids.ba_locations), data centers are dispatched on those areas' fitted grids
(``grid: {kind: balancing-area, file: eia930/CODE.csv}``, ``signal_site`` the code,
``weather_file`` the EPW of DATA_DIR/weather/ nearest the area) and the horizon is any the
files cover (8,760 h for a year's files, from :data:`BA_START`).

Masks: users in EU countries are served only in the EU (a ``jurisdiction: EU`` rule)
and the ``interactive`` tier only in its own country (``same-country``), each rule only
when it binds somebody and restricts something; so that every user stays servable,
capacity is sized per country (1.5x that country's regions' peaks), data centers in a
country without users get the mean size of the others.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import yaml

from cosim.errors import InputError
from cosim.fields import MAX_HOURS, MAX_SEED

WORLD_FILE = "world.yaml"
"""The scenario file a generated folder holds."""

START = "2022-09-22T00:00:00Z"
"""The first hour of every generated world: the shipped nets' calibration window opens."""

BA_START = "2022-01-01T00:00:00Z"
"""The default first hour of a balancing-area world (EIA-930 files of a calendar year)."""

BA_FOLDER = "eia930"
"""The folder of the data dir whose generation-by-fuel files (``*.csv``) become the grids."""

WEATHER_FOLDER = "weather"
"""The folder of the data dir whose EnergyPlus weather files (``*.epw``) give balancing-area
sites their hourly on-site WUE (each site: the station nearest its area's location)."""

GRID_HOURS = 457
"""Hours from START the shipped nets cover (22 Sep 00:00 to 11 Oct 2022 00:00 UTC, both included)."""

SITE_JITTER_DEG = 1.5
"""Largest offset, degrees of latitude and of longitude, of a generated data center or
region from its anchor site."""

PUE_RANGE = (1.08, 1.35)
WEIGHT_RANGE = (0.5, 2.0)
"""Region demand weights (x demand.requests_per_hour) are drawn uniformly in this range."""

CAPACITY_OVER_PEAK = 1.5
"""Total capacity over the sum of the regions' daily peak demands (paper10: 1.52)."""

REQUESTS_PER_HOUR = 250_000
"""Mean requests per hour of a region of weight 1 (paper10's)."""

PEAK_TO_MEAN = 1.5
SERVER_POWER_KW = 6.5

_ANCHORS = (  # (shipped site, country, UTC offset in force in the window, h), continents interleaved
    ("Virginia", "US", -4), ("Belgium", "BE", 2), ("Singapore", "SG", 8), ("Nevada", "US", -7),
    ("Germany", "DE", 2), ("Japan", "JP", 9), ("Texas", "US", -5), ("Netherlands", "NL", 2),
    ("Georgia", "US", -4), ("Denmark", "DK", 2),
)

MODELS = (  # paper10's: ML.ENERGY (A100), server-seconds per request = energy / 6.5 kW
    {"name": "llama2-7b", "energy_wh_per_request": 0.5, "resources_per_request": 0.2769, "quality_score": 56.8067},
    {"name": "llama2-13b", "energy_wh_per_request": 0.8611, "resources_per_request": 0.4769, "quality_score": 59.6333},
    {"name": "llama2-70b", "energy_wh_per_request": 3.7769, "resources_per_request": 2.0918, "quality_score": 66.5233},
)

TIERS = (  # paper10's (Luo & Cheng's strata)
    {"name": "interactive", "share": 0.5, "tau_ms": 60, "access_ms": 10, "state_mb": 2, "payload_kb": 8},
    {"name": "standard", "share": 0.35, "tau_ms": 200, "access_ms": 10, "state_mb": 0.5, "payload_kb": 8},
    {"name": "batch", "share": 0.15, "tau_ms": "inf", "state_mb": 0, "payload_kb": 8},
)

POLICY = {"mu_carbon_usd_per_t": 1500, "mu_water_usd_per_m3": 60, "social_weight_usd": 200, "q_social": 4,
          "q_env": 4, "moving_cost_usd_per_request_per_1000km": 0.0001, "unserved_penalty_usd_per_request": 10}

SIGNALS = ("grids", "synthetic")
GRIDS = ("shipped", "balancing-areas")
"""``--grids``: the ten shipped nets, or balancing areas fitted to the data dir's EIA-930 files."""

_STREAMS = {"dc_place": 0, "dc_size": 1, "dc_pue": 2, "region_place": 3, "region_weight": 4}


def world_scenario(sites: int, regions: int, hours: int, *, seed: int = 0, signals: str = "grids",
                   grids: str = "shipped", data_dir: Path | str | None = None, start: str | None = None) -> dict:
    """The scenario mapping of a generated world (module docstring); InputError (exit 2)
    naming the option when *sites*, *regions* or *hours* is below 1, *hours* above
    MAX_HOURS (or above what the grids cover from *start*), *seed* outside 0..MAX_SEED,
    *signals* or *grids* unknown, *start* not a UTC hour; with *grids* ``balancing-areas``,
    when *data_dir* has no eia930/*.csv, a file is not a known balancing area or does not
    cover the horizon."""
    _check(sites, regions, hours, seed, signals, grids)
    t0 = _start(start, grids)
    if grids == "balancing-areas":
        anchors = _ba_anchors(data_dir, t0, hours)
    else:
        anchors = _anchor_sites()
        if signals == "grids":
            _check_shipped_window(t0, hours)
    dcs = _datacenters(sites, anchors, seed, grids=signals == "grids")
    regs = _regions(regions, anchors[:sites], dcs, seed)  # users only where some data center is
    for dc, n in zip(dcs, _servers(dcs, regs, seed), strict=True):
        dc["servers"] = n
    ba = grids == "balancing-areas"
    where = (f"on the balancing-area grids of {', '.join(a['site'] for a in anchors[:sites])} (EIA-930)" if ba
             else "on the shipped nets" if signals == "grids" else "with synthetic signals")
    out = {
        "name": f"world-{sites}x{regions}-{hours}h-s{seed}" + ("-ba" if ba else ""),
        "description": f"generated world: {sites} data centers x {regions} user regions x 3 Llama-2 models, "
                       f"{hours} h hourly, seed {seed}, {where} (cosim generate world)",
        "start": t0.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "hours": hours,
        "seed": seed,
        "models": [dict(m) for m in MODELS],
        "datacenters": dcs,
        "regions": regs,
        "demand": {"source": "profile", "requests_per_hour": REQUESTS_PER_HOUR, "peak_to_mean": PEAK_TO_MEAN,
                   "peak_hour_local": 14},
        "signals": {"source": signals},
        "policy": dict(POLICY),
        "tiers": [dict(t) for t in TIERS],
        "latency": {"source": "coordinates"},
        "frictions": {"egress_usd_per_gb": 0.02},
        "policies": ["cost-glb", "all-glb", "e-glb", "se-glb"],
    }
    rules = _mask_rules(dcs, regs)
    if rules:
        out["mask"] = {"rules": rules}
    return out


def world_yaml(data: dict, *, command: str) -> str:
    """The YAML text of *data*: a comment naming *command*, then block style with sorted
    keys (lists of plain values, such as `policies`, on one line)."""
    head = f"# {command}\n# generated by gridshift (cosim/world.py); same arguments, same file\n"
    return head + yaml.dump(data, Dumper=_Dumper, sort_keys=True, width=1000, allow_unicode=False)


def write_world(out: Path, sites: int, regions: int, hours: int, *, seed: int = 0, signals: str = "grids",
                grids: str = "shipped", data_dir: Path | str | None = None, start: str | None = None) -> Path:
    """Generate the world and write DIR/world.yaml (plus DIR/manifest.json) as a transaction:
    *out* absent, empty or an earlier generated world (holding world.yaml), else InputError;
    returns the scenario file's path. The file names balancing-area files relative to the
    data dir (``eia930/BPAT.csv``): run it with the same ``--data-dir``."""
    from cosim.folder_transaction import staged
    from cosim.outputs import write_atomic  # pandas and pyarrow: only when writing (cosim --help stays light)

    data = world_scenario(sites, regions, hours, seed=seed, signals=signals, grids=grids, data_dir=data_dir, start=start)
    command = (f"cosim generate world --sites {sites} --regions {regions} --hours {hours} --seed {seed}"
               + ("" if signals == "grids" else f" --signals {signals}")
               + ("" if grids == "shipped" else f" --grids {grids} --data-dir DATA_DIR")
               + ("" if start is None else f" --start {data['start']}"))
    text = world_yaml(data, command=command)
    with staged(Path(out), markers=(WORLD_FILE,)) as stage:
        write_atomic(stage.path / WORLD_FILE, lambda p: p.write_text(text, encoding="utf-8"))
    return Path(out) / WORLD_FILE


def _check(sites: int, regions: int, hours: int, seed: int, signals: str, grids: str) -> None:
    for flag, value, what in (("--sites", sites, "data center"), ("--regions", regions, "user region")):
        if value < 1:
            raise InputError(flag, f"value {value}", f"give at least 1 {what}")
    if not 1 <= hours <= MAX_HOURS:
        raise InputError("--hours", f"value {hours}", f"give 1 to {MAX_HOURS:,} hours")
    if not 0 <= seed <= MAX_SEED:
        raise InputError("--seed", f"value {seed}", f"give a seed from 0 to {MAX_SEED}")
    if signals not in SIGNALS:
        raise InputError("--signals", f"value {signals!r}", f"give one of {', '.join(SIGNALS)}")
    if grids not in GRIDS:
        raise InputError("--grids", f"value {grids!r}", f"give one of {', '.join(GRIDS)}")
    if grids == "balancing-areas" and signals != "grids":
        raise InputError("--grids", f"value {grids!r}", "balancing-area grids need --signals grids")


def _start(start: str | None, grids: str):
    """The first hour, a UTC pandas Timestamp: *start*, else the kind's default."""
    import pandas as pd

    if start is None:
        return pd.Timestamp(BA_START if grids == "balancing-areas" else START)
    try:
        t = pd.Timestamp(str(start))
    except (ValueError, TypeError):
        t = None
    if t is None or t is pd.NaT or t.tzinfo is None:
        raise InputError("--start", f"value {start!r}", "give a UTC time with its zone, such as 2022-01-01T00:00Z")
    t = t.tz_convert("UTC")
    if t != t.floor("h") or not 1900 <= t.year <= 2200:
        raise InputError("--start", f"value {start!r}", "give a whole UTC hour of the years 1900 to 2200")
    return t


def _check_shipped_window(t0, hours: int) -> None:
    """The shipped nets hold :data:`GRID_HOURS` hours from :data:`START`."""
    import pandas as pd

    first = pd.Timestamp(START)
    offset = int((t0 - first) / pd.Timedelta(hours=1))
    if offset < 0 or offset + hours > GRID_HOURS:
        where = "--hours" if offset == 0 else "--start"
        value = hours if offset == 0 else t0.strftime("%Y-%m-%dT%H:%MZ")
        raise InputError(where, f"value {value}", f"the shipped nets hold {GRID_HOURS} hours (22 Sep to 11 Oct "
                                                  "2022); give --signals synthetic or --grids balancing-areas for "
                                                  "another horizon")


def _ba_anchors(data_dir: Path | str | None, t0, hours: int) -> list[dict]:
    """One anchor per DATA_DIR/eia930/*.csv, by file name: the code (the file's stem) as
    site, the file relative to the data dir, country US, the location and standard UTC
    offset of grids.ba_locations. Each file is read and must cover the horizon."""
    from cosim.loaders.data_dir import resolve_data_dir
    from grids.ba_locations import ba_location
    from grids.eia930 import read_generation_by_fuel

    root = resolve_data_dir(data_dir)
    if root is None:
        raise InputError("--data-dir", "not given", "balancing-area grids need the data dir holding "
                                                    f"{BA_FOLDER}/*.csv (set --data-dir or COSIM_DATA_DIR)")
    files = sorted(p for p in (root / BA_FOLDER).glob("*.csv") if p.is_file()) if (root / BA_FOLDER).is_dir() else []
    if not files:
        raise InputError("--data-dir", str(root), f"holds no EIA-930 files ({BA_FOLDER}/*.csv) for balancing-area grids")
    out = []
    for path in files:
        where = ba_location(path.stem, source=path)
        read_generation_by_fuel(path).window(t0, hours)  # refuses a horizon the file does not cover
        out.append({"site": path.stem.upper(), "file": f"{BA_FOLDER}/{path.name}", "country": "US",
                    "utc_offset_h": where["utc_offset_h"], "lat": where["lat"], "lon": where["lon"]})
    stations = _weather_stations(root)
    for a in out:
        a["weather_file"] = min(stations, key=lambda s: (_km(a, s), s["file"]))["file"]
    return out


def _weather_stations(root: Path) -> list[dict]:
    """The EPW files of DATA_DIR/weather/ with their stations' locations; InputError when
    there is none (a balancing-area site's on-site WUE comes from the nearest one: the
    shipped wet-bulb climatology covers only the shipped sites and late September)."""
    from grids.weather import epw_location

    folder = root / WEATHER_FOLDER
    out = []
    for path in sorted(folder.glob("*.epw")) if folder.is_dir() else []:
        where = epw_location(path)
        if where is not None:
            out.append({"file": f"{WEATHER_FOLDER}/{path.name}", "lat": where[0], "lon": where[1]})
    if not out:
        raise InputError("--data-dir", str(root), f"holds no EPW weather files ({WEATHER_FOLDER}/*.epw): a balancing-area "
                                                  "site's on-site WUE comes from the nearest one")
    return out


def _anchor_sites() -> list[dict]:
    """The ten shipped sites in :data:`_ANCHORS`' order: name, net, country, offset, lat, lon."""
    from grids.network import REGIONS_DIR, read_region_spec
    from grids.registry import site_region

    out = []
    for site, country, offset in _ANCHORS:
        net = site_region(site)
        where = read_region_spec(REGIONS_DIR / f"{net}.yaml")["sites"][site]
        out.append({"site": site, "net": net, "country": country, "utc_offset_h": offset,
                    "lat": float(where["lat"]), "lon": float(where["lon"])})
    return out


def _rng(seed: int, stream: str) -> np.random.Generator:
    return np.random.default_rng([seed, _STREAMS[stream]])


def _names(prefix: str, n: int) -> list[str]:
    width = max(3, len(str(n)))
    return [f"{prefix}{i + 1:0{width}d}" for i in range(n)]


def _jittered(anchor: dict, rng: np.random.Generator) -> dict:
    dlat, dlon = rng.uniform(-SITE_JITTER_DEG, SITE_JITTER_DEG, size=2)
    lat = min(max(anchor["lat"] + dlat, -89.0), 89.0)
    lon = (anchor["lon"] + dlon + 180.0) % 360.0 - 180.0
    return {"lat": round(float(lat), 3), "lon": round(float(lon), 3)}


def _datacenters(n: int, anchors: list[dict], seed: int, *, grids: bool) -> list[dict]:
    """Data centers round-robin over the anchors (servers filled in later); with *grids*,
    each names its site's shipped net, or its balancing area's file (anchors with a ``file``)."""
    place, pue = _rng(seed, "dc_place"), _rng(seed, "dc_pue")
    out = []
    for i, name in enumerate(_names("dc", n)):
        a = anchors[i % len(anchors)]
        out.append({"name": name, "location": _jittered(a, place), "country": a["country"],
                    "signal_site": a["site"], "server_power_kw": SERVER_POWER_KW,
                    "pue": round(float(pue.uniform(*PUE_RANGE)), 3)})
        if "file" in a:
            out[-1]["grid"] = {"kind": "balancing-area", "file": a["file"]}
            out[-1]["weather_file"] = a["weather_file"]
        elif grids:
            out[-1]["grid"] = {"kind": "shipped", "name": a["net"]}
    return out


def _regions(n: int, anchors: list[dict], dcs: list[dict], seed: int) -> list[dict]:
    """User regions round-robin over *anchors* (those holding a data center, so every tier
    has a site within its budget), each served at home by its nearest data center."""
    place, weight = _rng(seed, "region_place"), _rng(seed, "region_weight")
    out = []
    for i, name in enumerate(_names("reg", n)):
        a = anchors[i % len(anchors)]
        loc = _jittered(a, place)
        home = min(dcs, key=lambda dc: (_km(loc, dc["location"]), dc["name"]))  # ties: the first name
        out.append({"name": name, "location": loc, "country": a["country"], "utc_offset_h": a["utc_offset_h"],
                    "local_datacenter": home["name"], "demand_weight": round(float(weight.uniform(*WEIGHT_RANGE)), 3)})
    return out


def _servers(dcs: list[dict], regs: list[dict], seed: int) -> list[int]:
    """Servers per data center, per country: the country's data centers share
    :data:`CAPACITY_OVER_PEAK` x the sum of its regions' daily peaks (server-seconds per
    second at the models' mean resources) by uniform(0.5, 1.5) shares, at least 1 each; a
    country without regions gets the mean size of the data centers of the others."""
    shares = _rng(seed, "dc_size").uniform(0.5, 1.5, size=len(dcs))
    per_weight = CAPACITY_OVER_PEAK * REQUESTS_PER_HOUR * PEAK_TO_MEAN * _mean_resources() / 3600.0
    need: dict[str, float] = {}
    for r in regs:
        need[r["country"]] = need.get(r["country"], 0.0) + r["demand_weight"] * per_weight
    out: list[float] = [0.0] * len(dcs)
    for country, total in need.items():
        at = [i for i, dc in enumerate(dcs) if dc["country"] == country]
        for i in at:
            out[i] = total * shares[i] / shares[at].sum()
    served = [i for i, dc in enumerate(dcs) if dc["country"] in need]
    mean = sum(out[i] for i in served) / len(served)
    return [max(1, math.ceil(out[i] if dc["country"] in need else mean)) for i, dc in enumerate(dcs)]


def _mask_rules(dcs: list[dict], regs: list[dict]) -> list[dict]:
    """EU data residency for EU regions (all tiers) and same-country for the interactive
    tier, each only when it binds a region and leaves out some data center."""
    from cosim.scenario import EU_COUNTRIES  # pydantic: only when generating (cosim --help stays light)

    eu = set(EU_COUNTRIES)
    dc_countries = {dc["country"] for dc in dcs}
    reg_countries = {r["country"] for r in regs}
    rules = []
    if reg_countries & eu and dc_countries - eu:
        rules.append({"name": "eu-data-residency", "kind": "jurisdiction", "jurisdiction": "EU"})
    if len(dc_countries) > 1:
        rules.append({"name": "interactive-in-country", "kind": "same-country", "tiers": ["interactive"]})
    return rules


def _mean_resources() -> float:
    return sum(m["resources_per_request"] for m in MODELS) / len(MODELS)


def _km(a: dict, b: dict) -> float:
    """Great-circle distance between two locations, km."""
    from grids.geo import great_circle_km

    return float(great_circle_km(a["lat"], a["lon"], b["lat"], b["lon"]))


class _Dumper(yaml.SafeDumper):
    """Block style, except lists of plain values on one line."""


def _represent_list(dumper: yaml.SafeDumper, data: list):
    flow = all(not isinstance(v, (dict, list)) for v in data)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flow)


_Dumper.add_representer(list, _represent_list)
