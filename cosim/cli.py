"""The `cosim` command.

Exit codes: 0 success; 2 bad input (one line: file: field or row: reason); 1 internal error.
"""
from __future__ import annotations

import contextlib
import os
import shlex
import sys
import warnings
from pathlib import Path
from typing import Annotated

import typer
from rich import box
from rich.console import Console
from rich.measure import Measurement
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from cosim import world as world_
from cosim.errors import InputError, SolverInputError
from cosim.formatting import number as _number
from cosim.formatting import row_numbers as _row
from cosim.options import COUPLINGS, MODES, OFFLINE_METHODS, RunOptions, check_policies
from cosim.paths import default_out
from cosim.policy import ALGORITHMS, POLICY_NAMES
from cosim.progress import log_progress_lines
from cosim.progress import progress as progress_line
from cosim.terminal import safe as escape  # every name reaching the console: control characters and markup escaped
from cosim.terminal import visible

# The heavy modules (the runner: pandapower, cvxpy, the GLB solvers; the instance builder;
# pandas) are imported inside the commands that use them, so `cosim --help`, `cosim report`
# and the like do not pay for them (docs/performance.md).

DEFAULT_SCENARIO = "paper10"
"""cosim.scenario_files.DEFAULT_SCENARIO, repeated here: that module loads pandas (tests/test_cli.py holds them equal)."""

app = typer.Typer(add_completion=False, no_args_is_help=True, help="gridshift: geo-distributed AI inference and power grids.")
console = Console(emoji=False)  # no `:name:` of an input becomes an emoji; names are escaped (cosim.terminal)
err_console = Console(stderr=True, emoji=False)

ScenarioArg = Annotated[str, typer.Argument(help="Scenario YAML file, or the name of a shipped scenario.")]
DataDirOpt = Annotated[
    Path | None,
    typer.Option("--data-dir", help="Folder holding external datasets (default: $COSIM_DATA_DIR)."),
]
AllowOutsideOpt = Annotated[bool, typer.Option(
    "--allow-outside-paths",
    help="Let the scenario name files outside the data dir and its own folder (`..`, absolute paths, symlinks "
         "leading elsewhere) and extend scenarios outside its folder (docs/scenarios.md, Paths).")]
StrictOpt = Annotated[bool, typer.Option("--strict", help="Refuse (exit 2) a value outside its plausible range instead of warning (docs/scenarios.md, Plausibility checks).")]


def _scenario(scenario: str, allow_outside: bool):
    """The scenario's path and its parsed Scenario (cosim.scenario_files, imported here: pandas)."""
    from cosim.scenario_files import load_scenario, resolve_scenario_path

    path = resolve_scenario_path(scenario)
    return path, load_scenario(path, allow_outside=allow_outside)


def _choices(values: tuple[str, ...]) -> str:
    """An option's metavar listing its choices, `[offline|online]`: the help shows them, the
    values are still checked by cosim.options (InputError, exit 2, one line)."""
    return f"[{'|'.join(values)}]"


