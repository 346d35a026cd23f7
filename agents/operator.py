"""OperatorAgent: owns data centers and routes its users' requests with a decision rule."""
from __future__ import annotations

from typing import Any, Protocol

import mesa

from agents.hour import Choice


class DecisionRule(Protocol):
    """How an operator turns the hour it is shown into fractions: a GLB policy deciding
    online (cosim.glb.OnlineSolver) or an offline plan replayed (cosim.replay.PlanReplay).
    *shown* is the one-hour instance with this operator's demand and the signals it sees."""

    arcs: Any

    def decide(self, hour: int, shown: Any) -> Choice: ...

    def commit(self, choice: Choice) -> None: ...


class OperatorAgent(mesa.Agent):
    """Every hour, decides which fraction of each user's requests goes to which (site,
    model) arc with its decision rule, and commits the decision it keeps as the state the
    next hour starts from (a same-hour iteration decides several times, commits once)."""

    def __init__(self, model: mesa.Model, *, name: str, rule: DecisionRule):
        super().__init__(model)
        self.name = name
        self.rule = rule
        self.committed: Choice | None = None  # the choice the current hour ended with

    @property
    def arcs(self) -> Any:
        return self.rule.arcs

    def decide(self, hour: int, shown: Any) -> Choice:
        """This operator's choice for *hour*, not yet committed."""
        return self.rule.decide(hour, shown)

    def commit(self, choice: Choice) -> None:
        """Keep *choice* as the state the next hour starts from."""
        self.rule.commit(choice)
        self.committed = choice
