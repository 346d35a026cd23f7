"""Tests of the GLB optimizer (cosim.glb) and of the Table-1 metrics it feeds.

Instances are built directly as `Instance` arrays, so every price, intensity, demand
and capacity is exact and the optimum can be worked out by hand or recomputed with an
independent formulation (scipy's linprog on the DESIGN.md text, in requests y rather
than in our demand fractions x).

Units, as in cosim.instance: price USD/MWh, carbon kg/kWh, WUE L/kWh (IT energy),
energy kWh per request (IT), capacity in resource units per hour.
"""
from __future__ import annotations

import functools
import math
from types import SimpleNamespace

import cvxpy as cp
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from scipy.optimize import linprog

from cosim.glb import POLICY_NAMES, HourlyProblem, make_arcs, make_policy, objective_terms, solve_offline, solve_online
from cosim.glb.formulation import lq
from cosim.glb.norms import column_norms
from cosim.glb.policies import Policy
from cosim.instance import Instance
from cosim.metrics import policy_metrics
from cosim.policy import PolicyWeights

INF = math.inf


# ----------------------------------------------------------------------------- helpers


def make_instance(
    *,
    demand,  # (J, T)
    price,  # (N, T) USD/MWh
    carbon=None,  # (N, T) kg/kWh
    wue=None,  # (N, T) L/kWh
    capacity,  # (N,)
    energy_kwh,  # (K,)
    resources=None,  # (K,)
    quality=None,  # (K,)
    pue=None,  # (N,)
    hosted=None,  # (N, K)
    mask=None,  # (J, N)
    distance=None,  # (J, N)
    local=None,  # (J,)
    **weights,
) -> Instance:
    demand = np.asarray(demand, dtype=float)
    price = np.asarray(price, dtype=float)
    n, t = price.shape
    j = demand.shape[0]
    energy_kwh = np.asarray(energy_kwh, dtype=float)
    k = len(energy_kwh)
    weights = {"mu_carbon_usd_per_t": 0.0, "mu_water_usd_per_m3": 0.0, "social_weight_usd": 0.0, **weights}
    return Instance(
        name="test",
        times=pd.date_range("2022-09-22", periods=t, freq="h", tz="UTC", name="time"),
        datacenters=[f"dc{i}" for i in range(n)],
        regions=[f"r{i}" for i in range(j)],
        models=[f"m{i}" for i in range(k)],
        demand=demand,
        price_usd_per_mwh=price,
        carbon_kg_per_kwh=np.zeros((n, t)) if carbon is None else np.asarray(carbon, dtype=float),
        wue_l_per_kwh=np.zeros((n, t)) if wue is None else np.asarray(wue, dtype=float),
        pue=np.ones(n) if pue is None else np.asarray(pue, dtype=float),
        capacity=np.asarray(capacity, dtype=float),
        energy_kwh_per_request=energy_kwh,
        resources_per_request=np.ones(k) if resources is None else np.asarray(resources, dtype=float),
        quality_score=np.full(k, 50.0) if quality is None else np.asarray(quality, dtype=float),
        hosted=np.ones((n, k), dtype=bool) if hosted is None else np.asarray(hosted, dtype=bool),
        mask=np.ones((j, n), dtype=bool) if mask is None else np.asarray(mask, dtype=bool),
        distance_km=np.zeros((j, n)) if distance is None else np.asarray(distance, dtype=float),
        local=np.arange(j) % n if local is None else np.asarray(local),
        weights=PolicyWeights(**weights),
    )


def random_instance(seed: int, n: int, j: int, k: int, t: int, *, tight: float = 0.9, **weights) -> Instance:
    """A random instance with a partial mask, a model missing at one site, distances, and
    capacities that bind in the busiest hour (tight < 1 of what the peak needs with the
    lightest model everywhere, so some demand is then unserved)."""
    rng = np.random.default_rng(seed)
    demand = rng.uniform(50, 150, (j, t))
    demand[0, 0] = 0.0  # a region-hour with no demand
    energy = np.sort(rng.uniform(0.5, 2.0, k))
    resources = energy * rng.uniform(0.8, 1.2, k)
    quality = 50 + 10 * np.arange(k) + rng.uniform(0, 2, k)  # bigger model, better quality
    hosted = np.ones((n, k), dtype=bool)
    hosted[n - 1, k - 1] = False  # the big model is missing at the last site
    mask = rng.uniform(size=(j, n)) < 0.75
    local = np.arange(j) % n
    mask[np.arange(j), local] = True
    distance = rng.uniform(100, 9000, (j, n))
    distance[np.arange(j), local] = 50.0
    peak_need = demand.sum(axis=0).max() * resources.min()  # even all-small cannot serve the peak
    capacity = rng.uniform(0.7, 1.3, n) * tight * peak_need / n
    weights = {
        "mu_carbon_usd_per_t": 150.0, "mu_water_usd_per_m3": 6.0, "social_weight_usd": 2.0,
        "moving_cost_usd_per_request_per_1000km": 0.002, **weights,
    }
    return make_instance(
        demand=demand,
        price=rng.uniform(20, 200, (n, t)),
        carbon=rng.uniform(0.05, 0.8, (n, t)),
        wue=rng.uniform(0.1, 5.0, (n, t)),
        capacity=capacity,
        energy_kwh=energy,
        resources=resources,
        quality=quality,
        pue=rng.uniform(1.05, 1.5, n),
        hosted=hosted,
        mask=mask,
        distance=distance,
        local=local,
        **weights,
    )


