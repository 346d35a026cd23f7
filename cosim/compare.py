"""`cosim compare`: the Table-1 and grid-feedback metrics of several runs side by side.

A folder is a run folder (DIR/summary.json, as `cosim run` writes it) or a batch folder
(DIR/catalog.duckdb; every run recorded ok, read from DIR/runs/<run-id>/summary.json).
Each (run, policy) is one column. The settings that define a run (summary.json's
top-level keys, its `options` and `provenance`, a batch run's swept parameters) are
compared across the runs; those that differ are named. Runs written before summary.json
had `options` or `provenance` compare on what they record. Numbers are those of each
summary.json, unchanged. Layout of the CSV and the figure: docs/outputs.md, cosim compare.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from cosim.errors import InputError
from cosim.manifest import require_intact
from cosim.metrics import FEEDBACK_ROWS, TABLE1_ROWS, metric_at
from cosim.outputs import write_atomic

SUMMARY = "summary.json"
CATALOG = "catalog.duckdb"  # cosim.catalog.CATALOG; duckdb loads only for batch folders

_TOP_SETTINGS = ("scenario", "hours", "start", "seed", "signals", "tiers", "mode", "coupling", "ai_share")
_PROVENANCE_SETTINGS = ("scenario_file", "scenario_sha256", "gridshift_version")
_NOT_SETTINGS = {"policies"}  # each column names its policy

SECTIONS = (("table1", TABLE1_ROWS), ("grid_feedback", FEEDBACK_ROWS))
"""The compared metrics: section name, (label, path) rows; grid-feedback paths start under
METRICS["grid_feedback"]."""

HEADLINES = (
    ("energy cost, total (USD)", ("energy_cost_usd", "total")),
    ("carbon, total (t CO2)", ("carbon_t", "total")),
    ("water, total (m3)", ("water_m3", "total")),
    ("perf cost, all demand, avg (points)", ("perf_cost_all_demand", "avg")),
)
"""The figure's panels: axis label (with unit), path into METRICS."""


@dataclass(frozen=True)
class RunSummary:
    """One run's summary.json: *label* names its column (the folder's name, or the batch
    run id), *folder* where it was read, *settings* what defines it (flat: name -> value)."""

    label: str
    folder: Path
    summary: dict
    settings: dict


@dataclass(frozen=True)
class Comparison:
    """What `cosim compare` shows: *columns* (run label, policy) in order, *differing*
    the settings that differ between the runs (name -> one value per run label),
    *frame* the long table (docs/outputs.md, cosim compare), *unrecorded* the settings
    some runs do not record (name -> labels of the runs without it)."""

    runs: list[RunSummary]
    columns: list[tuple[str, str]]
    differing: dict[str, dict[str, object]]
    unrecorded: dict[str, list[str]]
    frame: pd.DataFrame

    def section(self, name: str) -> pd.DataFrame:
        """One section as a wide table: a row per metric label, a column per (run, policy),
        None where a column has no value; rows absent everywhere are dropped."""
        part = self.frame[self.frame["section"] == name]
        wide = {f"{run}/{policy}" if len(self.runs) > 1 else policy:
                [_value(part, run, policy, label) for label in dict.fromkeys(part["metric"])]
                for run, policy in self.columns}
        frame = pd.DataFrame(wide, index=list(dict.fromkeys(part["metric"])), dtype=object)
        return frame.dropna(how="all")


def _value(part: pd.DataFrame, run: str, policy: str, label: str):
    hit = part[(part["run"] == run) & (part["policy"] == policy) & (part["metric"] == label)]
    value = hit["value"].iloc[0] if len(hit) else None
    return None if value is None or value != value else value


def check_figure(path: Path | None) -> None:
    """InputError naming `--figure` unless *path* (when given) is a .png file name."""
    if path is not None and Path(path).suffix.lower() != ".png":
        raise InputError("--figure", str(path), "a .png file")


