"""The run folder as a transaction (issue 16; docs/reliability.md), on real processes and files.

- SIGKILL of a real `cosim run` at several moments, into a folder holding a complete
  earlier run of another horizon: afterwards the folder is that earlier run, whole (its
  manifest verifies); without an earlier run, there is none; a rerun then succeeds.
- A real concurrent pair of `cosim run` into one folder: one exits 0, the other exits 2 at
  once naming the folder and the holder's pid; the folder verifies.
- An unusable --out fails before any computation: exit 2, one line, nothing written.
- Readers refuse a damaged folder naming the file (`cosim compare`, `cosim figures`);
  `cosim figures` adds its files to the manifest.
- The commit and recovery rules of cosim.folder_transaction, in-process.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cosim import folder_transaction as ft
from cosim.errors import InputError
from cosim.manifest import MANIFEST, read_manifest, verify
from tests.test_cli import PAPER10, assert_bad_input, cosim

EARLIER_HOURS = 6
KILLED_HOURS = 12  # long enough that each moment comes before the commit, on a fast machine too


def _scenario(folder: Path) -> Path:
    """paper10 on synthetic signals: no grids, a run of a few seconds."""
    path = folder / "syn.yaml"
    path.write_text("extends: paper10\nname: syn\nsignals: {source: synthetic}\n")
    return path


def _start(*args, cwd: Path) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k != "COSIM_DATA_DIR"}
    return subprocess.Popen([sys.executable, "-m", "cosim.cli", *map(str, args)], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for(predicate, proc: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert proc.poll() is None, ("the run ended before the moment came", proc.returncode, proc.communicate())
        assert time.monotonic() < deadline, "the moment never came"
        time.sleep(0.02)


def _staging(out: Path) -> list[Path]:
    return [p for p in out.parent.iterdir() if ft._STAGING.fullmatch(p.name) and p.name.startswith(f".{out.name}.")]


def _hours(out: Path) -> int:
    return json.loads((out / "summary.json").read_text())["hours"]


def _visible(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))


@pytest.fixture(scope="module")
def earlier(tmp_path_factory):
    """A complete `--hours 6` run, from a real concurrent pair of `cosim run` on one folder:
    the first is frozen (SIGSTOP) once it holds the folder, so the second surely meets it
    there (on a loaded machine, a second interpreter's start-up alone can outlast the whole
    first run), then thawed. (folder, scenario, first process, second's result)."""
    base = tmp_path_factory.mktemp("earlier")
    scenario = _scenario(base)
    out = base / "earlier"
    args = ("run", scenario, "--hours", EARLIER_HOURS, "--no-report", "--out", out)
    first = _start(*args, cwd=base)
    try:
        _wait_for(lambda: bool(_staging(out)) and ft.lock_path(out).read_text().strip() == str(first.pid), first)
        os.kill(first.pid, signal.SIGSTOP)
        second = cosim(*args, cwd=base)
    finally:
        os.kill(first.pid, signal.SIGCONT)
    first.communicate(timeout=120)
    return out, scenario, first, second


def test_a_concurrent_pair_one_runs_the_other_refuses_naming_the_folder_and_the_holder(earlier):
    out, _, first, second = earlier
    assert first.returncode == 0
    assert_bad_input(second, f"{out}: output folder: in use by another gridshift run (pid {first.pid}; lock "
                     f"{ft.lock_path(out)}): wait for it to finish or choose another --out")
    assert verify(out) == [] and _hours(out) == EARLIER_HOURS  # the first run's folder, whole
    assert not ft.lock_path(out).exists()  # released (and removed) by the run that held it
    assert _staging(out) == []


@pytest.mark.parametrize("moment", ["after 1 s", "computing", pytest.param("writing a policy", marks=pytest.mark.slow),
                                    "drawing the report"])
def test_sigkill_leaves_the_earlier_run_whole(earlier, tmp_path, moment):
    source, scenario, *_ = earlier
    out = tmp_path / "out"
    shutil.copytree(source, out)
    before = read_manifest(out)
    args = ["run", scenario, "--hours", KILLED_HOURS, "--out", out] + ([] if moment == "drawing the report" else ["--no-report"])
    proc = _start(*args, cwd=tmp_path)
    started = time.monotonic()
    if moment == "after 1 s":
        _wait_for(lambda: time.monotonic() - started > 1.0, proc)
    elif moment == "computing":
        _wait_for(lambda: bool(_staging(out)), proc)
        time.sleep(0.2)
    elif moment == "writing a policy":
        _wait_for(lambda: any((s / "cost-glb").is_dir() for s in _staging(out)), proc)
    else:
        _wait_for(lambda: any((s / "figures").is_dir() for s in _staging(out)), proc)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert moment == "after 1 s" or _staging(out), "killed after its commit: not the moment meant"
    assert verify(out) == [], moment
    assert read_manifest(out) == before and _hours(out) == EARLIER_HOURS
    assert _visible(tmp_path) == ["out"]  # at most hidden leftovers beside it, for the next run to clear


def test_sigkill_without_an_earlier_run_leaves_nothing(earlier, tmp_path):
    _, scenario, *_ = earlier
    out = tmp_path / "runs" / "out"
    proc = _start("run", scenario, "--hours", KILLED_HOURS, "--no-report", "--out", out, cwd=tmp_path)
    _wait_for(lambda: out.parent.is_dir() and any((s / "cost-glb").is_dir() for s in _staging(out)), proc)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    assert not out.exists()
    assert _staging(out) and ft.lock_path(out).exists()  # the killed run's leftovers (its lock no longer held)
    assert _visible(out.parent) == []


def test_after_a_kill_a_rerun_replaces_the_earlier_run_whole(earlier, tmp_path):
    """A run killed into a folder holding another horizon's run, then a rerun: the folder is
    the new run only (no file of the old one left), its figures and report inside, all in
    its manifest; the killed run's leftovers and its stale lock are gone."""
    source, scenario, *_ = earlier
    out = tmp_path / "out"
    shutil.copytree(source, out)
    (out / "se-glb" / "stale.parquet").write_bytes(b"from the earlier run")
    killed = _start("run", scenario, "--hours", KILLED_HOURS, "--no-report", "--out", out, cwd=tmp_path)
    _wait_for(lambda: bool(_staging(out)), killed)
    killed.send_signal(signal.SIGKILL)
    killed.communicate(timeout=30)
    assert _staging(out) and ft.lock_path(out).exists() and _hours(out) == EARLIER_HOURS
    proc = cosim("run", scenario, "--hours", KILLED_HOURS, "--policy", "se-glb", "--out", out, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert _hours(out) == KILLED_HOURS and verify(out) == []
    assert sorted(p.name for p in out.iterdir()) == ["figures", MANIFEST, "report.html", "se-glb", "summary.json"]
    listed = read_manifest(out)
    assert "report.html" in listed and any(name.startswith("figures/") for name in listed)
    assert sorted(p.name for p in (out / "se-glb").iterdir()) == ["allocations.parquet", "demand.parquet", "sites.parquet"]
    assert f"figures: {out / 'figures'}/" in proc.stdout.replace("\n", "")  # the final paths, not the staging folder's
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # leftovers cleared, the stale lock taken over
    provenance = json.loads((out / "summary.json").read_text())["provenance"]
    assert provenance["command_line"].endswith(f"run {scenario} --hours {KILLED_HOURS} --policy se-glb --out {out}")


# ---------------------------------------------------------------------- an unusable --out


def test_an_unusable_out_fails_before_any_computation(tmp_path):
    a_file = tmp_path / "a-file"
    a_file.write_text("not a folder\n")
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    (theirs / "notes.txt").write_text("someone's notes\n")
    cases = [
        (a_file, f"{a_file}: output folder: exists and is not a folder"),
        (a_file / "sub" / "out", f"{a_file}: output folder: is a file: it cannot hold a folder"),
        (theirs, f"{theirs}: output folder: exists and holds files that are not an output of gridshift"),
    ]
    _in_process("--help")  # the imports, which any command pays once, before the clock starts
    for out, message in cases:
        args = ["run", str(PAPER10), "--hours", "24", "--out", str(out)]
        t0 = time.perf_counter()  # in-process: the command's own time, without the interpreter's start-up
        result = _in_process(*args)
        elapsed = time.perf_counter() - t0
        assert isinstance(result.exception, InputError) and message in str(result.exception), result.exception
        assert elapsed < 1.0, (out, elapsed)  # a 24 h paper10 run takes minutes: refused before it began
    assert_bad_input(cosim(*args, cwd=tmp_path), message)  # and as a real process: exit 2, one line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file", "theirs"]  # nothing written
    assert a_file.read_text() == "not a folder\n" and [p.name for p in theirs.iterdir()] == ["notes.txt"]


def test_a_read_only_parent_is_refused(tmp_path):
    if os.geteuid() == 0:
        pytest.skip("as root, a read-only folder is still writable (the case under a regular file covers root)")
    parent = tmp_path / "ro"
    parent.mkdir()
    parent.chmod(0o555)
    try:
        with pytest.raises(InputError, match="not writable"):
            ft.check_target(parent / "out")
    finally:
        parent.chmod(0o755)


# ---------------------------------------------------------------------- readers of a damaged folder


def test_compare_and_figures_refuse_a_damaged_folder_naming_the_file(earlier, tmp_path):
    source, *_ = earlier
    out = tmp_path / "out"
    shutil.copytree(source, out)
    table = out / "se-glb" / "sites.parquet"
    size = table.stat().st_size
    with open(table, "r+b") as handle:
        handle.truncate(size // 2)
    expected = f"{table}: manifest: {size // 2} bytes, the manifest says {size} (truncated or rewritten)"
    assert [str(p) for p in verify(out)] == [expected]
    result = _in_process("compare", str(source), str(out))  # main() turns the InputError into exit 2 (test_cli)
    assert isinstance(result.exception, InputError) and str(result.exception) == expected
    before = sorted(p.name for p in out.iterdir())
    result = _in_process("figures", str(out))
    assert isinstance(result.exception, InputError) and str(result.exception) == expected
    assert sorted(p.name for p in out.iterdir()) == before  # nothing drawn into it


def _in_process(*args: str):
    """The CLI in this process (typer's runner): exceptions are left in result.exception."""
    from typer.testing import CliRunner

    from cosim.cli import app

    return CliRunner().invoke(app, list(args))


def test_figures_adds_the_report_to_the_manifest(earlier, tmp_path):
    source, *_ = earlier
    out = tmp_path / "out"
    shutil.copytree(source, out)
    before = read_manifest(out)
    result = _in_process("figures", str(out))
    assert result.exit_code == 0, result.exception
    after = read_manifest(out)
    assert verify(out) == [] and "report.html" in after
    assert {k: v for k, v in after.items() if k in before} == before  # the run's files untouched
    assert _visible(tmp_path) == ["out"] and [p for p in tmp_path.iterdir() if p.name.startswith(".")] == []


# ---------------------------------------------------------------------- the rules, in-process


def _complete_folder(path: Path, text: str) -> None:
    with ft.staged(path) as stage:
        (stage.path / "summary.json").write_text(text)


def test_a_commit_replaces_the_folder_whole(tmp_path):
    out = tmp_path / "out"
    _complete_folder(out, "first\n")
    (out / "stale.txt").write_text("not in the new run")
    _complete_folder(out, "second\n")
    assert sorted(p.name for p in out.iterdir()) == [MANIFEST, "summary.json"] and verify(out) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_the_fallback_commit_and_its_recovery(tmp_path, monkeypatch):
    """Without RENAME_EXCHANGE: old -> .NAME.old, new -> NAME, remove .NAME.old; a crash
    between the two renames leaves .NAME.old alone, and the next writer restores it first."""
    monkeypatch.setattr(ft, "_exchange", lambda a, b: False)
    out = tmp_path / "out"
    _complete_folder(out, "first\n")
    _complete_folder(out, "second\n")
    assert (out / "summary.json").read_text() == "second\n" and verify(out) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    os.rename(out, ft.backup_path(out))  # a writer killed between its two renames
    with pytest.raises(RuntimeError), ft.staged(out):
        assert (out / "summary.json").read_text() == "second\n"  # restored before anything else
        raise RuntimeError("this writer fails too")
    assert (out / "summary.json").read_text() == "second\n" and verify(out) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_a_failed_writer_leaves_the_folder_and_creates_nothing(tmp_path):
    out = tmp_path / "a" / "b" / "out"
    with pytest.raises(InputError), ft.staged(out) as stage:
        (stage.path / "summary.json").write_text("half")
        raise InputError("x.csv", "row 2", "bad")
    assert list(tmp_path.iterdir()) == []  # the parents it made are gone again


def test_temporary_names_never_match_a_run_id():
    assert ft.is_temporary(ft.staging_name("run")) and ft.is_temporary(".run.old")
    for run_id in ("tmp-x_nearest_33ed49999d", "plain_nearest_738e37d436", "a.tmp-12345678"):
        assert not ft.is_temporary(run_id)
