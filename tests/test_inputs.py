"""Inputs checked to the end (issue 16): every number finite and within its limit, YAML read
with a size limit, as UTF-8, without duplicate keys, with bounded nesting and alias
expansion (across `extends:` too), sweep axis values checked as scenario fields, and no
NaN or infinity past the solvers' boundary. docs/reliability.md, "Inputs", cites these."""
from __future__ import annotations

import contextlib
import dataclasses
import io
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from cosim.cli import main
from cosim.errors import InputError, SolverInputError
from cosim.fields import MAX_HOURS
from cosim.glb import make_policy, solve_offline, solve_online
from cosim.instance import build_instance
from cosim.scenario_files import load_scenario
from cosim.sweep import load_sweep
from grids.files import MAX_DEPTH, read_yaml

TINY = """\
name: tiny
hours: 6
seed: 3
models:
  - {name: small, energy_wh_per_request: 0.5, resources_per_request: 0.28, quality_score: 56.8}
  - {name: large, energy_wh_per_request: 3.8, resources_per_request: 2.09, quality_score: 66.5, inference_ms: 40}
datacenters:
  - {name: Virginia, servers: 10, pue: 1.2, location: {lat: 38.9, lon: -77.4}, queue_ms: 5}
  - {name: Germany, capacity_per_hour: 36000, server_power_kw: 0.5, location: {lat: 50.1, lon: 8.7}}
regions:
  - {name: Virginia, utc_offset_h: -4, local_datacenter: Virginia, demand_weight: 1.0, location: {lat: 38.9, lon: -77.4}}
  - {name: Germany, utc_offset_h: 2, local_datacenter: Germany, demand_weight: 0.8, location: {lat: 50.1, lon: 8.7}}
demand:
  requests_per_hour: 20000
  peak_to_mean: 1.5
policy:
  mu_carbon_usd_per_t: 1500
  social_weight_usd: 1.0
  q_social: 2
  q_env: 2
  unserved_penalty_usd_per_request: 10
tiers:
  - {name: chat, share: 0.6, tau_ms: 150, rounds: 2, state_mb: 0.5}
  - {name: batch, share: 0.4, tau_ms: .inf, payload_kb: 10}
frictions:
  egress_usd_per_gb: 0.02
policies: [cost-glb, se-glb]
"""
"""A small scenario (synthetic signals, two sites, two tiers) whose every section holds numbers."""

ENV = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}


def write(folder: Path, text: str, name: str = "s.yaml") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def line_of(text: str, needle: str) -> int:
    """1-based line of the first line of *text* holding *needle*."""
    return next(n for n, line in enumerate(text.splitlines(), 1) if needle in line)


def cli(*args: str) -> tuple[int, str, str]:
    """`cosim ARGS` in this process, as the console script runs it: (exit code, stdout,
    stderr); an exception main() lets through is exit 1 with its traceback on stderr."""
    out, err = io.StringIO(), io.StringIO()
    saved = sys.argv
    sys.argv = ["cosim", *args]
    code = 0
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            main()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:  # noqa: BLE001 - what a user would see as a traceback
        import traceback

        code = 1
        err.write(traceback.format_exc())
    finally:
        sys.argv = saved
    return code, out.getvalue(), err.getvalue()


def refused_line(code: int, err: str) -> str:
    """The one stderr line of an exit-2 refusal."""
    assert code == 2, err
    assert "Traceback" not in err, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


# ============================================================ numbers: finite, within limits


