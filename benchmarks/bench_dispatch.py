"""Dispatch speed: grids.opf (DC-OPF + LMP + LME per region-hour) against pp.rundcopp.

    python benchmarks/bench_dispatch.py [--hours 24] [--repeat 3] [--write docs/performance.md]
    python benchmarks/bench_dispatch.py --net bench_dispatch:rts_gmlc     # the RTS-GMLC net too

For every hour (a daily profile of load scalings) both solvers dispatch the same net; the
answers are compared in the run (dispatch within 1e-3 MW, LMPs within 1e-2 USD/MWh, except
at hours whose optimum is degenerate, where LMPs are not unique and are only counted).
Times are per region-hour: ours is a warm-started ``Dispatcher.solve`` with result objects
built (dispatch + LMP + LME + validity ranges), rundcopp's is the whole call. Each hour is
timed in ``--repeat`` passes over the day; per hour the fastest pass counts; the table
shows medians over hours.

Goals (grids issue): at least 30x faster than rundcopp for the same answers; LMEs for all
buses within 3x one dispatch.

Hook for other nets (the RTS-GMLC net another module builds): ``--net MODULE:FUNC`` calls
FUNC() and expects a pandapower net, or a (name, net) tuple; it is benchmarked like the
pandapower cases. Quadratic costs are refused by dispatch; ``--linearize`` sets cp2 to 0
for such nets (which changes the problem: say so when you report the figures).
"""
from __future__ import annotations

import argparse
import copy
import datetime as dt
import importlib
import os
import platform
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import highspy  # noqa: E402
import pandapower as pp  # noqa: E402
import pandapower.networks as pn  # noqa: E402

from grids.opf import Dispatcher  # noqa: E402
from tests.test_dispatch import linear_costs  # noqa: E402  (the same cases as the tests)
from tests.test_dispatch import tighten as congested  # noqa: E402

warnings.filterwarnings("ignore")


def rts_gmlc():
    """The RTS-GMLC net (grids.rts_gmlc) at 2020-07-15 12:00, loads from DAY_AHEAD; thermal
    PMin relaxed to 0 (the fleet's committed minimum exceeds load in a third of 2020's
    hours, and an LP dispatch has no unit commitment). Needs the shared data folder."""
    from grids.rts_gmlc import load_rts_gmlc
    from grids.rts_gmlc_series import apply_hour, load_rts_gmlc_series

    root = Path(os.environ.get("COSIM_DATA_DIR", REPO.parent / "shared" / "data")) / "rts-gmlc"
    net = load_rts_gmlc(root, enforce_pmin=False)
    series = load_rts_gmlc_series(root, start="2020-07-15 00:00", hours=24, net=net)
    apply_hour(net, series, 12)
    return "RTS-GMLC 2020-07-15 12:00", net


def day_profile(hours: int) -> np.ndarray:
    """Load scalings 0.75 .. 1.0 with a morning and an evening peak."""
    t = np.arange(hours) % 24
    shape = 0.55 + 0.25 * np.exp(-((t - 9) / 3.0) ** 2) + 0.45 * np.exp(-((t - 19) / 3.0) ** 2)
    return 0.75 + 0.25 * (shape - shape.min()) / (shape.max() - shape.min())


