"""Co-simulation speed on paper10: the hourly loop of users, operators and regional grids.

    python benchmarks/bench_cosim.py [--hours 432] [--policy se-glb] [--rundcopp-hours 48]
                                     [--couplings lagged,iterate,open] [--iterate-hours H]
                                     [--profile lagged] [--tracemalloc] [--what-if-clarabel-infeas 1e-12]

Measures, in one process:

1. `run_scenario(load_scenario("paper10").with_hours(H), policies=[policy], mode="online",
   coupling=...)` wall time, split into the decision instance (`decision_instance`: two
   dispatch passes of the nets and the baseline solve), each co-simulation (`CoSimulation.run`
   of the `nearest` baseline and of the policy) and the rest (metrics; with open coupling
   also the offline reference solve). Inside those: time and count of region-hour
   dispatches (`RegionGrid.dispatch`, of which `Dispatcher.solve` and its LP / LME /
   validity / result parts), split by why the grid was dispatched (publish, realize,
   without data centers, signals of the decision instance); the GLB decisions
   (`OnlineSolver.decide` wall) and the time inside the GLB solver (`OnlineSolver.solve_s`).
   Instrumentation wraps those functions at run time (a few microseconds per call); no
   project code is changed.
2. The same for the other couplings (iterate: ratio of wall time to lagged at the same
   horizon; open).
3. A bare loop of pandapower `rundcopp` (via `grids.reference.run_dcopp`, which retries PIPS
   once with looser tolerances, as `baseline_signals` does) over a sample of the same
   region-hours: each of the nets holding paper10's sites (`grid_regions`, seed of the
   scenario), `RegionGrid.apply_hour` for the hour's load and renewables, plus the data
   centers' load of the lagged run (realized hour) as extra loads at the site buses. Only
   the `run_dcopp` call is timed. Its LMPs at the sites are compared with the co-simulation's
   realized prices of the same hours (same problem: they agree except at degenerate
   optima). Extrapolated to the co-simulation's dispatch count: ratio = (rundcopp s per
   dispatch x dispatches of the run) / wall time of the run.
4. Peak memory: `ru_maxrss` after each run (the process's peak so far, MB); with
   `--tracemalloc` an extra, untimed lagged run reports the Python heap's peak.

`--what-if-clarabel-infeas TOL` re-runs everything with Clarabel's infeasibility tolerances
patched at run time (a proposed fix for the hours where Clarabel returns a false
"unbounded"/"infeasible" and the GLB falls back to SCS); say so when quoting its figures.

Goals (issue 5): paper10, 432 hours, lagged coupling within about a minute on 2 cores and
at least 10x faster than a bare loop of rundcopp over the same region-hours; iterate
within 3x lagged; peak memory under 1.5 GB. Figures go to docs/performance.md, never into
timed tests.
"""
from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import resource
import statistics
import sys
import time
import tracemalloc
import warnings
from collections import Counter, defaultdict
from contextlib import contextmanager
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

T_IMPORT = time.perf_counter()
import clarabel  # noqa: E402
import cvxpy  # noqa: E402
import mesa  # noqa: E402
import pandapower as pp  # noqa: E402

import cosim.runner as runner  # noqa: E402
from agents.grid import WithoutDataCenters  # noqa: E402
from benchmarks.bench_dispatch import machine  # noqa: E402  (the same machine line as the dispatch figures)
from cosim.cosimulation import CoSimulation  # noqa: E402
from cosim.glb import OnlineSolver  # noqa: E402
from cosim.scenario_files import load_scenario  # noqa: E402
from grids.grid import RegionGrid  # noqa: E402
from grids.opf import Dispatcher  # noqa: E402
from grids.reference import run_dcopp  # noqa: E402
from grids.signals import grid_regions  # noqa: E402

IMPORT_S = time.perf_counter() - T_IMPORT
warnings.filterwarnings("ignore")

PARTS = ("setup", "lp", "lme", "validity", "result")  # Dispatcher.solve timings_s


