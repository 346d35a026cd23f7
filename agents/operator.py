"""OperatorAgent: owns data centers and routes its users' requests with a GLB policy."""
from __future__ import annotations

import mesa
import numpy as np

from cosim.glb import OnlineSolver, Solution
from cosim.instance import Instance

OVER_CAPACITY_TOL = 1e-6  # relative: a replayed plan's use of a site above its capacity that is left alone


class OperatorAgent(mesa.Agent):
    """Every hour, decides which fraction of each user's requests goes to which (site, model)
    arc: online with its policy on the signals it is shown, or replaying an offline plan
    (its fractions, cut back where the users' demand has outgrown a site's capacity)."""

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
            self.x, self.u = within_capacity(self.plan.arcs, shown, self.plan.x[:, hour], self.plan.u[:, hour])
        else:
            self.x, self.u, fallback = self.solver.decide(shown, commit=commit)
            if fallback:
                self.model.fallback_hours.add(hour)
        return self.x, self.u

    def commit(self) -> None:
        """Keep this hour's decision as the state the next hour starts from."""
        if self.solver is not None:
            self.solver.commit(self.x)


def within_capacity(arcs, hour: Instance, x: np.ndarray, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A plan's fractions (x per arc, u per user) of one hour applied to *hour*'s demand
    (a one-hour instance) without exceeding any data center's capacity: where the requests
    they send need more resource units than the site has, every arc into it is cut by the
    same factor (capacity / units needed) and what is cut becomes unserved, so each user's
    fractions still add up to 1. Unchanged wherever the plan fits within OVER_CAPACITY_TOL
    (the solver's own round-off on a binding capacity is not cut)."""
    needed = arcs.by_dc @ (hour.resources_per_request[arcs.k] * x * hour.demand[arcs.j, 0])  # (N,) units
    capacity = hour.capacity
    factor = np.divide(capacity, needed, out=np.ones_like(needed), where=needed > capacity * (1.0 + OVER_CAPACITY_TOL))
    if (factor >= 1.0).all():
        return x, u
    kept = x * factor[arcs.i]
    return kept, u + arcs.by_user @ (x - kept)
