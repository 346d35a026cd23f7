"""The co-simulation: users, operators and regional grids in one hourly loop (DESIGN.md,
"One simulated hour").

Each hour the users emit their requests; the grids publish the signals the operators
decide on (what they publish depends on the coupling); the operators route their
requests; the data centers draw power; the grids re-dispatch with that load; and the
hour is recorded twice: as the operators predicted it (decided energy x the signals
they saw) and as it happened (after re-dispatch). Couplings:

- open: the operators see exogenous signals (the no-relocation baseline dispatch) and
  the grids' response never reaches them (the papers' setting);
- lagged: the grids publish hour t dispatched with the data centers' load of hour t-1,
  so the response to yesterday's move is what today's decision sees;
- iterate: within the hour, publish, decide and re-publish with the relaxed new load
  until the load stops moving (a same-hour fixed point; iterations are recorded).

Several operators (equal shares of every user's demand and every site's capacity) share
the grids: deciding on the same signals, they herd; `sequential` shows each operator the
grid after the previous ones moved, `damping` prices moving demand between hours and
`max_shift` caps the share of demand served away from home.
"""
from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass, replace

import mesa
import numpy as np

from agents import DataCenter, GridAgent, OperatorAgent, UserAgent
from cosim.glb import OnlineSolver, Policy, Solution
from cosim.instance import Instance
from grids.opf import LoadShedWarning
from grids.grid import RegionGrid

