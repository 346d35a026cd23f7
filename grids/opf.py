"""DC optimal dispatch of one regional pandapower net, hour by hour, with HiGHS.

One module over 400 lines, on purpose: nearly all of it is :class:`Dispatcher`, one
class whose build (network matrices, units, LP) and per-hour solve, LMEs and validity
ranges share some eighty attributes of LP state (column and row layout, current bounds, the
PTDF rows in the model); split into modules they would pass that state around whole.
The result type (:class:`DispatchResult`) is the only clean seam and is small.

``Dispatcher(net)`` builds the network model and the LP once; ``solve()`` re-dispatches
one hour (loads, data-center load at buses, availability) by changing bounds only and
warm-starting HiGHS from the previous optimal basis. ``dispatch(net)`` is the one-shot
form. Every hour returns a :class:`DispatchResult`: dispatch per element, LMP and LME per
bus, cost, emissions, average intensity, fuel mix, water, branch flows, shed load.

Network model (mirrors ``pandapower.rundcopp``)
----------------------------------------------
pandapower builds its internal PYPOWER case once, on a private copy of the net, with the
same options ``rundcopp`` uses (``_init_rundcopp_options`` + ``_pd2ppc``: connectivity
check, bus-bus switches fused, out-of-service elements dropped). From that case we take:

- ``makeBdc``: bus and branch susceptance matrices (x in per unit on ``net.sn_mva``,
  off-nominal taps divide b, phase shifts give the constant injections Pbusinj/Pfinj);
- branch limits ``RATE_A`` exactly as pandapower's OPF: a line is limited by
  ``max_loading_percent/100 * max_i_ka * df * parallel * vn_kv(from bus) * sqrt(3)`` and
  a transformer by ``max_loading_percent/100 * sn_mva * df * parallel``; a branch
  without ``max_loading_percent`` (column missing or NaN) is *unlimited*, as in
  pandapower;
- generator rows: in-service ``ext_grid``, ``gen`` and controllable ``sgen`` with their
  ``min_p_mw``/``max_p_mw``; a missing or NaN limit is +/-1e9 MW (pandapower's
  ``p_lim_default``; an ext_grid without limits may import or export without bound);
  a ``gen`` with ``controllable == False`` is fixed at its ``p_mw``;
- fixed demand per bus: ``PD + GS`` (loads ``p_mw * scaling``, minus non-controllable
  sgen ``p_mw * scaling`` clipped to their p limits, plus storage, wards, shunt
  conductance at 1 p.u.).

Loads with ``controllable == True`` (and controllable storage) are dispatchable in
pandapower's OPF; here they are fixed demand at ``p_mw * scaling`` (a warning says so).
In-service DC lines are refused (``NotImplementedError``).

Formulation: PTDF, not bus angles
---------------------------------
The reduced bus susceptance matrix (one reference bus per island removed) is factorized
once with SuperLU and gives the PTDF matrix. The LP then has

- columns: one per generator cost segment (one per generator for linear costs), one
  load-shed column per bus, one spill column per bus that has must-take injection;
- rows: one power balance per island and one ranged row per limited branch,
  ``-F <= PTDF (P - Pbusinj) + Pfinj <= F``, added lazily: the LP starts with the balance
  rows only; after each solve every limited branch's flow is checked (one PTDF mat-vec)
  and violated branches are added as rows and the LP re-solved (warm) until none is
  violated. Rows once added stay, so the model converges to the branches that bind in
  some hour. The optimum of the reduced LP is feasible for the full LP, hence optimal for
  it: same dispatch, same duals (absent rows are slack, dual 0).

Why PTDF: a new hour changes only row and column bounds (the load enters through one PTDF
mat-vec; the network factorization is never repeated), the LP has few rows (islands +
binding branches), and the optimal basis restricted to binding rows is tiny (1 + number of
congested branches), which makes LMEs and their validity ranges cheap. The angle
formulation would carry nb equality rows and nb free angle columns through every simplex
iteration and warm re-solve. Measured on case118: with a dense PTDF row for every branch,
HiGHS's fixed cost per warm re-solve was ~0.7 ms; with lazy rows the whole LP step (flow
check included) takes ~0.2 ms. The PTDF matrix is dense (n_branch x n_bus): fine for
regional nets of a few hundred buses, not meant for continental nets with thousands of buses.

Costs: ``poly_cost`` ``cp1_eur_per_mw`` (treated as USD/MWh) is linear; ``cp0_eur`` is
a constant added to ``cost_usd``; a nonzero ``cp2_eur_per_mw2`` is refused with a
``ValueError`` (an LP cannot carry it). ``pwl_cost`` (power_type "p") is supported when
convex: each segment becomes a column (a non-convex curve is refused). Without any cost
table pandapower minimizes total generation; so do we (cost 1 per MW, with a warning).

Load shedding and over-generation
---------------------------------
Each bus has a shed column at ``voll_usd_per_mwh`` (default 10,000 USD/MWh, the value of
lost load), bounded by the bus's positive demand, so the LP is always feasible when the
fleet is short: ``shed_mw`` reports it, the LMP at a bus that sheds is the VOLL, and the
result's ``message`` names the region (``name``) and ``hour_label``; a
:class:`LoadShedWarning` is issued too. Buses with must-take injection (non-controllable
sgen, negative fixed demand, generators with p_min > 0) have a spill column at the same
penalty (over-generation, reported in ``spill_mw`` and the message). A result is never an
unexplained infeasibility: if HiGHS still fails, a ``RuntimeError`` names region, hour and
HiGHS status.

LMP and LME from the optimal basis
----------------------------------
LMP (USD/MWh) = d(cost)/d(load at bus) = the balance-row dual of the bus's island plus
sum over limited branches of branch-row dual x PTDF[branch, bus] (HiGHS row duals are
d(objective)/d(active row bound); a load at a bus moves the balance row by 1 and each
branch row by its PTDF entry). This is what pandapower reports as ``res_bus.lam_p``.

LME (kg/MWh) = d(system emissions)/d(load at bus), congestion included: with the optimal
basis B fixed, one back-solve ``B^T y = e_B`` (``Highs.getBasisTransposeSolve``; e_B =
emission rates of the basic columns, 0 for basic row slacks) gives emission "duals" y, and
LME = y_balance + sum y_branch x PTDF, exactly as the LMP comes from the cost duals. One
back-solve serves all buses.

Validity range (``lme_valid_mw``): the basis stays optimal (costs do not change with
load) as long as it stays primal feasible. Restricted to the binding rows R_N and basic
columns C_B, the basis is the small square matrix M = A[R_N, C_B]; a unit of load at bus
b moves the basic columns by M^-1 a_b[R_N] and every non-binding branch flow (in the LP
or not) accordingly. A ratio test against all bounds (generator limits, shed bounds,
branch limits of every limited branch) gives how far the load at b can decrease
(``down_mw``) and increase (``up_mw``) before a basic variable or a branch hits a bound,
i.e. before the marginal set changes. Ranges are for a change at that one bus, other
loads fixed. Branches whose slack over an upper bound of their flow sensitivity exceeds
every range found so far are skipped (exact screening, it only saves time).

Degenerate bases, stated honestly: if a basic variable already sits at a bound (primal
degeneracy: e.g. a generator exactly at its limit that HiGHS keeps basic, or a branch
exactly at its rating), the reported LME is valid on one side only and the range is 0 MW
on the other side; ``lme_valid_mw`` shows it, and the one-sided derivative on the 0 side
differs in general. If the LP has several optimal dispatches (ties in cost, dual
degeneracy), HiGHS's basis picks one and the LME belongs to that dispatch; use distinct
costs to get a unique answer. At a bus whose whole load is shed, the LMP is the VOLL and
the LME is 0 (one more MW there is shed, not served).

Accounting
----------
One solve is one hour: MW x 1 h = MWh. ``emissions_kg`` = sum of dispatched and
must-take output x ``co2_kg_per_mwh`` (column on gen/sgen/ext_grid, 0 where missing);
``water_l`` likewise with ``water_l_per_mwh``; ``avg_intensity_kg_per_mwh`` = emissions /
generation (positive outputs, imports through ext_grid included); ``fuel_mix_mw`` sums
output by the ``fuel`` column (``"unknown"`` where missing; empty if no table has the
column). ``cost_usd`` is the generation cost (linear + constants), without VOLL
penalties (those are in ``objective_usd``).
"""
from __future__ import annotations

