"""The hourly GLB problems in the solvers' own form (cosim.glb.native_lp, native_conic)
against the cvxpy reference (cosim.glb.online.HourlyProblem), hour by hour on the same
HourInputs.

Both forms are handed the very numbers an online run produces (the native solver drives
the state; the reference re-solves each of its hours), so the comparison is of the two
formulations, not of two trajectories. Conic hours are compared at tight solver
tolerances (1e-10 gaps) so the 1e-6 bound measures the model, not Clarabel's stopping
rule; a third check keeps the production settings within 2e-5 (the reference's own 1e-7
gap on the scaled problem).
"""
from __future__ import annotations

import functools
import math
import warnings

import cvxpy as cp
import numpy as np
import pytest
from test_glb import make_instance, random_instance

from cosim.glb import coefficients, make_policy
from cosim.glb.hour_inputs import HourInputs, hour_inputs
from cosim.glb.native_conic import SETTINGS, ConicHourlyProblem
from cosim.glb.native_lp import LpHourlyProblem
from cosim.glb.online import HourlyProblem, OnlineSolver, hourly_problem, solve_online
from cosim.glb.policies import Policy

INF = math.inf
TIGHT = {**SETTINGS, "tol_gap_abs": 1e-9, "tol_gap_rel": 1e-9, "tol_feas": 1e-9, "tol_ktratio": 1e-8}
TIGHT_CVXPY = {"tol_gap_abs": 1e-9, "tol_gap_rel": 1e-9, "tol_feas": 1e-9, "tol_ktratio": 1e-8}


def _rel(a: float, b: float) -> float:
    return abs(a - b) / max(abs(b), 1e-9)


@functools.cache
def _small():
    # 4 sites, 5 regions, 3 models, 6 h; binding capacity, masks, a missing model
    return random_instance(42, n=4, j=5, k=3, t=6, tight=0.85, q_social=2.0, q_env=3.0)


@functools.cache
def _separate():
    return random_instance(7, n=3, j=4, k=2, t=5, tight=0.9, q_social=4.0, q_env=4.0,
                           env_norm="separate", norm_scale="none")


@functools.cache
def _paper10_cut():
    from cosim.instance import build_instance
    from cosim.scenario_files import load_scenario

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return build_instance(load_scenario("paper10").with_hours(4))


CASES = [  # (instance, policy name or Policy, algorithm)
    ("small", "cost-glb", None), ("small", "all-glb", None), ("small", "nearest", None), ("small", "min-price", None),
    ("small", "e-glb", None), ("small", "se-glb", None),
    ("small", Policy("e-glb", 1.0, INF), "dmd"), ("small", Policy("e-glb", 1.0, INF), "myopic"),
    ("small", Policy("se-glb", INF, INF), "myopic"), ("small", Policy("se-glb", 4.0, 1.0), "myopic"),
    ("separate", "e-glb", None), ("separate", "se-glb", None), ("separate", "all-glb", None),
    ("separate", Policy("e-glb", 1.0, INF), "dmd"),
    ("paper10", "cost-glb", None), ("paper10", "se-glb", None), ("paper10", "e-glb", None),
]
INSTANCES = {"small": _small, "separate": _separate, "paper10": _paper10_cut}


def _policy(inst, name):
    return name if isinstance(name, Policy) else make_policy(name, inst.weights)


def _hours(inst, policy, algorithm, damping, max_shift, settings=None):
    """Per hour: (inputs, native (x, u, objective), reference problem) along the native run."""
    solver = OnlineSolver(inst, policy, algorithm, damping=damping, max_shift=max_shift)
    if policy.conic and settings is not None:
        solver.problem = ConicHourlyProblem(inst, policy, solver.arcs, env_linear=solver.algorithm == "dmd",
                                            damping=damping > 0, max_shift=max_shift is not None, settings=settings)
    reference = HourlyProblem(inst, policy, solver.arcs, env_linear=solver.algorithm == "dmd",
                              damping=damping > 0, max_shift=max_shift is not None)
    out = []
    for t in range(len(inst.times)):
        choice = solver.decide(t, inst.window(t, t + 1))
        x, u = solver.problem.form.split(solver.problem.last_z)
        out.append((solver.last_inputs, x, u, solver.problem.objective_value, choice))
        solver.commit(choice)
    return solver, reference, out


