"""Tests of the feasibility masks (cosim.masks), latency tiers, legal rules, frictions
and what they change downstream (cosim.instance, cosim.glb, cosim.metrics).

Every expected number is worked out by hand in a comment next to it. Geometry used
throughout: places on the equator, where 10 degrees of longitude are
2 pi 6371 / 36 = 1111.949 km of great circle; with route_inflation 1.5 and 200 km/ms
the fiber RTT is 2 d 1.5 / 200 = 0.015 d ms, i.e. 16.679 ms per 10 degrees.
"""
from __future__ import annotations

import copy
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from cosim import fiber
from cosim.errors import InputError
from cosim.glb import make_policy, solve_offline
from cosim.instance import build_instance
from cosim.masks import reach, reasons
from cosim.metrics import policy_metrics, relocatable
from cosim.scenario import EU_COUNTRIES, parse_scenario
from cosim.scenario_files import load_scenario
from grids.geo import great_circle_km
from tests.test_scenario import refused as refused_at

SRC = "test.yaml"
T, F = True, False

KM_PER_10_DEG = 2 * math.pi * 6371.0 / 36  # 1111.949 km
RTT_PER_10_DEG = 2 * KM_PER_10_DEG * 1.5 / 200.0  # 16.679 ms at inflation 1.5, 200 km/ms


# ----------------------------------------------------------------------------- helpers


def refused(call, field: str, *reason_parts: str, source: str = SRC) -> InputError:
    """test_scenario.refused with the field first and the scenario source by default."""
    return refused_at(call, source, field, *reason_parts)


def model(name="m1", energy=1.0, resources=1.0, quality=50.0, **extra) -> dict:
    return {"name": name, "energy_wh_per_request": energy, "resources_per_request": resources,
            "quality_score": quality, **extra}


def equator(lon: float) -> dict:
    return {"lat": 0.0, "lon": lon}


def line_world(**overrides) -> dict:
    """One region at lon 0; data centers A (lon 0), B (lon 10, queue 3 ms), C (lon 40).

    Synthetic signal sites: A = Virginia, B = Texas, C = Japan. Inflation 1.5, 200 km/ms.
    """
    data = {
        "name": "line",
        "hours": 3,
        "models": [model("fast", inference_ms=10.0), model("slow", energy=2.0, quality=60.0, inference_ms=50.0)],
        "datacenters": [
            {"name": "A", "signal_site": "Virginia", "location": equator(0), "capacity_per_hour": 1e6},
            {"name": "B", "signal_site": "Texas", "location": equator(10), "capacity_per_hour": 1e6, "queue_ms": 3.0},
            {"name": "C", "signal_site": "Japan", "location": equator(40), "capacity_per_hour": 1e6},
        ],
        "regions": [{"name": "r", "location": equator(0), "local_datacenter": "A"}],
        "signals": {"source": "synthetic"},
        "latency": {"route_inflation": 1.5, "fiber_km_per_ms": 200.0},
        "tiers": [{"name": "t", "tau_ms": 80, "access_ms": 5.0, "rounds": 2}],
    }
    data.update(copy.deepcopy(overrides))
    return data


def legal_world(**overrides) -> dict:
    """Four regions (de, fr, us, jp) x five data centers with countries:
    Frankfurt DE, Paris FR, Virginia US, Texas US, Tokyo JP; two tiers, no latency budget."""
    data = {
        "name": "legal",
        "hours": 2,
        "models": [model()],
        "datacenters": [
            {"name": "Frankfurt", "signal_site": "Germany", "country": "DE", "capacity_per_hour": 1e6},
            {"name": "Paris", "signal_site": "Belgium", "country": "FR", "capacity_per_hour": 1e6},
            {"name": "Virginia", "country": "US", "capacity_per_hour": 1e6},
            {"name": "Texas", "country": "US", "capacity_per_hour": 1e6},
            {"name": "Tokyo", "signal_site": "Japan", "country": "JP", "capacity_per_hour": 1e6},
        ],
        "regions": [
            {"name": "de", "country": "DE", "local_datacenter": "Frankfurt"},
            {"name": "fr", "country": "FR", "local_datacenter": "Paris"},
            {"name": "us", "country": "US", "local_datacenter": "Virginia"},
            {"name": "jp", "country": "JP", "local_datacenter": "Tokyo"},
        ],
        "signals": {"source": "synthetic"},
        "tiers": [{"name": "chat", "share": 0.6}, {"name": "batch", "share": 0.4}],
    }
    data.update(copy.deepcopy(overrides))
    return data


def parse(data: dict):
    return parse_scenario(data, SRC)


def build(data: dict):
    return build_instance(parse(data), source=SRC)


def legal_of(data: dict) -> np.ndarray:
    return reach(parse(data), source=SRC).masks.legal


def rows(per_region: list[list[bool]], tiers: int = 2) -> np.ndarray:
    """(J, N) from one row per region, repeated for each tier (users are region-major)."""
    return np.repeat(np.array(per_region, dtype=bool), tiers, axis=0)


# ======================================================================================
# 1. Latency mask, hand-computed
# ======================================================================================


