"""`cosim generate world` (cosim/world.py): the same arguments give the same bytes, the
sizes asked for, a scenario that validates and runs with its demand accounted for, and
bad arguments refused with exit 2 and one line."""
from __future__ import annotations

import contextlib
import io
import json
import math
import os
import sys
from dataclasses import dataclass

import pandas as pd
import pytest

from cosim import world
from cosim.errors import InputError
from cosim.grid_plan import grid_plan
from cosim.instance import build_instance
from cosim.plausibility import BOUNDS
from cosim.scenario_files import load_scenario
from grids.geo import great_circle_km

HOURS = 6


@dataclass
class _Ran:
    returncode: int
    stdout: str
    stderr: str


def _cosim(*args) -> _Ran:
    """`cosim ARGS` through cosim.cli.main in this process (its exit code and both streams;
    the command's imports are paid once), without a data dir from the caller."""
    from cosim import cli

    out, err = io.StringIO(), io.StringIO()
    saved = sys.argv, os.environ.pop("COSIM_DATA_DIR", None)
    sys.argv = ["cosim", *map(str, args)]
    code = 0
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            cli.main()
    except SystemExit as exc:
        code = exc.code
    finally:
        sys.argv = saved[0]
        if saved[1] is not None:
            os.environ["COSIM_DATA_DIR"] = saved[1]
    return _Ran(code, out.getvalue(), err.getvalue())


def _one_error_line(proc: _Ran, *parts: str) -> None:
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    for part in parts:
        assert part in lines[0], (part, lines[0])


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """`cosim generate world --sites 3 --regions 4 --hours 6 --seed 7` into two folders."""
    base = tmp_path_factory.mktemp("world")
    for name in ("a", "b"):
        proc = _cosim("generate", "world", "--sites", 3, "--regions", 4, "--hours", HOURS, "--seed", 7,
                      "--out", base / name)
        assert proc.returncode == 0, proc.stderr
        assert "world written to" in proc.stdout
    return base


def test_same_arguments_give_the_same_bytes(generated, tmp_path):
    for file in ("world.yaml", "manifest.json"):
        assert (generated / "a" / file).read_bytes() == (generated / "b" / file).read_bytes()
    # in-process, the same text as the command's; another seed, another world
    world.write_world(tmp_path / "c", 3, 4, HOURS, seed=7)
    assert (tmp_path / "c" / "world.yaml").read_bytes() == (generated / "a" / "world.yaml").read_bytes()
    world.write_world(tmp_path / "d", 3, 4, HOURS, seed=8)
    assert (tmp_path / "d" / "world.yaml").read_bytes() != (generated / "a" / "world.yaml").read_bytes()
    # an earlier generated world may be replaced (same bytes again)
    world.write_world(tmp_path / "c", 3, 4, HOURS, seed=7)
    assert (tmp_path / "c" / "world.yaml").read_bytes() == (generated / "a" / "world.yaml").read_bytes()


@pytest.mark.parametrize(("sites", "regions"), [(3, 4), (23, 12), (1, 1)])
def test_sizes_are_honoured_and_plausible(tmp_path, sites, regions):
    path = world.write_world(tmp_path / "w", sites, regions, 24, seed=3)
    spec = load_scenario(path)
    assert [dc.name for dc in spec.datacenters] == [f"dc{i:03d}" for i in range(1, sites + 1)]
    assert [r.name for r in spec.regions] == [f"reg{i:03d}" for i in range(1, regions + 1)]
    assert spec.hours == 24 and spec.seed == 3 and spec.signals.source == "grids"
    assert [m.name for m in spec.models] == ["llama2-7b", "llama2-13b", "llama2-70b"]
    assert [t.name for t in spec.tiers] == ["interactive", "standard", "batch"]
    # capacity 1.5x (rounded up per site) the sum of the regions' daily peaks in server-seconds
    peak = sum(r.demand_weight for r in spec.regions) * spec.demand.requests_per_hour * spec.demand.peak_to_mean
    ratio = sum(dc.capacity for dc in spec.datacenters) / (peak * sum(m.resources_per_request for m in spec.models) / 3)
    assert 1.5 <= ratio <= 1.5 + sites * 3600 / (peak * 0.948)
    assert all(1.0 <= dc.pue <= BOUNDS["pue"].high for dc in spec.datacenters)
    assert all(abs(r.utc_offset_h) <= 12 and 0.5 <= r.demand_weight <= 2.0 for r in spec.regions)
    # every data center on a shipped net that holds its site; several per net when N > 10
    plan = grid_plan(spec, source=path)
    on = {site for sites_ in plan.shipped.values() for site in sites_}
    assert {dc.site for dc in spec.datacenters} == on
    assert len(on) == min(sites, 10)
    # regions are homed at the data center nearest to them: within two jitters of one site
    where = {dc.name: dc.location for dc in spec.datacenters}
    for r in spec.regions:
        home = where[r.local_datacenter]
        km = great_circle_km(r.location.lat, r.location.lon, home.lat, home.lon)
        assert km <= min(great_circle_km(r.location.lat, r.location.lon, d.lat, d.lon) for d in where.values())
        assert km < 2 * math.hypot(world.SITE_JITTER_DEG, world.SITE_JITTER_DEG) * 111.2