def dense_requests(inst: Instance, sol) -> np.ndarray:
    """y[k, i, j, t] requests, from the solution's arcs."""
    n, j, k, t = inst.shape
    y = np.zeros((k, n, j, t))
    served = sol.requests(inst)
    np.add.at(y, (sol.arcs.k, sol.arcs.i, sol.arcs.j), served.toarray() if hasattr(served, "toarray") else served)
    return y


def per_dc_env_usd(inst: Instance, sol) -> np.ndarray:
    """H_i = sum_t mu_c carbon_it + mu_w water_it in USD, recomputed from y (N,)."""
    w = inst.weights
    y = dense_requests(inst, sol)  # (K, N, J, T)
    it_kwh = np.einsum("k,kijt->it", inst.energy_kwh_per_request, y)
    carbon_t = inst.pue[:, None] * it_kwh * inst.carbon_kg_per_kwh / 1000.0
    water_m3 = it_kwh * inst.wue_l_per_kwh / 1000.0
    return (w.mu_carbon_usd_per_t * carbon_t + w.mu_water_usd_per_m3 * water_m3).sum(axis=1)


def rel(a: float, b: float) -> float:
    return abs(a - b) / max(abs(a), abs(b), 1e-12)


# ----------------------------------------------------- 1. hand-solved instances


def test_cost_glb_fills_cheaper_dc_up_to_capacity():
    # 2 DCs, 1 region, 1 model (1 kWh and 1 resource unit per request), PUE 1, 100 req/h.
    # Hour 0: dc0 at 50 USD/MWh (capacity 60), dc1 at 80 USD/MWh (capacity 100):
    #   60 req at dc0 = 60 kWh x 0.050 = 3.0 USD, the other 40 at dc1 = 40 x 0.080 = 3.2 USD.
    # Hour 1: dc0 at 90, dc1 at 80: all 100 at dc1 = 8.0 USD.
    # One model: no quality loss, so the social term is 0. Objective = 6.2 + 8.0 = 14.2 USD.
    inst = make_instance(
        demand=[[100.0, 100.0]], price=[[50.0, 90.0], [80.0, 80.0]], capacity=[60.0, 100.0],
        energy_kwh=[1.0], carbon=[[0.5, 0.5], [0.1, 0.1]],
    )
    sol = solve_offline(inst, make_policy("cost-glb", inst.weights))
    y = dense_requests(inst, sol)[0, :, 0, :]  # (N, T)
    np.testing.assert_allclose(y, [[60.0, 0.0], [40.0, 100.0]], atol=1e-6)
    assert sol.objective_usd == pytest.approx(14.2, rel=1e-9)
    assert sol.u.max() == 0.0
    m = policy_metrics(inst, sol)
    assert m["energy_cost_usd"]["total"] == pytest.approx(14.2, rel=1e-9)
    # carbon: dc0 60 kWh x 0.5 kg = 30 kg; dc1 140 kWh x 0.1 kg = 14 kg
    assert m["per_datacenter"]["dc0"]["carbon_t"] == pytest.approx(0.030, rel=1e-9)
    assert m["per_datacenter"]["dc1"]["carbon_t"] == pytest.approx(0.014, rel=1e-9)
    assert m["carbon_t"]["max_avg"] == pytest.approx(0.030 / 0.022, rel=1e-9)
    # region r0's local site is dc0: everything served at dc1 (140 of 200 kWh) is relocated
    assert m["rid"] == pytest.approx(140.0 / 200.0, rel=1e-9)
    assert m["served_requests"] == pytest.approx(200.0, rel=1e-12)


@pytest.mark.parametrize(
    "policy_name, weight, x_big",
    [
        ("cost-glb", 1.4, [0, 0]), ("cost-glb", 2.0, [1, 0]), ("cost-glb", 3.2, [1, 1]),
        # one region: the scaled Lq norm of a 1-vector is the entry for every q, so SE-GLB's
        # conic form must find the same thresholds
        ("se-glb", 1.4, [0, 0]), ("se-glb", 2.0, [1, 0]), ("se-glb", 3.2, [1, 1]),
    ],
)
def test_social_weight_threshold_for_the_big_model(policy_name, weight, x_big):
    # 1 DC, 1 region (50 req/h), models big (4 kWh, score 70) and small (1 kWh, score 60):
    # s_big = 0, s_small = 10 points. Per hour, all big costs 50 x 4 x p/1000 USD, all small
    # 50 x 1 x p/1000 + w x 10 (social: w USD per point of request-averaged loss).
    # Hour 0, p = 100: big 20, small 5 + 10 w   -> big iff w > 1.5
    # Hour 1, p = 200: big 40, small 10 + 10 w  -> big iff w > 3.0
    # Objectives: w = 1.4: 19 + 24 = 43; w = 2.0: 20 + 30 = 50; w = 3.2: 20 + 40 = 60.
    inst = make_instance(
        demand=[[50.0, 50.0]], price=[[100.0, 200.0]], capacity=[1e6], energy_kwh=[4.0, 1.0],
        quality=[70.0, 60.0], social_weight_usd=weight, q_social=2.0, q_env=2.0,
    )
    expected = {1.4: 43.0, 2.0: 50.0, 3.2: 60.0}[weight]
    sol = solve_offline(inst, make_policy(policy_name, inst.weights))
    y = dense_requests(inst, sol)[:, 0, 0, :]  # (K, T)
    np.testing.assert_allclose(y[0], 50.0 * np.array(x_big), atol=1e-4)
    np.testing.assert_allclose(y.sum(axis=0), [50.0, 50.0], rtol=1e-12)
    assert sol.objective_usd == pytest.approx(expected, rel=1e-6)
    m = policy_metrics(inst, sol)
    # request-normalized performance cost of the region over the horizon: 10 points x share small
    assert m["perf_cost"]["avg"] == pytest.approx(10.0 * (1 - np.mean(x_big)), abs=1e-5)


