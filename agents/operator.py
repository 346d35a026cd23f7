"""OperatorAgent: owns data centers and routes its users' requests with a GLB policy."""
from __future__ import annotations

import mesa
import numpy as np

from cosim.glb import OnlineSolver, Solution
from cosim.instance import Instance


class OperatorAgent(mesa.Agent):
    """Every hour, decides which fraction of each user's requests goes to which (site, model)
    arc: online with its policy on the signals it is shown, or replaying an offline plan."""

    def __init__(self, model: mesa.Model, *, name: str, solver: OnlineSolver | None = None, plan: Solution | None = None):
        super().__init__(model)
        if (solver is None) == (plan is None):
            raise ValueError("an operator decides online (solver) or replays a plan, not both")
        self.name = name
        self.solver = solver
        self.plan = plan
        self.x: np.ndarray | None = None  # this hour's decision, fractions per arc
        self.u: np.ndarray | None = None

    @property
    def arcs(self):
        return self.solver.arcs if self.solver is not None else self.plan.arcs

    def decide(self, hour: int, shown: Instance, *, commit: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """Fractions (x per arc, u per user) for *hour*, *shown* being the one-hour instance
        with this operator's demand and the signals it sees."""
        if self.plan is not None:
            self.x, self.u = self.plan.x[:, hour], self.plan.u[:, hour]
        else:
            self.x, self.u, fallback = self.solver.decide(shown, commit=commit)
            if fallback:
                self.model.fallback_hours.add(hour)
        return self.x, self.u

    def commit(self) -> None:
        """Keep this hour's decision as the state the next hour starts from."""
        if self.solver is not None:
            self.solver.commit(self.x)