import copy
import logging
import math
import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import highspy
import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components
from scipy.sparse.linalg import splu

from grids.errors import DataWarning, SolverInputError

if TYPE_CHECKING:
    from pandapower.auxiliary import pandapowerNet

__all__ = ["DispatchResult", "Dispatcher", "dispatch", "dispatch_totals", "LoadShedWarning"]

# PYPOWER column indices (pandapower.pypower.idx_bus / idx_gen / idx_brch).
from pandapower.pypower.idx_brch import F_BUS, RATE_A, T_BUS
from pandapower.pypower.idx_bus import BUS_TYPE, GS, PD, REF
from pandapower.pypower.idx_gen import GEN_BUS, PMAX, PMIN

_SHED_TOL_MW = 1e-6
_BOUND_TOL = 1e-7  # HiGHS primal feasibility tolerance (MW here)


class LoadShedWarning(DataWarning):
    """The fleet could not meet load (or had to spill must-take output) in a region-hour."""


@dataclass(frozen=True)
class ResultLabels:
    """The net's element indices a result's arrays follow (one per dispatcher)."""

    gen: pd.Index
    sgen: pd.Index
    ext_grid: pd.Index
    bus: pd.Index
    branch: pd.Index
    fuel: pd.Index


@dataclass
class DispatchResult:
    """One region-hour of DC-OPF dispatch. Units: MW (= MWh for the hour), USD, kg, L.

    Per-element results are numpy arrays in the net's table order (``p_mw["gen"]`` follows
    ``net.gen``, ``bus_*`` follow ``net.bus``), read without pandas in the hourly loop; the
    properties give them as Series indexed like the net (``gen_p_mw``, ``lmp_usd_per_mwh``...).
    """

    p_mw: dict[str, np.ndarray]  # "gen", "sgen", "ext_grid": output per element (0 out of service; must-take sgen at its injection)
    bus_lmp_usd_per_mwh: np.ndarray  # NaN for out-of-service buses
    bus_lme_kg_per_mwh: np.ndarray  # d(system emissions)/d(load at bus)
    bus_lme_valid_mw: np.ndarray  # (buses, 2): down_mw, up_mw
    bus_shed_mw: np.ndarray  # normally all 0
    bus_spill_mw: np.ndarray  # must-take output spilled (over-generation)
    branch_p_from_mw: np.ndarray  # from-side MW per branch
    fuel_p_mw: np.ndarray  # output by fuel (labels.fuel)
    labels: ResultLabels
    cost_usd: float  # generation cost (linear + constant terms), no VOLL penalties
    emissions_kg: float
    load_mw: float  # total demand (loads + extra bus load + other fixed demand)
    avg_intensity_kg_per_mwh: float
    water_l: float
    congested_branches: list  # [(table, index), ...] at their limit
    objective_usd: float  # LP objective: cost_usd + VOLL x (shed + spill)
    region: str = "region"
    hour_label: Any = None
    message: str = ""  # empty unless load was shed or output spilled
    simplex_iterations: int = 0
    timings_s: dict = field(default_factory=dict)

    @property
    def shed_total_mw(self) -> float:
        return float(self.bus_shed_mw.sum())

    @property
    def gen_p_mw(self) -> pd.Series:
        return pd.Series(self.p_mw["gen"], index=self.labels.gen, name="p_mw")

    @property
    def sgen_p_mw(self) -> pd.Series:
        return pd.Series(self.p_mw["sgen"], index=self.labels.sgen, name="p_mw")

    @property
    def ext_grid_p_mw(self) -> pd.Series:
        return pd.Series(self.p_mw["ext_grid"], index=self.labels.ext_grid, name="p_mw")

    @property
    def lmp_usd_per_mwh(self) -> pd.Series:
        return pd.Series(self.bus_lmp_usd_per_mwh, index=self.labels.bus, name="lmp_usd_per_mwh")

    @property
    def lme_kg_per_mwh(self) -> pd.Series:
        return pd.Series(self.bus_lme_kg_per_mwh, index=self.labels.bus, name="lme_kg_per_mwh")

    @property
    def lme_valid_mw(self) -> pd.DataFrame:
        return pd.DataFrame(self.bus_lme_valid_mw, index=self.labels.bus, columns=_VALID_COLS)

    @property
    def shed_mw(self) -> pd.Series:
        return pd.Series(self.bus_shed_mw, index=self.labels.bus, name="shed_mw")

    @property
    def spill_mw(self) -> pd.Series:
        return pd.Series(self.bus_spill_mw, index=self.labels.bus, name="spill_mw")

    @property
    def branch_flow_mw(self) -> pd.Series:
        return pd.Series(self.branch_p_from_mw, index=self.labels.branch, name="p_from_mw")

    @property
    def fuel_mix_mw(self) -> pd.Series:
        return pd.Series(self.fuel_p_mw, index=self.labels.fuel, name="p_mw")


def _col(tab: pd.DataFrame, name: str, default: float) -> np.ndarray:
    if name in tab.columns:
        return pd.to_numeric(tab[name], errors="coerce").fillna(default).to_numpy(float)
    return np.full(len(tab), default, dtype=float)


def _as_index_array(values, index: pd.Index, what: str, region: str) -> tuple[np.ndarray, np.ndarray]:
    """Map a dict/Series keyed by element index, or an array in the table's order, to
    (positions, values)."""
    if isinstance(values, np.ndarray):
        if values.shape != (len(index),):
            raise ValueError(f"{region}: {what}: an array needs one value per element ({len(index)}), got shape {values.shape}")
        if not np.isfinite(values).all():
            raise _non_finite(region, what, index, values)
        return np.arange(len(index)), values.astype(float, copy=False)
    if isinstance(values, pd.Series):
        if values.index.equals(index):
            vals = values.to_numpy(float)
            if not np.isfinite(vals).all():
                raise _non_finite(region, what, index, vals)
            return np.arange(len(index)), vals
        keys, vals = values.index, values.to_numpy(float)
    else:
        keys = list(values.keys())
        vals = np.fromiter((float(v) for v in values.values()), float, len(keys))
    pos = index.get_indexer(keys)
    if (pos < 0).any():
        missing = [k for k, p in zip(keys, pos) if p < 0]
        raise ValueError(f"{region}: {what}: unknown index {missing[:5]}")
    if not np.isfinite(vals).all():
        raise _non_finite(region, what, pd.Index(keys), vals)
    return pos, vals


def _non_finite(region: str, what: str, index: pd.Index, vals: np.ndarray) -> SolverInputError:
    """The dispatch input *what* of *region* has a NaN or infinite value: name the first."""
    vals = np.asarray(vals, dtype=float)
    k = int(np.flatnonzero(~np.isfinite(vals))[0])
    element = f" at element {index[k]}" if len(vals) == len(index) else ""
    return SolverInputError(f"{region}: dispatch input {what} has {vals[k]}{element} (values must be finite numbers)")


