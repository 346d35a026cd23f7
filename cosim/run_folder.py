"""A finished run folder read back from its output contract (docs/outputs.md), and the
series the figures and the report page plot, in their units.

Reading files, not a run's in-memory results, keeps plotting a separate step that works
on any run folder: `cosim run`'s, or one of a batch's DIR/runs/<run-id>/.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from cosim.errors import InputError
from cosim.glb import POLICY_NAMES
from cosim.metrics import feedback_table, table1

TABLES = ("allocations", "sites", "demand")
"""The per-policy Parquet tables a run folder holds."""

UNSERVED = "unserved"
"""Column of served_shares for the share of a region's demand no site served."""

# tab10, then tab20's light shades and tab20b's dark ones
_SITE_PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
                 "#17becf", "#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5", "#c49c94", "#f7b6d2", "#dbdb8d", "#9edae5",
                 "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173")
_POLICY_PALETTE = ("#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d", "#666666")

@dataclass(frozen=True)
class RunFolder:
    """One run folder: summary.json and, per policy, its three tables (docs/outputs.md)."""

    folder: Path
    summary: dict
    sites: dict[str, pd.DataFrame]
    allocations: dict[str, pd.DataFrame]
    demand: dict[str, pd.DataFrame]

    @property
    def policies(self) -> list[str]:
        """Policy names in summary.json's order."""
        return list(self.summary["policies"])

    @property
    def datacenters(self) -> list[str]:
        """Site names in the scenario's order (the categories of sites.parquet)."""
        return _names(next(iter(self.sites.values()))["datacenter"])

    @property
    def regions(self) -> list[str]:
        """User-region names in the scenario's order."""
        return _names(next(iter(self.demand.values()))["user_region"])

    @property
    def has_grid_feedback(self) -> bool:
        return any("grid_feedback" in m for m in self.summary["policies"].values())


FEEDBACK_PANELS = (
    ("emissions (t CO2)", (("attributional", "emissions attributional (t CO2)"),
                           ("consequential", "emissions consequential (t CO2)"),
                           ("first-order", "emissions first-order (t CO2)"))),
    ("emissions saved vs nearest (t CO2)", (("predicted", "emissions saved vs nearest, predicted (t CO2)"),
                                            ("realized", "emissions saved vs nearest, realized (t CO2)"))),
    ("energy cost saved vs nearest (USD)", (("predicted", "energy cost saved vs nearest, predicted (USD)"),
                                            ("realized", "energy cost saved vs nearest, realized (USD)"))),
)
"""The grid-feedback figures' panels: axis label (with unit), then (legend, FEEDBACK_ROWS label) per bar."""


def read_run(folder: str | Path) -> RunFolder:
    """Read DIR/summary.json and DIR/POLICY/{allocations,sites,demand}.parquet; an InputError
    names the file when one is missing or summary.json is not a run's."""
    folder = Path(folder)
    path = folder / "summary.json"
    if not path.is_file():
        raise InputError(path, "file", "not found: not a run folder (cosim run writes summary.json)")
    try:
        summary = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise InputError(path, f"line {exc.lineno}", f"not JSON: {exc.msg}") from None
    if not isinstance(summary, dict) or not isinstance(summary.get("policies"), dict) or not summary["policies"]:
        raise InputError(path, "policies", "missing or empty: not a run's summary")
    tables: dict[str, dict[str, pd.DataFrame]] = {name: {} for name in TABLES}
    for policy in summary["policies"]:
        for name in TABLES:
            table = folder / policy / f"{name}.parquet"
            if not table.is_file():
                raise InputError(table, "file", f"not found: summary.json lists policy '{policy}'")
            tables[name][policy] = pd.read_parquet(table)
    return RunFolder(folder=folder, summary=summary, **tables)


def _names(column: pd.Series) -> list[str]:
    if isinstance(column.dtype, pd.CategoricalDtype):
        return [str(c) for c in column.cat.categories]
    return [str(c) for c in dict.fromkeys(column)]


def site_colours(datacenters: list[str]) -> dict[str, str]:
    """One fixed colour (hex) per site, by its position in the scenario's order: the same in
    every PNG and on the report page."""
    return {name: _SITE_PALETTE[n % len(_SITE_PALETTE)] for n, name in enumerate(datacenters)}


def policy_colours(policies: list[str]) -> dict[str, str]:
    """One colour per policy, fixed by the policy's place among the known policies."""
    known = list(POLICY_NAMES)
    out = {}
    for n, name in enumerate(policies):
        index = known.index(name) if name in known else len(known) + n
        out[name] = _POLICY_PALETTE[index % len(_POLICY_PALETTE)]
    return out


def facility_mw(sites: pd.DataFrame) -> pd.DataFrame:
    """Hourly facility load per site, MW (one hour's facility kWh / 1000): index time (UTC),
    one column per site in the scenario's order."""
    frame = sites.pivot_table(index="time", columns="datacenter", values="facility_kwh", aggfunc="sum", observed=False)
    return (frame / 1000.0).reindex(columns=_names(sites["datacenter"])).fillna(0.0)


def served_shares(allocations: pd.DataFrame, demand: pd.DataFrame) -> pd.DataFrame:
    """Where each region's requests were served over the horizon, all tiers: share of the
    region's demand served at each site, plus an `unserved` column when any request went
    unserved. Rows (regions, scenario order) sum to 1 where the region has demand; a region
    without demand is a row of NaN."""
    regions, sites = _names(demand["user_region"]), _names(allocations["datacenter"])
    served = allocations.pivot_table(index="user_region", columns="datacenter", values="requests", aggfunc="sum",
                                     observed=False).reindex(index=regions, columns=sites).fillna(0.0)
    per_region = demand.groupby("user_region", observed=False)[["requests", "unserved"]].sum().reindex(regions)
    total = per_region["requests"].to_numpy()
    if per_region["unserved"].sum() > 0:
        served[UNSERVED] = per_region["unserved"].to_numpy()
    shares = served.div(np.where(total > 0, total, np.nan), axis=0)
    shares.index.name, shares.columns.name = "user_region", "datacenter"
    return shares


def has_realized(sites: pd.DataFrame, signal: str) -> bool:
    """Whether the table has a realized column of *signal* with a value (grid runs only)."""
    column = f"realized_{signal}"
    return column in sites and bool(sites[column].notna().any())


def seen_realized(sites: pd.DataFrame, signal: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The signal seen at decision time and realized after re-dispatch, per site: two frames
    with index time (UTC) and one column per site, in the signal's unit."""
    order = _names(sites["datacenter"])

    def wide(column: str) -> pd.DataFrame:
        return sites.pivot_table(index="time", columns="datacenter", values=column, aggfunc="first",
                                 observed=False, dropna=False).reindex(columns=order)

    return wide(signal), wide(f"realized_{signal}")


def table1_frame(summary: dict) -> pd.DataFrame:
    """Table 1 (cosim.metrics.TABLE1_ROWS): one row per metric, one column per policy."""
    return table1(summary["policies"]).astype(float)


def feedback_frame(summary: dict) -> pd.DataFrame:
    """cosim.metrics.FEEDBACK_ROWS: one row per metric, one column per policy with grid
    feedback; empty without simulated grids. Rows with no value for any policy are dropped."""
    return feedback_table(summary["policies"]).astype(float).dropna(how="all")
