"""The co-simulation: users, operators and regional grids in one hourly loop (DESIGN.md,
"One simulated hour").

Each hour the users emit their requests; the grids publish the signals the operators
decide on and the operators route their requests (what the operators see is the
coupling's choice: cosim.coupling); the data centers draw power; the grids re-dispatch
with that load; and the hour is recorded twice: as the operators predicted it (decided
energy x the signals they saw) and as it happened (after re-dispatch). Before the next
hour, the users answer the price they were served at.

Several operators (equal shares of every user's demand and every site's capacity) share
the grids: deciding on the same signals, they herd; `sequential` shows each operator the
grid after the previous ones moved, `damping` prices moving demand between hours and
`max_shift` caps the share of demand served away from home.
"""
from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import mesa
import numpy as np

from agents import DataCenter, GridAgent, OperatorAgent, UserAgent
from agents.grid import WithoutDataCenters
from agents.hour import Choice, Decision, GridHour, HourRecord, Signals
from agents.user import tier_shares
from cosim.coupling import Coupling, Iterate, Lagged, Open, Sequential
from cosim.glb import OnlineSolver, Policy, Solution
from cosim.hourly_log import HourlyLog
from cosim.instance import Instance
from cosim.options import COUPLINGS
from cosim.replay import PlanReplay
from cosim.run_warnings import attributed
from grids.opf import LoadShedWarning


@dataclass(frozen=True)
class Market:
    """How users answer prices: elasticity of requests, tier choice (logit sensitivity on
    the tiers' prices over the list price) and the tiers' discounts."""

    discounts: tuple[float, ...]  # per tier, share off the list price
    list_price_usd_per_request: float = 0.001
    elasticity: float = 0.0
    tier_sensitivity: float = 0.0

    @property
    def responsive(self) -> bool:
        return self.elasticity > 0 or self.tier_sensitivity > 0


@dataclass(frozen=True)
class Herding:
    """How several operators are kept from all chasing the same site."""

    damping: float = 0.0  # switching cost, multiples of the hour's typical arc cost per unit of demand moved
    max_shift: float | None = None  # most of a user's demand served away from its local site
    sequential: bool = False  # each operator sees the grid after the previous ones moved (lagged coupling)


