"""benchmarks/bench_scale.py without running a world: sizes, the table of a failed row,
timings read from summary.json, and the docs section replaced between its markers."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import bench_scale  # noqa: E402


def test_sizes_parse_and_refuse():
    assert bench_scale.parse_sizes("10x10, 30X20") == [(10, 10), (30, 20)]
    assert bench_scale.parse_sizes("") == []
    with pytest.raises(SystemExit, match="--sizes: '10by10'"):
        bench_scale.parse_sizes("10by10")


def test_timings_at_the_top_or_in_a_policy(tmp_path):
    assert bench_scale.read_timings(tmp_path) == {}
    (tmp_path / "summary.json").write_text(json.dumps({"timings": {"wall_s": 3.5, "glb_solver_s": 1.25, "x": 1}}))
    assert bench_scale.read_timings(tmp_path) == {"wall_s": 3.5, "glb_solver_s": 1.25}
    (tmp_path / "summary.json").write_text(json.dumps({"policies": {"se-glb": {"timings": {"dispatch_count": 12}}}}))
    assert bench_scale.read_timings(tmp_path) == {"dispatch_count": 12}


def test_table_and_doc_section(tmp_path):
    rows = [{"case": "10x10", "sites": 10, "regions": 10, "hours": 6, "command": "online lagged se-glb", "exit": 0,
             "load_1m": 1.24, "wall_s": 30.0, "peak_rss_mib": 400.0, "timings": {"glb_solver_s": 1.5, "dispatch_count": 66}},
            {"case": "100x100", "sites": 100, "regions": 100, "hours": 6, "command": "online lagged se-glb",
             "exit": None, "wall_s": 1800.2, "peak_rss_mib": 5000.0, "note": "killed at the 1800 s timeout"}]
    md = bench_scale.table(rows)
    assert "| 10x10 | 10 x 10 | 6 | online lagged se-glb | 1.2 | 0 | 30.0 | 5.000 | 400 | 1.50 | - | 66 |  |" in md
    assert "| online lagged se-glb | - | timeout | 1800.2 | - | 5000 | - | - | - | killed at the 1800 s timeout |" in md
    args = argparse.Namespace(seed=1, signals="grids", sizes="10x10", hours="6", paper10=False, grids="shipped")
    doc = tmp_path / "performance.md"
    doc.write_text(f"# Perf\n\nbefore\n{bench_scale.BEGIN}\nold table\n{bench_scale.END}\nafter\n")
    bench_scale.write_doc(md, args, doc)
    text = doc.read_text()
    assert text.startswith("# Perf\n\nbefore\n" + bench_scale.BEGIN + "\n## Scale")
    assert "old table" not in text and text.endswith(bench_scale.END + "\nafter\n") and md in text
    plain = tmp_path / "plain.md"
    plain.write_text("# Perf\n")
    bench_scale.write_doc(md, args, plain)
    assert plain.read_text().startswith("# Perf\n\n" + bench_scale.BEGIN) and md in plain.read_text()
    assert "--grids" not in plain.read_text()
    bench_scale.write_doc(md, argparse.Namespace(**vars(args) | {"grids": "balancing-areas"}), plain)
    assert "--signals grids --grids balancing-areas --data-dir DATA_DIR`" in plain.read_text()
    assert "--hours 6 --grids balancing-areas`" in plain.read_text()
