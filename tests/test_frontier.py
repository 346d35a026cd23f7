"""Latency budgets and legal rules end to end: the frontier sweep, EU data residency in every
allocation, and the `cosim masks` / `cosim frontier` commands (exit codes, files, messages).

Luo & Cheng: relaxing the latency budget tau only adds feasible (site, model) pairs, so the
optimal objective of every policy can only fall; ERL and CRL are what each ms buys.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cosim import frontier
from cosim.errors import InputError
from cosim.glb import make_policy, solve_offline, solve_online
from cosim.instance import build_instance
from cosim.runner import run_scenario
from cosim.scenario_files import load_scenario
from tests.test_cli import assert_bad_input, cosim

EU = ("Belgium", "Netherlands", "Germany", "Denmark")
POLICIES = ["cost-glb", "all-glb", "e-glb", "se-glb", "min-price"]


@pytest.fixture(scope="module")
def synthetic_paper10():
    """paper10 on synthetic signals (no dispatch), 24 h: the tiers and masks are paper10's."""
    spec = load_scenario("paper10").with_hours(24)
    return spec.model_copy(update={"signals": spec.signals.model_copy(update={"source": "synthetic"})})


@pytest.fixture(scope="module")
def sweep(synthetic_paper10):
    inst = build_instance(synthetic_paper10)
    return frontier.sweep(inst, [15, 30, 60, 120, 200, 400], POLICIES)


def test_relaxing_tau_never_raises_the_optimal_objective(sweep):
    """Every policy's offline optimum is non-increasing in tau (same signals, nested masks);
    a relative slack of 1e-6 covers the solvers' tolerance."""
    for name, rows in sweep.groupby("policy"):
        objective = rows.sort_values("tau_ms")["objective_usd"].to_numpy()
        assert np.all(np.diff(objective) <= 1e-6 * objective[:-1]), (name, objective)
        assert objective[-1] < objective[0] * (1 - 1e-3), (name, objective)  # and relaxing does buy something


def test_min_price_energy_cost_falls_as_tau_relaxes(sweep):
    """min-price minimizes energy cost (and distance/friction) only: its energy cost is its
    objective up to the small moving terms, so it falls too, and ERL >= 0 up to round-off."""
    rows = sweep[sweep["policy"] == "min-price"].sort_values("tau_ms")
    cost = rows["energy_cost_usd"].to_numpy()
    assert np.all(np.diff(cost) <= 1e-6 * cost[:-1] + 1.0), cost
    erl = rows["erl"].to_numpy()
    assert np.isnan(erl[0]) and np.all(erl[1:] >= -1e-3)
    # ERL is the saving per ms between consecutive budgets, by hand from the energy column
    tau = rows["tau_ms"].to_numpy()
    np.testing.assert_allclose(erl[1:], -(cost[1:] - cost[:-1]) / (tau[1:] - tau[:-1]), rtol=1e-12)


def test_layers_and_rid_grow_with_tau(sweep):
    """At tau 15 ms only sites within 5 ms of network RTT (10 ms access) are feasible: almost all
    demand is local; at 400 ms every tier reaches every site the masks allow except the
    far pairs of paper10 over 390 ms (none): all demand is energy-oriented."""
    one = sweep[sweep["policy"] == "cost-glb"].set_index("tau_ms")
    assert one.loc[400, "layer_energy_oriented"] == pytest.approx(1.0)
    assert one.loc[15, "layer_local"] > 0.5
    for column in ("layer_local", "layer_regional", "layer_energy_oriented"):
        assert ((0 <= one[column]) & (one[column] <= 1)).all()
    np.testing.assert_allclose(one[["layer_local", "layer_regional", "layer_energy_oriented"]].sum(axis=1), 1.0)
    assert one["layer_local"].is_monotonic_decreasing
    rid = sweep[sweep["policy"] == "min-price"].set_index("tau_ms")["rid"]
    assert rid.loc[400] > rid.loc[15]


