"""Scenario files as a new user writes them (issue 17, item 5): a misspelled field names the
known one, `extends:` that switches a source refuses the old source's leftovers, paths may
be relative to the scenario file, and errors name the file and line."""
from __future__ import annotations

from pathlib import Path

import pytest

from cosim.errors import InputError
from cosim.instance import build_instance
from cosim.loaders import dataset_path
from cosim.scenario import parse_scenario
from cosim.scenario_files import load_scenario

REPO_ROOT = Path(__file__).resolve().parents[1]

SMALL = """\
name: small
hours: 3
models:
  - name: llm
    energy_wh_per_request: 2
    resources_per_request: 1
    quality_score: 0
datacenters:
  - {name: Virginia, capacity_per_hour: 100}
  - {name: Georgia, capacity_per_hour: 100}
regions:
  - {name: r, local_datacenter: Virginia}
"""


def _refusal(path: Path) -> InputError:
    with pytest.raises(InputError) as info:
        load_scenario(path)
    assert "\n" not in str(info.value)
    return info.value


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text)
    return path


# -------------------------------------------------------------- misspelled fields


def test_a_misspelled_required_field_is_one_message_naming_the_known_one(tmp_path):
    path = _write(tmp_path, "typo.yaml", SMALL.replace("energy_wh_per_request", "energy_wh_per_reqest"))
    exc = _refusal(path)
    assert exc.where == "models.0.energy_wh_per_reqest"
    assert exc.reason == "unknown field 'energy_wh_per_reqest' (did you mean energy_wh_per_request?)"
    assert exc.source == f"{path}:5"  # the misspelled key's own line


def test_a_misspelled_optional_field_suggests_the_known_one(tmp_path):
    exc = _refusal(_write(tmp_path, "typo.yaml", SMALL + "signals: {sourc: synthetic}\n"))
    assert exc.where == "signals.sourc"
    assert exc.reason == "unknown field 'sourc' (did you mean source?)"


def test_a_field_in_a_discriminated_section_is_suggested_too():
    data = {**_small_data(), "signals": {"source": "grids"}}
    data["datacenters"][0]["grid"] = {"kind": "shipped", "nme": "eu"}
    with pytest.raises(InputError) as info:
        parse_scenario(data, "s.yaml")
    assert info.value.reason == "unknown field 'nme' (did you mean name?)"


def test_an_unknown_field_with_nothing_close_gets_no_guess(tmp_path):
    exc = _refusal(_write(tmp_path, "x.yaml", SMALL + "colour: red\n"))
    assert (exc.where, exc.reason) == ("colour", "unknown field 'colour'")


def _small_data() -> dict:
    import yaml

    return yaml.safe_load(SMALL)


# -------------------------------------------------------------- file and line


def test_a_bad_value_names_the_file_and_the_line_of_its_key(tmp_path):
    path = _write(tmp_path, "bad.yaml", SMALL.replace("energy_wh_per_request: 2", "energy_wh_per_request: -2"))
    exc = _refusal(path)
    assert (exc.source, exc.where) == (f"{path}:5", "models.0.energy_wh_per_request")
    assert str(exc).startswith(f"{path}:5: models.0.energy_wh_per_request: ")


def test_a_value_from_the_base_names_the_base_file_and_line(tmp_path):
    base = _write(tmp_path, "base.yaml", SMALL.replace("hours: 3", "hours: 0"))
    child = _write(tmp_path, "child.yaml", "extends: base.yaml\nname: child\n")
    exc = _refusal(child)
    assert (exc.source, exc.where) == (f"{base}:2", "hours")


def test_the_extending_file_wins_where_both_set_the_field(tmp_path):
    _write(tmp_path, "base.yaml", SMALL)
    child = _write(tmp_path, "child.yaml", "extends: base.yaml\nname: child\n\nhours: -1\n")
    assert _refusal(child).source == f"{child}:4"


def test_a_missing_field_points_at_its_section(tmp_path):
    path = _write(tmp_path, "m.yaml", SMALL.replace("    quality_score: 0\n", ""))
    exc = _refusal(path)
    assert (exc.source, exc.where, exc.reason) == (f"{path}:4", "models.0.quality_score", "Field required")