def test_latency_is_access_plus_rounds_times_fiber_rtt_plus_queue():
    inst = build(line_world())
    # by hand: d = 0, 1111.949, 4447.797 km; RTT = 0.015 d = 0, 16.679, 66.717 ms
    d = np.array([0.0, KM_PER_10_DEG, 4 * KM_PER_10_DEG])
    assert great_circle_km(0, 0, 0, 10) == pytest.approx(1111.949, abs=1e-3)
    rtt = fiber.fiber_rtt_ms(d, 1.5, 200.0)
    np.testing.assert_allclose(rtt, [0.0, 16.679, 66.717], atol=1e-3)
    # L = access 5 + 2 x RTT + queue: A 5, B 5 + 33.359 + 3 = 41.359, C 5 + 133.434 = 138.434
    expected = 5.0 + 2 * rtt + np.array([0.0, 3.0, 0.0])
    np.testing.assert_allclose(inst.latency_ms, [expected], rtol=1e-12)
    np.testing.assert_allclose(inst.latency_ms[0], [5.0, 41.359, 138.434], atol=1e-3)
    np.testing.assert_allclose(inst.inference_ms, [10.0, 50.0])
    assert inst.tau_ms.tolist() == [80.0]


def test_feasible_exactly_within_tau_and_per_model():
    inst = build(line_world())
    # tau 80; totals L + inference: fast (10 ms): A 15, B 51.36, C 148.43
    #                                slow (50 ms): A 55, B 91.36 (> 80), C 188.43
    np.testing.assert_array_equal(inst.feasible[0], [[T, T], [T, F], [F, F]])
    # the slow model pushes B over tau while the fast one is fine there
    assert inst.feasible[0, 1, 0] and not inst.feasible[0, 1, 1]
    assert inst.mask.all()  # no legal or system exclusion: latency alone decides


def test_feasible_moves_with_tau_between_two_sites():
    # tau 40 sits between A's 15 (fast) and B's 51.36 (fast): only A is left, both models
    inst = build(line_world(tiers=[{"name": "t", "tau_ms": 40, "access_ms": 5.0, "rounds": 2}]))
    np.testing.assert_array_equal(inst.feasible[0], [[T, F], [F, F], [F, F]])
    # tau 150 admits C with fast (148.43) but not slow (188.43)
    inst = build(line_world(tiers=[{"name": "t", "tau_ms": 150, "access_ms": 5.0, "rounds": 2}]))
    np.testing.assert_array_equal(inst.feasible[0], [[T, T], [T, T], [T, F]])


def test_service_location_adds_client_to_service_leg():
    data = line_world()
    data["regions"][0]["service_location"] = equator(10)  # the front door sits at B's longitude
    inst = build(data)
    # L_cs = RTT(0 -> 10) = 16.679; L_sc from lon 10: A 16.679, B 0, C 50.038
    # L = 5 + 16.679 + 2 L_sc + queue: A 54.718, B 24.679, C 121.755
    r = RTT_PER_10_DEG
    np.testing.assert_allclose(inst.latency_ms[0], [5 + r + 2 * r, 5 + r + 3.0, 5 + r + 2 * 3 * r], rtol=1e-9)


# ======================================================================================
# 2. Tiers
# ======================================================================================


def test_tier_shares_split_region_demand():
    data = legal_world(demand={"requests_per_hour": 1000.0})
    data["regions"][2]["demand_weight"] = 3.0
    inst = build(data)
    assert inst.users == [(r, t) for r in ("de", "fr", "us", "jp") for t in ("chat", "batch")]
    # region demand 1000 x weight; chat 0.6 of it, batch 0.4 of it
    np.testing.assert_allclose(inst.region_demand[:, 0], [1000, 1000, 3000, 1000])
    np.testing.assert_allclose(inst.demand[:, 0], [600, 400, 600, 400, 1800, 1200, 600, 400])
    summed = np.zeros_like(inst.region_demand)
    np.add.at(summed, inst.user_region, inst.demand)
    np.testing.assert_allclose(summed, inst.region_demand)
    np.testing.assert_array_equal(inst.user_tier, [0, 1] * 4)
    np.testing.assert_array_equal(inst.user_region, [0, 0, 1, 1, 2, 2, 3, 3])


def test_tier_with_zero_share_has_no_users():
    data = legal_world(tiers=[{"name": "chat", "share": 0.7}, {"name": "never", "share": 0.0},
                              {"name": "batch", "share": 0.3}])
    inst = build(data)
    assert inst.tiers == ("chat", "never", "batch")
    assert inst.demand.shape[0] == 8  # 4 regions x 2 tiers with a share
    assert set(inst.user_tier.tolist()) == {0, 2}
    assert "never" not in {t for _, t in inst.users}
    np.testing.assert_allclose(inst.demand[:2, 0] / inst.region_demand[0, 0], [0.7, 0.3])


@pytest.mark.parametrize("shares, total", [((0.5, 0.4), "0.9"), ((0.6, 0.6), "1.2")])
def test_tier_shares_must_add_to_one(shares, total):
    data = legal_world(tiers=[{"name": "a", "share": shares[0]}, {"name": "b", "share": shares[1]}])
    refused(lambda: parse(data), "tiers", f"add up to {total}", "not 1")


def test_duplicate_tier_names_refused():
    data = legal_world(tiers=[{"name": "a", "share": 0.5}, {"name": "a", "share": 0.5}])
    refused(lambda: parse(data), "tiers.1.name", "duplicate name 'a'")


@pytest.mark.parametrize("text", ["inf", "Inf", ".inf", "infinity"])
def test_tau_inf_parses(text):
    spec = parse(legal_world(tiers=[{"name": "t", "tau_ms": text}]))
    assert spec.tiers[0].tau_ms == math.inf


