"""The batch catalog: DIR/catalog.duckdb, table `runs`, one row per finished run.

Only the process that drives a batch writes it (DuckDB allows one writer), one
transaction per run, so an interrupted batch keeps every row it recorded. Columns and
units: docs/outputs.md ("DIR/catalog.duckdb").
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Self

import duckdb
import pandas as pd

from cosim.errors import InputError
from cosim.sweep import AXES

CATALOG = "catalog.duckdb"
TABLE = "runs"

HEADLINE: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("energy_cost_usd", ("energy_cost_usd", "total")),
    ("energy_cost_max_avg", ("energy_cost_usd", "max_avg")),
    ("carbon_attributional_t", ("grid_feedback", "emissions_attributional_t")),
    ("carbon_consequential_t", ("grid_feedback", "emissions_consequential_t")),
    ("carbon_max_avg", ("carbon_t", "max_avg")),
    ("carbon_saved_realized_t", ("grid_feedback", "savings", "emissions_realized_t")),
    ("emissions_rebound", ("grid_feedback", "savings", "emissions_rebound")),
    ("water_m3", ("water_m3", "total")),
    ("water_max_avg", ("water_m3", "max_avg")),
    ("perf_cost_avg_points", ("perf_cost", "avg")),
    ("perf_cost_max_avg", ("perf_cost", "max_avg")),
    ("perf_score_avg", ("perf_score", "avg")),
    ("rid", ("rid",)),
    ("served_requests", ("served_requests",)),
    ("unserved_requests", ("unserved_requests",)),
    ("objective_usd", ("solve", "objective_usd")),
)
"""Headline metric columns (all DOUBLE) and their path into summary.json's METRICS."""

_COLUMNS: tuple[tuple[str, str], ...] = (
    ("run_id", "VARCHAR PRIMARY KEY"),
    ("status", "VARCHAR NOT NULL"),
    ("error", "VARCHAR"),
    ("sweep", "VARCHAR"),
    ("sweep_index", "INTEGER"),
    ("scenario", "VARCHAR"),
    ("hours", "INTEGER"),
    *((axis.column, axis.sql_type) for axis in AXES.values()),
    *((name, "DOUBLE") for name, _ in HEADLINE),
    ("wall_s", "DOUBLE"),
    ("started_at", "TIMESTAMPTZ"),
    ("finished_at", "TIMESTAMPTZ"),
    ("worker", "VARCHAR"),
    ("output", "VARCHAR"),
    ("params_json", "VARCHAR"),
)
COLUMNS = tuple(name for name, _ in _COLUMNS)


def headline(metrics: dict) -> dict[str, float | None]:
    """A policy's summary.json METRICS as the catalog's headline columns (None where absent).
    Without simulated grids there is no consequential carbon; attributional carbon is then
    the sites' energy x the signals' average intensity (carbon_t.total), the same quantity."""
    out = {}
    for name, path in HEADLINE:
        value = metrics
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        out[name] = float(value) if isinstance(value, (int, float)) and value is not None else None
    if out["carbon_attributional_t"] is None:
        out["carbon_attributional_t"] = float(metrics["carbon_t"]["total"])
    return out


class Catalog:
    """The writer's handle on DIR/catalog.duckdb (created with its table on first use)."""

    def __init__(self, folder: Path):
        self.path = Path(folder) / CATALOG
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._con = _connect(self.path, read_only=False)
        self._con.execute(f"CREATE TABLE IF NOT EXISTS {TABLE} ({', '.join(f'{n} {t}' for n, t in _COLUMNS)})")
        for name, sql_type in _COLUMNS[1:]:  # catalogs from an older release gain new columns
            self._con.execute(f"ALTER TABLE {TABLE} ADD COLUMN IF NOT EXISTS {name} {sql_type.replace(' NOT NULL', '')}")

    def completed(self) -> set[str]:
        """Run ids recorded with status ok."""
        return {r[0] for r in self._con.execute(f"SELECT run_id FROM {TABLE} WHERE status = 'ok'").fetchall()}

    def record(self, row: dict) -> None:
        """Insert or replace one run's row, in its own transaction."""
        unknown = set(row) - set(COLUMNS)
        if unknown:
            raise ValueError(f"not catalog columns: {sorted(unknown)}")
        names = list(row)
        values = [_sql_value(row[n]) for n in names]
        self._con.execute("BEGIN TRANSACTION")
        try:
            self._con.execute(f"INSERT OR REPLACE INTO {TABLE} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})",
                              values)
            self._con.execute("COMMIT")
        except BaseException:
            self._con.execute("ROLLBACK")
            raise

    def rows(self, run_ids: list[str] | None = None) -> pd.DataFrame:
        """The table (or the rows of *run_ids*, in that order)."""
        frame = self._con.execute(f"SELECT * FROM {TABLE}").df()
        if run_ids is None:
            return frame
        return frame.set_index("run_id").reindex(run_ids).reset_index()

    def close(self) -> None:
        self._con.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_runs(folder: Path) -> pd.DataFrame:
    """Every row of DIR/catalog.duckdb's `runs` table (read-only); InputError when there is none."""
    path = Path(folder) / CATALOG
    if not path.is_file():
        raise InputError(path, "file", "no batch catalog here (run `cosim batch SWEEP --out DIR` first)")
    con = _connect(path, read_only=True)
    try:
        tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
        if TABLE not in tables:
            raise InputError(path, TABLE, "no such table: not a batch catalog")
        return con.execute(f"SELECT * FROM {TABLE} ORDER BY sweep, sweep_index, run_id").df()
    finally:
        con.close()


def read_completed(folder: Path) -> set[str]:
    """Run ids with status ok in DIR's catalog, read-only; empty when there is no catalog."""
    path = Path(folder) / CATALOG
    if not path.is_file():
        return set()
    con = _connect(path, read_only=True)
    try:
        return {r[0] for r in con.execute(f"SELECT run_id FROM {TABLE} WHERE status = 'ok'").fetchall()}
    except duckdb.CatalogException:
        return set()
    finally:
        con.close()


def _connect(path: Path, *, read_only: bool) -> duckdb.DuckDBPyConnection:
    try:
        con = duckdb.connect(str(path), read_only=read_only)
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            raise InputError(path, "catalog", "in use by another process (a batch still running on this folder?)") from None
        raise InputError(path, "catalog", f"cannot be opened ({exc})") from None
    except duckdb.Error as exc:
        raise InputError(path, "catalog", f"not a DuckDB catalog ({exc})") from None
    con.execute("SET TimeZone = 'UTC'")
    return con


def _sql_value(value):
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True, default=str)
    if isinstance(value, float) and math.isnan(value):
        return None
    return value
