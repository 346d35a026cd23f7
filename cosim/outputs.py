"""The output contract of DESIGN.md: summary.json and per-policy Parquet tables.

Column meanings and units: docs/outputs.md. Times are UTC, ISO 8601 in JSON and
tz-aware timestamps in Parquet. The Parquet tables are written window by window of hours
(a week, or fewer hours where a table would pass WINDOW_ENTRIES rows), one row group or
more per window, so no table of the whole horizon is held in memory.
"""
from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from cosim.glb.formulation import WINDOW_ENTRIES, WINDOW_HOURS, Solution
from cosim.instance import Instance
from cosim.metrics import site_hourly
from grids.outcome import SIGNALS


def allocation_table(inst: Instance, sol: Solution) -> pd.DataFrame:
    """One row per (time, user_region, datacenter, model, tier) with requests > 0."""
    return pd.concat(list(allocation_frames(inst, sol)), ignore_index=True)


def allocation_frames(inst: Instance, sol: Solution) -> Iterator[pd.DataFrame]:
    """`allocation_table` window by window of hours, in order (one frame per window)."""
    arcs = sol.arcs
    for t0, t1 in _windows(inst, sol):
        a, t, requests = sol.request_entries(inst, t0, t1)
        yield pd.DataFrame({
            "time": inst.times[t],
            "user_region": _labels(inst.regions, inst.user_region[arcs.j[a]]),
            "datacenter": _labels(inst.datacenters, arcs.i[a]),
            "model": _labels(inst.models, arcs.k[a]),
            "tier": _labels(inst.tiers, inst.user_tier[arcs.j[a]]),
            "requests": requests,
        }).sort_values(["time", "user_region", "tier", "datacenter", "model"], ignore_index=True)


def _windows(inst: Instance, sol: Solution) -> list[tuple[int, int]]:
    """Windows of hours for the tables: a week at most, and at most WINDOW_ENTRIES rows of
    any one table (the allocations stored in those hours, or sites or users x hours)."""
    per_hour = np.diff(sol.x.indptr) + max(len(inst.datacenters), inst.demand.shape[0])  # rows, at most
    out, t0, rows = [], 0, 0
    for t, count in enumerate(per_hour):
        if t > t0 and (t - t0 == WINDOW_HOURS or rows + count > WINDOW_ENTRIES):
            out.append((t0, t))
            t0, rows = t, 0
        rows += count
    return [*out, (t0, len(per_hour))] if len(per_hour) else []


def _labels(names, index: np.ndarray) -> pd.Categorical:
    """Names for integer codes, as a categorical in the scenario's order."""
    return pd.Categorical.from_codes(np.asarray(index), categories=list(names))


def site_table(inst: Instance, sol: Solution, realized: Instance | None = None) -> pd.DataFrame:
    """One row per (time, datacenter): energy, the signals seen at decision time and, where
    grids are simulated (*realized*), the signals that resulted from the re-dispatch. Energy
    cost, carbon and water are at the realized signals when there are any."""
    return pd.concat(list(site_frames(inst, sol, realized)), ignore_index=True)


def site_frames(inst: Instance, sol: Solution, realized: Instance | None = None) -> Iterator[pd.DataFrame]:
    """`site_table` window by window of hours, in order."""
    truth = realized if realized is not None else inst
    sites = site_hourly(truth, sol)
    n = len(inst.datacenters)
    for t0, t1 in _windows(inst, sol):
        hours = slice(t0, t1)
        columns = {
            "time": inst.times[np.tile(np.arange(t0, t1), n)],
            "datacenter": _labels(inst.datacenters, np.repeat(np.arange(n), t1 - t0)),
            "energy_kwh": sites["energy_kwh"][:, hours].ravel(),
            "facility_kwh": sites["facility_kwh"][:, hours].ravel(),
            **{name: getattr(inst, name)[:, hours].ravel() for name in SIGNALS},
            "energy_cost_usd": sites["energy_cost_usd"][:, hours].ravel(),
            "carbon_kg": sites["carbon_kg"][:, hours].ravel(),
            "water_l": sites["water_l"][:, hours].ravel(),
        }
        if realized is not None:
            columns.update({f"realized_{name}": getattr(realized, name)[:, hours].ravel() for name in SIGNALS})
        yield pd.DataFrame(columns).sort_values(["time", "datacenter"], ignore_index=True)