def test_tau_must_be_positive():
    refused(lambda: parse(legal_world(tiers=[{"name": "t", "tau_ms": 0}])), "tiers.0.tau_ms")


def test_default_tier_is_one_user_per_region():
    data = legal_world()
    del data["tiers"]
    inst = build(data)
    assert inst.tiers == ("default",)
    assert inst.users == [("de", "default"), ("fr", "default"), ("us", "default"), ("jp", "default")]
    assert np.isinf(inst.tau_ms).all()


# ======================================================================================
# 3. Legal rules (4 regions x 5 data centers: Frankfurt DE, Paris FR, Virginia US,
#    Texas US, Tokyo JP)
# ======================================================================================

ALL = [T, T, T, T, T]


def test_no_rule_allows_everything():
    np.testing.assert_array_equal(legal_of(legal_world()), rows([ALL] * 4))


def test_jurisdiction_eu_binds_only_eu_regions():
    data = legal_world(mask={"rules": [{"kind": "jurisdiction", "jurisdiction": "EU", "name": "gdpr"}]})
    got = reach(parse(data), source=SRC)
    # de and fr users: only Frankfurt and Paris; us and jp keep everything
    np.testing.assert_array_equal(got.masks.legal, rows([[T, T, F, F, F], [T, T, F, F, F], ALL, ALL]))
    assert got.masks.legal_rule[0, 2] == "gdpr" and got.masks.legal_rule[0, 0] == ""
    assert (got.masks.legal_rule[4:] == "").all()
    assert "DE" in EU_COUNTRIES and "FR" in EU_COUNTRIES and "US" not in EU_COUNTRIES and len(EU_COUNTRIES) == 27


def test_same_country():
    data = legal_world(mask={"rules": [{"kind": "same-country"}]})
    # each region only the sites of its country: us has two (Virginia, Texas)
    np.testing.assert_array_equal(legal_of(data), rows([
        [T, F, F, F, F], [F, T, F, F, F], [F, F, T, T, F], [F, F, F, F, T]]))


def test_same_country_skips_regions_without_country():
    data = legal_world(mask={"rules": [{"kind": "same-country"}]})
    del data["regions"][3]["country"]  # jp: no country, not bound
    np.testing.assert_array_equal(legal_of(data), rows([
        [T, F, F, F, F], [F, T, F, F, F], [F, F, T, T, F], ALL]))


def test_local_rule():
    data = legal_world(mask={"rules": [{"kind": "local"}]})
    # only the declared local site: us loses Texas (same country, not local)
    np.testing.assert_array_equal(legal_of(data), rows([
        [T, F, F, F, F], [F, T, F, F, F], [F, F, T, F, F], [F, F, F, F, T]]))


def test_allow_rule_for_named_regions():
    data = legal_world(mask={"rules": [{"kind": "allow", "regions": ["us"], "datacenters": ["Paris", "Tokyo"]}]})
    np.testing.assert_array_equal(legal_of(data), rows([ALL, ALL, [F, T, F, F, T], ALL]))


def test_deny_rule_for_every_region():
    data = legal_world(mask={"rules": [{"kind": "deny", "datacenters": ["Virginia"]}]})
    np.testing.assert_array_equal(legal_of(data), rows([[T, T, F, T, T]] * 4))


def test_rule_restricted_to_one_tier_binds_only_its_users():
    data = legal_world(mask={"rules": [{"kind": "jurisdiction", "jurisdiction": "EU", "tiers": ["chat"]}]})
    legal = legal_of(data)
    eu = [T, T, F, F, F]
    # users: de-chat, de-batch, fr-chat, fr-batch, us-chat, us-batch, jp-chat, jp-batch
    np.testing.assert_array_equal(legal, [eu, ALL, eu, ALL, ALL, ALL, ALL, ALL])


def test_rules_compose_and_the_first_exclusion_is_named():
    data = legal_world(mask={"rules": [
        {"kind": "jurisdiction", "jurisdiction": "EU", "name": "residency"},
        {"kind": "deny", "datacenters": ["Frankfurt", "Virginia"], "name": "outage"},
    ]})
    m = reach(parse(data), source=SRC).masks
    np.testing.assert_array_equal(m.legal, rows([[F, T, F, F, F], [F, T, F, F, F], [F, T, F, T, T], [F, T, F, T, T]]))
    # de-chat: Frankfurt by the deny rule, Virginia already by residency (the first exclusion stays)
    assert list(m.legal_rule[0]) == ["outage", "", "residency", "residency", "residency"]
    assert list(m.legal_rule[4]) == ["outage", "", "outage", "", ""]


def test_user_defined_jurisdiction():
    data = legal_world(mask={"jurisdictions": {"NA": ["US", "CA"]},
                             "rules": [{"kind": "jurisdiction", "jurisdiction": "NA"}]})
    np.testing.assert_array_equal(legal_of(data), rows([ALL, ALL, [F, F, T, T, F], ALL]))


def test_jurisdiction_rule_with_explicit_regions():
    # jp is not in the EU but the rule names it: it binds jp only (de and fr not named)
    data = legal_world(mask={"rules": [{"kind": "jurisdiction", "jurisdiction": "EU", "regions": ["jp"]}]})
    np.testing.assert_array_equal(legal_of(data), rows([ALL, ALL, ALL, [T, T, F, F, F]]))


