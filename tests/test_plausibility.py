"""Plausibility checks with units (cosim.plausibility), `--strict`, and `cosim validate`'s
capacity check (cosim.capacity_check): a carbon file in g/kWh is named with its unit
mistake, a scenario field out of range names the field, shipped scenarios and the E-GLB
data stay silent; a mask that leaves a region's tier too little capacity is foretold, and
the run then indeed leaves those requests unserved."""
from __future__ import annotations

import json
import os
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from test_cli import assert_bad_input, cosim

from cosim import loaders
from cosim.capacity_check import reachable_requests_per_hour, shortfalls
from cosim.errors import InputError
from cosim.instance import build_instance
from cosim.plausibility import BOUNDS, PlausibilityWarning, check_columns, check_signals
from cosim.runner import run_scenario
from cosim.scenario import parse_scenario
from cosim.scenario_files import load_scenario, shipped_scenarios_dir
from grids.files import read_yaml

REPO_ROOT = Path(__file__).resolve().parents[1]
PAPER10 = REPO_ROOT / "scenarios" / "paper10.yaml"
SHARED_DATA = Path(os.environ.get("COSIM_DATA_DIR") or REPO_ROOT.parent / "shared" / "data")
HOURS = 6


def _plausibility_notes(inst) -> list[str]:
    return [n for n in inst.notes if "plausible" in n]


def _csv_world(tmp_path: Path, carbon_factor: float = 1.0) -> tuple[Path, Path]:
    """A CSV-signal scenario (two sites, E-GLB-like values) and its data dir; the carbon
    file's values times *carbon_factor*."""
    data = tmp_path / "data"
    data.mkdir()
    times = pd.date_range("2022-09-22", periods=HOURS, freq="h", tz="UTC").strftime("%Y-%m-%dT%H:%M:%SZ")
    values = {"price": (61.5, 172.0), "carbon": (0.366, 0.412), "wue": (4.9, 5.6)}
    for name, (texas, virginia) in values.items():
        factor = carbon_factor if name == "carbon" else 1.0
        rows = "".join(f"{t},{texas * factor * (1 + 0.01 * n):.6g},{virginia * factor:.6g}\n" for n, t in enumerate(times))
        (data / f"{name}.csv").write_text("time,Texas,Virginia\n" + rows)
    (data / "demand.csv").write_text("time,south\n" + "".join(f"{t},10\n" for t in times))
    scenario = tmp_path / "csv.yaml"
    scenario.write_text(
        f"name: csv\nhours: {HOURS}\n"
        "models: [{name: m, energy_wh_per_request: 1, resources_per_request: 1, quality_score: 1}]\n"
        "datacenters: [{name: Texas, capacity_per_hour: 100}, {name: Virginia, capacity_per_hour: 100}]\n"
        "regions: [{name: south, local_datacenter: Texas}]\n"
        "demand: {source: csv, file: demand.csv}\n"
        "signals: {source: csv, price_file: price.csv, carbon_file: carbon.csv, wue_file: wue.csv}\n"
        "policies: [cost-glb]\n"
    )
    return scenario, data


def test_the_table_states_the_issues_bounds():
    assert BOUNDS["carbon_kg_per_kwh"].high == 2.0
    assert BOUNDS["wue_l_per_kwh"].high == 20.0
    assert BOUNDS["price_usd_per_mwh"].high == 10_000
    assert BOUNDS["energy_wh_per_request"].high == 100.0
    assert BOUNDS["pue"].high == 3.0


def test_carbon_in_g_per_kwh_warns_naming_file_column_row_and_mistake(tmp_path):
    scenario, data = _csv_world(tmp_path)
    assert _plausibility_notes(build_instance(load_scenario(scenario), data_dir=data, source=scenario)) == []
    (data / "carbon.csv").write_text((data / "carbon.csv").read_text().replace("0.366,", "366,", 1))
    inst = build_instance(load_scenario(scenario), data_dir=data, source=scenario)
    assert _plausibility_notes(inst) == [
        f"{data / 'carbon.csv'}: row 2, column Texas: 366 kg/kWh is above the plausible 2 kg/kWh of carbon intensity: "
        "looks like g/kWh or kg/MWh: divide by 1000 (lb/MWh: multiply by 0.000454)"]
    with pytest.raises(InputError, match=r"carbon\.csv: row 2, column Texas: 366 kg/kWh"):
        build_instance(load_scenario(scenario), data_dir=data, source=scenario, strict=True)