def test_capacity_binding_leaves_exactly_the_excess_unserved():
    # 2 DCs (capacity 100 req/h each), 1 model. Region r0 may use only dc0, r1 both.
    # dc0 is cheaper, but unserved demand costs 10 USD/request, far above any energy price,
    # so r1 goes to dc1 and leaves dc0 to r0.
    # Hour 0: r0 80 at dc0; r1 fills dc0's other 20 and puts 70 at dc1 -> all served.
    # Hour 1: r0 150 -> dc0 full with r0's 100, 50 unserved; r1 100 at dc1.
    # Objective: energy dc0 200 kWh x 0.01 + dc1 170 kWh x 0.02 = 5.4 USD, + 50 x 10 USD.
    inst = make_instance(
        demand=[[80.0, 150.0], [90.0, 100.0]], price=[[10.0, 10.0], [20.0, 20.0]], capacity=[100.0, 100.0],
        energy_kwh=[1.0], mask=[[True, False], [True, True]], local=[0, 1],
    )
    for policy_name in ("cost-glb", "min-price"):
        sol = solve_offline(inst, make_policy(policy_name, inst.weights))
        unserved = sol.unserved_requests(inst)
        np.testing.assert_allclose(unserved, [[0.0, 50.0], [0.0, 0.0]], atol=1e-9)
        y = dense_requests(inst, sol)[0]  # (N, J, T)
        np.testing.assert_allclose(y[:, :, 1], [[100.0, 0.0], [0.0, 100.0]], atol=1e-6)
        assert sol.objective_usd == pytest.approx(5.4 + 500.0, rel=1e-9)
        m = policy_metrics(inst, sol)
        assert m["unserved_requests"] == pytest.approx(50.0, rel=1e-12)
        assert m["served_requests"] == pytest.approx(420.0 - 50.0, rel=1e-12)
        assert len(m["unserved_hours"]) == 1
        hour = m["unserved_hours"][0]
        assert hour["region"] == "r0"
        assert hour["time"] == inst.times[1].isoformat() == "2022-09-22T01:00:00+00:00"
        assert hour["unserved_requests"] == pytest.approx(50.0, rel=1e-12)
        assert hour["demand_requests"] == 150.0
        assert "dc0" in hour["reason"] and "dc1" not in hour["reason"]


# --------------------------------------- 2. agreement with an independent LP (linprog)