def test_reasons_name_rule_system_capacity_class_and_latency():
    data = legal_world(
        mask={"rules": [{"kind": "jurisdiction", "jurisdiction": "EU", "name": "eu-residency"}]},
        tiers=[{"name": "chat", "share": 0.6, "capacity_classes": ["cloud"]}, {"name": "batch", "share": 0.4}],
    )
    data["datacenters"][4]["models"] = []  # Tokyo hosts nothing
    data["datacenters"][3]["capacity_class"] = "edge"  # Texas: chat may not use it
    got = reach(parse(data), source=SRC)
    why = reasons(got.masks, got.hosted, got.inference_ms, got.tau_ms)
    # de-chat: Virginia, Texas legal exclusions... but Texas is edge: system comes first
    assert list(why[0]) == ["", "", "legal: eu-residency", "system: capacity class 'edge' not in cloud",
                            "system: hosts no model"]
    # de-batch: no class restriction, so Texas is excluded by the rule
    assert list(why[1]) == ["", "", "legal: eu-residency", "legal: eu-residency", "system: hosts no model"]
    # us-batch: everything but Tokyo
    assert list(why[5]) == ["", "", "", "", "system: hosts no model"]
    # the table `cosim masks` prints carries the same reasons
    table = got.table(parse(data))
    row = table[(table.region == "de") & (table.tier == "chat") & (table.datacenter == "Texas")].iloc[0]
    assert not row.feasible and row.reason.startswith("system: capacity class")


def test_reason_for_latency_names_total_and_tau():
    got = reach(parse(line_world()), source=SRC)
    why = reasons(got.masks, got.hosted, got.inference_ms, got.tau_ms)
    # with the fastest model (10 ms): A 15, B 51.36, C 148.43 against tau 80
    assert list(why[0]) == ["", "", "latency: 148 ms > tau 80 ms"]


# ======================================================================================
# 4. Bad input
# ======================================================================================


@pytest.mark.parametrize("rule, field, reason", [
    ({"kind": "deny", "regions": ["mars"], "datacenters": ["Paris"]}, "mask.rules.0.regions", "unknown region 'mars'"),
    ({"kind": "local", "tiers": ["gold"]}, "mask.rules.0.tiers", "unknown tier 'gold'"),
    ({"kind": "allow", "datacenters": ["Paris", "Mars"]}, "mask.rules.0.datacenters", "unknown data center 'Mars'"),
    ({"kind": "jurisdiction", "jurisdiction": "ASEAN"}, "mask.rules.0.jurisdiction", "unknown jurisdiction 'ASEAN'"),
    ({"kind": "jurisdiction"}, "mask.rules.0", "needs jurisdiction"),
    ({"kind": "allow"}, "mask.rules.0", "needs datacenters"),
    ({"kind": "teleport"}, "mask.rules.0.kind", ""),
], ids=["region", "tier", "datacenter", "jurisdiction", "no-jurisdiction", "no-datacenters", "kind"])
def test_bad_rule_refused_with_field(rule, field, reason):
    refused(lambda: parse(legal_world(mask={"rules": [rule]})), field, reason)


def test_bad_rule_index_in_field():
    rules = [{"kind": "local"}, {"kind": "deny", "datacenters": ["Nowhere"]}]
    refused(lambda: parse(legal_world(mask={"rules": rules})), "mask.rules.1.datacenters", "unknown data center")


def test_jurisdiction_rule_binding_no_region_refused():
    data = legal_world(mask={"rules": [{"kind": "jurisdiction", "jurisdiction": "EU"}]})
    for region in data["regions"][:2]:  # de and fr lose their country: no EU region left
        del region["country"]
    refused(lambda: parse(data), "mask.rules.0", "binds no region")


def test_same_country_naming_a_region_without_country_refused():
    data = legal_world(mask={"rules": [{"kind": "same-country", "regions": ["de", "jp"]}]})
    del data["regions"][3]["country"]
    refused(lambda: parse(data), "mask.rules.0.regions", "region 'jp' has no country")


def test_same_country_with_no_country_anywhere_refused():
    data = legal_world(mask={"rules": [{"kind": "same-country"}]})
    for region in data["regions"]:
        del region["country"]
    refused(lambda: parse(data), "mask.rules.0", "binds no region")


def test_unknown_country_code_refused():
    data = legal_world(mask={"jurisdictions": {"NA": ["usa"]}})
    with pytest.raises(InputError) as info:
        parse(data)
    assert info.value.where.startswith("mask.jurisdictions.NA"), str(info.value)


def test_tau_no_site_can_meet_names_tier_field_region_and_tier():
    data = line_world(tiers=[{"name": "loose", "share": 0.5}, {"name": "tight", "share": 0.5, "tau_ms": 12,
                                                                "access_ms": 5.0, "rounds": 2}])
    # tight: best is A with the fast model, 5 + 10 = 15 ms > 12
    exc = refused(lambda: build(data), "tiers.1.tau_ms", "region 'r'", "tier 'tight'", "within tau 12 ms",
                  "A, is 15.0 ms away")
    assert "loose" not in exc.reason


def test_finite_tau_needs_locations():
    data = line_world()
    del data["regions"][0]["location"]
    refused(lambda: build(data), "regions.0.location", "latency budget")
    data = line_world()
    del data["datacenters"][2]["location"]
    refused(lambda: build(data), "datacenters.2.location")


def test_no_budget_needs_no_locations():
    data = line_world(tiers=[{"name": "t"}])
    del data["regions"][0]["location"]
    inst = build(data)
    # no network leg without locations; the queue (3 ms at B) is known all the same
    np.testing.assert_array_equal(inst.latency_ms, [[0.0, 3.0, 0.0]])
    assert inst.feasible.all()


