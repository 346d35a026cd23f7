"""Sparse allocations (issue 15, memory): the log, Solution.x, objective_terms, the metrics
and the streamed Parquet tables against the dense computation they replaced, on a
hand-made instance and on paper10 cut to 24 h (to 1e-9 relative)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
import scipy.sparse as sp

from agents.hour import Decision, HourRecord
from cosim.glb import make_arcs, make_policy, objective_terms, solve_offline
from cosim.glb.formulation import (
    ALLOCATION_THRESHOLD,
    Solution,
    coefficients,
    lq,
    sparse_fractions,
)
from cosim.glb.policies import Policy
from cosim.hourly_log import HourlyLog
from cosim.instance import build_instance
from cosim.metrics import policy_metrics, site_hourly
from cosim.outputs import allocation_frames, allocation_table, write_frames, write_policy
from cosim.scenario_files import load_scenario
from tests.test_glb import random_instance

INF = float("inf")
REL = 1e-9


# -- the dense computation of before (reference) ------------------------------------

def _dense_objective(inst, policy, arcs, x, u) -> dict[str, float]:
    c = coefficients(inst, arcs)
    scaled = inst.weights.norm_scale == "entries"
    terms = {"energy_usd": float((c.energy * x).sum()), "moving_usd": float((c.moving * x).sum()),
             "unserved_usd": float((c.unserved * u).sum()), "social_usd": 0.0, "env_usd": 0.0}
    if policy.q_social is not None:
        loss = arcs.by_region @ (c.social * x)
        terms["social_usd"] = float(inst.weights.social_weight_usd * lq(loss, policy.q_social, scaled=scaled).sum())
    if policy.q_env is not None:
        for env in c.env_groups(inst.weights.env_norm):
            terms["env_usd"] += float(lq(arcs.by_dc @ (env * x).sum(axis=1), policy.q_env, scaled=scaled))
    terms["total_usd"] = sum(terms.values())
    return terms


def _dense_sites(inst, arcs, x) -> dict[str, np.ndarray]:
    y = x * inst.demand[arcs.j]
    energy_kwh = arcs.by_dc @ (inst.energy_kwh_per_request[arcs.k][:, None] * y)
    facility_kwh = inst.pue[:, None] * energy_kwh
    return {"energy_kwh": energy_kwh, "facility_kwh": facility_kwh,
            "energy_cost_usd": facility_kwh * inst.price_usd_per_mwh / 1000.0,
            "carbon_kg": facility_kwh * inst.carbon_kg_per_kwh,
            "water_l": energy_kwh * inst.wue_l_per_kwh + facility_kwh * inst.ewif_l_per_kwh}


def _dense_allocations(inst, arcs, x) -> pd.DataFrame:
    y = x * inst.demand[arcs.j]
    a, t = np.nonzero(y > 0)

    def labels(names, index):
        return pd.Categorical.from_codes(index, categories=list(names))

    return pd.DataFrame({
        "time": inst.times[t], "user_region": labels(inst.regions, inst.user_region[arcs.j[a]]),
        "datacenter": labels(inst.datacenters, arcs.i[a]), "model": labels(inst.models, arcs.k[a]),
        "tier": labels(inst.tiers, inst.user_tier[arcs.j[a]]), "requests": y[a, t],
    }).sort_values(["time", "user_region", "tier", "datacenter", "model"], ignore_index=True)


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= REL * max(abs(a), abs(b), 1e-12)


def _assert_same(inst, sol, x_dense) -> None:
    """Objective, site series, metrics and allocation table of *sol* (sparse) against the
    dense computation on *x_dense*."""
    arcs = sol.arcs
    dense = _dense_objective(inst, sol.policy, arcs, x_dense, sol.u)
    for hours in (None, 1, 5):
        sparse = objective_terms(inst, sol.policy, arcs, sol.x, sol.u, chunk_hours=hours)
        for key, value in dense.items():
            assert _close(sparse[key], value), (hours, key, sparse[key], value)
    sites, ref = site_hourly(inst, sol), _dense_sites(inst, arcs, x_dense)
    for key in ref:
        np.testing.assert_allclose(sites[key], ref[key], rtol=REL, atol=1e-12, err_msg=key)
    m = policy_metrics(inst, sol)
    assert _close(m["energy_cost_usd"]["total"], float(ref["energy_cost_usd"].sum()))
    assert _close(m["water_m3"]["max"], float((ref["water_l"].sum(axis=1) / 1000.0).max()))
    y = x_dense * inst.demand[arcs.j]
    assert _close(m["served_requests"], float(y.sum()))
    served_r = arcs.by_region @ y.sum(axis=1)
    for r, region in enumerate(inst.regions):
        assert _close(m["per_region"][region]["served_requests"], float(served_r[r]))
    it_kwh = inst.energy_kwh_per_request[arcs.k] * y.sum(axis=1)
    away = inst.local[arcs.j] != arcs.i
    assert _close(m["rid"], float(it_kwh[away].sum() / it_kwh.sum()))
    pd.testing.assert_frame_equal(allocation_table(inst, sol), _dense_allocations(inst, arcs, x_dense), check_exact=True)


# -- tests ----------------------------------------------------------------------------

def _solution(inst, policy, x, u) -> Solution:
    return Solution(policy=policy, arcs=make_arcs(inst, policy), x=x, u=u, mode="online", algorithm="test",
                    solver="none", objective_usd=0.0, solve_s=0.0, total_s=0.0, fallback_hours=[])


def test_solution_x_is_sparse_above_the_threshold_and_converted_from_dense():
    inst = random_instance(3, n=3, j=4, k=2, t=6)
    policy = Policy("se-glb", q_social=2.0, q_env=2.0)
    arcs = make_arcs(inst, policy)
    rng = np.random.default_rng(1)
    x = rng.uniform(0, 1, (len(arcs), 6)) * (rng.uniform(size=(len(arcs), 6)) < 0.3)
    x[0, 0], x[1, 0] = ALLOCATION_THRESHOLD, 2 * ALLOCATION_THRESHOLD  # at the threshold: dropped; above: kept
    sol = _solution(inst, policy, x, np.zeros((4, 6)))
    assert isinstance(sol.x, sp.csc_array) and sol.x.has_canonical_format
    kept = x > ALLOCATION_THRESHOLD
    assert sol.x.nnz == kept.sum()
    np.testing.assert_array_equal(sol.x.toarray(), np.where(kept, x, 0.0))
    for t in range(6):
        np.testing.assert_array_equal(sol.x_hour(t), np.where(kept[:, t], x[:, t], 0.0))
    y = sol.requests(inst)
    assert isinstance(y, sp.csc_array) and (y.data > 0).all()  # the user-hour without demand stores no request
    np.testing.assert_allclose(y.toarray(), np.where(kept, x, 0.0) * inst.demand[arcs.j], rtol=1e-15)
    assert sparse_fractions(sol.x).nnz == sol.x.nnz  # sparse in, the same out


@pytest.mark.parametrize("q_social, q_env, env_norm", [(3.0, 2.5, "combined"), (1.0, INF, "separate"),
                                                       (None, None, "combined")])
def test_hand_made_instance_matches_the_dense_computation(q_social, q_env, env_norm):
    base = random_instance(21, n=3, j=4, k=3, t=7, q_social=3.0, q_env=2.5)
    inst = type(base)(**{**base.__dict__, "weights": base.weights.model_copy(update={"env_norm": env_norm})})
    policy = Policy("se-glb", q_social=q_social, q_env=q_env)
    arcs = make_arcs(inst, policy)
    rng = np.random.default_rng(2)
    x = rng.uniform(0, 1, (len(arcs), 7)) * (rng.uniform(size=(len(arcs), 7)) < 0.4)
    x[:, 3] = 0.0  # an hour with nothing allocated
    u = rng.uniform(0, 0.2, (4, 7))
    sol = _solution(inst, policy, x, u)
    _assert_same(inst, sol, x)


@pytest.fixture(scope="module")
def paper10_day():
    spec = load_scenario("paper10").with_hours(24)
    inst = build_instance(spec)
    return inst, solve_offline(inst, make_policy("se-glb", spec.policy))


def test_paper10_day_matches_the_dense_computation(paper10_day):
    inst, sol = paper10_day
    assert 0 < sol.x.nnz < sol.x.shape[0] * sol.x.shape[1]
    _assert_same(inst, sol, sol.x.toarray())
    # the objective the solver reported (objective_terms on its dense x) is the sparse one's
    assert _close(objective_terms(inst, sol.policy, sol.arcs, sol.x, sol.u)["total_usd"], sol.objective_usd)


def test_streamed_tables_equal_one_table_of_the_horizon(paper10_day, tmp_path, monkeypatch):
    inst, sol = paper10_day
    import cosim.outputs as outputs

    monkeypatch.setattr(outputs, "WINDOW_HOURS", 5)  # 24 h in 5 windows
    folder = write_policy(tmp_path, inst, sol, realized=inst)
    whole = {"allocations": _dense_allocations(inst, sol.arcs, sol.x.toarray()),
             "sites": _whole_site_table(inst, sol), "demand": _whole_demand_table(inst, sol)}
    for name, frame in whole.items():
        path = tmp_path / f"{name}-whole.parquet"
        frame.to_parquet(path, index=False)
        streamed = folder / f"{name}.parquet"
        assert pq.ParquetFile(streamed).metadata.num_row_groups == 5, name
        assert pq.read_schema(streamed).equals(pq.read_schema(path), check_metadata=True), name
        pd.testing.assert_frame_equal(pd.read_parquet(streamed), pd.read_parquet(path), check_exact=True)
    assert not list(folder.glob(".*"))  # no temporary file left


def _whole_site_table(inst, sol) -> pd.DataFrame:
    """sites.parquet as written before, in one table (realized = seen)."""
    from grids.outcome import SIGNALS

    sites = _dense_sites(inst, sol.arcs, sol.x.toarray())
    n, t = len(inst.datacenters), len(inst.times)
    columns = {"time": np.tile(inst.times, n),
               "datacenter": pd.Categorical.from_codes(np.repeat(np.arange(n), t), categories=list(inst.datacenters)),
               "energy_kwh": sites["energy_kwh"].ravel(), "facility_kwh": sites["facility_kwh"].ravel(),
               **{name: getattr(inst, name).ravel() for name in SIGNALS},
               "energy_cost_usd": sites["energy_cost_usd"].ravel(), "carbon_kg": sites["carbon_kg"].ravel(),
               "water_l": sites["water_l"].ravel(), **{f"realized_{name}": getattr(inst, name).ravel() for name in SIGNALS}}
    return pd.DataFrame(columns).sort_values(["time", "datacenter"], ignore_index=True)


def _whole_demand_table(inst, sol) -> pd.DataFrame:
    """demand.parquet as written before, in one table."""
    j, t = inst.demand.shape
    return pd.DataFrame({
        "time": np.tile(inst.times, j),
        "user_region": pd.Categorical.from_codes(np.repeat(inst.user_region, t), categories=list(inst.regions)),
        "tier": pd.Categorical.from_codes(np.repeat(inst.user_tier, t), categories=list(inst.tiers)),
        "requests": inst.demand.ravel(), "unserved": (sol.u * inst.demand).ravel(),
    }).sort_values(["time", "user_region", "tier"], ignore_index=True)


def test_write_frames_needs_a_frame(tmp_path):
    with pytest.raises(ValueError, match="no frame"):
        write_frames(tmp_path / "x.parquet", iter(()))
    frames = list(allocation_frames(*_empty_solution()))
    write_frames(tmp_path / "empty.parquet", frames)  # no request at all: an empty table, with its columns
    read = pd.read_parquet(tmp_path / "empty.parquet")
    assert len(read) == 0 and list(read.columns) == ["time", "user_region", "datacenter", "model", "tier", "requests"]


def _empty_solution():
    inst = random_instance(4, n=2, j=2, k=1, t=3)
    policy = Policy("cost-glb", q_social=None, q_env=None)
    return inst, _solution(inst, policy, np.zeros((len(make_arcs(inst, policy)), 3)), np.ones((2, 3)))


def test_hourly_log_keeps_only_the_arcs_above_the_threshold():
    inst = random_instance(5, n=2, j=3, k=2, t=4)
    log = HourlyLog.empty(inst, 6, (), coupling="open", operators=1, iterate_tol=1e-3)
    hours = [np.array([0.5, 0.0, 1e-10, 0.5, 0.0, 0.0]), np.zeros(6), np.array([0.0, 1.0, 0.0, 0.0, 0.0, 2e-9])]
    for k, x in enumerate(hours):
        log.record(k, HourRecord(demand=inst.demand[:, k], decision=Decision(x=x, u=np.zeros(3), facility_mw=np.zeros(2),
                                                                             choices=()), seen=None, realized=None, grids=()))
    assert isinstance(log.x, sp.csc_array) and log.x.shape == (6, 4)
    assert log.x.nnz == 4  # 1e-10 dropped, 2e-9 kept
    np.testing.assert_array_equal(log.x.toarray()[:, 0], [0.5, 0, 0, 0.5, 0, 0])
    np.testing.assert_array_equal(log.x_hour(2), [0, 1.0, 0, 0, 0, 2e-9])
    np.testing.assert_array_equal(log.x.toarray()[:, 3], 0.0)  # an hour not recorded
    before = log.x
    log.record(3, HourRecord(demand=inst.demand[:, 3], decision=Decision(x=np.full(6, 0.25), u=np.zeros(3),
                                                                         facility_mw=np.zeros(2), choices=()),
                             seen=None, realized=None, grids=()))
    assert log.x is not before and log.x.nnz == 10  # rebuilt after a new hour


def test_table_windows_bound_the_rows_of_every_table(paper10_day, monkeypatch):
    inst, sol = paper10_day
    import cosim.outputs as outputs

    per_hour = np.diff(sol.x.indptr) + max(len(inst.datacenters), inst.demand.shape[0])
    monkeypatch.setattr(outputs, "WINDOW_ENTRIES", int(3 * per_hour.max()))
    windows = outputs._windows(inst, sol)
    assert windows[0][0] == 0 and windows[-1][1] == 24 and all(a[1] == b[0] for a, b in zip(windows, windows[1:]))
    assert all(per_hour[t0:t1].sum() <= 3 * per_hour.max() for t0, t1 in windows)
    assert all(per_hour[t0:t1 + 1].sum() > 3 * per_hour.max() for t0, t1 in windows[:-1])  # each as long as fits
    assert sum(len(f) for f in allocation_frames(inst, sol)) == len(allocation_table(inst, sol)) == sol.x.nnz


def _record_hours(log: HourlyLog, inst, xs) -> None:
    for k, x in enumerate(xs):
        log.record(k, HourRecord(demand=inst.demand[:, k], decision=Decision(x=x, u=np.zeros(inst.demand.shape[0]),
                                                                             facility_mw=np.zeros(len(inst.datacenters)),
                                                                             choices=()), seen=None, realized=None, grids=()))


def test_hourly_log_holds_each_allocation_once_in_12_bytes():
    """The log's buffers hold exactly the entries above the threshold (int32 arc + float64
    fraction once every hour is in); `x` and the Solution built from it share them."""
    inst = random_instance(6, n=3, j=4, k=2, t=200)
    arcs, t_count = 24, 200
    rng = np.random.default_rng(2)
    xs = [rng.uniform(0, 1, arcs) * (rng.uniform(size=arcs) < 0.8) for _ in range(t_count)]
    xs[7][:3] = [ALLOCATION_THRESHOLD, 0.5 * ALLOCATION_THRESHOLD, 3 * ALLOCATION_THRESHOLD]
    log = HourlyLog.empty(inst, arcs, (), coupling="open", operators=1, iterate_tol=1e-3)
    _record_hours(log, inst, xs)
    kept = int(sum((x > ALLOCATION_THRESHOLD).sum() for x in xs))
    assert log.x_entries == kept
    x = log.x
    assert x.nnz == kept and x.indices.dtype == np.int32 and x.indptr.dtype == np.int32
    assert log.x_bytes == 12 * kept + 8 * (t_count + 1)  # trimmed to what it holds
    assert np.shares_memory(x.data, log._x_vals) and np.shares_memory(x.indices, log._x_rows)
    policy = Policy("se-glb", q_social=2.0, q_env=2.0)
    sol = _solution(inst, policy, x, np.zeros((4, t_count)))
    assert sol.x is x  # no copy of the allocations for the Solution
    np.testing.assert_array_equal(x.toarray(), np.where(np.array(xs).T > ALLOCATION_THRESHOLD, np.array(xs).T, 0.0))


def test_hourly_log_records_hours_in_order_and_keeps_old_views_intact():
    inst = random_instance(7, n=2, j=3, k=2, t=3000)
    log = HourlyLog.empty(inst, 6, (), coupling="open", operators=1, iterate_tol=1e-3)
    _record_hours(log, inst, [np.full(6, 0.5)])
    view = log.x  # alive while the buffers grow: they are copied, not moved under it
    with pytest.raises(ValueError, match="in order"):
        _record_hours(log, inst, [np.full(6, 0.5)])  # hour 0 again
    for k in range(1, 3000):
        log.record(k, HourRecord(demand=inst.demand[:, k], decision=Decision(
            x=np.full(6, 1 / 6), u=np.zeros(3), facility_mw=np.zeros(2), choices=()), seen=None, realized=None, grids=()))
    np.testing.assert_array_equal(view.toarray()[:, 0], 0.5)
    assert view.nnz == 6 and log.x.nnz == 6 * 3000
    np.testing.assert_array_equal(log.x_hour(2999), 1 / 6)


def test_metrics_and_tables_hold_one_window_of_requests_not_the_horizon(monkeypatch):
    """Peak memory of the metrics and of the allocation table stays near one window's
    entries: it would be several arrays of every entry of the horizon if y were built whole."""
    import tracemalloc

    import cosim.glb.formulation as formulation

    inst = random_instance(8, n=4, j=12, k=2, t=600)
    policy = Policy("se-glb", q_social=2.0, q_env=2.0)
    arcs = make_arcs(inst, policy)
    rng = np.random.default_rng(3)
    x = rng.uniform(0.01, 1, (len(arcs), 600))
    sol = _solution(inst, policy, x, np.zeros((inst.demand.shape[0], 600)))
    monkeypatch.setattr(formulation, "WINDOW_ENTRIES", 20 * len(arcs))  # windows of 20 h
    horizon_bytes = 8 * sol.x.nnz  # one float64 per entry of the horizon
    tracemalloc.start()
    try:
        policy_metrics(inst, sol)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    dense_series = 8 * 600 * (6 * len(inst.datacenters) + 2 * inst.demand.shape[0])  # (N, T) and (J, T) results
    assert peak < 0.5 * horizon_bytes + dense_series, (peak, horizon_bytes, dense_series)