@app.command()
def run(
    scenario: ScenarioArg = DEFAULT_SCENARIO,
    policy: Annotated[list[str] | None, typer.Option("--policy", "-p", help=f"Policy to run (repeatable): {', '.join(POLICY_NAMES)}.")] = None,
    hours: Annotated[int | None, typer.Option(min=1, help="Run only the first N hours.")] = None,
    start: Annotated[str | None, typer.Option(help="Start at this UTC hour instead of the scenario's (ISO 8601, e.g. 2022-07-11T00:00Z).")] = None,
    mode: Annotated[str, typer.Option(metavar=_choices(MODES), help=f"{' or '.join(MODES)}: full-horizon optimum replayed through the grids, or hour by hour.")] = "offline",
    coupling: Annotated[str | None, typer.Option(metavar=_choices(COUPLINGS), help=f"Online only: {', '.join(COUPLINGS)} (default lagged with grids).")] = None,
    ai_share: Annotated[float | None, typer.Option(help="Scale requests, capacity and the social weight so the no-relocation baseline draws this share of each grid's demand (e.g. 0.1).")] = None,
    operators: Annotated[int, typer.Option(min=1, help="Operators sharing every site and user equally.")] = 1,
    damping: Annotated[float, typer.Option(min=0.0, help="Online: switching cost on moving demand between hours (x the hour's typical arc cost).")] = 0.0,
    max_shift: Annotated[float | None, typer.Option(min=0.0, max=1.0, help="Online: most of a user's demand served away from home.")] = None,
    sequential: Annotated[bool, typer.Option(help="Online, lagged coupling only: each operator sees the grid after the previous ones moved.")] = False,
    elasticity: Annotated[float | None, typer.Option(min=0.0, help="Users' price elasticity of demand (default: the scenario's).")] = None,
    online_algorithm: Annotated[str | None, typer.Option(help=f"Online only: {', '.join(ALGORITHMS)} (default per policy).")] = None,
    offline_method: Annotated[str, typer.Option(metavar=_choices(OFFLINE_METHODS), help="Offline plans: one problem (monolithic), or column generation over hours to a 1e-5 gap (decomposed: for long horizons).")] = "monolithic",
    workers: Annotated[int | None, typer.Option(help="Decomposed only: run the hours on a local Dask cluster of N worker processes (default: serially).")] = None,
    scheduler: Annotated[str | None, typer.Option(help="Decomposed only: run the hours on an existing Dask cluster, tcp://host:port.")] = None,
    data_dir: DataDirOpt = None,
    out: Annotated[Path | None, typer.Option(help="Output folder (default: cosim-out/<scenario name>).")] = None,
    strict: StrictOpt = False,
    report: Annotated[bool, typer.Option("--report/--no-report", help="Draw DIR/figures/*.png and DIR/report.html after the run (--no-report: skip them, faster).")] = True,
    allow_outside_paths: AllowOutsideOpt = False,
) -> None:
    """Co-simulate the scenario's policies with the grids, write the output contract and print
    the Table-1 comparison (and the grid feedback where grids are simulated); then draw the
    figures and report.html (docs/outputs.md)."""
    path, spec = _scenario(scenario, allow_outside_paths)
    options = RunOptions(policies=None if policy is None else tuple(policy), mode=mode, coupling=coupling,
                         online_algorithm=online_algorithm, ai_share=ai_share, operators=operators, damping=damping,
                         max_shift=max_shift, sequential=sequential, elasticity=elasticity,
                         offline_method=offline_method, workers=workers, scheduler=scheduler,
                         ).checked(grids=spec.signals.source == "grids")
    from cosim import loaders  # after the options' checks: a bad option exits before the solvers load
    from cosim.cosimulation import Herding
    from cosim.folder_transaction import staged
    from cosim.runner import run_scenario

    if hours is not None:
        spec = spec.with_hours(hours)
    if start is not None:
        spec = spec.with_start(start)
    out = out or default_out(spec.name, source=path)
    names = policy or spec.policies
    runs = len(names) + (spec.signals.source == "grids" and (mode == "online" or "nearest" not in names))
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn())
    # the run folder as a transaction (cosim.folder_transaction): --out checked and locked before
    # any computation, built in a hidden folder beside it, put in place whole at the end
    with staged(out) as stage:
        with Progress(*columns, console=err_console, transient=True) as progress:
            task = progress.add_task("building the decision instance", total=runs * spec.hours)
            result = run_scenario(
                spec, policies=policy, mode=mode, online_algorithm=online_algorithm, coupling=coupling,
                ai_share=ai_share, operators=operators, elasticity=elasticity,
                herding=Herding(damping=damping, max_shift=max_shift, sequential=sequential), strict=strict,
                data_dir=loaders.data_dir_option(data_dir, allow_outside=allow_outside_paths), source=path, out=stage.path, command_line=shlex.join(sys.argv),
                on_policy=lambda name: progress.update(task, description=f"{name} ({mode}, {spec.hours} h)"),
                on_hour=lambda: progress.advance(task),
                offline_method=offline_method, workers=workers, scheduler=scheduler,
            )
        _print_whole(_table1(result.metrics, escape(f"{spec.name}: {spec.hours} h from {result.instance.times[0]:%Y-%m-%d %H:%M} UTC, "
                                                     f"{mode}, coupling {options.coupling}")))
        if any("grid_feedback" in m for m in result.metrics.values()):
            _print_whole(_feedback_table(result.metrics))
        _print_notes(result.instance.notes)
        for name, m in result.metrics.items():
            plan = m.get("offline", {})
            if plan.get("method") == "decomposed":
                console.print(f"{escape(name)}: offline plan decomposed over hours, {plan['iterations']} master(s), "
                              f"relative gap {plan['gap']:.1e}", highlight=False, soft_wrap=True)
        unserved = sum(m["unserved_requests"] for m in result.metrics.values())
        if unserved > 0:
            console.print(f"[yellow]unserved requests: {unserved:,.0f} (see unserved_hours in summary.json)[/yellow]")
        for name, m in result.metrics.items():
            shed = m.get("grid_feedback", {}).get("shed_mwh", 0.0)
            if shed > 0:
                console.print(f"[yellow]{escape(name)}: the grids shed {shed:,.0f} MWh of load in "
                              f"{m['grid_feedback']['shed_hours']} hour(s) (grid_feedback in summary.json)[/yellow]")
        if report:
            _draw_report(stage.path, shown=out)  # inside the transaction: a complete folder has its report
    console.print(f"outputs written to {escape(out)}/", highlight=False, soft_wrap=True)