def test_regions_spread_over_time_zones():
    data = world.world_scenario(10, 20, 6, seed=1)
    offsets = {r["utc_offset_h"] for r in data["regions"]}
    assert offsets == {-7, -5, -4, 2, 8, 9}
    lons = [r["location"]["lon"] for r in data["regions"]]
    assert min(lons) < -100 and max(lons) > 130


def test_the_world_validates_and_runs_with_demand_accounted_for(generated):
    path = generated / "a" / "world.yaml"
    check = _cosim("validate", path)
    assert check.returncode == 0, check.stderr
    assert "3 data centers, 4 user regions x 3 tiers, 3 models, 6 hours" in check.stdout
    out = generated / "run"
    proc = _cosim("run", path, "--hours", HOURS, "--no-report", "--policy", "cost-glb", "--out", out)
    assert proc.returncode == 0, proc.stderr
    summary = json.loads((out / "summary.json").read_text())
    m = summary["policies"]["cost-glb"]
    demand = sum(t["demand_requests"] for t in m["per_tier"].values())
    assert m["served_requests"] + m["unserved_requests"] == pytest.approx(demand, rel=1e-9)
    frame = pd.read_parquet(out / "cost-glb" / "demand.parquet")  # one row per (time, user_region, tier)
    assert frame["time"].nunique() == HOURS and set(frame["user_region"]) == {"reg001", "reg002", "reg003", "reg004"}
    assert frame["requests"].sum() == pytest.approx(demand, rel=1e-9)
    assert frame["unserved"].sum() == pytest.approx(m["unserved_requests"], rel=1e-9, abs=1e-6)
    # 4 regions of weight w at 250,000 requests per hour on a cosine day: 6 h lie between
    # 6 x 250,000 x sum(w) x (1 - 0.5) and 6 x 250,000 x sum(w) x 1.5
    weights = sum(r.demand_weight for r in load_scenario(path).regions)
    assert 0.5 * HOURS * 250_000 * weights < demand < 1.5 * HOURS * 250_000 * weights
    assert m["per_datacenter"].keys() == {"dc001", "dc002", "dc003"}


@pytest.mark.parametrize(("args", "where"), [
    ((0, 4, 6), "--sites: value 0"),
    ((3, 0, 6), "--regions: value 0"),
    ((3, 4, 0), "--hours: value 0"),
    ((3, 4, 87_601), "--hours: value 87601"),
    ((3, 4, 458), "--signals synthetic"),
])
def test_bad_sizes_are_refused(tmp_path, args, where):
    with pytest.raises(InputError, match=where.replace("-", r"\-")):
        world.write_world(tmp_path / "w", *args, signals="synthetic" if args[2] == 87_601 else "grids")
    assert not (tmp_path / "w").exists()


def test_a_long_horizon_needs_synthetic_signals(tmp_path):
    path = world.write_world(tmp_path / "w", 12, 2, 8760, signals="synthetic")
    spec = load_scenario(path)
    assert spec.hours == 8760 and spec.signals.source == "synthetic"
    assert all(dc.grid is None for dc in spec.datacenters)
    assert math.isinf(spec.tiers[2].tau_ms)
    inst = build_instance(spec.with_hours(48), source=path)  # two data centers per site share its signals
    assert inst.shape[0] == 12 and inst.shape[3] == 48


def test_the_command_refuses_with_one_line_and_writes_nothing(tmp_path):
    _one_error_line(_cosim("generate", "world", "--sites", 0, "--regions", 4, "--hours", 6, "--out", tmp_path / "w"),
                   "--sites: value 0: give at least 1 data center")
    assert not (tmp_path / "w").exists()
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("mine")
    _one_error_line(_cosim("generate", "world", "--sites", 3, "--regions", 4, "--hours", 6, "--out", tmp_path / "mine"),
                   "output folder", "not an output of gridshift")
    assert [p.name for p in (tmp_path / "mine").iterdir()] == ["notes.txt"]


