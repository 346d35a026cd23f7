"""Batch execution of a sweep on dask.distributed (docs/batch.md).

The client (the `cosim batch` process) starts a LocalCluster of worker processes, or
connects to an existing scheduler, submits one task per run not yet completed, and
records each finished run in DIR/catalog.duckdb as it comes back. A task runs one
scenario in its worker and writes the run output contract to
DIR/runs/.<run-id>.tmp-XXXXXXXX/ and puts it in place as DIR/runs/<run-id>/ when complete,
with its manifest (cosim.folder_transaction), so a run folder is either whole or absent.
A run is done when the catalog records it ok and its folder's manifest verifies
(cosim.manifest.verify): a damaged run is run again and its row replaced. A task whose worker dies is rescheduled by Dask
(distributed.scheduler.allowed-failures, 3 by default).
"""
from __future__ import annotations

import contextlib
import json
import logging
import os
import shlex
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from cosim.catalog import Catalog, headline, read_completed
from cosim.errors import InputError
from cosim.folder_transaction import clean_leftovers, staged
from cosim.loaders.data_dir import DataDir, as_data_dir
from cosim.manifest import verify
from cosim.runner import run_scenario
from cosim.sweep import Run, Sweep

if TYPE_CHECKING:  # annotations only: dask.distributed loads in batch runs
    from distributed import Client

RUNS = "runs"
_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
CONNECT_TIMEOUT_S = 5.0
"""s: connecting to a scheduler (TCP and distributed's handshake; docs/batch.md)."""
CALL_TIMEOUT_S = 5.0
"""s: any other call to the scheduler (its identity, cancelling, closing)."""
PREPARE_TIMEOUT_S = 120.0
"""s: every worker importing cosim (cvxpy, pandapower) once, before the first run."""
HEARTBEAT_S = 10.0
"""s: while waiting for runs, the scheduler is pinged when nothing finished for this long."""
RESULT_TIMEOUT_S = 60.0
"""s: fetching a finished run's small result dict from its worker."""


@dataclass
class BatchResult:
    """What a batch did: the rows it recorded (in completion order), the runs it skipped
    because they were complete, and its wall time, s (from submission to the last row)."""

    rows: list[dict] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    elapsed_s: float = 0.0
    workers: int = 0


# ---------------------------------------------------------------------------- in the worker