def _draw_report(folder: Path, *, shown: Path | None = None) -> None:
    """Figures and report.html of a run folder, and where they are (*shown*: the folder
    named in the message, when *folder* is the staging folder it will become)."""
    import time

    from cosim.run_page import write_run_report

    began = time.perf_counter()
    with err_console.status("drawing the figures and report.html"):
        pngs, page = write_run_report(folder)
    shown = folder if shown is None else shown
    console.print(f"figures: {escape(shown / 'figures')}/ ({len(pngs)} PNG); report: {escape(shown / page.name)} "
                  f"({time.perf_counter() - began:.1f} s)", highlight=False, soft_wrap=True)


@app.command()
def figures(
    folder: Annotated[Path, typer.Argument(help="A run folder: cosim run's --out, or a batch's DIR/runs/<run-id>.")],
) -> None:
    """Draw DIR/figures/*.png and DIR/report.html for an existing run folder (cosim run does
    this itself unless --no-report)."""
    from cosim.folder_transaction import staged
    from cosim.manifest import require_intact

    if not (folder / "summary.json").is_file():
        from cosim.run_folder import read_run

        read_run(folder)  # its InputError names the folder: not a run folder
    require_intact(folder)  # a damaged run is refused (exit 2) naming the file
    with staged(folder, seed=True) as stage:  # drawn on a copy, put in place whole, its manifest anew
        _draw_report(stage.path, shown=folder)


def _feedback_table(metrics: dict[str, dict]) -> Table:
    from cosim.metrics import feedback_table

    table = Table(title="grid feedback (DESIGN.md accounting)", title_justify="left")
    table.add_column("metric")
    frame = feedback_table(metrics)
    for name in frame.columns:
        table.add_column(escape(name), justify="right")
    for label, row in frame.iterrows():
        table.add_row(escape(label), *_row(row.tolist()))
    return table


@app.command()
def validate(
    scenario: ScenarioArg,
    data_dir: DataDirOpt = None,
    strict: StrictOpt = False,
    allow_outside_paths: AllowOutsideOpt = False,
) -> None:
    """Check a scenario file and the data it names (values' plausibility in their units, peak
    demand against the capacity the masks allow); print what it describes."""
    from cosim import loaders
    from cosim.capacity_check import shortfalls
    from cosim.instance import build_instance

    path, spec = _scenario(scenario, allow_outside_paths)
    inst = build_instance(spec, data_dir=loaders.data_dir_option(data_dir, allow_outside=allow_outside_paths), source=path,
                          strict=strict)
    n, j, k, t = inst.shape
    console.print(
        f"{escape(path)}: ok - '{escape(spec.name)}': {n} data centers, {len(inst.regions)} user regions x {len(inst.tiers)} tiers, "
        f"{k} models, {t} hours from {inst.times[0]:%Y-%m-%d %H:%M} UTC; "
        f"{int(inst.feasible.any(axis=2).sum())} of {n * j} (region, tier)-site pairs feasible; "
        f"demand {inst.demand.sum():,.0f} requests; signals: {escape(spec.signals.source)}",
        soft_wrap=True, highlight=False,
    )
    _print_notes(inst.notes)
    for short in shortfalls(inst):
        console.print(f"[yellow]warning:[/yellow] {escape(short.message())}", soft_wrap=True, highlight=False)


@app.command()
def masks(
    scenario: ScenarioArg = DEFAULT_SCENARIO,
    data_dir: DataDirOpt = None,
    csv: Annotated[Path | None, typer.Option(help="Also write every (region, tier, data center) pair to this CSV.")] = None,
    allow_outside_paths: AllowOutsideOpt = False,
) -> None:
    """Show which (region, tier, data center) pairs are feasible, and which rule excludes the others."""
    from cosim import loaders
    from cosim.masks import reach, unservable
    from cosim.outputs import write_atomic

    path, spec = _scenario(scenario, allow_outside_paths)
    data = loaders.data_dir_option(data_dir, allow_outside=allow_outside_paths)
    table = reach(spec, data_dir=data, source=path, check=False).table(spec)
    for tier, rows in table.groupby("tier", sort=False):
        tau = rows["tau_ms"].iloc[0]
        grid = Table(title=f"tier '{escape(tier)}' (tau {tau:g} ms): RTT in ms with the fastest hosted model, or why excluded",
                     title_justify="left", box=box.SIMPLE_HEAD, padding=(0, 1))
        grid.add_column("region \\ data center", no_wrap=True)
        names = list(dict.fromkeys(rows["datacenter"]))
        for name in names:
            grid.add_column(escape(name), justify="right", no_wrap=True)
        for region, cells in rows.groupby("region", sort=False):
            grid.add_row(escape(region), *(_mask_cell(c) for c in cells.itertuples()))
        _print_whole(grid)  # a mask cut at the terminal's edge would hide pairs
    feasible = int(table["feasible"].sum())
    console.print(f"{feasible} of {len(table)} (region, tier, data center) pairs feasible", highlight=False)
    excluded = table.loc[~table["feasible"], "reason"]
    by_rule = excluded.where(~excluded.str.startswith("latency"), "latency: over tau")
    for reason, count in by_rule.value_counts().items():
        console.print(f"  excluded by {escape(reason)}: {count}", highlight=False)
    infeasible = unservable(table)  # shown, not refused: this command is where one finds out why
    for line in infeasible:
        console.print(f"[red]infeasible:[/red] {escape(line)}", highlight=False, soft_wrap=True)
    if infeasible:
        console.print(f"[yellow]`cosim run` refuses {escape(str(path))} until every (region, tier) has a data center"
                      "[/yellow]", highlight=False, soft_wrap=True)
    if csv is not None:
        write_atomic(csv, lambda p: table.to_csv(p, index=False))
        console.print(f"pairs written to {escape(csv)}", highlight=False, soft_wrap=True)


