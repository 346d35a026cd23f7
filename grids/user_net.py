"""A user's own net as a grid: a pandapower JSON file or a MATPOWER case, or the RTS-GMLC
test system, with data-center sites at buses of it, dispatched hour by hour by grids'
DC-OPF like every other grid (LMP, average intensity, LME and its validity range, EWIF).

What the net must carry (refused with :class:`grids.errors.InputError` otherwise, naming
the file, the element and the column):

- costs: ``poly_cost`` (linear: ``cp1_eur_per_mw``, read as USD/MWh; the DC-OPF is an LP
  and refuses quadratic ``cp2_eur_per_mw2`` terms) or a convex ``pwl_cost``;
- per in-service gen, sgen and ext_grid an emission rate: a ``co2_kg_per_mwh`` column
  or, where it is missing, a ``fuel`` column (``grids/data/fuels.yaml``'s names: coal,
  gas, nuclear, oil, other, solar, hydro, wind) and the shared factors
  (:func:`grids.fleet.fuel_factors`); water likewise (``water_l_per_mwh`` or the fuel).

Hourly inputs come from an optional CSV (:func:`read_net_timeseries`): a UTC ``time``
column and columns ``load:<net.load index>`` (MW), ``sgen:<net.sgen index>`` and
``gen:<net.gen index>`` (available MW). Elements without a column keep the net's own
values, held flat (said once in :attr:`UserNetGrid.notes`). The RTS-GMLC system takes
its 2020 day-ahead series instead (:class:`RtsGmlcNetGrid`).

The net is copied, never changed in its physics: each site gets its own bus joined to
its bus by a closed bus-bus switch (pandapower fuses them, so two sites at one bus see
one LMP and LME), and the tables get the columns the rest of the code reads (bus
``zone`` and ``dc_site``; unit ``zone``, ``fuel``, ``co2_kg_per_mwh``,
``water_l_per_mwh``, ``marginal_cost_usd_per_mwh``).

    >>> net = read_net("nets/case30.json")
    >>> grid = build_user_net(net, {"Virginia": 17}, name="case30", source="nets/case30.json")
    >>> day = grid.for_hours("2022-09-22T00:00Z", 24)
    >>> day.dispatch(12, site_mw=np.array([20.0])).lme_kg_per_kwh   # kg/kWh at the site
"""
from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from grids.errors import InputError
from grids.files import hourly_window
from grids.grid import UNIT_TABLES, RegionGrid
from grids.profiles import HourlyProfiles, hour_range

if TYPE_CHECKING:
    from pandapower.auxiliary import pandapowerNet

__all__ = ["NET_SUFFIXES", "RtsGmlcNetGrid", "UserNetGrid", "build_rts_gmlc", "build_user_net", "read_net",
           "read_net_timeseries", "site_bus_problem"]

NET_SUFFIXES = (".json", ".m", ".mat")
"""A pandapower JSON file, or a MATPOWER case (through pandapower's from_mpc)."""
SERIES_TABLES = ("load", "sgen", "gen")
"""The tables a timeseries column may name (``load:3``, ``sgen:0``, ``gen:2``)."""
_COLUMN = re.compile(r"^(load|sgen|gen):(\d+)$")


# ---------------------------------------------------------------------------- reading
def read_net(path: str | Path, *, source: str | None = None) -> pandapowerNet:
    """The pandapower net in *path*: ``pandapower.from_json`` for ``.json``, pandapower's
    ``from_mpc`` for a MATPOWER case (``.m`` needs the package matpowercaseframes, ``.mat``
    scipy). InputError naming *source* (default the path) when it cannot be read."""
    import pandapower as pp

    path = Path(path)
    source = str(path) if source is None else source
    suffix = path.suffix.lower()
    if suffix not in NET_SUFFIXES:
        raise InputError(source, "file", f"expected a pandapower JSON (.json) or a MATPOWER case (.m, .mat), not '{suffix}'")
    try:
        if suffix == ".json":
            net = pp.from_json(str(path))
        else:
            from pandapower.converter.matpower import from_mpc

            net = from_mpc(str(path))
    except NotImplementedError as exc:  # .m without matpowercaseframes
        raise InputError(source, "file", str(exc)) from None
    except Exception as exc:  # noqa: BLE001 - a user's file: any failure to parse is bad input
        raise InputError(source, "file", f"cannot be read as a {'pandapower JSON' if suffix == '.json' else 'MATPOWER case'} "
                                         f"({type(exc).__name__}: {exc})") from None
    if not hasattr(net, "bus") or not len(net.bus):
        raise InputError(source, "bus", "the net has no buses")
    return net