class CoSimulation(mesa.Model):
    """One policy through the hours of *inst* with the grids in *grids* (none: no feedback).

    *inst* is the decision instance: its signals are the exogenous ones (open coupling, and
    the first hour of the others); *sites* names each data center's grid site; *plan* is
    an offline solution to replay instead of deciding online. *without* (the grids'
    dispatch without data centers) lets the runs of one scenario share those dispatches.
    The hours go into `log` (cosim.hourly_log.HourlyLog).
    """

    def __init__(self, inst: Instance, sites: list[str], policy: Policy, *, grids: Sequence = (),
                 coupling: str = "lagged", operators: int = 1, herding: Herding = Herding(),
                 plan: Solution | None = None, online_algorithm: str | None = None, market: Market | None = None,
                 iterate_max: int = 20, iterate_tol: float = 1e-3, relaxation: float = 0.5, iterate_jump: bool = True,
                 seed: int = 0, without: WithoutDataCenters | None = None, label: str = ""):
        super().__init__(seed=seed)
        self.label = label  # the run, named in the warnings of its hours (cosim.run_warnings)
        if coupling not in COUPLINGS:
            raise ValueError(f"coupling must be one of {COUPLINGS}")
        if coupling != "open" and not grids:
            raise ValueError("lagged and iterate couplings need grids")
        self.inst, self.policy, self.plan, self.herding = inst, policy, plan, herding
        self.market = market or Market(discounts=(0.0,) * len(inst.tiers))
        self.coupling: Coupling = _coupling(coupling, herding, iterate_max, iterate_tol, relaxation, iterate_jump)
        self.hour = 0
        self.run_s = 0.0  # wall time of run(), s: decisions, dispatches and bookkeeping
        self.decisions = 0  # hourly GLB problems the operators solved (online; a replayed plan solves none)
        t_count = len(inst.times)

        without = WithoutDataCenters() if without is None else without
        self.grids = [GridAgent(self, rg, inst.times[0], t_count, without=without) for rg in grids]
        where = {site: (g, pos) for g, grid in enumerate(self.grids) for pos, site in enumerate(grid.sites)}
        self._dc_grid = np.array([where[s][0] if s in where else -1 for s in sites])
        self._dc_pos = np.array([where[s][1] if s in where else -1 for s in sites])
        if grids and (self._dc_grid < 0).any():
            raise ValueError(f"sites without a grid: {[s for s, g in zip(sites, self._dc_grid) if g < 0]}")

        self.op_inst = inst.scaled(1.0 / operators, 1.0 / operators)  # one of M equal operators
        self.operators = [self._operator(k, sites, online_algorithm) for k in range(operators)]
        self.arcs = self.operators[0].arcs
        self.users = self._users()
        self._home = _home_sites(inst)
        self.log = HourlyLog.empty(inst, len(self.arcs), tuple(g.name for g in self.grids), coupling=coupling,
                                   operators=operators, iterate_tol=iterate_tol)

    def _operator(self, k: int, sites: list[str], online_algorithm: str | None) -> OperatorAgent:
        """Operator k + 1 and its data centers (1/M of every site's capacity)."""
        name = f"operator-{k + 1}"
        rule = PlanReplay(self.plan) if self.plan is not None else OnlineSolver(
            self.op_inst, self.policy, online_algorithm, damping=self.herding.damping, max_shift=self.herding.max_shift)
        operator = OperatorAgent(self, name=name, rule=rule)
        for i, dc in enumerate(self.inst.datacenters):
            DataCenter(self, name=dc, site=sites[i], operator=name, index=i, pue=float(self.inst.pue[i]),
                       capacity=float(self.op_inst.capacity[i]))
        return operator

    def _users(self) -> list[UserAgent]:
        """One user agent per region x tier, with its base share of the region's requests."""
        inst, market = self.inst, self.market
        region_demand = inst.region_demand
        per_user = region_demand[inst.user_region].sum(axis=1)
        shares = np.divide(inst.demand.sum(axis=1), per_user, out=np.ones(len(per_user)), where=per_user > 0)
        return [UserAgent(self, index=j, region=r, tier=t, region_base=region_demand[inst.user_region[j]],
                          share=float(shares[j]), list_price=market.list_price_usd_per_request,
                          discount=market.discounts[inst.user_tier[j]], elasticity=market.elasticity)
                for j, (r, t) in enumerate(inst.users)]

    # -- the hour ------------------------------------------------------------------

    def step(self) -> None:
        """One simulated hour."""
        k = self.hour
        demand = self._emit(k)  # 1. users emit their requests
        previous_mw = self.log.facility_mw[:, k - 1] if k > 0 else None
        decided = self.coupling.decide(self, k, demand, previous_mw)  # 2-3, 5. grids publish, operators decide
        load = decided.decision.facility_mw
        for dc in self.agents_by_type[DataCenter]:  # the data centers draw
            dc.draw(load[dc.index] / len(self.operators))
        realized, grid_hours = self._realize(k, load)  # 4. grids re-dispatch
        self.log.record(k, HourRecord(  # 6. record both views of the hour
            demand=demand, decision=decided.decision, seen=decided.seen, realized=realized, grids=grid_hours,
            iterations=decided.iterations, residual=decided.residual, published_mw=decided.published_mw,
            replay_unserved=self._replay_unserved(k, decided.decision, demand), fallback=decided.fallback))
        self._answer_prices(k, demand, decided.decision, realized)
        self.hour += 1

    def run(self, progress: Callable[[], None] | None = None) -> HourlyLog:
        """Every hour of the horizon; *progress* (if given) is called after each hour.
        Load a grid cannot serve is shed at VOLL and recorded (shed_mw), not warned hourly."""
        started = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", LoadShedWarning)
            for _ in range(len(self.inst.times)):
                with attributed(self._where()):
                    self.step()
                if progress:
                    progress()
        self.run_s += time.perf_counter() - started
        return self.log

    def _where(self) -> str:
        """``RUN: policy P, hour 2022-09-22T03:00Z``: where a warning of this hour belongs."""
        run = f"{self.label}: " if self.label else ""
        return f"{run}policy {self.policy.name}, hour {self.inst.times[self.hour]:%Y-%m-%dT%H:%MZ}"

    def _emit(self, k: int) -> np.ndarray:
        """(J,) the users' requests of hour k."""
        shares = tier_shares(self.users, self.inst.user_region, self.market.tier_sensitivity,
                             self.market.list_price_usd_per_request)
        return np.array([user.emit(k, shares[user.index]) for user in self.users], dtype=float)

    # -- what the couplings use (cosim.coupling.World) -------------------------------

    def exogenous(self, hour: int) -> Signals:
        """The decision instance's own signals of *hour*."""
        return Signals.at_hour(self.inst, hour)

    def publish(self, hour: int, facility_mw: np.ndarray) -> Signals:
        """What the grids publish for *hour* dispatched with *facility_mw* at the sites."""
        return Signals.gather([g.publish(hour, self._site_mw(n, facility_mw)) for n, g in enumerate(self.grids)],
                              self._dc_grid, self._dc_pos)

    def shown(self, hour: int, signals: Signals, demand: np.ndarray) -> Instance:
        """The one-hour instance an operator decides on: its share of *demand*, *signals*."""
        return replace(self.op_inst.window(hour, hour + 1), demand=demand[:, None] / len(self.operators),
                       **{name: value[:, None] for name, value in signals.as_dict().items()})

    def load_mw(self, choice: Choice, demand: np.ndarray) -> np.ndarray:
        """(N,) facility MW of one operator's *choice* on its share of *demand*."""
        a = self.arcs
        it_kwh = a.by_dc @ (choice.x * demand[a.j] / len(self.operators) * self.inst.energy_kwh_per_request[a.k])
        return self.inst.pue * it_kwh / 1000.0

    def decide(self, hour: int, signals: Signals, demand: np.ndarray) -> Decision:
        """Every operator's choice on the same *signals* (not committed), combined."""
        shown = self.shown(hour, signals, demand)
        choices = [op.decide(hour, shown) for op in self.operators]
        if self.plan is None:
            self.decisions += len(choices)
        load = np.zeros(len(self.inst.datacenters))
        for choice in choices:
            load += self.load_mw(choice, demand)
        return self.combine(choices, load)

    def combine(self, choices: Sequence[Choice], facility_mw: np.ndarray) -> Decision:
        """The operators' choices as fractions of the users' whole demand (their mean)."""
        count = len(self.operators)
        return Decision(x=sum(c.x for c in choices) / count, u=sum(c.u for c in choices) / count,
                        facility_mw=facility_mw, choices=tuple(choices))

    # -- what happened -------------------------------------------------------------

    def _realize(self, k: int, load: np.ndarray) -> tuple[Signals | None, tuple[GridHour, ...]]:
        """Re-dispatch every grid with the decided load: the realized signals per data center
        and each grid's hour (none without grids)."""
        if not self.grids:
            return None, ()
        grid_hours = tuple(grid.realize(k, self._site_mw(g, load)) for g, grid in enumerate(self.grids))
        return Signals.gather([h.with_load for h in grid_hours], self._dc_grid, self._dc_pos), grid_hours

    def _site_mw(self, g: int, facility_mw: np.ndarray) -> np.ndarray:
        """Data centers' MW summed per site of grid g."""
        at = self._dc_grid == g
        return np.bincount(self._dc_pos[at], weights=facility_mw[at], minlength=len(self.grids[g].sites))

    def _replay_unserved(self, k: int, decision: Decision, demand: np.ndarray) -> np.ndarray | None:
        """(J,) requests a replayed plan left unserved over its own (capacity outgrown)."""
        if self.plan is None:
            return None
        return (decision.u - self.plan.u[:, k]) * demand

    def _answer_prices(self, k: int, demand: np.ndarray, decision: Decision, realized: Signals | None) -> None:
        """Every user's price for next hour: its offer plus the energy cost per request it was
        served at this hour; the reference: the offer plus that of its home site (`_home`) at
        the exogenous price."""
        if not self.market.responsive:
            return
        a, inst = self.arcs, self.inst
        y = decision.x * demand[a.j]
        it_kwh = y * inst.energy_kwh_per_request[a.k]
        price = realized.price_usd_per_mwh if realized is not None else inst.price_usd_per_mwh[:, k]
        paid = np.bincount(a.j, weights=it_kwh * inst.pue[a.i] * price[a.i] / 1000.0, minlength=len(self.users))
        home = self._home[a.j]
        at_home = np.bincount(a.j, weights=it_kwh * inst.pue[home] * inst.price_usd_per_mwh[home, k] / 1000.0,
                              minlength=len(self.users))
        served = np.bincount(a.j, weights=y, minlength=len(self.users))
        for user in self.users:
            j = user.index
            if served[j] > 0:
                user.answer_price(paid[j] / served[j], at_home[j] / served[j])

    # -- results -------------------------------------------------------------------

    def timings(self, plan: Solution | None = None) -> dict:
        """This run's share of summary.json ``timings``: wall_s (run(), plus the plan's
        own total_s), glb_solver_s, dispatch_solver_s (HiGHS in its grids' dispatches),
        dispatch_count and decisions (hourly GLB problems; 1 for a solved plan)."""
        dispatchers = [g.grid.dispatcher for g in self.grids]
        solve_s = plan.solve_s if plan is not None else sum(op.rule.solve_s for op in self.operators)
        return {"wall_s": self.run_s + (plan.total_s if plan is not None else 0.0), "glb_solver_s": float(solve_s),
                "dispatch_solver_s": float(sum(d.lp_s for d in dispatchers)),
                "dispatch_count": int(sum(d.solves for d in dispatchers)),
                "decisions": 1 if plan is not None else self.decisions}

    def solution(self, template: Solution | None = None) -> Solution:
        """The combined allocation as a Solution (fractions of the users' realized demand).
        With *template* (the offline plan replayed) its solver figures are the plan's; total_s
        is the wall time of the co-simulation (run()), plus the plan's own total_s."""
        base = template
        return Solution(
            policy=self.policy, arcs=self.arcs, x=self.log.x, u=self.log.u,
            mode="offline" if self.plan is not None else "online",
            algorithm=base.algorithm if base is not None else self.operators[0].rule.algorithm,
            solver=base.solver if base is not None else ("CLARABEL" if self.policy.conic else "HIGHS"),
            objective_usd=math.nan,
            solve_s=base.solve_s if base is not None else sum(op.rule.solve_s for op in self.operators),
            total_s=self.run_s + (base.total_s if base is not None else 0.0),
            fallback_hours=sorted(set(self.log.fallback_hours)),
        )


def _coupling(name: str, herding: Herding, iterate_max: int, iterate_tol: float, relaxation: float,
              jump: bool) -> Coupling:
    if name == "iterate":
        return Iterate(max_rounds=iterate_max, tol=iterate_tol, relaxation=relaxation, jump=jump)
    if name == "lagged":
        return Sequential() if herding.sequential else Lagged()
    return Open()


def _home_sites(inst: Instance) -> np.ndarray:
    """(J,) the data center whose energy cost is each user's reference price: its region's
    local site, or, for a region without one (local = -1), the nearest site that may serve
    it (any model; the nearest of all if none may). Without coordinates every distance is
    0 and the first such site in scenario order is taken, as the `nearest` policy does."""
    home = np.array(inst.local, dtype=int)
    usable = inst.feasible.any(axis=2)  # (J, N)
    for j in np.flatnonzero(home < 0):
        candidates = np.flatnonzero(usable[j]) if usable[j].any() else np.arange(len(inst.datacenters))
        home[j] = candidates[np.argmin(inst.distance_km[j, candidates])]
    return home