def test_a_yaml_syntax_error_names_the_file_and_line(tmp_path):
    path = _write(tmp_path, "syn.yaml", SMALL + "mask: {default: all\npolicies: [se-glb]\n")
    exc = _refusal(path)
    assert exc.source == f"{path}:14" and exc.where == "yaml syntax"  # the line the mapping opens on
    assert exc.reason.startswith("not valid YAML: ")


# -------------------------------------------------------------- extends switching a source


def test_extends_switching_the_signals_source_refuses_the_old_sources_files(tmp_path):
    _write(tmp_path, "base.yaml", SMALL + "signals: {source: csv, price_file: p.csv, carbon_file: c.csv, wue_file: w.csv}\n")
    child = _write(tmp_path, "child.yaml", "extends: base.yaml\nname: child\nsignals: {source: synthetic}\n")
    exc = _refusal(child)
    assert exc.where == "signals.price_file"
    assert "'base.yaml' sets it for signals source 'csv'" in exc.reason
    assert "switches to 'synthetic'" in exc.reason and "carbon_file, wue_file" in exc.reason
    assert exc.source == str(child)


def test_extends_switching_the_demand_source_refuses_its_file(tmp_path):
    _write(tmp_path, "base.yaml", SMALL + "demand: {source: csv, file: d.csv}\n")
    child = _write(tmp_path, "child.yaml", "extends: base.yaml\nname: child\ndemand: {source: profile}\n")
    exc = _refusal(child)
    assert exc.where == "demand.file" and "demand source 'csv'" in exc.reason


def test_a_null_removes_the_leftover_and_the_switch_goes_through(tmp_path):
    _write(tmp_path, "base.yaml", SMALL + "demand: {source: csv, file: d.csv, price_elasticity: 0.5}\n")
    child = _write(tmp_path, "child.yaml", "extends: base.yaml\nname: child\ndemand: {source: profile, file: null}\n")
    spec = load_scenario(child)
    assert (spec.demand.source, spec.demand.file, spec.demand.price_elasticity) == ("profile", None, 0.5)


def test_a_leftover_at_its_default_value_is_no_leftover():
    # eglb_replication names `dataset: eglb` (the default) for its eglb signals
    spec = load_scenario(REPO_ROOT / "scenarios" / "eglb_replication.yaml")
    assert spec.signals.dataset == "eglb"


def test_switching_eglb_replication_to_grids_loads(tmp_path):
    child = _write(tmp_path, "g.yaml", "extends: eglb_replication\nname: g\nsignals: {source: grids}\n")
    assert load_scenario(child).signals.source == "grids"


# -------------------------------------------------------------- paths relative to the scenario file


def test_a_path_next_to_the_scenario_file_wins_over_the_data_dir(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "d.csv").write_text("from the data dir\n")
    (tmp_path / "scen").mkdir()
    (tmp_path / "scen" / "d.csv").write_text("next to the scenario\n")
    scenario = _write(tmp_path / "scen", "s.yaml", SMALL)
    assert dataset_path(tmp_path / "data", "d.csv", source=scenario) == tmp_path / "scen" / "d.csv"
    (tmp_path / "scen" / "d.csv").unlink()
    assert dataset_path(tmp_path / "data", "d.csv", source=scenario) == tmp_path / "data" / "d.csv"


def test_a_scenario_reads_its_demand_csv_next_to_it_without_a_data_dir(tmp_path):
    (tmp_path / "demand.csv").write_text("time,r\n" + "".join(f"2022-09-22T0{h}:00Z,{10 * (h + 1)}\n" for h in range(3)))
    path = _write(tmp_path, "s.yaml", SMALL + "demand: {source: csv, file: demand.csv}\n")
    inst = build_instance(load_scenario(path), data_dir=None)
    assert inst.demand.sum(axis=0).tolist() == [10.0, 20.0, 30.0]


def test_a_missing_relative_file_names_the_scenario_and_both_places(tmp_path):
    path = _write(tmp_path, "s.yaml", SMALL + "demand: {source: csv, file: nowhere.csv}\n")
    with pytest.raises(InputError) as info:
        build_instance(load_scenario(path), data_dir=tmp_path / "data")
    exc = info.value
    assert exc.source == str(path) and exc.where == "demand.file"
    assert f"not found under data dir {tmp_path / 'data'} nor next to the scenario in {tmp_path}" in exc.reason
