"""What every study needs: a scenario cut to its horizon, checked knobs, and figures."""
from __future__ import annotations

import math
from collections.abc import Iterable
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

from cosim.errors import InputError
from cosim.outputs import write_atomic
from cosim.policy import POLICY_NAMES
from cosim.progress import PolicySteps
from cosim.runner import RunResult, run_scenario
from cosim.scenario import Scenario
from cosim.scenario_files import DEFAULT_SCENARIO, load_scenario, resolve_scenario_path

if TYPE_CHECKING:  # annotations only: matplotlib loads when a figure is drawn
    import pandas as pd
    from matplotlib.figure import Figure


def study_scenario(name: str | Path = DEFAULT_SCENARIO, hours: int | None = None) -> Scenario:
    """The scenario *name* (a path or a shipped name), cut to its first *hours* hours."""
    spec = load_scenario(resolve_scenario_path(name))
    if hours is not None:
        check_hours(hours, spec.hours)
        spec = spec.with_hours(hours)
    return spec


def run_logged(label: str, scenario: Scenario, **options) -> RunResult:
    """cosim.runner.run_scenario(scenario, **options) with a progress line per policy
    (``LABEL POLICY done (N s)``, cosim.progress); errors name the scenario's file."""
    steps = PolicySteps(label)
    result = run_scenario(scenario, on_policy=steps.on_policy, label=f"{scenario.name} [{label}]", **options)
    steps.close()
    return result


def with_norms(scenario: Scenario, *, q_social: float | None = None, q_env: float | None = None) -> Scenario:
    """The scenario with its SE-GLB norms replaced (None keeps the scenario's)."""
    update = {k: v for k, v in (("q_social", q_social), ("q_env", q_env)) if v is not None}
    return scenario.model_copy(update={"policy": scenario.policy.model_copy(update=update)})


def check_hours(hours: int, available: int | None = None) -> None:
    """InputError unless 1 <= hours (<= the scenario's horizon)."""
    if hours < 1:
        raise InputError("--hours", str(hours), "must be at least 1")
    if available is not None and hours > available:
        raise InputError("--hours", str(hours), f"the scenario has {available} hours")


def check_choices(names: Iterable[str], known: Iterable[str], what: str, where: str) -> list[str]:
    """The names as a list; InputError for one not in *known*, or for none at all."""
    names, known = list(names), tuple(known)
    for n, name in enumerate(names):
        if name not in known:
            raise InputError(where, f"value {n + 1}", f"unknown {what} '{name}' (known: {', '.join(known)})")
    if not names:
        raise InputError(where, "(empty)", f"give at least one {what}")
    return names


def check_policies(names: Iterable[str], where: str = "--policy") -> list[str]:
    """The policy names as a list; InputError for an unknown one."""
    return check_choices(names, POLICY_NAMES, "policy", where)


def check_range(values: Iterable[float], where: str, *, low: float, high: float = math.inf,
                low_open: bool = False) -> list[float]:
    """The values as a list; InputError for one outside [low, high] ((low, high] with low_open)."""
    values = list(values)
    for n, v in enumerate(values):
        below = v <= low if low_open else v < low
        if math.isnan(v) or below or v > high:
            bracket = "(" if low_open else "["
            raise InputError(where, f"value {n + 1}", f"{v:g} is outside {bracket}{low:g}, {high:g}]")
    if not values:
        raise InputError(where, "(empty)", "give at least one value")
    return values


def pyplot() -> ModuleType:
    """matplotlib.pyplot on the Agg backend (no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig: Figure, path: str | Path) -> Path:
    """Write *fig* as a PNG atomically and close it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, lambda p: fig.savefig(p, dpi=120, format="png"))
    pyplot().close(fig)
    return path


def write_csv(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write a study table as CSV atomically (no index)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, lambda p: frame.to_csv(p, index=False))
    return path