def read_net_timeseries(src: str | Path | pd.DataFrame, net: pandapowerNet, *, source: str | None = None) -> pd.DataFrame:
    """Hourly inputs of *net*: a UTC ``time`` column (or index) and columns
    ``load:<net.load index>`` (MW), ``sgen:<net.sgen index>`` and ``gen:<net.gen index>``
    (available MW), each a non-negative number. Returns a frame indexed by UTC hour, the
    columns as named. InputError naming *source*, the column or the row for anything else."""
    if isinstance(src, pd.DataFrame):
        df, source = src.copy(), source or "<timeseries>"
        if "time" in df.columns:
            df = df.set_index("time")
    else:
        source = source or str(src)
        try:
            df = pd.read_csv(src, comment="#")
        except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
            raise InputError(source, "file", f"cannot read ({exc})") from None
        if "time" not in df.columns:
            raise InputError(source, "header", "missing column 'time'")
        df = df.set_index("time")
    idx = pd.to_datetime(pd.Series(df.index.astype(str)), utc=True, errors="coerce", format="ISO8601")
    if idx.isna().any():
        k = int(np.flatnonzero(idx.isna().to_numpy())[0])
        raise InputError(source, f"row {k + 2}: time", f"not a time: {df.index[k]!r}")
    df.index = pd.DatetimeIndex(idx, name="time")
    if not df.index.is_unique:
        raise InputError(source, "time", "duplicate hours")
    for c in df.columns:
        m = _COLUMN.match(str(c).strip())
        if m is None:
            raise InputError(source, f"column {c}",
                             "expected load:<net.load index>, sgen:<net.sgen index> or gen:<net.gen index>")
        table, i = m.group(1), int(m.group(2))
        if i not in net[table].index:
            have = net[table].index
            known = f"indices {have.min()}..{have.max()}" if len(have) else "none"
            raise InputError(source, f"column {c}", f"{table} {i} is not in the net (net.{table} has {known})")
        v = pd.to_numeric(df[c], errors="coerce")
        bad = (v.isna() | (v < 0)).to_numpy()
        if bad.any():
            k = int(np.flatnonzero(bad)[0])
            raise InputError(source, f"row {k + 2}: {c}", f"not a non-negative number: {df[c].iloc[k]!r}")
        df[c] = v.astype(float)
    df.columns = [str(c).strip() for c in df.columns]
    return df.sort_index()


# ---------------------------------------------------------------------------- sites
def site_bus_problem(net: pandapowerNet, bus: int) -> str | None:
    """Why a data center cannot sit at *bus* of *net* (None if it can): not a bus of the
    net, out of service, or isolated (not connected to a slack, an in-service ext_grid or
    gen with ``slack``, through in-service branches and closed switches)."""
    try:
        bus = int(bus)
    except (TypeError, ValueError):
        return f"{bus!r} is not a bus index"
    b = net.bus
    if bus not in b.index:
        return f"bus {bus} is not in the net (its buses: {_some(b.index)})"
    if not bool(b.at[bus, "in_service"]):
        return f"bus {bus} is out of service"
    if bus not in _slack_connected(net):
        return f"bus {bus} is isolated: not connected to the net's slack (an ext_grid or a gen with slack=True)"
    return None