def test_delay_price_needs_locations():
    data = line_world(tiers=[{"name": "t", "delay_usd_per_request_per_s": 0.01}])
    del data["datacenters"][0]["location"]
    refused(lambda: build(data), "datacenters.0.location", "delay price")


def test_legal_rule_leaving_a_user_nothing():
    # jp users may use only EU sites (explicit regions), but both EU sites are denied to everyone
    data = legal_world(mask={"rules": [
        {"kind": "jurisdiction", "jurisdiction": "EU", "regions": ["jp"], "tiers": ["batch"]},
        {"kind": "deny", "datacenters": ["Frankfurt", "Paris"]},
    ]})
    refused(lambda: build(data), "mask (region 'jp', tier 'batch')", "no data center may serve it")


def test_capacity_class_leaving_a_user_nothing():
    data = legal_world(tiers=[{"name": "chat", "share": 0.6, "capacity_classes": ["edge"]}, {"name": "batch", "share": 0.4}])
    refused(lambda: build(data), "mask (region 'de', tier 'chat')")


def test_with_tau_too_small_names_region_and_tier():
    inst = build(line_world(tiers=[{"name": "t", "tau_ms": "inf", "access_ms": 5.0, "rounds": 2}]))
    assert np.isinf(inst.tau_ms).all()
    ok = inst.with_tau(np.array([20.0]))  # A with fast: 15 <= 20
    np.testing.assert_array_equal(ok.feasible[0], [[T, F], [F, F], [F, F]])
    assert np.isinf(inst.tau_ms).all()  # the original is unchanged
    refused(lambda: inst.with_tau(np.array([14.0]), source="sweep.yaml", where="sweep.tau_ms"),
            "sweep.tau_ms", "region 'r'", "tier 't'", "within tau 14 ms", source="sweep.yaml")


# ======================================================================================
# 5. Frictions
# ======================================================================================


def friction_world(**overrides) -> dict:
    """One region at lon 0 (local A at lon 0), B at lon 10; one tier with every friction."""
    data = line_world(
        models=[model()],
        tiers=[{"name": "t", "access_ms": 20.0, "state_mb": 500.0, "payload_kb": 1000.0,
                "cache_loss_usd_per_request": 0.001, "delay_usd_per_request_per_s": 0.01}],
        frictions={"egress_usd_per_gb": 0.02, "replica_usd_per_request": 0.0005},
    )
    data["datacenters"] = data["datacenters"][:2]
    data["datacenters"][1]["queue_ms"] = 0.0
    data.update(copy.deepcopy(overrides))
    return data


def test_friction_per_request_by_hand():
    inst = build(friction_world())
    # latency: A = 20 (access only), B = 20 + 16.679 = 36.679 ms
    np.testing.assert_allclose(inst.latency_ms[0], [20.0, 20.0 + RTT_PER_10_DEG], rtol=1e-12)
    # local A: no migration, delay 0.01 USD/s x 0.020 s = 0.0002
    # away B: (0.5 GB + 0.001 GB) x 0.02 = 0.01002, + cache 0.001 + replica 0.0005 = 0.01152,
    #         + delay 0.01 x 0.036679 = 0.00036679 -> 0.01188679
    np.testing.assert_allclose(inst.friction_usd_per_request[0],
                               [0.0002, 0.01152 + 0.01 * (20.0 + RTT_PER_10_DEG) / 1000.0], rtol=1e-12)
    assert inst.friction_usd_per_request[0, 1] == pytest.approx(0.01188679, abs=1e-8)


def test_friction_is_zero_without_frictions():
    inst = build(friction_world(frictions={}, tiers=[{"name": "t"}]))
    np.testing.assert_array_equal(inst.friction_usd_per_request, np.zeros((1, 2)))


def test_friction_local_is_the_regions_local_site_per_tier():
    # local B (declared), two tiers with different state: A is now the away site
    data = friction_world(tiers=[
        {"name": "heavy", "share": 0.5, "state_mb": 1000.0},
        {"name": "light", "share": 0.5, "payload_kb": 500.0, "cache_loss_usd_per_request": 0.002},
    ])
    data["regions"][0]["local_datacenter"] = "B"
    inst = build(data)
    # heavy away: 1 GB x 0.02 + replica 0.0005 = 0.0205; light away: 0.0005 GB x 0.02 + 0.002 + 0.0005 = 0.00251
    np.testing.assert_allclose(inst.friction_usd_per_request, [[0.0205, 0.0], [0.00251, 0.0]], rtol=1e-12)


# ======================================================================================
# 6. Frictions change the GLB decision
# ======================================================================================


def two_site_with_prices(replica_usd: float):
    """Region r local to A; A at 100 USD/MWh, B at 50: with 1 Wh per request and PUE 1,
    a request costs 1e-4 USD at A and 5e-5 USD at B, a margin of 5e-5 USD."""
    data = friction_world(
        tiers=[{"name": "t"}], frictions={"replica_usd_per_request": replica_usd},
        demand={"requests_per_hour": 1000.0}, policy={"mu_carbon_usd_per_t": 0, "mu_water_usd_per_m3": 0},
    )
    for dc in data["datacenters"]:
        dc["pue"] = 1.0
    inst = build(data)
    n, t = inst.price_usd_per_mwh.shape
    return replace(inst, price_usd_per_mwh=np.array([[100.0] * t, [50.0] * t]),
                   carbon_kg_per_kwh=np.zeros((n, t)), wue_l_per_kwh=np.zeros((n, t)),
                   ewif_l_per_kwh=np.zeros((n, t)))


