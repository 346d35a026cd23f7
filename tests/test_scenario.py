"""Tests for the scenario schema (cosim.scenario) and its arrays (cosim.instance).

Refusals: every bad input raises InputError whose message is one line
``file: field or row: reason``; each test checks the file, the field and a reason.
"""
from __future__ import annotations

import copy
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from cosim.errors import InputError
from cosim.glb import make_policy
from cosim.instance import build_instance
from cosim.scenario import Scenario, parse_scenario
from cosim.scenario_files import load_scenario

REPO_ROOT = Path(__file__).resolve().parents[1]
# sweep files (a base and axes, docs/batch.md) live there too: tests/test_sweep.py loads them
SCENARIOS = sorted(p for p in (REPO_ROOT / "scenarios").glob("*.yaml") if "axes" not in yaml.safe_load(p.read_text()))
PAPER10 = REPO_ROOT / "scenarios" / "paper10.yaml"
SRC = "test.yaml"  # the source name given to parse_scenario / build_instance


def refused(call, source, field: str, *reason_parts: str) -> InputError:
    """Run *call*; expect InputError reading ``source: field: reason`` on one line (the
    source may carry the line of the field in a file: ``source:LINE``)."""
    with pytest.raises(InputError) as info:
        call()
    exc = info.value
    message = str(exc)
    assert "\n" not in message, message
    assert exc.source == str(source) or re.fullmatch(re.escape(str(source)) + r":\d+", exc.source), message
    assert message.startswith(f"{exc.source}: {field}: "), message
    assert exc.where == field, message
    assert exc.reason.strip(), message
    for part in reason_parts:
        assert part in exc.reason, (part, message)
    return exc


def small(**overrides) -> dict:
    """A valid three-site scenario as a mapping (A, B, C; one region local to each)."""
    data = {
        "name": "small",
        "hours": 4,
        "models": [
            {"name": "m1", "energy_wh_per_request": 1.0, "resources_per_request": 1.0, "quality_score": 50.0},
            {"name": "m2", "energy_wh_per_request": 3.0, "resources_per_request": 2.0, "quality_score": 60.0},
        ],
        "datacenters": [
            {"name": "Virginia", "capacity_per_hour": 100.0},
            {"name": "Texas", "capacity_per_hour": 100.0},
            {"name": "Japan", "capacity_per_hour": 100.0},
        ],
        "regions": [
            {"name": "east", "local_datacenter": "Virginia"},
            {"name": "south", "local_datacenter": "Texas"},
            {"name": "asia", "local_datacenter": "Japan"},
        ],
    }
    data.update(copy.deepcopy(overrides))
    return data


def build(data: dict, **kwargs):
    return build_instance(parse_scenario(data, SRC), source=SRC, **kwargs)


@pytest.fixture(scope="module")
def paper10() -> Scenario:
    return load_scenario(PAPER10)


# ======================================================================================
# Shipped scenarios
# ======================================================================================


def test_shipped_scenarios_exist():
    names = {p.stem for p in SCENARIOS}
    assert {"paper10", "eglb_replication"} <= names


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_shipped_scenario_validates(path):
    spec = load_scenario(path)
    assert spec.name == path.stem


def test_shipped_scenario_found_by_name():
    assert load_scenario("paper10").name == "paper10"
    # a name ending in .yaml is a path: it must exist as given, never replaced by the shipped file (issue 16)
    with pytest.raises(InputError, match="paper10.yaml: file: not found .*named bare: paper10"):
        load_scenario("paper10.yaml")


def test_paper10_is_the_se_glb_case_study(paper10):
    assert len(paper10.datacenters) == 10
    assert len(paper10.regions) == 10
    assert [m.name for m in paper10.models] == ["llama2-7b", "llama2-13b", "llama2-70b"]
    assert paper10.hours == 432 == 18 * 24
    assert paper10.policy.mu_carbon_usd_per_t == 1500
    assert paper10.policy.mu_water_usd_per_m3 == 60
    assert paper10.policies == ["cost-glb", "all-glb", "e-glb", "se-glb"]
    for dc in paper10.datacenters:
        assert dc.pue == 1.1
        assert dc.capacity == 150 * 3600
        assert dc.models is None  # every site hosts every model
    assert paper10.start == pd.Timestamp("2022-09-22T00:00Z")