def run_one(run: Run, runs_dir: str, data_dir: DataDir | str | None, command_line: str | None = None) -> dict:
    """Run one scenario (one policy) and write its outputs as a transaction into
    *runs_dir*/<run-id> (cosim.folder_transaction: complete with its manifest, or the
    previous attempt's folder as it was). *command_line* is the batch's, for the provenance.

    Returns status ('ok' or 'failed'), error, the headline metrics, wall_s (s, the run's own
    time in the worker), started_at and finished_at (UTC) and the worker's address. An
    exception in the run is a failed run, not a failed task: Dask retries only lost workers.
    """
    started, t0 = datetime.now(UTC), time.perf_counter()
    out = {"status": "ok", "error": None, "metrics": {}, "worker": _worker_address()}
    try:
        # one batch per folder (its catalog's lock), one task per run: no folder lock needed
        with staged(Path(runs_dir) / run.run_id, lock=False, markers=None) as stage:
            with _quiet_stdout():
                result = run_scenario(run.scenario, policies=[run.policy], mode=run.mode, coupling=run.coupling,
                                      ai_share=run.ai_share, operators=run.operators, elasticity=run.elasticity,
                                      data_dir=data_dir, source=run.source, out=stage.path,
                                      label=run.run_id, command_line=command_line)
            out["metrics"] = headline(result.metrics[run.policy])
            (stage.path / "run.json").write_text(json.dumps(_describe(run), indent=2, default=str) + "\n")
    except Exception as exc:  # noqa: BLE001 - recorded in the catalog, the sweep goes on
        out.update(status="failed", error=f"{type(exc).__name__}: {exc}", metrics={})
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
    here. A scheduler that cannot be reached, or that accepts the connection but does not
    answer, is an InputError raised within CONNECT_TIMEOUT_S (twice that at most: the
    handshake probe, then the Client's own connection)."""
    from distributed import Client, LocalCluster  # late: dask.distributed (~0.8 s) loads only in batch runs

    if scheduler is not None:
        if "://" not in scheduler:
            raise InputError("--scheduler", scheduler, "an address such as tcp://host:8786")
        try:
            _probe(scheduler, CONNECT_TIMEOUT_S)
            client = timed(lambda: Client(scheduler, timeout=f"{CONNECT_TIMEOUT_S}s"),
                           CONNECT_TIMEOUT_S, "connecting")
        except (OSError, TimeoutError) as exc:
            raise InputError("--scheduler", scheduler, f"unreachable within {CONNECT_TIMEOUT_S:g} s ({_what(exc)})") from None
        except ValueError as exc:
            raise InputError("--scheduler", scheduler, str(exc)) from None
        try:
            _prepare_workers(client, scheduler)
            yield client
        finally:
            _close(client)
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
            _close(client)
    finally:
        cluster.close()


def _probe(address: str, timeout_s: float) -> None:
    """Open a comm to *address* and complete distributed's handshake within *timeout_s*, s:
    distributed's own connect() waits for the handshake's reply without a deadline, so a
    server that accepts TCP and never answers would hang the Client. TimeoutError or
    OSError when it fails."""
    import asyncio

    from distributed.comm import connect

    async def handshake() -> None:
        comm = await connect(address, timeout=timeout_s)
        await comm.close()

    try:
        asyncio.run(asyncio.wait_for(handshake(), timeout_s))
    except TimeoutError:
        raise TimeoutError("it accepted the connection but did not answer") from None


def timed(call: Callable[[], object], timeout_s: float, what: str):
    """*call*() in a helper thread, its result or its exception; TimeoutError when it has
    not returned within *timeout_s*, s (the thread is left to the process's exit). For the
    blocking calls of distributed that take no deadline of their own."""
    box: dict = {}

    def target() -> None:
        try:
            box["value"] = call()
        except BaseException as exc:  # noqa: BLE001 - handed back to the caller
            box["error"] = exc

    thread = threading.Thread(target=target, name=f"cosim-{what}", daemon=True)
    thread.start()
    thread.join(timeout_s)
    if thread.is_alive():
        raise TimeoutError(f"no answer while {what} within {timeout_s:g} s")
    if "error" in box:
        raise box["error"]
    return box.get("value")


def _what(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _close(client: Client) -> None:
    """Close the client, waiting at most CALL_TIMEOUT_S for the scheduler."""
    with contextlib.suppress(Exception):
        timed(lambda: client.close(timeout=CALL_TIMEOUT_S), CALL_TIMEOUT_S + 1, "closing the client")


def _ping(client: Client, where: str) -> None:
    """InputError naming the scheduler unless it answers an identity call within
    CALL_TIMEOUT_S: a batch waiting on runs checks every HEARTBEAT_S that the scheduler is
    still there, so one that stops answering ends the batch (rerun to resume)."""
    try:
        client.sync(client.scheduler.identity, callback_timeout=CALL_TIMEOUT_S)
    except Exception as exc:  # noqa: BLE001 - a dead comm, a timeout: the scheduler is gone
        why = f"no reply within {CALL_TIMEOUT_S:g} s" if isinstance(exc, TimeoutError) else _what(exc)
        raise InputError("--scheduler" if where != "local cluster" else "workers", where,
                         f"stopped answering ({why}); the runs recorded so far stay, rerun to resume") from None


def pending(sweep: Sweep, out: Path) -> list[Run]:
    """The runs of *sweep* not completed in *out*, read without taking the catalog's write
    lock (so a finished sweep reruns without starting a cluster)."""
    runs_dir = Path(out) / RUNS
    done = read_completed(Path(out))
    return [run for run in sweep.runs if not _complete(run, done, runs_dir)]


def _complete(run: Run, done: set[str], runs_dir: Path) -> bool:
    """Recorded ok and its folder intact: every file its manifest lists, with its size and
    SHA-256 (a truncated summary.json or Parquet file, or a folder without a manifest, is
    not done)."""
    return run.run_id in done and not verify(runs_dir / run.run_id)


def _prepare_workers(client: Client, where: str) -> None:
    """Import cosim.batch (and with it the runner, cvxpy, pandapower...) in every connected
    worker now, once: the runs' wall_s then measures the runs, and workers that cannot import
    cosim (not installed there) are an InputError before anything is written."""
    try:
        client.run(_import_batch, callback_timeout=PREPARE_TIMEOUT_S)
    except TimeoutError:
        raise InputError("--scheduler" if where != "local cluster" else "workers", where,
                         f"workers did not import cosim within {PREPARE_TIMEOUT_S:g} s") from None
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
    scheduler: str | None = None,
) -> BatchResult:
    """Run every run of *sweep* not yet completed in *out* and record each as it finishes.

    Completed means status ok in the catalog and DIR/runs/<run-id>/ verifying against its
    manifest (cosim.manifest.verify).
    on_start(to_run, skipped) is called once before submission, on_done(row) per run.
    A Ctrl-C cancels what is pending; the rows already recorded stay. *scheduler* names the
    scheduler in the error when it stops answering (default: the local cluster).
    """
    runs_dir = (Path(out) / RUNS).resolve()
    runs_dir.mkdir(parents=True, exist_ok=True)
    clean_leftovers(runs_dir)
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
    from distributed import wait  # late: dask.distributed (~0.8 s) loads only in batch runs

    where = scheduler or "local cluster"
    try:
        info = timed(client.scheduler_info, CALL_TIMEOUT_S, "asking the scheduler for its workers")
    except TimeoutError as exc:
        raise InputError("--scheduler" if scheduler else "workers", where, f"stopped answering ({exc})") from None
    result.workers = len(info.get("workers", {}))
    t0 = time.perf_counter()
    data = as_data_dir(data_dir).resolved()  # the data dir and its path rule, for workers in other folders
    command_line = shlex.join(sys.argv)
    # submit only queues a message for the scheduler (no reply awaited); what follows waits
    # with deadlines: HEARTBEAT_S for a run to finish (then the scheduler must answer a ping
    # within CALL_TIMEOUT_S), RESULT_TIMEOUT_S to fetch a finished run's result
    futures = {client.submit(run_one, run, str(runs_dir), data, command_line, key=f"cosim-run-{run.run_id}",
                             pure=False): run for run in todo}
    waiting = set(futures)
    try:
        while waiting:
            try:
                finished, waiting = wait(waiting, timeout=HEARTBEAT_S, return_when="FIRST_COMPLETED")
            except TimeoutError:
                _ping(client, where)
                continue
            for future in finished:
                run = futures[future]
                try:
                    outcome = future.result(timeout=RESULT_TIMEOUT_S)
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
        with contextlib.suppress(Exception):
            timed(lambda: client.cancel([f for f in futures if not f.done()]), CALL_TIMEOUT_S, "cancelling")
        raise
    finally:
        result.elapsed_s = time.perf_counter() - t0
    clean_leftovers(runs_dir)  # every task is back: what is left belonged to workers lost mid-run
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