def find_runs(folders: list[Path]) -> list[RunSummary]:
    """Every run in *folders*: a run folder is one run, a batch folder every run its catalog
    records ok. InputError naming the folder: neither kind, an unreadable or invalid
    summary.json, a batch with no completed run; naming the file when the folder's
    manifest.json does not verify (a folder without one, from an older release, is read)."""
    runs: list[RunSummary] = []
    for folder in map(Path, folders):
        if (folder / SUMMARY).is_file():
            runs.append(_read_run(folder, folder.name or str(folder)))
        elif (folder / CATALOG).is_file():
            runs += _read_batch(folder)
        elif not folder.is_dir():
            raise InputError(folder, "folder", "no such folder")
        else:
            raise InputError(folder, "folder", f"not a run folder (no {SUMMARY}) nor a batch folder (no {CATALOG})")
    labels = [r.label for r in runs]
    if len(set(labels)) < len(labels):  # two folders of the same name: name them by their paths
        runs = [RunSummary(str(r.folder), r.folder, r.summary, r.settings) for r in runs]
    return runs


def _read_batch(folder: Path) -> list[RunSummary]:
    from cosim.catalog import read_runs  # late: duckdb (~0.2 s) loads only for batch folders

    rows = read_runs(folder)
    done = rows[(rows["status"] == "ok") & rows["output"].notna()]
    if done.empty:
        raise InputError(folder / CATALOG, "runs", f"no completed run in this batch ({len(rows)} recorded)")
    return [_read_run(folder / row.output, row.run_id) for row in done.itertuples()]