# ---------------------------------------------------------------------------- instrumentation

class Probe:
    """Accumulators filled by the wrappers of `instrument`, keyed by phase (decision,
    cosim <policy>) and, for dispatches, by why the grid was dispatched."""

    def __init__(self):
        self.reset()

    def reset(self):
        self.phase = "other"
        self.kinds: list[str] = []
        self.calls = Counter()  # (phase, kind) -> region-hour dispatches
        self.dispatch_s = defaultdict(float)  # (phase, kind) -> s in RegionGrid.dispatch
        self.solve_s = defaultdict(float)  # (phase, part) -> s in Dispatcher.solve, by timings_s part
        self.wall = defaultdict(float)  # phase -> s
        self.decide = Counter()  # phase -> OnlineSolver.decide calls
        self.decide_s = defaultdict(float)  # phase -> s wall in OnlineSolver.decide
        self.glb_solver_s = defaultdict(float)  # phase -> s inside the solver (solve_s)
        self.offline_s = defaultdict(float)  # phase -> s in solve_offline (baseline plan, offline reference)
        self.iterations: dict[str, np.ndarray] = {}
        self.iter_cap: dict[str, int] = {}
        self.fallbacks: dict[str, int] = {}  # phase -> hours a GLB solve needed the fallback solver

    @property
    def kind(self) -> str:
        return self.kinds[-1] if self.kinds else "signals"


@contextmanager
def instrument(probe: Probe):
    """Wrap the functions whose time is reported; restore them on exit."""
    saved = []

    def patch(owner, name, make):
        orig = getattr(owner, name)
        saved.append((owner, name, orig))
        setattr(owner, name, make(orig))

    def phase_wrapper(label):
        def make(orig):
            def wrapped(*a, **kw):
                outer, probe.phase = probe.phase, label
                t = time.perf_counter()
                try:
                    return orig(*a, **kw)
                finally:
                    probe.wall[label] += time.perf_counter() - t
                    probe.phase = outer
            return wrapped
        return make

    def run_make(orig):
        def run(self, *a, **kw):
            label = f"cosim {self.policy.name}"
            outer, probe.phase = probe.phase, label
            t = time.perf_counter()
            try:
                return orig(self, *a, **kw)
            finally:
                probe.wall[label] += time.perf_counter() - t
                probe.iterations[label] = self.log.iterations.copy()
                probe.iter_cap[label] = getattr(self.coupling, "max_rounds", 1)
                probe.fallbacks[label] = len(set(self.log.fallback_hours))
                probe.phase = outer
        return run

    def kind_wrapper(kind):
        def make(orig):
            def wrapped(*a, **kw):
                probe.kinds.append(kind)
                try:
                    return orig(*a, **kw)
                finally:
                    probe.kinds.pop()
            return wrapped
        return make

    def dispatch_make(orig):
        def dispatch(self, *a, **kw):
            t = time.perf_counter()
            out = orig(self, *a, **kw)
            key = (probe.phase, probe.kind)
            probe.dispatch_s[key] += time.perf_counter() - t
            probe.calls[key] += 1
            return out
        return dispatch

    def solve_make(orig):
        def solve(self, *a, **kw):
            res = orig(self, *a, **kw)
            for part in PARTS:
                probe.solve_s[(probe.phase, part)] += res.timings_s.get(part, 0.0)
            return res
        return solve

    def decide_make(orig):
        def decide(self, *a, **kw):
            before = self.solve_s
            t = time.perf_counter()
            try:
                return orig(self, *a, **kw)
            finally:
                probe.decide_s[probe.phase] += time.perf_counter() - t
                probe.decide[probe.phase] += 1
                probe.glb_solver_s[probe.phase] += self.solve_s - before
        return decide

    def offline_make(orig):
        def solve_offline(*a, **kw):
            t = time.perf_counter()
            try:
                return orig(*a, **kw)
            finally:
                probe.offline_s[probe.phase] += time.perf_counter() - t
        return solve_offline

    patch(runner, "decision_instance", phase_wrapper("decision"))
    patch(runner, "solve_offline", offline_make)
    patch(CoSimulation, "run", run_make)
    patch(CoSimulation, "publish", kind_wrapper("publish"))
    patch(CoSimulation, "_realize", kind_wrapper("realize"))
    patch(WithoutDataCenters, "outcome", kind_wrapper("without"))
    patch(RegionGrid, "dispatch", dispatch_make)
    patch(Dispatcher, "solve", solve_make)
    patch(OnlineSolver, "decide", decide_make)
    try:
        yield probe
    finally:
        for owner, name, orig in reversed(saved):
            setattr(owner, name, orig)


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KB on Linux


