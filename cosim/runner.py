"""Running a scenario: build the decision inputs, run every policy through the
co-simulation (cosim.cosimulation), measure it and write the output contract.

Offline policies are solved on the signals of a no-relocation baseline dispatch and
replayed through the grids; online policies decide hour by hour on what the grids
publish (the coupling). Every run also co-simulates the no-relocation policy (`nearest`)
the same way, as the baseline of predicted and realized savings. Without grids (signals
from a file or the synthetic generator) the loop runs open, with no feedback.
"""
from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from agents.grid import WithoutDataCenters
from cosim.accounting import grid_feedback
from cosim.cosimulation import CoSimulation, Herding, Market
from cosim.errors import InputError
from cosim.glb import Solution, make_policy, objective_terms, solve_offline
from cosim.glb.formulation import ALLOCATION_THRESHOLD
from cosim.grid_plan import RunGrids
from cosim.hourly_log import HourlyLog
from cosim.instance import Instance, build_instance
from cosim.metrics import policy_metrics, relocatable, site_hourly
from cosim.options import RunOptions
from cosim.outputs import write_policy, write_summary
from cosim.run_warnings import attributed
from cosim.scenario import Scenario

BASELINE = "nearest"
NO_HERDING_CONTROL = Herding()


def decision_instance(scenario: Scenario, *, data_dir: Path | None = None, source: str | Path | None = None,
                      ai_share: float | None = None, strict: bool = False, grids: RunGrids | None = None) -> Instance:
    """The inputs policies decide on.

    With signals from the grids, that is the dispatch of a no-relocation baseline (every
    user served at its local site, as the `nearest` policy serves it; DESIGN.md): the
    grids are dispatched once without data centers to run the baseline, then again with
    the baseline's load at the data-center buses. *ai_share* scales requests and capacity
    so that the baseline's data-center load is that share of the grids' own demand, and
    the social weight with the requests (`Instance.scaled`). *strict*: refuse implausible
    values (`build_instance`). *grids*: the scenario's grids built once for the run
    (cosim.grid_plan.RunGrids; default: built here), shared by both passes.
    """
    source = scenario.source_file if source is None else source
    if grids is None and scenario.signals.source == "grids":
        grids = RunGrids(scenario, data_dir=data_dir, source=source)
    inst = build_instance(scenario, data_dir=data_dir, source=source, strict=strict, grids=grids)
    if scenario.signals.source != "grids":
        if ai_share is not None:
            raise InputError("--ai-share", f"{ai_share:g}", "needs simulated grids (signals: grids)")
        return inst
    facility_mw = _baseline_facility_mw(inst, scenario)
    if ai_share is not None:
        dc_factor = _ai_share_factors(scenario, inst, facility_mw, ai_share, grids)
        user_factor = np.where(inst.local >= 0, dc_factor[inst.local], dc_factor.mean())
        inst, facility_mw = inst.scaled(user_factor, dc_factor), facility_mw * dc_factor[:, None]
    dc_load = pd.DataFrame(facility_mw.T, index=inst.times, columns=inst.datacenters)
    grid_inst = build_instance(scenario, data_dir=data_dir, source=source, dc_load_mw=dc_load, strict=strict,
                               grids=grids)
    return replace(grid_inst, demand=inst.demand, capacity=inst.capacity, weights=inst.weights)


def _baseline_facility_mw(inst: Instance, scenario: Scenario) -> np.ndarray:
    baseline = solve_offline(inst, make_policy(BASELINE, scenario.policy))
    return site_hourly(inst, baseline)["facility_kwh"] / 1000.0  # kWh in one hour = average kW


def _ai_share_factors(scenario: Scenario, inst: Instance, facility_mw: np.ndarray, share: float,
                      grids: RunGrids) -> np.ndarray:
    """(N,) scale of each data center (and of the users it serves locally) so that, in the
    no-relocation baseline, the data centers on each grid draw *share* of that grid's own
    mean demand."""
    sites = [dc.site for dc in scenario.datacenters]
    plan = grids.plan
    background = {rg.name: float(rg.hourly(inst.times[0], len(inst.times)).load_mw.sum(axis=1).mean())
                  for rg in grids.grids}
    grid_of = np.array([plan.grid_of()[s] for s in sites])
    factor = np.ones(len(sites))
    for grid, demand_mw in background.items():
        at = grid_of == grid
        drawn = facility_mw[at].sum(axis=0).mean()
        if drawn > 0:
            factor[at] = share * demand_mw / drawn
    return factor


