"""The hourly GLB problems in the solvers' own form against the cvxpy reference.

    python benchmarks/bench_glb_native.py [--hours 432] [--reference-hours 48] [--large 100] [--large-hours 12]

1. paper10 (10 x 10 x 3), online, every policy: per-hour median and p95 of the whole
   decision (coefficients, update, solve) and the seconds in the solver, native against
   reference (the reference on its first --reference-hours hours only, to keep it short).
2. paper10 se-glb online over --hours with the instance's own signals: fallback hours of
   each backend and the objectives.
3. A synthetic N x N x 3 instance (--large N, e.g. 100; 0 skips it): the native SE-GLB and
   cost-glb per-hour medians over --large-hours hours, and the process's peak RSS.

Prints Markdown tables. Machine-dependent: run on the project's 2-core machine.
"""
from __future__ import annotations

import argparse
import math
import resource
import statistics
import time
import warnings

import numpy as np
import pandas as pd

from cosim.glb import make_policy
from cosim.glb.online import OnlineSolver, solve_online
from cosim.glb.policies import Policy
from cosim.instance import Instance, build_instance
from cosim.policy import PolicyWeights
from cosim.scenario_files import load_scenario

warnings.filterwarnings("ignore", category=UserWarning)


def _hours(inst: Instance, policy: Policy, backend: str, hours: int, **options) -> tuple[np.ndarray, np.ndarray, int]:
    """Per-hour decision seconds, solver seconds, fallback count over the first *hours*."""
    tick = time.perf_counter()
    solver = OnlineSolver(inst, policy, backend=backend, **options)
    build_s = time.perf_counter() - tick
    wall, in_solver, fallbacks = [], [], 0
    for t in range(hours):
        before = solver.solve_s
        tick = time.perf_counter()
        choice = solver.decide(t, inst.window(t, t + 1))
        solver.commit(choice)
        wall.append(time.perf_counter() - tick)
        in_solver.append(solver.solve_s - before)
        fallbacks += bool(choice.fallback)
    return np.array(wall) * 1000, np.array(in_solver) * 1000, fallbacks, build_s


def _row(label: str, wall: np.ndarray, in_solver: np.ndarray, fallbacks: int, build_s: float) -> str:
    return (f"| {label} | {len(wall)} | {build_s:.2f} | {statistics.median(wall):.2f} | {np.percentile(wall, 95):.2f} "
            f"| {statistics.median(in_solver):.2f} | {fallbacks} |")


def synthetic(n: int, j: int, k: int, t: int, seed: int = 1) -> Instance:
    """A random n sites x j regions x k models instance, 75 % of the site-region pairs allowed,
    capacity binding at the peak; paper10's weights (q_social = q_env = 4)."""
    rng = np.random.default_rng(seed)
    demand = rng.uniform(5e3, 5e4, (j, t)) * (1 + 0.5 * np.sin(np.arange(t) * 2 * math.pi / 24))[None, :]
    energy = np.array([0.5, 1.0, 2.0])[:k] * 1e-3
    resources = energy * 1e3
    mask = rng.uniform(size=(j, n)) < 0.75
    local = np.arange(j) % n
    mask[np.arange(j), local] = True
    lat = rng.uniform(-50, 50, n), rng.uniform(-120, 120, n)
    distance = rng.uniform(100, 9000, (j, n))
    distance[np.arange(j), local] = 50.0
    capacity = rng.uniform(0.7, 1.3, n) * 1.1 * demand.sum(axis=0).max() * resources.mean() / n
    del lat
    return Instance(
        name=f"synthetic-{n}x{j}x{k}", times=pd.date_range("2025-01-01", periods=t, freq="h", tz="UTC", name="time"),
        datacenters=[f"dc{i}" for i in range(n)], regions=[f"r{i}" for i in range(j)],
        models=[f"m{i}" for i in range(k)], demand=demand,
        price_usd_per_mwh=rng.uniform(10, 200, (n, t)), carbon_kg_per_kwh=rng.uniform(0.02, 0.9, (n, t)),
        wue_l_per_kwh=rng.uniform(0.1, 5.0, (n, t)), pue=rng.uniform(1.05, 1.5, n), capacity=capacity,
        energy_kwh_per_request=energy, resources_per_request=resources,
        quality_score=np.array([55.0, 65.0, 75.0])[:k], hosted=rng.uniform(size=(n, k)) < 0.9,
        mask=mask, distance_km=distance, local=local,
        weights=PolicyWeights(mu_carbon_usd_per_t=150.0, mu_water_usd_per_m3=6.0, social_weight_usd=20.0,
                              moving_cost_usd_per_request_per_1000km=1e-5, q_social=4.0, q_env=4.0),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=int, default=432)
    parser.add_argument("--reference-hours", type=int, default=48)
    parser.add_argument("--large", type=int, default=0, help="N for the synthetic N x N x 3 instance (0: skip)")
    parser.add_argument("--large-hours", type=int, default=12)
    args = parser.parse_args()

    scenario = load_scenario("paper10").with_hours(args.hours)
    inst = build_instance(scenario)
    print(f"paper10 ({len(inst.datacenters)} x {len(inst.regions)} x {len(inst.models)}), online\n")
    print("| policy / backend | hours | build s | per-hour median ms | p95 ms | in solver median ms | fallbacks |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name in ("cost-glb", "all-glb", "nearest", "min-price", "e-glb", "se-glb"):
        policy = make_policy(name, scenario.policy)
        for backend in ("native", "reference"):
            hours = min(args.reference_hours, args.hours) if backend == "reference" else args.hours
            print(_row(f"{name} {backend}", *_hours(inst, policy, backend, hours)), flush=True)

    print(f"\npaper10 se-glb online over {args.hours} h, solve_online\n")
    print("| backend | fallback hours | objective USD | total s | solver s |")
    print("|---|---:|---:|---:|---:|")
    policy = make_policy("se-glb", scenario.policy)
    for backend in ("native", "reference"):
        sol = solve_online(inst, policy, backend=backend)
        print(f"| {backend} | {len(sol.fallback_hours)} {sol.fallback_hours[:12]} | {sol.objective_usd:,.2f} "
              f"| {sol.total_s:.2f} | {sol.solve_s:.2f} |", flush=True)

    if args.large:
        big = synthetic(args.large, args.large, 3, args.large_hours)
        print(f"\nsynthetic {args.large} x {args.large} x 3, native, {args.large_hours} h\n")
        print("| policy | arcs | hours | build s | per-hour median ms | p95 ms | in solver median ms | fallbacks |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|")
        for name in ("cost-glb", "se-glb"):
            policy = make_policy(name, big.weights)
            wall, in_solver, fallbacks, build_s = _hours(big, policy, "native", args.large_hours)
            arcs = int(big.feasible.sum())
            print(f"| {name} | {arcs} | {len(wall)} | {build_s:.2f} | {statistics.median(wall):.1f} "
                  f"| {np.percentile(wall, 95):.1f} | {statistics.median(in_solver):.1f} | {fallbacks} |", flush=True)
        print(f"\npeak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