# ---------------------------------------------------------------------------- runs

def run_coupled(scenario, policy: str, coupling: str, hours: int) -> dict:
    """One run_scenario call, instrumented; a dict of the figures (and the result)."""
    probe = Probe()
    sc = scenario.with_hours(hours)
    with instrument(probe):
        t = time.perf_counter()
        result = runner.run_scenario(sc, policies=[policy], mode="online", coupling=coupling)
        wall = time.perf_counter() - t
    model = result.models[policy]
    region_hours = len(model.grids) * hours
    phases = [p for p in probe.wall if p.startswith("cosim ")]
    calls = sum(probe.calls.values())
    disp_s = sum(probe.dispatch_s.values())
    out = {
        "coupling": coupling, "hours": hours, "wall": wall, "grids": len(model.grids), "region_hours": region_hours,
        "decision": probe.wall["decision"], "decision_calls": sum(n for (p, _), n in probe.calls.items() if p == "decision"),
        "cosim": {}, "calls": calls, "dispatch_s": disp_s,
        "solve_parts": {part: sum(v for (_, pt), v in probe.solve_s.items() if pt == part) for part in PARTS},
        "glb_solver_s": sum(probe.glb_solver_s.values()), "decide_s": sum(probe.decide_s.values()),
        "offline_s": probe.offline_s["other"],  # outside decision instance and co-simulations: open's offline reference
        "rss_mb": rss_mb(), "result": result, "fallback_hours": len(model.log.fallback_hours),
    }
    for p in phases:
        kinds = {k: probe.calls[(q, k)] for (q, k) in probe.calls if q == p}
        it = probe.iterations.get(p, np.ones(hours))
        out["cosim"][p] = {
            "wall": probe.wall[p], "calls": sum(kinds.values()), "kinds": kinds,
            "dispatch_s": sum(v for (q, _), v in probe.dispatch_s.items() if q == p),
            "decide": probe.decide[p], "decide_s": probe.decide_s[p], "glb_solver_s": probe.glb_solver_s[p],
            "iter_mean": float(np.mean(it)), "iter_max": int(np.max(it)),
            "iter_capped": int((it >= probe.iter_cap.get(p, 10 ** 9)).sum()),
            "fallback_hours": probe.fallbacks.get(p, 0),
        }
    out["cosim_wall"] = sum(c["wall"] for c in out["cosim"].values())
    out["cosim_calls"] = sum(c["calls"] for c in out["cosim"].values())
    out["rest"] = wall - out["decision"] - out["cosim_wall"]
    return out