def bench_net(label: str, net, hours: int, repeat: int) -> dict:
    scal = day_profile(hours)
    base_scaling = net.load.scaling.to_numpy(float).copy()
    t0 = time.perf_counter()
    d = Dispatcher(net, name=label)
    build_s = time.perf_counter() - t0
    d_plain = Dispatcher(net, name=label)  # dispatch + LMP only (marginal=False)
    t_ours = np.full((repeat, hours), np.inf)
    t_plain = np.full((repeat, hours), np.inf)
    t_pp = np.full((repeat, hours), np.inf)
    parts = {k: np.full((repeat, hours), np.inf) for k in ("lp", "lme", "validity", "setup", "result")}
    dgen = np.zeros(hours)
    dlmp = np.zeros(hours)
    degenerate = np.zeros(hours, bool)
    pp_failed = np.zeros(hours, bool)
    iters = np.zeros(hours)
    rows_in_lp = 0
    for rep in range(repeat):
        for h, s in enumerate(scal):
            t = time.perf_counter()
            res = d.solve(load_scale=s, hour_label=h)
            t_ours[rep, h] = time.perf_counter() - t
            for k in parts:
                parts[k][rep, h] = res.timings_s[k]
            t = time.perf_counter()
            d_plain.solve(load_scale=s, hour_label=h, marginal=False)
            t_plain[rep, h] = time.perf_counter() - t
            net.load["scaling"] = base_scaling * s
            t = time.perf_counter()
            try:
                pp.rundcopp(net)
            except pp.optimal_powerflow.OPFNotConverged:
                pp_failed[h] = True
                continue
            finally:
                t_pp[rep, h] = min(t_pp[rep, h], time.perf_counter() - t)
            if rep == 0:
                iters[h] = res.simplex_iterations
                diffs = [np.abs(res.gen_p_mw - net.res_gen.p_mw).to_numpy(),
                         np.abs(res.ext_grid_p_mw - net.res_ext_grid.p_mw).to_numpy()]
                if len(net.sgen):
                    diffs.append(np.abs(res.sgen_p_mw - net.res_sgen.p_mw).to_numpy())
                dgen[h] = max(float(np.max(x, initial=0.0)) for x in diffs)
                dlmp[h] = float(np.nanmax(np.abs(res.lmp_usd_per_mwh - net.res_bus.lam_p).to_numpy()))
                degenerate[h] = res.lme_valid_mw.min().min() < 1e-6
        rows_in_lp = len(d._model_rows)
    net.load["scaling"] = base_scaling
    best = lambda a: a.min(axis=0)  # noqa: E731
    med = lambda a: statistics.median(best(a)[~pp_failed]) if (~pp_failed).any() else float("nan")  # noqa: E731
    ok = ~pp_failed
    nondeg = ok & ~degenerate
    out = {
        "label": label,
        "buses": len(net.bus),
        "branches": d.nl,
        "limited": len(d.lim_rows),
        "units": d._U,
        "hours": hours,
        "build_ms": build_s * 1e3,
        "pp_ms": med(t_pp) * 1e3,
        "ours_ms": med(t_ours) * 1e3,
        "plain_ms": med(t_plain) * 1e3,
        "lp_ms": med(parts["lp"]) * 1e3,
        "lme_ms": med(parts["lme"]) * 1e3,
        "validity_ms": med(parts["validity"]) * 1e3,
        "result_ms": med(parts["result"]) * 1e3,
        "setup_ms": med(parts["setup"]) * 1e3,
        "max_dgen": float(dgen[ok].max(initial=0.0)),
        "max_dlmp_nondeg": float(dlmp[nondeg].max(initial=0.0)),
        "max_dlmp_deg": float(dlmp[ok & degenerate].max(initial=0.0)),
        "n_degenerate": int((ok & degenerate).sum()),
        "n_pp_failed": int(pp_failed.sum()),
        "same": bool((dgen[ok] < 1e-3).all() and (dlmp[nondeg] < 1e-2).all()),
        "iters_median": float(np.median(iters[ok])) if ok.any() else float("nan"),
        "rows_in_lp": rows_in_lp,
    }
    out["speedup"] = out["pp_ms"] / out["ours_ms"]
    out["speedup_plain"] = out["pp_ms"] / out["plain_ms"]
    out["lme_vs_dispatch"] = out["lme_ms"] / out["plain_ms"]
    out["marginal_vs_dispatch"] = (out["lme_ms"] + out["validity_ms"]) / out["plain_ms"]
    return out


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f", {kb / 1024 ** 2:.0f} GB"
    except (OSError, ValueError, IndexError):
        pass
    return (f"{cpu}, {os.cpu_count()} cores{mem}; Python {platform.python_version()}, numpy {np.__version__}, "
            f"pandapower {pp.__version__}, HiGHS {highspy.Highs().version()} (highspy)")


def table(rows: list[dict]) -> str:
    lines = [
        "| net | buses / branches (limited) / units | hours | rundcopp ms | ours ms (dispatch+LMP+LME+ranges) "
        "| speedup | ours ms (dispatch+LMP only) | speedup | LP solve ms | LME ms | ranges ms | result objects ms "
        "| LME / dispatch | (LME+ranges) / dispatch | max dP MW | max dLMP USD/MWh | degenerate hours |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['label']} | {r['buses']} / {r['branches']} ({r['limited']}) / {r['units']} | {r['hours']} "
            f"| {r['pp_ms']:.1f} | {r['ours_ms']:.3f} | **{r['speedup']:.0f}x** | {r['plain_ms']:.3f} "
            f"| {r['speedup_plain']:.0f}x | {r['lp_ms']:.3f} | {r['lme_ms']:.3f} | {r['validity_ms']:.3f} "
            f"| {r['result_ms']:.3f} | {r['lme_vs_dispatch']:.2f} | {r['marginal_vs_dispatch']:.2f} "
            f"| {r['max_dgen']:.1e} | {r['max_dlmp_nondeg']:.1e} | {r['n_degenerate']} |")
    return "\n".join(lines)


