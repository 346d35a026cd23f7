"""Regulation masks: what each legal rule set costs and whom it protects, read from a batch
catalog (`cosim batch scenarios/regulation_masks.yaml --out DIR` writes DIR/catalog.duckdb,
table `runs`: one row per run with run_id, status, error, the swept parameters as columns
and the headline metrics as columns).

- run_batch: `cosim batch SWEEP --out DIR` as a subprocess (the command users run);

- read_catalog: the runs table as a DataFrame (all runs, failed ones included);
- mask_table: one row per (mask, policy) of the completed runs, the headline metrics
  averaged over any other swept axis (seeds), with the run count;
- regulation_cost: each mask against a reference mask, per policy: the change in energy
  cost, carbon and water (%), in the equity ratios, the performance cost and RID. The shipped
  sweep (scenarios/regulation_masks.yaml of the batch issue) layers its rule sets: a legal
  rule's cost is its set against `latency-only` (the default reference), the latency
  budgets' cost is `latency-only` against `none`.

The catalog's schema is issue 6's; the metric columns used are those of METRICS present in
the catalog, so a catalog with fewer headline metrics still reads.
"""
from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd

from cosim.errors import InputError
from cosim.scenario_files import shipped_scenarios_dir
from cosim.studies.common import pyplot, save_figure

SWEEP = "regulation_masks.yaml"
"""The shipped sweep: paper10 over five layered rule sets x the four Table-1 policies (docs/batch.md)."""

METRICS = (
    "energy_cost_usd", "energy_cost_max_avg", "carbon_attributional_t", "carbon_consequential_t", "carbon_max_avg",
    "water_m3", "water_max_avg", "perf_cost_avg_points", "perf_cost_max_avg", "perf_score_avg", "rid",
    "served_requests", "unserved_requests",
)
"""Headline metric columns of the catalog (issue 6's cosim/catalog.py HEADLINE): totals over the
horizon (energy_cost_usd, carbon_*_t, water_m3, requests), max/avg ratios over sites or regions
(*_max_avg), benchmark points (perf_*), rid (share of inference energy served away from the
local site)."""
RELATIVE = ("energy_cost_usd", "carbon_attributional_t", "carbon_consequential_t", "water_m3")
"""Compared in % of the reference run; the others in their own units (ratio, points or share)."""


def shipped_sweep() -> Path:
    """The shipped regulation sweep's path (scenarios/ in a checkout, cosim/_scenarios installed)."""
    return shipped_scenarios_dir() / SWEEP


def run_batch(out: str | Path, *, sweep: str | Path | None = None, hours: int | None = None,
              workers: int = 1, data_dir: str | Path | None = None) -> subprocess.CompletedProcess:
    """Run `cosim batch SWEEP --out OUT [--hours H] --workers W [--data-dir D]` in a subprocess
    (this Python) and return it; its progress lines (one per run, cosim.progress) are passed on
    to stderr as they come. InputError with the batch's own one-line message when it refuses
    its input (exit 2); a batch whose runs partly failed (exit 1) is returned, its failures
    are in the catalog; any other exit raises RuntimeError with the batch's stderr."""
    sweep = Path(sweep) if sweep is not None else shipped_sweep()
    args = [sys.executable, "-m", "cosim.cli", "batch", str(sweep), "--out", str(out), "--workers", str(workers)]
    if hours is not None:
        args += ["--hours", str(hours)]
    if data_dir is not None:
        args += ["--data-dir", str(data_dir)]
    with tempfile.TemporaryFile("w+") as table, \
            subprocess.Popen(args, stdout=table, stderr=subprocess.PIPE, text=True) as child:
        lines = []
        for line in child.stderr:
            lines.append(line)
            if _PROGRESS_LINE.match(line):
                sys.stderr.write(line)
                sys.stderr.flush()
        child.wait()
        table.seek(0)
        stdout = table.read()
    proc = subprocess.CompletedProcess(args, child.returncode, stdout, "".join(lines))
    if proc.returncode == 2:
        line = proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else "cosim batch: bad input"
        raise InputError(sweep, "cosim batch", line.removeprefix("error: "))
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"cosim batch exited {proc.returncode}: {proc.stderr.strip()[-2000:]}")
    return proc