NUMBER_CASES = [
    # (the text replaced in TINY, its replacement, the field named, words of the reason)
    ("requests_per_hour: 20000", "requests_per_hour: .inf", "demand.requests_per_hour", "inf is not a finite number (requests/h)"),
    ("requests_per_hour: 20000", "requests_per_hour: inf", "demand.requests_per_hour", "inf is not a finite number"),
    ("energy_wh_per_request: 0.5", "energy_wh_per_request: .inf", "models.0.energy_wh_per_request", "inf is not a finite number (Wh)"),
    ("energy_wh_per_request: 0.5", "energy_wh_per_request: 1e308", "models.0.energy_wh_per_request",
     "1e+308 Wh is beyond the limit of 1e+06 Wh"),
    ("pue: 1.2", "pue: .inf", "datacenters.0.pue", "inf is not a finite number"),
    ("demand_weight: 0.8", "demand_weight: .inf", "regions.1.demand_weight", "inf is not a finite number"),
    ("mu_carbon_usd_per_t: 1500", "mu_carbon_usd_per_t: inf", "policy.mu_carbon_usd_per_t", "inf is not a finite number (USD/t)"),
    ("social_weight_usd: 1.0", "social_weight_usd: .inf", "policy.social_weight_usd", "inf is not a finite number (USD)"),
    ("unserved_penalty_usd_per_request: 10", "unserved_penalty_usd_per_request: .inf",
     "policy.unserved_penalty_usd_per_request", "inf is not a finite number (USD)"),
    ("egress_usd_per_gb: 0.02", "egress_usd_per_gb: 1e308", "frictions.egress_usd_per_gb", "beyond the limit of 1e+06 USD/GB"),
    ("quality_score: 66.5", "quality_score: .nan", "models.1.quality_score", "nan is not a finite number (points)"),
    ("quality_score: 66.5", "quality_score: -.inf", "models.1.quality_score", "-inf is not a finite number (points)"),
    ("capacity_per_hour: 36000", "capacity_per_hour: 1e308", "datacenters.1.capacity_per_hour", "beyond the limit"),
    ("state_mb: 0.5", "state_mb: .nan", "tiers.0.state_mb", "nan is not a finite number (MB)"),
    ("tau_ms: 150", "tau_ms: .nan", "tiers.0.tau_ms", "nan is not a finite number (ms)"),
    ("q_env: 2", "q_env: 1e308", "policy.q_env", "beyond the limit of 1000"),
    ("hours: 6", "hours: 1000000000000", "hours", f"1e+12 hours is beyond the limit of {MAX_HOURS:g} hours"),
    ("seed: 3", "seed: .inf", "seed", "inf is not a finite number"),
    ("lat: 38.9, lon: -77.4}, queue", "lat: .nan, lon: -77.4}, queue", "datacenters.0.location.lat", "nan is not a finite number"),
]


@pytest.mark.parametrize(("old", "new", "where", "reason"), NUMBER_CASES, ids=[c[1] for c in NUMBER_CASES])
def test_non_finite_and_absurd_numbers_are_refused_naming_file_line_and_field(tmp_path, old, new, where, reason):
    assert old in TINY
    text = TINY.replace(old, new, 1)
    path = write(tmp_path, text)
    with pytest.raises(InputError) as info:
        load_scenario(path)
    err = info.value
    assert (err.source, err.where) == (f"{path}:{line_of(text, new)}", where), err
    assert reason in err.reason, err


def _numbers_without_limit(model, prefix: str = "") -> list[str]:
    """The float and int fields under *model* (recursively) that carry no hard limit."""
    import functools
    import typing

    from pydantic import BaseModel

    from cosim.scenario_errors import _expand

    def limited(metadata) -> bool:
        return any(isinstance(getattr(m, "func", None), functools.partial) and m.func.func.__name__ == "_within"
                   for m in metadata)

    missing = []
    for name, info in model.model_fields.items():
        kinds = _expand([info.annotation])
        for kind in kinds:
            if isinstance(kind, type) and issubclass(kind, BaseModel):
                missing += _numbers_without_limit(kind, f"{prefix}{name}.")
            elif typing.get_origin(kind) in (list, dict):
                for arg in typing.get_args(kind)[-1:]:
                    for inner in _expand([arg]):
                        if isinstance(inner, type) and issubclass(inner, BaseModel):
                            missing += _numbers_without_limit(inner, f"{prefix}{name}.N.")
        numeric = [a for a in [info.annotation, *typing.get_args(info.annotation)]
                   if a in (int, float) or typing.get_origin(a) is typing.Annotated and typing.get_args(a)[0] in (int, float)]
        if numeric:
            ok = limited(info.metadata) or any(limited(getattr(a, "__metadata__", ())) for a in numeric)
            if not ok:
                missing.append(f"{prefix}{name}")
    return missing


def test_every_number_of_the_schema_has_a_limit():
    from cosim.scenario import Scenario

    assert _numbers_without_limit(Scenario) == []


def test_infinity_stays_allowed_where_it_means_no_limit(tmp_path):
    spec = load_scenario(write(tmp_path, TINY.replace("q_env: 2", "q_env: inf").replace("q_social: 2", "q_social: .inf")))
    assert (spec.policy.q_env, spec.policy.q_social, spec.tiers[1].tau_ms) == (np.inf, np.inf, np.inf)


@pytest.mark.parametrize("args", [("--hours", "1000000000000"), ("--hours", "87601")])
def test_cli_hours_beyond_ten_years_are_refused(tmp_path, args):
    out = tmp_path / "out"
    code, _, err = cli("run", str(write(tmp_path, TINY)), *args, "--no-report", "--out", str(out))
    assert refused_line(code, err).endswith("a whole number of hours from 1 to 87,600 (ten years)")
    assert not out.exists()