def test_cli_validate_and_run_warn_and_strict_refuses_writing_nothing(tmp_path):
    scenario, data = _csv_world(tmp_path, carbon_factor=1000.0)
    parts = (str(data / "carbon.csv"), "row 2, column Texas", "366 kg/kWh", "looks like g/kWh")
    proc = cosim("validate", scenario, "--data-dir", data, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    notes = [line for line in proc.stdout.splitlines() if line.startswith("note: ")]
    assert len(notes) == 2, proc.stdout  # one per column: Texas and Virginia (412 kg/kWh)
    assert all(part in notes[0] for part in parts), notes[0]
    assert "row 2, column Virginia: 412 kg/kWh" in notes[1] and "carbon intensity (and 5 more row(s)): looks like" in notes[1]
    assert_bad_input(cosim("validate", scenario, "--data-dir", data, "--strict", cwd=tmp_path), *parts)

    out = tmp_path / "out"
    proc = cosim("run", scenario, "--hours", 3, "--data-dir", data, "--out", out, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert any(all(p in line for p in parts) for line in proc.stdout.splitlines()), proc.stdout
    summary = json.loads((out / "summary.json").read_text())
    assert any(all(p in note for p in parts) for note in summary["notes"])

    refused = tmp_path / "refused"
    assert_bad_input(cosim("run", scenario, "--hours", 3, "--data-dir", data, "--out", refused, "--strict", cwd=tmp_path), *parts)
    assert not refused.exists()


def _small(**overrides) -> dict:
    base = {
        "name": "small", "hours": 3, "signals": {"source": "synthetic"},
        "models": [{"name": "m", "energy_wh_per_request": 1, "resources_per_request": 1, "quality_score": 1}],
        "datacenters": [{"name": "Texas", "capacity_per_hour": 100}],
        "regions": [{"name": "south"}],
    }
    return {**base, **overrides}


def test_scenario_fields_out_of_range_warn_naming_the_field():
    spec = parse_scenario(_small(
        models=[{"name": "m", "energy_wh_per_request": 5000, "resources_per_request": 1, "quality_score": 1}],
        datacenters=[{"name": "Texas", "capacity_per_hour": 100, "pue": 5}],
    ), "s.yaml")
    notes = _plausibility_notes(build_instance(spec, source="s.yaml"))
    assert notes == [
        "s.yaml: models.0.energy_wh_per_request: 5000 Wh is above the plausible 100 Wh of energy per request: "
        "looks like J (divide by 3600) or mWh (divide by 1000)",
        "s.yaml: datacenters.0.pue: 5 is above the plausible 3 of PUE: PUE is facility over IT energy, 1.1 to 2 at "
        "real sites; a percentage (110 for 1.1) divides by 100",
    ]
    with pytest.raises(InputError) as refused:
        build_instance(spec, source="s.yaml", strict=True)
    assert (refused.value.source, refused.value.where) == ("s.yaml", "models.0.energy_wh_per_request")
    # a carbon price in USD/kg is too small; zero (no price) is silent
    low = parse_scenario(_small(policy={"mu_carbon_usd_per_t": 0.19}), "s.yaml")
    assert _plausibility_notes(build_instance(low, source="s.yaml")) == [
        "s.yaml: policy.mu_carbon_usd_per_t: 0.19 USD/t is below the plausible 1 USD/t of carbon price: "
        "looks like USD/kg: multiply by 1000"]
    assert _plausibility_notes(build_instance(parse_scenario(_small(policy={"mu_carbon_usd_per_t": 0}), "s.yaml"))) == []


def test_accept_implausible_silences_a_listed_field_and_refuses_an_unknown_path():
    meant = _small(models=[{"name": "m", "energy_wh_per_request": 1000, "resources_per_request": 1, "quality_score": 1}],
                   accept_implausible=["models.0.energy_wh_per_request"])
    assert _plausibility_notes(build_instance(parse_scenario(meant, "s.yaml"), source="s.yaml", strict=True)) == []
    with pytest.raises(InputError, match=r"s\.yaml: accept_implausible\.0: 'models\.1\.energy_wh_per_request' is not a checked field"):
        build_instance(parse_scenario({**meant, "accept_implausible": ["models.1.energy_wh_per_request"]}, "s.yaml"),
                       source="s.yaml")


def test_columns_first_row_more_rows_and_prices_in_usd_per_kwh():
    def caught(quantity, values, columns):
        with warnings.catch_warnings(record=True) as got:
            warnings.simplefilter("always")
            check_columns(quantity, np.array(values, dtype=float), columns, source="f.csv", row=lambda i: f"row {i + 2}")
        assert all(isinstance(w.message, PlausibilityWarning) for w in got)
        return [str(w.message) for w in got]

    assert caught("wue_l_per_kwh", [[1.2], [1800.0], [2100.0]], ["A"]) == [
        "f.csv: row 3, column A: 1800 L/kWh is above the plausible 20 L/kWh of WUE (and 1 more row(s)): looks like "
        "L/MWh or mL/kWh: divide by 1000 (gal/MWh: multiply by 0.003785)"]
    assert caught("price_usd_per_mwh", [[0.05, 0.0, -12000.0], [0.09, 0.0, 40.0]], ["A", "B", "C"]) == [
        "f.csv: column A: every value is below 1 USD/MWh of electricity price (the largest is 0.09 USD/MWh): "
        "looks like USD/kWh: multiply by 1000",
        "f.csv: row 2, column C: -12000 USD/MWh is above the plausible 10000 USD/MWh of electricity price: "
        "looks like cents/MWh (divide by 100) or USD/GWh (divide by 1000)"]
    assert caught("price_usd_per_mwh", [[-65.5], [585.1], [10_000.0]], ["A"]) == []  # E-GLB's range, VOLL


def test_computed_signals_are_checked_value_by_value_and_lme_not_at_all():
    times = pd.date_range("2022-09-22", periods=3, freq="h", tz="UTC")
    signals = {"carbon_kg_per_kwh": np.array([[0.4, 900.0, 900.0], [0.3, 0.3, 0.3]]),
               "price_usd_per_mwh": np.array([[0.0, 0.2, 0.5], [40.0, 41.0, 42.0]]),  # cheap hours: no "USD/kWh"
               "lme_kg_per_kwh": np.full((2, 3), 5.0)}
    with warnings.catch_warnings(record=True) as got:
        warnings.simplefilter("always")
        check_signals(signals, ["A", "B"], times, source="s.yaml", origin="signals (grids)")
    assert [str(w.message) for w in got] == [
        "s.yaml: signals (grids): hour 2022-09-22 01:00 UTC, column carbon_kg_per_kwh of A: 900 kg/kWh is above the "
        "plausible 2 kg/kWh of carbon intensity (and 1 more hour(s)): looks like g/kWh or kg/MWh: divide by 1000 "
        "(lb/MWh: multiply by 0.000454)"]


def _shipped() -> list:
    """Every shipped scenario (not the sweeps); those building balancing areas marked slow."""
    paths = sorted(p for p in shipped_scenarios_dir().glob("*.yaml") if "base" not in read_yaml(p))
    return [pytest.param(p, id=p.stem, marks=[pytest.mark.slow] if p.stem.startswith("us_") else []) for p in paths]


@pytest.mark.parametrize("path", _shipped())
def test_shipped_scenarios_give_no_plausibility_warning(path):
    spec = load_scenario(path)
    needs_data = path.stem in ("eglb_replication", "us_balancing_areas", "us_hubs")
    if needs_data and not SHARED_DATA.is_dir():
        pytest.skip(f"needs the data dir {SHARED_DATA}")
    if path.stem != "eglb_replication":  # its files are read whole anyway: the whole horizon
        spec = spec.with_hours(HOURS)
    inst = build_instance(spec, data_dir=SHARED_DATA if needs_data else None, source=path, strict=True)
    assert _plausibility_notes(inst) == []


def test_every_eglb_file_is_plausible():
    if not (SHARED_DATA / loaders.EGLB_DATASET).is_dir():
        pytest.skip(f"needs the E-GLB dataset under {SHARED_DATA}")
    with warnings.catch_warnings():
        warnings.simplefilter("error", PlausibilityWarning)
        data = loaders.load_eglb(SHARED_DATA / loaders.EGLB_DATASET)
    assert data.carbon_kg_per_kwh.to_numpy().max() < 1 and data.wue_l_per_kwh.to_numpy().max() < 10


# ---------------------------------------------------------------------------- capacity


def _short_singapore(tmp_path: Path) -> Path:
    """paper10 (synthetic signals) with 10 servers in Singapore: its interactive users
    (60 ms: Singapore only) peak at 187,500 requests/h against 130,011 on 10 servers."""
    datacenters = read_yaml(PAPER10)["datacenters"]
    for dc in datacenters:
        if dc["name"] == "Singapore":
            dc["servers"] = 10
    path = tmp_path / "short_singapore.yaml"
    path.write_text(yaml.safe_dump({"extends": "paper10", "name": "short_singapore", "datacenters": datacenters,
                                    "signals": {"source": "synthetic"}}))
    return path


def _synthetic(spec):
    return spec.model_copy(update={"signals": spec.signals.model_copy(update={"source": "synthetic"})})


def test_paper10_masks_leave_every_user_enough_capacity():
    inst = build_instance(_synthetic(load_scenario(PAPER10)), source=PAPER10)  # every hour, every check
    assert shortfalls(inst) == []


def test_validate_foretells_a_short_tier_and_the_run_leaves_it_unserved(tmp_path):
    path = _short_singapore(tmp_path)
    proc = cosim("validate", path, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    warned = [line for line in proc.stdout.splitlines() if line.startswith("warning: ")]
    assert warned == ["warning: region 'Singapore', tier 'interactive': demand 187,500 requests/h at 2022-09-22 06:00 UTC "
                      "exceeds the 130,011 requests/h its masks allow (198 hour(s) short in all): at least 57,489 "
                      "requests/h will be unserved"], proc.stdout

    spec = load_scenario(path).with_hours(8)
    inst = build_instance(spec, source=path)
    j = inst.users.index(("Singapore", "interactive"))
    predicted = np.maximum(inst.demand[j] - reachable_requests_per_hour(inst)[j], 0.0)
    result = run_scenario(spec, policies=["se-glb"], source=path)
    unserved = result.solutions["se-glb"].unserved_requests(result.instance)
    assert predicted.sum() > 0 and predicted[6] == pytest.approx(57_489, abs=1)
    assert np.all(unserved[j] >= predicted - 1e-6 * inst.demand[j])  # the warning is a lower bound that holds
    assert unserved[j].sum() == pytest.approx(predicted.sum(), rel=1e-3)  # and here it is what happens
    assert result.metrics["se-glb"]["unserved_requests"] == pytest.approx(unserved[j].sum(), rel=1e-3)  # nobody else


def test_joint_check_names_users_sharing_too_few_sites():
    """Every EU site at 8 servers: each EU interactive user alone fits on the four EU sites,
    together they do not."""
    spec = _synthetic(load_scenario(PAPER10)).with_hours(24)
    eu = ("Belgium", "Netherlands", "Germany", "Denmark")
    spec = spec.model_copy(update={"datacenters": [d.model_copy(update={"servers": 8}) if d.name in eu else d
                                                   for d in spec.datacenters]})
    inst = build_instance(spec, source="eu")
    found = shortfalls(inst)
    assert [s.kind for s in found] == ["joint"]
    assert found[0].users == tuple((region, "interactive") for region in eu)
    assert found[0].hour == pd.Timestamp("2022-09-22 12:00", tz="UTC")
    assert found[0].unserved_requests_per_h == pytest.approx(333_965, abs=1)
    result = run_scenario(spec.with_hours(13), policies=["cost-glb"], source="eu")
    unserved = result.solutions["cost-glb"].unserved_requests(result.instance)
    assert unserved[:, 12].sum() >= found[0].unserved_requests_per_h * (1 - 1e-6)