def _mask_cell(row) -> str:
    if row.feasible:
        return f"[green]{row.latency_ms:.0f}[/green]"
    kind = row.reason.partition(": ")[0]
    return f"[red]>{row.latency_ms:.0f}[/red]" if kind == "latency" else f"[red]{escape(kind)}[/red]"


@app.command()
def frontier(
    scenario: ScenarioArg = DEFAULT_SCENARIO,
    tau: Annotated[str, typer.Option(metavar="MS,MS,...", help="Required: latency budgets to sweep, ms, comma-separated: 20,50,100.")] = "",
    tier: Annotated[list[str] | None, typer.Option("--tier", help="Tier whose budget is swept (repeatable; default: all).")] = None,
    policy: Annotated[list[str] | None, typer.Option("--policy", "-p", help="Policy (repeatable; default: the scenario's).")] = None,
    hours: Annotated[int | None, typer.Option(min=1, help="Run only the first N hours.")] = None,
    data_dir: DataDirOpt = None,
    out: Annotated[Path | None, typer.Option(help="Output folder (default: cosim-out/<scenario name>-frontier).")] = None,
    allow_outside_paths: AllowOutsideOpt = False,
) -> None:
    """Sweep the latency budget: DIR/frontier.csv and DIR/frontier.png, the energy-latency frontier."""
    from cosim import frontier as frontier_
    from cosim import loaders
    from cosim.folder_transaction import staged
    from cosim.outputs import write_atomic
    from cosim.runner import decision_instance

    path, spec = _scenario(scenario, allow_outside_paths)
    if not tau:
        raise InputError("--tau", "(missing)", "give the budgets to sweep, e.g. --tau 20,50,100")
    taus = frontier_.parse_taus(tau)
    check_policies(policy)
    tier_names = [t.name for t in spec.tiers]
    for n, name in enumerate(tier or []):
        if name not in tier_names:
            raise InputError("--tier", f"value {n + 1}", f"unknown tier '{name}' (known: {', '.join(tier_names)})")
    if hours is not None:
        spec = spec.with_hours(hours)
    out = out or default_out(spec.name, suffix="-frontier", source=path)
    policies = policy or spec.policies
    swept = "every tier" if not tier else ", ".join(tier)
    with staged(out, markers=("frontier.csv",)) as stage:  # as cosim run's folder: checked first, put in place whole
        with console.status("building the decision instance") as status:
            inst = decision_instance(spec, data_dir=loaders.resolve_data_dir(data_dir), source=path)
            frame = frontier_.sweep(inst, taus, policies, tiers=tier,
                                    on_point=lambda name, t: status.update(f"solving {name} at tau {t:g} ms ({spec.hours} h)"))
        write_atomic(stage.path / "frontier.csv", lambda p: frame.to_csv(p, index=False))
        frontier_.plot(frame, stage.path / "frontier.png", f"{spec.name}: energy-latency frontier ({swept}, {spec.hours} h)")
    shown = Table(title=f"{spec.name}: latency budget of {swept}", title_justify="left")
    with console.status("building the decision instance") as status:
        inst = decision_instance(spec, data_dir=loaders.data_dir_option(data_dir, allow_outside=allow_outside_paths), source=path)
        frame = frontier_.sweep(inst, taus, policies, tiers=tier,
                                on_point=lambda name, t: status.update(f"solving {escape(name)} at tau {t:g} ms ({spec.hours} h)"))
    out.mkdir(parents=True, exist_ok=True)
    write_atomic(out / "frontier.csv", lambda p: frame.to_csv(p, index=False))
    swept = "every tier" if not tier else ", ".join(tier)
    frontier_.plot(frame, out / "frontier.png", f"{spec.name}: energy-latency frontier ({swept}, {spec.hours} h)")
    shown = Table(title=escape(f"{spec.name}: latency budget of {swept}"), title_justify="left")
    for column in ("policy", "tau_ms", "energy_cost_usd", "carbon_t", "rid", "erl", "crl"):
        shown.add_column(column, justify="left" if column == "policy" else "right")
    for row in frame.itertuples():
        shown.add_row(escape(row.policy), *(_number(getattr(row, c)) for c in ("tau_ms", "energy_cost_usd", "carbon_t", "rid", "erl", "crl")))
    console.print(shown)
    console.print(f"outputs written to {escape(out)}/", highlight=False, soft_wrap=True)