def test_sweep_refuses_a_budget_no_site_meets(synthetic_paper10):
    inst = build_instance(synthetic_paper10)
    with pytest.raises(InputError) as info:
        frontier.sweep(inst, [5, 50], ["cost-glb"])
    message = str(info.value)
    assert message.startswith("--tau: 5 ms: region 'Virginia', tier 'interactive': no data center within tau 5 ms"), message


@pytest.mark.parametrize("text, where", [("20,abc", "value 2"), ("0,10", "value 1"), ("10,inf", "value 2"), ("10,10", "values")])
def test_parse_taus_refuses(text, where):
    with pytest.raises(InputError) as info:
        frontier.parse_taus(text)
    assert str(info.value).startswith(f"--tau: {where}: ")


# ======================================================================================
# EU data residency
# ======================================================================================


def _assert_eu_stays_in_eu(allocations: pd.DataFrame) -> None:
    eu_users = allocations[allocations["user_region"].isin(EU)]
    assert len(eu_users) > 0
    assert set(eu_users["datacenter"].astype(str)) <= set(EU), set(eu_users["datacenter"].astype(str))


def test_eu_rule_holds_in_every_allocation(tmp_path):
    """eu_residency (grid signals, 12 h): every request of an EU user, under every policy,
    offline and online, is served at one of the four EU sites; others do relocate to the EU."""
    spec = load_scenario("eu_residency").with_hours(12)
    result = run_scenario(spec, out=tmp_path)
    from cosim.outputs import allocation_table

    others_in_eu = 0.0
    for name, sol in result.solutions.items():
        table = allocation_table(result.instance, sol)
        _assert_eu_stays_in_eu(table)
        stored = pd.read_parquet(tmp_path / name / "allocations.parquet")
        _assert_eu_stays_in_eu(stored)
        outside = ~stored["user_region"].isin(EU) & stored["datacenter"].isin(EU)
        others_in_eu += stored.loc[outside, "requests"].sum()
        online = solve_online(result.instance, make_policy(name, spec.policy))
        _assert_eu_stays_in_eu(allocation_table(result.instance, online))
    assert others_in_eu > 0  # the rule binds EU users only: the rest may still come to Europe


def test_eu_rule_costs_something(synthetic_paper10):
    """The same signals with and without the rule: the rule can only raise each optimum."""
    base = build_instance(synthetic_paper10)
    eu_spec = load_scenario("eu_residency").with_hours(24)
    ruled = build_instance(eu_spec.model_copy(update={"signals": synthetic_paper10.signals}))
    for name in ("cost-glb", "se-glb"):
        free = solve_offline(base, make_policy(name, base.weights)).objective_usd
        bound = solve_offline(ruled, make_policy(name, ruled.weights)).objective_usd
        assert bound >= free * (1 - 1e-6), (name, free, bound)


# ======================================================================================
# The commands
# ======================================================================================


