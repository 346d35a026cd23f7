"""Digests of the outputs of eight reference commands, to show that a refactor changes no
result (issue 12). `python tests/golden/digest_outputs.py record` runs the commands and
writes tests/golden/digests.json; `... check` runs them again and compares every number
to 1e-9 relative (exit 1 and a list of differences when one moves).

A digest keeps, per output file, the row count, the exact values of its text and time
columns (as a SHA-256) and, per numeric column, sum, sum of |x|, a position-weighted sum
(so a reordering shows), min and max; summary.json and frontier.csv are kept number by
number, timings and wall-clock figures left out.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
DIGESTS = HERE / "digests.json"
DATA_DIR = Path(os.environ.get("COSIM_DATA_DIR", ROOT.parent / "shared" / "data"))

SWEEP = """name: golden_batch
base: paper10
hours: 6
mode: offline
combine: grid
masks:
  latency-only:
    mask: {rules: []}
  eu-residency:
    mask:
      rules:
        - {name: eu-data-residency, kind: jurisdiction, jurisdiction: EU}
axes:
  mask: [latency-only, eu-residency]
  policy: [cost-glb, se-glb]
"""

COMMANDS = {
    "paper10-offline": ["run"],
    "online-lagged-96": ["run", "--mode", "online", "--coupling", "lagged", "--hours", "96"],
    "online-iterate-48": ["run", "--mode", "online", "--coupling", "iterate", "--hours", "48"],
    "operators3-sequential-48": ["run", "--mode", "online", "--operators", "3", "--sequential", "--damping", "2",
                                 "--hours", "48"],
    "ai-share-online-48": ["run", "--ai-share", "0.1", "--mode", "online", "--hours", "48"],
    "eglb-replication": ["run", "eglb_replication", "--data-dir", str(DATA_DIR)],
    "frontier-24": ["frontier", "--tau", "30,60,200", "--hours", "24"],
    "batch-4": ["batch", "{sweep}", "--workers", "2"],
}

# figures that measure time, not results
TIMING_KEYS = {"solve_s", "total_s", "run_s", "seconds", "wall_s", "timings", "elapsed_s", "started", "finished",
               "duration_s", "solve_seconds", "total_seconds"}
# provenance that says where and when, not what: the scenario file's path and the command line (a temporary folder here), the time written
WHERE_WHEN_KEYS = {"written_at", "scenario_file", "command_line"}


def _numbers(obj, prefix=""):
    """Flatten JSON into {path: value}, timing fields left out."""
    out = {}
    if isinstance(obj, dict):
        for k, v in obj.items():
            if k in TIMING_KEYS or k in WHERE_WHEN_KEYS or k.endswith("_s"):
                continue
            out.update(_numbers(v, f"{prefix}.{k}" if prefix else str(k)))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            out.update(_numbers(v, f"{prefix}[{i}]"))
    elif isinstance(obj, float):
        out[prefix] = obj if math.isfinite(obj) else str(obj)
    else:
        out[prefix] = obj
    return out


def _frame_digest(df: pd.DataFrame) -> dict:
    out = {"rows": len(df), "columns": list(map(str, df.columns))}
    weights = 1.0 + (np.arange(len(df)) % 97) / 97.0
    for c in df.columns:
        col = df[c]
        if pd.api.types.is_bool_dtype(col) or not pd.api.types.is_numeric_dtype(col):
            text = "\x1f".join(map(str, col.tolist()))
            out[str(c)] = {"sha256": hashlib.sha256(text.encode()).hexdigest()}
            continue
        v = col.to_numpy(dtype=float)
        finite = np.isfinite(v)
        f = np.where(finite, v, 0.0)
        out[str(c)] = {"sum": float(f.sum()), "abs": float(np.abs(f).sum()), "weighted": float((f * weights).sum()),
                       "min": float(f.min()) if len(f) else 0.0, "max": float(f.max()) if len(f) else 0.0,
                       "nonfinite": int((~finite).sum())}
    return out


def digest_folder(folder: Path) -> dict:
    out = {}
    for path in sorted(folder.rglob("*")):
        rel = str(path.relative_to(folder))
        if path.suffix == ".parquet":
            out[rel] = _frame_digest(pd.read_parquet(path))
        elif path.name == "summary.json":
            out[rel] = _numbers(json.loads(path.read_text()))
        elif path.suffix == ".csv":
            out[rel] = _frame_digest(pd.read_csv(path))
        elif path.suffix == ".duckdb":
            import duckdb

            with duckdb.connect(str(path), read_only=True) as con:
                runs = con.execute("select * from runs order by run_id").df()
            keep = [c for c in runs.columns if not (c.endswith("_s") or c.endswith("_at") or c in TIMING_KEYS or c in
                                                     ("out_dir", "output", "path", "error", "host", "worker"))]
            out[rel] = _frame_digest(runs[keep])
    return out


def run_all(names=None) -> dict:
    digests = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        sweep = tmp / "golden_batch.yaml"
        sweep.write_text(SWEEP)
        for name, args in COMMANDS.items():
            if names and name not in names:
                continue
            out = tmp / name
            argv = [a.replace("{sweep}", str(sweep)) for a in args] + ["--out", str(out)]
            proc = subprocess.run([sys.executable, "-m", "cosim.cli", *argv], cwd=tmp, capture_output=True, text=True)
            if proc.returncode != 0:
                raise SystemExit(f"{name}: cosim {' '.join(argv)} exited {proc.returncode}\n{proc.stderr[-2000:]}")
            digests[name] = digest_folder(out)
            print(f"{name}: {sum(len(v) for v in digests[name].values())} figures", flush=True)
            shutil.rmtree(out)
    return digests


def _close(a, b, rel=1e-9, abs_=1e-9) -> bool:
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        return abs(a - b) <= max(rel * max(abs(a), abs(b)), abs_)
    return a == b


def compare(old, new, path="") -> list[str]:
    if isinstance(old, dict) and isinstance(new, dict):
        diffs = []
        for k in sorted(set(old) | set(new)):
            if k not in new:
                diffs.append(f"{path}/{k}: missing now")
            elif k not in old:
                diffs.append(f"{path}/{k}: new")
            else:
                diffs += compare(old[k], new[k], f"{path}/{k}")
        return diffs
    return [] if _close(old, new) else [f"{path}: {old!r} -> {new!r}"]


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("record", "check"):
        print(__doc__)
        return 2
    names = argv[1:] or None
    digests = run_all(names)
    if argv[0] == "record":
        old = json.loads(DIGESTS.read_text()) if DIGESTS.exists() and names else {}
        old.update(digests)
        DIGESTS.write_text(json.dumps(old, indent=1, sort_keys=True) + "\n")
        return 0
    recorded = json.loads(DIGESTS.read_text())
    diffs = []
    for name, d in digests.items():
        diffs += compare(recorded[name], d, name)
    for line in diffs:
        print(line)
    print(f"{len(diffs)} difference(s)")
    return 1 if diffs else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
