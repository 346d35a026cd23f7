"""`cosim report DIR`: comparison tables and figures from a batch catalog (docs/batch.md).

Reads DIR/catalog.duckdb and writes, into DIR/report/ (or another folder):
- comparison.csv: one row per (mask rule set, policy), the mean of each headline metric
  over that group's completed runs and their count n_runs;
- runs.csv: every catalog row (failed runs too, with their error);
- report.md: the same comparison as Markdown, one mask x policy table per metric;
- equity.png, energy_cost.png, carbon.png, rid.png: grouped bars, masks x policies.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from cosim.catalog import CATALOG, HEADLINE, read_runs
from cosim.errors import InputError
from cosim.outputs import write_atomic
from cosim.sweep import AXES

NO_MASK = "(base)"
"""Mask label of runs from sweeps without a mask axis: the base scenario's own mask."""

METRICS = tuple(name for name, _ in HEADLINE)

_TABLES = (
    ("energy_cost_usd", "Energy cost (USD, horizon total over sites)"),
    ("carbon_attributional_t", "Carbon, attributional (t: energy x average intensity)"),
    ("carbon_consequential_t", "Carbon, consequential (t: system emissions with minus without the DC load)"),
    ("water_m3", "Water (m3, horizon total over sites)"),
    ("energy_cost_max_avg", "Equity: energy cost max/avg over sites"),
    ("carbon_max_avg", "Equity: carbon max/avg over sites"),
    ("water_max_avg", "Equity: water max/avg over sites"),
    ("perf_cost_max_avg", "Equity: performance cost max/avg over user regions"),
    ("perf_cost_avg_points", "Performance cost avg over user regions (points)"),
    ("rid", "RID: share of IT energy served away from the local site"),
    ("unserved_requests", "Unserved requests"),
)

_FIGURES = (
    ("equity.png", "Equity: max/avg ratios (1 = even)",
     (("energy_cost_max_avg", "energy cost max/avg"), ("carbon_max_avg", "carbon max/avg"),
      ("water_max_avg", "water max/avg"), ("perf_cost_max_avg", "perf cost max/avg"))),
    ("energy_cost.png", "Energy cost", (("energy_cost_usd", "energy cost (USD)"),)),
    ("carbon.png", "Carbon", (("carbon_attributional_t", "attributional (t)"), ("carbon_consequential_t", "consequential (t)"))),
    ("rid.png", "Relocated inference demand", (("rid", "RID (share of IT energy away from local)"),)),
)


@dataclass
class Report:
    """What `cosim report` wrote: the folder, the files, and the comparison frame."""

    folder: Path
    files: list[Path]
    comparison: pd.DataFrame
    failed: int
    averaged_over: list[str]


def write_report(folder: Path, out: Path | None = None) -> Report:
    """Read DIR's catalog and write the comparison tables and figures into *out* (DIR/report)."""
    folder = Path(folder)
    frame = read_runs(folder)
    ok = frame[frame["status"] == "ok"].copy()
    if ok.empty:
        raise InputError(folder / CATALOG, "runs", "no completed run to report (every row failed, or none yet)")
    ok["mask"] = ok["mask"].fillna(NO_MASK)
    masks = list(dict.fromkeys(ok["mask"]))
    policies = list(dict.fromkeys(ok["policy"]))
    averaged = [c for c in _param_columns() if c not in ("mask", "policy") and ok[c].nunique(dropna=False) > 1]
    grouped = ok.groupby(["mask", "policy"], sort=False)
    comparison = grouped[list(METRICS)].mean()
    comparison.insert(0, "n_runs", grouped.size())
    comparison = comparison.reset_index()

    out = Path(out) if out is not None else folder / "report"
    out.mkdir(parents=True, exist_ok=True)
    files = [
        write_atomic(out / "comparison.csv", lambda p: comparison.to_csv(p, index=False)),
        write_atomic(out / "runs.csv", lambda p: frame.to_csv(p, index=False)),
    ]
    failed = frame[frame["status"] != "ok"]
    text = _markdown(folder, comparison, masks, policies, failed, averaged, len(ok))
    files.append(write_atomic(out / "report.md", lambda p: p.write_text(text)))
    for name, title, panels in _FIGURES:
        files.append(_figure(out / name, title, panels, comparison, masks, policies))
    return Report(folder=out, files=files, comparison=comparison, failed=len(failed), averaged_over=averaged)


def _param_columns() -> list[str]:
    return [axis.column for axis in AXES.values()] + ["hours", "scenario", "sweep"]


def _markdown(folder: Path, comparison: pd.DataFrame, masks: list[str], policies: list[str],
              failed: pd.DataFrame, averaged: list[str], n_ok: int) -> str:
    lines = [f"# Batch report: {folder}", "",
             f"{n_ok} completed run(s), {len(failed)} failed; rows are mask rule sets, columns policies.", ""]
    if averaged:
        lines += [(f"Each cell is the mean over the runs that differ in: {', '.join(averaged)} "
                  "(comparison.csv has n_runs; runs.csv every run)."), ""]
    for metric, title in _TABLES:
        pivot = comparison.pivot(index="mask", columns="policy", values=metric).reindex(index=masks, columns=policies)
        if pivot.isna().all().all():
            continue
        lines += [f"## {title}", "", f"`{metric}`", ""]
        lines += _md_table(["mask \\ policy", *policies], [[m, *(_fmt(v) for v in pivot.loc[m])] for m in masks])
        lines.append("")
    if len(failed):
        lines += ["## Failed runs", ""]
        lines += _md_table(["run_id", "error"], [[r.run_id, _cell(r.error)] for r in failed.itertuples()])
        lines.append("")
    return "\n".join(lines)


def _md_table(header: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" if n == 0 else "---:" for n in range(len(header))) + "|"]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return out


def _cell(text) -> str:
    line = str(text or "").splitlines()[0] if text else ""
    return line.replace("|", "\\|")[:200]


def _fmt(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, float) and math.isinf(value):
        return "inf"
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.4g}"


def _figure(path: Path, title: str, panels, comparison: pd.DataFrame, masks: list[str], policies: list[str]) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    cols = min(len(panels), 2)
    rows = math.ceil(len(panels) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(6.5 * cols, 3.8 * rows), squeeze=False)
    x = np.arange(len(masks))
    width = 0.8 / max(len(policies), 1)
    for ax, (metric, label) in zip(axes.flat, panels):
        pivot = comparison.pivot(index="mask", columns="policy", values=metric).reindex(index=masks, columns=policies)
        for n, policy in enumerate(policies):
            ax.bar(x + (n - (len(policies) - 1) / 2) * width, pivot[policy].to_numpy(dtype=float), width, label=policy)
        ax.set_xticks(x, masks, rotation=20, ha="right")
        ax.set_ylabel(label)
        if pivot.isna().all().all():
            ax.text(0.5, 0.5, "not measured (no simulated grids)", transform=ax.transAxes, ha="center")
        ax.grid(axis="y", alpha=0.3)
    for ax in list(axes.flat)[len(panels):]:
        ax.set_visible(False)
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=len(policies), title="policy", fontsize="small", frameon=False)
    fig.suptitle(title)
    fig.tight_layout(rect=(0, 0.1 / rows, 1, 1))  # room for the legend below the panels
    write_atomic(path, lambda p: fig.savefig(p, dpi=110, format="png"))
    plt.close(fig)
    return path