def linprog_optimum(inst: Instance, q_social: float | None, q_env: float | None) -> float:
    """The SE-GLB optimum from DESIGN.md, written in requests y[k,i,j,t] >= 0 and unserved
    requests z[j,t] >= 0 (priced at the VOLL), solved by HiGHS through linprog.
    Only q = 1 (a sum) and, for the environment, q = inf scaled (N x max, an epigraph)."""
    n, jn, kn, tn = inst.shape
    w = inst.weights
    s = inst.quality_score.max() - inst.quality_score
    lam = inst.demand
    ny = kn * n * jn * tn
    idx = np.arange(ny).reshape(kn, n, jn, tn)
    nz = jn * tn
    zidx = ny + np.arange(nz).reshape(jn, tn)
    epi = q_env is not None and math.isinf(q_env)
    groups = ["combined"] if w.env_norm == "combined" else ["carbon", "water"]
    n_epi = len(groups) if epi else 0
    nvar = ny + nz + n_epi

    c = np.zeros(nvar)
    bounds = [(0, None)] * nvar
    env_coef = {g: np.zeros((kn, n, jn, tn)) for g in ("carbon", "water")}  # USD per request
    a_ub_rows, a_ub_cols, a_ub_vals, b_ub = [], [], [], []
    row = 0
    for k in range(kn):
        for i in range(n):
            for j in range(jn):
                for t in range(tn):
                    v = idx[k, i, j, t]
                    if not (inst.hosted[i, k] and inst.mask[j, i]):
                        bounds[v] = (0, 0)
                    kwh = inst.energy_kwh_per_request[k]
                    c[v] += inst.pue[i] * kwh * inst.price_usd_per_mwh[i, t] / 1000.0 * w.energy_weight
                    c[v] += w.moving_cost_usd_per_request_per_1000km * inst.distance_km[j, i] / 1000.0
                    if q_social is not None and lam[j, t] > 0:
                        c[v] += w.social_weight_usd * s[k] / lam[j, t]
                    env_coef["carbon"][k, i, j, t] = (
                        w.mu_carbon_usd_per_t * inst.pue[i] * kwh * inst.carbon_kg_per_kwh[i, t] / 1000.0)
                    env_coef["water"][k, i, j, t] = w.mu_water_usd_per_m3 * kwh * inst.wue_l_per_kwh[i, t] / 1000.0
    env_coef["combined"] = env_coef["carbon"] + env_coef["water"]
    if q_env == 1:
        c[:ny] += env_coef["combined"].ravel()
    c[ny:ny + nz] = w.unserved_penalty_usd_per_request
    # demand: sum_{k,i} y[k,i,j,t] + z[j,t] = lambda[j,t]
    eq_rows, eq_cols = [], []
    for j in range(jn):
        for t in range(tn):
            r = j * tn + t
            cols = list(idx[:, :, j, t].ravel()) + [zidx[j, t]]
            eq_rows += [r] * len(cols)
            eq_cols += cols
    a_eq = sp.csr_matrix((np.ones(len(eq_rows)), (eq_rows, eq_cols)), shape=(nz, nvar))
    b_eq = lam.ravel()
    # capacity: sum_{k,j} r_k y[k,i,j,t] <= M_i
    for i in range(n):
        for t in range(tn):
            for k in range(kn):
                for j in range(jn):
                    a_ub_rows.append(row)
                    a_ub_cols.append(idx[k, i, j, t])
                    a_ub_vals.append(inst.resources_per_request[k])
            b_ub.append(inst.capacity[i])
            row += 1
    if epi:  # N x eta (plain: eta) per norm, eta >= H_i for every DC
        for g, name in enumerate(groups):
            eta = ny + nz + g
            c[eta] = n if w.norm_scale == "entries" else 1.0
            for i in range(n):
                a_ub_rows += [row] * (kn * jn * tn) + [row]
                a_ub_cols += list(idx[:, i, :, :].ravel()) + [eta]
                a_ub_vals += list(env_coef[name][:, i, :, :].ravel()) + [-1.0]
                b_ub.append(0.0)
                row += 1
    a_ub = sp.csr_matrix((a_ub_vals, (a_ub_rows, a_ub_cols)), shape=(row, nvar))
    res = linprog(c, A_ub=a_ub, b_ub=b_ub, A_eq=a_eq, b_eq=b_eq, bounds=bounds, method="highs")
    assert res.status == 0, res.message
    return float(res.fun)


@pytest.mark.parametrize(
    "seed, policy, options",
    [
        (1, Policy("all-glb", q_social=1.0, q_env=1.0), {}),
        (2, Policy("cost-glb", q_social=1.0, q_env=None), {}),
        (3, Policy("all-glb", q_social=1.0, q_env=1.0), {"energy_weight": 0.5}),
        (4, Policy("e-glb", q_social=1.0, q_env=INF), {}),
        (5, Policy("e-glb", q_social=1.0, q_env=INF), {}),
        # E-GLB's own form (eglb_replication): the plain max of carbon and of water, apart
        (6, Policy("e-glb", q_social=1.0, q_env=INF), {"env_norm": "separate", "norm_scale": "none"}),
        (7, Policy("e-glb", q_social=1.0, q_env=INF), {"env_norm": "separate"}),
    ],
    ids=["all-glb-1", "cost-glb-2", "all-glb-3-half-energy", "e-glb-inf-4", "e-glb-inf-5",
         "e-glb-inf-separate-plain-6", "e-glb-inf-separate-7"],
)
def test_offline_lp_matches_independent_linprog(seed, policy, options):
    inst = random_instance(seed, n=3, j=3, k=2, t=5, tight=0.8, **options)
    sol = solve_offline(inst, policy)
    expected = linprog_optimum(inst, policy.q_social, policy.q_env)
    assert rel(sol.objective_usd, expected) < 1e-6, (sol.objective_usd, expected)
    # the instance is meant to exercise the capacity constraint: some demand is unserved
    assert sol.u.max() > 0


# ------------------------------------------------------------------- 3. norm forms


def test_q1_norms_are_the_sum_form():
    # SE-GLB with q_social = q_env = 1 is All-GLB (both norms are sums), and its terms are
    # the plain sums of per-region-hour losses and per-DC environmental costs.
    inst = random_instance(11, n=3, j=3, k=2, t=4, tight=2.0)
    se = solve_offline(inst, Policy("se-glb", q_social=1.0, q_env=1.0))
    allg = solve_offline(inst, make_policy("all-glb", inst.weights))
    assert rel(se.objective_usd, allg.objective_usd) < 1e-6
    terms = objective_terms(inst, se.policy, se.arcs, se.x, se.u)
    assert terms["env_usd"] == pytest.approx(per_dc_env_usd(inst, se).sum(), rel=1e-9)
    y = dense_requests(inst, se)
    s = inst.quality_score.max() - inst.quality_score
    lam = inst.demand
    loss = np.einsum("k,kijt->jt", s, y) / np.where(lam > 0, lam, 1.0)
    assert terms["social_usd"] == pytest.approx(inst.weights.social_weight_usd * loss.sum(), rel=1e-9)