def demand_table(inst: Instance, sol: Solution) -> pd.DataFrame:
    """One row per (time, user_region, tier): requests demanded and unserved."""
    return pd.concat(list(demand_frames(inst, sol)), ignore_index=True)


def demand_frames(inst: Instance, sol: Solution) -> Iterator[pd.DataFrame]:
    """`demand_table` window by window of hours, in order."""
    j = inst.demand.shape[0]
    for t0, t1 in _windows(inst, sol):
        hours = slice(t0, t1)
        yield pd.DataFrame({
            "time": inst.times[np.tile(np.arange(t0, t1), j)],
            "user_region": _labels(inst.regions, np.repeat(inst.user_region, t1 - t0)),
            "tier": _labels(inst.tiers, np.repeat(inst.user_tier, t1 - t0)),
            "requests": inst.demand[:, hours].ravel(),
            "unserved": (sol.u[:, hours] * inst.demand[:, hours]).ravel(),
        }).sort_values(["time", "user_region", "tier"], ignore_index=True)


def write_policy(out_dir: Path, inst: Instance, sol: Solution, *, realized: Instance | None = None) -> Path:
    """Write DIR/POLICY/{allocations,sites,demand}.parquet; returns the policy folder.
    *inst* carries the signals seen at decision time, *realized* those after re-dispatch.
    Each table streams to its file window by window of hours (`write_frames`)."""
    folder = out_dir / sol.policy.name
    folder.mkdir(parents=True, exist_ok=True)
    tables = (("allocations", lambda: allocation_frames(inst, sol)), ("sites", lambda: site_frames(inst, sol, realized)),
              ("demand", lambda: demand_frames(inst, sol)))
    for name, frames in tables:
        write_atomic(folder / f"{name}.parquet", lambda p, f=frames: write_frames(p, f()))
    return folder


def write_frames(path: Path, frames: Iterable[pd.DataFrame]) -> Path:
    """One Parquet file of *frames* (at least one, all with the same columns and dtypes),
    each written as its own row groups: the file `pd.concat(frames).to_parquet(path,
    index=False)` would write, without the whole table in memory."""
    writer = None
    try:
        for frame in frames:
            table = pa.Table.from_pandas(frame, preserve_index=False)
            if writer is None:
                writer = pq.ParquetWriter(path, table.schema)
            writer.write_table(table)
    finally:
        if writer is not None:
            writer.close()
    if writer is None:
        raise ValueError(f"{path}: no frame to write")
    return path


def write_summary(out_dir: Path, scenario: str, metrics: dict[str, dict], **extra: object) -> Path:
    """Write DIR/summary.json: {"scenario", "policies": {POLICY: METRICS}, ...extra}."""
    out_dir.mkdir(parents=True, exist_ok=True)
    body = {"scenario": scenario, "policies": metrics, **extra}
    text = json.dumps(_json_safe(body), indent=2, allow_nan=False)
    path = out_dir / "summary.json"
    write_atomic(path, lambda p: p.write_text(text + "\n"))
    return path


def _json_safe(value):
    """NaN and inf have no JSON spelling: they become null (documented in docs/outputs.md)."""
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_atomic(path: Path, write: Callable[[Path], object]) -> Path:
    """Write through a temporary sibling and rename, so readers never see half a file."""
    tmp = path.with_name(f".{path.name}.tmp")
    write(tmp)
    tmp.replace(path)
    return path
