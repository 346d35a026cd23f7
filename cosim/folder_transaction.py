"""An output folder as a transaction: built beside its target, put in place whole.

`cosim run`, `cosim frontier`, `cosim figures` and each run of `cosim batch` write
through `staged(target)` (docs/reliability.md, Atomic output folders):

1. Before any computation: the target is checked (`check_target`: not a file, not a
   folder of someone else's files, its parent creatable and writable); InputError, exit
   2, nothing written.
2. The lock `.NAME.lock` beside the target is taken (an exclusive `fcntl.flock`; the
   kernel drops it when its holder exits or is killed, so a lock file left by a killed
   run is simply taken over; the holder's pid is written in it for the refusal). A second
   run on the same folder refuses at once: InputError naming the folder and the pid.
3. Leftovers of a crashed earlier attempt are cleared (`recover`).
4. The outputs are written into `.NAME.tmp-XXXXXXXX/` (8 hex digits) in the same parent
   (same file system); DIR/manifest.json is written last (cosim.manifest).
5. Commit: one `renameat2(RENAME_EXCHANGE)` swaps the staging folder and an existing
   target atomically (Linux), then the old run, now in the staging name, is removed. Where
   the exchange is not supported: target -> `.NAME.old`, staging -> target, remove
   `.NAME.old`; a crash between the two renames leaves `.NAME.old` without a target, which
   `recover` (step 3 of the next writer, or `clean_leftovers`) renames back. With no
   earlier target, one rename.

A killed writer therefore leaves the previous complete folder or none, plus at most a
hidden leftover that the next writer removes. Every temporary name starts with a dot;
a batch run id never does (cosim.sweep.run_id), so no cleanup can take a run for a leftover.
"""
from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import os
import re
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from cosim.errors import InputError
from cosim.manifest import MANIFEST, fsync, write_manifest

RUN_MARKERS = ("summary.json",)
"""Files that make an existing folder without a manifest one `cosim run` may replace (an
older release's run folder)."""

_RENAME_EXCHANGE = 2
_AT_FDCWD = -100
_STAGING = re.compile(r"\.(?P<name>.+)\.tmp-[0-9a-f]{8}")
_BACKUP = re.compile(r"\.(?P<name>.+)\.old")


def staging_name(name: str) -> str:
    """A fresh temporary name for building folder *name*: `.NAME.tmp-XXXXXXXX`."""
    return f".{name}.tmp-{uuid.uuid4().hex[:8]}"


def backup_path(target: Path) -> Path:
    """Where the fallback commit parks the previous folder: `.NAME.old` beside it."""
    return target.with_name(f".{target.name}.old")


def lock_path(target: Path) -> Path:
    """The lock file of folder *target*: `.NAME.lock` beside it."""
    return target.with_name(f".{target.name}.lock")


def check_target(target: Path, *, markers: tuple[str, ...] | None = RUN_MARKERS) -> None:
    """InputError (exit 2) unless *target* can become an output folder: absent, an empty
    folder, or one of ours (it holds manifest.json or one of *markers*; *markers* None: any
    folder may be replaced, as a batch's DIR/runs/<run-id>); the nearest existing ancestor
    a writable folder, not a file. Writes nothing."""
    target = Path(target)
    if not target.name or target.name in (".", ".."):
        raise InputError(target, "output folder", "not a folder name")
    if target.is_symlink():  # replacing it would replace the link, not the folder it points to
        raise InputError(target, "output folder", "is a symbolic link: give the folder it points to")
    if target.exists() and not target.is_dir():
        raise InputError(target, "output folder", "exists and is not a folder (a file?): give a folder path")
    if target.is_dir() and markers is not None and not _replaceable(target, markers):
        raise InputError(target, "output folder", f"exists and holds files that are not an output of gridshift "
                         f"(no {MANIFEST}): give a new or empty folder")
    ancestor = target.parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        if ancestor.is_symlink():  # a dangling link
            raise InputError(ancestor, "output folder", "a broken symbolic link")
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise InputError(ancestor, "output folder", "is a file: it cannot hold a folder")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise InputError(ancestor, "output folder", "not writable")


def _replaceable(folder: Path, markers: tuple[str, ...]) -> bool:
    names = {p.name for p in folder.iterdir()}
    return not names or MANIFEST in names or any(m in names for m in markers)


@dataclass
class Staged:
    """An open transaction: write the outputs into *path*; *target* is where they go."""

    target: Path
    path: Path
    created: list[Path] = field(default_factory=list)  # parent folders made for it, deepest last


