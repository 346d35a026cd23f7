"""The regional grids of the paper's 10 data-center locations, and their hourly inputs.

Nets follow physics (docs/grids.md): one EU net (Belgium, Netherlands, Germany, Denmark as
four zones with cross-border lines), one US-East net (Virginia and Georgia as two zones of
the Eastern Interconnection), and separate nets for ERCOT (Texas), Nevada (WECC),
Singapore and Japan.

    >>> from grids.regions import build_region, paper_regions
    >>> paper_regions()["eu"]
    ['Belgium', 'Netherlands', 'Germany', 'Denmark']
    >>> rg = build_region("eu", seed=1)
    >>> prof = rg.hourly("2022-09-22T00:00Z", 24)    # load_mw, sgen_max_mw DataFrames
    >>> rg.apply_hour("2022-09-22T12:00Z")           # writes that hour into rg.net
    >>> import pandapower as pp; pp.rundcopp(rg.net)
    >>> rg.net.res_bus.lam_p[rg.sites["Germany"]]    # LMP at the DC bus, USD/MWh

Hourly inputs, per zone, for any UTC start and horizon (docs/grids.md, "Profiles"):

- background load = mean x daily shape (local time, ``profiles.yaml``) x weekday factor
  x (1 + cv z_t), z a stationary AR(1);
- net exports to outside the net: flat;
- PV availability = capacity x CF, CF from the sun's elevation at the zone (declination,
  equation of time, longitude), scaled so a clear 1 October averages the zone's
  capacity factor, times a lognormal day clearness (AR(1) over days) and hourly noise;
- wind = capacity x mean CF x (1 + a cos(2 pi (h_local - peak)/24)) x lognormal AR(1)
  noise; run-of-river hydro likewise (flat);
- all noise is drawn from ``default_rng(SeedSequence(seed, spawn_key=(crc32(net),
  crc32(zone), crc32(stream))))``, hour by hour from 2015-01-01 00:00 UTC, so a value
  depends only on (seed, net, zone, stream, hour): the same seed gives the same series and
  any window is a slice of the same path.
"""
from __future__ import annotations

import copy
import functools

import math
import zlib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd
from scipy.signal import lfilter

from cosim.errors import InputError
from grids.network import REGIONS_DIR, build_net, load_shapes, read_region_spec

EPOCH = pd.Timestamp("2015-01-01T00:00:00", tz="UTC")
MAX_HOURS = 24 * 366 * 20

_FAMILY = {"wind_onshore": "wind", "wind_offshore": "wind"}

PAPER_SITES = ("Virginia", "Georgia", "Texas", "Nevada", "Belgium", "Netherlands", "Germany", "Denmark",
               "Singapore", "Japan")


class HourlyProfiles(NamedTuple):
    """Hourly inputs of a net: both frames are indexed by UTC hour (``time``)."""

    load_mw: pd.DataFrame       # columns: net.load index (background and export loads), MW
    sgen_max_mw: pd.DataFrame   # columns: net.sgen index, available MW (max_p_mw)


# ---------------------------------------------------------------------------- registry

@lru_cache(maxsize=None)
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


@lru_cache(maxsize=None)
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


# ---------------------------------------------------------------------------- noise

def _key(s: str) -> int:
    return zlib.crc32(s.encode("utf-8"))


def _normal(seed: int, keys: tuple[str, ...], n: int) -> np.ndarray:
    ss = np.random.SeedSequence(int(seed), spawn_key=tuple(_key(k) for k in keys))
    return np.random.default_rng(ss).standard_normal(n)


def _ar1(seed: int, keys: tuple[str, ...], phi: float, n: int) -> np.ndarray:
    """Stationary unit-variance AR(1) path of length n: z0 = e0, z_t = phi z_{t-1} + sqrt(1-phi^2) e_t."""
    e = _normal(seed, keys, n)
    if n <= 1 or phi == 0:
        return e
    z = np.empty(n)
    z[0] = e[0]
    z[1:], _ = lfilter([math.sqrt(1 - phi * phi)], [1.0, -phi], e[1:], zi=[phi * e[0]])
    return z