def _read_run(folder: Path, label: str) -> RunSummary:
    require_intact(folder)  # a folder whose manifest fails is refused naming the file (cosim.manifest)
    path = folder / SUMMARY
    try:
        summary = json.loads(path.read_text())
    except OSError as exc:
        raise InputError(path, "file", f"cannot be read ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise InputError(path, "file", "not text (UTF-8)") from None
    except json.JSONDecodeError as exc:
        raise InputError(path, f"line {exc.lineno}", f"not valid JSON ({exc.msg})") from None
    if not isinstance(summary, dict) or not isinstance(summary.get("policies"), dict) or not summary["policies"]:
        raise InputError(path, "policies", "missing or empty: not a summary.json of `cosim run`")
    for name, metrics in summary["policies"].items():
        if not isinstance(metrics, dict):
            raise InputError(path, f"policies.{name}", "not an object of metrics")
    return RunSummary(label, folder, summary, _settings(summary, folder))


def _settings(summary: dict, folder: Path) -> dict:
    """What defines a run, flat: the top-level settings, the options not already among them,
    the provenance (not its time) and, in a batch, run.json's swept parameters."""
    out = {}
    for key in _TOP_SETTINGS:
        if key in summary:
            value = summary[key]
            if key == "ai_share" and isinstance(value, dict):
                value = value.get("requested")
            out[key] = value
    for key, value in (summary.get("options") or {}).items():
        if key not in out and key not in _NOT_SETTINGS:
            out[key] = value
    for key in _PROVENANCE_SETTINGS:
        if key in (summary.get("provenance") or {}):
            out[key] = summary["provenance"][key]
    described = folder / "run.json"
    if described.is_file():
        try:
            params = json.loads(described.read_text()).get("params") or {}
        except (OSError, ValueError, AttributeError):
            params = {}
        out.update({f"swept {k}": v for k, v in params.items() if k != "policy"})
    return out


def compare(runs: list[RunSummary], policies: list[str] | None = None) -> Comparison:
    """The comparison of *runs* (only *policies*, when given: InputError naming `--policy`
    when one is in no run)."""
    if not runs:
        raise InputError("cosim compare", "folders", "no run found")
    for n, name in enumerate(policies or ()):
        if not any(name in r.summary["policies"] for r in runs):
            known = sorted({p for r in runs for p in r.summary["policies"]})
            raise InputError("--policy", f"value {n + 1}", f"'{name}' is in none of the runs (they have: {', '.join(known)})")
    columns = [(r.label, p) for r in runs for p in r.summary["policies"] if policies is None or p in policies]
    differing, unrecorded = _differences(runs)
    rows = []
    for run in runs:
        for policy in run.summary["policies"]:
            if (run.label, policy) not in columns:
                continue
            metrics = run.summary["policies"][policy]
            for section, table in SECTIONS:
                base = metrics.get("grid_feedback") if section == "grid_feedback" else metrics
                prefix = ("grid_feedback",) if section == "grid_feedback" else ()
                for label, path in table:
                    value = metric_at(base, path)
                    if isinstance(value, bool) or not isinstance(value, (int, float, type(None))):
                        value = None
                    rows.append({"run": run.label, "folder": str(run.folder), "policy": policy, "section": section,
                                 "metric": label, "path": ".".join(prefix + path),
                                 "value": value,
                                 **{name: _text(run.settings.get(name)) for name in differing}})
    frame = pd.DataFrame(rows)
    return Comparison(runs, columns, differing, unrecorded, frame)


def _differences(runs: list[RunSummary]) -> tuple[dict[str, dict[str, object]], dict[str, list[str]]]:
    """Settings whose values differ among the runs that record them (in first-seen order),
    and settings that some runs do not record."""
    names = list(dict.fromkeys(k for r in runs for k in r.settings))
    differing, unrecorded = {}, {}
    for name in names:
        having = [r for r in runs if name in r.settings]
        if len(having) < len(runs):
            unrecorded[name] = [r.label for r in runs if name not in r.settings]
        values = {json.dumps(r.settings[name], sort_keys=True, default=str) for r in having}
        if len(values) > 1:
            differing[name] = {r.label: r.settings.get(name) for r in runs}
    return differing, unrecorded


def _text(value) -> str | None:
    """A setting as one CSV or table cell."""
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        return ",".join(map(str, value))
    return str(value)


def setting_text(name: str, value) -> str:
    """A setting for the terminal ('-' where a run does not record it; a SHA-256 by its
    first 12 hex digits, in full in the CSV)."""
    text = _text(value)
    if text is None:
        return "-"
    return text[:12] if name.endswith("sha256") else text


def write_csv(comparison: Comparison, path: Path) -> Path:
    """The long table: one row per (run, policy, metric)."""
    return write_atomic(Path(path), lambda p: comparison.frame.to_csv(p, index=False))


def plot(comparison: Comparison, path: Path) -> Path:
    """Grouped bars of the HEADLINES: a group per run, a bar per policy (one colour per policy
    across panels). A bar is missing where a run has no value."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    runs = list(dict.fromkeys(run for run, _ in comparison.columns))
    policies = list(dict.fromkeys(policy for _, policy in comparison.columns))
    by_run = {r.label: r for r in comparison.runs}
    colours = plt.get_cmap("tab10")
    fig, axes = plt.subplots(len(HEADLINES), 1, figsize=(max(6.0, 1.2 + 0.9 * len(comparison.columns)), 2.6 * len(HEADLINES)),
                             sharex=True, constrained_layout=True, squeeze=False)
    width = 0.8 / len(policies)
    x = np.arange(len(runs))
    for ax, (label, metric) in zip(axes[:, 0], HEADLINES):
        for n, policy in enumerate(policies):
            values = [metric_at(by_run[run].summary["policies"].get(policy), metric) if (run, policy) in comparison.columns
                      else None for run in runs]
            heights = [np.nan if v is None else float(v) for v in values]
            ax.bar(x - 0.4 + width * (n + 0.5), heights, width, label=policy, color=colours(n % 10))
        ax.set_ylabel(label, fontsize=9)
        ax.grid(True, axis="y", alpha=0.3)
    axes[-1, 0].set_xticks(x, runs, rotation=20 if len(runs) > 3 else 0, ha="right" if len(runs) > 3 else "center",
                           fontsize=8)
    differ = ", ".join(comparison.differing) or "nothing"
    axes[0, 0].set_title(f"{len(runs)} run(s); they differ in: {differ}", loc="left", fontsize=9, wrap=True)
    axes[0, 0].legend(title="policy", fontsize=8, ncols=min(len(policies), 4))
    write_atomic(Path(path), lambda p: fig.savefig(p, dpi=120, format="png"))
    plt.close(fig)
    return Path(path)
