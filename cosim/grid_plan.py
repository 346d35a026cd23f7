"""Which grid each data center draws from, and building those grids for a run.

A data center's `grid` field names it (docs/scenarios.md): a shipped net (`{kind:
shipped, name: us_east}`), a balancing area built from its hourly generation by fuel
(`{kind: balancing-area, file: eia930/BPAT.csv}`, relative to the data dir), a user's
own net (`{kind: pandapower, file: nets/mynet.json, bus: 17}`, optionally with a
`timeseries`) or the RTS-GMLC system (`{kind: rts-gmlc, bus: 101}`). Without the field,
the site's shipped net. Sites naming the same file share one grid (on a net, each at its
bus); data centers sharing a site share its grid.

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
from cosim.scenario import BalancingAreaGrid, PandapowerGrid, RtsGmlcGrid, Scenario, ShippedGrid

RTS_GMLC = "rts-gmlc"
"""The RTS-GMLC folder under the data dir, and the grid kind naming it."""


@dataclass
class UserNet:
    """A user's net in a scenario: the grid's ``name``, the ``file`` as the scenario names
    it (``rts-gmlc`` for the RTS-GMLC system), its ``timeseries`` (resolved path, as named;
    None: none) and each site's bus (``sites``, in the scenario's order)."""

    name: str
    file: str
    kind: str
    timeseries: tuple[Path, str] | None = None
    sites: dict[str, int] = field(default_factory=dict)
    first: int = 0  # the data center that named it first


@dataclass(frozen=True)
class GridPlan:
    """The grids of a scenario: ``shipped`` net name -> its sites in the scenario,
    ``balancing_areas`` resolved file -> (grid name, the file as the scenario names it,
    sites), ``user_nets`` resolved net file (or RTS-GMLC folder) -> :class:`UserNet`, and
    ``weather`` site -> (resolved EPW file, the file as the scenario names it)."""

    shipped: dict[str, list[str]]
    balancing_areas: dict[Path, tuple[str, str, list[str]]]
    user_nets: dict[Path, UserNet] = field(default_factory=dict)
    weather: dict[str, tuple[Path, str]] = field(default_factory=dict)

    def grid_of(self) -> dict[str, str]:
        """Site -> the name of its grid."""
        out = {s: name for name, sites in self.shipped.items() for s in sites}
        out.update({s: name for name, _, sites in self.balancing_areas.values() for s in sites})
        out.update({s: net.name for net in self.user_nets.values() for s in net.sites})
        return out


def grid_plan(scenario: Scenario, *, data_dir: Path | None = None, source: str | Path | None = None) -> GridPlan:
    """Resolve every data center's grid; InputError naming the data center's field when a
    net is unknown, a site is not in the net named, a file is missing, a bus is not one a
    site can sit at (unknown, out of service, isolated), or one site would be on two grids
    or at two buses."""
    source = scenario.source_file if source is None else source
    from grids.registry import check_calibrated, paper_regions

    nets = paper_regions()
    shipped: dict[str, list[str]] = {}
    areas: dict[Path, tuple[str, str, list[str]]] = {}
    users: dict[Path, UserNet] = {}
    on: dict[str, tuple[str, int]] = {}  # site -> (grid, first data center naming it)
    for n, dc in enumerate(scenario.datacenters):
        ref, site = dc.grid, dc.site
        if isinstance(ref, (PandapowerGrid, RtsGmlcGrid)):
            where = f"datacenters.{n}.grid" + (".file" if isinstance(ref, PandapowerGrid) else "")
            net = _user_net(ref, n, users, {a[0] for a in areas.values()} | set(nets), data_dir, source)
            grid = net.name
            if site in net.sites and net.sites[site] != ref.bus:
                raise InputError(source, f"datacenters.{n}.grid.bus",
                                 f"site '{site}' is already at bus {net.sites[site]} of {net.file}; data centers "
                                 "sharing a site share its bus")
            sites = net.sites
        elif isinstance(ref, BalancingAreaGrid):
            where = f"datacenters.{n}.grid.file"
            try:
                path = loaders.dataset_path(data_dir, ref.file, source=source).resolve()
            except InputError as exc:
                raise InputError(source, where, exc.reason) from None
            if path not in areas:
                names = {a[0] for a in areas.values()} | set(nets) | {u.name for u in users.values()}
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
        if isinstance(sites, dict):
            sites.setdefault(site, ref.bus)
        elif site not in sites:
            sites.append(site)
    check_calibrated(list(shipped), scenario.start, scenario.hours, source=str(source))
    return GridPlan(shipped=shipped, balancing_areas=areas, user_nets=users,
                    weather=site_weather(scenario, data_dir=data_dir, source=source))


def site_weather(scenario: Scenario, *, data_dir: Path | None = None, source: str | Path | None = None
                 ) -> dict[str, tuple[Path, str]]:
    """Site -> (resolved EPW file, the file as the scenario names it) of every data center
    with a `weather_file`; InputError naming `datacenters.N.weather_file` when a file is
    not under the data dir or not an EPW file, or when two data centers on one site name
    different files (a site has one climate). The files are read here (once per process
    and file version), so a bad one is refused before any grid is built."""
    source = scenario.source_file if source is None else source
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



def _user_net(ref: PandapowerGrid | RtsGmlcGrid, n: int, users: dict[Path, UserNet], taken: set[str],
              data_dir: Path | None, source: str | Path) -> UserNet:
    """The :class:`UserNet` data center *n* names (new or shared with an earlier one), its
    paths resolved and its bus checked against the net."""
    from grids.user_net import site_bus_problem

    rts = isinstance(ref, RtsGmlcGrid)
    field_of = f"datacenters.{n}.grid" + ("" if rts else ".file")
    file = RTS_GMLC if rts else ref.file
    try:
        path = loaders.dataset_path(data_dir, file, source=source).resolve()
    except InputError as exc:
        raise InputError(source, field_of, exc.reason) from None
    timeseries = None
    if not rts and ref.timeseries is not None:
        try:
            timeseries = (loaders.dataset_path(data_dir, ref.timeseries, source=source).resolve(), ref.timeseries)
        except InputError as exc:
            raise InputError(source, f"datacenters.{n}.grid.timeseries", exc.reason) from None
    if path not in users:
        taken = taken | {u.name for u in users.values()}
        name = "RTS-GMLC" if rts else Path(file).stem
        users[path] = UserNet(name=name if name not in taken else file, file=file, kind=ref.kind,
                              timeseries=timeseries, first=n)
    net = users[path]
    if not rts and (timeseries and timeseries[0]) != (net.timeseries and net.timeseries[0]):
        named = net.timeseries[1] if net.timeseries else "none"
        raise InputError(source, f"datacenters.{n}.grid.timeseries",
                         f"{file} has timeseries {named} (datacenters.{net.first}); data centers on one net share "
                         "its timeseries")
    problem = site_bus_problem(_read_user_net(path, path.stat().st_mtime_ns, file), ref.bus)
    if problem:
        raise InputError(source, f"datacenters.{n}.grid.bus", f"{file}: {problem}")
    return net


def _shipped_net_of(site: str, nets: dict[str, list[str]]) -> str | None:
    return next((name for name, sites in nets.items() if site in sites), None)


def build_grids(plan: GridPlan, *, seed: int, start=None, hours: int | None = None) -> list:
    """Fresh grids of *plan* (each run dispatches its own nets): the shipped nets in the
    registry's order, then the balancing areas, then the user nets in the scenario's order.
    With *start* and *hours*, the notes of gaps filled in a balancing area's file inside
    that window, and of a user net's elements held flat, are issued as DataWarnings (the
    summary's notes). The plan's weather files give their sites' on-site WUE
    (``RegionGrid.site_wue_l_per_kwh``)."""
    from grids.balancing_area import build_balancing_area
    from grids.registry import build_region
    from grids.user_net import build_rts_gmlc, build_user_net, read_net_timeseries
    from grids.weather import onsite_wue_from_epw

    grids = [build_region(name, seed=seed) for name in plan.shipped]
    for path, (name, file, sites) in plan.balancing_areas.items():
        data, fleet = _fitted(path, path.stat().st_mtime_ns, file)
        if start is not None:
            for note in data.notes_in(start, hours):
                warnings.warn(note, DataWarning, stacklevel=2)
        grids.append(build_balancing_area(data, sites, name=name, fleet=fleet))
    for path, un in plan.user_nets.items():
        net = _read_user_net(path, path.stat().st_mtime_ns, un.file)
        if un.kind == RTS_GMLC:
            grid = build_rts_gmlc(path, un.sites, name=un.name, net=net)
        else:
            ts = None if un.timeseries is None else read_net_timeseries(un.timeseries[0], net, source=un.timeseries[1])
            grid = build_user_net(net, un.sites, name=un.name, source=un.file, timeseries=ts,
                                  timeseries_source=un.timeseries[1] if un.timeseries else "<timeseries>")
        if start is not None:
            for note in grid.notes:
                warnings.warn(note, DataWarning, stacklevel=2)
        grids.append(grid)
    out = []
    for grid in grids:
        wue = {site: partial(onsite_wue_from_epw, path, source=file)
               for site, (path, file) in plan.weather.items() if site in grid.sites}
        out.append(grid.with_site_wue(wue) if wue else grid)
    return out


class RunGrids:
    """A scenario's grids built once for the passes and co-simulations of a run, on first
    use (so the checks that come before the grids still fail first): the ``plan``
    (:func:`grid_plan`), the ``grids`` over the scenario's hours, their horizons memoized
    (grids.grid.RegionGrid.with_horizon_memo: each dispatch pass and co-simulation gets a
    fresh dispatcher on shared profiles and network matrices), and the ``notes``
    :func:`build_grids` issued for that window, kept to be issued again by every pass
    (:meth:`warn_notes`) as building the grids anew would."""

    def __init__(self, scenario: Scenario, *, data_dir: Path | None = None, source: str | Path | None = None):
        self._scenario, self._data_dir = scenario, data_dir
        self._source = scenario.source_file if source is None else source
        self._plan: GridPlan | None = None
        self._grids: list | None = None
        self.notes: tuple[str, ...] = ()

    @property
    def plan(self) -> GridPlan:
        if self._plan is None:
            self._plan = grid_plan(self._scenario, data_dir=self._data_dir, source=self._source)
        return self._plan

    @property
    def grids(self) -> list:
        if self._grids is None:
            import pandas as pd

            plan, sc = self.plan, self._scenario
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", DataWarning)
                grids = build_grids(plan, seed=sc.seed, start=pd.Timestamp(sc.start), hours=sc.hours)
            for w in caught:
                if not issubclass(w.category, DataWarning):
                    warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
            self.notes = tuple(str(w.message) for w in caught if issubclass(w.category, DataWarning))
            self._grids = [g.with_horizon_memo() for g in grids]
        return self._grids

    def warn_notes(self) -> None:
        """Issue the notes of building the grids as DataWarnings (after :attr:`grids`)."""
        for note in self.notes:
            warnings.warn(note, DataWarning, stacklevel=2)


@lru_cache(maxsize=16)
def _fitted(path: Path, mtime_ns: int, file: str):
    """A balancing area's file read and its fleet fitted, once per process and file version."""
    from grids.ba_fleet import fit_fleet
    from grids.eia930 import read_generation_by_fuel

    data = read_generation_by_fuel(path, source=file)
    return data, fit_fleet(data, Path(file).stem)


@lru_cache(maxsize=16)
def _read_user_net(path: Path, mtime_ns: int, file: str):
    """A user's net (or the RTS-GMLC folder's, commitment relaxed) read once per process and
    file version; builders copy it."""
    if file == RTS_GMLC:
        from grids.rts_gmlc import load_rts_gmlc

        return load_rts_gmlc(path, enforce_pmin=False)
    from grids.user_net import read_net

    return read_net(path, source=file)