def _lognormal_factor(z: np.ndarray, cv: float) -> np.ndarray:
    """exp(s z - s^2/2) with s^2 = ln(1 + cv^2): mean 1, coefficient of variation cv."""
    if cv <= 0:
        return np.ones_like(z)
    s = math.sqrt(math.log1p(cv * cv))
    return np.exp(s * z - 0.5 * s * s)


# ---------------------------------------------------------------------------- sun

def _sin_elevation(times_utc: pd.DatetimeIndex, lat: float, lon: float, offset_h: float = 0.5) -> np.ndarray:
    """sin(solar elevation) at the middle of each hour (declination and equation of time
    after Spencer 1971; solar time from longitude)."""
    t = times_utc + pd.Timedelta(hours=offset_h)
    doy = t.dayofyear.to_numpy()
    g = 2 * np.pi * (doy - 1) / 365.0
    decl = (0.006918 - 0.399912 * np.cos(g) + 0.070257 * np.sin(g) - 0.006758 * np.cos(2 * g)
            + 0.000907 * np.sin(2 * g) - 0.002697 * np.cos(3 * g) + 0.00148 * np.sin(3 * g))
    eot_min = 229.18 * (0.000075 + 0.001868 * np.cos(g) - 0.032077 * np.sin(g) - 0.014615 * np.cos(2 * g)
                        - 0.040849 * np.sin(2 * g))
    hours = t.hour.to_numpy() + t.minute.to_numpy() / 60.0
    solar_time = hours + lon / 15.0 + eot_min / 60.0
    omega = np.radians(15.0 * (solar_time - 12.0))
    phi = math.radians(lat)
    return np.sin(phi) * np.sin(decl) + np.cos(phi) * np.cos(decl) * np.cos(omega)


def _pv_shape(times_utc: pd.DatetimeIndex, lat: float, lon: float) -> np.ndarray:
    """Clear-sky PV output shape, normalised so 1 October (UTC day) averages 1."""
    def raw(ts):
        # three samples per hour: the hour's mean of max(0, sin h)^1.2 (a crude air-mass loss)
        return np.mean([np.clip(_sin_elevation(ts, lat, lon, o), 0, None) ** 1.2 for o in (1 / 6, 0.5, 5 / 6)],
                       axis=0)
    ref = pd.date_range("2022-10-01", periods=24, freq="h", tz="UTC")
    return raw(times_utc) / raw(ref).mean()


# ---------------------------------------------------------------------------- the grid