@pytest.mark.parametrize("herding", [(0.0, None), (0.5, 0.3)], ids=["plain", "damped-capped"])
@pytest.mark.parametrize("where, name, algorithm", CASES,
                         ids=[f"{w}-{n if isinstance(n, str) else n.name + str(n.q_env)}-{a}" for w, n, a in CASES])
def test_native_objective_matches_the_reference(where, name, algorithm, herding):
    inst = INSTANCES[where]()
    policy = _policy(inst, name)
    damping, max_shift = herding
    solver, reference, hours = _hours(inst, policy, algorithm, damping, max_shift, settings=TIGHT)
    kind = ConicHourlyProblem if policy.conic else LpHourlyProblem
    assert isinstance(solver.problem, kind)
    for t, (inputs, x, u, objective, choice) in enumerate(hours):
        # (at 1e-9 gaps Clarabel may need its retry: the production settings are checked below)
        assert not choice.fallback or policy.conic
        reference.set(inputs)
        if policy.conic:
            reference.problem.solve(solver="CLARABEL", **TIGHT_CVXPY)
        else:
            reference.problem.solve(solver="HIGHS")
        assert reference.problem.status == cp.OPTIMAL
        assert _rel(objective, reference.problem.value) < 1e-6, (t, objective, reference.problem.value)
        # the native point is feasible for the reference's constraints and costs what it says
        a = solver.arcs
        assert np.all(x >= -1e-7) and np.all(u >= -1e-7)
        np.testing.assert_allclose(a.by_user @ x + u, 1.0, atol=1e-7)
        assert np.all(a.by_dc @ (inputs.resources * x) <= 1 + 1e-7)
        if max_shift is not None:
            away = a.by_user @ (x * (a.i != solver.inst.local[a.j]))
            assert np.all(away <= max_shift + 1e-7)
        # the cleaned choice: served + unserved = 1 per user, capacity held
        np.testing.assert_allclose(a.by_user @ choice.x + choice.u, 1.0, rtol=0, atol=1e-12)
        assert np.all(a.by_dc @ (inputs.resources * choice.x) <= 1 + 1e-6)


CONIC = [case for case in CASES if _policy(INSTANCES[case[0]](), case[1]).conic]


@pytest.mark.parametrize("where, name, algorithm", CONIC,
                         ids=[f"{w}-{n if isinstance(n, str) else n.name + str(n.q_env)}" for w, n, a in CONIC])
def test_production_settings_stay_within_the_solver_gap(where, name, algorithm):
    inst = INSTANCES[where]()
    policy = _policy(inst, name)
    solver, reference, hours = _hours(inst, policy, algorithm, 0.0, None)
    for inputs, _, _, objective, choice in hours:
        assert not choice.fallback
        reference.set(inputs)
        reference.problem.solve(solver="CLARABEL", **TIGHT_CVXPY)
        assert _rel(objective, reference.problem.value) < 2e-5


def test_lp_allocations_match_where_the_optimum_is_unique():
    # 3 sites with distinct prices, 2 regions, 1 model: fill the cheapest site, then the next
    # (capacity 120 requests each, 100 + 90 requests): x unique
    inst = make_instance(demand=[[100.0, 80.0], [90.0, 150.0]], price=[[20.0, 90.0], [50.0, 30.0], [70.0, 10.0]],
                         capacity=[120.0, 120.0, 120.0], energy_kwh=[1.0])
    policy = make_policy("cost-glb", inst.weights)
    native, ref = solve_online(inst, policy), solve_online(inst, policy, backend="reference")
    np.testing.assert_allclose(native.x.toarray(), ref.x.toarray(), atol=1e-9)
    np.testing.assert_allclose(native.u, ref.u, atol=1e-9)
    assert native.objective_usd == pytest.approx(ref.objective_usd, rel=1e-12)
    # hour 0: site 0 (20 USD/MWh) takes 120 of 190, site 1 the other 70
    y = native.x_hour(0) * inst.demand[native.arcs.j, 0]
    served = np.bincount(native.arcs.i, weights=y, minlength=3)
    np.testing.assert_allclose(served, [120.0, 70.0, 0.0], atol=1e-6)