def _slack_connected(net) -> set[int]:
    import networkx as nx
    import pandapower.topology as top

    slacks = set()
    for table, only_slack in (("ext_grid", False), ("gen", True)):
        t = net[table]
        if not len(t):
            continue
        on = t["in_service"].astype(bool)
        if only_slack:
            on &= t["slack"].fillna(False).astype(bool) if "slack" in t else False
        slacks |= {int(x) for x in t.loc[on, "bus"]}
    slacks = {s for s in slacks if s in net.bus.index and bool(net.bus.at[s, "in_service"])}
    graph = top.create_nxgraph(net, respect_switches=True, include_out_of_service=False)
    out: set[int] = set()
    for s in slacks:
        if s in graph and s not in out:
            out |= {int(x) for x in nx.node_connected_component(graph, s)}
    return out


def _some(index: pd.Index, n: int = 12) -> str:
    vals = [str(x) for x in index[:n]]
    return ", ".join(vals) + (f", ... ({len(index)} buses)" if len(index) > n else "")


# ---------------------------------------------------------------------------- the grid
@dataclass
class UserNetGrid(RegionGrid):
    """A user's net as a :class:`grids.grid.RegionGrid`: hourly inputs from its
    timeseries (``timeseries``, :func:`read_net_timeseries`), else the net's own values.
    ``notes``: what the user should know (elements held flat), issued as DataWarnings by
    the caller once per run."""

    notes: tuple[str, ...] = ()
    _base: dict = field(default_factory=dict, repr=False)  # the net's own hourly values, restored before each hour

    def hourly(self, start: pd.Timestamp | str, hours: int) -> HourlyProfiles:
        """Load (MW per ``net.load`` index, every load), and the sgen and gen availability
        the timeseries gives (MW, only the elements it names: the others keep the net's
        limits) for *hours* hours from *start* (UTC); InputError when the timeseries does
        not cover them (:func:`grids.files.hourly_window`)."""
        times = hour_range(start, hours)
        ts = None if self.timeseries is None else hourly_window(self.timeseries, times, self.timeseries_source)
        base = self._base["load_mw"]
        load = pd.DataFrame(np.tile(base.to_numpy(float), (len(times), 1)), index=times, columns=base.index)
        frames: dict[str, pd.DataFrame] = {t: pd.DataFrame(index=times) for t in SERIES_TABLES}
        if ts is not None:
            for c in ts.columns:
                table, i = c.split(":")
                target = load if table == "load" else frames[table]
                target[int(i)] = ts[c].to_numpy(float)
        gen = frames["gen"]
        return HourlyProfiles(load_mw=load, sgen_max_mw=frames["sgen"], gen_max_mw=gen if len(gen.columns) else None)

    def apply_hour(self, t: pd.Timestamp | str, *, profiles: HourlyProfiles | None = None) -> pd.Timestamp:
        """Write hour *t* into the net as pandapower's OPF reads it, so that ``pp.rundcopp``
        solves the hour :meth:`dispatch` solves: loads (``p_mw`` = MW / ``scaling``), the
        named sgens' availability (``max_p_mw`` of a controllable one, capped at the net's;
        ``p_mw`` of a fixed one) and gens' (``max_p_mw``, ``min_p_mw`` no higher)."""
        t = hour_range(t, 1)[0]
        prof = profiles if profiles is not None else self.hourly(t, 1)
        self._restore()
        net = self.net
        load = prof.load_mw.loc[t].reindex(net.load.index).to_numpy(float)
        scaling = net.load["scaling"].to_numpy(float)
        on = net.load["in_service"].astype(bool).to_numpy() & (scaling != 0)
        net.load.loc[on, "p_mw"] = load[on] / scaling[on]
        av = prof.sgen_max_mw.loc[t]
        for i, v in av.items():
            if _flag(net.sgen, "controllable", i):
                cap = net.sgen.at[i, "max_p_mw"] if "max_p_mw" in net.sgen else np.nan
                net.sgen.at[i, "max_p_mw"] = min(v, cap) if np.isfinite(cap) else v
            elif net.sgen.at[i, "scaling"]:
                net.sgen.at[i, "p_mw"] = v / net.sgen.at[i, "scaling"]
        if prof.gen_max_mw is not None:
            for i, v in prof.gen_max_mw.loc[t].items():
                cap = net.gen.at[i, "max_p_mw"]
                net.gen.at[i, "max_p_mw"] = v = min(v, cap) if np.isfinite(cap) else v
                if net.gen.at[i, "min_p_mw"] > v:
                    net.gen.at[i, "min_p_mw"] = v
        return t

    def for_hours(self, start: pd.Timestamp | str, hours: int) -> RegionGrid:
        """As :meth:`grids.grid.RegionGrid.for_hours`, from the net's own limits (an hour
        written by :meth:`apply_hour` is undone first)."""
        self._restore()
        return super().for_hours(start, hours)

    def _restore(self) -> None:
        for key, vals in self._base.items():
            if isinstance(key, tuple):
                self.net[key[0]][key[1]] = vals.copy()