def _spread_instance() -> Instance:
    # 3 DCs, 2 regions, 1 model, 6 hours, ample capacity. dc0 is cheap and dirty, dc2
    # expensive and clean: the environmental norm trades energy cost against evenness.
    rng = np.random.default_rng(7)
    t = 6
    price = np.array([30.0, 60.0, 90.0])[:, None] * rng.uniform(0.9, 1.1, (3, t))
    carbon = np.array([0.6, 0.35, 0.2])[:, None] * rng.uniform(0.9, 1.1, (3, t))
    return make_instance(
        demand=rng.uniform(80, 120, (2, t)), price=price, carbon=carbon, capacity=[1e6] * 3,
        energy_kwh=[1.0], mu_carbon_usd_per_t=100.0,
    )


@functools.cache
def _spread_solution(q: float):
    inst = _spread_instance()
    sol = solve_offline(inst, Policy(f"e-glb-q{q}", q_social=1.0, q_env=q))
    return inst, sol


def test_env_spread_shrinks_with_q_towards_minimax():
    qs = [1.0, 2.0, 4.0, 16.0, 64.0]
    spreads, peaks = [], []
    for q in qs + [INF]:
        inst, sol = _spread_solution(q)
        h = per_dc_env_usd(inst, sol)
        spreads.append(h.max() / h.mean())
        peaks.append(h.max())
    # non-increasing spread (a tiny tolerance for solver accuracy)
    for a, b in zip(spreads, spreads[1:]):
        assert b <= a * (1 + 1e-5), spreads
    # the trade-off is real: q = 1 is uneven, q = inf much more even
    assert spreads[0] > 1.5 * spreads[-1], spreads
    # q = 64 approaches the minimax solution
    assert rel(peaks[4], peaks[-1]) < 0.03, peaks
    assert rel(spreads[4], spreads[-1]) < 0.03, spreads


def test_objective_terms_match_independent_numpy_norms():
    inst = random_instance(21, n=3, j=4, k=3, t=5, q_social=3.0, q_env=2.5)
    rng = np.random.default_rng(0)
    for norm_scale, env_norm in (("entries", "combined"), ("none", "combined"), ("entries", "separate")):
        update = {"norm_scale": norm_scale, "env_norm": env_norm}
        inst_s = Instance(**{**inst.__dict__, "weights": inst.weights.model_copy(update=update)})
        for q_social, q_env in ((3.0, 2.5), (1.0, INF), (1.5, 1.0), (4.0, 16.0)):
            policy = Policy("se-glb", q_social=q_social, q_env=q_env)
            arcs = make_arcs(inst_s, policy)
            x = rng.uniform(0, 1, (len(arcs), 5))
            u = rng.uniform(0, 1, (4, 5))
            terms = objective_terms(inst_s, policy, arcs, x, u)
            # what dense_requests / per_dc_env_usd read from a Solution
            sol = SimpleNamespace(arcs=arcs, requests=lambda inst_, x=x, arcs=arcs: x * inst_.demand[arcs.j])
            y = dense_requests(inst_s, sol)
            lam = inst_s.demand
            s = inst_s.quality_score.max() - inst_s.quality_score
            loss = np.einsum("k,kijt->jt", s, y) / np.where(lam > 0, lam, 1.0)  # (J, T)
            loss[lam == 0] = 0.0
            # where lambda = 0 the fraction still carries a loss in our form: recompute it there
            zero = np.argwhere(lam == 0)
            for j, t in zero:
                sel = arcs.j == j
                loss[j, t] = (s[arcs.k[sel]] * x[sel, t]).sum()
            wts = inst_s.weights
            if env_norm == "combined":
                env_groups = [per_dc_env_usd(inst_s, sol)]
            else:  # mu_c ||carbon_i|| + mu_w ||water_i||, recomputed from y
                it_kwh = np.einsum("k,kijt->it", inst_s.energy_kwh_per_request, y)
                carbon_t = (inst_s.pue[:, None] * it_kwh * inst_s.carbon_kg_per_kwh / 1000.0).sum(axis=1)
                water_m3 = (it_kwh * inst_s.wue_l_per_kwh / 1000.0).sum(axis=1)
                env_groups = [wts.mu_carbon_usd_per_t * carbon_t, wts.mu_water_usd_per_m3 * water_m3]

            def scaled_norm(v, q, norm_scale=norm_scale):
                m = len(v) if norm_scale == "entries" else 1
                return (m ** (1 - 1 / q) if not math.isinf(q) else m) * np.linalg.norm(v, ord=q)

            social = inst_s.weights.social_weight_usd * sum(scaled_norm(loss[:, t], q_social) for t in range(5))
            energy = (inst_s.pue[:, None] * np.einsum("k,kijt->it", inst_s.energy_kwh_per_request, y)
                      * inst_s.price_usd_per_mwh / 1000.0).sum()
            assert terms["social_usd"] == pytest.approx(social, rel=1e-10)
            assert terms["env_usd"] == pytest.approx(sum(scaled_norm(h, q_env) for h in env_groups), rel=1e-10)
            assert terms["energy_usd"] == pytest.approx(energy, rel=1e-10)
            assert terms["unserved_usd"] == pytest.approx((10.0 * u * lam).sum(), rel=1e-10)
            assert terms["total_usd"] == pytest.approx(
                sum(terms[key] for key in ("energy_usd", "moving_usd", "unserved_usd", "social_usd", "env_usd")), rel=1e-12)