def verdicts(rows: list[dict]) -> list[str]:
    out = []
    for r in rows:
        met = "met" if r["speedup"] >= 30 else "MISSED"
        out.append(
            f"- {r['label']}: 30x goal {met} ({r['speedup']:.0f}x with LMEs and validity ranges, "
            f"{r['speedup_plain']:.0f}x for dispatch + LMP alone); LMEs for all buses cost "
            f"{r['lme_vs_dispatch']:.2f}x one dispatch (goal <= 3x: {'met' if r['lme_vs_dispatch'] <= 3 else 'MISSED'}), "
            f"LMEs + validity ranges {r['marginal_vs_dispatch']:.2f}x; same answers: "
            f"{'yes' if r['same'] else 'NO'} (max dispatch difference {r['max_dgen']:.1e} MW, max LMP difference "
            f"{r['max_dlmp_nondeg']:.1e} USD/MWh at non-degenerate hours"
            + (f"; {r['n_degenerate']} degenerate hour(s) with LMP difference up to {r['max_dlmp_deg']:.2f}, "
               "see below" if r["n_degenerate"] else "")
            + (f"; rundcopp failed on {r['n_pp_failed']} hour(s)" if r["n_pp_failed"] else "")
            + f"); median simplex iterations per warm-started hour {r['iters_median']:.0f}, "
            f"LP rows after branch-row generation: {r['rows_in_lp']}; build (once per topology) "
            f"{r['build_ms']:.0f} ms.")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=int, default=24)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--net", action="append", default=[], metavar="MODULE:FUNC",
                        help="extra net factory (e.g. the RTS-GMLC builder); repeatable")
    parser.add_argument("--linearize", action="store_true", help="set cp2 = 0 on --net nets")
    parser.add_argument("--no-cases", action="store_true", help="skip the pandapower cases")
    parser.add_argument("--write", metavar="PATH", help="write the Markdown section to PATH")
    args = parser.parse_args()

    nets = []
    if not args.no_cases:
        nets.append(("case118", linear_costs(pn.case118(), 3)))
        nets.append(("case118 congested", congested(linear_costs(pn.case118(), 3))))
    for spec in args.net:
        mod, _, func = spec.partition(":")
        obj = getattr(importlib.import_module(mod), func or "build_net")()
        name, net = obj if isinstance(obj, tuple) else (spec, obj)
        if args.linearize and len(net.poly_cost):
            net.poly_cost["cp2_eur_per_mw2"] = 0.0
        nets.append((name, net))

    info = machine()
    print(f"machine: {info}")
    print(f"{args.hours} hours, best of {args.repeat} passes per hour, medians over hours\n")
    rows = []
    for label, net in nets:
        rows.append(bench_net(label, copy.deepcopy(net), args.hours, args.repeat))
    md = table(rows)
    print(md)
    print()
    for v in verdicts(rows):
        print(v)
    if args.write:
        section = [
            "## Dispatch (`python benchmarks/bench_dispatch.py`, "
            f"{dt.date.today().isoformat()})",
            "",
            f"Machine: {info}. {args.hours} hourly load scalings (0.75-1.0 daily profile); per hour "
            f"the best of {args.repeat} passes; medians over hours. pandapower cases with linear costs "
            "(cp2 = 0, distinct cp1) and emission rates, as in tests/test_dispatch.py; \"congested\" "
            "limits the three most loaded lines to 70% of their unconstrained flow.",
            "",
            md,
            "",
            *verdicts(rows),
        ]
        text = "\n".join(section) + "\n"
        path = Path(args.write)
        old = path.read_text() if path.exists() else ""
        begin, end = "<!-- bench_dispatch:begin -->", "<!-- bench_dispatch:end -->"
        if begin in old and end in old:  # replace the measured block only, keep the notes around it
            head, rest = old.split(begin, 1)
            text = head + begin + "\n" + text + end + rest.split(end, 1)[1]
        else:
            text = begin + "\n" + text + end + "\n"
        path.write_text(text)
        print(f"\nwrote {args.write}")


if __name__ == "__main__":
    main()