RTS_GMLC_YEAR = 2020
"""The year of the RTS-GMLC day-ahead series."""


@dataclass
class RtsGmlcNetGrid(UserNetGrid):
    """The RTS-GMLC system (:func:`grids.rts_gmlc.load_rts_gmlc`, commitment relaxed) with
    its 2020 day-ahead load and renewable series (:mod:`grids.rts_gmlc_series`) as hourly
    inputs; ``root``: its folder."""

    root: Path | None = None

    def hourly(self, start: pd.Timestamp | str, hours: int) -> HourlyProfiles:
        """The RTS-GMLC areas' load shared over the loads and each renewable unit's
        availability. The system's series are one synthetic year, 2020: a horizon in
        another year takes the 2020 hours a whole number of weeks away (52 per year, so
        weekdays are kept and dates move by about a day per year); InputError when that
        leaves 2020."""
        from grids.rts_gmlc_series import load_rts_gmlc_series

        times = hour_range(start, hours)
        shift = pd.Timedelta(weeks=52 * (times[0].year - RTS_GMLC_YEAR))
        s = load_rts_gmlc_series(self.root, start=times[0] - shift, hours=len(times), net=self.net)
        return HourlyProfiles(load_mw=s["load_mw"].set_axis(times), sgen_max_mw=s["sgen_max_mw"].set_axis(times))


def _flag(table: pd.DataFrame, col: str, i) -> bool:
    if col not in table:
        return False
    v = table.at[i, col]
    return bool(v) if v is not None and v == v else False


# ---------------------------------------------------------------------------- building
def build_user_net(net: pandapowerNet, sites: Mapping[str, int], *, name: str, source: str = "<net>",
                   timeseries: pd.DataFrame | None = None, timeseries_source: str = "<timeseries>",
                   cls: type[UserNetGrid] = UserNetGrid, **extra) -> UserNetGrid:
    """The grid of a user's *net* (copied) with data-center *sites* (site name -> bus index
    of the net; several sites may share a bus). *name*: the grid's name (its one zone's
    name unless the buses carry ``zone`` values); *source*: the file as the user names it,
    in messages; *timeseries*: :func:`read_net_timeseries` output (None: the net's values
    held flat). InputError for a site bus unknown, out of service or isolated, a net
    without costs or with quadratic ones, a unit without emission or water rate."""
    net = copy.deepcopy(net)
    if len(net.dcline) and net.dcline["in_service"].astype(bool).any():
        raise InputError(source, f"dcline {net.dcline.index[net.dcline['in_service'].astype(bool)][0]}",
                         "in-service DC lines are not supported by the DC-OPF")
    for s, bus in sites.items():
        problem = site_bus_problem(net, bus)
        if problem:
            raise InputError(source, f"bus {bus}", f"{problem} (site '{s}')")
    _check_costs(net, source)
    _bus_columns(net, name, sites)
    _unit_columns(net, source)
    zones = list(dict.fromkeys(net.bus["zone"]))
    spec = {"name": name, "source": source, "zones": {z: {} for z in zones},
            "sites": {s: {"zone": net.bus.at[int(b), "zone"]} for s, b in sites.items()}}
    grid = cls(name=name, net=net, spec=spec, timeseries=timeseries, timeseries_source=timeseries_source, **extra)
    grid._base = _base_values(net)
    if cls is UserNetGrid:
        grid.notes = _flat_note(net, timeseries, source, timeseries_source)
    return grid