@pytest.mark.parametrize("scaled", [True, False])
def test_column_norms_match_numpy(scaled):
    v_val = np.array([
        [3.0, 0.0, 1.0, 0.5],
        [4.0, 0.0, 1.0, 2.0],
        [0.0, 0.0, 1.0, 7.0],
    ])  # (m = 3, T = 4); column 1 is all zero, column 2 all equal
    m = v_val.shape[0]
    for q in (1.0, 1.5, 2.0, 3.0, 4.0, INF):
        factor = (m if math.isinf(q) else m ** (1 - 1 / q)) if scaled else 1.0
        expected = factor * np.linalg.norm(v_val, ord=q, axis=0)
        # matrix form
        v = cp.Variable(v_val.shape, nonneg=True)
        s, cons = column_norms(v, q, scaled)
        prob = cp.Problem(cp.Minimize(cp.sum(s)), cons + [v == v_val])
        prob.solve(solver="CLARABEL")
        assert prob.status == cp.OPTIMAL
        np.testing.assert_allclose(s.value, expected, rtol=1e-6, atol=1e-6, err_msg=f"q={q}")
        # vector form, one column at a time (including the all-zero one)
        for col in range(v_val.shape[1]):
            w = cp.Variable(m, nonneg=True)
            s1, cons1 = column_norms(w, q, scaled)
            prob = cp.Problem(cp.Minimize(s1), cons1 + [w == v_val[:, col]])
            prob.solve(solver="CLARABEL")
            assert prob.status == cp.OPTIMAL
            assert float(s1.value) == pytest.approx(expected[col], rel=1e-6, abs=1e-6), (q, col)
        # the numpy twin used by objective_terms
        np.testing.assert_allclose(lq(v_val, q, scaled=scaled), expected, rtol=1e-12)


# ------------------------------------------------ 4. invariants on a mid-size instance

MID_POLICIES = [(name, None) for name in POLICY_NAMES] + [("e-glb", INF)]
MID_IDS = [name for name in POLICY_NAMES] + ["e-glb-inf"]


@functools.cache
def mid_instance() -> Instance:
    return random_instance(42, n=4, j=5, k=3, t=10, tight=0.85, q_social=2.0, q_env=3.0)


def _mid_policy(name: str, q_env: float | None) -> Policy:
    inst = mid_instance()
    policy = make_policy(name, inst.weights)
    if q_env is not None:
        policy = Policy(policy.name, q_social=policy.q_social, q_env=q_env, local_only=policy.local_only)
    return policy


@functools.cache
def mid_solution(name: str, q_env: float | None, mode: str):
    inst = mid_instance()
    policy = _mid_policy(name, q_env)
    return solve_offline(inst, policy) if mode == "offline" else solve_online(inst, policy)


@pytest.mark.parametrize("mode", ["offline", "online"])
@pytest.mark.parametrize("name, q_env", MID_POLICIES, ids=MID_IDS)
def test_invariants(name, q_env, mode):
    inst = mid_instance()
    sol = mid_solution(name, q_env, mode)
    y = dense_requests(inst, sol)  # (K, N, J, T)
    assert np.all(sol.x.data > 0) and np.all(sol.u >= 0)
    # served + unserved = demand, every region-hour
    served = y.sum(axis=(0, 1))
    total = served + sol.unserved_requests(inst)
    np.testing.assert_allclose(total, inst.demand, rtol=1e-9, atol=1e-9)
    # capacity per DC-hour
    used = np.einsum("k,kijt->it", inst.resources_per_request, y)
    assert np.all(used <= inst.capacity[:, None] * (1 + 1e-6)), (used / inst.capacity[:, None]).max()
    # only hosted models at allowed sites carry requests
    allowed = inst.hosted[:, :].T[:, :, None] & inst.mask.T[None, :, :]  # (K, N, J)
    assert np.all(y[~allowed] == 0)
    if name == "nearest":
        for j in range(len(inst.regions)):
            others = np.delete(y[:, :, j, :], inst.local[j], axis=1)
            assert np.all(others == 0), f"region {j} served away from its local DC"
    else:
        # the instance is built so that relocating pays for the unconstrained policies
        assert policy_metrics(inst, sol)["rid"] > 0
    # the capacity binds somewhere, so some demand is left unserved by every policy
    assert sol.unserved_requests(inst).sum() > 0
    # the reported objective is the policy's objective at the returned allocation
    terms = objective_terms(inst, sol.policy, sol.arcs, sol.x, sol.u)
    assert sol.objective_usd == pytest.approx(terms["total_usd"], rel=1e-12)
    assert sol.fallback_hours == []


# ------------------------------------------------------------------------ 5. online