@dataclass
class RegionGrid:
    """A region's pandapower net plus what it needs hour by hour.

    ``net``: the pandapower net (docs/grids.md lists its tables and extra columns);
    ``sites``: DC site name -> bus index; ``zones``: zone -> list of bus indices;
    ``site_zone``: DC site -> zone; ``spec``: the parsed region spec; ``seed``.
    """

    name: str
    net: object
    spec: dict
    seed: int = 0
    timeseries: pd.DataFrame | None = None
    timeseries_source: str = "<timeseries>"
    sites: dict[str, int] = field(default_factory=dict)
    zones: dict[str, list[int]] = field(default_factory=dict)
    site_zone: dict[str, str] = field(default_factory=dict)
    _cache: HourlyProfiles | None = field(default=None, repr=False)

    def __post_init__(self):
        b = self.net.bus
        self.sites = {s: int(i) for i, s in b["dc_site"].items() if s is not None and s == s}
        self.zones = {z: [int(i) for i in b.index[b["zone"] == z]] for z in self.spec["zones"]}
        self.site_zone = {s: v["zone"] for s, v in self.spec["sites"].items()}

    # ------------------------------------------------------------------ profiles
    def hourly(self, start, hours: int) -> HourlyProfiles:
        """Background load (MW per ``net.load`` index) and sgen availability (MW per
        ``net.sgen`` index) for *hours* hours from *start* (UTC; naive = UTC)."""
        times = _times(start, hours)
        k0 = int((times[0] - EPOCH) / pd.Timedelta(hours=1))
        n = k0 + len(times)
        spec, net = self.spec, self.net
        zone_load = {}
        zone_cf: dict[tuple[str, str], np.ndarray] = {}
        ts = self._timeseries_window(times)
        shapes = load_shapes()
        for zn, z in spec["zones"].items():
            local = times.tz_convert(z["timezone"])
            col = f"load:{zn}"
            if ts is not None and col in ts.columns:
                zone_load[zn] = ts[col].to_numpy(dtype=float)
            else:
                sh = shapes[z["load"]["shape"]]
                dow = local.dayofweek.to_numpy()
                week = np.where(dow == 5, sh["weekend"][0], np.where(dow == 6, sh["weekend"][1], 1.0))
                week_norm = (5 + sh["weekend"][0] + sh["weekend"][1]) / 7.0
                base = sh["shape"][local.hour.to_numpy()] * week / week_norm
                cv = z["load"]["noise_cv"]
                if cv > 0:
                    zz = _ar1(self.seed, (self.name, zn, "load"), z["load"]["noise_ar1"], n)[k0:]
                    base = base * np.maximum(0.5, 1 + cv * zz)
                zone_load[zn] = z["load"]["mean_mw"] * spec["scale"] * base
            for tech, c in z["cf"].items():
                col = f"cf:{zn}:{tech}"
                if ts is not None and col in ts.columns:
                    zone_cf[(zn, tech)] = np.clip(ts[col].to_numpy(dtype=float), 0, 1)
                    continue
                zone_cf[(zn, tech)] = self._cf(zn, z, tech, c, times, local, k0, n)
        load = pd.DataFrame(index=times, columns=net.load.index, dtype=float)
        for zn in spec["zones"]:
            rows = net.load[(net.load["zone"] == zn) & (net.load["kind"] == "background")]
            if len(rows):
                tot = _zone_load_base(net, zn)
                for i, r in rows.iterrows():
                    load[i] = zone_load[zn] * (_base_p(net, i) / tot)
            for i in net.load.index[(net.load["zone"] == zn) & (net.load["kind"] == "export")]:
                load[i] = _base_p(net, i)
        sg = pd.DataFrame(index=times, columns=net.sgen.index, dtype=float)
        for i, r in net.sgen.iterrows():
            cf = zone_cf.get((r["zone"], r["tech"]))
            if cf is None:
                raise InputError(self.spec["source"], f"zones.{r['zone']}.cf.{r['tech']}",
                                 f"sgen {r['name']!r} needs a capacity factor for {r['tech']} in zone {r['zone']}")
            sg[i] = r["capacity_mw"] * cf
        load.index.name = sg.index.name = "time"
        return HourlyProfiles(load, sg)

    def _cf(self, zn, z, tech, c, times, local, k0, n) -> np.ndarray:
        keys = (self.name, zn, tech)
        if tech == "pv":
            base = _pv_shape(times, z["lat"], z["lon"])
        else:
            h = local.hour.to_numpy() + 0.5
            base = 1.0 + c["daily_amplitude"] * np.cos(2 * np.pi * (h - c["peak_hour_local"]) / 24.0)
        f = np.ones(len(times))
        if c["noise_cv"] > 0:
            z = _ar1(self.seed, keys + ("hour",), c["noise_ar1"], n)[k0:]
            rho = c["shared"]
            if rho > 0:  # weather common to the whole net (e.g. wind over BE/NL/DE/DK)
                zc = _ar1(self.seed, (self.name, "shared", _FAMILY.get(tech, tech), "hour"), c["noise_ar1"], n)[k0:]
                z = math.sqrt(rho) * zc + math.sqrt(1 - rho) * z
            f *= _lognormal_factor(z, c["noise_cv"])
        if c["daily_cv"] > 0:  # day clearness (PV): 1 + cv z_day, z AR(1) over local days, in [0.15, 1.6]
            day0 = (local[0].normalize().tz_localize(None) - EPOCH.tz_localize(None).normalize()).days
            days = (local.normalize().tz_localize(None) - local[0].normalize().tz_localize(None)).days.to_numpy()
            nd = max(0, day0) + int(days.max()) + 2
            zd = _ar1(self.seed, keys + ("day",), 0.5, nd)[np.maximum(0, day0) + days]
            f *= np.clip(1.0 + c["daily_cv"] * zd, 0.15, 1.6)
        return np.clip(c["mean"] * base * f, 0.0, c["max_cf"])

    def _timeseries_window(self, times: pd.DatetimeIndex) -> pd.DataFrame | None:
        if self.timeseries is None:
            return None
        ts = self.timeseries
        missing = times.difference(ts.index)
        if len(missing):
            have = f"{ts.index[0]:%Y-%m-%d %H:%M} to {ts.index[-1]:%Y-%m-%d %H:%M} UTC" if len(ts) else "no hours"
            raise InputError(self.timeseries_source, "time",
                             f"series covers {have} ({len(ts)} h) but the horizon needs "
                             f"{times[0]:%Y-%m-%d %H:%M} to {times[-1]:%Y-%m-%d %H:%M} UTC ({len(times)} h)")
        return ts.loc[times]

    # ------------------------------------------------------------------ one hour
    def apply_hour(self, t, *, profiles: HourlyProfiles | None = None) -> pd.Timestamp:
        """Write hour *t* (UTC) into the net: ``load.p_mw``, ``sgen.max_p_mw`` (= ``p_mw``),
        and initial ``gen.p_mw`` setpoints from a copper-plate merit order (so that
        ``pp.rundcpp`` starts from a plausible point; ``pp.rundcopp`` re-dispatches).

        *profiles*: precomputed :meth:`hourly` output containing *t*; otherwise a week
        from *t* is computed and cached."""
        t = _times(t, 1)[0]
        prof = profiles
        if prof is None:
            prof = self._cache
            if prof is None or t not in prof.load_mw.index:
                prof = self._cache = self.hourly(t, 24 * 7)
        if t not in prof.load_mw.index:
            raise InputError("<profiles>", "time", f"{t:%Y-%m-%d %H:%M} UTC is not in the given profiles")
        net = self.net
        net.load["p_mw"] = prof.load_mw.loc[t].reindex(net.load.index).to_numpy()
        av = prof.sgen_max_mw.loc[t].reindex(net.sgen.index).to_numpy()
        net.sgen["max_p_mw"] = av
        net.sgen["p_mw"] = av
        self._merit_order_setpoints()
        return t

    def _merit_order_setpoints(self) -> None:
        net = self.net
        demand = float(net.load["p_mw"].sum())
        g = net.gen
        p = np.maximum(g["min_p_mw"].to_numpy(dtype=float), 0.0)
        rest = demand - p.sum() - float(net.sgen["p_mw"].sum())
        if rest < 0:  # must-run plus renewables exceed load: curtail renewables pro rata
            tot = float(net.sgen["p_mw"].sum())
            if tot > 0:
                net.sgen["p_mw"] = net.sgen["p_mw"] * max(0.0, (tot + rest) / tot)
            rest = 0.0
        order = np.argsort(g["marginal_cost_usd_per_mwh"].to_numpy(), kind="stable")
        room = (g["max_p_mw"].to_numpy(dtype=float) - p)
        for k in order:
            if rest <= 0:
                break
            add = min(room[k], rest)
            p[k] += add
            rest -= add
        net.gen["p_mw"] = p