@app.command()
def batch(
    sweep: Annotated[Path, typer.Argument(help="Sweep YAML file, or the name of a shipped sweep (regulation_masks): a base scenario and axes (docs/batch.md).")],
    workers: Annotated[int, typer.Option(min=1, help="Worker processes of the local cluster (default: the CPU count; ignored with --scheduler).")] = os.cpu_count() or 1,
    scheduler: Annotated[str | None, typer.Option(help="Run on an existing Dask cluster: its scheduler, tcp://host:port.")] = None,
    hours: Annotated[int | None, typer.Option(min=1, help="Run only the first N hours (overrides the sweep's hours).")] = None,
    data_dir: DataDirOpt = None,
    out: Annotated[Path | None, typer.Option(help="Batch folder (default: cosim-out/<sweep name>).")] = None,
    allow_outside_paths: AllowOutsideOpt = False,
) -> None:
    """Run a sweep on Dask: each run into DIR/runs/<run-id>/, a row per run into DIR/catalog.duckdb.
    Runs completed before are skipped; exit 1 when a run failed (its error is in the catalog)."""
    from cosim import batch as batch_  # late, as catalog: duckdb (~0.2 s) loads only for cosim batch
    from cosim import loaders
    from cosim.catalog import Catalog
    from cosim.sweep import load_sweep

    spec = load_sweep(sweep, hours=hours, allow_outside=allow_outside_paths)
    out = out or default_out(spec.name, source=spec.path)
    data = loaders.data_dir_option(data_dir, allow_outside=allow_outside_paths)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn())
    counts = {"ok": 0, "failed": 0}
    todo = batch_.pending(spec, out)
    with contextlib.ExitStack() as stack:
        with err_console.status("starting the Dask cluster" if scheduler is None else f"connecting to {escape(scheduler)}"):
            # a finished sweep needs no cluster; an unreachable scheduler fails here, before the catalog exists
            client = stack.enter_context(batch_.dask_client(workers=workers, scheduler=scheduler)) if todo else None
        with Catalog(out) as catalog, Progress(*columns, console=err_console, transient=True) as progress:
            task = progress.add_task("runs", total=None)

            lines = not console.is_terminal  # nobody watches the bar: a logged line per run (cosim.progress)
            if lines:
                log_progress_lines()

            def started(todo: int, skipped: int) -> None:
                progress.update(task, total=todo, description=escape(f"{spec.name}: {todo} run(s), {skipped} done before"))
                if lines:
                    progress_line(f"{spec.name}: {todo} run(s) to run, {skipped} done before")

            def finished(row: dict) -> None:
                counts[row["status"]] += 1
                progress.update(task, advance=1, description=escape(f"{spec.name}: {counts['ok']} ok, {counts['failed']} failed"))
                if lines:
                    wall = row.get("wall_s")
                    progress_line(f"{spec.name}: run {row['run_id']} {'done' if row['status'] == 'ok' else 'failed'} "
                                  f"({'?' if wall is None else f'{wall:.1f}'} s; {counts['ok'] + counts['failed']} of "
                                  f"{progress.tasks[0].total or '?'})")

            try:
                result = batch_.run_batch(spec, out, client, catalog, data_dir=data, on_start=started, on_done=finished,
                                         scheduler=scheduler)
            except KeyboardInterrupt:
                progress.stop()
                err_console.print(f"{counts['ok'] + counts['failed']} run(s) recorded in {escape(catalog.path)}; rerun to resume",
                                  highlight=False, soft_wrap=True)
                raise
            rows = catalog.rows([run.run_id for run in spec.runs])
    table = _batch_table(spec, rows)
    _print_whole(table)
    failed = rows[rows["status"] != "ok"]
    for row in failed.itertuples():
        console.print(f"[red]failed:[/red] {escape(row.run_id)}: {escape(str(row.error).splitlines()[0] if row.error else '')}",
                      soft_wrap=True, highlight=False)
    ran = len(result.rows)
    where = f"{result.elapsed_s:.1f} s on {result.workers} worker(s)" if ran else "nothing to run"
    console.print(f"{len(spec.runs)} run(s): {ran} ran ({counts['ok']} ok, {counts['failed']} failed), "
                  f"{len(result.skipped)} skipped as done before; {where}", highlight=False, soft_wrap=True)
    console.print(f"catalog {escape(out / 'catalog.duckdb')}, outputs in {escape(out / 'runs')}/", highlight=False, soft_wrap=True)
    if len(failed):
        raise typer.Exit(1)


