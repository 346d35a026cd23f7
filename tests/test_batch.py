"""Batch runs on Dask (cosim.batch, `cosim batch`): real clusters, real runs, no mocks.

- a small sweep on a LocalCluster of 2 workers: one catalog row per run, metrics equal to a
  direct run_scenario call of the same parameters, the run output contract in each folder;
- a rerun skips every completed run (no new work, the same rows);
- a failing run is recorded with its error while the others complete;
- a real `dask scheduler` and two `dask worker`s on loopback: the sweep through --scheduler,
  and a worker killed mid-sweep (the sweep still completes, every row ok);
- an unreachable scheduler: exit 2, one line, nothing written; one that accepts TCP and
  never answers: the same within the documented timeout (measured), and one that stops
  answering mid-sweep ends the batch within HEARTBEAT_S + CALL_TIMEOUT_S;
- "done" means the run's manifest verifies: a truncated summary.json or Parquet file is run
  again (its catalog row replaced); a mask named `.tmp-x` keeps its run across reruns.
"""
from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import textwrap
import time
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
import pytest

from cosim import batch as batch_module
from cosim.batch import dask_client, pending, run_batch
from cosim.catalog import CATALOG, HEADLINE, Catalog, read_runs
from cosim.errors import InputError
from cosim.folder_transaction import is_temporary
from cosim.manifest import verify
from cosim.runner import run_scenario
from cosim.scenario_files import load_scenario
from cosim.sweep import load_sweep
from tests.test_cli import assert_bad_input, cosim

REPO_ROOT = Path(__file__).resolve().parents[1]
PAPER10 = REPO_ROOT / "scenarios" / "paper10.yaml"
HOURS = 2
METRICS = [name for name, _ in HEADLINE]
DASK = Path(sys.executable).with_name("dask")


def write_sweep(folder: Path, body: str, name: str = "sweep.yaml") -> Path:
    path = folder / name
    path.write_text(f"base: paper10\nhours: {HOURS}\n" + textwrap.dedent(body))
    return path


def batch(*args, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "COSIM_DATA_DIR"}
    return subprocess.run([sys.executable, "-m", "cosim.cli", "batch", *map(str, args)], check=False, cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)


def said(text: str) -> str:
    """Console output with line wrapping undone."""
    return " ".join(text.split())


def catalog_rows(out: Path) -> pd.DataFrame:
    return read_runs(out).set_index("run_id").sort_index()


def tmp_dirs(out: Path) -> list[str]:
    """The temporary folders of runs under way (cosim.folder_transaction's names)."""
    return sorted(p.name for p in (out / "runs").iterdir() if is_temporary(p.name))


# ======================================================================== LocalCluster


@pytest.fixture(scope="module")
def local_batch(tmp_path_factory):
    """`cosim batch` of two masks x two policies, 2 hours, on a LocalCluster of 2 workers."""
    folder = tmp_path_factory.mktemp("local-batch")
    sweep = write_sweep(folder, """
        masks:
          latency-only: {}
          eu-residency: {mask: {rules: [{kind: jurisdiction, jurisdiction: EU}]}}
        axes:
          mask: [latency-only, eu-residency]
          policy: [nearest, cost-glb]
    """)
    out = folder / "out"
    proc = batch(sweep, "--workers", 2, "--out", out, cwd=folder)
    return sweep, out, proc