def rundcopp_loop(scenario, lagged: dict, policy: str, sample: int) -> dict:
    """Bare pp.rundcopp over *sample* evenly spread hours of every net, with the lagged
    run's realized data-center load at the site buses."""
    model = lagged["result"].models[policy]
    hours = lagged["hours"]
    inst = model.inst
    sites = [dc.site for dc in scenario.datacenters]
    ks = np.unique(np.linspace(0, hours - 1, min(sample, hours)).round().astype(int))
    times, dlmp, failed, prep = [], [], 0, 0.0
    first = True
    nets = grid_regions(sites, seed=scenario.seed)
    for rg in nets:
        net = rg.net
        prof = rg.hourly(inst.times[0], hours)
        dc_load = {}
        for site, bus in rg.sites.items():
            if site in sites:
                dc_load[site] = pp.create_load(net, bus, p_mw=0.0, q_mvar=0.0, name=f"dc {site}", controllable=False)
        for k in ks:
            t0 = time.perf_counter()
            rg.apply_hour(inst.times[k], profiles=prof)
            for site, row in dc_load.items():
                net.load.loc[row, ["p_mw", "scaling", "in_service"]] = [
                    float(sum(model.log.facility_mw[i, k] for i, s in enumerate(sites) if s == site)), 1.0, True]
            prep += time.perf_counter() - t0
            if first:  # pandapower's lazy imports and caches: one untimed call
                try:
                    run_dcopp(net)
                except RuntimeError:
                    pass
                first = False
            t0 = time.perf_counter()
            try:
                run_dcopp(net)
                ok = True
            except RuntimeError:
                ok, failed = False, failed + 1
            times.append(time.perf_counter() - t0)
            if ok:
                for site in dc_load:
                    i = sites.index(site)
                    dlmp.append(abs(float(net.res_bus.at[rg.sites[site], "lam_p"]) - model.log.realized["price_usd_per_mwh"][i, k]))
    dlmp = np.array(dlmp)
    return {"calls": len(times), "nets": len(nets), "hours_sampled": len(ks),
            "mean_s": float(np.mean(times)), "median_s": float(statistics.median(times)), "total_s": float(sum(times)),
            "prep_s": prep, "failed": failed, "dlmp_max": float(dlmp.max(initial=0.0)),
            "dlmp_over_1c": int((dlmp > 1e-2).sum()), "dlmp_n": len(dlmp)}


def profile_run(scenario, policy: str, coupling: str, hours: int, top: int) -> str:
    prof = cProfile.Profile()
    t = time.perf_counter()
    prof.enable()
    runner.run_scenario(scenario.with_hours(hours), policies=[policy], mode="online", coupling=coupling)
    prof.disable()
    wall = time.perf_counter() - t
    buf = io.StringIO()
    st = pstats.Stats(prof, stream=buf)
    buf.write(f"cProfile of {coupling}, {hours} h: {wall:.1f} s wall under the profiler\n")
    for key in ("tottime", "cumulative"):
        buf.write(f"\n-- top {top} by {key} --\n")
        st.sort_stats(key).print_stats(top)
    return buf.getvalue()


def traced_peak(scenario, policy: str, hours: int) -> float:
    tracemalloc.start()
    runner.run_scenario(scenario.with_hours(hours), policies=[policy], mode="online", coupling="lagged")
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2 ** 20


# ---------------------------------------------------------------------------- report

