"""Peak demand against the capacity the masks allow, before a run: which users (region x
tier) would be left with unserved requests, in which hour, whatever the policy.

Capacity is counted in requests per hour: a data center of capacity C_i (resource units
per hour) serves at most C_i / r requests in an hour with a model of r resource units per
request, so a user j can reach at most sum_i C_i / r_ji over the data centers its masks
allow, r_ji the lightest model feasible for j at i. Three checks, each a lower bound on the
requests a run leaves unserved in an hour:

- per user: the user's demand in its worst hour against what it can reach alone;
- all users: the hour's total demand against every site's capacity with its lightest
  model any user may use;
- jointly (users sharing a few sites, e.g. a residency rule): the least unserved demand of
  the hour, a small LP (HiGHS via scipy) over the hour's users and sites, reported for the
  worst hour when the two checks above find nothing.

Demand here is the scenario's (the trace or profile, tier shares applied); users' price
response (elasticity) can move it in a co-simulated run.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import linprog
from scipy.sparse import coo_matrix

from cosim.instance import Instance

_REL_TOL = 1e-9  # demand above capacity by less than this share is round-off


@dataclass(frozen=True)
class Shortfall:
    """An hour whose demand exceeds what the masks let users reach, requests/h.

    ``users``: the (region, tier) pairs short (all users for the total check; for the
    joint one, the users whose every allowed site is full in the best assignment); ``kind``: "user", "total" or
    "joint"; demand and capacity: the user's, or all users' (joint: the most servable);
    ``hours_short``: hours of the horizon short by this check (for this user, or in all)."""

    kind: str
    users: tuple[tuple[str, str], ...]
    hour: pd.Timestamp
    demand_requests_per_h: float
    capacity_requests_per_h: float
    hours_short: int
    unserved_requests_per_h: float

    def message(self) -> str:
        """One line: who, when, how much."""
        when = f"{self.hour:%Y-%m-%d %H:%M} UTC"
        also = f" ({self.hours_short} hour(s) short in all)" if self.hours_short > 1 else ""
        if self.kind == "user":
            region, tier = self.users[0]
            return (f"region '{region}', tier '{tier}': demand {self.demand_requests_per_h:,.0f} requests/h at {when} "
                    f"exceeds the {self.capacity_requests_per_h:,.0f} requests/h its masks allow{also}: "
                    f"at least {self.unserved_requests_per_h:,.0f} requests/h will be unserved")
        if self.kind == "total":
            return (f"all regions: demand {self.demand_requests_per_h:,.0f} requests/h at {when} exceeds the "
                    f"{self.capacity_requests_per_h:,.0f} requests/h of every site{also}: "
                    f"at least {self.unserved_requests_per_h:,.0f} requests/h will be unserved")
        names = ", ".join(f"{region}/{tier}" for region, tier in self.users)
        return (f"regions/tiers {names} (sharing too few sites): at {when} the masks let at most "
                f"{self.capacity_requests_per_h:,.0f} of the hour's {self.demand_requests_per_h:,.0f} requests be served"
                f"{also}: at least {self.unserved_requests_per_h:,.0f} requests/h will be unserved")


def lightest_feasible(inst: Instance) -> np.ndarray:
    """(J, N) resource units per request of the lightest model feasible for user j at data
    center i; inf where none is."""
    r = np.where(inst.feasible, inst.resources_per_request[None, None, :], np.inf)
    return r.min(axis=2)


def reachable_requests_per_hour(inst: Instance) -> np.ndarray:
    """(J,) the most requests per hour each user can be served, alone, on the data centers
    its masks allow (each with the lightest model feasible for it)."""
    with np.errstate(divide="ignore"):
        per_site = inst.capacity[None, :] / lightest_feasible(inst)  # (J, N), 0 where infeasible
    return per_site.sum(axis=1)


def site_requests_per_hour(inst: Instance) -> np.ndarray:
    """(N,) the most requests per hour each data center can serve, with the lightest model
    any user may use there (0 for a site no user may use)."""
    lightest = lightest_feasible(inst).min(axis=0)
    with np.errstate(divide="ignore"):
        return np.where(np.isfinite(lightest), inst.capacity / lightest, 0.0)


def shortfalls(inst: Instance) -> list[Shortfall]:
    """Every user short of capacity in its worst hour, the total check's worst hour, and
    (when neither finds one) the jointly worst hour: see the module's docstring."""
    demand = inst.demand  # (J, T)
    users = inst.users
    out = []
    reach = reachable_requests_per_hour(inst)
    for j in range(demand.shape[0]):
        gap = demand[j] - reach[j]
        short = gap > _REL_TOL * np.maximum(reach[j], 1.0)
        if short.any():
            t = int(np.argmax(gap))
            out.append(Shortfall("user", (users[j],), inst.times[t], float(demand[j, t]), float(reach[j]),
                                 int(short.sum()), float(gap[t])))
    total, supply = demand.sum(axis=0), float(site_requests_per_hour(inst).sum())
    gap = total - supply
    short = gap > _REL_TOL * max(supply, 1.0)
    if short.any():
        t = int(np.argmax(gap))
        out.append(Shortfall("total", tuple(users), inst.times[t], float(total[t]), supply, int(short.sum()), float(gap[t])))
    if not out:
        joint = _joint_shortfall(inst)
        if joint is not None:
            out.append(joint)
    return out


def _joint_shortfall(inst: Instance) -> Shortfall | None:
    """The hour with the most demand no assignment can serve (an LP per hour), or None."""
    r = lightest_feasible(inst)
    j_of, i_of = np.nonzero(np.isfinite(r))
    if not len(j_of):
        return None
    n_users, n_sites = r.shape
    rows = np.concatenate([j_of, n_users + i_of])
    cols = np.concatenate([np.arange(len(j_of))] * 2)
    vals = np.concatenate([np.ones(len(j_of)), r[j_of, i_of]])
    a_ub = coo_matrix((vals, (rows, cols)), shape=(n_users + n_sites, len(j_of))).tocsr()
    worst, worst_gap, hours_short, full_at_worst = None, 0.0, 0, None
    for t in range(inst.demand.shape[1]):
        d = inst.demand[:, t]
        res = linprog(-np.ones(len(j_of)), A_ub=a_ub, b_ub=np.concatenate([d, inst.capacity]), bounds=(0, None),
                      method="highs")
        if res.status != 0:
            continue
        gap = float(d.sum() + res.fun)
        if gap > 1e-6 * max(float(d.sum()), 1.0):
            hours_short += 1
            if gap > worst_gap:
                worst, worst_gap = t, gap
                full_at_worst = res.slack[n_users:] <= 1e-6 * np.maximum(inst.capacity, 1.0)
    if worst is None:
        return None
    d = inst.demand[:, worst]
    # the users competing for the full sites: demand that hour, and no site left with room
    reachable = np.isfinite(r)
    group = np.flatnonzero((d > 0) & reachable.any(axis=1) & ~(reachable & ~full_at_worst[None, :]).any(axis=1))
    users = inst.users
    return Shortfall("joint", tuple(users[j] for j in group), inst.times[worst], float(d.sum()),
                     float(d.sum()) - worst_gap, hours_short, worst_gap)