def test_local_batch_records_one_ok_row_per_run_with_its_outputs(local_batch):
    sweep_path, out, proc = local_batch
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "4 run(s): 4 ran (4 ok, 0 failed), 0 skipped" in said(proc.stdout)
    sweep = load_sweep(sweep_path)
    rows = catalog_rows(out)
    assert sorted(rows.index) == sorted(r.run_id for r in sweep.runs)
    assert (rows["status"] == "ok").all() and rows["error"].isna().all()
    assert list(rows.loc[[r.run_id for r in sweep.runs], ["mask", "policy"]].itertuples(index=False, name=None)) == [
        ("latency-only", "nearest"), ("latency-only", "cost-glb"), ("eu-residency", "nearest"), ("eu-residency", "cost-glb")]
    assert (rows["sweep"] == "sweep").all() and (rows["hours"] == HOURS).all() and (rows["mode"] == "offline").all()
    assert rows["q"].isna().all()  # not swept
    assert (rows["wall_s"] > 0).all() and (rows["finished_at"] >= rows["started_at"]).all()
    assert str(rows["started_at"].dtype) == "datetime64[us, UTC]"
    assert rows["worker"].str.startswith("tcp://127.0.0.1:").all()
    assert tmp_dirs(out) == []
    for run in sweep.runs:
        folder = out / "runs" / run.run_id
        assert rows.loc[run.run_id, "output"] == f"runs/{run.run_id}"
        summary = json.loads((folder / "summary.json").read_text())
        assert list(summary["policies"]) == [run.policy] and summary["hours"] == HOURS
        for table in ("allocations", "sites", "demand"):
            assert (folder / run.policy / f"{table}.parquet").is_file()
        described = json.loads((folder / "run.json").read_text())
        assert described["run_id"] == run.run_id and described["params"]["policy"] == run.policy
        # the catalog's headline columns are the run's own summary.json
        metrics = summary["policies"][run.policy]
        assert rows.loc[run.run_id, "energy_cost_usd"] == pytest.approx(metrics["energy_cost_usd"]["total"], rel=1e-12)
        assert rows.loc[run.run_id, "carbon_consequential_t"] == pytest.approx(
            metrics["grid_feedback"]["emissions_consequential_t"], rel=1e-12)


def test_local_batch_metrics_equal_a_direct_run(local_batch):
    sweep_path, out, _ = local_batch
    rows = catalog_rows(out)
    run = next(r for r in load_sweep(sweep_path).runs if r.params["mask"] == "eu-residency" and r.policy == "cost-glb")
    scenario = load_scenario(REPO_ROOT / "scenarios" / "eu_residency.yaml").with_hours(HOURS)
    direct = run_scenario(scenario, policies=["cost-glb"]).metrics["cost-glb"]
    expected = {
        "energy_cost_usd": direct["energy_cost_usd"]["total"],
        "energy_cost_max_avg": direct["energy_cost_usd"]["max_avg"],
        "carbon_attributional_t": direct["grid_feedback"]["emissions_attributional_t"],
        "carbon_consequential_t": direct["grid_feedback"]["emissions_consequential_t"],
        "carbon_max_avg": direct["carbon_t"]["max_avg"],
        "water_m3": direct["water_m3"]["total"],
        "water_max_avg": direct["water_m3"]["max_avg"],
        "perf_cost_max_avg": direct["perf_cost"]["max_avg"],
        "rid": direct["rid"],
        "unserved_requests": direct["unserved_requests"],
    }
    got = rows.loc[run.run_id]
    for column, value in expected.items():
        assert got[column] == pytest.approx(value, rel=1e-6, abs=1e-9), column
    assert got["rid"] > 0  # cost-glb relocates even under the EU rule: the comparison is not vacuous


def test_rerun_skips_completed_runs_and_keeps_the_rows(local_batch):
    sweep, out, first = local_batch
    assert first.returncode == 0, first.stderr
    before = catalog_rows(out)
    stamps = {p: p.stat().st_mtime_ns for p in (out / "runs").rglob("*")}
    t0 = time.perf_counter()
    proc = batch(sweep, "--workers", 2, "--out", out, cwd=out.parent)
    assert proc.returncode == 0, proc.stderr
    assert "4 run(s): 0 ran (0 ok, 0 failed), 4 skipped as done before; nothing to run" in said(proc.stdout)
    pd.testing.assert_frame_equal(catalog_rows(out), before)
    assert {p: p.stat().st_mtime_ns for p in (out / "runs").rglob("*")} == stamps
    assert time.perf_counter() - t0 < 30  # no cluster started for nothing