def _batch_table(spec, rows) -> Table:
    from cosim.sweep import AXES

    swept = [AXES[name].column for name in spec.runs[0].params] if spec.runs else []
    table = Table(title=escape(f"{spec.name}: {spec.base.name}, {spec.base.hours} h"), title_justify="left", box=box.SIMPLE_HEAD)
    metrics = (("energy_cost_usd", "energy cost (USD)"), ("carbon_attributional_t", "carbon attr. (t)"),
               ("carbon_consequential_t", "carbon cons. (t)"), ("carbon_max_avg", "carbon max/avg"), ("rid", "RID"),
               ("unserved_requests", "unserved"), ("wall_s", "wall (s)"))
    for column in swept:
        table.add_column(column, no_wrap=True)
    table.add_column("status", no_wrap=True)
    for _, label in metrics:
        table.add_column(label, justify="right", no_wrap=True)
    for row in rows.itertuples():
        status = "[green]ok[/green]" if row.status == "ok" else "[red]failed[/red]"
        table.add_row(*(escape(getattr(row, c)) for c in swept), status, *(_number(getattr(row, c)) for c, _ in metrics))
    return table


@app.command()
def report(
    folder: Annotated[Path, typer.Argument(help="Batch folder (holding catalog.duckdb).")],
    out: Annotated[Path | None, typer.Option(help="Report folder (default: DIR/report).")] = None,
) -> None:
    """Comparison tables (Markdown, CSV) and figures of a batch: per mask rule set and policy."""
    from cosim.report import write_report  # late: duckdb loads only for cosim report

    result = write_report(folder, out)
    if result.averaged_over:
        console.print(f"note: cells average over runs differing in {escape(', '.join(result.averaged_over))}", highlight=False)
    if result.failed:
        console.print(f"[yellow]{result.failed} failed run(s) listed in report.md[/yellow]")
    console.print(f"report written to {escape(result.folder)}/: " + ", ".join(escape(p.name) for p in result.files), highlight=False,
                  soft_wrap=True)


@app.command()
def compare(
    folders: Annotated[list[Path], typer.Argument(metavar="DIR", help="Run folders (holding summary.json) or batch folders (holding catalog.duckdb): one or more.")],
    policy: Annotated[list[str] | None, typer.Option("--policy", "-p", help="Only this policy (repeatable).")] = None,
    csv: Annotated[Path | None, typer.Option(help="Also write the long table (one row per run, policy and metric) to this CSV.")] = None,
    figure: Annotated[Path | None, typer.Option(help="Also draw grouped bars of headline metrics into this PNG.")] = None,
) -> None:
    """Table 1 and the grid feedback of several runs side by side, one column per (run, policy),
    with the settings that differ between the runs named."""
    from cosim import compare as compare_

    compare_.check_figure(figure)
    result = compare_.compare(compare_.find_runs(folders), policy)
    runs = [r.label for r in result.runs]
    differ = ", ".join(result.differing) if result.differing else "no recorded setting"
    console.print(f"{len(runs)} run(s), {len(result.columns)} column(s); the runs differ in: {escape(differ)}",
                  highlight=False, soft_wrap=True)
    for name, missing in result.unrecorded.items():
        console.print(f"[yellow]note:[/yellow] {escape(name)} not recorded in {escape(', '.join(missing))}",
                      highlight=False, soft_wrap=True)
    for section, title in (("table1", "Table 1 (SE-GLB)"), ("grid_feedback", "grid feedback (DESIGN.md accounting)")):
        frame = result.section(section)
        if frame.empty:
            continue
        table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD)
        table.add_column("metric", no_wrap=True)
        for column in frame.columns:
            table.add_column(escape(column), justify="right", no_wrap=True)
        by_label = {r.label: r for r in result.runs}
        for name in result.differing:
            table.add_row(f"[bold]{escape(name)}[/bold]", *(escape(compare_.setting_text(name, by_label[run].settings.get(name)))
                                                             for run, _ in result.columns))
        for label, row in frame.iterrows():
            table.add_row(escape(label), *_row(row.tolist()))
        _print_whole(table)
    if csv is not None:
        compare_.write_csv(result, csv)
        console.print(f"table written to {escape(csv)}", highlight=False, soft_wrap=True)
    if figure is not None:
        compare_.plot(result, figure)
        console.print(f"figure written to {escape(figure)}", highlight=False, soft_wrap=True)