@dataclass
class RunResult:
    scenario: Scenario
    instance: Instance  # the decision instance
    solutions: dict[str, Solution] = field(default_factory=dict)
    metrics: dict[str, dict] = field(default_factory=dict)
    models: dict[str, CoSimulation] = field(default_factory=dict)
    baseline_metrics: dict | None = None  # the `nearest` baseline's METRICS, where grids are simulated
    timings: dict = field(default_factory=dict)  # summary.json `timings` (docs/outputs.md)


def provenance(scenario: Scenario, source: str | Path, command_line: str | None = None) -> dict:
    """summary.json's `provenance`: what produced a run. gridshift's installed version, the
    scenario file as given, the SHA-256 of the scenario as run (its JSON after --hours and
    --start: two runs with equal digests ran the same scenario), its seed, the command line
    (sys.argv as given, shell-quoted; null when not run from a command) and the UTC time
    the summary was written (ISO 8601)."""
    try:
        version = importlib.metadata.version("gridshift")
    except importlib.metadata.PackageNotFoundError:
        version = None
    return {
        "gridshift_version": version,
        "scenario_file": str(source),
        "scenario_sha256": hashlib.sha256(scenario.model_dump_json().encode()).hexdigest(),
        "seed": scenario.seed,
        "command_line": command_line,
        "written_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def run_scenario(
    scenario: Scenario,
    *,
    policies: list[str] | None = None,
    mode: str = "offline",
    online_algorithm: str | None = None,
    coupling: str | None = None,
    ai_share: float | None = None,
    operators: int = 1,
    herding: Herding = NO_HERDING_CONTROL,
    elasticity: float | None = None,
    strict: bool = False,
    data_dir: Path | None = None,
    source: str | Path | None = None,
    out: Path | None = None,
    on_policy: Callable[[str], None] | None = None,
    on_hour: Callable[[], None] | None = None,
    label: str | None = None,
    command_line: str | None = None,
    offline_method: str = "monolithic",
    workers: int | None = None,
    scheduler: str | None = None,
    client=None,
) -> RunResult:
    """Co-simulate every policy of *scenario* (or *policies*) and, with *out*, write the outputs.

    The options are those of cosim.options.RunOptions (checked there: InputError naming
    the option): coupling open | lagged | iterate (online only; default lagged with grids,
    else open); elasticity: users' price elasticity (default: the scenario's
    demand.price_elasticity); strict: a value outside its plausible range
    (cosim.plausibility) is refused before anything is written. Online runs with open
    coupling also solve the offline problem, so each policy reports its online-to-offline
    objective ratio (>= 1 up to solver tolerance). *label* names the run in the warnings
    raised while it runs (default: the scenario's name; cosim.run_warnings):
    ``LABEL: policy P, hour H: ...``. *command_line* is recorded in the provenance.
    *offline_method*: monolithic or decomposed (cosim.glb.offline); a decomposed solve runs
    its hours on *client* (a dask.distributed Client) when given, else on a LocalCluster of
    *workers* processes or the Dask *scheduler* opened for the run (cosim.batch.dask_client),
    else serially.
    """
    started = time.perf_counter()
    dispatched = _dispatch_totals()
    source = scenario.source_file if source is None else source
    grids_on = scenario.signals.source == "grids"
    run_label = scenario.name if label is None else label
    options = RunOptions(
        policies=None if policies is None else tuple(policies), mode=mode, coupling=coupling,
        online_algorithm=online_algorithm, ai_share=ai_share, operators=operators, damping=herding.damping,
        max_shift=herding.max_shift, sequential=herding.sequential, elasticity=elasticity, strict=strict,
        offline_method=offline_method, workers=workers, scheduler=scheduler,
    ).checked(grids=grids_on)
    with _hours_client(options, client) as hours_client:
        return _run(scenario, options, herding=herding, data_dir=data_dir, source=source, out=out, on_policy=on_policy,
                    on_hour=on_hour, run_label=run_label, command_line=command_line, client=hours_client,
                    started=started, dispatched=dispatched)