@contextlib.contextmanager
def staged(target: Path, *, lock: bool = True, markers: tuple[str, ...] | None = RUN_MARKERS,
           seed: bool = False) -> Iterator[Staged]:
    """Build folder *target* as a transaction (the module docstring's steps): yields the
    staging folder; on leaving the block normally, writes the manifest and commits; on an
    exception (or Ctrl-C), removes the staging folder and the parents it created, leaves
    the target as it was and re-raises. *lock* False: the caller already excludes other
    writers (a batch holds its catalog). *seed*: start from a copy of the existing
    target (hard links; gridshift replaces files by rename, never in place), as
    `cosim figures` does to add figures to a run."""
    target = Path(os.path.abspath(target))
    check_target(target, markers=markers)
    created = _make_parents(target.parent)
    held = None
    stage = None
    try:
        with _writing(target):
            held = _Lock.take(target) if lock else None
            recover(target)
            stage = Staged(target, target.parent / staging_name(target.name), created)
            stage.path.mkdir()
            if seed and target.is_dir():
                shutil.copytree(target, stage.path, dirs_exist_ok=True, copy_function=_link_or_copy,
                                ignore=shutil.ignore_patterns(MANIFEST))
        yield stage
        with _writing(target):
            write_manifest(stage.path)
            commit(stage.path, target)
        stage = None
    finally:
        if stage is not None:
            shutil.rmtree(stage.path, ignore_errors=True)
        if held is not None:
            held.release()
        if stage is not None or not target.exists():
            _remove_empty(created)


@contextlib.contextmanager
def _writing(target: Path) -> Iterator[None]:
    """This module's own file operations: an OSError is the folder's InputError."""
    try:
        yield
    except OSError as exc:
        raise InputError(target, "output folder", f"cannot be written ({exc.strerror or exc})") from None


def commit(staging: Path, target: Path) -> None:
    """Put the complete folder *staging* in place of *target* (module docstring, step 5)."""
    if not target.exists():
        os.rename(staging, target)
    elif _exchange(staging, target):
        shutil.rmtree(staging)  # the previous run, now under the temporary name
    else:
        backup = backup_path(target)
        os.rename(target, backup)
        os.rename(staging, target)
        shutil.rmtree(backup)
    fsync(target.parent)


def recover(target: Path) -> None:
    """Undo what a writer of *target* killed mid-way left: a `.NAME.old` without its target is
    the previous complete folder (renamed back), with it a finished commit's (removed);
    `.NAME.tmp-*` folders are removed. Call holding the lock (or as the only writer)."""
    target = Path(target)
    backup = backup_path(target)
    if backup.is_dir():
        if target.exists():
            shutil.rmtree(backup)
        else:
            os.rename(backup, target)
    for path in target.parent.glob(f".{glob_escape(target.name)}.tmp-*"):
        if _STAGING.fullmatch(path.name) and _STAGING.fullmatch(path.name)["name"] == target.name:
            shutil.rmtree(path, ignore_errors=True)


def clean_leftovers(parent: Path) -> None:
    """`recover` every folder of *parent* (a batch's DIR/runs, with its catalog held)."""
    parent = Path(parent)
    names = {m["name"] for p in parent.iterdir() if (m := _STAGING.fullmatch(p.name) or _BACKUP.fullmatch(p.name))}
    for name in names:
        recover(parent / name)


def is_temporary(name: str) -> bool:
    """Whether a folder name is one of this module's temporary names."""
    return bool(_STAGING.fullmatch(name) or _BACKUP.fullmatch(name))


def glob_escape(name: str) -> str:
    """*name* with glob's special characters taken literally."""
    return re.sub(r"([*?\[])", r"[\1]", name)


class _Lock:
    """An exclusive flock on `.NAME.lock`, holding the pid of its holder."""

    def __init__(self, path: Path, fd: int):
        self.path, self.fd = path, fd

    @classmethod
    def take(cls, target: Path) -> _Lock:
        path = lock_path(target)
        while True:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
                os.close(fd)
                raise InputError(target, "output folder", f"in use by another gridshift run (pid {holder}; lock "
                                 f"{path}): wait for it to finish or choose another --out") from None
            try:
                same = os.stat(path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if same:  # not a file its previous holder unlinked while we waited
                os.ftruncate(fd, 0)
                os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
                return cls(path, fd)
            os.close(fd)

    def release(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)  # while still holding it: a waiter then sees a new file
        os.close(self.fd)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically (Linux renameat2 RENAME_EXCHANGE); False where unsupported."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False
    raise OSError(code, os.strerror(code), str(b))


def _make_parents(folder: Path) -> list[Path]:
    """mkdir -p *folder*; the folders it created, outermost first."""
    missing = []
    while not folder.exists():
        missing.append(folder)
        folder = folder.parent
    created = []
    try:
        for path in reversed(missing):
            path.mkdir()
            created.append(path)
    except OSError as exc:
        _remove_empty(created)
        raise InputError(path, "output folder", f"cannot be created ({exc.strerror or exc})") from None
    return created


def _remove_empty(created: list[Path]) -> None:
    for path in reversed(created):
        with contextlib.suppress(OSError):
            path.rmdir()


def _link_or_copy(src: str, dst: str) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)