@app.command("grid-check")
def grid_check(
    file: Annotated[Path, typer.Argument(help="EIA-930 generation-by-fuel CSV: a path, or a name under the data dir (eia930/MISO.csv).")],
    data_dir: DataDirOpt = None,
    out: Annotated[Path | None, typer.Option(help="Also write DIR/<name>_summary.csv, _by_fuel.csv, _hourly.csv and _grid_check.png (default: print only).")] = None,
) -> None:
    """Fit the balancing-area model to FILE, dispatch its year and compare it with the file:
    average intensity, its hourly correlation, empirical MEF vs model LME per season, fuel shares.
    Exits 0 when goals are missed (a report); it names them."""
    from cosim import loaders

    path = file if file.exists() else loaders.dataset_path(loaders.resolve_data_dir(data_dir), str(file), source=file)
    # late: pandapower (the balancing-area model) loads only for this command, after FILE is found
    from grids.balancing_area import year_baseline
    from grids.eia930 import read_generation_by_fuel
    from grids.grid_check import GOAL_CORRELATION, GOAL_INTENSITY_ERROR, GOAL_LME_ERROR, compare, write_grid_check

    name = path.stem
    with err_console.status(f"{escape(name)}: fitting the balancing-area model and dispatching its hours"):
        data = read_generation_by_fuel(path, source=str(file))
        check = compare(name, data.mw, year_baseline(data))
    summary = check.summary
    table = Table(title=f"{escape(name)}: model vs the file ({summary.loc['year', 'hours']} h); intensities in kg/kWh",
                  title_justify="left")
    for column in ("period", "CI file", "CI model", "error", "corr.", "MEF file", "LME model", "error"):
        table.add_column(column, justify="left" if column == "period" else "right", no_wrap=True)
    for period, row in summary.iterrows():
        table.add_row(escape(period), f"{row.observed_intensity_kg_per_kwh:.3f}", f"{row.model_intensity_kg_per_kwh:.3f}",
                      _marked(_percent(row.intensity_error), row.intensity_ok), _marked(f"{row.intensity_correlation:.3f}", row.correlation_ok),
                      f"{row.empirical_mef_kg_per_kwh:.3f}", f"{row.model_mean_lme_kg_per_kwh:.3f}",
                      _marked(_percent(row.lme_error), row.lme_ok))
    console.print(table)
    console.print(f"goals: year intensity within {GOAL_INTENSITY_ERROR:.0%}, hourly correlation >= {GOAL_CORRELATION:g} "
                  f"over the year, model LME within {GOAL_LME_ERROR:.0%} of the empirical MEF in every season",
                  highlight=False, soft_wrap=True)
    shares = Table(title=f"{escape(name)}: generation by fuel (mean MW, share)", title_justify="left", box=box.SIMPLE_HEAD)
    for column in ("fuel", "observed MW", "model MW", "observed share", "model share", "difference"):
        shares.add_column(column, justify="left" if column == "fuel" else "right")
    for code, row in check.by_fuel.iterrows():
        shares.add_row(escape(f"{code} ({row.fuel})"), _number(row.observed_mean_mw), _number(row.model_mean_mw),
                       f"{row.observed_share:.1%}", f"{row.model_share:.1%}", f"{row.share_difference:+.1%}")
    console.print(shares)
    for missed in check.missed_goals:
        console.print(f"[yellow]goal missed:[/yellow] {escape(missed)}", highlight=False, soft_wrap=True)
    if check.goals_met:
        console.print("[green]all goals met[/green]")
    if out is not None:
        paths = write_grid_check(check, out)
        console.print("written: " + ", ".join(escape(p) for p in paths), highlight=False, soft_wrap=True)


generate_app = typer.Typer(no_args_is_help=True, help="Generate inputs: `cosim generate world` (a synthetic scenario).")
app.add_typer(generate_app, name="generate")


