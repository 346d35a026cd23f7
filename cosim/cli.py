"""The `cosim` command.

Exit codes: 0 success; 2 bad input (one line: file: field or row: reason); 1 internal error.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from cosim import loaders
from cosim.errors import InputError
from cosim.glb import ALGORITHMS, POLICY_NAMES, SolverFailure
from cosim.instance import build_instance
from cosim.metrics import table1
from cosim.runner import MODES, run_scenario
from cosim.scenario import DEFAULT_SCENARIO, load_scenario, resolve_scenario_path

app = typer.Typer(add_completion=False, no_args_is_help=True, help="gridshift: geo-distributed AI inference and power grids.")
console = Console()
err_console = Console(stderr=True)

ScenarioArg = Annotated[str, typer.Argument(help="Scenario YAML file, or the name of a shipped scenario.")]
DataDirOpt = Annotated[
    Optional[Path],
    typer.Option("--data-dir", help="Folder holding external datasets (default: $COSIM_DATA_DIR)."),
]


@app.command()
def run(
    scenario: ScenarioArg = DEFAULT_SCENARIO,
    policy: Annotated[Optional[list[str]], typer.Option("--policy", "-p", help=f"Policy to run (repeatable): {', '.join(POLICY_NAMES)}.")] = None,
    hours: Annotated[Optional[int], typer.Option(min=1, help="Run only the first N hours.")] = None,
    mode: Annotated[str, typer.Option(help=f"{' or '.join(MODES)}: full-horizon optimum, or hour by hour.")] = "offline",
    online_algorithm: Annotated[Optional[str], typer.Option(help=f"Online only: {', '.join(ALGORITHMS)} (default per policy).")] = None,
    data_dir: DataDirOpt = None,
    out: Annotated[Optional[Path], typer.Option(help="Output folder (default: cosim-out/<scenario name>).")] = None,
):
    """Solve the scenario's policies, write the output contract and print the Table-1 comparison."""
    path = resolve_scenario_path(scenario)
    spec = load_scenario(path)
    for n, name in enumerate(policy or []):
        if name not in POLICY_NAMES:
            raise InputError("--policy", f"value {n + 1}", f"unknown policy '{name}' (known: {', '.join(POLICY_NAMES)})")
    if mode not in MODES:
        raise InputError("--mode", mode, f"must be one of {', '.join(MODES)}")
    if online_algorithm is not None and online_algorithm not in ALGORITHMS:
        raise InputError("--online-algorithm", online_algorithm, f"must be one of {', '.join(ALGORITHMS)}")
    if hours is not None:
        spec = spec.with_hours(hours)
    out = out or Path("cosim-out") / spec.name
    with console.status("") as status:
        result = run_scenario(
            spec, policies=policy, mode=mode, online_algorithm=online_algorithm,
            data_dir=loaders.resolve_data_dir(data_dir), source=path, out=out,
            on_policy=lambda name: status.update(f"solving {name} ({mode}, {spec.hours} h)"),
        )
    console.print(_table1(result.metrics, f"{spec.name}: {spec.hours} h from {result.instance.times[0]:%Y-%m-%d %H:%M} UTC, {mode}"))
    _print_notes(result.instance.notes)
    unserved = sum(m["unserved_requests"] for m in result.metrics.values())
    if unserved > 0:
        console.print(f"[yellow]unserved requests: {unserved:,.0f} (see unserved_hours in summary.json)[/yellow]")
    console.print(f"outputs written to {out}/")


@app.command()
def validate(
    scenario: ScenarioArg,
    data_dir: DataDirOpt = None,
):
    """Check a scenario file and the data it names; print what it describes."""
    path = resolve_scenario_path(scenario)
    spec = load_scenario(path)
    inst = build_instance(spec, data_dir=loaders.resolve_data_dir(data_dir), source=path)
    n, j, k, t = inst.shape
    console.print(
        f"{path}: ok - '{spec.name}': {n} data centers, {j} user regions, {k} models, {t} hours "
        f"from {inst.times[0]:%Y-%m-%d %H:%M} UTC; {int(inst.mask.sum())} of {n * j} region-site pairs allowed; "
        f"demand {inst.demand.sum():,.0f} requests; signals: {spec.signals.source}",
        soft_wrap=True, highlight=False,
    )
    _print_notes(inst.notes)


def _print_notes(notes) -> None:
    for note in notes:
        console.print(f"[yellow]note:[/yellow] {escape(note)}", soft_wrap=True, highlight=False)


def _table1(metrics: dict[str, dict], title: str) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column("metric (SE-GLB Table 1)")
    frame = table1(metrics)
    for name in frame.columns:
        table.add_column(name, justify="right")
    for label, row in frame.iterrows():
        table.add_row(label, *(_number(v) for v in row))
    return table


def _number(value: float | None) -> str:
    """Four significant digits, thousands separated; '-' for none."""
    if value is None or value != value:
        return "-"
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.4g}"


def main() -> None:
    """Entry point: bad input exits 2 with one line, solver failures exit 1."""
    try:
        app(standalone_mode=False)
    except InputError as exc:
        _error_line(f"[red]error:[/red] {escape(str(exc))}")
        sys.exit(2)
    except SolverFailure as exc:
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


def _error_line(markup: str) -> None:
    """One line on stderr, never wrapped (the contract: `file: field or row: reason`)."""
    err_console.print(markup, highlight=False, soft_wrap=True)


if __name__ == "__main__":
    main()