def test_cli_refuses_inf_energy_with_exit_2_one_line_and_writes_nothing(tmp_path):
    text = TINY.replace("energy_wh_per_request: 3.8", "energy_wh_per_request: .inf")
    path, out = write(tmp_path, text), tmp_path / "out"
    code, _, err = cli("run", str(path), "--hours", "1", "--no-report", "--out", str(out))
    line = refused_line(code, err)
    assert f"{path}:{line_of(text, '.inf')}: models.1.energy_wh_per_request: inf is not a finite number (Wh)" in line
    assert not out.exists()


# ============================================================ YAML: keys, size, encoding, depth


def test_duplicate_key_in_a_scenario_is_refused_at_its_second_line(tmp_path):
    text = TINY.replace("seed: 3\n", "seed: 3\nseed: 4\n")
    code, _, err = cli("validate", str(write(tmp_path, text)))
    assert refused_line(code, err).endswith(
        f"s.yaml:{line_of(text, 'seed: 4')}: seed: key repeated (first at line {line_of(text, 'seed: 3')}); "
        "the keys of a mapping are unique")


@pytest.mark.parametrize(("text", "line", "key"), [
    ("a: 1\nb:\n  c: 2\n  c: 3\n", 4, "c"),  # nested
    ("x: {a: 1, a: 2}\n", 1, "a"),  # a flow mapping, both on one line
    ("- {name: v, lat: 1}\n- name: w\n  lat: 2\n  lat: 3\n", 4, "lat"),  # in a list
])
def test_duplicate_keys_are_refused_in_any_yaml_file(tmp_path, text, line, key):
    path = write(tmp_path, text, "region.yaml")  # grids' region and fleet files use the same reader
    with pytest.raises(InputError) as info:
        read_yaml(path)
    assert (info.value.source, info.value.where) == (f"{path}:{line}", key)


def test_merge_keys_may_still_be_overridden(tmp_path):
    assert read_yaml(write(tmp_path, "b: &b {x: 1, y: 2}\nd:\n  <<: *b\n  x: 3\n"))["d"] == {"x": 3, "y": 2}


def test_duplicate_key_in_a_sweep_is_refused(tmp_path):
    write(tmp_path, TINY, "tiny.yaml")
    path = write(tmp_path, "base: tiny.yaml\naxes: {seed: [1]}\naxes: {seed: [2]}\n", "sweep.yaml")
    with pytest.raises(InputError, match=r"sweep.yaml:3: axes: key repeated \(first at line 2\)"):
        load_sweep(path)


def test_latin1_and_binary_scenarios_are_refused_as_not_utf8(tmp_path):
    latin = tmp_path / "latin.yaml"
    latin.write_bytes(TINY.replace("name: tiny", "name: caf\xe9").encode("latin-1"))
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(bytes(range(256)) * 4)
    code, _, err = cli("validate", str(latin))
    assert refused_line(code, err).endswith("latin.yaml: file: not UTF-8 text (byte 0xe9 at offset 9)")
    code, _, err = cli("validate", str(binary))
    assert refused_line(code, err).endswith("binary.yaml: file: not UTF-8 text (byte 0x80 at offset 128)")


def test_nesting_500_deep_is_refused_not_a_recursion_error(tmp_path):
    text = TINY.replace("policies: [cost-glb, se-glb]", "policies: " + "[" * 500 + "]" * 500)
    code, _, err = cli("validate", str(write(tmp_path, text)))
    assert refused_line(code, err).endswith(
        f"s.yaml:{line_of(text, 'policies: [[')}: nesting: deeper than {MAX_DEPTH} levels of mappings and lists")


def test_nesting_at_the_limit_is_read(tmp_path):
    doc = read_yaml(write(tmp_path, "a: " + "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1) + "\n"))
    depth, item = 0, doc["a"]
    while isinstance(item, list):
        depth, item = depth + 1, item[0] if item else None
    assert depth == MAX_DEPTH - 1


@pytest.mark.parametrize("device", ["/dev/zero", "fifo", "folder"])
def test_devices_fifos_and_folders_are_refused_without_reading(tmp_path, device):
    if device == "fifo":
        path = tmp_path / "fifo.yaml"
        os.mkfifo(path)  # opening it would wait for a writer forever
    elif device == "folder":
        path = tmp_path / "folder.yaml"
        path.mkdir()
    else:
        path = Path(device)
    code, _, err = cli("validate", str(path))
    line = refused_line(code, err)
    assert line.endswith("not a file (a folder)" if device == "folder" else
                         "not a regular file (a device, FIFO or socket is never read)"), line


def test_dev_zero_through_the_real_cli_neither_hangs_nor_eats_memory():
    proc = subprocess.run([sys.executable, "-m", "cosim.cli", "validate", "/dev/zero"], capture_output=True, text=True,
                          env=ENV, timeout=60)
    line = refused_line(proc.returncode, proc.stderr)
    assert line.endswith("/dev/zero: file: not a regular file (a device, FIFO or socket is never read)"), line


def test_a_yaml_file_over_10_mb_is_refused(tmp_path):
    path = tmp_path / "big.yaml"
    path.write_bytes(b"# " + b"x" * 10_000_000 + b"\n")
    with pytest.raises(InputError, match=r"big.yaml: file: 10 MB, larger than the 10 MB limit for YAML files"):
        read_yaml(path)


def _bomb(levels: int, name: str = "l") -> str:
    """YAML of *levels* aliases, each a list of nine of the previous: 9**levels values."""
    rows = [f'{name}0: &{name}0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    rows += [f"{name}{n}: &{name}{n} [{', '.join([f'*{name}{n - 1}'] * 9)}]" for n in range(1, levels)]
    return "\n".join(rows) + "\n"


def test_an_alias_bomb_is_refused_at_its_line(tmp_path):
    text = TINY + "description:\n" + textwrap.indent(_bomb(9), "  ")
    code, _, err = cli("validate", str(write(tmp_path, text)))
    line = refused_line(code, err)
    assert ": aliases: expands to more than 100,000 values (aliases counted at every use)" in line, line


def test_an_alias_bomb_split_across_extends_is_refused(tmp_path):
    """Each file holds 59,049 values with its aliases expanded (under the limit), the merged
    scenario twice as many: refused at the extending file, nothing walks it."""
    write(tmp_path, TINY + "description: &d\n" + textwrap.indent(_bomb(5, "a"), "  "), "base.yaml")
    path = write(tmp_path, "extends: base.yaml\nname: child\nmask: &m\n" + textwrap.indent(_bomb(5, "b"), "  "), "child.yaml")
    out = tmp_path / "out"
    code, _, err = cli("run", str(path), "--hours", "1", "--no-report", "--out", str(out))
    assert refused_line(code, err).endswith(
        "child.yaml: extends: the scenario and the files it extends expand to more than 100,000 values "
        "(aliases counted at every use)")
    assert not out.exists()


def test_a_long_chain_of_extends_is_refused(tmp_path):
    write(tmp_path, TINY, "f0.yaml")
    for n in range(1, 40):
        write(tmp_path, f"extends: f{n - 1}.yaml\nseed: {n}\n", f"f{n}.yaml")
    with pytest.raises(InputError, match="more than 32 files in one chain of `extends:`"):
        load_scenario(tmp_path / "f39.yaml")


# ============================================================ sweeps: axis values as scenario fields


@pytest.mark.parametrize(("axis", "value", "reason"), [
    ("mu_carbon", ".inf", "inf is not a finite number (USD/t)"),
    ("mu_water", "1e308", "1e+308 USD/m3 is beyond the limit of 1e+09 USD/m3"),
    ("q", "1e308", "1e+308 is beyond the limit of 1000"),
    ("tau", ".nan", "nan is not a finite number (ms)"),
    ("elasticity", ".inf", "inf is not a finite number"),
    ("seed", "-1", "greater than or equal to 0"),
    ("ai_share", ".inf", "a share of the grids' demand"),
    ("operators", "100000", "a whole number of operators from 1 to 1,000"),
])
def test_sweep_axis_values_are_refused_up_front_naming_sweep_line_and_axis(tmp_path, axis, value, reason):
    write(tmp_path, TINY, "tiny.yaml")
    path = write(tmp_path, f"base: tiny.yaml\naxes:\n  policy: [cost-glb, se-glb]\n  {axis}: [1, {value}]\n", "sweep.yaml")
    with pytest.raises(InputError) as info:
        load_sweep(path)
    err = info.value
    assert (err.source, err.where) == (f"{path}:4", f"axes.{axis}.1"), err
    assert reason in err.reason, err


def test_sweep_axis_infinity_where_it_means_no_limit_is_kept(tmp_path):
    write(tmp_path, TINY, "tiny.yaml")
    sweep = load_sweep(write(tmp_path, "base: tiny.yaml\naxes: {tau: [50, .inf], q: [inf]}\n", "sweep.yaml"))
    assert sorted({run.params["tau"] for run in sweep.runs}) == [50.0, np.inf]


def test_cli_batch_refuses_an_inf_axis_value_before_writing(tmp_path):
    write(tmp_path, TINY, "tiny.yaml")
    path, out = write(tmp_path, "base: tiny.yaml\naxes: {mu_carbon: [100, .inf]}\n", "sweep.yaml"), tmp_path / "batch"
    code, _, err = cli("batch", str(path), "--out", str(out))
    assert refused_line(code, err).endswith("sweep.yaml:2: axes.mu_carbon.1: inf is not a finite number (USD/t)")
    assert not out.exists()


def test_a_sweep_of_too_many_runs_is_refused_before_expanding(tmp_path):
    write(tmp_path, TINY, "tiny.yaml")
    seeds = "[" + ", ".join(str(n) for n in range(400)) + "]"
    path = write(tmp_path, f"base: tiny.yaml\naxes: {{seed: {seeds}, q: {seeds.replace('0', '1')}}}\n", "sweep.yaml")
    with pytest.raises(InputError, match="160,000 combinations, more than the 100,000 runs one sweep may hold"):
        load_sweep(path)


# ============================================================ the solvers' boundary


@pytest.fixture(scope="module")
def tiny_instance(tmp_path_factory):
    return build_instance(load_scenario(write(tmp_path_factory.mktemp("tiny"), TINY)).with_hours(3))


@pytest.mark.parametrize("solve", [solve_offline, solve_online], ids=["offline", "online"])
def test_inf_injected_after_validation_is_named_at_the_solver_boundary(tiny_instance, solve):
    energy = tiny_instance.energy_kwh_per_request.copy()
    energy[1] = np.inf
    bad = dataclasses.replace(tiny_instance, energy_kwh_per_request=energy)
    with pytest.raises(SolverInputError, match=r"se-glb (offline|online): solver input: energy_kwh_per_request has inf "
                                               r"at model 1 \('large'\)$"):
        solve(bad, make_policy("se-glb", tiny_instance.weights))


def test_nan_signal_is_named_with_its_site_and_hour(tiny_instance):
    price = tiny_instance.price_usd_per_mwh.copy()
    price[1, 2] = np.nan
    with pytest.raises(SolverInputError, match=r"price_usd_per_mwh has nan at data center 1 \('Germany'\), "
                                               r"hour 2 \('2022-09-22 02:00 UTC'\)$"):
        solve_offline(dataclasses.replace(tiny_instance, price_usd_per_mwh=price), make_policy("cost-glb", tiny_instance.weights))


def test_finite_inputs_whose_product_overflows_are_named(tiny_instance):
    price = np.full_like(tiny_instance.price_usd_per_mwh, 1e308)  # finite; times kWh it is not
    overflowed = r"cost coefficient energy has inf at arc \d+, hour \d+ \(finite inputs whose product overflowed\)"
    with pytest.raises(SolverInputError, match=overflowed):
        solve_offline(dataclasses.replace(tiny_instance, price_usd_per_mwh=price), make_policy("cost-glb", tiny_instance.weights))


def test_a_valid_instance_passes_the_guard_and_solves(tiny_instance):
    sol = solve_offline(tiny_instance, make_policy("se-glb", tiny_instance.weights))
    assert np.isfinite(sol.objective_usd) and sol.objective_usd > 0


def test_cli_turns_a_solver_input_error_into_exit_1_and_one_line(tmp_path, monkeypatch, tiny_instance):
    import cosim.runner

    def corrupted(*args, **kwargs):
        inst = build_instance(*args, **kwargs)
        quality = inst.quality_score.copy()
        quality[0] = np.nan
        return dataclasses.replace(inst, quality_score=quality)

    monkeypatch.setattr(cosim.runner, "build_instance", corrupted)
    code, _, err = cli("run", str(write(tmp_path, TINY)), "--hours", "1", "--no-report", "--out", str(tmp_path / "out"))
    assert code == 1 and "Traceback" not in err, err
    assert err.strip().splitlines() == ["solver failure: cost-glb offline: solver input: quality_score has nan at model 0 ('small')"]


def test_dispatch_inputs_are_checked_finite():
    import pandapower.networks as pn

    from grids.opf import Dispatcher

    net = pn.case9()
    net.poly_cost["cp2_eur_per_mw2"] = 0.0  # an LP
    disp = Dispatcher(net, name="case9")
    load = np.full(len(disp._load_index), 50.0)
    load[1] = np.inf
    with pytest.raises(SolverInputError, match=r"case9: dispatch input load_mw has inf at element 1 "):
        disp.solve(load_mw=load)
    with pytest.raises(SolverInputError, match="case9: dispatch input load_scale is nan"):
        disp.solve(load_scale=float("nan"))