def test_report_of_the_local_batch(local_batch):
    _, out, first = local_batch
    assert first.returncode == 0, first.stderr
    proc = cosim("report", out, cwd=out.parent)
    assert proc.returncode == 0, proc.stderr
    comparison = pd.read_csv(out / "report" / "comparison.csv")
    rows = catalog_rows(out)
    assert list(comparison[["mask", "policy", "n_runs"]].itertuples(index=False, name=None)) == [
        ("latency-only", "nearest", 1), ("latency-only", "cost-glb", 1), ("eu-residency", "nearest", 1), ("eu-residency", "cost-glb", 1)]
    for r in comparison.itertuples():
        match = rows[(rows["mask"] == r.mask) & (rows["policy"] == r.policy)].iloc[0]
        assert r.energy_cost_usd == pytest.approx(match["energy_cost_usd"], rel=1e-12)
        assert r.carbon_consequential_t == pytest.approx(match["carbon_consequential_t"], rel=1e-12)
    for name in ("report.md", "runs.csv", "equity.png", "energy_cost.png", "carbon.png", "rid.png"):
        assert (out / "report" / name).stat().st_size > 0, name


def test_a_failing_run_is_recorded_with_its_error_and_the_others_complete(tmp_path):
    sweep = load_sweep(write_sweep(tmp_path, """
        masks:
          fine: {}
          broken: {demand: {source: csv, file: no-such-demand.csv}}
        axes:
          mask: [fine, broken]
          policy: [nearest]
    """))
    out = tmp_path / "out"
    seen = []
    with dask_client(workers=1) as client, Catalog(out) as catalog:
        result = run_batch(sweep, out, client, catalog, data_dir=tmp_path, on_done=seen.append)
    assert [r["status"] for r in seen] == [r["status"] for r in result.rows] and len(seen) == 2
    rows = catalog_rows(out)
    fine, broken = (rows.loc[r.run_id] for r in sweep.runs)
    assert fine["status"] == "ok" and fine["energy_cost_usd"] > 0
    assert broken["status"] == "failed"
    assert broken["error"].startswith("InputError: ") and "no-such-demand.csv" in broken["error"], broken["error"]
    assert pd.isna(broken["energy_cost_usd"]) and pd.isna(broken["output"])
    assert broken["wall_s"] > 0 and broken["finished_at"] >= broken["started_at"]
    assert sorted(p.name for p in (out / "runs").iterdir()) == [sweep.runs[0].run_id]  # nothing half-written