def test_cosim_masks_shows_rules_and_writes_every_pair(tmp_path):
    csv = tmp_path / "pairs.csv"
    proc = cosim("masks", "eu_residency", "--csv", csv, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "174 of 300 (region, tier, data center) pairs feasible" in proc.stdout
    assert "excluded by legal: eu-data-residency: 72" in proc.stdout
    pairs = pd.read_csv(csv)
    assert len(pairs) == 300 and pairs["feasible"].sum() == 174
    row = pairs[(pairs.region == "Germany") & (pairs.tier == "batch") & (pairs.datacenter == "Texas")].iloc[0]
    assert not row.feasible and row.reason == "legal: eu-data-residency"
    row = pairs[(pairs.region == "Japan") & (pairs.tier == "interactive") & (pairs.datacenter == "Singapore")].iloc[0]
    assert not row.feasible and row.reason.startswith("latency: ") and row.latency_ms > row.tau_ms


def test_cosim_frontier_writes_csv_and_a_readable_figure(tmp_path):
    out = tmp_path / "fr"
    proc = cosim("frontier", "paper10", "--hours", "3", "--tau", "60,20,200", "--policy", "cost-glb",
                 "--policy", "se-glb", "--out", out, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    table = pd.read_csv(out / "frontier.csv")
    for column in ("tau_ms", "energy_cost_usd", "carbon_t", "rid", "erl", "crl"):
        assert column in table.columns
    assert list(table["tau_ms"]) == [20, 20, 60, 60, 200, 200]  # sorted, both policies per budget
    assert set(table["policy"]) == {"cost-glb", "se-glb"}
    import matplotlib.image

    image = matplotlib.image.imread(out / "frontier.png")
    assert image.shape[0] > 800 and image.shape[1] > 700  # 7 x 10.5 in at 130 dpi
    assert image[..., :3].std() > 0.05  # not a blank canvas


@pytest.mark.parametrize(
    "args, parts",
    [
        (["--tau", "60,x"], ["--tau: value 2: 'x' is not a number of ms"]),
        (["--tau", "3"], ["--tau: 3 ms: region 'Virginia', tier 'interactive'"]),
        (["--tau", "60", "--tier", "gold"], ["--tier: value 1: unknown tier 'gold'"]),
        (["--tau", "60", "--policy", "greedy"], ["--policy: value 1: unknown policy 'greedy'"]),
        ([], ["--tau: (missing)"]),
    ],
    ids=["not-a-number", "too-tight", "unknown-tier", "unknown-policy", "missing"],
)
def test_cosim_frontier_refuses_bad_input(tmp_path, args, parts):
    assert_bad_input(cosim("frontier", "paper10", "--hours", "2", *args, cwd=tmp_path), *parts)


def test_cosim_masks_refuses_a_rule_naming_an_unknown_region(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("extends: paper10\nname: bad\n"
                    "mask: {rules: [{kind: local, regions: [Atlantis]}]}\n")
    assert_bad_input(cosim("masks", path, cwd=tmp_path), str(path), "mask.rules.0.regions", "unknown region 'Atlantis'")


def test_cosim_masks_refuses_a_malformed_latency_matrix(tmp_path):
    data = tmp_path / "data"
    (data / "azure-latency").mkdir(parents=True)
    (data / "azure-latency" / "p50_rtt_ms.csv").write_text('"Source","am","bl"\nam,,85\nbl,83,fast\n')
    path = tmp_path / "measured.yaml"
    path.write_text("extends: paper10\nname: measured\nlatency: {source: measured}\n")
    assert_bad_input(cosim("masks", path, "--data-dir", data, cwd=tmp_path), "p50_rtt_ms.csv", "row 3", "bl")


def test_cosim_masks_with_measured_latencies(tmp_path, data_dir):
    """The Azure matrix: paper10's sites attach to their nearest Azure region; US-EU pairs
    stay over the 60 ms interactive budget, Virginia-Georgia within it."""
    path = tmp_path / "measured.yaml"
    path.write_text("extends: paper10\nname: measured\nlatency: {source: measured}\n")
    csv = tmp_path / "pairs.csv"
    proc = cosim("masks", path, "--data-dir", data_dir, "--csv", csv, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    pairs = pd.read_csv(csv).set_index(["region", "tier", "datacenter"])
    assert pairs.loc[("Virginia", "interactive", "Georgia"), "feasible"]
    assert not pairs.loc[("Virginia", "interactive", "Germany"), "feasible"]
    assert 60 < pairs.loc[("Virginia", "batch", "Germany"), "latency_ms"] < 150


def test_cosim_masks_refuses_an_unknown_matrix_code(tmp_path, data_dir):
    path = tmp_path / "measured.yaml"
    path.write_text("extends: paper10\nname: measured\n"
                    "latency: {source: measured, codes: {Virginia: zz}}\n")
    assert_bad_input(cosim("masks", path, "--data-dir", data_dir, cwd=tmp_path), str(path), "latency.codes.Virginia", "'zz'")
