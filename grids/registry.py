"""The shipped regional grids of the paper's 10 data-center locations, and building them.

Nets follow physics (docs/grids.md): one EU net (Belgium, Netherlands, Germany, Denmark as
four zones with cross-border lines), one US-East net (Virginia and Georgia as two zones of
the Eastern Interconnection), and separate nets for ERCOT (Texas), Nevada (WECC),
Singapore and Japan.

    >>> from grids.registry import build_region, paper_regions
    >>> paper_regions()["eu"]
    ['Belgium', 'Netherlands', 'Germany', 'Denmark']
    >>> rg = build_region("eu", seed=1)                # a grids.grid.RegionGrid
"""
from __future__ import annotations

import copy
from functools import cache
from pathlib import Path

import pandas as pd

from grids.errors import InputError
from grids.grid import RegionGrid
from grids.network import REGIONS_DIR, build_net, read_region_spec
from grids.profiles import read_timeseries

CALIBRATED_FROM = pd.Timestamp("2022-09-22T00:00Z")
CALIBRATED_TO = pd.Timestamp("2022-10-11T00:00Z")
"""The hours (both included) the shipped nets hold levels for: their loads, fuel and
carbon prices and capacity factors are those of 22 Sep - 11 Oct 2022, the E-GLB window
they were calibrated on (docs/grids.md). A run outside it is refused (grids.registry.
check_calibrated), not served autumn levels in another season."""

PAPER_SITES = ("Virginia", "Georgia", "Texas", "Nevada", "Belgium", "Netherlands", "Germany", "Denmark",
               "Singapore", "Japan")
"""The papers' 10 data-center locations, each a site of one shipped net."""


@cache
def _region_files() -> dict[str, Path]:
    out = {}
    for p in sorted(REGIONS_DIR.glob("*.yaml")):
        spec = read_region_spec(p)
        out[spec["name"]] = p
    return out


def region_names() -> list[str]:
    """Names of the shipped nets: eu, us_east, ercot, nevada, singapore, japan."""
    order = ["eu", "us_east", "ercot", "nevada", "singapore", "japan"]
    names = list(_region_files())
    return [n for n in order if n in names] + sorted(n for n in names if n not in order)


@cache
def _spec(name: str) -> dict:
    files = _region_files()
    if name not in files:
        raise InputError("<grids>", "region", f"unknown region {name!r} (known: {', '.join(region_names())})")
    return read_region_spec(files[name])


def paper_regions() -> dict[str, list[str]]:
    """Which net each DC site lives in: ``{net name: [site, ...]}`` for every shipped net."""
    return {n: list(_spec(n)["sites"]) for n in region_names()}


def site_region(site: str) -> str:
    """The net a DC site belongs to (``"Germany"`` -> ``"eu"``)."""
    for n, sites in paper_regions().items():
        if site in sites:
            return n
    raise InputError("<grids>", "site", f"no shipped net has a data-center site {site!r}")


def build_region(name: str, *, seed: int = 0, spec: dict | str | Path | None = None,
                 fleet: pd.DataFrame | str | Path | None = None,
                 timeseries: pd.DataFrame | str | Path | None = None) -> RegionGrid:
    """Build a shipped region (``eu``, ``us_east``, ``ercot``, ``nevada``, ``singapore``,
    ``japan``), or one from your own *spec* / *fleet* files.

    *seed*: seeds the load and renewable noise (same seed, same series).
    *timeseries*: optional hourly series (:func:`grids.profiles.read_timeseries`)
    overriding the synthetic load / capacity factors; hours it lacks raise InputError
    when asked for.
    """
    if spec is None:
        sp = _spec(name)
    elif isinstance(spec, dict) and "source" in spec:
        sp = spec
    else:
        sp = read_region_spec(spec)
    # a shipped net is the same every time (the seed drives only the hourly series): build it
    # once per process and hand out copies (pandapower's element creation costs ~0.5 s a net)
    net = copy.deepcopy(_shipped_net(name)) if spec is None and fleet is None else build_net(sp, fleet)
    ts, tsrc = None, "<timeseries>"
    if timeseries is not None:
        tsrc = str(timeseries) if not isinstance(timeseries, pd.DataFrame) else "<timeseries>"
        ts = read_timeseries(timeseries, source=tsrc)
        for c in ts.columns:
            parts = str(c).split(":")
            if parts[1] not in sp["zones"]:
                raise InputError(tsrc, f"column {c}", f"unknown zone {parts[1]!r}")
    return RegionGrid(name=sp["name"], net=net, spec=sp, seed=int(seed), timeseries=ts, timeseries_source=tsrc)


@cache
def _shipped_net(name: str):
    return build_net(_spec(name), None)


def build_all(*, seed: int = 0) -> dict[str, RegionGrid]:
    """Every shipped net, keyed by name."""
    return {n: build_region(n, seed=seed) for n in region_names()}


def check_calibrated(nets: list[str], start: pd.Timestamp, hours: int, *, source: str, where: str = "start") -> None:
    """InputError unless ``[start, start + hours)`` lies inside the shipped nets' window."""
    last = pd.Timestamp(start) + pd.Timedelta(hours=int(hours) - 1)
    if nets and (pd.Timestamp(start) < CALIBRATED_FROM or last > CALIBRATED_TO):
        raise InputError(source, where, f"the shipped nets ({', '.join(nets)}) hold the levels of {CALIBRATED_FROM:%d %b} to "
                                        f"{CALIBRATED_TO:%d %b %Y %H:%M} UTC (loads, fuel and carbon prices); the run covers "
                                        f"{pd.Timestamp(start):%Y-%m-%d %H:%M} to {last:%Y-%m-%d %H:%M} UTC: move it inside, "
                                        "or give those data centers a balancing-area grid")