@contextlib.contextmanager
def _hours_client(options: RunOptions, client):
    """The Dask client of a decomposed solve's hours: *client* when given, else a
    LocalCluster of options.workers processes or options.scheduler's (cosim.batch, imported
    here: dask.distributed loads only when asked for), else None (serial)."""
    if client is not None or options.offline_method != "decomposed" or (options.workers is None and options.scheduler is None):
        yield client
        return
    from cosim.batch import dask_client

    with dask_client(workers=options.workers or 1, scheduler=options.scheduler) as opened:
        yield opened


def _run(scenario: Scenario, options: RunOptions, *, herding: Herding, data_dir: Path | None, source: str | Path,
         out: Path | None, on_policy: Callable[[str], None] | None, on_hour: Callable[[], None] | None, run_label: str,
         command_line: str | None, client, started: float, dispatched: dict) -> RunResult:
    """run_scenario with its options checked (*started*, *dispatched*: its clock and dispatch
    counters at the start)."""
    grids_on = scenario.signals.source == "grids"
    operators, online_algorithm = options.operators, options.online_algorithm
    ai_share, elasticity = options.ai_share, options.elasticity
    mode, coupling = options.mode, options.coupling
    d = scenario.demand
    market = Market(discounts=tuple(t.discount for t in scenario.tiers), list_price_usd_per_request=d.list_price_usd_per_request,
                    elasticity=d.price_elasticity if elasticity is None else elasticity, tier_sensitivity=d.tier_sensitivity)
    built = RunGrids(scenario, data_dir=data_dir, source=source) if grids_on else None
    inst = decision_instance(scenario, data_dir=data_dir, source=source, ai_share=ai_share, strict=options.strict,
                             grids=built)
    sites = [dc.site for dc in scenario.datacenters]
    without = WithoutDataCenters()  # the same for every policy: dispatched once per hour

    def grids() -> list:
        return [] if built is None else built.grids  # each run gets fresh dispatchers (RegionGrid.for_hours)

    def simulate(name: str) -> tuple[CoSimulation, Solution | None]:
        policy = make_policy(name, scenario.policy)
        with attributed(f"{run_label}: policy {name}, offline horizon"):
            plan = solve_offline(inst, policy, options.offline_method, client=client) if mode == "offline" else None
        model = CoSimulation(inst, sites, policy, grids=grids(), coupling=coupling,
                             operators=operators, herding=herding, plan=plan, online_algorithm=online_algorithm,
                             market=market, seed=scenario.seed, without=without, label=run_label)
        model.run(on_hour)
        return model, plan

    result = RunResult(scenario, inst)
    names = list(options.policies or scenario.policies)
    baseline, baseline_plan = None, None
    if grids_on:
        if on_policy:
            on_policy(f"{BASELINE} (baseline)")
        baseline, baseline_plan = simulate(BASELINE)
    def measure(model: CoSimulation, plan: Solution | None) -> tuple[Instance, Instance, Solution, dict]:
        seen, realized = model.log.instances(inst)
        sol = model.solution(plan)
        sol.objective_usd = (plan.objective_usd if plan is not None
                             else objective_terms(seen, sol.policy, sol.arcs, sol.x, sol.u)["total_usd"])
        metrics = policy_metrics(realized, sol)
        if grids_on:
            metrics["grid_feedback"] = grid_feedback(model.log, baseline.log, baseline=BASELINE, ai_share_requested=ai_share)
        metrics["demand_response"] = _demand_response(inst, model.log, market)
        if plan is not None:
            metrics["offline"] = {"method": plan.method, "iterations": plan.iterations, "gap": plan.gap}
        return seen, realized, sol, metrics

    plans: dict[str, Solution | None] = {}
    for name in names:
        if on_policy:
            on_policy(name)
        model, plan = (baseline, baseline_plan) if name == BASELINE and baseline is not None and mode == "offline" else simulate(name)
        plans[name] = plan
        seen, realized, sol, metrics = measure(model, plan)
        if mode == "online" and coupling == "open" and not market.responsive:
            offline = solve_offline(inst, make_policy(name, scenario.policy))
            metrics["online"] = {
                "algorithm": sol.algorithm,
                "objective_usd": sol.objective_usd,
                "offline_objective_usd": offline.objective_usd,
                "online_to_offline_ratio": sol.objective_usd / offline.objective_usd if offline.objective_usd else None,
            }
        result.solutions[name], result.metrics[name], result.models[name] = sol, metrics, model
        if out is not None:
            write_policy(out, seen, sol, realized=realized if grids_on else None)
    if baseline is not None:
        same = result.models.get(BASELINE) is baseline
        result.baseline_metrics = result.metrics[BASELINE] if same else measure(baseline, baseline_plan)[3]
    timings = _timings(started, dispatched, result, plans, baseline, baseline_plan)
    if out is not None:
        write_summary(
            out, scenario.name, result.metrics,
            mode=mode, coupling=coupling, hours=len(inst.times), start=inst.times[0].isoformat(), seed=scenario.seed,
            signals=scenario.signals.source, tiers=list(inst.tiers), relocatable=relocatable(inst),
            notes=list(inst.notes),
            ai_share=None if ai_share is None else {"requested": ai_share,
                                                    "social_weight_usd": inst.weights.social_weight_usd},
            baseline=None if baseline is None else {"policy": BASELINE, "metrics": result.baseline_metrics},
            options=options.model_dump(mode="json"),
            provenance=provenance(scenario, source, command_line),
            timings=timings,
            allocation_threshold=ALLOCATION_THRESHOLD,
        )
    result.timings = timings
    return result