def build_rts_gmlc(root: str | Path, sites: Mapping[str, int], *, name: str = "RTS-GMLC",
                   net: pandapowerNet | None = None) -> RtsGmlcNetGrid:
    """The RTS-GMLC grid (folder *root*, or the data dir holding ``rts-gmlc/``) with
    data-center *sites* at its bus ids; *net*: a net from ``load_rts_gmlc(root,
    enforce_pmin=False)`` to reuse (copied). Commitment is relaxed (every unit may run
    down to 0: with PMin enforced about a third of 2020's hours have no feasible dispatch,
    docs/rts_gmlc.md); its zones are the three areas; hours outside 2020 are refused."""
    from grids.rts_gmlc import load_rts_gmlc
    from grids.rts_gmlc_files import dataset_root

    root = dataset_root(root)
    net = copy.deepcopy(net) if net is not None else load_rts_gmlc(root, enforce_pmin=False)
    for col in ("co2_kg_per_mwh", "water_l_per_mwh"):  # the zero-output angle reference
        net.ext_grid[col] = 0.0
    return build_user_net(net, sites, name=name, source=str(root), cls=RtsGmlcNetGrid, root=root)


def _check_costs(net, source: str) -> None:
    pc = net.poly_cost
    if not len(pc) and not len(net.pwl_cost):
        raise InputError(source, "poly_cost", "the net has no costs: give its gens, sgens and ext_grids a linear "
                                              "poly_cost (cp1_eur_per_mw, read as USD/MWh)")
    if len(pc):
        quad = pc["cp2_eur_per_mw2"].fillna(0.0) != 0
        if quad.any():
            i = pc.index[quad][0]
            raise InputError(source, f"poly_cost {i} ({pc.at[i, 'et']} {pc.at[i, 'element']}), column cp2_eur_per_mw2",
                             f"quadratic cost term {pc.at[i, 'cp2_eur_per_mw2']:g}: the DC-OPF solves an LP and refuses "
                             "quadratic terms; set cp2_eur_per_mw2 to 0 (a linear cost) or give a pwl_cost")


def _bus_columns(net, name: str, sites: Mapping[str, int]) -> None:
    """``zone`` (as strings; the grid's name where the net has none) and ``dc_site``; a
    bus per site, joined to its bus by a closed bus-bus switch."""
    import pandapower as pp

    zone = net.bus["zone"] if "zone" in net.bus else pd.Series(None, index=net.bus.index, dtype=object)
    net.bus["zone"] = [_zone_name(z, name) for z in zone]
    net.bus["dc_site"] = pd.Series(None, index=net.bus.index, dtype=object)
    for s, bus in sites.items():
        bus = int(bus)
        b = pp.create_bus(net, vn_kv=float(net.bus.at[bus, "vn_kv"]), name=f"dc:{s}", zone=net.bus.at[bus, "zone"])
        for col in ("area",):  # RTS-GMLC: the area of its bus
            if col in net.bus:
                net.bus.at[b, col] = net.bus.at[bus, col]
        net.bus.at[b, "dc_site"] = s
        pp.create_switch(net, bus, b, et="b", closed=True, name=f"dc:{s}")
    if "area" in net.bus:
        net.bus["area"] = net.bus["area"].astype(int)


def _zone_name(z, name: str) -> str:
    if z is None or (isinstance(z, float) and np.isnan(z)) or str(z).strip() == "":
        return name
    if isinstance(z, (float, np.floating)) and float(z).is_integer():
        return str(int(z))
    return str(z)