@pytest.mark.slow
def test_ctrl_c_keeps_completed_runs_and_a_rerun_resumes(tmp_path):
    """SIGINT to the whole process group, as a terminal's Ctrl-C: exit 130, the recorded runs
    whole, no worker traceback; the rerun does the rest and skips what was recorded; a failed
    run makes the command exit 1."""
    sweep = write_sweep(tmp_path, """
        masks:
          fine: {}
          broken: {demand: {source: csv, file: no-such-demand.csv}}
        axes:
          mask: [fine, broken]
          policy: [nearest, cost-glb]
          seed: [1, 2]
    """)
    out = tmp_path / "out"
    env = {k: v for k, v in os.environ.items() if k != "COSIM_DATA_DIR"}
    driver = subprocess.Popen([sys.executable, "-m", "cosim.cli", "batch", str(sweep), "--workers", "2", "--out", str(out),
                               "--data-dir", str(tmp_path)], cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while not any(not p.name.startswith(".") for p in (out / "runs").glob("*")):  # a run finished
            assert driver.poll() is None and time.monotonic() < deadline, driver.communicate()
            time.sleep(0.05)
        time.sleep(0.5)
        os.killpg(driver.pid, signal.SIGINT)
        _, stderr = driver.communicate(timeout=120)
    finally:
        if driver.poll() is None:
            os.killpg(driver.pid, signal.SIGKILL)
            driver.wait()
    assert driver.returncode == 130, stderr
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr, stderr
    recorded = catalog_rows(out)
    assert 1 <= len(recorded) < 8
    assert re.search(rf"{len(recorded)} run\(s\) recorded in .*catalog.duckdb; rerun to resume", said(stderr)), stderr
    for run_id in recorded.index[recorded["status"] == "ok"]:
        assert (out / "runs" / run_id / "summary.json").is_file()
    done_ok = int((recorded["status"] == "ok").sum())
    proc = batch(sweep, "--workers", 2, "--out", out, "--data-dir", tmp_path, cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr  # the broken runs failed; the sweep went through
    assert f"8 run(s): {8 - done_ok} ran" in said(proc.stdout) and f"{done_ok} skipped as done before" in said(proc.stdout)
    rows = catalog_rows(out)
    assert len(rows) == 8
    assert (rows.loc[rows["mask"] == "fine", "status"] == "ok").all()
    assert (rows.loc[rows["mask"] == "broken", "status"] == "failed").all()
    assert "failed: broken_" in said(proc.stdout)
    ok = recorded[recorded["status"] == "ok"]
    pd.testing.assert_frame_equal(rows.loc[ok.index], ok)  # recorded runs untouched


# ======================================================================== a real scheduler


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def dask_cluster(folder: Path, workers: int = 2):
    """`dask scheduler` and *workers* `dask worker` processes on 127.0.0.1, each in its own
    process group (killed with its nanny); torn down whatever happens."""
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    procs = []

    def start(*args, log: str) -> subprocess.Popen:
        with open(folder / log, "w") as out:
            proc = subprocess.Popen([str(DASK), *args], stdout=out, stderr=subprocess.STDOUT, cwd=folder, start_new_session=True)
        procs.append(proc)
        return proc

    try:
        start("scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard", log="scheduler.log")
        workers_ = [start("worker", address, "--nthreads", "1", "--nworkers", "1", "--no-dashboard", "--host", "127.0.0.1",
                          log=f"worker{n}.log") for n in range(workers)]
        from distributed import Client

        with Client(address, timeout="30s") as client:
            client.wait_for_workers(workers, timeout=60)
        yield address, workers_
    finally:
        for proc in reversed(procs):
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)


def test_sweep_through_a_running_scheduler(tmp_path):
    sweep = write_sweep(tmp_path, "axes:\n  policy: [nearest, cost-glb]\n")
    out = tmp_path / "out"
    with dask_cluster(tmp_path) as (address, _):
        proc = batch(sweep, "--scheduler", address, "--out", out, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "2 run(s): 2 ran (2 ok, 0 failed)" in proc.stdout and "on 2 worker(s)" in said(proc.stdout)
    rows = catalog_rows(out)
    assert len(rows) == 2 and (rows["status"] == "ok").all()
    assert rows["worker"].str.startswith("tcp://127.0.0.1:").all()
    assert {r.run_id for r in load_sweep(sweep).runs} == {p.name for p in (out / "runs").iterdir()}


@pytest.mark.slow
def test_a_worker_killed_mid_sweep_does_not_lose_the_sweep(tmp_path):
    sweep = write_sweep(tmp_path, "axes:\n  policy: [nearest, cost-glb]\n  seed: [1, 2, 3]\n")
    out = tmp_path / "out"
    with dask_cluster(tmp_path) as (address, workers):
        env = {k: v for k, v in os.environ.items() if k != "COSIM_DATA_DIR"}
        driver = subprocess.Popen([sys.executable, "-m", "cosim.cli", "batch", str(sweep), "--scheduler", address, "--out", str(out)],
                                  cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + 120
            while len(tmp_dirs(out) if (out / "runs").is_dir() else []) < 2:  # both workers mid-run
                assert driver.poll() is None and time.monotonic() < deadline, driver.communicate()
                time.sleep(0.05)
            killed = re.search(r"Start worker at:\s+(tcp://\S+)", (tmp_path / "worker0.log").read_text()).group(1)
            killed_at = pd.Timestamp.now(tz="UTC")
            os.killpg(workers[0].pid, signal.SIGKILL)  # the worker and its nanny: no restart
            stdout, stderr = driver.communicate(timeout=240)
        finally:
            if driver.poll() is None:
                driver.kill()
                driver.wait()
        assert workers[0].wait(timeout=10) == -signal.SIGKILL
    assert driver.returncode == 0, stderr
    assert "6 run(s): 6 ran (6 ok, 0 failed)" in said(stdout)
    rows = catalog_rows(out)
    assert len(rows) == 6 and (rows["status"] == "ok").all(), rows[["status", "error"]]
    assert tmp_dirs(out) == []  # the lost attempt's folder is gone, its run redone whole
    assert f"Remove worker addr: {killed}" in (tmp_path / "scheduler.log").read_text()
    after = rows[rows["finished_at"] > killed_at]
    assert len(after) >= 2 and (after["worker"] != killed).all()  # the lost run and the rest, on the survivor
    assert {p.name for p in (out / "runs").iterdir()} == set(rows.index)


def test_unreachable_scheduler_exits_2_and_writes_nothing(tmp_path):
    sweep = write_sweep(tmp_path, "axes:\n  policy: [nearest]\n")
    out = tmp_path / "out"
    address = f"tcp://127.0.0.1:{_free_port()}"
    t0 = time.perf_counter()
    proc = cosim("batch", sweep, "--scheduler", address, "--out", out, cwd=tmp_path)
    assert time.perf_counter() - t0 < 60
    assert_bad_input(proc, f"--scheduler: {address}: unreachable within 5 s")
    assert not out.exists()
    assert_bad_input(cosim("batch", sweep, "--scheduler", "127.0.0.1:8786", "--out", out, cwd=tmp_path),
                     "--scheduler: 127.0.0.1:8786: an address such as tcp://host:8786")
    assert not out.exists()


def test_a_catalog_held_by_a_running_batch_is_refused(tmp_path):
    sweep = write_sweep(tmp_path, "axes:\n  policy: [nearest]\n")
    out = tmp_path / "out"
    Catalog(out).close()
    before = (out / CATALOG).read_bytes()  # read while no lock is held: closing a descriptor drops POSIX locks
    with Catalog(out):  # this process holds the write lock, as a running batch does
        proc = cosim("batch", sweep, "--out", out, "--workers", 1, cwd=tmp_path)
    assert_bad_input(proc, "catalog.duckdb: catalog: in use by another process")
    assert (out / CATALOG).read_bytes() == before
    assert sorted(p.name for p in out.iterdir()) == [CATALOG]


# ======================================================================== done = the manifest verifies


def test_damaged_runs_are_redone_and_a_dot_mask_keeps_its_run(tmp_path):
    base = tmp_path / "syn.yaml"
    base.write_text("extends: paper10\nname: syn\nsignals: {source: synthetic}\n")  # no grids: fast runs
    path = tmp_path / "sweep.yaml"
    path.write_text(f"base: {base}\nhours: {HOURS}\n" + textwrap.dedent("""
        masks:
          .tmp-x: {}
          plain: {}
        axes:
          mask: [.tmp-x, plain]
          policy: [nearest]
    """))
    spec = load_sweep(path)
    dotted, plain = spec.runs
    assert dotted.run_id.startswith("tmp-x_nearest_") and not is_temporary(dotted.run_id)  # never a leading dot
    out = tmp_path / "out"
    runs = out / "runs"

    def run_all() -> tuple[list[str], list[str]]:
        with Catalog(out) as catalog:
            result = run_batch(spec, out, client, catalog)
        return sorted(r["run_id"] for r in result.rows), sorted(result.skipped)

    with dask_client(workers=1) as client:
        assert run_all() == (sorted([dotted.run_id, plain.run_id]), [])
        first = catalog_rows(out)
        assert (first["status"] == "ok").all() and all(verify(runs / r.run_id) == [] for r in spec.runs)
        summary = runs / dotted.run_id / "summary.json"
        summary.write_bytes(summary.read_bytes()[:100])  # a truncated summary.json
        table = runs / plain.run_id / "nearest" / "sites.parquet"
        table.write_bytes(table.read_bytes()[:-10])  # a truncated Parquet file
        assert [r.run_id for r in pending(spec, out)] == [dotted.run_id, plain.run_id]
        assert run_all() == (sorted([dotted.run_id, plain.run_id]), [])  # both redone
        second = catalog_rows(out)
        assert len(second) == 2 and (second["status"] == "ok").all()
        assert (second["finished_at"] > first["finished_at"]).all()  # the rows replaced
        assert all(verify(runs / r.run_id) == [] for r in spec.runs)
        assert json.loads(summary.read_text())["scenario"] == "syn"
        assert run_all() == ([], sorted([dotted.run_id, plain.run_id]))  # now done: skipped, and kept
    assert sorted(p.name for p in runs.iterdir()) == sorted([dotted.run_id, plain.run_id])


# ======================================================================== a scheduler that never answers


@contextmanager
def silent_server():
    """A TCP server on loopback that accepts every connection and never sends a byte."""
    import threading

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held, stop = [], threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except (TimeoutError, OSError):
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"tcp://127.0.0.1:{server.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(timeout=5)
        for conn in held:
            conn.close()
        server.close()


def test_a_scheduler_that_accepts_and_never_answers_fails_within_the_timeout(tmp_path):
    limit = batch_module.CONNECT_TIMEOUT_S
    with silent_server() as address:
        t0 = time.perf_counter()
        with pytest.raises(InputError) as caught, dask_client(scheduler=address):
            pass
        elapsed = time.perf_counter() - t0
        assert limit - 0.5 < elapsed < limit + 1.5, elapsed  # measured: the documented 5 s, not a hang
        assert str(caught.value) == (f"--scheduler: {address}: unreachable within {limit:g} s "
                                     "(TimeoutError: it accepted the connection but did not answer)")
        sweep = write_sweep(tmp_path, "axes:\n  policy: [nearest]\n")
        out = tmp_path / "out"
        t0 = time.perf_counter()
        proc = cosim("batch", sweep, "--scheduler", address, "--out", out, cwd=tmp_path)
        assert time.perf_counter() - t0 < 60  # start-up + 5 s (it hung past 180 s)
    assert_bad_input(proc, str(caught.value))
    assert not out.exists()


@pytest.mark.slow
def test_a_scheduler_that_stops_answering_mid_sweep_ends_the_batch(tmp_path):
    sweep = write_sweep(tmp_path, "axes:\n  policy: [se-glb]\n", name="long.yaml")
    sweep.write_text(sweep.read_text().replace(f"hours: {HOURS}", "hours: 48"))  # a run that outlasts the wait
    out = tmp_path / "out"
    with dask_cluster(tmp_path, workers=1) as (address, _):
        scheduler = next(p for p in _children_named(tmp_path, "scheduler.log"))
        env = {k: v for k, v in os.environ.items() if k != "COSIM_DATA_DIR"}
        driver = subprocess.Popen([sys.executable, "-m", "cosim.cli", "batch", str(sweep), "--scheduler", address,
                                   "--out", str(out)], cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + 120
            while not ((out / "runs").is_dir() and tmp_dirs(out)):  # the run under way on the worker
                assert driver.poll() is None and time.monotonic() < deadline, driver.communicate()
                time.sleep(0.05)
            os.kill(scheduler, signal.SIGSTOP)
            stopped = time.perf_counter()
            _, stderr = driver.communicate(timeout=120)
            took = time.perf_counter() - stopped
        finally:
            os.kill(scheduler, signal.SIGCONT)
            if driver.poll() is None:
                driver.kill()
                driver.wait()
    limit = batch_module.HEARTBEAT_S + batch_module.CALL_TIMEOUT_S + 2 * batch_module.CALL_TIMEOUT_S  # + closing
    assert took < limit, took
    assert driver.returncode == 2 and "Traceback" not in stderr, stderr
    lines = [line for line in stderr.splitlines() if line.strip()]  # progress lines (no terminal), then the error
    assert lines[-1] == (f"error: --scheduler: {address}: stopped answering (no reply within "
                         f"{batch_module.CALL_TIMEOUT_S:g} s); the runs recorded so far stay, rerun to resume")
    assert all(re.match(r"\d\d:\d\d:\d\d ", line) for line in lines[:-1]), lines


def _children_named(folder: Path, log: str) -> list[int]:
    """The pid of the process whose output goes to FOLDER/LOG (dask_cluster's scheduler)."""
    target = os.path.realpath(folder / log)
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if os.path.realpath(entry / "fd" / "1") == target:
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids
