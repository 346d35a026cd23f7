"""DIR/manifest.json: the files of an output folder with their sizes and SHA-256 digests,
written last, and `verify`, which readers use to tell a complete folder from a damaged one.

Layout (docs/outputs.md, DIR/manifest.json):

    {"manifest_version": 1, "files": {"RELATIVE/PATH": {"bytes": int, "sha256": hex}, ...}}

Paths are relative to the folder, with `/`, sorted; manifest.json itself is not listed.
A folder without manifest.json was written by a release before it (or is not ours):
`verify` reports that, and `require_intact` lets such a folder through (readers then
read it as before); the batch "done" check does not (it reruns the run).
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from cosim.errors import InputError
from cosim.outputs import write_atomic

MANIFEST = "manifest.json"
VERSION = 1
_CHUNK = 1 << 20


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a folder: the file and what is wrong with it."""

    path: Path
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: manifest: {self.reason}"

    def error(self) -> InputError:
        """As the CLI's one line: `FILE: manifest: reason`."""
        return InputError(self.path, "manifest", self.reason)


def file_digest(path: Path) -> str:
    """SHA-256 of a file's bytes, hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def listing(folder: Path) -> dict[str, dict]:
    """Every regular file under *folder* but manifest.json: relative path -> bytes, sha256.
    Each file is flushed to disk (fsync) first, so a folder committed after this survives a
    power cut whole."""
    folder = Path(folder)
    files = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and not p.is_symlink()):
        rel = path.relative_to(folder).as_posix()
        if rel == MANIFEST:
            continue
        fsync(path)
        files[rel] = {"bytes": path.stat().st_size, "sha256": file_digest(path)}
    return files


def write_manifest(folder: Path) -> Path:
    """Write DIR/manifest.json (atomically, flushed) for what the folder holds now."""
    folder = Path(folder)
    text = json.dumps({"manifest_version": VERSION, "files": listing(folder)}, indent=2, sort_keys=True) + "\n"
    path = write_atomic(folder / MANIFEST, lambda p: p.write_text(text, encoding="utf-8"))
    fsync(path)
    return path


def read_manifest(folder: Path) -> dict[str, dict]:
    """The files DIR/manifest.json lists; InputError naming it when it is unreadable or not one."""
    path = Path(folder) / MANIFEST
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(path, "file", "not found: the folder is incomplete or from a release without manifests") from None
    except OSError as exc:
        raise InputError(path, "file", f"cannot be read ({exc.strerror or exc})") from None
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise InputError(path, "file", "not valid JSON: the manifest is damaged") from None
    files = body.get("files") if isinstance(body, dict) else None
    good = isinstance(files, dict) and all(
        isinstance(v, dict) and isinstance(v.get("bytes"), int) and isinstance(v.get("sha256"), str) for v in files.values())
    if not good:
        raise InputError(path, "files", "missing or malformed: not a gridshift manifest")
    return files


def verify(folder: Path) -> list[Problem]:
    """The problems of an output folder against its manifest (empty: every listed file is
    there with its size and digest). A folder without manifest.json, or with a damaged
    one, is one problem naming manifest.json. Files the manifest does not list are not
    part of the run and are not checked."""
    folder = Path(folder)
    try:
        files = read_manifest(folder)
    except InputError as exc:
        return [Problem(Path(exc.source), exc.reason if exc.where == "file" else f"{exc.where}: {exc.reason}")]
    problems = []
    for rel, entry in files.items():
        path = folder / rel
        if not path.is_file():
            problems.append(Problem(path, "listed but missing"))
            continue
        size = path.stat().st_size
        if size != entry["bytes"]:
            problems.append(Problem(path, f"{size} bytes, the manifest says {entry['bytes']} (truncated or rewritten)"))
        elif file_digest(path) != entry["sha256"]:
            problems.append(Problem(path, "SHA-256 differs from the manifest's (the file was changed)"))
    return problems


def require_intact(folder: Path) -> None:
    """InputError (exit 2) naming the first damaged file when *folder* has a manifest that
    fails `verify`; a folder without manifest.json (an older release's) passes."""
    folder = Path(folder)
    if not (folder / MANIFEST).exists():
        return
    problems = verify(folder)
    if problems:
        first = problems[0]
        more = f" (and {len(problems) - 1} more file(s))" if len(problems) > 1 else ""
        raise Problem(first.path, first.reason + more).error()


def fsync(path: Path) -> None:
    """Flush *path* (a file, or a folder's entries) to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
