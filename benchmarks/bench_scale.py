"""Scale: wall time, time per simulated hour and peak memory of `cosim run` against N x M and T.

    python benchmarks/bench_scale.py [--sizes 10x10,30x30,100x100] [--hours 24] [--timeout 1800]
    python benchmarks/bench_scale.py --sizes 10x10 --hours 6              # a quick look
    python benchmarks/bench_scale.py --hours 24,168 --paper10 --write-doc # T too, paper10, docs/performance.md
    python benchmarks/bench_scale.py --grids balancing-areas --data-dir ../shared/data --hours 24,168
                                                                          # a year's grids: any T the files cover

For every size NxM (N data centers, M user regions) and every horizon T of --hours, a world
is generated in a temporary folder (cosim.world.write_world, --seed, --signals, --grids: the
shipped nets by default, so every site has a dispatched grid, at most 457 h; `--grids
balancing-areas --data-dir DIR`: the balancing-area grids of every DIR/eia930/*.csv, from
--start, default 2022-01-01 00:00 UTC, any horizon the files cover) and

    cosim run WORLD --mode online --coupling lagged --policy se-glb --no-report --out ...

runs in a child process (with `--data-dir` for balancing areas; the nearest baseline runs
too, as with any online run on grids). Recorded per row: the 1-minute load average when the
run starts (other processes share the cores), exit code, wall seconds (start-up included),
seconds per simulated hour,
the child's peak RSS (os.wait4's ru_maxrss, MiB), and summary.json's `timings` where the run
writes them (wall_s, glb_solver_s, dispatch_solver_s, dispatch_count, decisions). A crash,
a refusal or a run killed at --timeout is a row with its last stderr line, not a failure of
this script. --paper10 adds the default `cosim run paper10 --no-report` (offline, the four
policies, 432 h; --paper10-hours to shorten it).

Prints a Markdown table; --write-doc replaces the section between `<!-- bench_scale:begin -->`
and `<!-- bench_scale:end -->` of docs/performance.md (appended when absent); --json PATH
also writes the rows as JSON.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from cosim.errors import InputError  # noqa: E402
from cosim.world import write_world  # noqa: E402

DOC = REPO / "docs" / "performance.md"
BEGIN, END = "<!-- bench_scale:begin -->", "<!-- bench_scale:end -->"
TIMING_KEYS = ("wall_s", "glb_solver_s", "dispatch_solver_s", "dispatch_count", "decisions")
ONLINE = ("--mode", "online", "--coupling", "lagged", "--policy", "se-glb", "--no-report")


def parse_sizes(text: str) -> list[tuple[int, int]]:
    """`10x10,30x30` -> [(10, 10), (30, 30)]; SystemExit with one line on a bad size."""
    out = []
    for part in filter(str.strip, text.split(",")):  # "" (with --paper10 alone): no world
        try:
            n, m = (int(v) for v in part.strip().lower().split("x"))
        except ValueError:
            sys.exit(f"--sizes: {part!r}: give NxM, e.g. 10x10")
        out.append((n, m))
    return out


def run_child(args: list[str], *, cwd: Path, timeout_s: float) -> dict:
    """Run *args* in a child process: exit code (None when killed at *timeout_s*), wall s,
    peak RSS MiB (os.wait4 of that child), the last stderr line."""
    err_path = cwd / "stderr.txt"
    with open(err_path, "wb") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(args, cwd=cwd, stdout=subprocess.DEVNULL, stderr=err, start_new_session=True)
        code, usage, timed_out = None, None, False
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                code = os.waitstatus_to_exitcode(status)
                break
            if time.perf_counter() - t0 > timeout_s:
                os.killpg(proc.pid, signal.SIGKILL)  # its own session: the child and whatever it started
                _, status, usage = os.wait4(proc.pid, 0)
                timed_out = True
                break
            time.sleep(0.05)
        wall = time.perf_counter() - t0
    proc.returncode = code if code is not None else -9
    lines = [ln for ln in err_path.read_text(errors="replace").splitlines() if ln.strip()]
    return {"exit": None if timed_out else code, "wall_s": wall, "peak_rss_mib": usage.ru_maxrss / 1024.0,
            "note": f"killed at the {timeout_s:g} s timeout" if timed_out else (lines[-1].strip() if code and lines else "")}


def read_timings(folder: Path) -> dict:
    """summary.json's `timings` (top level, or the first policy's) where the run wrote them."""
    path = folder / "summary.json"
    if not path.exists():
        return {}
    summary = json.loads(path.read_text())
    timings = summary.get("timings")
    if timings is None:
        timings = next((p.get("timings") for p in summary.get("policies", {}).values() if isinstance(p, dict)
                        and "timings" in p), None)
    return {k: timings[k] for k in TIMING_KEYS if isinstance(timings, dict) and k in timings}


def bench_world(n: int, m: int, hours: int, *, seed: int, signals: str, timeout_s: float, grids: str = "shipped",
                data_dir: str | None = None, start: str | None = None) -> dict:
    """One row: generate an NxM world of *hours* and time the online lagged SE-GLB run on it."""
    case = f"{n}x{m}" + (" BA" if grids == "balancing-areas" else "")
    row = {"case": case, "sites": n, "regions": m, "hours": hours, "command": "online lagged se-glb"}
    with tempfile.TemporaryDirectory(prefix="bench_scale-") as tmp:
        base = Path(tmp)
        try:
            world = write_world(base / "world", n, m, hours, seed=seed, signals=signals, grids=grids,
                                data_dir=data_dir, start=start)
        except InputError as exc:
            return row | {"exit": 2, "wall_s": 0.0, "peak_rss_mib": 0.0, "note": str(exc)}
        out = base / "run"
        extra = [] if data_dir is None else ["--data-dir", str(Path(data_dir).resolve())]
        row["load_1m"] = os.getloadavg()[0]
        row |= run_child([sys.executable, "-m", "cosim.cli", "run", str(world), *ONLINE, *extra, "--out", str(out)],
                         cwd=base, timeout_s=timeout_s)
        row["timings"] = read_timings(out)
    return row


def bench_paper10(hours: int | None, *, timeout_s: float) -> dict:
    """The default `cosim run paper10 --no-report` (offline, four policies)."""
    row = {"case": "paper10", "sites": 10, "regions": 10, "hours": hours or 432, "command": "default (offline, 4 policies)"}
    with tempfile.TemporaryDirectory(prefix="bench_scale-") as tmp:
        base = Path(tmp)
        out = base / "run"
        extra = [] if hours is None else ["--hours", str(hours)]
        row["load_1m"] = os.getloadavg()[0]
        row |= run_child([sys.executable, "-m", "cosim.cli", "run", "paper10", "--no-report", *extra, "--out", str(out)],
                         cwd=base, timeout_s=timeout_s)
        row["timings"] = read_timings(out)
    return row


def _cell(value, fmt: str) -> str:
    return "-" if value is None else format(value, fmt)


def table(rows: list[dict]) -> str:
    """The rows as a Markdown table."""
    lines = ["| case | N x M | hours | command | load | exit | wall s | s per sim. hour | peak RSS MiB | GLB solver s "
             "| dispatch solver s | dispatches | note |",
             "|---|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for r in rows:
        t = r.get("timings", {})
        per_hour = r["wall_s"] / r["hours"] if r.get("exit") == 0 else None
        note = r.get("note", "").replace("|", "\\|")
        lines.append(f"| {r['case']} | {r['sites']} x {r['regions']} | {r['hours']} | {r['command']} "
                     f"| {_cell(r.get('load_1m'), '.1f')} | {'timeout' if r['exit'] is None else r['exit']} "
                     f"| {r['wall_s']:.1f} | {_cell(per_hour, '.3f')} "
                     f"| {r['peak_rss_mib']:.0f} | {_cell(t.get('glb_solver_s'), '.2f')} "
                     f"| {_cell(t.get('dispatch_solver_s'), '.2f')} | {_cell(t.get('dispatch_count'), 'd')} | {note} |")
    return "\n".join(lines)


def machine() -> str:
    """CPU, cores, memory and Python of this machine."""
    cpu = platform.processor() or platform.machine()
    try:
        cpu = next(ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                   if ln.startswith("model name"))
    except (OSError, StopIteration):
        pass
    try:
        mem = f", {int(Path('/proc/meminfo').read_text().split()[1]) / 1024 ** 2:.0f} GB"
    except (OSError, ValueError, IndexError):
        mem = ""
    return f"{cpu}, {os.cpu_count()} cores{mem}; Python {platform.python_version()}"


def write_doc(md: str, args: argparse.Namespace, path: Path = DOC) -> None:
    """Replace the bench_scale section of *path* (append it when the markers are absent)."""
    section = "\n".join([
        f"## Scale (`python benchmarks/bench_scale.py`, {dt.date.today().isoformat()})", "",
        f"Machine: {machine()}. Generated worlds (`cosim generate world --seed {args.seed} --signals {args.signals}"
        f"{'' if args.grids == 'shipped' else ' --grids ' + args.grids + ' --data-dir DATA_DIR'}`); "
        f"`cosim run WORLD {' '.join(ONLINE)}` in a child process (the nearest baseline runs too); wall time includes "
        "start-up; peak RSS is the child's (os.wait4); load: the 1-minute load average as the run starts (2 cores "
        "shared with other processes). Command: `python benchmarks/bench_scale.py "
        f"--sizes {args.sizes} --hours {args.hours}{'' if args.grids == 'shipped' else ' --grids ' + args.grids}"
        f"{' --paper10' if args.paper10 else ''}`.", "",
        md, ""])
    old = path.read_text() if path.exists() else ""
    if BEGIN in old and END in old:  # replace the measured block only, keep the notes around it
        head, rest = old.split(BEGIN, 1)
        text = head + BEGIN + "\n" + section + END + rest.split(END, 1)[1]
    else:
        text = old + ("\n" if old and not old.endswith("\n") else "") + "\n" + BEGIN + "\n" + section + END + "\n"
    path.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10x10,30x30,100x100", help="NxM sizes, comma-separated")
    parser.add_argument("--hours", default="24", help="horizons T, comma-separated (default 24)")
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds per run before it is killed")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--signals", choices=("grids", "synthetic"), default="grids")
    parser.add_argument("--grids", choices=("shipped", "balancing-areas"), default="shipped",
                        help="the worlds' grids (balancing-areas: every DATA_DIR/eia930/*.csv; needs --data-dir)")
    parser.add_argument("--data-dir", default=None, help="the data dir (default: $COSIM_DATA_DIR)")
    parser.add_argument("--start", default=None, help="first hour, UTC (default: the grids' own)")
    parser.add_argument("--paper10", action="store_true", help="also time the default `cosim run paper10 --no-report`")
    parser.add_argument("--paper10-hours", type=int, default=None, help="shorten the paper10 run (default: its 432 h)")
    parser.add_argument("--write-doc", action="store_true", help="replace the bench_scale section of docs/performance.md")
    parser.add_argument("--json", metavar="PATH", help="also write the rows as JSON")
    args = parser.parse_args()
    horizons = [int(h) for h in args.hours.split(",")]
    rows = []
    for hours in horizons:
        for n, m in parse_sizes(args.sizes):
            rows.append(bench_world(n, m, hours, seed=args.seed, signals=args.signals, timeout_s=args.timeout,
                                    grids=args.grids, data_dir=args.data_dir, start=args.start))
            print(f"{rows[-1]['case']} {hours} h: exit {rows[-1]['exit']}, {rows[-1]['wall_s']:.1f} s, "
                  f"{rows[-1]['peak_rss_mib']:.0f} MiB", file=sys.stderr, flush=True)
    if args.paper10:
        rows.append(bench_paper10(args.paper10_hours, timeout_s=args.timeout))
    md = table(rows)
    print(md)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1, default=str) + "\n")
    if args.write_doc:
        write_doc(md, args)
        print(f"\nwrote {DOC}")


if __name__ == "__main__":
    main()