def _zone_load_base(net, zn) -> float:
    rows = net.load[(net.load["zone"] == zn) & (net.load["kind"] == "background")]
    return float(sum(_base_p(net, i) for i in rows.index))


def _base_p(net, i) -> float:
    """Load i's design share: the p_mw it was built with (kept in column base_p_mw)."""
    return float(net.load.at[i, "base_p_mw"])


def _times(start, hours: int) -> pd.DatetimeIndex:
    try:
        ts = pd.Timestamp(start)
    except (TypeError, ValueError):
        raise InputError("<grids>", "start", f"not a time: {start!r}") from None
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    if ts != ts.floor("h"):
        raise InputError("<grids>", "start", f"{ts} is not on the hour")
    if ts < EPOCH:
        raise InputError("<grids>", "start", f"{ts:%Y-%m-%d %H:%M} UTC is before {EPOCH:%Y-%m-%d} (profile epoch)")
    try:
        hours = int(hours)
    except (TypeError, ValueError):
        raise InputError("<grids>", "hours", f"not an integer: {hours!r}") from None
    if not 1 <= hours <= MAX_HOURS:
        raise InputError("<grids>", "hours", f"must be in 1..{MAX_HOURS}, got {hours}")
    return pd.date_range(ts, periods=hours, freq="h", name="time")