def _dispatch_totals() -> dict[str, float]:
    """The process's dispatch counters (grids.opf.dispatch_totals); zeros when pandapower
    was never needed (signals not from grids)."""
    import sys

    opf = sys.modules.get("grids.opf")
    return opf.dispatch_totals() if opf is not None else {"solves": 0, "lp_s": 0.0}


def _timings(started: float, dispatched: dict, result: RunResult, plans: dict[str, Solution | None],
             baseline: CoSimulation | None, baseline_plan: Solution | None) -> dict:
    """summary.json ``timings`` (docs/outputs.md): the whole run's wall time, GLB solver
    time of every plan and hourly decision, HiGHS time and count of every dispatch (the
    decision instance's included), the count of GLB decisions, and per policy (and the
    baseline) the same figures of its co-simulation."""
    now = _dispatch_totals()
    per_policy = {name: model.timings(plans[name]) for name, model in result.models.items()}
    runs = list(per_policy.values())
    if baseline is not None and result.models.get(BASELINE) is not baseline:
        per_policy[f"{BASELINE} (baseline)"] = baseline.timings(baseline_plan)
        runs.append(per_policy[f"{BASELINE} (baseline)"])
    return {"wall_s": time.perf_counter() - started,
            "glb_solver_s": float(sum(r["glb_solver_s"] for r in runs)),
            "dispatch_solver_s": float(now["lp_s"] - dispatched["lp_s"]),
            "dispatch_count": int(now["solves"] - dispatched["solves"]),
            "decisions": int(sum(r["decisions"] for r in runs)),
            "per_policy": per_policy}


def _demand_response(inst: Instance, log: HourlyLog, market: Market) -> dict:
    """Users' answer to the price of inference, kept apart from grid feedback: requests in
    all and per tier, against the trace or profile."""
    base, realized = float(inst.demand.sum()), float(log.demand.sum())
    per_tier = {tier: {"requests_base": float(inst.demand[inst.user_tier == t].sum()),
                       "requests_realized": float(log.demand[inst.user_tier == t].sum())}
                for t, tier in enumerate(inst.tiers)}
    return {"elasticity": market.elasticity, "tier_sensitivity": market.tier_sensitivity,
            "requests_base": base, "requests_realized": realized,
            "requests_added_share": realized / base - 1.0 if base > 0 else 0.0, "per_tier": per_tier,
            "unserved_over_plan_capacity_requests": float(log.replay_unserved.sum())}