def breakdown_table(runs: list[dict]) -> str:
    lines = [
        "| coupling | hours | wall s | decision instance s | co-sim nearest s | co-sim policy s | rest s (offline reference) "
        "| dispatches (per region-hour) | dispatch s | of which LP s | GLB decide s | GLB solver s "
        "| wall / solver | GLB fallback hours | iterations mean (max) | peak RSS MB |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in runs:
        cs = r["cosim"]
        base = cs.get("cosim nearest", {}).get("wall", float("nan"))
        pol = [v for p, v in cs.items() if p != "cosim nearest"]
        pol_wall = pol[0]["wall"] if pol else float("nan")
        it = pol[0] if pol else {"iter_mean": 1.0, "iter_max": 1, "fallback_hours": 0}
        lines.append(
            f"| {r['coupling']} | {r['hours']} | **{r['wall']:.1f}** | {r['decision']:.1f} | {base:.1f} | {pol_wall:.1f} "
            f"| {r['rest']:.1f}" + (f" ({r['offline_s']:.1f})" if r["offline_s"] else "")
            + f" | {r['calls']:,} ({r['calls'] / r['region_hours']:.2f}) | {r['dispatch_s']:.1f} "
            f"| {r['solve_parts']['lp']:.1f} | {r['decide_s']:.1f} | {r['glb_solver_s']:.1f} "
            f"| {r['wall'] / max(r['glb_solver_s'], 1e-9):.1f} | {it['fallback_hours']} | {it['iter_mean']:.2f} ({it['iter_max']}) "
            f"| {r['rss_mb']:.0f} |")
    return "\n".join(lines)


def calls_table(runs: list[dict]) -> str:
    lines = ["| coupling | phase | wall s | dispatches | publish | realize | without DC | signals | dispatch s "
             "| ms per dispatch | decisions | decide s | solver s |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in runs:
        lines.append(f"| {r['coupling']} | decision instance | {r['decision']:.1f} | {r['decision_calls']:,} | | | | "
                     f"{r['decision_calls']:,} | | | | | |")
        for p, c in r["cosim"].items():
            k = c["kinds"]
            lines.append(
                f"| {r['coupling']} | {p} | {c['wall']:.1f} | {c['calls']:,} | {k.get('publish', 0):,} | {k.get('realize', 0):,} "
                f"| {k.get('without', 0):,} | | {c['dispatch_s']:.1f} | {1e3 * c['dispatch_s'] / max(c['calls'], 1):.2f} "
                f"| {c['decide']:,} | {c['decide_s']:.1f} | {c['glb_solver_s']:.1f} |")
    return "\n".join(lines)


def verdicts(lagged: dict, pp_loop: dict, iterate: dict | None, lagged_at_iter: dict | None,
             minute_s: float = 60.0) -> list[str]:
    per_pp = pp_loop["mean_s"]
    ours = lagged["dispatch_s"] / lagged["calls"]
    solve_total = sum(lagged["solve_parts"].values())
    equal = per_pp * lagged["calls"] / lagged["wall"]
    cosim_only = per_pp * lagged["cosim_calls"] / lagged["cosim_wall"]
    strict = per_pp * lagged["region_hours"] / lagged["wall"]
    out = [
        f"- Wall time, {lagged['hours']} h lagged: {lagged['wall']:.1f} s "
        f"(goal about 60 s: {'met' if lagged['wall'] <= minute_s else 'MISSED'}).",
        f"- Against a bare rundcopp loop doing the same {lagged['calls']:,} dispatches "
        f"({lagged['calls'] / lagged['region_hours']:.2f} per region-hour, {lagged['region_hours']:,} region-hours): "
        f"{per_pp * 1e3:.1f} ms per rundcopp (mean of {pp_loop['calls']} sampled) x {lagged['calls']:,} = "
        f"{per_pp * lagged['calls']:.0f} s, {equal:.1f}x the run's wall time (goal >= 10x: "
        f"{'met' if equal >= 10 else 'MISSED'}). Co-simulations alone (without the decision instance): "
        f"{cosim_only:.1f}x. One rundcopp per region-hour only ({lagged['region_hours']:,} calls, "
        f"{per_pp * lagged['region_hours']:.0f} s): {strict:.1f}x.",
        f"- Per dispatch: ours {ours * 1e3:.2f} ms (`RegionGrid.dispatch`, of which `Dispatcher.solve` "
        f"{solve_total / lagged['calls'] * 1e3:.2f} ms: LP {lagged['solve_parts']['lp'] / lagged['calls'] * 1e3:.2f}, "
        f"LME {lagged['solve_parts']['lme'] / lagged['calls'] * 1e3:.2f}, validity "
        f"{lagged['solve_parts']['validity'] / lagged['calls'] * 1e3:.2f}, result objects "
        f"{lagged['solve_parts']['result'] / lagged['calls'] * 1e3:.2f}, setup "
        f"{lagged['solve_parts']['setup'] / lagged['calls'] * 1e3:.2f}) vs rundcopp {per_pp * 1e3:.1f} ms: "
        f"{per_pp / ours:.0f}x per call. Dispatch is {lagged['dispatch_s'] / lagged['wall']:.0%} of the wall time, "
        f"GLB decisions {lagged['decide_s'] / lagged['wall']:.0%} (solver {lagged['glb_solver_s'] / lagged['wall']:.0%}); "
        f"wall / GLB solver time {lagged['wall'] / lagged['glb_solver_s']:.1f}; "
        f"{sum(c['fallback_hours'] for c in lagged['cosim'].values())} hours needed the GLB fallback solver.",
        f"- Same problem: rundcopp's LMPs at the sites vs the co-simulation's realized prices, "
        f"{pp_loop['dlmp_n']} site-hours: max |dLMP| {pp_loop['dlmp_max']:.2g} USD/MWh, "
        f"{pp_loop['dlmp_over_1c']} above 0.01 (degenerate optima; see the dispatch notes)"
        + (f"; rundcopp failed on {pp_loop['failed']} sampled hours even after the retry" if pp_loop["failed"] else "")
        + ".",
        f"- Peak memory (ru_maxrss after the lagged run): {lagged['rss_mb']:.0f} MB "
        f"(goal < 1.5 GB: {'met' if lagged['rss_mb'] < 1536 else 'MISSED'}).",
    ]
    if iterate is not None and lagged_at_iter is not None:
        ratio = iterate["wall"] / lagged_at_iter["wall"]
        pol = [v for p, v in iterate["cosim"].items() if p != "cosim nearest"][0]
        out.append(
            f"- Iterate, {iterate['hours']} h: {iterate['wall']:.1f} s, {ratio:.2f}x lagged at the same horizon "
            f"({lagged_at_iter['wall']:.1f} s; goal <= 3x: {'met' if ratio <= 3 else 'MISSED'}); "
            f"{pol['iter_mean']:.2f} fixed-point iterations per hour on average (max {pol['iter_max']}, "
            f"{pol['iter_capped']} hour(s) stopped at the cap; baseline nearest "
            f"{iterate['cosim'].get('cosim nearest', {}).get('iter_mean', float('nan')):.2f}), "
            f"{iterate['calls'] / iterate['region_hours']:.2f} dispatches per region-hour; "
            f"peak RSS so far {iterate['rss_mb']:.0f} MB.")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=int, default=432)
    parser.add_argument("--policy", default="se-glb")
    parser.add_argument("--rundcopp-hours", type=int, default=48,
                        help="hours sampled (evenly) per net for the rundcopp loop, extrapolated")
    parser.add_argument("--couplings", default="lagged,iterate,open")
    parser.add_argument("--iterate-hours", type=int, default=None,
                        help="horizon of the iterate run (default --hours); lagged is re-run at it for the ratio")
    parser.add_argument("--warmup-hours", type=int, default=4,
                        help="a short lagged run first (net builds, solver first calls); 0: none")
    parser.add_argument("--profile", choices=("lagged", "iterate", "open"), help="also run that coupling under cProfile")
    parser.add_argument("--profile-hours", type=int, default=None)
    parser.add_argument("--profile-top", type=int, default=30)
    parser.add_argument("--tracemalloc", action="store_true", help="an extra lagged run for the Python heap's peak")
    parser.add_argument("--what-if-clarabel-infeas", type=float, metavar="TOL",
                        help="what-if, not the project's setting: run with Clarabel's tol_infeas_abs/rel set to TOL "
                             "(patched at run time in cosim.glb.solve._SETTINGS)")
    args = parser.parse_args()
    what_if = ""
    if args.what_if_clarabel_infeas is not None:
        from cosim.glb.solve import _SETTINGS

        _SETTINGS["CLARABEL"].update(tol_infeas_abs=args.what_if_clarabel_infeas, tol_infeas_rel=args.what_if_clarabel_infeas)
        what_if = f" WHAT-IF: Clarabel tol_infeas_abs = tol_infeas_rel = {args.what_if_clarabel_infeas:g} (not the project's setting)."

    scenario = load_scenario("paper10")
    couplings = [c.strip() for c in args.couplings.split(",") if c.strip()]
    versions = (f"mesa {mesa.__version__}, cvxpy {cvxpy.__version__}, clarabel {clarabel.__version__}")
    info = f"{machine()}, {versions}"
    load = Path("/proc/loadavg").read_text().split()[:3] if Path("/proc/loadavg").exists() else []
    print(f"machine: {info}")
    print(f"load average at start: {' '.join(load)}; imports {IMPORT_S:.1f} s")
    print(f"paper10, policy {args.policy}, online, couplings {couplings}, {args.hours} h{what_if}\n")

    if args.warmup_hours:
        t = time.perf_counter()
        runner.run_scenario(scenario.with_hours(args.warmup_hours), policies=[args.policy], mode="online", coupling="lagged")
        print(f"warm-up ({args.warmup_hours} h lagged, net builds and first solves): {time.perf_counter() - t:.1f} s, "
              f"RSS {rss_mb():.0f} MB")

    runs, lagged, iterate, lagged_at_iter = [], None, None, None
    for coupling in couplings:
        hours = args.iterate_hours if coupling == "iterate" and args.iterate_hours else args.hours
        r = run_coupled(scenario, args.policy, coupling, hours)
        print(f"{coupling} {hours} h: {r['wall']:.1f} s, {r['calls']:,} dispatches, RSS {r['rss_mb']:.0f} MB")
        runs.append(r)
        if coupling == "lagged" and hours == args.hours:
            lagged = r
        if coupling == "iterate":
            iterate = r
    if iterate is not None:
        lagged_at_iter = next((r for r in runs if r["coupling"] == "lagged" and r["hours"] == iterate["hours"]), None)
        if lagged_at_iter is None:
            lagged_at_iter = run_coupled(scenario, args.policy, "lagged", iterate["hours"])
            print(f"lagged {iterate['hours']} h (for the iterate ratio): {lagged_at_iter['wall']:.1f} s")
            runs.append(lagged_at_iter)
    if lagged is None:
        lagged = run_coupled(scenario, args.policy, "lagged", args.hours)
        runs.insert(0, lagged)

    pp_loop = rundcopp_loop(scenario, lagged, args.policy, args.rundcopp_hours)
    print(f"rundcopp loop: {pp_loop['calls']} calls ({pp_loop['nets']} nets x {pp_loop['hours_sampled']} hours), "
          f"mean {pp_loop['mean_s'] * 1e3:.1f} ms, median {pp_loop['median_s'] * 1e3:.1f} ms, "
          f"apply_hour + DC loads {pp_loop['prep_s'] / pp_loop['calls'] * 1e3:.1f} ms per call (not counted)\n")

    heap = traced_peak(scenario, args.policy, args.hours) if args.tracemalloc else None
    load_end = Path("/proc/loadavg").read_text().split()[:3] if Path("/proc/loadavg").exists() else []

    md = [
        f"Machine: {info}. Load average {' '.join(load)} at start, {' '.join(load_end)} at the end "
        f"(other jobs on the 2 cores). Policy {args.policy}, online; {lagged['grids']} nets hold the 10 sites; "
        f"{args.warmup_hours} h lagged warm-up run first (not counted).{what_if}",
        "",
        breakdown_table(runs),
        "",
        calls_table(runs),
        "",
        f"rundcopp loop: {pp_loop['calls']} calls = {pp_loop['nets']} nets x {pp_loop['hours_sampled']} hours spread over "
        f"the {lagged['hours']} h, each `apply_hour` + data centers' load of the lagged run at the site buses; "
        f"`run_dcopp` {pp_loop['mean_s'] * 1e3:.1f} ms mean, {pp_loop['median_s'] * 1e3:.1f} ms median per call.",
        "",
        *verdicts(lagged, pp_loop, iterate, lagged_at_iter),
    ]
    if heap is not None:
        md.append(f"- tracemalloc peak of the Python heap, lagged {args.hours} h (an extra untimed run): {heap:.0f} MB.")
    print("\n".join(md))

    if args.profile:
        print()
        print(profile_run(scenario, args.policy, args.profile, args.profile_hours or args.hours, args.profile_top))


if __name__ == "__main__":
    main()
