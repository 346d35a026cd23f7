"""Where EIA-930 balancing areas are: a hand-made table of codes, places and time zones.

``grids/data/ba_locations.csv`` (its header says the sources): one row per EIA-930
respondent code (the Lower 48's balancing areas and EIA's region aggregates) with an
approximate location (a city in the area's main load centre or at its control centre;
degrees) and the standard-time UTC offset of its time zone. Used to place generated data
centers and users near the balancing area whose grid they draw from (cosim.world).
"""
from __future__ import annotations

from functools import cache
from pathlib import Path

import pandas as pd

from grids.errors import InputError

LOCATIONS_FILE = Path(__file__).parent / "data" / "ba_locations.csv"


@cache
def ba_locations() -> pd.DataFrame:
    """The table, indexed by code: ``name``, ``lat``, ``lon`` (degrees), ``utc_offset_h``
    (standard time, h), ``place``."""
    return pd.read_csv(LOCATIONS_FILE, comment="#", dtype={"code": str}).set_index("code")


def ba_location(code: str, *, source: str | Path) -> dict:
    """``{name, lat, lon, utc_offset_h, place}`` of the balancing area *code* (a file's stem,
    any case); InputError naming *source* when the table does not hold it."""
    table = ba_locations()
    key = str(code).upper()
    if key not in table.index:
        raise InputError(source, "file name", f"'{code}' is not an EIA-930 balancing-area code of "
                                              f"{LOCATIONS_FILE.name} (name the file by its code, e.g. BPAT.csv)")
    row = table.loc[key]
    return {"name": str(row["name"]), "lat": float(row["lat"]), "lon": float(row["lon"]),
            "utc_offset_h": int(row["utc_offset_h"]), "place": str(row["place"])}