class Dispatcher:
    """DC-OPF of one pandapower net, built once per topology and re-solved per hour.

    Parameters
    ----------
    net : pandapowerNet
        The region's net (not modified: pandapower's conversion runs on a copy).
    voll_usd_per_mwh : float
        Value of lost load: the price of each shed MW. Default 10,000 USD/MWh.
    name : str
        Region name used in messages and warnings.
    spill_usd_per_mwh : float, optional
        Penalty per MW of must-take output spilled when it cannot be absorbed
        (over-generation). Default: the VOLL.
    """

    def __init__(self, net: pandapowerNet, *, voll_usd_per_mwh: float = 10000.0, name: str = "region",
                 spill_usd_per_mwh: float | None = None):
        t0 = time.perf_counter()
        self.name = str(name)
        self.voll = float(voll_usd_per_mwh)
        if not np.isfinite(self.voll) or self.voll <= 0:
            raise ValueError(f"{self.name}: voll_usd_per_mwh must be positive, got {voll_usd_per_mwh}")
        self.spill_cost = self.voll if spill_usd_per_mwh is None else float(spill_usd_per_mwh)
        if not np.isfinite(self.spill_cost) or self.spill_cost <= 0:
            raise ValueError(f"{self.name}: spill_usd_per_mwh must be positive, got {spill_usd_per_mwh}")
        self._build_network(net)
        self._build_units(net)
        self._build_lp()
        self._unit_of_element = {}  # table -> (elements,) its unit, -1 for none
        for tab, idx in (("gen", self._gen_index), ("sgen", self._sgen_index), ("ext_grid", self._eg_index)):
            m = self.unit_tab == tab
            lookup = np.full(len(idx), -1, np.int64)
            lookup[self._unit_pos[m]] = np.flatnonzero(m)
            self._unit_of_element[tab] = lookup
        self._labels = ResultLabels(gen=self._gen_index, sgen=self._sgen_index, ext_grid=self._eg_index, bus=self._bus_index,
                                    branch=self._branch_index,
                                    fuel=self._fuel_index if self._has_fuel else pd.Index([], name="fuel"))
        self.build_time_s = time.perf_counter() - t0

    # ------------------------------------------------------------------ build
    def _build_network(self, net) -> None:
        from pandapower.auxiliary import _add_auxiliary_elements, _init_rundcopp_options
        from pandapower.pd2ppc import _pd2ppc
        from pandapower.pypower.makeBdc import makeBdc

        if len(net.dcline) and net.dcline.in_service.any():
            raise NotImplementedError(f"{self.name}: in-service DC lines (net.dcline) are not supported")
        if len(net.bus) == 0:
            raise ValueError(f"{self.name}: the net has no buses")
        pc = net.poly_cost
        if len(pc) and (pc["cp2_eur_per_mw2"].fillna(0.0) != 0).any():
            rows = pc.index[pc["cp2_eur_per_mw2"].fillna(0.0) != 0].tolist()
            raise ValueError(
                f"{self.name}: poly_cost rows {rows[:10]} have a quadratic term cp2_eur_per_mw2; "
                "dispatch solves an LP: set cp2 to 0 (linearize) or use pwl_cost")

        netc = copy.deepcopy(net)
        for tab in ("load", "sgen", "storage"):  # as rundcopp: these tables need the column
            if len(netc[tab]) and "controllable" not in netc[tab].columns:
                netc[tab]["controllable"] = False
        self._controllable_loads = []
        for tab in ("load", "storage"):
            t = netc[tab]
            if len(t):
                ctrl = t["controllable"].fillna(False).astype(bool) & t["in_service"].astype(bool)
                if ctrl.any():
                    self._controllable_loads.append((tab, t.index[ctrl].tolist()))
                    netc[tab]["controllable"] = False  # fixed demand here (see module doc)
        if self._controllable_loads:
            warnings.warn(
                f"{self.name}: controllable loads/storage {self._controllable_loads} are treated as "
                "fixed demand at p_mw * scaling (pandapower's OPF would dispatch them)",
                UserWarning, stacklevel=3)
        _init_rundcopp_options(netc, check_connectivity=True, switch_rx_ratio=0.5, delta=1e-10,
                               trafo3w_losses="hv")
        _add_auxiliary_elements(netc)
        pp_log = logging.getLogger("pandapower")
        level = pp_log.level
        pp_log.setLevel(logging.ERROR)  # AC voltage-limit notices are irrelevant to a DC model
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ppc, ppci = _pd2ppc(netc)
        finally:
            pp_log.setLevel(level)
        self._netc = netc
        lookups = netc._pd2ppc_lookups
        self._is = netc._is_elements
        base = float(ppci["baseMVA"])
        bus = ppci["bus"]
        branch = ppci["branch"]
        nb = bus.shape[0]
        self.nb = nb

        # net bus -> internal bus (-1 if out of service / isolated)
        bl = np.asarray(lookups["bus"])
        bus_idx = net.bus.index.to_numpy()
        nbus_ppci = np.full(len(bus_idx), -1, dtype=np.int64)
        ok = bus_idx < len(bl)
        nbus_ppci[ok] = bl[bus_idx[ok]]
        nbus_ppci[(nbus_ppci >= nb)] = -1
        self._bus_index = net.bus.index
        self._netbus_to_i = nbus_ppci  # position in net.bus -> internal bus
        self._bus_lookup = bl

        # DC network matrices
        B, Bf, Pbusinj, Pfinj, _ = makeBdc(bus, branch)
        B = sp.csr_matrix(B.real if np.iscomplexobj(B.data) else B)
        Bf = sp.csr_matrix(Bf.real if np.iscomplexobj(Bf.data) else Bf)
        nl = branch.shape[0]
        self.nl = nl
        fb = branch[:, F_BUS].real.astype(np.int64)
        tb = branch[:, T_BUS].real.astype(np.int64)
        adj = sp.coo_matrix((np.ones(nl), (fb, tb)), shape=(nb, nb))
        n_isl, isl = connected_components(adj, directed=False)
        refs = []
        for k in range(n_isl):
            members = np.flatnonzero(isl == k)
            r = members[bus[members, BUS_TYPE] == REF]
            refs.append(int(r[0]) if len(r) else int(members[0]))
        self.n_isl = n_isl
        self.island = isl
        nonref = np.setdiff1d(np.arange(nb), np.asarray(refs))
        ptdf = np.zeros((nl, nb))
        if len(nonref) and nl:
            Bred = B[nonref][:, nonref].tocsc()
            lu = splu(Bred)
            X = lu.solve(np.ascontiguousarray(Bf[:, nonref].toarray().T))  # Bred^-1 Bf^T (Bred symmetric)
            ptdf[:, nonref] = X.T
        ptdf[np.abs(ptdf) < 1e-13] = 0.0
        self.ptdf = ptdf
        self.pbusinj_mw = np.asarray(Pbusinj, dtype=float).real * base
        self.pfinj_mw = np.asarray(Pfinj, dtype=float).real[:nl] * base
        self._flow_offset = self.pfinj_mw - ptdf @ self.pbusinj_mw  # flows = PTDF P + offset
        rate = branch[:, RATE_A].real
        lim = (rate != 0) & (rate < 1e10)  # as pandapower's dcopf (NaN -> unlimited)
        self.lim_rows = np.flatnonzero(lim)
        self.rate_mw = np.where(lim, rate, np.inf)

        # branch labels: ppc branch ranges per table, then in-service filter
        brs = np.asarray(ppci["internal"]["branch_is"]) if "branch_is" in ppci["internal"] else None
        labels = []
        for tab, (f, t) in lookups["branch"].items():
            if tab in ("line", "trafo"):
                idx = netc[tab].index.to_numpy()
                labels += [(tab, int(i)) for i in idx[: t - f]]
            elif tab == "trafo3w":
                idx = netc[tab].index.to_numpy()
                n3 = len(idx)
                for side, off in (("trafo3w_hv", 0), ("trafo3w_mv", n3), ("trafo3w_lv", 2 * n3)):
                    labels += [(side, int(i)) for i in idx[: max(0, min(n3, t - f - off))]]
            else:
                labels += [(tab, j) for j in range(t - f)]
        n_ppc_br = len(ppc["branch"])
        labels += [("branch", j) for j in range(len(labels), n_ppc_br)]
        labels = labels[:n_ppc_br]
        if brs is None or len(brs) != n_ppc_br:
            brs = np.ones(n_ppc_br, bool)
        self._branch_labels = [lab for lab, keep in zip(labels, brs) if keep]
        if len(self._branch_labels) != nl:
            self._branch_labels = [("branch", j) for j in range(nl)]
        self._branch_index = pd.MultiIndex.from_tuples(self._branch_labels, names=["table", "index"])

        # fixed demand per internal bus (MW): PD + GS from pandapower's conversion
        self._fixed_all = (bus[:, PD] + bus[:, GS]).real.astype(float).copy()
        # load contribution (in service) to split out for hourly overrides
        ld = net.load
        self._load_index = ld.index
        if len(ld):
            act = np.zeros(len(ld), bool)
            for key in ("load", "load_controllable"):
                if key in self._is:
                    act |= np.asarray(self._is[key], bool)
            lb = np.full(len(ld), -1, np.int64)
            okb = ld.bus.to_numpy() < len(bl)
            lb[okb] = bl[ld.bus.to_numpy()[okb]]
            act &= (lb >= 0) & (lb < nb)
            self._load_bus = np.where(act, lb, 0)
            self._load_active = act
            self._load_base = (ld.p_mw.to_numpy(float) * ld.scaling.to_numpy(float))
            self._load_netbus_pos = net.bus.index.get_indexer(ld.bus)
        else:
            self._load_bus = np.zeros(0, np.int64)
            self._load_active = np.zeros(0, bool)
            self._load_base = np.zeros(0)
            self._load_netbus_pos = np.zeros(0, np.int64)
        L0 = np.bincount(self._load_bus, weights=np.where(self._load_active, self._load_base, 0.0), minlength=nb)

        # non-controllable sgen: must-take injections
        sg = net.sgen
        self._sgen_index = sg.index
        if len(sg):
            sact = np.asarray(self._is.get("sgen", np.zeros(len(sg), bool)), bool).copy()
            sb = np.full(len(sg), -1, np.int64)
            okb = sg.bus.to_numpy() < len(bl)
            sb[okb] = bl[sg.bus.to_numpy()[okb]]
            sact &= (sb >= 0) & (sb < nb)
            p = sg.p_mw.astype(float)
            pmin = pd.to_numeric(sg["min_p_mw"], errors="coerce") if "min_p_mw" in sg else None
            pmax = pd.to_numeric(sg["max_p_mw"], errors="coerce") if "max_p_mw" in sg else None
            p = p.clip(lower=pmin, upper=pmax)
            self._sgen_fixed_base = p.to_numpy(float) * sg.scaling.to_numpy(float)
            self._sgen_fixed_active = sact
            self._sgen_bus = np.where(sact, sb, 0)
        else:
            self._sgen_fixed_base = np.zeros(0)
            self._sgen_fixed_active = np.zeros(0, bool)
            self._sgen_bus = np.zeros(0, np.int64)
        S0 = np.bincount(self._sgen_bus, weights=np.where(self._sgen_fixed_active, self._sgen_fixed_base, 0.0),
                         minlength=nb)
        self._other_fixed = self._fixed_all - L0 + S0  # storage, wards, shunts, ...
        self._ppc = ppc
        self._ppci = ppci
        self._base = base

    def _build_units(self, net) -> None:
        """One unit per ppci generator row; one or more LP columns per unit (pwl segments)."""
        ppci, netc = self._ppci, self._netc
        lookups = netc._pd2ppc_lookups
        gen = ppci["gen"]
        gs = np.asarray(ppci["internal"]["gen_is"], bool)
        ppc2i = np.cumsum(gs) - 1
        n_units = gen.shape[0]
        unit_tab = np.array([""] * n_units, dtype=object)
        unit_elem = np.full(n_units, -1, np.int64)
        for tab, key in (("ext_grid", "ext_grid"), ("gen", "gen"), ("sgen", "sgen_controllable"),
                         ("load", "load_controllable"), ("storage", "storage_controllable")):
            lk = lookups.get(key)
            if lk is None:
                continue
            lk = np.asarray(lk)
            for ei in np.flatnonzero(lk >= 0):
                prow = lk[ei]
                if prow < len(gs) and gs[prow]:
                    unit_tab[ppc2i[prow]] = tab
                    unit_elem[ppc2i[prow]] = ei
        keep = np.isin(unit_tab, ["ext_grid", "gen", "sgen"])
        self._unit_rows = np.flatnonzero(keep)
        U = len(self._unit_rows)
        self.unit_tab = unit_tab[keep]
        self.unit_elem = unit_elem[keep]
        self.unit_bus = gen[keep, GEN_BUS].real.astype(np.int64)
        # pandapower widens every limit by its `delta` (1e-10 MW); strip it so outputs are exact
        delta = float(netc._options.get("delta", 0.0) or 0.0)
        pmin = gen[keep, PMIN].real.astype(float)
        pmax = gen[keep, PMAX].real.astype(float)
        pmin = np.where(np.abs(pmin) < 1e8, pmin + delta, pmin)
        pmax = np.where(np.abs(pmax) < 1e8, pmax - delta, pmax)
        self.unit_pmin = np.minimum(pmin, pmax)
        self.unit_pmax = pmax
        if (self.unit_pmin > self.unit_pmax + 1e-9).any():
            raise ValueError(f"{self.name}: a generator has min_p_mw > max_p_mw")

        # per-unit attributes from the element tables
        co2 = np.zeros(U)
        water = np.zeros(U)
        fuel = np.array(["unknown"] * U, dtype=object)
        self._has_fuel = any("fuel" in net[t].columns for t in ("gen", "sgen", "ext_grid"))
        self._unit_pos = np.zeros(U, np.int64)  # position in its table
        for tab in ("ext_grid", "gen", "sgen"):
            m = self.unit_tab == tab
            if not m.any():
                continue
            t = net[tab]
            pos = t.index.get_indexer(self.unit_elem[m])
            self._unit_pos[m] = pos
            co2[m] = _col(t, "co2_kg_per_mwh", 0.0)[pos]
            water[m] = _col(t, "water_l_per_mwh", 0.0)[pos]
            if "fuel" in t.columns:
                f = t["fuel"].to_numpy(object)[pos]
                fuel[m] = [str(x) if isinstance(x, str) and x else "unknown" for x in f]
        self.unit_co2 = co2
        self.unit_water = water

        # costs
        c1 = np.zeros(U)
        c0 = 0.0
        key_to_unit = {(t, int(e)): u for u, (t, e) in enumerate(zip(self.unit_tab, self.unit_elem))}
        pc, pw = net.poly_cost, net.pwl_cost
        if len(pc) == 0 and len(pw) == 0:
            warnings.warn(f"{self.name}: no poly_cost/pwl_cost: minimizing total generation (cost 1 per MW), "
                          "as pandapower does", UserWarning, stacklevel=3)
            c1[:] = 1.0
        for et, el, a1, a0 in zip(pc.et.values, pc.element.values, pc.cp1_eur_per_mw.fillna(0).values,
                                  pc.cp0_eur.fillna(0).values):
            u = key_to_unit.get((str(et), int(el)))
            if u is not None:
                c1[u] = a1
                c0 += a0
        pwl = {}
        if len(pw):
            for et, el, ptype, pts in zip(pw.et.values, pw.element.values, pw.power_type.values, pw.points.values):
                if str(ptype) != "p":
                    continue
                u = key_to_unit.get((str(et), int(el)))
                if u is not None:
                    pwl[u] = [tuple(map(float, p)) for p in pts]
        self.cost_const = float(c0)

        # LP columns for units
        columns = []  # per LP column: (unit, first of its unit, start MW, width MW, cost, lower, upper bound)
        self._pwl_const = np.zeros(U)
        for u in range(U):
            lo, hi = self.unit_pmin[u], self.unit_pmax[u]
            if u not in pwl:
                columns.append((u, True, -np.inf, np.inf, c1[u], lo, hi))
                continue
            pts = sorted(pwl[u])
            xs = [pts[0][0]] + [p[1] for p in pts]
            slopes = [p[2] for p in pts]
            if any(abs(pts[i][1] - pts[i + 1][0]) > 1e-9 for i in range(len(pts) - 1)):
                raise ValueError(f"{self.name}: pwl_cost of {self.unit_tab[u]} {self.unit_elem[u]}: "
                                 "non-consecutive cost areas")
            if any(slopes[i + 1] < slopes[i] - 1e-12 for i in range(len(slopes) - 1)):
                raise ValueError(f"{self.name}: pwl_cost of {self.unit_tab[u]} {self.unit_elem[u]} is not convex "
                                 "(slopes must not decrease); an LP cannot represent it")

            def f(p: float, xs: list[float] = xs,
                  slopes: list[float] = slopes) -> float:  # pandapower: f(x0) = x0 * s0, extrapolated at both ends
                val = xs[0] * slopes[0]
                if p <= xs[0]:
                    return val + (p - xs[0]) * slopes[0]
                for k, s in enumerate(slopes):
                    seg_hi = xs[k + 1] if k < len(slopes) - 1 else np.inf
                    if p <= seg_hi:
                        return val + (p - xs[k]) * s
                    val += (seg_hi - xs[k]) * s
                return val

            def slope_at(p: float, xs: list[float] = xs, slopes: list[float] = slopes) -> float:
                for k in range(len(slopes) - 1):
                    if p < xs[k + 1]:
                        return slopes[k]
                return slopes[-1]

            cuts = [x for x in xs[1:-1] if lo + 1e-9 < x < hi - 1e-9]
            edges = [lo] + cuts + [hi]
            for k in range(len(edges) - 1):
                a, b = edges[k], edges[k + 1]
                s = slope_at(0.5 * (a + b) if np.isfinite(b - a) else a + 1.0)
                if k == 0:
                    columns.append((u, True, -np.inf, np.inf, s, a, b))
                    s0 = s
                else:
                    columns.append((u, False, a, b - a, s, 0.0, b - a))
            self._pwl_const[u] = f(lo) - s0 * lo  # column 0 carries the output from lo: f(p) = s0 p + const
        col_unit, col_first, col_start, col_width, col_cost, col_lb, col_ub = (
            [c[n] for c in columns] for n in range(7))
        self.col_unit = np.asarray(col_unit, np.int64)
        self.col_first = np.asarray(col_first, bool)
        self.col_start = np.asarray(col_start, float)
        self.col_width = np.asarray(col_width, float)
        self.col_cost = np.asarray(col_cost, float)
        self.col_lb0 = np.asarray(col_lb, float)
        self.col_ub0 = np.asarray(col_ub, float)
        self.n_ucol = len(self.col_unit)
        # unit output = sum of its columns
        self._U = U
        self._cu = sp.csr_matrix((np.ones(self.n_ucol), (self.col_unit, np.arange(self.n_ucol))), shape=(U, self.n_ucol))
        # per-element positions (for result Series)
        self._gen_index, self._eg_index = net.gen.index, net.ext_grid.index
        self._fuel_codes = None
        if self._has_fuel:
            sgf = np.array(["unknown"] * len(net.sgen), dtype=object)
            if "fuel" in net.sgen.columns:
                sgf = np.array([str(x) if isinstance(x, str) and x else "unknown"
                                for x in net.sgen["fuel"].to_numpy(object)], dtype=object)
            labels = sorted(set(fuel.tolist()) | set(sgf[self._sgen_fixed_active].tolist()))
            code = {lab: i for i, lab in enumerate(labels)}
            self._fuel_index = pd.Index(labels, name="fuel")
            self._unit_fuel = np.array([code[x] for x in fuel], np.int64)
            self._sgen_fuel = np.array([code.get(x, 0) for x in sgf], np.int64)
        sg = net.sgen
        self._sgen_co2 = _col(sg, "co2_kg_per_mwh", 0.0) if len(sg) else np.zeros(0)
        self._sgen_water = _col(sg, "water_l_per_mwh", 0.0) if len(sg) else np.zeros(0)
        # must-take buses: spill columns
        fixed_inj = np.bincount(self._sgen_bus, weights=np.where(self._sgen_fixed_active, np.abs(self._sgen_fixed_base), 0),
                                minlength=self.nb) > 0
        fixed_inj |= self._other_fixed < 0
        pos_min = np.bincount(self.unit_bus, weights=(self.unit_pmin > 0).astype(float), minlength=self.nb) > 0
        self.spill_bus = np.flatnonzero(fixed_inj | pos_min)

    def _build_lp(self) -> None:
        """LP with the balance rows only; branch rows are added when they bind (see solve)."""
        nb, ptdf = self.nb, self.ptdf
        lim = self.lim_rows
        n_isl = self.n_isl
        # full row set (for sensitivities): island balances, then every limited branch
        A_bus = np.zeros((n_isl + len(lim), nb))
        A_bus[self.island, np.arange(nb)] = 1.0
        A_bus[n_isl:, :] = ptdf[lim, :]
        self.A_bus = A_bus  # column b: a MW injected at bus b; also d(row bounds)/d(load at b)
        nu, ns, nsp = self.n_ucol, nb, len(self.spill_bus)
        self.col_bus = np.concatenate([self.unit_bus[self.col_unit], np.arange(nb), self.spill_bus]).astype(np.int64)
        self.col_sign = np.concatenate([np.ones(nu + ns), -np.ones(nsp)])
        self.A_full = A_bus[:, self.col_bus] * self.col_sign  # (islands + limited branches) x columns
        self.c_shed0, self.c_spill0 = nu, nu + ns
        self.n = nu + ns + nsp
        cost = np.concatenate([self.col_cost, np.full(ns, self.voll), np.full(nsp, self.spill_cost)])
        self.col_co2 = np.concatenate([self.unit_co2[self.col_unit], np.zeros(ns + nsp)])
        lb = np.concatenate([self.col_lb0, np.zeros(ns + nsp)])
        ub = np.concatenate([self.col_ub0, np.zeros(ns), np.full(nsp, np.inf)])
        Acsc = sp.csc_matrix(self.A_full[:n_isl])
        Acsc.eliminate_zeros()
        lp = highspy.HighsLp()
        lp.num_col_ = self.n
        lp.num_row_ = n_isl
        lp.col_cost_ = cost
        lp.col_lower_ = lb
        lp.col_upper_ = np.where(np.isinf(ub), highspy.kHighsInf, ub)
        lp.row_lower_ = np.zeros(n_isl)
        lp.row_upper_ = np.zeros(n_isl)
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_ = Acsc.indptr.astype(np.int32)
        lp.a_matrix_.index_ = Acsc.indices.astype(np.int32)
        lp.a_matrix_.value_ = Acsc.data.astype(float)
        h = _quiet_highs()
        h.setOptionValue("presolve", "off")
        h.setOptionValue("solver", "simplex")
        # threads stays at its default (0, auto): HiGHS keeps one thread scheduler per
        # process, and an instance asking for another count than the one it was first made
        # with fails every run ("Not Set"), as after any cvxpy HiGHS solve in the same
        # process. The dual simplex used here is serial either way.
        h.passModel(lp)
        self.h = h
        self._cost = cost
        # model rows -> full rows (0..n_isl-1 balances, n_isl + j: limited branch j)
        self._model_rows = np.arange(n_isl, dtype=np.int64)
        self._in_model = np.zeros(len(lim), bool)
        self._shed_cols = np.arange(nu, nu + ns, dtype=np.int32)
        self._ucols_idx = np.arange(nu, dtype=np.int32)
        self._cur_col_cost = self.col_cost.copy()
        # gen position -> its one LP column (-1: not a unit, or a piecewise cost of several columns)
        ncols = np.bincount(self.col_unit, minlength=self._U)
        first_col = np.full(self._U, -1, np.int64)
        first_col[self.col_unit[::-1]] = np.arange(self.n_ucol)[::-1]
        self._gen_cost_col = np.full(len(self._gen_index), -1, np.int64)
        is_gen = (self.unit_tab == "gen") & (ncols == 1)
        self._gen_cost_col[self._unit_pos[is_gen]] = first_col[is_gen]
        self._cur_ucol_lb = self.col_lb0.copy()
        self._cur_ucol_ub = self.col_ub0.copy()
        self._lim_rate = self.rate_mw[lim]
        self._ptdf_lim = np.ascontiguousarray(ptdf[lim, :])
        self._ptdf_absmax = np.abs(self._ptdf_lim).max(axis=1) if nb else np.zeros(len(lim))
        self._solves = 0
        self.lp_s = 0.0  # HiGHS time of every solve so far (branch-row rounds included), s

    def fresh(self) -> Dispatcher:
        """A dispatcher in the state this one was built in: its own HiGHS model with the
        balance rows only, no hour solved (so no basis to warm-start from), the network
        matrices shared (never written after the build). It answers every sequence of
        hours exactly as a new ``Dispatcher(net)`` of the same net would, without
        pandapower's conversion and the PTDF factorization (grids.grid.RegionGrid.for_hours
        hands one to each run over a memoized horizon)."""
        twin = copy.copy(self)
        twin._build_lp()
        return twin

    @property
    def solves(self) -> int:
        """Hours dispatched by this dispatcher so far."""
        return self._solves

    def _add_branch_rows(self, js: np.ndarray, rl_full: np.ndarray, ru_full: np.ndarray) -> None:
        """Add limited branches js (positions in lim_rows) as ranged rows to the HiGHS model."""
        rows = self.A_full[self.n_isl + js]
        csr = sp.csr_matrix(rows)
        csr.eliminate_zeros()
        self.h.addRows(len(js), rl_full[self.n_isl + js], ru_full[self.n_isl + js], csr.nnz,
                       csr.indptr.astype(np.int32), csr.indices.astype(np.int32), csr.data.astype(float))
        self._model_rows = np.concatenate([self._model_rows, self.n_isl + js])
        self._in_model[js] = True

    # ------------------------------------------------------------------ solve
    def _bus_values(self, values) -> tuple[np.ndarray, np.ndarray]:
        """extra_bus_mw as (bus positions, MW): a dict of a few buses (the data centers'
        sites, every hour of a co-simulation) through a dict of positions, without pandas;
        anything else as :func:`_as_index_array`."""
        if type(values) is dict:
            if not hasattr(self, "_bus_pos"):
                self._bus_pos = {b: k for k, b in enumerate(self._bus_index.tolist())}
            pos = np.fromiter((self._bus_pos.get(b, -1) for b in values), np.int64, len(values))
            vals = np.fromiter((float(v) for v in values.values()), float, len(values))
            if (pos >= 0).all() and np.isfinite(vals).all():
                return pos, vals
        return _as_index_array(values, self._bus_index, "extra_bus_mw", self.name)

    def demand_by_bus(self, *, load_mw: pd.Series | Mapping[int, float] | None = None,
                      extra_bus_mw: pd.Series | Mapping[int, float] | None = None,
                      sgen_max_mw: pd.Series | Mapping[int, float] | None = None, load_scale: float | None = None
                      ) -> tuple[np.ndarray, np.ndarray, tuple[np.ndarray, np.ndarray] | None, np.ndarray, float]:
        """Net demand per internal bus (MW), plus the parts needed for reporting."""
        loads = self._load_base
        if load_mw is not None:
            pos, vals = _as_index_array(load_mw, self._load_index, "load_mw", self.name)
            loads = loads.copy()
            loads[pos] = vals
        if load_scale is not None:
            if not math.isfinite(float(load_scale)):
                raise SolverInputError(f"{self.name}: dispatch input load_scale is {load_scale} (a finite factor)")
            loads = loads * float(load_scale)
        lw = np.where(self._load_active, loads, 0.0)
        D = self._other_fixed + np.bincount(self._load_bus, weights=lw, minlength=self.nb)
        extra_net = None
        if extra_bus_mw is not None:
            pos, vals = self._bus_values(extra_bus_mw)
            ib = self._netbus_to_i[pos]
            if (ib < 0).any():
                bad = self._bus_index[pos[ib < 0]].tolist()
                raise ValueError(f"{self.name}: extra_bus_mw: buses {bad[:5]} are out of service or isolated")
            D = D + np.bincount(ib, weights=vals, minlength=self.nb)
            extra_net = (pos, vals)
        sfix = self._sgen_fixed_base
        if sgen_max_mw is not None and len(sfix):
            pos, vals = _as_index_array(sgen_max_mw, self._sgen_index, "sgen_max_mw", self.name)
            sfix = sfix.copy()
            sfix[pos] = np.where(self._sgen_fixed_active[pos], vals, sfix[pos])  # must-take: this hour's injection
        sw = np.where(self._sgen_fixed_active, sfix, 0.0)
        D = D - np.bincount(self._sgen_bus, weights=sw, minlength=self.nb)
        demand_total = float(self._other_fixed.sum() + lw.sum() + (extra_net[1].sum() if extra_net else 0.0))
        return D, lw, extra_net, sw, demand_total

    def solve(self, *, load_mw: pd.Series | Mapping[int, float] | None = None, extra_bus_mw: pd.Series | Mapping[int, float] | None = None,
              gen_max_mw: pd.Series | Mapping[int, float] | None = None, sgen_max_mw: pd.Series | Mapping[int, float] | None = None,
              ext_grid_max_mw: pd.Series | Mapping[int, float] | None = None, load_scale: float | None = None, hour_label: object = None,
              marginal: bool = True, gen_cost_usd_per_mwh: pd.Series | Mapping[int, float] | None = None,
              validity: bool | None = None) -> DispatchResult:
        """Dispatch one hour (warm-started from the previous hour's basis).

        load_mw: dict/Series by net.load index, MW; replaces ``p_mw * scaling`` of those
            loads for this hour (loads not named keep theirs). None: the net's loads.
        load_scale: multiplies every load (after load_mw).
        extra_bus_mw: dict/Series by net.bus index, MW of demand added at the bus (e.g. a
            data center); the bus must be in service.
        Each of these may also be a numpy array with one value per element of its table, in
        the table's order (the fast form for an hourly loop).
        gen_max_mw / sgen_max_mw / ext_grid_max_mw: availability by element index for this
            hour: caps the unit at min(value, max_p_mw); a unit whose availability is below
            its min_p_mw runs at the availability. For a non-controllable sgen the value is
            its (must-take) injection this hour.
        gen_cost_usd_per_mwh: marginal cost by gen index for this hour, USD/MWh (units with
            a linear cost only); gens not named keep their poly_cost. A balancing area's
            fuel prices and water values change by month and day (grids.balancing_area).
        hour_label: any label; used in the shed/spill message and warning.
        marginal: compute LMEs and validity ranges (default True; False leaves them NaN).
        validity: compute the LMEs' validity ranges (``lme_valid_mw``); default: as
            *marginal*. False leaves them NaN and changes nothing else (the co-simulation's
            lean path, grids.grid.RegionGrid.dispatch: the ranges are about a third of a
            dispatch and nothing there reads them).

        Unknown indices or non-finite values raise ValueError naming the region.
        """
        t0 = time.perf_counter()
        h = self.h
        D, lw, extra_net, sw, demand_total = self.demand_by_bus(
            load_mw=load_mw, extra_bus_mw=extra_bus_mw, sgen_max_mw=sgen_max_mw, load_scale=load_scale)
        # unit availability
        if gen_max_mw is not None or sgen_max_mw is not None or ext_grid_max_mw is not None:
            cap = self.unit_pmax.copy()
            for tab, ov, idx in (("gen", gen_max_mw, self._gen_index), ("sgen", sgen_max_mw, self._sgen_index),
                                 ("ext_grid", ext_grid_max_mw, self._eg_index)):
                if ov is None:
                    continue
                pos, vals = _as_index_array(ov, idx, f"{tab}_max_mw", self.name)
                u = self._unit_of_element[tab][pos]
                cap[u[u >= 0]] = vals[u >= 0]  # must-take sgen rows have no unit: handled as demand
            ccap = cap[self.col_unit]
            ub = np.where(self.col_first, np.minimum(self.col_ub0, ccap),
                          np.clip(ccap - self.col_start, 0.0, self.col_width))
            lb = np.where(self.col_first, np.minimum(self.col_lb0, ub), 0.0)
        else:
            ub, lb = self.col_ub0, self.col_lb0
        if not (np.array_equal(ub, self._cur_ucol_ub) and np.array_equal(lb, self._cur_ucol_lb)):
            h.changeColsBounds(self.n_ucol, self._ucols_idx, lb, np.where(np.isinf(ub), highspy.kHighsInf, ub))
            self._cur_ucol_lb, self._cur_ucol_ub = lb.copy(), ub.copy()
        self._set_costs(gen_cost_usd_per_mwh)
        shed_ub = np.maximum(D, 0.0)
        h.changeColsBounds(self.nb, self._shed_cols, np.zeros(self.nb), shed_ub)
        # row bounds (full row set): island balance, branch limits shifted by the load
        bal = np.bincount(self.island, weights=D, minlength=self.n_isl)
        flow0 = self._ptdf_lim @ D - self._flow_offset[self.lim_rows]  # branch rows: PTDF x_inj within shift +/- F
        rl = np.concatenate([bal, flow0 - self._lim_rate])
        ru = np.concatenate([bal, flow0 + self._lim_rate])
        mr = self._model_rows
        h.changeRowsBounds(len(mr), np.arange(len(mr), dtype=np.int32), rl[mr], ru[mr])
        t1 = time.perf_counter()
        rounds = 0
        iters = 0
        nu, nb = self.n_ucol, self.nb
        while True:
            h.run()
            status = h.getModelStatus()
            if status != highspy.HighsModelStatus.kOptimal:
                h.clearSolver()  # cold restart once
                h.run()
                status = h.getModelStatus()
                if status != highspy.HighsModelStatus.kOptimal:
                    raise RuntimeError(f"{self.name}: hour {hour_label!r}: HiGHS did not find an optimal dispatch "
                                       f"({h.modelStatusToString(status)})")
            iters += int(h.getInfo().simplex_iteration_count)
            sol = h.getSolution()
            x = np.asarray(sol.col_value)
            # flows of all limited branches, as row activities: A_full x - shift
            inj = np.bincount(self.col_bus, weights=x * self.col_sign, minlength=nb)
            act = self._ptdf_lim @ inj
            viol = ~self._in_model & ((act > ru[self.n_isl:] + _BOUND_TOL) | (act < rl[self.n_isl:] - _BOUND_TOL))
            if not viol.any():
                break
            rounds += 1
            if rounds > len(self.lim_rows) + 1:
                raise RuntimeError(f"{self.name}: hour {hour_label!r}: branch-row generation did not converge")
            self._add_branch_rows(np.flatnonzero(viol), rl, ru)
        self._solves += 1
        lp_s = time.perf_counter() - t1
        self.lp_s += lp_s
        _TOTALS["solves"] += 1
        _TOTALS["lp_s"] += lp_s
        ydual = np.asarray(sol.row_dual)
        t2 = time.perf_counter()

        xs = x[nu:nu + nb]
        xsp = x[nu + nb:]
        mr = self._model_rows
        # LMP: cost duals of the model rows (rows not in the model are slack: dual 0)
        yfull = np.zeros(len(rl))
        yfull[mr] = ydual
        lmp = yfull[self.island] + yfull[self.n_isl:] @ self._ptdf_lim
        # buses whose whole load is shed (shed at its upper bound, which moves with the load)
        full_shed = (shed_ub > _SHED_TOL_MW) & (xs >= shed_ub - 1e-9)
        lme = valid = None
        t3 = t2
        if marginal:
            st, basic = h.getBasicVariables()
            cB = np.where(basic >= 0, self.col_co2[np.maximum(basic, 0)], 0.0)
            st, ye = h.getBasisTransposeSolve(cB)
            yefull = np.zeros(len(rl))
            yefull[mr] = ye
            lme = yefull[self.island] + yefull[self.n_isl:] @ self._ptdf_lim
            t3 = time.perf_counter()
            if validity or validity is None:
                valid = self._validity(basic, x, act, D, shed_ub, full_shed)
        if full_shed.any():
            lmp = lmp.copy()
            lmp[full_shed] = self.voll
            if lme is not None:
                lme = lme.copy()
                lme[full_shed] = 0.0
        t4 = time.perf_counter()
        res = self._result(x, xs, xsp, inj, lmp, lme, valid, D, lw, extra_net, sw, demand_total, hour_label, iters)
        t5 = time.perf_counter()
        res.timings_s = {"setup": t1 - t0, "lp": t2 - t1, "lme": t3 - t2, "validity": t4 - t3,
                         "result": t5 - t4, "total": t5 - t0}
        return res

    def _set_costs(self, gen_cost: pd.Series | Mapping[int, float] | None) -> None:
        """This hour's unit column costs: the poly_cost ones, with *gen_cost* (by gen index,
        USD/MWh) replacing those of the gens it names."""
        cost = self.col_cost
        if gen_cost is not None:
            pos, vals = _as_index_array(gen_cost, self._gen_index, "gen_cost_usd_per_mwh", self.name)
            col = self._gen_cost_col[pos]
            if (col < 0).any():
                raise ValueError(f"{self.name}: gen_cost_usd_per_mwh names a gen that is out of service or has a "
                                 "piecewise cost (only linear costs can be set per hour)")
            cost = cost.copy()
            cost[col] = vals
        if not np.array_equal(cost, self._cur_col_cost):
            changed = np.flatnonzero(cost != self._cur_col_cost).astype(np.int32)
            self.h.changeColsCost(len(changed), changed, cost[changed])
            self._cur_col_cost = cost

    def _validity(self, basic, x, act, D, shed_ub, full_shed):
        """Ratio test: how far the load at each bus can move before the basis changes.

        M = A[binding rows, basic columns] is the optimal basis restricted to the rows
        that bind (basic row slacks decouple). A unit of load at bus b moves the basic
        columns by DX[:, b] = M^-1 a_b and every branch flow accordingly.
        """
        nb, n_isl = self.nb, self.n_isl
        mr = self._model_rows
        CB = basic[basic >= 0].astype(np.int64)
        RBm = -1 - basic[basic < 0]
        nonbasic_m = np.ones(len(mr), bool)
        nonbasic_m[RBm] = False
        RN = mr[nonbasic_m]  # binding rows (full numbering)
        k = len(CB)
        if k != len(RN):  # not a square basis restriction: should not happen
            return np.full((nb, 2), np.nan)
        up = np.full(nb, np.inf)
        down = np.full(nb, np.inf)
        if k:
            M = self.A_full[np.ix_(RN, CB)]
            try:
                DX = np.linalg.solve(M, self.A_bus[RN, :])
            except np.linalg.LinAlgError:
                return np.full((nb, 2), np.nan)
            # basic columns: bounds fixed, except a basic shed_b whose upper bound moves with D_b
            xb = x[CB]
            lbB, ubB = self._col_bounds_now(CB, shed_ub)
            up, down = _ratio(np.maximum(xb - lbB, 0.0)[:, None], DX, up, down)
            dub = np.zeros((k, nb))
            sh = (CB >= self.c_shed0) & (CB < self.c_spill0)
            if sh.any():
                bb = CB[sh] - self.c_shed0
                dub[np.flatnonzero(sh), bb] = (D[bb] > 0).astype(float)
            up, down = _ratio(np.maximum(ubB - xb, 0.0)[:, None], dub - DX, up, down)
        # limited branches that are not binding rows of the basis: their flows move with
        # dF = PTDF_lim[:, bus(C_B)] * sign @ DX - PTDF_lim (a load takes 1 MW out at bus b)
        free = np.ones(len(self.lim_rows), bool)
        free[RN[RN >= n_isl] - n_isl] = False
        if free.any():
            fl = act - (self._ptdf_lim @ D - self._flow_offset[self.lim_rows])  # branch flows, MW
            slack = np.maximum(self._lim_rate - np.abs(fl), 0.0)
            # exact screening: |dF[l, b]| <= dmax_l, so branch l cannot limit any range below
            # slack_l / dmax_l; skip it when that exceeds every range found so far
            if k:
                G = self._ptdf_lim[:, self.col_bus[CB]] * self.col_sign[CB]
                dmax = np.abs(G) @ np.abs(DX).max(axis=1) + self._ptdf_absmax
            else:
                dmax = self._ptdf_absmax
            tmax = max(up.max(), down.max())
            with np.errstate(divide="ignore"):
                cand = free & (slack < tmax * dmax * (1 + 1e-9) + 1e-9)
            if cand.any():
                d = (G[cand] @ DX if k else 0.0) - self._ptdf_lim[cand]
                rate = self._lim_rate[cand][:, None]
                f = fl[cand][:, None]
                up, down = _ratio(np.maximum(rate - f, 0.0), -d, up, down)
                up, down = _ratio(np.maximum(rate + f, 0.0), d, up, down)
        up = np.where(full_shed, np.inf, up)
        down = np.where(full_shed, np.maximum(D, 0.0), down)
        return np.column_stack([down, up])

    def _col_bounds_now(self, cols, shed_ub):
        lb = np.zeros(len(cols))
        ub = np.full(len(cols), np.inf)
        u = cols < self.n_ucol
        lb[u] = self._cur_ucol_lb[cols[u]]
        ub[u] = self._cur_ucol_ub[cols[u]]
        s = (cols >= self.c_shed0) & (cols < self.c_spill0)
        ub[s] = shed_ub[cols[s] - self.c_shed0]
        return lb, ub

    def _result(self, x, xs, xsp, inj, lmp, lme, valid, D, lw, extra_net, sw, demand_total, hour_label, iters):
        nu = self.n_ucol
        up = self._cu @ x[:nu]  # unit outputs
        # per-element series
        gen = np.zeros(len(self._gen_index))
        sgen = np.where(self._sgen_fixed_active, sw, 0.0) if len(self._sgen_index) else np.zeros(0)
        eg = np.zeros(len(self._eg_index))
        for tab, arr in (("gen", gen), ("sgen", sgen), ("ext_grid", eg)):
            m = self.unit_tab == tab
            if m.any():
                arr[self._unit_pos[m]] = up[m]
        # buses
        nbus = len(self._bus_index)
        ib = self._netbus_to_i
        okb = ib >= 0
        lmp_n = np.full(nbus, np.nan)
        lmp_n[okb] = lmp[ib[okb]]
        lme_n = np.full(nbus, np.nan)
        val_n = np.full((nbus, 2), np.nan)
        if lme is not None:
            lme_n[okb] = lme[ib[okb]]
        if valid is not None:
            val_n[okb] = valid[ib[okb]]
        shed_n = np.zeros(nbus)
        spill_n = np.zeros(nbus)
        shed_tot = float(xs.sum())
        spill_tot = float(xsp.sum())
        if shed_tot > _SHED_TOL_MW or spill_tot > _SHED_TOL_MW:
            # attribute internal-bus shed to net buses in proportion to their positive demand
            dn = np.bincount(self._load_netbus_pos[self._load_active], weights=lw[self._load_active],
                             minlength=nbus) if len(lw) else np.zeros(nbus)
            if extra_net is not None:
                dn = dn + np.bincount(extra_net[0], weights=extra_net[1], minlength=nbus)
            dn = np.maximum(dn, 0.0)
            tot_i = np.bincount(ib[okb], weights=dn[okb], minlength=self.nb)
            first = np.full(self.nb, -1, np.int64)
            for p in np.flatnonzero(okb)[::-1]:
                first[ib[p]] = p
            share = np.zeros(nbus)
            share[okb] = np.where(tot_i[ib[okb]] > 0, dn[okb] / np.where(tot_i[ib[okb]] > 0, tot_i[ib[okb]], 1.0),
                                  (first[ib[okb]] == np.flatnonzero(okb)).astype(float))
            shed_n[okb] = xs[ib[okb]] * share[okb]
            spill_full = np.zeros(self.nb)
            spill_full[self.spill_bus] = xsp
            spill_n[okb] = spill_full[ib[okb]] * (first[ib[okb]] == np.flatnonzero(okb))
        # accounting
        sfix_co2 = float(sw @ self._sgen_co2) if len(sw) else 0.0
        emissions = float(up @ self.unit_co2) + sfix_co2
        water = float(up @ self.unit_water) + (float(sw @ self._sgen_water) if len(sw) else 0.0)
        gen_mwh = float(np.maximum(up, 0.0).sum() + np.maximum(sw, 0.0).sum())
        cost = float(self._cur_col_cost @ x[:nu]) + self.cost_const + float(self._pwl_const.sum())
        objective = cost + self.voll * shed_tot + self.spill_cost * spill_tot
        if self._has_fuel:
            fm = np.bincount(self._unit_fuel, weights=up, minlength=len(self._fuel_index))
            if len(sw):
                fm = fm + np.bincount(self._sgen_fuel[self._sgen_fixed_active], weights=sw[self._sgen_fixed_active],
                                      minlength=len(self._fuel_index))
        else:
            fm = np.zeros(0)
        # branches
        P = inj - D
        flows = self.ptdf @ P + self._flow_offset
        cong_rows = self.lim_rows[np.abs(flows[self.lim_rows]) >= self.rate_mw[self.lim_rows] - 1e-6]
        congested = [self._branch_labels[i] for i in cong_rows]
        msg = ""
        if shed_tot > _SHED_TOL_MW or spill_tot > _SHED_TOL_MW:
            parts = []
            if shed_tot > _SHED_TOL_MW:
                where = self._bus_index[shed_n > _SHED_TOL_MW].tolist()
                parts.append(f"fleet cannot meet load: shed {shed_tot:.3f} MW at buses {where[:20]} "
                             f"at VOLL {self.voll:g} USD/MWh")
            if spill_tot > _SHED_TOL_MW:
                where = self._bus_index[spill_n > _SHED_TOL_MW].tolist()
                parts.append(f"over-generation: spilled {spill_tot:.3f} MW of must-take output at buses "
                             f"{where[:20]} at {self.spill_cost:g} USD/MWh")
            msg = f"region {self.name!r}, hour {hour_label!r}: " + "; ".join(parts)
            warnings.warn(msg, LoadShedWarning, stacklevel=3)
        return DispatchResult(
            p_mw={"gen": gen, "sgen": sgen, "ext_grid": eg},
            bus_lmp_usd_per_mwh=lmp_n, bus_lme_kg_per_mwh=lme_n, bus_lme_valid_mw=val_n,
            bus_shed_mw=shed_n, bus_spill_mw=spill_n, branch_p_from_mw=flows, fuel_p_mw=fm, labels=self._labels,
            cost_usd=cost,
            emissions_kg=emissions,
            load_mw=demand_total,
            avg_intensity_kg_per_mwh=emissions / gen_mwh if gen_mwh > 0 else float("nan"),
            water_l=water,
            congested_branches=congested,
            objective_usd=objective,
            region=self.name,
            hour_label=hour_label,
            message=msg,
            simplex_iterations=iters,
        )

    def cold_solve(self, **kw: Any) -> DispatchResult:
        """Solve from scratch (basis discarded): for checking warm starts."""
        self.h.clearSolver()
        return self.solve(**kw)