# --- shipped worlds: residency rules and capacity per country ---------------------------

def test_shipped_worlds_have_residency_rules_and_capacity_per_country():
    data = world.world_scenario(10, 3, 6, seed=4)  # users at Virginia, Belgium, Singapore only
    assert data["mask"]["rules"] == [
        {"name": "eu-data-residency", "kind": "jurisdiction", "jurisdiction": "EU"},
        {"name": "interactive-in-country", "kind": "same-country", "tiers": ["interactive"]}]
    per_weight = world.REQUESTS_PER_HOUR * world.PEAK_TO_MEAN * sum(m["resources_per_request"] for m in world.MODELS) / 3
    for country in {r["country"] for r in data["regions"]}:  # each country's users fit in its own sites, 1.5x
        peak = sum(r["demand_weight"] for r in data["regions"] if r["country"] == country) * per_weight / 3600
        servers = sum(dc["servers"] for dc in data["datacenters"] if dc["country"] == country)
        assert 1.5 * peak <= servers <= 1.5 * peak + 4
    idle = [dc["servers"] for dc in data["datacenters"] if dc["country"] in {"DE", "JP", "NL", "DK"}]  # no users there
    served = [dc["servers"] for dc in data["datacenters"] if dc["country"] in {"US", "BE", "SG"}]
    assert len(idle) == 4 and all(abs(n - sum(served) / len(served)) <= 1 for n in idle)
    assert "mask" not in world.world_scenario(1, 2, 6)  # one site: no rule restricts anything


# --- balancing-area worlds (the shared data dir's eia930/ files) -------------------------

BA_ARGS = ("--sites", 5, "--regions", 6, "--hours", HOURS, "--seed", 2, "--grids", "balancing-areas")


@pytest.fixture(scope="module")
def ba_generated(data_dir, tmp_path_factory):
    """`cosim generate world --sites 5 --regions 6 --hours 6 --seed 2 --grids balancing-areas`, twice."""
    base = tmp_path_factory.mktemp("ba_world")
    for name in ("a", "b"):
        proc = _cosim("generate", "world", *BA_ARGS, "--data-dir", data_dir, "--out", base / name)
        assert proc.returncode == 0, proc.stderr
        assert "grids balancing-areas" in proc.stdout
    return base


def test_balancing_area_world_same_bytes_and_every_file_a_grid(ba_generated, data_dir):
    from grids.ba_locations import ba_location

    a, b = ba_generated / "a" / "world.yaml", ba_generated / "b" / "world.yaml"
    assert a.read_bytes() == b.read_bytes()
    assert a.read_text().startswith("# cosim generate world --sites 5 --regions 6 --hours 6 --seed 2 "
                                    "--grids balancing-areas --data-dir DATA_DIR\n")  # no machine path in the file
    spec = load_scenario(a)
    assert spec.start == pd.Timestamp(world.BA_START) and spec.hours == HOURS and spec.signals.source == "grids"
    files = sorted(p.name for p in (data_dir / "eia930").glob("*.csv"))
    assert len(files) >= 1
    for k, dc in enumerate(spec.datacenters):  # round-robin over the files, by name
        name = files[k % len(files)]
        assert dc.grid.kind == "balancing-area" and dc.grid.file == f"eia930/{name}"
        where = ba_location(name.removesuffix(".csv"), source=name)
        assert dc.site == name.removesuffix(".csv").upper() and dc.country == "US"
        assert abs(dc.location.lat - where["lat"]) <= world.SITE_JITTER_DEG + 1e-9
        assert abs(dc.location.lon - where["lon"]) <= world.SITE_JITTER_DEG + 1e-9
        assert dc.weather_file.startswith("weather/") and (data_dir / dc.weather_file).is_file()
    used = [files[k % len(files)].removesuffix(".csv") for k in range(min(5, len(files)))]
    assert {r.utc_offset_h for r in spec.regions} == {ba_location(c, source=c)["utc_offset_h"] for c in used}
    plan = grid_plan(spec, data_dir=data_dir, source=a)
    assert sorted(name for name, _, _ in plan.balancing_areas.values()) == sorted(used)