def read_timeseries(src: str | Path | pd.DataFrame, *, source: str | None = None) -> pd.DataFrame:
    """Hourly input series overriding the synthetic ones: a UTC ``time`` column (or index)
    and columns ``load:<zone>`` (MW of the net, i.e. already scaled) and/or
    ``cf:<zone>:<tech>`` (capacity factor 0..1). Returns a frame indexed by UTC hour."""
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
        if not (str(c).startswith("load:") or str(c).startswith("cf:")):
            raise InputError(source, f"column {c}", "expected load:<zone> or cf:<zone>:<tech>")
        v = pd.to_numeric(df[c], errors="coerce")
        if v.isna().any() or (v < 0).any():
            k = int(np.flatnonzero((v.isna() | (v < 0)).to_numpy())[0])
            raise InputError(source, f"row {k + 2}: {c}", f"not a non-negative number: {df[c].iloc[k]!r}")
        df[c] = v.astype(float)
    return df.sort_index()


def build_region(name: str, *, seed: int = 0, spec: dict | str | Path | None = None,
                 fleet: pd.DataFrame | str | Path | None = None,
                 timeseries: pd.DataFrame | str | Path | None = None) -> RegionGrid:
    """Build a shipped region (``eu``, ``us_east``, ``ercot``, ``nevada``, ``singapore``,
    ``japan``), or one from your own *spec* / *fleet* files.

    *seed*: seeds the load and renewable noise (same seed, same series).
    *timeseries*: optional hourly series (:func:`read_timeseries`) overriding the
    synthetic load / capacity factors; hours it lacks raise InputError when asked for.
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


@functools.lru_cache(maxsize=None)
def _shipped_net(name: str):
    return build_net(_spec(name), None)


def build_all(*, seed: int = 0) -> dict[str, RegionGrid]:
    """Every shipped net, keyed by name."""
    return {n: build_region(n, seed=seed) for n in region_names()}


# ---------------------------------------------------------------------------- results

def dispatched_units(net) -> pd.DataFrame:
    """After an OPF / power flow: one row per gen, sgen and ext_grid with ``element``,
    ``index``, ``name``, ``zone``, ``fuel``, ``p_mw``, ``co2_kg_per_mwh``,
    ``water_l_per_mwh``, ``marginal_cost_usd_per_mwh``."""
    parts = []
    for table in ("gen", "sgen", "ext_grid"):
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
    """Average carbon intensity (kg/MWh) of each zone's production: sum(p x co2) / sum(p)
    over units with p > 0 (an ext_grid exporting, p < 0, is not production)."""
    u = units[units["p_mw"] > 1e-9]
    e = (u["p_mw"] * u["co2_kg_per_mwh"]).groupby(u["zone"]).sum()
    g = u["p_mw"].groupby(u["zone"]).sum()
    return (e / g).rename("avg_intensity_kg_per_mwh")


def zone_fuel_mix(units: pd.DataFrame) -> pd.DataFrame:
    """Production (MW) by zone (rows) and fuel (columns), units with p > 0 only."""
    u = units[units["p_mw"] > 1e-9]
    return u.pivot_table(index="zone", columns="fuel", values="p_mw", aggfunc="sum", fill_value=0.0)


# ---------------------------------------------------------------------------- baseline

PIPS_RETRY = {"PDIPM_GRADTOL": 1e-5, "PDIPM_COMPTOL": 1e-5, "PDIPM_MAX_IT": 300}


def run_dcopp(net, **kwargs) -> None:
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


def dispatcher_class():
    """The fast DC-OPF ``Dispatcher`` (``grids.opf``; ``grids.dispatch`` in early
    versions), or None when neither module is importable."""
    import importlib

    for mod in ("grids.opf", "grids.dispatch"):
        try:
            return importlib.import_module(mod).Dispatcher
        except (ImportError, AttributeError):
            continue
    return None


def baseline_signals(rg: RegionGrid, start, hours: int, *, engine: str = "auto") -> Baseline:
    """Dispatch *rg* hour by hour over ``[start, start + hours)`` without data-center load.

    *engine*: ``"pandapower"`` (``pp.rundcopp`` on the net via :func:`run_dcopp`),
    ``"dispatcher"`` (:func:`dispatcher_class`, the same LP solved by HiGHS, much faster) or ``"auto"`` (the
    dispatcher when importable). Average intensity is per zone, production-based:
    sum(p x co2) / sum(p) over the zone's units with p > 0 (ext_grid imports count as
    production of the zone they connect to, exports do not). With ``"pandapower"``, an
    hour that rundcopp cannot solve even after :func:`run_dcopp`'s retry is solved by the
    Dispatcher and listed in ``fallback_hours`` (a RuntimeError if there is none).
    """
    import time as _time

    prof = rg.hourly(start, hours)
    net = rg.net
    disp = None
    if engine in ("auto", "dispatcher"):
        cls = dispatcher_class()
        if cls is not None:
            disp = cls(net, name=rg.name)
            engine = "dispatcher"
        elif engine == "dispatcher":
            raise ImportError("no Dispatcher found in grids.opf (or grids.dispatch)")
        else:
            engine = "pandapower"
    elif engine != "pandapower":
        raise ValueError(f"engine must be auto, dispatcher or pandapower, not {engine!r}")
    tables = [t for t in ("gen", "sgen", "ext_grid") if len(net[t])]
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
    t0 = _time.perf_counter()
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
            except RuntimeError as exc:
                cls = dispatcher_class()
                if cls is None:
                    raise RuntimeError(f"{exc} (hour {t:%Y-%m-%d %H:%M} UTC)") from None
                p, lmp = _dispatch(cls(net, name=rg.name), t)
                fallback.append(t)
        prices[k] = lmp.reindex(site_bus.to_numpy()).to_numpy(float)
        pp_ = np.where(p > 1e-9, p, 0.0)
        e = np.bincount(zc, weights=pp_ * co2, minlength=nz)
        g = np.bincount(zc, weights=pp_, minlength=nz)
        inten[k] = np.where(g > 0, e / np.where(g > 0, g, 1.0), np.nan) / 1000.0
        mix[k] = np.bincount(zc * nf + fc, weights=pp_, minlength=nz * nf)
    idx = prof.load_mw.index
    return Baseline(
        region=rg.name, engine=engine,
        prices=pd.DataFrame(prices, index=idx, columns=list(site_bus.index)),
        intensity=pd.DataFrame(inten, index=idx, columns=zones),
        site_zone=dict(rg.site_zone),
        mix_mw=pd.DataFrame(mix, index=idx, columns=pd.MultiIndex.from_product([zones, fuels], names=["zone", "fuel"])),
        seconds=_time.perf_counter() - t0,
        fallback_hours=fallback,
    )