_VALID_COLS = pd.Index(["down_mw", "up_mw"])

_TOTALS = {"solves": 0, "lp_s": 0.0}


def dispatch_totals() -> dict[str, float]:
    """Every dispatcher of this process so far: hours dispatched (``solves``) and HiGHS
    time (``lp_s``, s, branch-row rounds included); a run reports the difference of two
    readings (cosim.runner: summary.json ``timings``)."""
    return dict(_TOTALS)


def _ratio(slack, rate, up, down, tol=1e-9):
    """Largest load moves t (up: t > 0, down: t < 0) with slack + t * rate >= 0, per bus (column)."""
    if rate.size == 0:
        return up, down
    with np.errstate(divide="ignore", invalid="ignore"):
        q = slack / rate
    t_up = np.where(rate < -tol, -q, np.inf).min(axis=0)
    t_dn = np.where(rate > tol, q, np.inf).min(axis=0)
    return np.minimum(up, t_up), np.minimum(down, t_dn)


def dispatch(net: pandapowerNet, *, voll_usd_per_mwh: float = 10000.0, name: str = "region",
             spill_usd_per_mwh: float | None = None, **kw: Any) -> DispatchResult:
    """One-shot dispatch: ``Dispatcher(net, ...).solve(**kw)`` (keywords as in ``solve``)."""
    return Dispatcher(net, voll_usd_per_mwh=voll_usd_per_mwh, name=name,
                      spill_usd_per_mwh=spill_usd_per_mwh).solve(**kw)


def _quiet_highs():
    """A HiGHS instance that prints nothing. highspy 1.16's `Highs()` logs its banner to
    stdout while enabling callbacks, before any option can be set; its core class has no
    callbacks (none are used here) and stays silent once output_flag is off."""
    core = getattr(getattr(highspy, "_core", None), "_Highs", highspy.Highs)
    h = core()
    h.setOptionValue("output_flag", False)
    return h