@pytest.mark.parametrize("name, q_env", MID_POLICIES, ids=MID_IDS)
def test_hourly_problem_is_dpp(name, q_env):
    inst = mid_instance()
    policy = _mid_policy(name, q_env)
    arcs = make_arcs(inst, policy)
    for env_linear in (False, True):
        assert HourlyProblem(inst, policy, arcs, env_linear=env_linear).problem.is_dpp()


@pytest.mark.parametrize("name, q_env", MID_POLICIES, ids=MID_IDS)
def test_online_never_beats_offline(name, q_env):
    offline = mid_solution(name, q_env, "offline")
    online = mid_solution(name, q_env, "online")
    # Clarabel stops at a 1e-7 gap on the scaled problem (cosim.glb.solve): conic optima are
    # good to a few 1e-6 of the objective, HiGHS' LP optima to round-off
    tol = 2e-5 if offline.policy.conic else 1e-8
    assert online.objective_usd >= offline.objective_usd * (1 - tol)
    # and it is not absurdly worse on this benign instance
    assert online.objective_usd <= 1.5 * offline.objective_usd


@pytest.mark.parametrize("name, q_env", MID_POLICIES, ids=MID_IDS)
def test_one_hour_horizon_online_equals_offline(name, q_env):
    base = mid_instance()
    inst = base.window(3, 4)
    policy = _mid_policy(name, q_env)
    offline = solve_offline(inst, policy)
    # with one hour there is no future: the myopic hour problem is the horizon problem
    online = solve_online(inst, policy, "myopic")
    assert rel(online.objective_usd, offline.objective_usd) < 1e-5


def test_dmd_needs_minimax():
    inst = mid_instance()
    for policy in (Policy("e-glb", 1.0, 2.0), Policy("all-glb", 1.0, 1.0), Policy("cost-glb", 1.0, None)):
        with pytest.raises(ValueError, match="q_env = inf"):
            solve_online(inst, policy, "dmd")
    # the default for q_env = inf is dmd, for anything else myopic
    tiny = inst.window(0, 2)
    assert solve_online(tiny, Policy("e-glb", 1.0, INF)).algorithm == "dmd"
    assert solve_online(tiny, Policy("e-glb", 1.0, 1.0)).algorithm == "myopic"


def _cheap_dirty_instance(t: int = 24) -> Instance:
    # dc0: 30 USD/MWh, 0.8 kg/kWh every hour; dc1: 60 USD/MWh, 0.2 kg/kWh. 1 region, 1 model.
    rng = np.random.default_rng(3)
    return make_instance(
        demand=rng.uniform(80, 120, (1, t)),
        price=np.array([[30.0], [60.0]]) * rng.uniform(0.95, 1.05, (2, t)),
        carbon=np.array([[0.8], [0.2]]) * rng.uniform(0.95, 1.05, (2, t)),
        capacity=[1e6, 1e6], energy_kwh=[1.0], mu_carbon_usd_per_t=100.0,
    )


def test_online_dmd_eglb_evens_carbon_against_cost_glb():
    inst = _cheap_dirty_instance(48)
    cost = policy_metrics(inst, solve_online(inst, make_policy("cost-glb", inst.weights)))
    eglb = policy_metrics(inst, solve_online(inst, Policy("e-glb", 1.0, INF), "dmd"))
    assert cost["carbon_t"]["max_avg"] == pytest.approx(2.0, rel=1e-9)  # all at dc0
    assert eglb["carbon_t"]["max_avg"] < 1.25
    assert eglb["carbon_t"]["max"] < 0.6 * cost["carbon_t"]["max"]


def test_online_dmd_converges_to_even_site_totals():
    # The same cheap-dirty pair over a week. Offline minimax evens the sites' carbon
    # (H_0 = H_1: about 20 % of the demand at dc0, whose intensity is 4x dc1's). Each DMD
    # hour is an LP, so it sends everything to one site; theta can only settle where the
    # dual gradient sums to the same at both sites, i.e. where the H_i are equal, provided
    # the gradient keeps how much each site emitted. (Normalizing each hour's gradient by
    # its own maximum makes it (1, 0) or (0, 1) whatever the intensities: theta then settles
    # at half the hours at each site, carbon max/avg 1.6 and an objective 40 % above offline.)
    inst = _cheap_dirty_instance(168)
    policy = Policy("e-glb", 1.0, INF)
    offline = solve_offline(inst, policy)
    online = solve_online(inst, policy, "dmd")
    h_off, h_on = per_dc_env_usd(inst, offline), per_dc_env_usd(inst, online)
    assert h_off.max() / h_off.mean() == pytest.approx(1.0, abs=1e-6)
    assert h_on.max() / h_on.mean() < 1.15
    assert online.objective_usd < 1.05 * offline.objective_usd
    # share of the demand at the dirty site: offline 0.2 (0.8 x_0 = 0.2 (1 - x_0)), online near it
    y = dense_requests(inst, online)[0, :, 0, :]
    assert y[0].sum() / y.sum() == pytest.approx(0.2, abs=0.03)