def _unit_columns(net, source: str) -> None:
    """Each unit table's ``zone`` (its bus's), ``fuel``, ``co2_kg_per_mwh``,
    ``water_l_per_mwh`` (the column's value, else the fuel's factor; out-of-service units
    without either get 0) and ``marginal_cost_usd_per_mwh`` (its linear cost)."""
    from grids.fleet import fuel_factors

    factors = fuel_factors()
    cost = {}
    for et, el, c1 in zip(net.poly_cost["et"], net.poly_cost["element"], net.poly_cost["cp1_eur_per_mw"].fillna(0.0)):
        cost[(str(et), int(el))] = float(c1)
    for table in UNIT_TABLES:
        t = net[table]
        if not len(t):
            for col in ("zone", "fuel", "co2_kg_per_mwh", "water_l_per_mwh", "marginal_cost_usd_per_mwh"):
                if col not in t:
                    t[col] = pd.Series(dtype=object if col in ("zone", "fuel") else float)
            continue
        t["zone"] = net.bus.loc[t["bus"], "zone"].to_numpy()
        fuel = t["fuel"] if "fuel" in t else pd.Series(None, index=t.index, dtype=object)
        on = t["in_service"].astype(bool)
        for col in ("co2_kg_per_mwh", "water_l_per_mwh"):
            raw = t[col] if col in t else pd.Series(np.nan, index=t.index)
            vals = pd.to_numeric(raw, errors="coerce")
            for i in t.index:
                v = vals.at[i]
                if pd.notna(raw.at[i]) and (pd.isna(v) or v < 0):
                    raise InputError(source, f"{table} {i}, column {col}", f"not a non-negative number: {raw.at[i]!r}")
                if pd.notna(v):
                    continue
                f = fuel.at[i]
                if not isinstance(f, str) or not f.strip():
                    if not on.at[i]:
                        vals.at[i] = 0.0
                        continue
                    raise InputError(source, f"{table} {i}, column {col}",
                                     f"no {col} and no fuel: give a {col} column or a fuel ({', '.join(factors.index)})")
                if f.strip() not in factors.index:
                    raise InputError(source, f"{table} {i}, column fuel",
                                     f"unknown fuel {f!r} (known: {', '.join(factors.index)}) and no {col}")
                vals.at[i] = float(factors.at[f.strip(), col])
            t[col] = vals.astype(float)
        t["fuel"] = [f.strip() if isinstance(f, str) and f.strip() else "unknown" for f in fuel]
        if "marginal_cost_usd_per_mwh" not in t:
            t["marginal_cost_usd_per_mwh"] = [cost.get((table, int(i)), 0.0) for i in t.index]


def _base_values(net) -> dict:
    """The net's own hourly values: the loads' MW (``p_mw`` x ``scaling``, 0 out of
    service) and the limits :meth:`UserNetGrid.apply_hour` writes."""
    ld = net.load
    load = pd.Series(np.where(ld["in_service"].astype(bool), ld["p_mw"] * ld["scaling"], 0.0), index=ld.index, dtype=float)
    base = {"load_mw": load, ("load", "p_mw"): ld["p_mw"].copy()}
    for table, cols in (("sgen", ("p_mw", "max_p_mw")), ("gen", ("max_p_mw", "min_p_mw"))):
        for col in cols:
            if col in net[table]:
                base[(table, col)] = net[table][col].copy()
    return base


def _flat_note(net, timeseries: pd.DataFrame | None, source: str, timeseries_source: str) -> tuple[str, ...]:
    """One note: the loads and sgens the timeseries does not name keep the net's values."""
    named = set() if timeseries is None else set(timeseries.columns)
    flat = {t: [int(i) for i in net[t].index[net[t]["in_service"].astype(bool)] if f"{t}:{i}" not in named]
            for t in ("load", "sgen")}
    if not any(flat.values()):
        return ()
    parts = [f"{t} {', '.join(map(str, ix[:8]))}{' ...' if len(ix) > 8 else ''}" for t, ix in flat.items() if ix]
    if timeseries is None:
        return (f"{source}: no timeseries: the net's own loads and sgen limits are held flat every hour",)
    return (f"{source}: {'; '.join(parts)} have no column in {timeseries_source}: "
            "their values in the net are held flat every hour",)
