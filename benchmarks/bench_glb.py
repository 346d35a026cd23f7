"""GLB speed on paper10: offline total time against solver time, online per-hour solves.

    python benchmarks/bench_glb.py [--hours 432] [--repeat 3]

Prints a Markdown table for docs/performance.md. Goals (issue 2): offline SE-GLB's total
time within 3x its solver time; the per-hour online solve (10 sites x 10 regions x 3
models) under 20 ms median.
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
import warnings

import numpy as np

from cosim.glb import make_policy, solve_offline, solve_online
from cosim.instance import build_instance
from cosim.scenario_files import load_scenario

warnings.filterwarnings("ignore", category=UserWarning)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=int, default=432)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    scenario = load_scenario("paper10").with_hours(args.hours)
    inst = build_instance(scenario)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"paper10, {args.hours} h, best of {args.repeat}\n")
    print("| policy | mode | solver | total s | solver s | total / solver | per-hour median ms | per-hour p95 ms |")
    print("|---|---|---|---:|---:|---:|---:|---:|")
    for name in scenario.policies:
        policy = make_policy(name, scenario.policy)
        runs = [solve_offline(inst, policy) for _ in range(args.repeat)]
        best = min(runs, key=lambda s: s.total_s)
        print(f"| {name} | offline | {best.solver} | {best.total_s:.2f} | {best.solve_s:.2f} | {best.total_s / best.solve_s:.2f} | | |")
    for name in scenario.policies:
        policy = make_policy(name, scenario.policy)
        tick = time.perf_counter()
        sol = solve_online(inst, policy)
        wall = time.perf_counter() - tick
        hours = sol.hour_solve_s * 1000
        print(
            f"| {name} | online ({sol.algorithm}) | {sol.solver} | {wall:.2f} | {sol.solve_s:.2f} | {wall / sol.solve_s:.2f} "
            f"| {statistics.median(hours):.2f} | {np.percentile(hours, 95):.2f} |"
        )


if __name__ == "__main__":
    main()
