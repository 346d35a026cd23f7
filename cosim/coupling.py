"""Couplings: what the operators see when they decide an hour (DESIGN.md, step 5).

- open: exogenous signals (the no-relocation baseline dispatch); the grids' response never
  reaches the operators (the papers' setting);
- lagged: the grids publish hour t dispatched with the data centers' load of hour t-1;
- sequential (lagged, several operators): operator m sees the grid with operators < m at
  their new load and the others where they were last hour (cumulative shifting);
- iterate: within the hour, publish, decide and re-publish with the relaxed new load
  until the load stops moving (a same-hour fixed point; iterations are recorded).

A coupling is handed the world it couples (the model: its operators, and how the grids
publish and the operators decide) and returns the hour's decision with the signals it
was made on; it commits the decision it keeps. The first hour of every coupling sees the
exogenous signals (there is no load of a previous hour to publish with), except iterate,
which starts from the decision on them.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import numpy as np

from agents import OperatorAgent
from agents.hour import Choice, Decision, Signals

if TYPE_CHECKING:
    from cosim.instance import Instance


@dataclass(frozen=True)
class Decided:
    """A coupling's answer for one hour: the decision, the signals it was made on, the
    same-hour iteration's figures (rounds, final relative L1 residual, and the load the
    last published signals were dispatched with) and whether any decision of the hour
    needed a fallback solver."""

    decision: Decision
    seen: Signals
    iterations: int = 1
    residual: float = 0.0
    published_mw: np.ndarray | None = None
    fallback: bool = False


class World(Protocol):
    """What a coupling needs from the model it couples."""

    operators: Sequence[OperatorAgent]

    def exogenous(self, hour: int) -> Signals: ...

    def publish(self, hour: int, facility_mw: np.ndarray) -> Signals: ...

    def shown(self, hour: int, signals: Signals, demand: np.ndarray) -> Instance: ...

    def load_mw(self, choice: Choice, demand: np.ndarray) -> np.ndarray: ...

    def decide(self, hour: int, signals: Signals, demand: np.ndarray) -> Decision: ...

    def combine(self, choices: Sequence[Choice], facility_mw: np.ndarray) -> Decision: ...


class Coupling(Protocol):
    """Decides one hour: the decision and what it was made on."""

    def decide(self, world: World, hour: int, demand: np.ndarray, previous_mw: np.ndarray | None) -> Decided: ...


def _commit(world: World, decision: Decision) -> None:
    for operator, choice in zip(world.operators, decision.choices):
        operator.commit(choice)


def _decide_and_commit(world: World, hour: int, seen: Signals, demand: np.ndarray) -> Decided:
    decision = world.decide(hour, seen, demand)
    _commit(world, decision)
    return Decided(decision, seen, fallback=decision.fallback)


class Open:
    """Decide on the exogenous signals."""

    def decide(self, world: World, hour: int, demand: np.ndarray, previous_mw: np.ndarray | None) -> Decided:
        return _decide_and_commit(world, hour, world.exogenous(hour), demand)


class Lagged:
    """Decide on the grids dispatched with last hour's load."""

    def decide(self, world: World, hour: int, demand: np.ndarray, previous_mw: np.ndarray | None) -> Decided:
        seen = world.exogenous(hour) if previous_mw is None else world.publish(hour, previous_mw)
        return _decide_and_commit(world, hour, seen, demand)


class Sequential:
    """Lagged, with each operator shown the grid after the previous ones moved. What the
    hour was decided on (`seen`) is, per data center, the operators' views weighted by the
    load each put there."""

    def decide(self, world: World, hour: int, demand: np.ndarray, previous_mw: np.ndarray | None) -> Decided:
        if previous_mw is None:
            return Lagged().decide(world, hour, demand, previous_mw)
        count = len(world.operators)
        per_operator = previous_mw / count
        load = np.zeros_like(previous_mw)
        choices, views, loads = [], [], []
        for m, operator in enumerate(world.operators):
            shown = world.publish(hour, previous_mw if m == 0 else load + per_operator * (count - m))
            choice = operator.decide(hour, world.shown(hour, shown, demand))
            operator.commit(choice)
            drawn = world.load_mw(choice, demand)
            load += drawn
            choices.append(choice)
            views.append(shown)
            loads.append(drawn)
        decision = world.combine(choices, load)
        return Decided(decision, Signals.weighted(views, loads), fallback=decision.fallback)


@dataclass(frozen=True)
class Iterate:
    """Same-hour fixed point: publish with a load, decide, move the load towards the
    decision, until the decision is within *tol* (relative, L1) of the load it was
    published with, or *max_rounds* is hit. The load moves by *relaxation*, except when two
    successive decisions agree within *tol* (and *jump*): then it jumps to the decision,
    and the next round confirms (or refutes) it with the same stopping test."""

    max_rounds: int = 20
    tol: float = 1e-3
    relaxation: float = 0.5
    jump: bool = True

    def decide(self, world: World, hour: int, demand: np.ndarray, previous_mw: np.ndarray | None) -> Decided:
        fallback = False
        if previous_mw is None:
            start = world.decide(hour, world.exogenous(hour), demand)
            guess, fallback = start.facility_mw, start.fallback
        else:
            guess = previous_mw
        last = None  # the previous round's decision
        for rounds in range(1, self.max_rounds + 1):  # noqa: B007 (the count is kept after the loop)
            seen = world.publish(hour, guess)
            decision = world.decide(hour, seen, demand)
            fallback = fallback or decision.fallback
            load = decision.facility_mw
            moved, published = relative_l1(load, guess), guess
            if moved <= self.tol:
                break
            if self.jump and last is not None and relative_l1(load, last) <= self.tol:
                guess = load  # the decision stopped moving while the relaxed load crawls towards it
            else:
                guess = (1 - self.relaxation) * guess + self.relaxation * load
            last = load
        _commit(world, decision)
        return Decided(decision, seen, iterations=rounds, residual=moved, published_mw=published, fallback=fallback)


def relative_l1(a: np.ndarray, b: np.ndarray) -> float:
    """sum |a - b| / sum |a| (MW over MW), 0 when both are zero."""
    return float(np.abs(a - b).sum() / max(np.abs(a).sum(), 1e-9))