_PROGRESS_LINE = re.compile(r"^\d\d:\d\d:\d\d ")
"""A progress line of cosim.progress: the UTC wall clock first."""


def read_catalog(path: str | Path, table: str = "runs") -> pd.DataFrame:
    """The catalog's *table* as a DataFrame; *path* is DIR/catalog.duckdb or the batch DIR."""
    import duckdb

    path = Path(path)
    if path.is_dir():
        path = path / "catalog.duckdb"
    if not path.is_file():
        raise InputError(path, "file", "not found (run `cosim batch SWEEP --out DIR` first)")
    with duckdb.connect(str(path), read_only=True) as con:
        tables = {row[0] for row in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
        if table not in tables:
            raise InputError(path, f"table {table}", f"not in the catalog (tables: {', '.join(sorted(tables)) or 'none'})")
        frame = con.execute(f'SELECT * FROM "{table}"').df()
    missing = [c for c in ("run_id", "status") if c not in frame.columns]
    if missing:
        raise InputError(path, f"table {table}", f"no column {', '.join(missing)}")
    return frame


def mask_table(runs: pd.DataFrame, *, mask: str = "mask", policy: str = "policy") -> pd.DataFrame:
    """One row per (mask, policy) of the runs with status 'ok', in the sweep's order: runs
    (count) and the mean of each headline metric present (over seeds or any other axis swept)."""
    for column in (mask, policy):
        if column not in runs.columns:
            raise InputError("catalog", f"column {column}", "not a swept parameter of this batch")
    ok = runs[runs["status"] == "ok"]
    if "sweep_index" in ok.columns:  # the sweep's order (masks as listed), not the finishing order
        ok = ok.sort_values("sweep_index", kind="mergesort")
    metrics = [m for m in METRICS if m in ok.columns]
    grouped = ok.groupby([mask, policy], sort=False)
    out = grouped[metrics].mean()
    out.insert(0, "runs", grouped.size())
    return out.reset_index()


def regulation_cost(table: pd.DataFrame, *, reference: str = "latency-only", mask: str = "mask",
                    policy: str = "policy") -> pd.DataFrame:
    """Each other mask of mask_table against *reference*, per policy: `<metric>_change_pct`
    for the totals of RELATIVE, `<metric>_change` (own unit) for the ratios, RID and the rest."""
    if reference not in set(table[mask]):
        raise InputError("catalog", f"{mask} {reference}", "no completed run of the reference mask to compare with")
    base = table[table[mask] == reference].set_index(policy)
    rows = []
    for r in table[table[mask] != reference].itertuples(index=False):
        r = r._asdict()
        if r[policy] not in base.index:
            continue
        b = base.loc[r[policy]]
        row = {mask: r[mask], "reference": reference, policy: r[policy]}
        for metric in (m for m in METRICS if m in table.columns):
            if metric in RELATIVE:
                row[f"{metric}_change_pct"] = 100.0 * (r[metric] / b[metric] - 1.0) if b[metric] else float("nan")
            else:
                row[f"{metric}_change"] = r[metric] - b[metric]
        rows.append(row)
    return pd.DataFrame(rows)


def plot_masks(table: pd.DataFrame, path: str | Path, *, mask: str = "mask", policy: str = "policy") -> Path:
    """Bars per mask, one colour per policy: energy cost, carbon, the equity ratios and RID
    (the metrics of mask_table present)."""
    plt = pyplot()
    panels = [m for m in ("energy_cost_usd", "carbon_consequential_t", "water_m3", "carbon_max_avg", "perf_cost_max_avg",
                          "rid")
              if m in table.columns]
    fig, axes = plt.subplots(1, len(panels), figsize=(4 * len(panels), 4), constrained_layout=True, squeeze=False)
    for ax, metric in zip(axes[0], panels):
        table.pivot(index=mask, columns=policy, values=metric).plot.bar(ax=ax, width=0.8, legend=False)
        ax.set_title(metric, loc="left", fontsize=10)
        ax.grid(True, axis="y", alpha=0.3)
    axes[0][0].legend(title=policy, fontsize=8)
    return save_figure(fig, path)