@pytest.mark.parametrize("replica_usd, rid, energy_usd, moving_usd", [
    # below the margin: all 3 x 1000 requests to B: energy 3000 x 5e-5 = 0.15, friction 3000 x 4e-5 = 0.12
    (4e-5, 1.0, 0.15, 0.12),
    # above it: all stay at A: energy 3000 x 1e-4 = 0.30, no friction
    (6e-5, 0.0, 0.30, 0.0),
])
def test_friction_against_price_margin_decides_relocation(replica_usd, rid, energy_usd, moving_usd):
    inst = two_site_with_prices(replica_usd)
    np.testing.assert_allclose(inst.friction_usd_per_request, [[0.0, replica_usd]])
    policy = make_policy("min-price", inst.weights)
    sol = solve_offline(inst, policy)
    m = policy_metrics(inst, sol)
    assert m["rid"] == pytest.approx(rid, abs=1e-6)
    assert m["per_tier"]["t"]["rid"] == pytest.approx(rid, abs=1e-6)
    assert m["energy_cost_usd"]["total"] == pytest.approx(energy_usd, rel=1e-6)
    assert m["unserved_requests"] == pytest.approx(0.0, abs=1e-6)
    assert m["served_requests"] == pytest.approx(3000.0, rel=1e-9)
    assert sol.objective_usd == pytest.approx(energy_usd + moving_usd, rel=1e-6)


# ======================================================================================
# 7. Social norm with tiers
# ======================================================================================


def social_world(tiers: list[dict]) -> dict:
    """Two regions, three sites, a small and a big model, capacity too tight for the big
    model everywhere: the social norm trades quality against energy and environment."""
    return {
        "name": "social",
        "hours": 4,
        "seed": 3,
        "models": [model("small", 1.0, 1.0, 50.0), model("big", 3.0, 2.0, 60.0)],
        "datacenters": [{"name": n, "capacity_per_hour": 150.0} for n in ("Virginia", "Texas", "Japan")],
        "regions": [{"name": "east", "local_datacenter": "Virginia", "demand_weight": 1.0},
                    {"name": "asia", "local_datacenter": "Japan", "demand_weight": 1.5, "utc_offset_h": 9}],
        "demand": {"requests_per_hour": 100.0, "peak_to_mean": 1.5},
        "signals": {"source": "synthetic"},
        "policy": {"social_weight_usd": 0.05, "q_social": 2, "q_env": 2, "mu_carbon_usd_per_t": 150,
                   "mu_water_usd_per_m3": 6},
        "tiers": tiers,
    }


def test_two_tiers_without_different_masks_give_the_one_tier_optimum():
    one = build(social_world([{"name": "all"}]))
    two = build(social_world([{"name": "a", "share": 0.3, "tau_ms": "inf"}, {"name": "b", "share": 0.7}]))
    np.testing.assert_allclose(two.region_demand, one.region_demand, rtol=1e-12)
    results = []
    for inst in (one, two):
        sol = solve_offline(inst, make_policy("se-glb", inst.weights))
        results.append((sol, policy_metrics(inst, sol)))
    (s1, m1), (s2, m2) = results
    assert s2.objective_usd == pytest.approx(s1.objective_usd, rel=1e-6)
    for key in ("perf_cost", "energy_cost_usd", "carbon_t", "water_m3"):
        for stat in ("avg", "max"):
            # allocations agree to the conic solver's tolerance (~1e-6 relative on perf cost)
            assert m2[key][stat] == pytest.approx(m1[key][stat], rel=1e-5, abs=1e-9), (key, stat)
    # not a trivial optimum: some quality is given up, and the big model carries some load
    assert 0.1 < m1["perf_cost"]["avg"] < 9.9
    # per tier: demand in proportion to the shares
    total = one.demand.sum()
    assert m2["per_tier"]["a"]["demand_requests"] == pytest.approx(0.3 * total, rel=1e-12)
    assert m2["per_tier"]["b"]["demand_requests"] == pytest.approx(0.7 * total, rel=1e-12)
    assert m1["per_tier"]["all"]["demand_requests"] == pytest.approx(total, rel=1e-12)


# ======================================================================================
# 8. relocatable()
# ======================================================================================


def layers_world() -> dict:
    """Regions r0 (lon 0, local A, weight 1) and r1 (lon 40, local C, weight 3);
    tiers near (tau 10, 0.2), mid (tau 30, 0.3), any (inf, 0.5); access 0, one round."""
    data = line_world(
        models=[model()],
        tiers=[{"name": "near", "share": 0.2, "tau_ms": 10}, {"name": "mid", "share": 0.3, "tau_ms": 30},
               {"name": "any", "share": 0.5}],
        demand={"requests_per_hour": 100.0},
    )
    data["datacenters"][1]["queue_ms"] = 0.0
    data["regions"] = [{"name": "r0", "location": equator(0), "local_datacenter": "A"},
                       {"name": "r1", "location": equator(40), "local_datacenter": "C", "demand_weight": 3.0}]
    return data


