"""Which grid each data center draws from, and building those grids for a run.

A data center's `grid` field names it (docs/scenarios.md): a shipped net (`{kind:
shipped, name: us_east}`) or a balancing area built from its hourly generation by fuel
(`{kind: balancing-area, file: eia930/BPAT.csv}`, relative to the data dir). Without the
field, the site's shipped net. Sites naming the same file share one grid; data centers
sharing a site share its grid.

A data center's `weather_file` (an EPW file relative to the data dir) gives its site's
on-site WUE hour by hour (grids.weather): :func:`site_weather` resolves them (data
centers sharing a site share its weather), the plan carries them and :func:`build_grids`
hands them to the grids holding those sites.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from functools import lru_cache, partial
from pathlib import Path

from cosim import loaders
from cosim.errors import DataWarning, InputError
from cosim.scenario import BalancingAreaGrid, Scenario, ShippedGrid


@dataclass(frozen=True)
class GridPlan:
    """The grids of a scenario: ``shipped`` net name -> its sites in the scenario, and
    ``balancing_areas`` resolved file -> (grid name, the file as the scenario names it, sites);
    ``weather`` site -> (resolved EPW file, the file as the scenario names it)."""

    shipped: dict[str, list[str]]
    balancing_areas: dict[Path, tuple[str, str, list[str]]]
    weather: dict[str, tuple[Path, str]] = field(default_factory=dict)

    def grid_of(self) -> dict[str, str]:
        """Site -> the name of its grid."""
        out = {s: name for name, sites in self.shipped.items() for s in sites}
        out.update({s: name for name, _, sites in self.balancing_areas.values() for s in sites})
        return out


def grid_plan(scenario: Scenario, *, data_dir: Path | None = None, source: str | Path = "<scenario>") -> GridPlan:
    """Resolve every data center's grid; InputError naming the data center's field when a
    net is unknown, a site is not in the net named, a file is missing, or one site would
    be on two grids."""
    from grids.registry import check_calibrated, paper_regions

    nets = paper_regions()
    shipped: dict[str, list[str]] = {}
    areas: dict[Path, tuple[str, str, list[str]]] = {}
    on: dict[str, tuple[str, int]] = {}  # site -> (grid, first data center naming it)
    for n, dc in enumerate(scenario.datacenters):
        ref, site = dc.grid, dc.site
        if isinstance(ref, BalancingAreaGrid):
            where = f"datacenters.{n}.grid.file"
            try:
                path = loaders.dataset_path(data_dir, ref.file, source=source).resolve()
            except InputError as exc:
                raise InputError(source, where, exc.reason) from None
            if path not in areas:
                names = {a[0] for a in areas.values()} | set(nets)
                stem = Path(ref.file).stem
                areas[path] = (stem if stem not in names else ref.file, ref.file, [])
            grid, sites = areas[path][0], areas[path][2]
        else:
            named = f"datacenters.{n}.signal_site" if dc.signal_site else f"datacenters.{n}.name"
            where = f"datacenters.{n}.grid" if isinstance(ref, ShippedGrid) else named
            grid = ref.name if isinstance(ref, ShippedGrid) else _shipped_net_of(site, nets)
            if grid is None:
                raise InputError(source, where, f"'{site}' is in none of the shipped grids (known: "
                                                f"{', '.join(s for v in nets.values() for s in v)}); set signal_site or grid")
            if grid not in nets:
                raise InputError(source, f"{where}.name", f"unknown shipped net '{grid}' (known: {', '.join(nets)})")
            if site not in nets[grid]:
                raise InputError(source, where, f"'{site}' is not a site of the shipped net '{grid}' "
                                                f"(its sites: {', '.join(nets[grid])}); set signal_site")
            sites = shipped.setdefault(grid, [])
        if site in on and on[site][0] != grid:
            raise InputError(source, where, f"site '{site}' is already on grid '{on[site][0]}' "
                                            f"(datacenters.{on[site][1]}); data centers sharing a site share its grid")
        on.setdefault(site, (grid, n))
        if site not in sites:
            sites.append(site)
    check_calibrated(list(shipped), scenario.start, scenario.hours, source=str(source))
    return GridPlan(shipped=shipped, balancing_areas=areas, weather=site_weather(scenario, data_dir=data_dir, source=source))


def site_weather(scenario: Scenario, *, data_dir: Path | None = None, source: str | Path = "<scenario>"
                 ) -> dict[str, tuple[Path, str]]:
    """Site -> (resolved EPW file, the file as the scenario names it) of every data center
    with a `weather_file`; InputError naming `datacenters.N.weather_file` when a file is
    not under the data dir or not an EPW file, or when two data centers on one site name
    different files (a site has one climate). The files are read here (once per process
    and file version), so a bad one is refused before any grid is built."""
    from grids.weather import read_epw

    out: dict[str, tuple[Path, str]] = {}
    first: dict[str, int] = {}
    for n, dc in enumerate(scenario.datacenters):
        if dc.weather_file is None:
            continue
        where = f"datacenters.{n}.weather_file"
        try:
            path = loaders.dataset_path(data_dir, dc.weather_file, source=source).resolve()
        except InputError as exc:
            raise InputError(source, where, exc.reason) from None
        if dc.site in out and out[dc.site][0] != path:
            raise InputError(source, where, f"site '{dc.site}' already has weather file '{out[dc.site][1]}' "
                                            f"(datacenters.{first[dc.site]}); a site has one climate")
        read_epw(path, source=dc.weather_file)
        out.setdefault(dc.site, (path, dc.weather_file))
        first.setdefault(dc.site, n)
    return out


def _shipped_net_of(site: str, nets: dict[str, list[str]]) -> str | None:
    return next((name for name, sites in nets.items() if site in sites), None)


def build_grids(plan: GridPlan, *, seed: int, start=None, hours: int | None = None) -> list:
    """Fresh grids of *plan* (each run dispatches its own nets): the shipped nets in the
    registry's order, then the balancing areas in the scenario's order. With *start* and
    *hours*, the notes of gaps filled in a balancing area's file inside that window are
    issued as DataWarnings (the summary's notes). The plan's weather files give their
    sites' on-site WUE (``RegionGrid.site_wue_l_per_kwh``)."""
    from grids.balancing_area import build_balancing_area
    from grids.registry import build_region
    from grids.weather import onsite_wue_from_epw

    grids = [build_region(name, seed=seed) for name in plan.shipped]
    for path, (name, file, sites) in plan.balancing_areas.items():
        data, fleet = _fitted(path, path.stat().st_mtime_ns, file)
        if start is not None:
            for note in data.notes_in(start, hours):
                warnings.warn(note, DataWarning, stacklevel=2)
        grids.append(build_balancing_area(data, sites, name=name, fleet=fleet))
    out = []
    for grid in grids:
        wue = {site: partial(onsite_wue_from_epw, path, source=file)
               for site, (path, file) in plan.weather.items() if site in grid.sites}
        out.append(grid.with_site_wue(wue) if wue else grid)
    return out


@lru_cache(maxsize=16)
def _fitted(path: Path, mtime_ns: int, file: str):
    """A balancing area's file read and its fleet fitted, once per process and file version."""
    from grids.ba_fleet import fit_fleet
    from grids.eia930 import read_generation_by_fuel

    data = read_generation_by_fuel(path, source=file)
    return data, fit_fleet(data, Path(file).stem)
