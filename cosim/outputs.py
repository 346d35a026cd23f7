"""The output contract of DESIGN.md: summary.json and per-policy Parquet tables.

Column meanings and units: docs/outputs.md. Times are UTC, ISO 8601 in JSON and
tz-aware timestamps in Parquet.
"""
from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from cosim.glb.formulation import Solution
from cosim.instance import Instance
from cosim.metrics import site_hourly
from grids.outcome import SIGNALS


def allocation_table(inst: Instance, sol: Solution) -> pd.DataFrame:
    """One row per (time, user_region, datacenter, model, tier) with requests > 0."""
    y = sol.requests(inst)
    a, t = np.nonzero(y > 0)
    arcs = sol.arcs
    return pd.DataFrame({
        "time": inst.times[t],
        "user_region": _labels(inst.regions, inst.user_region[arcs.j[a]]),
        "datacenter": _labels(inst.datacenters, arcs.i[a]),
        "model": _labels(inst.models, arcs.k[a]),
        "tier": _labels(inst.tiers, inst.user_tier[arcs.j[a]]),
        "requests": y[a, t],
    }).sort_values(["time", "user_region", "tier", "datacenter", "model"], ignore_index=True)


def _labels(names, index: np.ndarray) -> pd.Categorical:
    """Names for integer codes, as a categorical in the scenario's order."""
    return pd.Categorical.from_codes(np.asarray(index), categories=list(names))


def site_table(inst: Instance, sol: Solution, realized: Instance | None = None) -> pd.DataFrame:
    """One row per (time, datacenter): energy, the signals seen at decision time and, where
    grids are simulated (*realized*), the signals that resulted from the re-dispatch. Energy
    cost, carbon and water are at the realized signals when there are any."""
    truth = realized if realized is not None else inst
    sites = site_hourly(truth, sol)
    n, _, _, t = inst.shape
    columns = {
        "time": np.tile(inst.times, n),
        "datacenter": _labels(inst.datacenters, np.repeat(np.arange(n), t)),
        "energy_kwh": sites["energy_kwh"].ravel(),
        "facility_kwh": sites["facility_kwh"].ravel(),
        **{name: getattr(inst, name).ravel() for name in SIGNALS},
        "energy_cost_usd": sites["energy_cost_usd"].ravel(),
        "carbon_kg": sites["carbon_kg"].ravel(),
        "water_l": sites["water_l"].ravel(),
    }
    if realized is not None:
        columns.update({f"realized_{name}": getattr(realized, name).ravel() for name in SIGNALS})
    return pd.DataFrame(columns).sort_values(["time", "datacenter"], ignore_index=True)




def demand_table(inst: Instance, sol: Solution) -> pd.DataFrame:
    """One row per (time, user_region, tier): requests demanded and unserved."""
    _, j, _, t = inst.shape
    return pd.DataFrame({
        "time": np.tile(inst.times, j),
        "user_region": _labels(inst.regions, np.repeat(inst.user_region, t)),
        "tier": _labels(inst.tiers, np.repeat(inst.user_tier, t)),
        "requests": inst.demand.ravel(),
        "unserved": sol.unserved_requests(inst).ravel(),
    }).sort_values(["time", "user_region", "tier"], ignore_index=True)


def write_policy(out_dir: Path, inst: Instance, sol: Solution, *, realized: Instance | None = None) -> Path:
    """Write DIR/POLICY/{allocations,sites,demand}.parquet; returns the policy folder.
    *inst* carries the signals seen at decision time, *realized* those after re-dispatch."""
    folder = out_dir / sol.policy.name
    folder.mkdir(parents=True, exist_ok=True)
    tables = (("allocations", allocation_table(inst, sol)), ("sites", site_table(inst, sol, realized)),
              ("demand", demand_table(inst, sol)))
    for name, frame in tables:
        write_atomic(folder / f"{name}.parquet", lambda p, f=frame: f.to_parquet(p, index=False))
    return folder


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