def test_conic_allocations_match_on_a_strictly_convex_hour():
    # one region, two sites, one model, q_env = 2: the env norm is strictly convex in the split
    inst = make_instance(demand=[[100.0]], price=[[30.0], [30.0]], carbon=[[0.5], [0.2]], capacity=[1e6, 1e6],
                         energy_kwh=[1.0], mu_carbon_usd_per_t=200.0)
    policy = Policy("e-glb", 1.0, 2.0)
    native = solve_online(inst, policy)
    ref = solve_online(inst, policy, backend="reference")
    # both stop at Clarabel's 1e-7 gap: the split agrees to about 1e-5
    np.testing.assert_allclose(native.x.toarray(), ref.x.toarray(), atol=1e-4)
    # ||(0.5 x, 0.2 (1 - x))||_2 is least at 0.25 x = 0.04 (1 - x): x = 0.04 / 0.29
    assert native.x_hour(0)[0] == pytest.approx(0.04 / 0.29, abs=1e-4)


def test_backends_and_factory():
    inst = _small()
    arcs_solver = OnlineSolver(inst, make_policy("se-glb", inst.weights))
    assert isinstance(arcs_solver.problem, ConicHourlyProblem)
    ref = OnlineSolver(inst, make_policy("se-glb", inst.weights), backend="reference")
    assert isinstance(ref.problem, HourlyProblem)
    lp = hourly_problem(inst, make_policy("cost-glb", inst.weights), arcs_solver.arcs, env_linear=False)
    assert isinstance(lp, LpHourlyProblem)
    with pytest.raises(ValueError, match="unknown backend"):
        OnlineSolver(inst, make_policy("se-glb", inst.weights), backend="fast")
    with pytest.raises(ValueError, match="no LP form"):
        LpHourlyProblem(inst, make_policy("se-glb", inst.weights), arcs_solver.arcs, env_linear=False)


def test_hour_inputs_are_the_online_solvers_numbers():
    # an offline decomposition builds its hours with hour_inputs and a per-site dual price
    inst = _small()
    policy = make_policy("e-glb", inst.weights)
    solver = OnlineSolver(inst, policy)
    c = coefficients(inst, solver.arcs)
    inputs, scale = hour_inputs(inst, solver.arcs, c, 2)
    assert isinstance(inputs, HourInputs)
    assert scale > 0
    np.testing.assert_allclose(inputs.cost * scale, c.energy[:, 2] + c.moving[:, 2])
    price = np.arange(1.0, 5.0)
    priced, _ = hour_inputs(inst, solver.arcs, c, 2, env_weights=[price])
    np.testing.assert_allclose(priced.env[0], inputs.env[0] * price[solver.arcs.i])
    # an env-linear problem minimizes the priced env cost: the objective moves with the price
    problem = ConicHourlyProblem(inst, policy, solver.arcs, env_linear=True)
    assert problem.form.soc_idx.shape[0] == 0 or policy.q_social != 1  # only the social norm may need cones
    x, u, fallback, solver_s = problem.solve(priced)
    assert not fallback and solver_s > 0
    reference = HourlyProblem(inst, policy, solver.arcs, env_linear=True)
    reference.solve(priced)
    assert _rel(problem.objective_value, reference.objective_value) < 2e-5


def test_a_failed_clarabel_hour_falls_back_and_is_recorded(monkeypatch):
    inst = _small()
    policy = make_policy("se-glb", inst.weights)
    solver = OnlineSolver(inst, policy)
    calls = []

    class _Failed:
        status = "PrimalInfeasible"

    original = ConicHourlyProblem._clarabel

    def first_fails(self, q, b, *, retry):
        calls.append(retry)
        if not retry:
            return _Failed(), 0.001
        return original(self, q, b, retry=retry)

    monkeypatch.setattr(ConicHourlyProblem, "_clarabel", first_fails)
    choice = solver.decide(0, inst.window(0, 1))
    assert choice.fallback and calls == [False, True]
    assert solver.problem.status == "Solved"
    # and SCS, the last resort, on the same arrays
    monkeypatch.setattr(ConicHourlyProblem, "_clarabel", lambda self, q, b, *, retry: (_Failed(), 0.0))
    choice = solver.decide(0, inst.window(0, 1))
    assert choice.fallback and solver.problem.status.startswith("SCS solved")
    np.testing.assert_allclose(solver.arcs.by_user @ choice.x + choice.u, 1.0, atol=1e-12)