def test_relocatable_layers_by_hand():
    inst = build(layers_world())
    # r0: A 0, B 16.68, C 66.72 ms -> near {A} local, mid {A, B} regional, any all
    # r1: C 0, B 50.04, A 66.72 ms -> near {C} local, mid {C} local, any all
    np.testing.assert_array_equal(inst.feasible[:, :, 0], [
        [T, F, F], [T, T, F], [T, T, T],
        [F, F, T], [F, F, T], [T, T, T]])
    layers = relocatable(inst)["layers"]
    # demand 100 (r0) and 300 (r1): local = (0.2 x 100 + 0.5 x 300) / 400 = 0.425,
    # regional = 0.3 x 100 / 400 = 0.075, energy_oriented = 0.5 x 400 / 400 = 0.5
    assert layers["local"] == pytest.approx(0.425, rel=1e-12)
    assert layers["regional"] == pytest.approx(0.075, rel=1e-12)
    assert layers["energy_oriented"] == pytest.approx(0.5, rel=1e-12)


def test_relocatable_energy_oriented_is_against_the_legal_mask():
    # a legal rule leaves r0 only A and B: with tau inf that is everything it may use
    data = layers_world()
    data["tiers"] = [{"name": "any"}]
    data["mask"] = {"rules": [{"kind": "deny", "regions": ["r0"], "datacenters": ["C"]}]}
    layers = relocatable(build(data))["layers"]
    assert layers == pytest.approx({"local": 0.0, "regional": 0.0, "energy_oriented": 1.0})


def break_even_instance(replica_usd: float, local_price, remote_price):
    """One region local to A, one tier without a budget; 1 Wh per request, PUE 1, no
    carbon or water: a request costs price x 1e-6 USD (price in USD/MWh)."""
    data = friction_world(tiers=[{"name": "t"}], frictions={"replica_usd_per_request": replica_usd},
                          demand={"requests_per_hour": 1000.0})
    data["hours"] = 4
    for dc in data["datacenters"]:
        dc["pue"] = 1.0
    inst = build(data)
    n, t = inst.price_usd_per_mwh.shape
    return replace(inst, price_usd_per_mwh=np.array([local_price, remote_price], dtype=float),
                   carbon_kg_per_kwh=np.zeros((n, t)), wue_l_per_kwh=np.zeros((n, t)),
                   ewif_l_per_kwh=np.zeros((n, t)))


def test_break_even_all_when_remote_beats_local_net_of_friction():
    # gap (100 - 40) x 1e-6 = 6e-5 per request every hour; friction 1e-5: NB = 5e-5
    inst = break_even_instance(1e-5, [100] * 4, [40] * 4)
    be = relocatable(inst)["break_even"]
    assert be["share"] == pytest.approx(1.0)
    assert be["net_benefit_usd"] == pytest.approx(4 * 1000 * 5e-5, rel=1e-9)  # 0.2 USD


def test_break_even_none_when_friction_exceeds_the_gap():
    inst = break_even_instance(7e-5, [100] * 4, [40] * 4)
    be = relocatable(inst)["break_even"]
    assert be["share"] == 0.0 and be["net_benefit_usd"] == 0.0


def test_break_even_counts_the_hours_that_pay():
    # gaps 60, 0, 30, -20 USD/MWh -> 6e-5, 0, 3e-5, -2e-5 per request; friction 2e-5:
    # NB 4e-5, -2e-5, 1e-5, -4e-5: hours 0 and 2 pay -> share 0.5, NB (4e-5 + 1e-5) x 1000 = 0.05
    inst = break_even_instance(2e-5, [100, 50, 80, 30], [40, 50, 50, 50])
    be = relocatable(inst)["break_even"]
    assert be["share"] == pytest.approx(0.5)
    assert be["net_benefit_usd"] == pytest.approx(0.05, rel=1e-9)


def test_break_even_ignores_users_with_no_feasible_remote_site():
    # two tiers: 'near' (tau 10) may use only A, 'any' anywhere; remote always cheaper by 6e-5
    data = friction_world(tiers=[{"name": "near", "share": 0.25, "tau_ms": 10}, {"name": "any", "share": 0.75}],
                          frictions={"replica_usd_per_request": 1e-5})
    for dc in data["datacenters"]:
        dc["pue"] = 1.0
    inst = build(data)
    n, t = inst.price_usd_per_mwh.shape
    inst = replace(inst, price_usd_per_mwh=np.array([[100.0] * t, [40.0] * t]),
                   carbon_kg_per_kwh=np.zeros((n, t)), wue_l_per_kwh=np.zeros((n, t)), ewif_l_per_kwh=np.zeros((n, t)))
    out = relocatable(inst)
    assert out["layers"] == pytest.approx({"local": 0.25, "regional": 0.0, "energy_oriented": 0.75})
    assert out["break_even"]["share"] == pytest.approx(0.75)
    # NB 5e-5 on the 'any' requests: 0.75 x demand x hours
    assert out["break_even"]["net_benefit_usd"] == pytest.approx(5e-5 * inst.demand[1].sum(), rel=1e-9)


# ======================================================================================
# 9. extends:
# ======================================================================================


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


BASE_YAML = """\
name: base
hours: 5
models:
  - {name: m1, energy_wh_per_request: 1.0, resources_per_request: 1.0, quality_score: 50}
  - {name: m2, energy_wh_per_request: 2.0, resources_per_request: 1.0, quality_score: 60}
datacenters:
  - {name: Virginia, capacity_per_hour: 100}
  - {name: Texas, capacity_per_hour: 100}
regions:
  - {name: east, local_datacenter: Virginia}
signals: {source: synthetic}
policy: {q_env: 3, q_social: 5, social_weight_usd: 7}
policies: [cost-glb, se-glb]
"""