COUPLINGS = ("open", "lagged", "iterate")
SIGNALS = ("price_usd_per_mwh", "carbon_kg_per_kwh", "lme_kg_per_kwh", "wue_l_per_kwh", "ewif_l_per_kwh")


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
    an offline solution to replay instead of deciding online. *without* (grid name -> hour
    -> dispatch without data centers) lets the runs of one scenario share those dispatches.
    """

    def __init__(self, inst: Instance, sites: list[str], policy: Policy, *, grids: list[RegionGrid] = (),
                 coupling: str = "lagged", operators: int = 1, herding: Herding = Herding(),
                 plan: Solution | None = None, online_algorithm: str | None = None, market: Market | None = None,
                 iterate_max: int = 20, iterate_tol: float = 1e-3, relaxation: float = 0.5, iterate_jump: bool = True,
                 seed: int = 0,
                 without: dict[str, dict] | None = None):
        super().__init__(seed=seed)
        market = market or Market(discounts=(0.0,) * len(inst.tiers))
        if coupling not in COUPLINGS:
            raise ValueError(f"coupling must be one of {COUPLINGS}")
        if coupling != "open" and not grids:
            raise ValueError("lagged and iterate couplings need grids")
        self.inst, self.policy, self.coupling, self.herding = inst, policy, coupling, herding
        self.iterate_max, self.iterate_tol, self.relaxation = iterate_max, iterate_tol, relaxation
        self.iterate_jump = iterate_jump
        self.hour = 0
        self.run_s = 0.0  # wall time of run(), s: decisions, dispatches and bookkeeping
        self.fallback_hours: set[int] = set()
        n, j_count, _, t_count = inst.shape

        without = {} if without is None else without
        self.grids = [GridAgent(self, rg, inst.times[0], t_count, without=without.setdefault(rg.name, {})) for rg in grids]
        where = {site: (g, pos) for g, grid in enumerate(self.grids) for pos, site in enumerate(grid.sites)}
        self._dc_grid = np.array([where[s][0] if s in where else -1 for s in sites])
        self._dc_pos = np.array([where[s][1] if s in where else -1 for s in sites])
        if grids and (self._dc_grid < 0).any():
            raise ValueError(f"sites without a grid: {[s for s, g in zip(sites, self._dc_grid) if g < 0]}")

        self.op_inst = inst.scaled(1.0 / operators, 1.0 / operators)  # one of M equal operators
        self.operators = []
        for k in range(operators):
            name = f"operator-{k + 1}"
            solver = None if plan is not None else OnlineSolver(
                self.op_inst, policy, online_algorithm, damping=herding.damping, max_shift=herding.max_shift)
            self.operators.append(OperatorAgent(self, name=name, solver=solver, plan=plan))
            for i, dc in enumerate(inst.datacenters):
                DataCenter(self, name=dc, site=sites[i], operator=name, index=i, pue=float(inst.pue[i]),
                           capacity=float(self.op_inst.capacity[i]))
        self.arcs = self.operators[0].arcs
        region_demand = inst.region_demand
        shares = np.divide(inst.demand.sum(axis=1), region_demand[inst.user_region].sum(axis=1),
                           out=np.ones(j_count), where=region_demand[inst.user_region].sum(axis=1) > 0)
        self.market = market
        self._home = _home_sites(inst)
        self.users = [UserAgent(self, index=j, region=r, tier=t, region_base=region_demand[inst.user_region[j]],
                                share=float(shares[j]), list_price=market.list_price_usd_per_request,
                                discount=market.discounts[inst.user_tier[j]], elasticity=market.elasticity)
                      for j, (r, t) in enumerate(inst.users)]

        # hourly records
        self.demand = np.zeros((j_count, t_count))
        self.x = np.zeros((len(self.arcs), t_count))
        self.u = np.zeros((j_count, t_count))
        self.seen = {name: np.array(getattr(inst, name), dtype=float) for name in SIGNALS}
        self.realized = {name: np.array(getattr(inst, name), dtype=float) for name in SIGNALS}
        self.facility_mw = np.zeros((n, t_count))
        g_count = len(self.grids)
        self.emissions_with_kg = np.zeros((g_count, t_count))
        self.emissions_without_kg = np.zeros((g_count, t_count))
        self.consumers_with_usd = np.zeros((g_count, t_count))
        self.consumers_without_usd = np.zeros((g_count, t_count))
        self.grid_demand_mw = np.zeros((g_count, t_count))
        self.grid_background_mw = np.zeros((g_count, t_count))
        self.shed_mw = np.zeros((g_count, t_count))
        self.replay_unserved = np.zeros((j_count, t_count))
        """(J, T) requests a replayed plan left unserved because the users' demand outgrew a
        site's capacity (agents.operator.within_capacity); zeros online."""
        self.iterations = np.ones(t_count, dtype=int)
        self.residual = np.zeros(t_count)
        self.published_mw = np.zeros((n, t_count))
        """(N, T) iterate: the load the hour's last published signals were dispatched with (the
        residual is the relative L1 distance of facility_mw from it); other couplings: zeros."""
        self.datacollector = mesa.DataCollector(model_reporters={
            "facility_mw": lambda m: float(m.facility_mw[:, m.hour - 1].sum()),
            "iterations": lambda m: int(m.iterations[m.hour - 1]),
        })

    # -- the hour ------------------------------------------------------------------

    def step(self) -> None:
        """One simulated hour."""
        k = self.hour
        shares = self._tier_shares()
        self.demand[:, k] = [user.emit(k, shares[user.index]) for user in self.users]
        if self.coupling == "iterate":
            load = self._iterate(k)
        else:
            load = self._decide_lagged_or_open(k)
        self._realize(k, load)
        self._price_response(k)
        self.hour += 1
        self.datacollector.collect(self)

    def run(self, progress=None) -> None:
        """Every hour of the horizon; *progress* (if given) is called after each hour.
        Load a grid cannot serve is shed at VOLL and recorded (shed_mw), not warned hourly."""
        started = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", LoadShedWarning)
            for _ in range(len(self.inst.times)):
                self.step()
                if progress:
                    progress()
        self.run_s += time.perf_counter() - started

    def _decide_lagged_or_open(self, k: int) -> np.ndarray:
        """Decide on this hour's published signals; returns the DC facility load (N,) MW."""
        previous = self.facility_mw[:, k - 1] if k > 0 else None
        if self.coupling == "open" or previous is None:
            shown = self._exogenous(k)
        else:
            shown = self._publish(k, previous)
        if not (self.herding.sequential and self.coupling == "lagged" and previous is not None):
            return self._decide_all(k, shown)
        # cumulative shifting: operator m sees the grid with operators < m at their new
        # load and the others where they were last hour
        per_op = previous / len(self.operators)
        load = np.zeros_like(previous)
        for m, op in enumerate(self.operators):
            if m > 0:
                shown = self._publish(k, load + per_op * (len(self.operators) - m))
            load += self._load(op.decide(k, self._shown(k, shown))[0], k)  # decide commits
        return self._combine(k, load)

    def _decide_all(self, k: int, shown: dict, *, commit: bool = True) -> np.ndarray:
        load = np.zeros(len(self.inst.datacenters))
        for op in self.operators:
            x, _ = op.decide(k, self._shown(k, shown), commit=commit)
            load += self._load(x, k)
        return self._combine(k, load)

    def _iterate(self, k: int) -> np.ndarray:
        """Same-hour fixed point: publish with a load, decide, move the load towards the
        decision, until the decision is within iterate_tol (relative, L1) of the load it was
        published with, or the cap is hit. The load moves by relaxation, except when two
        successive decisions agree within iterate_tol (and iterate_jump): then it jumps to the
        decision, and the next round confirms (or refutes) it with the same stopping test."""
        guess = self.facility_mw[:, k - 1] if k > 0 else self._decide_all(k, self._exogenous(k), commit=False)
        last = None  # the previous round's decision
        for n in range(1, self.iterate_max + 1):
            load = self._decide_all(k, self._publish(k, guess), commit=False)
            moved = _relative_l1(load, guess)
            self.iterations[k], self.residual[k] = n, moved
            self.published_mw[:, k] = guess
            if moved <= self.iterate_tol:
                break
            if self.iterate_jump and last is not None and _relative_l1(load, last) <= self.iterate_tol:
                guess = load  # the decision stopped moving while the relaxed load crawls towards it
            else:
                guess = (1 - self.relaxation) * guess + self.relaxation * load
            last = load
        for op in self.operators:
            op.commit()
        return load

    def _combine(self, k: int, load: np.ndarray) -> np.ndarray:
        """Record the operators' decisions (fractions of the users' whole demand)."""
        self.x[:, k] = sum(op.x for op in self.operators) / len(self.operators)
        self.u[:, k] = sum(op.u for op in self.operators) / len(self.operators)
        if self.operators[0].plan is not None:
            self.replay_unserved[:, k] = (self.u[:, k] - self.operators[0].plan.u[:, k]) * self.demand[:, k]
        return load

    def _load(self, x: np.ndarray, k: int) -> np.ndarray:
        """Facility MW per data center of one operator's fractions *x*."""
        a = self.arcs
        it_kwh = a.by_dc @ (x * self.demand[a.j, k] / len(self.operators) * self.inst.energy_kwh_per_request[a.k])
        return self.inst.pue * it_kwh / 1000.0

    # -- signals -------------------------------------------------------------------

    def _exogenous(self, k: int) -> dict[str, np.ndarray]:
        self._seen_now = {name: getattr(self.inst, name)[:, k] for name in SIGNALS}
        return self._seen_now

    def _publish(self, k: int, facility_mw: np.ndarray) -> dict[str, np.ndarray]:
        """The grids dispatched for hour k with *facility_mw* at the sites: what they publish
        (and, the last published, what the hour's decision saw)."""
        self._seen_now = self._gather([g.dispatch(k, self._site_mw(n, facility_mw)) for n, g in enumerate(self.grids)])
        return self._seen_now

    def _site_mw(self, g: int, facility_mw: np.ndarray) -> np.ndarray:
        """Data centers' MW summed per site of grid g."""
        at = self._dc_grid == g
        return np.bincount(self._dc_pos[at], weights=facility_mw[at], minlength=len(self.grids[g].sites))

    def _gather(self, outcomes) -> dict[str, np.ndarray]:
        return {name: np.array([getattr(outcomes[g], name)[p] for g, p in zip(self._dc_grid, self._dc_pos)])
                for name in SIGNALS}

    def _shown(self, k: int, signals: dict[str, np.ndarray]) -> Instance:
        """The one-hour instance an operator decides on: its demand, these signals."""
        hour = self.op_inst.window(k, k + 1)
        return replace(hour, demand=self.demand[:, k:k + 1] / len(self.operators),
                       **{name: signals[name][:, None] for name in SIGNALS})

    # -- what happened -------------------------------------------------------------

    def _realize(self, k: int, load: np.ndarray) -> None:
        """Re-dispatch with the decided load and record both views of the hour."""
        self.facility_mw[:, k] = load
        for DC in self.agents_by_type.get(DataCenter, []):
            DC.facility_mw = load[DC.index] / len(self.operators)
        if not self.grids:
            return
        seen = self._seen_now
        outcomes = []
        for g, grid in enumerate(self.grids):
            site_mw = self._site_mw(g, load)
            with_dc, without = grid.dispatch(k, site_mw), grid.without_datacenters(k)
            outcomes.append(with_dc)
            self.emissions_with_kg[g, k], self.emissions_without_kg[g, k] = with_dc.emissions_kg, without.emissions_kg
            self.consumers_with_usd[g, k], self.consumers_without_usd[g, k] = with_dc.consumers_cost_usd, without.consumers_cost_usd
            self.grid_demand_mw[g, k], self.shed_mw[g, k] = with_dc.demand_mw, with_dc.shed_mw
            self.grid_background_mw[g, k] = grid.background_mw[k]
        realized = self._gather(outcomes)
        for name in SIGNALS:
            self.seen[name][:, k] = seen[name]
            self.realized[name][:, k] = realized[name]

    def _tier_shares(self) -> np.ndarray:
        """(J,) the share of its region's requests each user's tier gets this hour: a logit
        on the tiers' last prices (the base shares when users are not price-sensitive)."""
        base = np.array([user.share for user in self.users])
        if self.market.tier_sensitivity == 0:
            return base
        utility = np.array([u.utility(self.market.tier_sensitivity, self.market.list_price_usd_per_request) for u in self.users])
        weight = np.exp(utility - utility.max())
        region = self.inst.user_region
        return weight / np.bincount(region, weights=weight)[region]

    def _price_response(self, k: int) -> None:
        """Every user's price for next hour: its offer plus the energy cost per request it was
        served at this hour; the reference: the offer plus that of its home site (`_home`) at
        the exogenous price."""
        if not self.market.responsive:
            return
        a, inst = self.arcs, self.inst
        y = self.x[:, k] * self.demand[a.j, k]
        it_kwh = y * inst.energy_kwh_per_request[a.k]
        price = self.realized["price_usd_per_mwh"][:, k] if self.grids else inst.price_usd_per_mwh[:, k]
        paid = np.bincount(a.j, weights=it_kwh * inst.pue[a.i] * price[a.i] / 1000.0, minlength=len(self.users))
        home = self._home[a.j]
        at_home = np.bincount(a.j, weights=it_kwh * inst.pue[home] * inst.price_usd_per_mwh[home, k] / 1000.0,
                              minlength=len(self.users))
        served = np.bincount(a.j, weights=y, minlength=len(self.users))
        for user in self.users:
            j = user.index
            if served[j] > 0:
                user.price_usd_per_request = user.offer + paid[j] / served[j]
                user.reference_usd_per_request = user.offer + at_home[j] / served[j]

    # -- results -------------------------------------------------------------------

    def solution(self, template: Solution | None = None) -> Solution:
        """The combined allocation as a Solution (fractions of the users' realized demand).
        With *template* (the offline plan replayed) its solver figures are the plan's; total_s
        is the wall time of the co-simulation (run()), plus the plan's own total_s."""
        base = template
        return Solution(
            policy=self.policy, arcs=self.arcs, x=self.x, u=self.u,
            mode="offline" if self.operators[0].plan is not None else "online",
            algorithm=base.algorithm if base is not None else self.operators[0].solver.algorithm,
            solver=base.solver if base is not None else ("CLARABEL" if self.policy.conic else "HIGHS"),
            objective_usd=math.nan, solve_s=base.solve_s if base is not None else sum(op.solver.solve_s for op in self.operators),
            total_s=self.run_s + (base.total_s if base is not None else 0.0),
            fallback_hours=sorted(self.fallback_hours),
        )

    def instances(self) -> tuple[Instance, Instance]:
        """(seen, realized): the users' realized demand with the signals the operators saw,
        and with the signals that resulted from the re-dispatch."""
        seen = replace(self.inst, demand=self.demand, **self.seen)
        realized = replace(self.inst, demand=self.demand, **self.realized)
        return seen, realized


def _relative_l1(a: np.ndarray, b: np.ndarray) -> float:
    """sum |a - b| / sum |a| (MW over MW), 0 when both are zero."""
    return float(np.abs(a - b).sum() / max(np.abs(a).sum(), 1e-9))


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
