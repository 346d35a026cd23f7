"""Issue 16, paths and names (docs/reliability.md, Paths; docs/scenarios.md, Paths):

* names that become folders (a scenario's or sweep's `name`, batch run ids) are folder
  names: nothing is written outside cosim-out/ or DIR/runs/;
* files a scenario names resolve inside the data dir or the scenario's folder (`extends:`
  and a sweep's `base:` inside the scenario's folder or the shipped scenarios) unless
  --allow-outside-paths; a symlink counts by where it points;
* a refusal never prints another file's content;
* a scenario path that does not exist is an error, never a shipped file of that name;
* names reach the terminal without control characters or rich markup.

Most checks run the CLI in this process (`cosim.cli.main` with its argv, stdout and stderr
captured): the same code as the `cosim` command, without a new interpreter's start-up;
one runs it as a real process, to see the bytes on the wire.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from cosim import cli
from cosim.errors import InputError
from cosim.grid_plan import grid_plan
from cosim.loaders import DataDir, dataset_path
from cosim.paths import default_out, is_folder_name
from cosim.scenario_files import load_scenario, resolve_scenario_path, shipped_scenarios_dir
from cosim.sweep import load_sweep
from cosim.terminal import safe, visible

SECRET = "SECRET-LINE-42"
SMALL = {
    "name": "small",
    "hours": 3,
    "policies": ["cost-glb"],
    "models": [{"name": "llm", "energy_wh_per_request": 2, "resources_per_request": 1, "quality_score": 0}],
    "datacenters": [{"name": "Virginia", "capacity_per_hour": 100000}, {"name": "Georgia", "capacity_per_hour": 100000}],
    "regions": [{"name": "r", "local_datacenter": "Virginia"}],
}
HOSTILE_NAMES = ["../../x", "/etc/x", "a/b", "..", ".", ".hidden", "a\x00b", "a\x1b[31mb", "", "x" * 101, "a b", "é"]
VA, GA = {"lat": 38.9, "lon": -77.0}, {"lat": 33.7, "lon": -84.4}
RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,99}$")


def scenario(folder: Path, file: str = "s.yaml", **fields) -> Path:
    """SMALL with *fields* on top, written to folder/file (YAML escapes control characters)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / file
    path.write_text(yaml.safe_dump({**SMALL, **fields}, allow_unicode=False, sort_keys=False))
    return path


def tree(root: Path) -> list[str]:
    """Every path under *root*, relative, sorted: what a refused command must leave as it was."""
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def run_cli(monkeypatch, capsys, cwd: Path, *args) -> tuple[int, str, str]:
    """`cosim ARGS` in *cwd*, in this process, without a data dir from the caller: (exit code,
    stdout, stderr)."""
    monkeypatch.chdir(cwd)
    monkeypatch.delenv("COSIM_DATA_DIR", raising=False)
    monkeypatch.setenv("COLUMNS", "250")
    monkeypatch.setattr(sys, "argv", ["cosim", *map(str, args)])
    code = 0
    try:
        cli.main()
    except SystemExit as exc:
        code = exc.code or 0
    out, err = capsys.readouterr()
    return code, out, err


def one_error_line(err: str, *parts: str) -> str:
    """The single `error:` line of a refusal, holding every *part*; no traceback."""
    assert "Traceback" not in err, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    for part in parts:
        assert part in lines[0], (part, lines[0])
    return lines[0]


def no_raw_controls(text: str) -> None:
    """No ESC, CR, BS, NUL or other control character besides newlines in *text*."""
    assert not re.search(r"[\x00-\x09\x0b-\x1f\x7f]", text), repr(text)


# ---------------------------------------------------------------- names that become folders


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_a_scenario_name_that_is_no_folder_name_is_refused_and_nothing_is_written(tmp_path, monkeypatch, capsys, name):
    path = scenario(tmp_path / "work", name=name)
    before = tree(tmp_path)
    code, _, err = run_cli(monkeypatch, capsys, tmp_path / "work", "run", path, "--no-report")
    assert code == 2
    one_error_line(err, f"{path}:1: name: ", "cannot name an output folder")
    no_raw_controls(err)
    assert tree(tmp_path) == before
    assert not Path("/etc/x").exists() and not (tmp_path.parent / "x").exists()