def test_extends_merges_mappings_and_replaces_lists(tmp_path):
    _write(tmp_path / "base.yaml", BASE_YAML)
    child = _write(tmp_path / "child.yaml", """\
extends: base.yaml
name: child
policy: {q_env: 2}
models:
  - {name: m9, energy_wh_per_request: 3.0, resources_per_request: 1.0, quality_score: 70}
""")
    spec = load_scenario(child)
    assert spec.name == "child"
    assert spec.hours == 5  # from the base
    assert spec.policy.q_env == 2  # overridden
    assert spec.policy.q_social == 5 and spec.policy.social_weight_usd == 7  # merged, kept
    assert [m.name for m in spec.models] == ["m9"]  # a list replaced whole, not appended
    assert spec.policies == ["cost-glb", "se-glb"]
    assert [d.name for d in spec.datacenters] == ["Virginia", "Texas"]


def test_extends_chain(tmp_path):
    _write(tmp_path / "base.yaml", BASE_YAML)
    sub = tmp_path / "sub"
    sub.mkdir()
    _write(sub / "mid.yaml", "extends: ../base.yaml\nname: mid\nhours: 3\n")
    top = _write(tmp_path / "top.yaml", "extends: sub/mid.yaml\nname: top\npolicy: {q_social: 2}\n")
    spec = load_scenario(top)
    assert (spec.name, spec.hours, spec.policy.q_social, spec.policy.q_env) == ("top", 3, 2, 3)


def test_extends_cycle_refused(tmp_path):
    a = _write(tmp_path / "a.yaml", "extends: b.yaml\nname: a\n")
    b = _write(tmp_path / "b.yaml", "extends: a.yaml\nname: b\n")
    with pytest.raises(InputError) as info:
        load_scenario(a)
    assert info.value.where == "extends" and "cycle" in info.value.reason, str(info.value)
    assert info.value.source == str(b)  # b is the file that closes the loop


def test_extends_itself_refused(tmp_path):
    a = _write(tmp_path / "a.yaml", "extends: a.yaml\nname: a\n")
    refused(lambda: load_scenario(a), "extends", "cycle", source=str(a))


def test_extends_unknown_base_refused(tmp_path):
    a = _write(tmp_path / "a.yaml", "extends: nowhere.yaml\nname: a\n")
    with pytest.raises(InputError) as info:
        load_scenario(a)
    # the file holding the `extends`, not the missing base, is the one to fix
    assert info.value.source == str(a) and info.value.where == "extends" and "'nowhere.yaml' not found" in info.value.reason


def test_extends_shipped_scenario_by_name(tmp_path):
    child = _write(tmp_path / "c.yaml", "extends: paper10\nname: c\nhours: 24\n")
    spec = load_scenario(child)
    assert spec.hours == 24 and len(spec.regions) == 10 and [t.name for t in spec.tiers] == [
        "interactive", "standard", "batch"]


def test_eu_residency_is_paper10_with_one_rule():
    eu = load_scenario("eu_residency")
    paper = load_scenario("paper10")
    assert eu.name == "eu_residency"
    assert [r.name for r in eu.regions] == [r.name for r in paper.regions]
    assert eu.regions == paper.regions and eu.datacenters == paper.datacenters and eu.tiers == paper.tiers
    assert len(eu.mask.rules) == 1
    rule = eu.mask.rules[0]
    assert (rule.kind, rule.jurisdiction, rule.regions, rule.tiers) == ("jurisdiction", "EU", None, None)
    assert paper.mask.rules == []


# ======================================================================================
# 10. EU residency on the shipped scenario
# ======================================================================================


def test_eu_residency_masks():
    eu_spec, paper_spec = load_scenario("eu_residency"), load_scenario("paper10")
    eu, paper = reach(eu_spec), reach(paper_spec)
    dcs = [d.name for d in eu_spec.datacenters]
    eu_sites = np.array([d in ("Belgium", "Netherlands", "Germany", "Denmark") for d in dcs])
    assert eu_sites.sum() == 4
    np.testing.assert_array_equal(eu.users.region, paper.users.region)
    np.testing.assert_array_equal(eu.users.tier, paper.users.tier)
    assert len(eu.users) == 30  # 10 regions x 3 tiers
    for j, r in enumerate(eu.users.region):
        name = eu_spec.regions[r].name
        if name in ("Belgium", "Netherlands", "Germany", "Denmark"):
            np.testing.assert_array_equal(eu.masks.legal[j], eu_sites, err_msg=name)
            assert set(eu.masks.legal_rule[j][~eu_sites]) == {"eu-data-residency"}
        else:
            np.testing.assert_array_equal(eu.masks.legal[j], paper.masks.legal[j], err_msg=name)
            assert eu.masks.legal[j].all()
    # latency and system masks are untouched by a legal rule
    np.testing.assert_array_equal(eu.masks.system, paper.masks.system)
    np.testing.assert_allclose(eu.masks.latency_ms, paper.masks.latency_ms)
    # EU users' feasible sites: the EU sites within their tier's budget, a subset of paper10's
    eu_feasible = eu.masks.allowed & (eu.masks.latency_ms + eu.inference_ms.min() <= eu.tau_ms[:, None])
    paper_feasible = paper.masks.allowed & (paper.masks.latency_ms + paper.inference_ms.min() <= paper.tau_ms[:, None])
    assert (eu_feasible <= paper_feasible).all()
    assert eu_feasible.any(axis=1).all()
