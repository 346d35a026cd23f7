"""Batch execution of a sweep on dask.distributed (docs/batch.md).

The client (the `cosim batch` process) starts a LocalCluster of worker processes, or
connects to an existing scheduler, submits one task per run not yet completed, and
records each finished run in DIR/catalog.duckdb as it comes back. A task runs one
scenario in its worker and writes the run output contract to
DIR/runs/.tmp-<run-id>-<uuid>/, renamed to DIR/runs/<run-id>/ when complete, so a run
folder is either whole or absent. A task whose worker dies is rescheduled by Dask
(distributed.scheduler.allowed-failures, 3 by default).
"""
from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import signal
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from cosim.catalog import Catalog, headline, read_completed
from cosim.errors import InputError
from cosim.loaders.data_dir import DataDir, as_data_dir
from cosim.runner import run_scenario
from cosim.sweep import Run, Sweep

if TYPE_CHECKING:  # annotations only: dask.distributed loads in batch runs
    from distributed import Client

RUNS = "runs"
_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
CONNECT_TIMEOUT_S = 5.0


@dataclass
class BatchResult:
    """What a batch did: the rows it recorded (in completion order), the runs it skipped
    because they were complete, and its wall time, s (from submission to the last row)."""

    rows: list[dict] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    elapsed_s: float = 0.0
    workers: int = 0


# ---------------------------------------------------------------------------- in the worker


def run_one(run: Run, runs_dir: str, data_dir: DataDir | str | None) -> dict:
    """Run one scenario (one policy) and write its outputs atomically under *runs_dir*.

    Returns status ('ok' or 'failed'), error, the headline metrics, wall_s (s, the run's own
    time in the worker), started_at and finished_at (UTC) and the worker's address. An
    exception in the run is a failed run, not a failed task: Dask retries only lost workers.
    """
    started, t0 = datetime.now(UTC), time.perf_counter()
    runs = Path(runs_dir)
    tmp = runs / f".tmp-{run.run_id}-{uuid.uuid4().hex[:8]}"
    out = {"status": "ok", "error": None, "metrics": {}, "worker": _worker_address()}
    try:
        tmp.mkdir(parents=True)
        with _quiet_stdout():
            result = run_scenario(run.scenario, policies=[run.policy], mode=run.mode, coupling=run.coupling,
                                  ai_share=run.ai_share, operators=run.operators, elasticity=run.elasticity,
                                  data_dir=data_dir, source=run.source, out=tmp,
                                  label=run.run_id)
        out["metrics"] = headline(result.metrics[run.policy])
        (tmp / "run.json").write_text(json.dumps(_describe(run), indent=2, default=str) + "\n")
        final = runs / run.run_id
        if final.exists():  # a leftover of an attempt that never reached the catalog
            shutil.rmtree(final)
        os.replace(tmp, final)
    except Exception as exc:  # noqa: BLE001 - recorded in the catalog, the sweep goes on
        shutil.rmtree(tmp, ignore_errors=True)
        out.update(status="failed", error=f"{type(exc).__name__}: {exc}")
    out.update(wall_s=time.perf_counter() - t0, started_at=started, finished_at=datetime.now(UTC))
    return out


def _describe(run: Run) -> dict:
    """DIR/runs/<run-id>/run.json: what defines the run, so its folder explains itself."""
    return {"run_id": run.run_id, "params": run.params, "scenario": run.scenario.name, "hours": run.scenario.hours,
            "policy": run.policy, "mode": run.mode, "coupling": run.coupling, "ai_share": run.ai_share,
            "operators": run.operators, "elasticity": run.elasticity, "sweep_file": run.source}


def _worker_address() -> str | None:
    try:
        from distributed import get_worker  # late: dask.distributed (~0.8 s) loads only in batch runs

        return get_worker().address
    except ValueError:  # not in a Dask worker (called directly)
        return None


@contextlib.contextmanager
def _quiet_stdout() -> Iterator[None]:
    """Solver banners (HiGHS writes to file descriptor 1) would scramble the client's progress
    bar: in a Dask worker, stdout goes to /dev/null for the run."""
    if _worker_address() is None:
        yield
        return
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 1)
            yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)


# ---------------------------------------------------------------------------- in the client


@contextlib.contextmanager
def dask_client(*, workers: int = 2, scheduler: str | None = None) -> Iterator:
    """A distributed Client: on an existing scheduler (tcp://host:port), or on a LocalCluster
    of *workers* single-threaded processes (BLAS/OpenMP pools pinned to 1 thread) started
    here. An unreachable scheduler is an InputError, raised within CONNECT_TIMEOUT_S."""
    from distributed import Client, LocalCluster  # late: dask.distributed (~0.8 s) loads only in batch runs

    if scheduler is not None:
        if "://" not in scheduler:
            raise InputError("--scheduler", scheduler, "an address such as tcp://host:8786")
        try:
            client = Client(scheduler, timeout=f"{CONNECT_TIMEOUT_S}s")
        except (OSError, TimeoutError) as exc:
            raise InputError("--scheduler", scheduler, f"unreachable within {CONNECT_TIMEOUT_S:g} s ({type(exc).__name__})") from None
        except ValueError as exc:
            raise InputError("--scheduler", scheduler, str(exc)) from None
        try:
            _prepare_workers(client, scheduler)
            yield client
        finally:
            client.close()
        return
    env = {name: "1" for name in _THREAD_VARS}
    import dask  # late, as distributed above

    spawn_env = {**dask.config.get("distributed.nanny.pre-spawn-environ", {}), **env}
    with dask.config.set({"distributed.nanny.pre-spawn-environ": spawn_env}), _sigint_ignored():
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                               silence_logs=logging.ERROR)
    try:
        client = Client(cluster)
        try:
            _prepare_workers(client, "local cluster")
            yield client
        finally:
            client.close()
    finally:
        cluster.close()