def test_balancing_area_world_validates_and_runs_with_demand_accounted_for(ba_generated, data_dir):
    path = ba_generated / "a" / "world.yaml"
    check = _cosim("validate", path, "--data-dir", data_dir)
    assert check.returncode == 0, check.stderr
    assert f"5 data centers, 6 user regions x 3 tiers, 3 models, {HOURS} hours from 2022-01-01 00:00 UTC" in check.stdout
    out = ba_generated / "run"
    proc = _cosim("run", path, "--data-dir", data_dir, "--mode", "online", "--coupling", "lagged", "--policy", "se-glb",
                  "--hours", HOURS, "--no-report", "--out", out)
    assert proc.returncode == 0, proc.stderr
    demand = pd.read_parquet(out / "se-glb" / "demand.parquet")
    served = pd.read_parquet(out / "se-glb" / "allocations.parquet")
    assert served["datacenter"].nunique() >= 2 and demand["time"].nunique() == HOURS
    keys = ["time", "user_region"]
    per = demand.groupby(keys, observed=True)[["requests", "unserved"]].sum().join(
        served.groupby(keys, observed=True)["requests"].sum().rename("served"), how="left").fillna({"served": 0.0})
    assert len(per) == 6 * HOURS
    assert (per["served"] + per["unserved"]).to_numpy() == pytest.approx(per["requests"].to_numpy(), rel=1e-6)
    assert per["requests"].min() > 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["policies"]["se-glb"]["unserved_requests"] == pytest.approx(per["unserved"].sum(), abs=1e-6)


def test_balancing_area_world_takes_any_horizon_the_files_cover(data_dir):
    data = world.world_scenario(2, 2, 8760, grids="balancing-areas", data_dir=data_dir)
    assert data["hours"] == 8760 and data["start"] == "2022-01-01T00:00:00Z"
    later = world.world_scenario(2, 2, 48, grids="balancing-areas", data_dir=data_dir, start="2022-07-11T00:00Z")
    assert later["start"] == "2022-07-11T00:00:00Z"
    with pytest.raises(InputError, match=r"eia930/\w+\.csv: time: covers 2022-01-01 00:00 to 2022-12-31 23:00 UTC"):
        world.world_scenario(2, 2, 8761, grids="balancing-areas", data_dir=data_dir)
    with pytest.raises(InputError, match="covers"):
        world.world_scenario(2, 2, 48, grids="balancing-areas", data_dir=data_dir, start="2022-12-31T00:00Z")


def _tiny_ba_file(path):
    hours = pd.date_range("2022-01-01", periods=48, freq="h", tz="UTC")
    frame = pd.DataFrame({"timestamp": hours, "NG": 500.0, "NUC": 200.0, "WND": 50.0})
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False)


@pytest.mark.parametrize(("extra", "parts"), [
    (("--grids", "pipes"), ("--grids: value 'pipes'", "shipped, balancing-areas")),
    (("--grids", "balancing-areas", "--signals", "synthetic"), ("--grids", "need --signals grids")),
    (("--grids", "balancing-areas"), ("--data-dir: not given",)),
    (("--grids", "balancing-areas", "--data-dir", "{empty}"), ("holds no EIA-930 files (eia930/*.csv)",)),
    (("--grids", "balancing-areas", "--data-dir", "{unknown}"), ("ZZZZ.csv: file name", "'ZZZZ' is not an EIA-930")),
    (("--grids", "balancing-areas", "--data-dir", "{short}"), ("AZPS.csv: time: covers 2022-01-01 00:00 to 2022-01-02 23:00 UTC",)),
    (("--start", "2022-09-23 05:00"), ("--start", "with its zone")),
    (("--start", "2022-10-10T20:00Z"), ("--start: value 2022-10-10T20:00Z", "the shipped nets hold 457 hours")),
    (("--start", "2022-09-01T00:00Z"), ("--start: value 2022-09-01T00:00Z", "--grids balancing-areas for another")),
    (("--start", "2022-09-23T00:30Z"), ("--start", "a whole UTC hour")),
])
def test_bad_grid_options_are_refused_with_one_line(tmp_path, extra, parts):
    folders = {"empty": tmp_path / "empty", "unknown": tmp_path / "unknown", "short": tmp_path / "short"}
    folders["empty"].mkdir()
    _tiny_ba_file(folders["unknown"] / "eia930" / "ZZZZ.csv")
    _tiny_ba_file(folders["short"] / "eia930" / "AZPS.csv")
    args = [a.format(**folders) if isinstance(a, str) else a for a in extra]
    hours = 240 if "{short}" in extra else 6
    proc = _cosim("generate", "world", "--sites", 3, "--regions", 4, "--hours", hours, *args, "--out", tmp_path / "w")
    _one_error_line(proc, *parts)
    assert not (tmp_path / "w").exists()