def test_paper10_instance(paper10):
    inst = build_instance(paper10, source=PAPER10)
    assert inst.shape == (10, 30, 3, 432)  # 30 users: 10 regions x 3 latency tiers
    assert inst.demand.shape == (30, 432)
    assert inst.tiers == ("interactive", "standard", "batch")
    assert list(inst.user_region) == [r for r in range(10) for _ in range(3)]
    assert (inst.demand > 0).all()
    assert str(inst.times.tz) == "UTC" and inst.times[0] == pd.Timestamp("2022-09-22T00:00Z")
    assert (np.diff(inst.times.asi8) == 3600 * 10**9).all()
    np.testing.assert_allclose(inst.pue, 1.1)
    np.testing.assert_allclose(inst.capacity, 150 * 3600)
    np.testing.assert_allclose(inst.energy_kwh_per_request, [0.0005, 0.0008611, 0.0037769])
    assert inst.mask.all() and inst.hosted.all()  # no legal rule: only latency budgets bind
    assert list(inst.local) == [r for r in range(10) for _ in range(3)]  # each region's local site has its name
    for name in ("price_usd_per_mwh", "carbon_kg_per_kwh", "wue_l_per_kwh", "ewif_l_per_kwh", "lme_kg_per_kwh"):
        values = getattr(inst, name)
        assert values.shape == (10, 432) and np.isfinite(values).all(), name
    # from the grids' dispatch: an LMP can be 0 (curtailed renewables on the margin), intensities cannot
    assert (inst.carbon_kg_per_kwh > 0).all() and (inst.wue_l_per_kwh > 0).all()
    assert (inst.price_usd_per_mwh >= 0).mean() > 0.99
    assert inst.notes == ()  # no grid had to shed load
    # a cosine day: mean requests_per_hour x weight, peak 1.5x, trough 0.5x; split 50/35/15 over tiers
    regions = inst.region_demand
    np.testing.assert_allclose(regions.mean(axis=1), 250_000)
    np.testing.assert_allclose(regions.max(axis=1), 375_000)
    np.testing.assert_allclose(regions.min(axis=1), 125_000)
    np.testing.assert_allclose(inst.demand[:3].sum(axis=1) / regions[0].sum(), [0.5, 0.35, 0.15])


def test_paper10_demand_peaks_at_14_local(paper10):
    inst = build_instance(paper10.with_hours(48), source=PAPER10)
    # by hand: Virginia is UTC-4 (EDT in late September), so 14:00 local is 18:00 UTC
    virginia = inst.regions.index("Virginia")
    assert paper10.regions[virginia].utc_offset_h == -4
    assert inst.times[18].hour == 18
    demand = inst.region_demand
    assert demand[virginia, 18] == pytest.approx(375_000)
    assert int(np.argmax(demand[virginia, :24])) == 18
    assert int(np.argmax(demand[virginia, 24:])) == 18
    # Japan is UTC+9: 14:00 local is 05:00 UTC
    japan = inst.regions.index("Japan")
    assert int(np.argmax(demand[japan, :24])) == 5
    for j, region in enumerate(paper10.regions):
        expected = int((14 - region.utc_offset_h) % 24)
        assert int(np.argmax(demand[j, :24])) == expected, region.name


def test_with_hours_cuts_the_horizon(paper10):
    short = build_instance(paper10.with_hours(24), source=PAPER10)
    full = build_instance(paper10, source=PAPER10)
    assert short.demand.shape == (30, 24)
    np.testing.assert_array_equal(short.demand, full.demand[:, :24])
    np.testing.assert_array_equal(short.price_usd_per_mwh, full.price_usd_per_mwh[:, :24])


def test_eglb_replication_builds_from_real_data(data_dir):
    path = REPO_ROOT / "scenarios" / "eglb_replication.yaml"
    inst = build_instance(load_scenario(path), data_dir=data_dir, source=path)
    assert inst.shape == (10, 10, 1, 457)
    assert inst.demand.max() == pytest.approx(1.0)  # workload / its peak
    assert (inst.demand > 0).all()


# ======================================================================================
# Seeds
# ======================================================================================


def test_same_seed_same_signals_other_seed_different():
    a = build(small(seed=7))
    b = build(small(seed=7))
    c = build(small(seed=8))
    for name in ("price_usd_per_mwh", "carbon_kg_per_kwh", "wue_l_per_kwh"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
        assert not np.allclose(getattr(a, name), getattr(c, name)), name
    np.testing.assert_array_equal(a.demand, c.demand)  # the profile does not depend on the seed


def test_datacenters_sharing_a_signal_site_get_the_same_signals():
    data = small()
    data["datacenters"].append({"name": "Virginia-2", "capacity_per_hour": 10.0, "signal_site": "Virginia"})
    inst = build(data)
    np.testing.assert_array_equal(inst.price_usd_per_mwh[0], inst.price_usd_per_mwh[3])
    np.testing.assert_array_equal(inst.wue_l_per_kwh[0], inst.wue_l_per_kwh[3])


# ======================================================================================
# Masks and hosted models
# ======================================================================================

T, F = True, False


@pytest.mark.parametrize(
    "mask, expected",
    [
        ({}, [[T, T, T], [T, T, T], [T, T, T]]),
        ({"default": "all"}, [[T, T, T], [T, T, T], [T, T, T]]),
        ({"default": "local"}, [[T, F, F], [F, T, F], [F, F, T]]),
        ({"deny": {"east": ["Texas"]}}, [[T, F, T], [T, T, T], [T, T, T]]),
        ({"allow": {"asia": ["Japan"]}}, [[T, T, T], [T, T, T], [F, F, T]]),
        ({"default": "local", "allow": {"south": ["Virginia", "Japan"]}}, [[T, F, F], [T, F, T], [F, F, T]]),
        (
            {"default": "local", "allow": {"asia": ["Virginia", "Texas"]}, "deny": {"asia": ["Virginia"]}},
            [[T, F, F], [F, T, F], [F, T, F]],
        ),
        ({"deny": {"east": ["Virginia", "Texas"], "asia": ["Japan"]}}, [[F, F, T], [T, T, T], [T, T, F]]),
    ],
    ids=["empty", "all", "local", "deny", "allow", "local+allow", "allow+deny", "deny-two"],
)
def test_mask(mask, expected):
    inst = build(small(mask=mask))
    np.testing.assert_array_equal(inst.mask, np.array(expected))  # (regions, datacenters)


def test_mask_default_local_uses_allow_for_a_region_without_local():
    data = small(mask={"default": "local", "allow": {"asia": ["Japan", "Texas"]}})
    del data["regions"][2]["local_datacenter"]
    inst = build(data)
    np.testing.assert_array_equal(inst.mask, [[T, F, F], [F, T, F], [F, T, T]])


def test_hosted_models():
    data = small()
    data["datacenters"][0]["models"] = ["m1"]
    data["datacenters"][2]["models"] = ["m2", "m1"]
    inst = build(data)
    np.testing.assert_array_equal(inst.hosted, [[T, F], [T, T], [T, T]])  # (datacenters, models)


def test_empty_model_list_hosts_nothing():
    data = small()
    data["datacenters"][1]["models"] = []
    inst = build(data)
    np.testing.assert_array_equal(inst.hosted, [[T, T], [F, F], [T, T]])


def test_local_datacenter_from_locations_when_not_declared():
    data = small()
    for dc, (lat, lon) in zip(data["datacenters"], [(39.0, -77.5), (32.8, -96.8), (35.7, 139.7)]):
        dc["location"] = {"lat": lat, "lon": lon}
    for region, (lat, lon) in zip(data["regions"], [(40.7, -74.0), (29.8, -95.4), (37.6, 127.0)]):
        del region["local_datacenter"]
        region["location"] = {"lat": lat, "lon": lon}
    inst = build(data)
    assert list(inst.local) == [0, 1, 2]
    # New York - Ashburn by hand: dlat 1.7 deg = 189 km, dlon 3.5 deg x cos(39.85) = 299 km
    assert inst.distance_km[0, 0] == pytest.approx(353.6, rel=0.01)


# ======================================================================================
# Refusals: the schema
# ======================================================================================


def test_not_a_mapping():
    refused(lambda: parse_scenario([1, 2], SRC), SRC, "(top level)", "mapping")


def test_unknown_field_top_level():
    refused(lambda: parse_scenario(small(colour="blue"), SRC), SRC, "colour", "unknown field")


@pytest.mark.parametrize(
    "edit, field",
    [
        (lambda d: d["datacenters"][1].update(colour="blue"), "datacenters.1.colour"),
        (lambda d: d["models"][0].update(size=7), "models.0.size"),
        (lambda d: d["regions"][2].update(location={"lat": 1, "lon": 2, "alt": 3}), "regions.2.location.alt"),
        (lambda d: d.update(policy={"q_socail": 2}), "policy.q_socail"),
        (lambda d: d.update(demand={"requests": 5}), "demand.requests"),
        (lambda d: d.update(signals={"source": "synthetic", "seed": 1}), "signals.seed"),
        (lambda d: d.update(mask={"permit": {}}), "mask.permit"),
    ],
)
def test_unknown_field_nested(edit, field):
    data = small()
    edit(data)
    refused(lambda: parse_scenario(data, SRC), SRC, field, "unknown field")


@pytest.mark.parametrize(
    "edit, field, reason",
    [
        (lambda d: d.update(hours="many"), "hours", "integer"),
        (lambda d: d.update(hours=1.5), "hours", "integer"),
        (lambda d: d["models"][0].update(energy_wh_per_request="lots"), "models.0.energy_wh_per_request", "number"),
        (lambda d: d.update(models={"name": "m1"}), "models", "list"),
        (lambda d: d.update(mask={"allow": ["east"]}), "mask.allow", "dictionary"),
        (lambda d: d.update(start="yesterday"), "start", "datetime"),
        (lambda d: d.update(signals={"source": "satellite"}), "signals.source", "'synthetic'"),
        (lambda d: d.update(policy={"env_norm": "both"}), "policy.env_norm", "'combined'"),
    ],
)
def test_wrong_type(edit, field, reason):
    data = small()
    edit(data)
    refused(lambda: parse_scenario(data, SRC), SRC, field, reason)


def test_missing_required_field():
    data = small()
    del data["hours"]
    refused(lambda: parse_scenario(data, SRC), SRC, "hours", "required")
    data = small()
    del data["models"][1]["quality_score"]
    refused(lambda: parse_scenario(data, SRC), SRC, "models.1.quality_score", "required")


@pytest.mark.parametrize(
    "dc, field, reason",
    [
        ({"capacity_per_hour": -1.0}, "datacenters.0.capacity_per_hour", "greater than 0"),
        ({"capacity_per_hour": 0}, "datacenters.0.capacity_per_hour", "greater than 0"),
        ({"capacity_per_hour": None, "servers": -150}, "datacenters.0.servers", "greater than 0"),
        ({"capacity_per_hour": None}, "datacenters.0", "capacity_per_hour or servers"),
        ({"pue": 0.9}, "datacenters.0.pue", "greater than or equal to 1"),
    ],
)
def test_bad_capacity(dc, field, reason):
    data = small()
    data["datacenters"][0].update(dc)
    data["datacenters"][0] = {k: v for k, v in data["datacenters"][0].items() if v is not None}
    refused(lambda: parse_scenario(data, SRC), SRC, field, reason)


@pytest.mark.parametrize("level", [0, -1000.0])
def test_bad_demand_level(level):
    refused(lambda: parse_scenario(small(demand={"requests_per_hour": level}), SRC), SRC,
            "demand.requests_per_hour", "greater than 0")


@pytest.mark.parametrize("weight", [0, -2])
def test_bad_demand_weight(weight):
    data = small()
    data["regions"][1]["demand_weight"] = weight
    refused(lambda: parse_scenario(data, SRC), SRC, "regions.1.demand_weight", "greater than 0")


def test_bad_peak_to_mean():
    refused(lambda: parse_scenario(small(demand={"peak_to_mean": 0.5}), SRC), SRC,
            "demand.peak_to_mean", "greater than or equal to 1")
    refused(lambda: build(small(demand={"peak_to_mean": 2.5})), SRC, "demand.peak_to_mean", "2x its mean")


@pytest.mark.parametrize("field", ["q_social", "q_env"])
@pytest.mark.parametrize("q", [0.5, 0, -2])
def test_q_below_one(field, q):
    refused(lambda: parse_scenario(small(policy={field: q}), SRC), SRC, f"policy.{field}",
            "greater than or equal to 1")


@pytest.mark.parametrize("text", ["inf", "Infinity", " INF ", ".inf"])
def test_q_inf_accepted(text):
    spec = parse_scenario(small(policy={"q_social": text, "q_env": text}), SRC)
    assert spec.policy.q_social == math.inf and spec.policy.q_env == math.inf
    assert make_policy("se-glb", spec.policy).q_env == math.inf


def test_q_inf_from_yaml(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(PAPER10.read_text().replace("q_social: 4", "q_social: inf").replace("q_env: 4", "q_env: .inf"))
    spec = load_scenario(path)
    assert spec.policy.q_social == math.inf and spec.policy.q_env == math.inf


def test_unknown_model_in_datacenter():
    data = small()
    data["datacenters"][2]["models"] = ["m1", "gpt-9"]
    refused(lambda: parse_scenario(data, SRC), SRC, "datacenters.2.models", "unknown model 'gpt-9'")


def test_unknown_local_datacenter():
    data = small()
    data["regions"][1]["local_datacenter"] = "Mars"
    refused(lambda: parse_scenario(data, SRC), SRC, "regions.1.local_datacenter", "unknown data center 'Mars'")


@pytest.mark.parametrize("rule", ["allow", "deny"])
def test_mask_unknown_region(rule):
    refused(lambda: parse_scenario(small(mask={rule: {"europe": ["Texas"]}}), SRC), SRC,
            f"mask.{rule}.europe", "unknown region 'europe'")


@pytest.mark.parametrize("rule", ["allow", "deny"])
def test_mask_unknown_datacenter(rule):
    refused(lambda: parse_scenario(small(mask={rule: {"east": ["Texas", "Mars"]}}), SRC), SRC,
            f"mask.{rule}.east", "unknown data center 'Mars'")


def test_mask_local_needs_local_datacenter():
    data = small(mask={"default": "local"})
    del data["regions"][1]["local_datacenter"]
    refused(lambda: parse_scenario(data, SRC), SRC, "regions.1.local_datacenter", "mask default 'local'")


@pytest.mark.parametrize(
    "mask",
    [
        {"deny": {"south": ["Virginia", "Texas", "Japan"]}},
        {"default": "local", "deny": {"south": ["Texas"]}},
        {"allow": {"south": ["Japan"]}, "deny": {"south": ["Japan"]}},
        {"allow": {"south": []}},
    ],
    ids=["deny-all", "local-denied", "allow-denied", "allow-none"],
)
def test_mask_leaves_a_region_no_datacenter(mask):
    refused(lambda: build(small(mask=mask)), SRC, "mask (region 'south', tier 'default')", "no data center")


def test_mask_and_hosted_models_leave_a_region_no_datacenter():
    data = small(mask={"allow": {"south": ["Texas"]}})
    data["datacenters"][1]["models"] = []  # Texas hosts nothing
    refused(lambda: build(data), SRC, "mask (region 'south', tier 'default')", "hosted models")


@pytest.mark.parametrize("kind", ["models", "datacenters", "regions"])
def test_duplicate_names(kind):
    data = small()
    data[kind].append(copy.deepcopy(data[kind][0]))
    refused(lambda: parse_scenario(data, SRC), SRC, f"{kind}.{len(data[kind]) - 1}.name", "duplicate name")


def test_unknown_policy():
    refused(lambda: parse_scenario(small(policies=["se-glb", "greedy"]), SRC), SRC, "policies.1",
            "unknown policy 'greedy'")


def test_negative_seed():
    refused(lambda: parse_scenario(small(seed=-1), SRC), SRC, "seed", "greater than or equal to 0")


def test_start_off_the_hour():
    refused(lambda: parse_scenario(small(start="2022-09-22T00:30:00Z"), SRC), SRC, "start", "whole hour")


def test_start_naive_is_utc_and_offsets_are_converted():
    assert parse_scenario(small(start="2022-09-22T05:00:00"), SRC).start == pd.Timestamp("2022-09-22T05:00Z")
    assert parse_scenario(small(start="2022-09-22T07:00:00+02:00"), SRC).start == pd.Timestamp("2022-09-22T05:00Z")


def test_synthetic_signals_need_a_calibrated_site():
    data = small()
    data["datacenters"][1]["name"] = "Mars"
    data["regions"][1]["local_datacenter"] = "Mars"
    refused(lambda: build(data), SRC, "datacenters.1.name", "'Mars'", "signal_site")
    data["datacenters"][1]["signal_site"] = "Pluto"
    refused(lambda: build(data), SRC, "datacenters.1.signal_site", "'Pluto'")
    data["datacenters"][1]["signal_site"] = "Texas"
    assert build(data).datacenters[1] == "Mars"


# ======================================================================================
# Refusals: files
# ======================================================================================


def test_missing_scenario_file(tmp_path):
    path = tmp_path / "nope.yaml"
    refused(lambda: load_scenario(path), path, "file", "not found")


def test_yaml_syntax_error_names_the_line(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("name: broken\nhours: 4\n  seed: 3\nmodels: []\n")
    exc = refused(lambda: load_scenario(path), path, "yaml syntax", "not valid YAML")
    assert exc.source == f"{path}:3"


def test_yaml_unclosed_bracket(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("name: broken\nhours: 4\nmodels: [\n  {name: a\n")
    exc = refused(lambda: load_scenario(path), path, "yaml syntax", "not valid YAML", "the file ends first")
    assert exc.source == f"{path}:4"  # the line the unclosed mapping opens on, not the end of the file


def test_empty_scenario_file(tmp_path):
    path = tmp_path / "empty.yaml"
    path.write_text("")
    refused(lambda: load_scenario(path), path, "(top level)", "mapping")


def test_schema_error_in_a_file_names_the_file(tmp_path):
    path = tmp_path / "extra.yaml"
    path.write_text(PAPER10.read_text() + "\nbogus: 1\n")
    refused(lambda: load_scenario(path), path, "bogus", "unknown field")


# --------------------------------------------------------------------------------------
# CSV signal and demand sources (files under the data dir)
# --------------------------------------------------------------------------------------

SITES = ["Virginia", "Texas", "Japan"]
REGIONS = ["east", "south", "asia"]
CSV_HOURS = 4


def write_csv(path: Path, columns: list[str], *, rows: int = CSV_HOURS, header: list[str] | None = None,
              cell: tuple[int, int, str] | None = None, scale: float = 1.0) -> Path:
    """An hourly CSV from 2022-09-22 00:00 UTC; *cell* = (row, column, text) overrides one value."""
    times = pd.date_range("2022-09-22", periods=rows, freq="h", tz="UTC")
    lines = [",".join(header or ["time", *columns])]
    for t, when in enumerate(times):
        values = [f"{scale * (1 + t + 10 * c):g}" for c in range(len(columns))]
        if cell is not None and cell[0] == t:
            values[cell[1]] = cell[2]
        lines.append(",".join([when.strftime("%Y-%m-%dT%H:%M:%SZ"), *values]))
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def csv_world(tmp_path):
    """tmp_path as data dir with signal and demand CSVs, and a scenario file using them."""
    write_csv(tmp_path / "price.csv", SITES, scale=50)
    write_csv(tmp_path / "carbon.csv", SITES, scale=0.01)
    write_csv(tmp_path / "wue.csv", SITES, scale=0.1)
    (tmp_path / "demand").mkdir()
    write_csv(tmp_path / "demand" / "requests.csv", REGIONS, scale=100)
    data = small(
        hours=CSV_HOURS,
        signals={"source": "csv", "price_file": "price.csv", "carbon_file": "carbon.csv", "wue_file": "wue.csv"},
        demand={"source": "csv", "file": "demand/requests.csv"},
    )
    scenario = tmp_path / "csv.yaml"
    import yaml

    scenario.write_text(yaml.safe_dump(data, sort_keys=False))
    return tmp_path, scenario


def build_csv(world):
    data_dir, scenario = world
    return build_instance(load_scenario(scenario), data_dir=data_dir, source=scenario)


def test_csv_sources(csv_world):
    inst = build_csv(csv_world)
    np.testing.assert_allclose(inst.demand, [[100, 200, 300, 400], [1100, 1200, 1300, 1400], [2100, 2200, 2300, 2400]])
    np.testing.assert_allclose(inst.price_usd_per_mwh[:, 0], [50, 550, 1050])
    np.testing.assert_allclose(inst.carbon_kg_per_kwh[2], [0.21, 0.22, 0.23, 0.24])
    np.testing.assert_allclose(inst.wue_l_per_kwh[1], [1.1, 1.2, 1.3, 1.4])


def test_csv_negative_price_accepted(csv_world):
    write_csv(csv_world[0] / "price.csv", SITES, cell=(2, 0, "-12.5"))
    assert build_csv(csv_world).price_usd_per_mwh[0, 2] == -12.5


@pytest.mark.parametrize("file, columns", [("price.csv", SITES), ("carbon.csv", SITES), ("wue.csv", SITES),
                                           ("demand/requests.csv", REGIONS)])
def test_csv_wrong_header(csv_world, file, columns):
    path = csv_world[0] / file
    write_csv(path, columns, header=["time", *columns[:-1], "elsewhere"])
    refused(lambda: build_csv(csv_world), path, "header", f"missing column '{columns[-1]}'")


def test_csv_missing_time_column(csv_world):
    path = csv_world[0] / "demand" / "requests.csv"
    write_csv(path, REGIONS, header=["Time", *REGIONS])
    refused(lambda: build_csv(csv_world), path, "header", "missing column 'time'")


@pytest.mark.parametrize("file, columns", [("carbon.csv", SITES), ("demand/requests.csv", REGIONS)])
@pytest.mark.parametrize("text", ["NaN", "nan", ""])
def test_csv_nan(csv_world, file, columns, text):
    path = csv_world[0] / file
    write_csv(path, columns, cell=(1, 2, text))
    refused(lambda: build_csv(csv_world), path, f"row 3, column {columns[2]}")


def test_csv_negative_carbon_refused(csv_world):
    path = csv_world[0] / "carbon.csv"
    write_csv(path, SITES, cell=(0, 1, "-0.2"))
    refused(lambda: build_csv(csv_world), path, "row 2, column Texas", "negative")


@pytest.mark.parametrize("file, columns", [("wue.csv", SITES), ("demand/requests.csv", REGIONS)])
def test_csv_fewer_rows_than_the_horizon(csv_world, file, columns):
    path = csv_world[0] / file
    write_csv(path, columns, rows=CSV_HOURS - 1)
    refused(lambda: build_csv(csv_world), path, "rows", f"{CSV_HOURS - 1} rows", f"needs {CSV_HOURS}")


def test_csv_file_missing_under_data_dir(csv_world):
    data_dir, scenario = csv_world
    (data_dir / "wue.csv").unlink()
    refused(lambda: build_csv(csv_world), scenario, "signals.wue_file", "'wue.csv' not found")


def test_csv_source_needs_its_files():
    refused(lambda: parse_scenario(small(signals={"source": "csv", "price_file": "p.csv"}), SRC), SRC,
            "signals", "carbon_file", "wue_file")
    refused(lambda: parse_scenario(small(demand={"source": "csv"}), SRC), SRC, "demand", "needs file")


@pytest.mark.parametrize(
    "overrides, field, name",
    [
        ({"signals": {"source": "eglb"}}, "signals.dataset", "eglb"),
        ({"demand": {"source": "eglb-workload", "dataset": "eglb"}}, "demand.dataset", "eglb"),
        ({"demand": {"source": "csv", "file": "requests.csv"}}, "demand.file", "requests.csv"),
        ({"signals": {"source": "csv", "price_file": "p.csv", "carbon_file": "c.csv", "wue_file": "w.csv"}},
         "signals.price_file", "p.csv"),
    ],
)
def test_dataset_named_but_no_data_dir(overrides, field, name):
    refused(lambda: build(small(**overrides), data_dir=None), SRC, field, f"'{name}' needs a data dir",
            "--data-dir")


def test_dataset_absent_from_data_dir(tmp_path):
    refused(lambda: build(small(signals={"source": "eglb"}), data_dir=tmp_path), SRC, "signals.dataset", "'eglb' not found")


def test_eglb_signals_need_eglb_sites(tmp_path):
    data = small(signals={"source": "eglb"})
    data["datacenters"][2]["signal_site"] = "Tokyo"
    refused(lambda: build(data, data_dir=tmp_path), SRC, "datacenters.2.signal_site", "not an E-GLB location")