def pending(sweep: Sweep, out: Path) -> list[Run]:
    """The runs of *sweep* not completed in *out*, read without taking the catalog's write
    lock (so a finished sweep reruns without starting a cluster)."""
    runs_dir = Path(out) / RUNS
    done = read_completed(Path(out))
    return [run for run in sweep.runs if not _complete(run, done, runs_dir)]


def _complete(run: Run, done: set[str], runs_dir: Path) -> bool:
    return run.run_id in done and (runs_dir / run.run_id / "summary.json").is_file()


def _prepare_workers(client: Client, where: str) -> None:
    """Import cosim.batch (and with it the runner, cvxpy, pandapower...) in every connected
    worker now, once: the runs' wall_s then measures the runs, and workers that cannot import
    cosim (not installed there) are an InputError before anything is written."""
    try:
        client.run(_import_batch)
    except Exception as exc:  # noqa: BLE001 - whatever the worker's environment raised
        raise InputError("--scheduler" if where != "local cluster" else "workers", where,
                         f"workers cannot import cosim ({type(exc).__name__}: {exc}); install gridshift where the workers run") from None


def _import_batch() -> str:
    import importlib

    return importlib.import_module("cosim.batch").__file__


@contextlib.contextmanager
def _sigint_ignored() -> Iterator[None]:
    """Worker processes started meanwhile inherit SIGINT ignored (Python keeps an ignored SIGINT
    ignored), so a Ctrl-C in the terminal reaches only this process, which stops the cluster."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def run_batch(
    sweep: Sweep,
    out: Path,
    client: Client,
    catalog: Catalog,
    *,
    data_dir: DataDir | Path | None = None,
    on_start: Callable[[int, int], None] | None = None,
    on_done: Callable[[dict], None] | None = None,
) -> BatchResult:
    """Run every run of *sweep* not yet completed in *out* and record each as it finishes.

    Completed means status ok in the catalog and DIR/runs/<run-id>/summary.json present.
    on_start(to_run, skipped) is called once before submission, on_done(row) per run.
    A Ctrl-C cancels what is pending; the rows already recorded stay.
    """
    runs_dir = (Path(out) / RUNS).resolve()
    runs_dir.mkdir(parents=True, exist_ok=True)
    _clean_tmp(runs_dir)
    done = catalog.completed()
    result = BatchResult()
    todo = []
    for run in sweep.runs:
        if _complete(run, done, runs_dir):
            result.skipped.append(run.run_id)
        else:
            todo.append(run)
    if on_start:
        on_start(len(todo), len(result.skipped))
    if not todo:
        return result
    from distributed import as_completed  # late: dask.distributed (~0.8 s) loads only in batch runs

    result.workers = len(client.scheduler_info().get("workers", {}))
    t0 = time.perf_counter()
    data = as_data_dir(data_dir).resolved()  # the data dir and its path rule, for workers in other folders
    futures = {client.submit(run_one, run, str(runs_dir), data, key=f"cosim-run-{run.run_id}", pure=False): run
               for run in todo}
    try:
        for future in as_completed(futures):
            run = futures[future]
            try:
                outcome = future.result()
            except Exception as exc:  # noqa: BLE001 - a lost task (KilledWorker...): recorded, the sweep goes on
                outcome = {"status": "failed", "error": f"{type(exc).__name__}: {exc}", "metrics": {},
                           "finished_at": datetime.now(UTC)}
            row = _row(sweep, run, outcome, runs_dir)
            catalog.record(row)
            result.rows.append(row)
            future.release()
            if on_done:
                on_done(row)
    except BaseException:
        client.cancel([f for f in futures if not f.done()])
        raise
    finally:
        result.elapsed_s = time.perf_counter() - t0
    _clean_tmp(runs_dir)  # every task is back: what is left belonged to workers lost mid-run
    return result


def _row(sweep: Sweep, run: Run, outcome: dict, runs_dir: Path) -> dict:
    return {
        "run_id": run.run_id,
        "status": outcome["status"],
        "error": outcome.get("error"),
        "sweep": sweep.name,
        "sweep_index": run.index,
        "scenario": run.scenario.name,
        "hours": run.scenario.hours,
        **run.columns(),
        **outcome.get("metrics", {}),
        "wall_s": outcome.get("wall_s"),
        "started_at": outcome.get("started_at"),
        "finished_at": outcome.get("finished_at"),
        "worker": outcome.get("worker"),
        "output": f"{RUNS}/{run.run_id}" if outcome["status"] == "ok" else None,
        "params_json": json.dumps(run.params, sort_keys=True, default=str),
    }


def _clean_tmp(runs_dir: Path) -> None:
    """Remove the temporary folders of runs that never finished (an interrupted batch, a lost
    worker). Safe: the catalog is held by this process, so no other batch writes here."""
    for tmp in runs_dir.glob(".tmp-*"):
        shutil.rmtree(tmp, ignore_errors=True)