def test_frontier_refuses_a_bad_name_before_writing(tmp_path, monkeypatch, capsys):
    path = scenario(tmp_path, name="../../x")
    code, _, err = run_cli(monkeypatch, capsys, tmp_path, "frontier", path, "--tau", "20,50")
    assert code == 2
    one_error_line(err, "name: ", "cannot name an output folder")
    assert tree(tmp_path) == ["s.yaml"]


@pytest.mark.parametrize("file, body, says", [
    ("sweep.yaml", "name: ../../x\nbase: s.yaml\naxes: {seed: [1]}\n", "name: name '../../x' cannot name a folder"),
    ("my sweep.yaml", "base: s.yaml\naxes: {seed: [1]}\n", "name: the file name 'my sweep' cannot name a folder"),
])
def test_batch_refuses_a_sweep_name_that_is_no_folder_name(tmp_path, monkeypatch, capsys, file, body, says):
    scenario(tmp_path)
    (tmp_path / file).write_text(body)
    before = tree(tmp_path)
    code, _, err = run_cli(monkeypatch, capsys, tmp_path, "batch", tmp_path / file, "--workers", 1)
    assert code == 2
    one_error_line(err, says, "set name:" if "file name" in says else "")
    assert tree(tmp_path) == before


def test_default_out_stays_inside_cosim_out(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert default_out("paper10") == Path("cosim-out/paper10")
    assert default_out("paper10", suffix="-frontier") == Path("cosim-out/paper10-frontier")
    for name in HOSTILE_NAMES:
        with pytest.raises(InputError, match="cannot name an output folder"):
            default_out(name)
    (tmp_path / "cosim-out").mkdir()
    (tmp_path / "cosim-out" / "away").symlink_to(tmp_path.parent)  # a folder name, but a symlink out
    with pytest.raises(InputError, match="leads outside cosim-out"):
        default_out("away")


def test_run_ids_are_folder_names_whatever_the_mask_names(tmp_path):
    scenario(tmp_path)
    masks = {name: {"seed": n} for n, name in enumerate(["../../x", ".tmp-x", "..", "/etc/x", "a\x1bb", "[bold]m[/]", "-"])}
    (tmp_path / "sweep.yaml").write_text(yaml.safe_dump({"name": "hostile", "base": "s.yaml", "masks": masks,
                                                         "axes": {"mask": list(masks)}}))
    ids = [run.run_id for run in load_sweep(tmp_path / "sweep.yaml").runs]
    assert len(set(ids)) == len(masks)
    for run_id in ids:
        assert RUN_ID.match(run_id) and not run_id.startswith(".tmp-"), run_id
    assert ids[0].startswith("x_cost-glb_") and ids[1].startswith("tmp-x_cost-glb_"), ids
    assert ids[2].startswith("cost-glb_") and ids[3].startswith("etc-x_") and ids[4].startswith("a-b_"), ids


def test_a_batch_with_hostile_mask_names_writes_only_inside_its_folder(tmp_path, monkeypatch, capsys):
    scenario(tmp_path / "in", hours=2)
    masks = {"../../x": {"seed": 1}, "[bold red]m[/]": {"seed": 2}, "\x1b[31mred": {"seed": 3}}
    (tmp_path / "in" / "sweep.yaml").write_text(yaml.safe_dump({"name": "hostile", "base": "s.yaml", "masks": masks,
                                                               "axes": {"mask": list(masks)}}))
    before = tree(tmp_path)
    code, out, err = run_cli(monkeypatch, capsys, tmp_path / "in", "batch", "sweep.yaml", "--workers", 1)
    assert code == 0, err
    made = [p for p in tree(tmp_path) if p not in before]
    assert all(p.startswith("in/cosim-out") for p in made), made
    runs = sorted(p.name for p in (tmp_path / "in" / "cosim-out" / "hostile" / "runs").iterdir())
    assert len(runs) == 3 and all(RUN_ID.match(r) for r in runs), runs
    no_raw_controls(out + err)
    assert "[bold red]m[/]" in out and "\\x1b[31mred" in out  # the masks' names, shown as they are


# ---------------------------------------------------------------- data paths


@pytest.fixture
def places(tmp_path) -> dict[str, Path]:
    """scen/ (a scenario), data/ (the data dir) and outside/ holding a CSV whose first line is a secret."""
    folders = {name: tmp_path / name for name in ("scen", "data", "outside")}
    for folder in folders.values():
        folder.mkdir()
    (folders["outside"] / "secret.csv").write_text(f"{SECRET},other\nSECRET-2,x\n")
    (folders["data"] / "demand.csv").write_text("time,r\n2022-09-22T00:00Z,1\n")
    folders["source"] = scenario(folders["scen"])
    return folders


@pytest.mark.parametrize("name", [
    "../outside/secret.csv", "sub/../../outside/secret.csv", "ABSOLUTE", "link.csv", "../outside/nowhere.csv",
])
def test_a_file_outside_the_data_dir_and_the_scenario_folder_is_refused(places, name):
    (places["data"] / "link.csv").symlink_to(places["outside"] / "secret.csv")  # inside by name, outside by target
    name = str(places["outside"] / "secret.csv") if name == "ABSOLUTE" else name
    with pytest.raises(InputError) as info:
        dataset_path(places["data"], name, source=places["source"], where="demand.file")
    exc = info.value
    assert exc.source == str(places["source"]) and exc.where == "demand.file"
    assert f"'{name}' is outside the data dir {places['data']} and the scenario's folder {places['scen']}" in exc.reason
    assert "--allow-outside-paths" in exc.reason and SECRET not in str(exc)
    allowed = DataDir(places["data"], allow_outside=True)
    if "nowhere" not in name and "sub/" not in name:  # (data/sub/ does not exist: no path through it)
        assert dataset_path(allowed, name, source=places["source"]).resolve() == (places["outside"] / "secret.csv").resolve()


def test_paths_that_stay_inside_are_found(places):
    data, scen, source = places["data"], places["scen"], places["source"]
    (scen / "here.csv").symlink_to(data / "demand.csv")  # a symlink from one root into the other
    (data / "sub").mkdir()
    assert dataset_path(data, "sub/../demand.csv", source=source) == data / "sub/../demand.csv"
    assert dataset_path(data, str(data / "demand.csv"), source=source) == data / "demand.csv"
    assert dataset_path(data, "here.csv", source=source) == scen / "here.csv"
    # without a data dir, the scenario's folder is the only root
    with pytest.raises(InputError, match="is outside the scenario's folder"):
        dataset_path(None, "../data/demand.csv", source=source)


@pytest.mark.parametrize("name, says", [("a\x00b.csv", "control character"), ("a\x1b.csv", "control character"),
                                        ("", "non-empty"), ("  ", "non-empty")])
def test_a_file_name_with_control_characters_or_empty_is_refused(places, name, says):
    with pytest.raises(InputError, match=says) as info:
        dataset_path(places["data"], name, source=places["source"], where="signals.price_file")
    assert info.value.where == "signals.price_file"


@pytest.mark.parametrize("fields, where", [
    ({"demand": {"source": "csv", "file": "../outside/demand.csv"}}, "demand.file"),
    ({"signals": {"source": "csv", "price_file": "OUTSIDE", "carbon_file": "c.csv", "wue_file": "w.csv"}},
     "signals.price_file"),
    ({"signals": {"source": "eglb", "dataset": "../outside"}}, "signals.dataset"),
    ({"latency": {"source": "measured", "rtt_file": "OUTSIDE"}, "tiers": [{"name": "t", "tau_ms": 100}],
      "datacenters": [{**d, "location": VA} for d in SMALL["datacenters"]], "regions": [{**SMALL["regions"][0], "location": VA}]},
     "latency.rtt_file"),
    ({"datacenters": [{**SMALL["datacenters"][0], "weather_file": "../outside/demand.csv"}, SMALL["datacenters"][1]]},
     "datacenters.0.weather_file"),
])
def test_validate_refuses_every_file_field_leading_outside(places, monkeypatch, capsys, fields, where):
    (places["outside"] / "demand.csv").write_text("time,r\n2022-09-22T00:00Z,1\n2022-09-22T01:00Z,1\n2022-09-22T02:00Z,1\n")
    for key, value in list(fields.items()):
        text = yaml.safe_dump(value).replace("OUTSIDE", str(places["outside"] / "demand.csv"))
        fields[key] = yaml.safe_load(text)
    path = scenario(places["scen"], **fields)
    before = tree(places["scen"].parent)
    code, _, err = run_cli(monkeypatch, capsys, places["scen"], "validate", path, "--data-dir", places["data"])
    assert code == 2
    one_error_line(err, f"{path}: {where}: ", "is outside the data dir", "--allow-outside-paths")
    assert tree(places["scen"].parent) == before


def test_allow_outside_paths_lets_validate_read_a_file_outside(places, monkeypatch, capsys):
    (places["outside"] / "demand.csv").write_text("time,r\n" + "".join(f"2022-09-22T0{h}:00Z,{h + 1}\n" for h in range(3)))
    path = scenario(places["scen"], demand={"source": "csv", "file": "../outside/demand.csv"})
    code, _, err = run_cli(monkeypatch, capsys, places["scen"], "validate", path, "--data-dir", places["data"])
    assert code == 2 and "demand.file" in err
    code, out, err = run_cli(monkeypatch, capsys, places["scen"], "validate", path, "--data-dir", places["data"],
                             "--allow-outside-paths")
    assert code == 0, err
    assert "demand 6 requests" in out.replace("\n", " ")


@pytest.mark.parametrize("kind, where", [("balancing-area", "datacenters.0.grid.file"),
                                         ("pandapower", "datacenters.0.grid.file"),
                                         ("timeseries", "datacenters.0.grid.timeseries")])
def test_grid_files_leading_outside_are_refused(places, kind, where):
    (places["data"] / "net.json").write_text("{}")
    grid = {"balancing-area": {"kind": "balancing-area", "file": "../outside/secret.csv"},
            "pandapower": {"kind": "pandapower", "file": "../outside/secret.csv", "bus": 0},
            "timeseries": {"kind": "pandapower", "file": "net.json", "bus": 0, "timeseries": "../outside/secret.csv"}}[kind]
    dcs = [{**SMALL["datacenters"][0], "grid": grid}, SMALL["datacenters"][1]]
    spec = load_scenario(scenario(places["scen"], signals={"source": "grids"}, datacenters=dcs))
    with pytest.raises(InputError) as info:
        grid_plan(spec, data_dir=places["data"], source=places["source"])
    assert info.value.where == where and "is outside the data dir" in info.value.reason, str(info.value)


def test_extends_and_a_sweeps_base_stay_in_the_scenario_folder_or_the_shipped_scenarios(tmp_path):
    scenario(tmp_path / "outside", "base.yaml")
    (tmp_path / "scen").mkdir()
    child = tmp_path / "scen" / "child.yaml"
    child.write_text("extends: ../outside/base.yaml\nname: child\n")
    with pytest.raises(InputError) as info:
        load_scenario(child)
    assert info.value.where == "extends" and "'../outside/base.yaml' is outside the folder" in info.value.reason
    assert load_scenario(child, allow_outside=True).hours == 3
    (tmp_path / "scen" / "link.yaml").symlink_to(tmp_path / "outside" / "base.yaml")
    child.write_text("extends: link.yaml\nname: child\n")
    with pytest.raises(InputError, match="a symlink pointing elsewhere"):
        load_scenario(child)
    # a base in a subfolder may reach back up to the folder of the scenario named (the chain's root)
    scenario(tmp_path / "scen", "base.yaml")
    (tmp_path / "scen" / "sub").mkdir()
    (tmp_path / "scen" / "sub" / "mid.yaml").write_text("extends: ../base.yaml\nname: mid\n")
    child.write_text("extends: sub/mid.yaml\nname: child\n")
    assert load_scenario(child).name == "child"
    child.write_text(f"extends: {shipped_scenarios_dir() / 'paper10.yaml'}\nname: child\nhours: 3\n")
    assert load_scenario(child).hours == 3  # an absolute path into the shipped scenarios is inside
    # a missing path with a '/' is not the shipped file of that name
    child.write_text("extends: elsewhere/paper10.yaml\nname: child\n")
    with pytest.raises(InputError, match="'elsewhere/paper10.yaml' not found"):
        load_scenario(child)
    (tmp_path / "scen" / "sweep.yaml").write_text("base: ../outside/base.yaml\naxes: {seed: [1]}\n")
    with pytest.raises(InputError) as info:
        load_sweep(tmp_path / "scen" / "sweep.yaml")
    assert info.value.where == "base" and "is outside the folder" in info.value.reason
    assert len(load_sweep(tmp_path / "scen" / "sweep.yaml", allow_outside=True).runs) == 1


# ---------------------------------------------------------------- no other file's content


def test_a_refusal_never_prints_the_file_it_read(places, monkeypatch, capsys):
    """The secret's file is named in each field, outside (allowed) and inside the data dir."""
    (places["data"] / "secret.csv").write_text((places["outside"] / "secret.csv").read_text())
    (places["data"] / "binary.csv").write_bytes(bytes(range(256)) * 4)
    secret = str(places["outside"] / "secret.csv")
    cases = {
        "demand.file": {"demand": {"source": "csv", "file": secret}},
        "signals.price_file": {"signals": {"source": "csv", "price_file": "secret.csv", "carbon_file": secret,
                                           "wue_file": secret}},
        "latency.rtt_file": {"latency": {"source": "measured", "rtt_file": secret}, "tiers": [{"name": "t", "tau_ms": 100}],
                             "datacenters": [{**d, "location": VA} for d in SMALL["datacenters"]],
                             "regions": [{**SMALL["regions"][0], "location": VA}]},
        "weather_file": {"datacenters": [{**SMALL["datacenters"][0], "weather_file": secret}, SMALL["datacenters"][1]]},
        "binary": {"demand": {"source": "csv", "file": "binary.csv"}},
        "extends": {"extends": secret},
    }
    for label, fields in cases.items():
        path = scenario(places["scen"], f"{label}.yaml", **fields)
        code, out, err = run_cli(monkeypatch, capsys, places["scen"], "validate", path, "--data-dir", places["data"],
                                 "--allow-outside-paths")
        assert code == 2, (label, err)
        one_error_line(err)
        assert SECRET not in out + err and "SECRET-2" not in out + err, (label, err)
        no_raw_controls(err)


def test_an_eia930_file_that_is_not_one_is_refused_without_its_header(places):
    from grids.eia930 import read_generation_by_fuel

    (places["data"] / "ba.csv").write_text(f"timestamp,{SECRET}\n2022-09-22T00:00Z,1\n")
    with pytest.raises(InputError) as info:
        read_generation_by_fuel(places["data"] / "ba.csv", source="ba.csv")
    assert "no fuel column" in str(info.value) and SECRET not in str(info.value)


# ---------------------------------------------------------------- a scenario path must exist


def test_a_missing_scenario_path_is_an_error_not_the_shipped_file(tmp_path, monkeypatch, capsys):
    for arg in ("nonexistent/paper10.yaml", "paper10.yaml", "./paper10"):
        code, _, err = run_cli(monkeypatch, capsys, tmp_path, "run", arg, "--no-report")
        assert code == 2, (arg, err)
        one_error_line(err, f"error: {Path(arg)}: file: not found", "never replaced by a shipped file")
    code, _, err = run_cli(monkeypatch, capsys, tmp_path, "run", "no_such_scenario", "--no-report")
    assert code == 2
    one_error_line(err, "no_such_scenario: file: not found (neither a path nor a shipped scenario; shipped: ")
    assert tree(tmp_path) == []
    assert resolve_scenario_path("paper10") == shipped_scenarios_dir() / "paper10.yaml"
    (tmp_path / "paper10.yaml").write_text("x")
    assert resolve_scenario_path("paper10.yaml") == Path("paper10.yaml")  # the file here, as given


# ---------------------------------------------------------------- names on the terminal


def test_safe_and_visible():
    assert visible("a\x1b[31mb\r\b\x00\t\n\x7f\u202e") == "a\\x1b[31mb\\r\\b\\x00\\t\\n\\x7f\\u202e"
    assert safe("[bold red]x[/] [link=http://e]y[/link]") == "\\[bold red]x\\[/] \\[link=http://e]y\\[/link]"
    assert safe(Path("a\x1b")) == "a\\x1b"
    assert is_folder_name("paper10-frontier") and not is_folder_name(".tmp-x")


HOSTILE = {
    "datacenters": [{"name": "[bold red]x[/]", "signal_site": "Virginia", "capacity_per_hour": 100000, "location": VA},
                    {"name": "Georgia", "capacity_per_hour": 100000, "location": GA}],
    "regions": [{"name": "\x1b[31mred\x1b[0m", "local_datacenter": "[bold red]x[/]", "location": VA},
                {"name": "[link=http://evil]r[/link]", "local_datacenter": "Georgia", "location": GA}],
    "tiers": [{"name": "t\x1b]8;;http://evil\x07", "tau_ms": 1000}],
}


def test_masks_run_and_compare_print_names_escaped(tmp_path, monkeypatch, capsys):
    path = scenario(tmp_path, **HOSTILE)
    code, out, err = run_cli(monkeypatch, capsys, tmp_path, "masks", path)
    assert code == 0, err
    no_raw_controls(out + err)
    for shown in ("[bold red]x[/]", "\\x1b[31mred\\x1b[0m", "[link=http://evil]r[/link]", "t\\x1b]8;;http://evil\\x07"):
        assert shown in out, (shown, out)
    out_dir = tmp_path / "[red]o[/red]"
    code, out, err = run_cli(monkeypatch, capsys, tmp_path, "run", path, "--no-report", "--out", out_dir)
    assert code == 0, err
    no_raw_controls(out + err)
    assert f"outputs written to {out_dir}/" in out.replace("\n", "")
    code, out, err = run_cli(monkeypatch, capsys, tmp_path, "compare", out_dir, out_dir)
    assert code == 0, err
    assert "[red]o[/red]" in out
    # a refusal naming a hostile name: one line, escaped
    bad = scenario(tmp_path, "bad.yaml", **{**HOSTILE, "mask": {"deny": {"\x1b[31mred\x1b[0m": ["[nope]"]}}})
    code, _, err = run_cli(monkeypatch, capsys, tmp_path, "validate", bad)
    assert code == 2
    one_error_line(err, "mask.deny.\\x1b[31mred\\x1b[0m", "unknown data center '[nope]'")
    no_raw_controls(err)


def test_the_cosim_process_writes_no_raw_escape_byte(tmp_path):
    """The real command: stdout and stderr bytes hold no ESC from the names."""
    path = scenario(tmp_path, **HOSTILE)
    env = {k: v for k, v in os.environ.items() if k != "COSIM_DATA_DIR"} | {"COLUMNS": "250"}
    proc = subprocess.run([sys.executable, "-m", "cosim.cli", "masks", str(path)], cwd=tmp_path, env=env,
                          capture_output=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert b"\x1b" not in proc.stdout + proc.stderr and b"\x07" not in proc.stdout
    assert b"\\x1b[31mred" in proc.stdout and b"[bold red]x[/]" in proc.stdout
