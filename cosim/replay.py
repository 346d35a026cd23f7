"""Replaying an offline plan hour by hour (the offline policies of `cosim run`)."""
from __future__ import annotations

import numpy as np

from agents.hour import Choice
from cosim.glb import Arcs, Solution
from cosim.instance import Instance

OVER_CAPACITY_TOL = 1e-6  # relative: a replayed plan's use of a site above its capacity that is left alone


class PlanReplay:
    """An operator's decision rule that replays *plan*: its fractions of each hour, cut back
    where the users' demand has outgrown a site's capacity (`within_capacity`)."""

    def __init__(self, plan: Solution):
        self.plan = plan
        self.arcs = plan.arcs

    def decide(self, hour: int, shown: Instance) -> Choice:
        x, u = within_capacity(self.arcs, shown, self.plan.x_hour(hour), self.plan.u[:, hour])
        return Choice(x=x, u=u)

    def commit(self, choice: Choice) -> None:
        """A plan carries no state from hour to hour."""


def within_capacity(arcs: Arcs, hour: Instance, x: np.ndarray, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
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