@generate_app.command("world")
def generate_world(
    sites: Annotated[int, typer.Option("--sites", help="Data centers (dc001 ...), round-robin over the grids' sites (the ten shipped sites, or the balancing areas).")],
    regions: Annotated[int, typer.Option("--regions", help="User regions (reg001 ...), near the sites, over their time zones.")],
    hours: Annotated[int, typer.Option("--hours", help=f"Horizon, hours from --start (shipped nets: at most {world_.GRID_HOURS} from 2022-09-22 00:00 UTC).")],
    out: Annotated[Path, typer.Option("--out", help="Folder to write: DIR/world.yaml (new, empty, or an earlier generated world).")],
    seed: Annotated[int, typer.Option("--seed", help="Seed of the placement and sizes (and of the scenario): same arguments, same file.")] = 0,
    signals: Annotated[str, typer.Option("--signals", metavar=_choices(world_.SIGNALS), help="grids: dispatch real grids (--grids); synthetic: the calibrated generator at the shipped sites (any horizon).")] = "grids",
    grids: Annotated[str, typer.Option("--grids", metavar=_choices(world_.GRIDS), help="With --signals grids: the ten shipped nets, or balancing areas fitted to every DATA_DIR/eia930/*.csv (needs --data-dir).")] = "shipped",
    start: Annotated[str | None, typer.Option("--start", help="First hour, UTC (default 2022-09-22T00:00Z; balancing areas: 2022-01-01T00:00Z).")] = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Write a synthetic, reproducible scenario of SITES data centers and REGIONS user regions
    (docs/scenarios.md, Generated worlds); run it with `cosim run DIR/world.yaml` (with the
    same --data-dir for balancing areas)."""
    path = world_.write_world(out, sites, regions, hours, seed=seed, signals=signals, grids=grids,
                              data_dir=data_dir, start=start)
    console.print(f"world written to {escape(path)} ({sites} data centers, {regions} user regions, {hours} h, "
                  f"seed {seed}, signals {escape(signals)}" + ("" if grids == "shipped" else f", grids {escape(grids)}") + ")",
                  highlight=False, soft_wrap=True)


def _percent(value: float) -> str:
    """Signed percent with one decimal; '-' for none."""
    return "-" if value != value else f"{value:+.1%}"


def _marked(text: str, ok: bool) -> str:
    """The text, red when it misses its goal."""
    return text if ok else f"[red]{text}[/red]"


def _print_notes(notes) -> None:
    for note in notes:
        console.print(f"[yellow]note:[/yellow] {escape(note)}", soft_wrap=True, highlight=False)


def _table1(metrics: dict[str, dict], title: str) -> Table:
    from cosim.metrics import table1

    table = Table(title=title, title_justify="left")
    table.add_column("metric (SE-GLB Table 1)")
    frame = table1(metrics)
    for name in frame.columns:
        table.add_column(escape(name), justify="right")
    for label, row in frame.iterrows():
        table.add_row(escape(label), *_row(row.tolist()))
    return table


def _print_whole(table: Table) -> None:
    """Print *table* with every column whole, wider than the terminal if it must be: a
    number or label cut or wrapped at the terminal's edge would misread."""
    roomy = Console(width=1000)
    Console(width=max(console.width, Measurement.get(roomy, roomy.options, table).maximum)).print(table)


def main() -> None:
    """Entry point: bad input exits 2 with one line, solver failures exit 1."""
    warnings.formatwarning = _visible_warning
    try:
        code = app(standalone_mode=False)
    except InputError as exc:
        _error_line(f"[red]error:[/red] {escape(str(exc))}")
        sys.exit(2)
    except _solver_errors() as exc:
        _error_line(f"[red]solver failure:[/red] {escape(str(exc))}")
        sys.exit(1)
    except KeyboardInterrupt:
        err_console.print("interrupted")
        sys.exit(130)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        sys.exit(1)
    except Exception as exc:
        # click's usage errors (--hours 0, an unknown option...). Recent typer vendors click
        # (typer._click), older typer uses the click package: recognise them by their
        # interface, not by importing click.
        code = getattr(exc, "exit_code", None)
        if not isinstance(code, int) or not callable(getattr(exc, "format_message", None)):
            raise
        if type(exc).__name__ == "NoArgsIsHelpError":  # bare `cosim`: the help is the answer
            exc.show()
            sys.exit(0)
        ctx = getattr(exc, "ctx", None)
        where = f"{ctx.command_path}: " if ctx is not None else ""
        _error_line(f"[red]error:[/red] {escape(where + exc.format_message())}")
        sys.exit(code)
    if isinstance(code, int) and code:  # typer returns a command's typer.Exit(code) (and Ctrl-C's 130) without standalone mode
        sys.exit(code)


def _solver_errors() -> tuple[type[Exception], ...]:
    """The solver failures main() reports (exit 1): cosim.glb's SolverFailure only where
    cosim.glb was imported (a command that never loaded it cannot have raised it)."""
    solve = sys.modules.get("cosim.glb.solve")
    return (SolverInputError,) if solve is None else (solve.SolverFailure, SolverInputError)


_plain_warning = warnings.formatwarning


def _visible_warning(message, category, filename, lineno, line=None) -> str:
    """Python's warning line with the message's control characters made visible (it may
    quote a name or a file of the input; cosim.terminal)."""
    return _plain_warning(visible(message), category, filename, lineno, line)


def _error_line(markup: str) -> None:
    """One line on stderr, never wrapped (the contract: `file: field or row: reason`)."""
    err_console.print(markup, highlight=False, soft_wrap=True)


if __name__ == "__main__":
    main()
