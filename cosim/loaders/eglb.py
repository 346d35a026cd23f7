"""The E-GLB dataset (Li, Yang, Wierman, Ren 2023; Ren-Research/Environmentally-Equitable-AI):
hourly price (USD/MWh), carbon intensity (kg/kWh) and WUE (L/kWh) of ten locations and an AI
workload's power (W), 2022-09-22 to 2022-10-11 UTC. A scenario names it by its folder under
the data dir (``eglb``).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from cosim.errors import InputError
from cosim.loaders.csv_table import row_number
from cosim.loaders.hourly_csv import check_hours, load_hourly_csv

EGLB_DATASET = "eglb"
"""Folder name of the E-GLB dataset under the data dir."""

EGLB_LOCATIONS = (
    "Virginia",
    "Georgia",
    "Texas",
    "Nevada",
    "Belgium",
    "Netherlands",
    "Germany",
    "Denmark",
    "Singapore",
    "Japan",
)
"""The ten E-GLB data-center locations, correctly spelled."""

EGLB_HOURS = 457
"""Hours every E-GLB series covers: 2022-09-22 00:00 to 2022-10-11 00:00 UTC."""

_EGLB_TIME_COLUMN = "Time (UTC)"
_EGLB_FILE_SPELLING = {"Belgium": "Belguim"}  # the dataset's file names misspell Belgium
# kind -> (folder, file name pattern, value header, refuse negatives)
_EGLB_SIGNALS = {
    "price": ("price", "{loc}_Price.csv", "Price (USD/MWh)", False),  # negative prices do occur
    "carbon": ("carbon", "{loc}_carbon.csv", "Carbon (kg/kWh)", True),
    "water": ("water", "{loc}_water.csv", "WUE (L/kWh)", True),  # header is " WUE (L/kWh)"
}
_EGLB_QUANTITY = {"price": "price_usd_per_mwh", "carbon": "carbon_kg_per_kwh", "water": "wue_l_per_kwh"}  # cosim.plausibility
_EGLB_WORKLOAD = ("AI_workload.csv", "Power (Watt)")


@dataclass(frozen=True)
class EglbData:
    """The E-GLB hourly signals; every frame/series shares one UTC hourly index "time".

    DataFrames have one column per location (correct spelling, in the requested order).
    """

    price_usd_per_mwh: pd.DataFrame
    """Electricity price, USD/MWh (may be negative)."""
    carbon_kg_per_kwh: pd.DataFrame
    """Grid carbon intensity, kg CO2 per kWh."""
    wue_l_per_kwh: pd.DataFrame
    """Water usage effectiveness, litres per kWh."""
    workload_w: pd.Series
    """Power of an LLM inference API, W (the workload shape)."""


def _eglb_file(root: Path, kind: str, location: str) -> Path:
    folder, pattern, _, _ = _EGLB_SIGNALS[kind]
    return root / folder / pattern.format(loc=_EGLB_FILE_SPELLING.get(location, location))


def _eglb_series(path: Path, header: str, *, nonnegative: bool, hours: int, quantity: str | None = None) -> pd.Series:
    """One two-column E-GLB file (``Time (UTC)`` and *header*), its first *hours* rows;
    *quantity* (cosim.plausibility) checks its values' plausibility."""
    frame = load_hourly_csv(
        path,
        time_column=_EGLB_TIME_COLUMN,
        columns=[header],
        nonnegative=nonnegative,
        hours=hours,
        start=None,
        exact_header=[_EGLB_TIME_COLUMN, header],
        quantity=quantity,
    )
    return frame.iloc[:, 0]


def _same_index(path: Path, index: pd.DatetimeIndex, ref_path: Path, ref: pd.DatetimeIndex) -> None:
    """Refuse *index* (of *path*) unless it equals *ref* (of *ref_path*)."""
    if index.equals(ref):
        return
    if len(index) != len(ref):
        raise InputError(path, "rows", f"{len(index)} rows, {ref_path.name} has {len(ref)}")
    i = int(np.flatnonzero(index != ref)[0])
    raise InputError(
        path,
        f"row {row_number(i)}",
        f"time {index[i].isoformat()} differs from {ref_path.name}, which has {ref[i].isoformat()}: "
        "all E-GLB series must share one time index",
    )


def load_eglb(
    root: str | Path, *, hours: int | None = None, locations: Sequence[str] = EGLB_LOCATIONS
) -> EglbData:
    """Load the E-GLB dataset from its folder *root* (``<data dir>/eglb``).

    Reads ``price/<Loc>_Price.csv`` (USD/MWh), ``carbon/<Loc>_carbon.csv`` (kg/kWh),
    ``water/<Loc>_water.csv`` (L/kWh) and ``AI_workload.csv`` (W); ``Belgium`` is read from
    the dataset's misspelled ``Belguim_*`` files. Each file must have exactly the columns
    ``Time (UTC)`` and its value column (whitespace around header names is ignored).

    Every series is cut to its first *hours* rows (default :data:`EGLB_HOURS` = 457: some
    price files run 24 h longer); a file with fewer rows is refused. All series must share
    the same time index. Negative prices are kept (they occur in Belgium and the
    Netherlands); negative carbon, WUE or power are refused. A price, carbon or WUE file
    with a value outside its plausible range warns (cosim.plausibility).
    """
    root = Path(root)
    check_hours(hours)
    n = EGLB_HOURS if hours is None else hours
    locations = list(locations)
    unknown = [loc for loc in locations if loc not in EGLB_LOCATIONS]
    if unknown:
        raise InputError(root, "locations", f"unknown location {unknown[0]!r}; known: {', '.join(EGLB_LOCATIONS)}")
    if not locations:
        raise InputError(root, "locations", "no location requested")
    if len(set(locations)) != len(locations):
        dup = next(loc for loc in locations if locations.count(loc) > 1)
        raise InputError(root, "locations", f"location {dup!r} requested twice")
    if not root.is_dir():
        raise InputError(root, "folder", "not found (expected the E-GLB dataset folder)")

    ref_path = root / _EGLB_WORKLOAD[0]
    workload = _eglb_series(ref_path, _EGLB_WORKLOAD[1], nonnegative=True, hours=n).rename("workload_w")
    ref = workload.index

    frames: dict[str, pd.DataFrame] = {}
    for kind, (_, _, header, nonnegative) in _EGLB_SIGNALS.items():
        columns = {}
        for loc in locations:
            path = _eglb_file(root, kind, loc)
            series = _eglb_series(path, header, nonnegative=nonnegative, hours=n, quantity=_EGLB_QUANTITY[kind])
            _same_index(path, series.index, ref_path, ref)
            columns[loc] = series.to_numpy()
        frame = pd.DataFrame(columns, index=ref.copy(), columns=locations, dtype=float)
        frame.columns.name = "location"
        frames[kind] = frame
    return EglbData(
        price_usd_per_mwh=frames["price"],
        carbon_kg_per_kwh=frames["carbon"],
        wue_l_per_kwh=frames["water"],
        workload_w=workload,
    )
