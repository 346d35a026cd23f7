"""Peak memory of a run's bookkeeping against arcs x hours: the hourly log, the Solution,
objective_terms, the metrics and the three Parquet tables, on a synthetic instance.

    python benchmarks/bench_memory.py [--sites 100] [--users 100] [--models 3]
                                      [--hours 250,500,1000,2000] [--per-user 2]

Every arc is feasible (A = sites x users x models); each user-hour sends its demand to
--per-user random arcs of its own (the sparsity of a cleaned LP or conic decision). Each
horizon runs in a fresh subprocess; the table gives the peak resident memory of that
process above what it held once the instance was built (ru_maxrss), the tracemalloc peak
of the same phase (numpy and Python objects; not Arrow's buffers), the time to fill the
log (the random decisions included) and the time of everything after it. No
solver and no grid run: this is the part that held dense (A, T) arrays before issue 15.
Run it with another checkout on PYTHONPATH to measure that one.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd

from agents.hour import Decision, HourRecord
from cosim.glb import make_arcs, objective_terms
from cosim.glb.formulation import Solution
from cosim.glb.policies import Policy
from cosim.hourly_log import HourlyLog
from cosim.instance import Instance
from cosim.metrics import policy_metrics
from cosim.outputs import write_policy
from cosim.policy import PolicyWeights


def synthetic(n: int, j: int, k: int, t: int, seed: int = 0) -> Instance:
    """n sites, j users (one per region), k models, t hours, every arc feasible."""
    rng = np.random.default_rng(seed)
    return Instance(
        name="bench-memory", times=pd.date_range("2023-01-01", periods=t, freq="h", tz="UTC", name="time"),
        datacenters=[f"dc{i}" for i in range(n)], regions=[f"r{i}" for i in range(j)], models=[f"m{i}" for i in range(k)],
        demand=rng.uniform(1e3, 1e4, (j, t)), price_usd_per_mwh=rng.uniform(20, 200, (n, t)),
        carbon_kg_per_kwh=rng.uniform(0.05, 0.8, (n, t)), wue_l_per_kwh=rng.uniform(0.1, 5.0, (n, t)),
        pue=np.full(n, 1.2), capacity=np.full(n, 1e9), energy_kwh_per_request=np.linspace(0.001, 0.004, k),
        resources_per_request=np.linspace(1.0, 4.0, k), quality_score=np.linspace(50.0, 70.0, k),
        hosted=np.ones((n, k), dtype=bool), mask=np.ones((j, n), dtype=bool), distance_km=rng.uniform(0, 9000, (j, n)),
        local=np.arange(j) % n,
        weights=PolicyWeights(mu_carbon_usd_per_t=150.0, mu_water_usd_per_m3=6.0, social_weight_usd=2.0),
    )


def one(n: int, j: int, k: int, t: int, per_user: int) -> dict:
    """Fill a log hour by hour, then what `cosim run` does with it; the figures of that phase."""
    inst = synthetic(n, j, k, t)
    policy = Policy("se-glb", q_social=2.0, q_env=2.0)
    arcs = make_arcs(inst, policy)
    by_user = np.stack([np.flatnonzero(arcs.j == user) for user in range(j)])  # (J, N K) each user's arcs
    users = np.arange(j)[:, None]
    rng = np.random.default_rng(1)
    base_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tracemalloc.start()
    started = time.perf_counter()
    log = HourlyLog.empty(inst, len(arcs), (), coupling="open", operators=1, iterate_tol=1e-3)
    for hour in range(t):
        x = np.zeros(len(arcs))
        first = rng.integers(0, by_user.shape[1], (j, 1))  # per_user distinct arcs of each user, at random
        x[by_user[users, (first + np.arange(per_user)[None, :] * 7) % by_user.shape[1]]] = 1.0 / per_user
        log.record(hour, HourRecord(demand=inst.demand[:, hour], decision=Decision(
            x=x, u=np.zeros(j), facility_mw=np.zeros(n), choices=()), seen=None, realized=None))
    logged_s = time.perf_counter() - started
    sol = Solution(policy=policy, arcs=arcs, x=log.x, u=log.u, mode="online", algorithm="bench", solver="none",
                   objective_usd=float("nan"), solve_s=0.0, total_s=0.0, fallback_hours=[])
    seen, realized = log.instances(inst)
    sol.objective_usd = objective_terms(seen, policy, arcs, sol.x, sol.u)["total_usd"]
    metrics = policy_metrics(realized, sol)
    with tempfile.TemporaryDirectory() as tmp:
        folder = write_policy(Path(tmp), seen, sol, realized=realized)
        parquet_mb = sum(p.stat().st_size for p in folder.iterdir()) / 1e6
    wall_s = time.perf_counter() - started
    _, traced = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    nnz = int(sol.x.nnz) if hasattr(sol.x, "nnz") else int(np.count_nonzero(sol.x))
    return {"arcs": len(arcs), "hours": t, "nnz": nnz, "dense_x_mb": len(arcs) * t * 8 / 1e6,
            "rss_above_mb": (peak_kb - base_kb) / 1024, "rss_peak_mb": peak_kb / 1024, "traced_mb": traced / 1e6,
            "log_s": logged_s, "wall_s": wall_s, "parquet_mb": parquet_mb,
            "served": metrics["served_requests"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sites", type=int, default=100)
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--models", type=int, default=3)
    parser.add_argument("--hours", default="250,500,1000,2000")
    parser.add_argument("--per-user", type=int, default=2)
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # a child: one horizon, JSON out
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(args.sites, args.users, args.models, args.one, args.per_user)))
        return
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"{args.sites} sites x {args.users} users x {args.models} models, {args.per_user} arcs per user-hour\n")
    print("| arcs | hours | stored x | dense x would be MB | peak RSS above instance MB | tracemalloc peak MB | "
          "log s | after s | Parquet MB |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for hours in (int(h) for h in args.hours.split(",")):
        argv = [sys.executable, __file__, "--sites", str(args.sites), "--users", str(args.users), "--models",
                str(args.models), "--per-user", str(args.per_user), "--one", str(hours)]
        proc = subprocess.run(argv, capture_output=True, text=True)
        if proc.returncode != 0:
            print(f"| {args.sites * args.users * args.models} | {hours} | failed: {proc.stderr.strip().splitlines()[-1]} |")
            continue
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        print(f"| {r['arcs']:,} | {r['hours']:,} | {r['nnz']:,} | {r['dense_x_mb']:,.0f} | {r['rss_above_mb']:,.0f} | "
              f"{r['traced_mb']:,.0f} | {r['log_s']:.1f} | {r['wall_s'] - r['log_s']:.1f} | {r['parquet_mb']:.1f} |", flush=True)


if __name__ == "__main__":
    main()