@pytest.mark.parametrize("q_env", [INF, 2.0])
def test_online_myopic_carries_the_sites_past_footprint(q_env):
    # 2 DCs, 1 region (100 req/h), 1 model at 1 kWh, mu_c = 10 USD/t, 1 kg/kWh at both sites.
    # Hour 0: dc0 10 USD/MWh (1 USD for the hour), dc1 1000 (100 USD): all at dc0 whatever the
    #   environmental term (at most 2 USD), so H = (1, 0) USD after hour 0.
    # Hour 1: dc0 10, dc1 9.9 USD/MWh. Myopic minimizes 0.99 + 0.01 x0 + ||(1 + x0, 1 - x0)||
    #   (scaled by N^(1-1/q)), smallest at x0 = 0 for q = 2 (2 + 2 x0^2 under the root) and
    #   for q = inf: all at dc1, which is also the offline optimum.
    #   Objective 1 + 0.99 + N^(1-1/q) ||(1, 1)||_q = 1.99 + 2 = 3.99.
    #   Forgetting hour 0 would split hour 1 about evenly (H = (1.5, 0.5): about 5 for q = inf).
    inst = make_instance(
        demand=[[100.0, 100.0]], price=[[10.0, 10.0], [1000.0, 9.9]], carbon=np.ones((2, 2)),
        capacity=[1e6, 1e6], energy_kwh=[1.0], mu_carbon_usd_per_t=10.0,
    )
    policy = Policy("e-glb", 1.0, q_env)
    offline = solve_offline(inst, policy)
    online = solve_online(inst, policy, "myopic")
    for sol in (offline, online):
        y = dense_requests(inst, sol)[0, :, 0, :]
        np.testing.assert_allclose(y, [[100.0, 0.0], [0.0, 100.0]], atol=1e-2)  # conic: ~1e-5 of 100
        assert sol.objective_usd == pytest.approx(3.99, rel=1e-6)


@pytest.mark.parametrize("norm_scale, price_clean", [("entries", 2.6), ("none", 1.8)])
def test_online_dmd_prices_the_minimax_as_the_offline_objective(norm_scale, price_clean):
    # 2 DCs, 1 region (100 req/h), 1 model at 1 kWh, 48 hours, identical every hour.
    # dc0: 10 USD/MWh and 1 kg/kWh at mu_c = 10 USD/t -> per hour 1 USD energy + 1 USD env
    #      if it takes all the demand; dc1: price_clean USD per hour, no carbon (H_1 = 0).
    # Offline objective: energy + c x max(H_0, H_1) with c = N = 2 (scaled) or 1 (plain),
    # and H_1 = 0, so dc0 costs 1 + c per hour: 3 > 2.6 (scaled), 2 > 1.8 (plain) -> all at dc1.
    # DMD: each hour costs dc0 at 1 + c theta_0 (c theta is the Lagrangian weight of c max).
    # theta_0 starts at 1/2 (dc0 wins: 1 + c/2 = 2 < 2.6, 1.5 < 1.8) and grows by
    # exp(step) each hour dc0 is used (gradient (1, 0) relative to dc0's hourly cost, the
    # largest arc cost; step = sqrt(2 ln 2 / 48)
    # = 0.17), until c theta_0 > 1.6 (scaled) / 0.8 (plain), i.e. theta_0 > 0.8: after
    # ln 4 / 0.17 = 8.2, so 9 hours; then dc1 every hour (no gradient, theta stays).
    # A Lagrangian weight of theta (not N theta) on the scaled norm would keep dc0 forever.
    t = 48
    inst = make_instance(
        demand=np.full((1, t), 100.0), price=np.array([[10.0], [price_clean * 10.0]]) * np.ones((2, t)),
        carbon=np.array([[1.0], [0.0]]) * np.ones((2, t)), capacity=[1e6, 1e6], energy_kwh=[1.0],
        mu_carbon_usd_per_t=10.0, norm_scale=norm_scale,
    )
    policy = Policy("e-glb", 1.0, INF)
    offline = solve_offline(inst, policy)
    assert offline.objective_usd == pytest.approx(price_clean * t, rel=1e-9)
    online = solve_online(inst, policy, "dmd")
    y = dense_requests(inst, online)[0, :, 0, :]  # (N, T)
    hours_at_dirty = int((y[0] > 50).sum())
    assert hours_at_dirty == 9
    assert np.all(y[0, 9:] == 0)
    c = 2.0 if norm_scale == "entries" else 1.0
    expected = 9 * 1.0 + (t - 9) * price_clean + c * 9 * 1.0
    assert online.objective_usd == pytest.approx(expected, rel=1e-9)


# --------------------------------------------------------------- 6. reproducibility


@pytest.mark.parametrize("policy", [Policy("all-glb", 1.0, 1.0), Policy("se-glb", 2.0, 3.0), Policy("e-glb", 1.0, INF)],
                         ids=["lp", "conic", "minimax"])
def test_solving_twice_gives_identical_allocations(policy):
    inst = random_instance(5, n=3, j=3, k=2, t=6)
    for solve in (solve_offline, solve_online):
        a, b = solve(inst, policy), solve(inst, policy)
        assert np.array_equal(a.x.toarray(), b.x.toarray()) and np.array_equal(a.u, b.u)
        assert a.objective_usd == b.objective_usd
