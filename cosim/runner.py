"""Running a scenario's policies: build the inputs, solve each policy, measure it, write it.

This is the whole job of `cosim run` until the Mesa co-simulation takes over the hourly
loop; it stays the entry point for scripts and notebooks.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from cosim.glb import Solution, make_policy, solve_offline, solve_online
from cosim.instance import Instance, build_instance
from cosim.metrics import policy_metrics, relocatable, site_hourly
from cosim.outputs import write_policy, write_summary
from cosim.scenario import Scenario

MODES = ("offline", "online")


def decision_instance(scenario: Scenario, *, data_dir: Path | None = None, source: str | Path = "<scenario>") -> Instance:
    """The inputs policies decide on.

    With signals from the grids, that is the dispatch of a no-relocation baseline (every
    region served at its local site, as the `nearest` policy serves it; DESIGN.md): the
    grids are dispatched once without data centers to run the baseline, then again with
    the baseline's load at the data-center buses.
    """
    inst = build_instance(scenario, data_dir=data_dir, source=source)
    if scenario.signals.source != "grids":
        return inst
    baseline = solve_offline(inst, make_policy("nearest", scenario.policy))
    facility_mw = site_hourly(inst, baseline)["facility_kwh"] / 1000.0  # kWh in one hour = average kW
    dc_load = pd.DataFrame(facility_mw.T, index=inst.times, columns=inst.datacenters)
    return build_instance(scenario, data_dir=data_dir, source=source, dc_load_mw=dc_load)


@dataclass
class RunResult:
    scenario: Scenario
    instance: Instance
    solutions: dict[str, Solution] = field(default_factory=dict)
    metrics: dict[str, dict] = field(default_factory=dict)


def run_scenario(
    scenario: Scenario,
    *,
    policies: list[str] | None = None,
    mode: str = "offline",
    online_algorithm: str | None = None,
    data_dir: Path | None = None,
    source: str | Path = "<scenario>",
    out: Path | None = None,
    on_policy: Callable[[str], None] | None = None,
) -> RunResult:
    """Solve every policy of *scenario* (or *policies*) and, with *out*, write the outputs.

    Online runs also solve the offline problem, so each policy reports its
    online-to-offline objective ratio (>= 1 up to solver tolerance).
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}")
    inst = decision_instance(scenario, data_dir=data_dir, source=source)
    result = RunResult(scenario, inst)
    for name in policies or scenario.policies:
        if on_policy:
            on_policy(name)
        policy = make_policy(name, scenario.policy)
        if mode == "offline":
            sol = solve_offline(inst, policy)
            metrics = policy_metrics(inst, sol)
        else:
            sol = solve_online(inst, policy, online_algorithm)
            offline = solve_offline(inst, policy)
            metrics = policy_metrics(inst, sol)
            metrics["online"] = {
                "algorithm": sol.algorithm,
                "objective_usd": sol.objective_usd,
                "offline_objective_usd": offline.objective_usd,
                "online_to_offline_ratio": sol.objective_usd / offline.objective_usd if offline.objective_usd else None,
                "hour_solve_ms_median": float(1000 * np.median(sol.hour_solve_s)),
            }
        result.solutions[name] = sol
        result.metrics[name] = metrics
        if out is not None:
            write_policy(out, inst, sol)
    if out is not None:
        write_summary(
            out, scenario.name, result.metrics,
            mode=mode, hours=len(inst.times), start=inst.times[0].isoformat(), seed=scenario.seed,
            signals=scenario.signals.source, tiers=list(inst.tiers), relocatable=relocatable(inst),
            notes=list(inst.notes),
        )
    return result

