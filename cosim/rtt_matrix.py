"""The measured latency matrix: Microsoft's inter-region P50 RTTs between Azure regions (ms),
where its codes are on the globe, and the fit of the fiber estimate (cosim.fiber) to it.

Matrix row numbers in messages are the ones a spreadsheet user sees: the header is row 1.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from cosim.errors import InputError
from cosim.fiber import FIBER_KM_PER_MS, ROUTE_INFLATION, fiber_rtt_ms
from cosim.loaders import read_csv_records
from grids.files import header_hint
from grids.geo import great_circle_km

__all__ = ["AZURE_REGIONS", "backbone_coords", "compare_with_measured", "load_rtt_matrix", "symmetric_rtt"]

AZURE_REGIONS: dict[str, tuple[str, float, float]] = {
    # Inferred from geography (the matrix has codes only); city-level coordinates of the metro.
    # North America
    "bl": ("East US (Virginia, Ashburn)", 39.04, -77.49),
    "bn": ("East US 2 (Virginia, Boydton)", 36.67, -78.39),
    "ch": ("North Central US (Illinois, Chicago)", 41.88, -87.63),
    "dm": ("Central US (Iowa, Des Moines)", 41.59, -93.62),
    "sn": ("South Central US (Texas, San Antonio)", 29.42, -98.49),
    "cy": ("West Central US (Wyoming, Cheyenne)", 41.14, -104.82),
    "by": ("West US (California, San Jose)", 37.34, -121.89),
    "mwh": ("West US 2 (Washington, Quincy)", 47.23, -119.85),
    "usw3": ("West US 3 (Arizona, Phoenix)", 33.45, -112.07),
    "yt": ("Canada Central (Toronto)", 43.65, -79.38),
    "yq": ("Canada East (Quebec City)", 46.81, -71.21),
    "mxc": ("Mexico Central (Queretaro)", 20.59, -100.39),
    "cq": ("Brazil South (Sao Paulo)", -23.55, -46.63),
    # Europe
    "db": ("North Europe (Ireland, Dublin)", 53.35, -6.26),
    "am": ("West Europe (Netherlands, Amsterdam)", 52.37, 4.90),
    "ln": ("UK South (London)", 51.51, -0.13),
    "cw": ("UK West (Cardiff)", 51.48, -3.18),
    "par": ("France Central (Paris)", 48.86, 2.35),
    "mrs": ("France South (Marseille)", 43.30, 5.37),
    "dewc": ("Germany West Central (Frankfurt)", 50.11, 8.68),
    "chn": ("Switzerland North (Zurich)", 47.38, 8.54),
    "chw": ("Switzerland West (Geneva)", 46.20, 6.14),
    "itn": ("Italy North (Milan)", 45.46, 9.19),
    "plc": ("Poland Central (Warsaw)", 52.23, 21.01),
    "den": ("Denmark East (Copenhagen)", 55.68, 12.57),
    "sec": ("Sweden Central (Gavle)", 60.67, 17.14),
    "noe": ("Norway East (Oslo)", 59.91, 10.75),
    "now": ("Norway West (Stavanger)", 58.97, 5.73),
    # Middle East and Africa
    "ilc": ("Israel Central (Tel Aviv)", 32.09, 34.78),
    "qac": ("Qatar Central (Doha)", 25.29, 51.53),
    "dxb": ("UAE North (Dubai)", 25.20, 55.27),
    "auh": ("UAE Central (Abu Dhabi)", 24.45, 54.38),
    "jnb": ("South Africa North (Johannesburg)", -26.20, 28.05),
    "cpt": ("South Africa West (Cape Town)", -33.92, 18.42),
    # Asia Pacific
    "pn": ("Central India (Pune)", 18.52, 73.86),
    "bm": ("West India (Mumbai)", 19.08, 72.88),
    "ma": ("South India (Chennai)", 13.08, 80.27),
    "jinw": ("Jio India West (Jamnagar)", 22.47, 70.06),
    "sg": ("Southeast Asia (Singapore)", 1.35, 103.82),
    "myw": ("Malaysia West (Kuala Lumpur)", 3.14, 101.69),
    "hk": ("East Asia (Hong Kong)", 22.32, 114.17),
    "se": ("Korea Central (Seoul)", 37.57, 126.98),
    "ps": ("Korea South (Busan)", 35.18, 129.08),
    "ty": ("Japan East (Tokyo)", 35.68, 139.69),
    "os": ("Japan West (Osaka)", 34.69, 135.50),
    "sy": ("Australia East (Sydney)", -33.87, 151.21),
    "ml": ("Australia Southeast (Melbourne)", -37.81, 144.96),
    "cbr": ("Australia Central (Canberra)", -35.28, 149.13),
    "cbr2": ("Australia Central 2 (Canberra)", -35.28, 149.13),
    "nzn": ("New Zealand North (Auckland)", -36.85, 174.76),
}
"""Azure short code -> (region name and place, lat, lon). The code -> place mapping is
inferred from geography (and checked against the measured RTTs), not stated by Microsoft.
The matrix's row-only code ``"d"`` is left out: its place cannot be told with confidence."""

_HEADER_FIRST = "Source"
_FIRST_DATA_ROW = 2  # spreadsheet row of the first data row: the header is row 1


def _parse_rtt(path: Path, text: str, row: int, column: str) -> float:
    """One cell in ms: NaN when empty, else a finite number (range checked by the caller)."""
    text = text.strip()
    if not text:
        return math.nan
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise InputError(path, f"row {row}, column {column}", f"{text!r} is not a finite number of ms")
    return value


def load_rtt_matrix(path: str | Path) -> pd.DataFrame:
    """The measured RTT matrix in *path*: index = source codes, columns = destination codes,
    float ms, NaN = not measured.

    The file is a CSV whose header is ``Source`` followed by the destination codes, one row
    per source code. Empty cells are "not measured"; a diagonal cell may be empty or 0.
    Source codes that are not destination columns are kept (the Azure file has one, ``d``).
    Every malformed input raises :class:`InputError` naming the file and the row or column.
    """
    path = Path(path)
    records = read_csv_records(path)
    if not records:
        raise InputError(path, "header", "the file is empty (a header row is needed)")
    header = [name.strip() for name in records[0]]
    if header[0] != _HEADER_FIRST:
        raise InputError(path, "header", f"first cell must be {_HEADER_FIRST!r}; {header_hint(header, [_HEADER_FIRST])}")
    columns = header[1:]
    if not columns:
        raise InputError(path, "header", "no destination columns after 'Source'")
    seen: set[str] = set()
    for position, code in enumerate(columns, start=2):
        if not code:
            raise InputError(path, "header", f"column {position} has an empty code")
        if code in seen:
            raise InputError(path, "header", f"column {code!r} appears twice")
        seen.add(code)

    index: list[str] = []
    first_row: dict[str, int] = {}
    values = np.full((len(records) - 1, len(columns)), np.nan)
    for i, record in enumerate(records[1:]):
        row = i + _FIRST_DATA_ROW
        if len(record) != len(header):
            if not any(field.strip() for field in record):
                raise InputError(path, f"row {row}", "empty row")
            raise InputError(path, f"row {row}", f"{len(record)} fields, the header has {len(header)}")
        code = record[0].strip()
        if not code:
            raise InputError(path, f"row {row}", "empty source code")
        if code in first_row:
            raise InputError(path, f"row {row}", f"source {code!r} appears twice (first in row {first_row[code]})")
        first_row[code] = row
        index.append(code)
        for k, (column, text) in enumerate(zip(columns, record[1:])):
            value = _parse_rtt(path, text, row, column)
            if math.isnan(value):
                continue
            if column == code:
                if value != 0:
                    raise InputError(path, f"row {row}, column {column}", f"diagonal must be empty or 0, found {text.strip()}")
            elif value <= 0:
                raise InputError(path, f"row {row}, column {column}", f"RTT must be positive, found {text.strip()}")
            values[i, k] = value
    if not index:
        raise InputError(path, "rows", "no data rows below the header")
    frame = pd.DataFrame(values, index=pd.Index(index, name="source"), columns=pd.Index(columns, name="destination"))
    return frame


def symmetric_rtt(matrix: pd.DataFrame) -> pd.DataFrame:
    """Undirected pair RTTs over the union of row and column codes (sorted): the mean of both
    directions where both are measured, the one measured direction otherwise, NaN where
    neither; the diagonal is 0."""
    codes = sorted(set(matrix.index) | set(matrix.columns))
    full = matrix.reindex(index=codes, columns=codes).to_numpy(dtype=float)
    both = np.stack([full, full.T])
    counts = np.isfinite(both).sum(axis=0)
    # nansum / count: mean of the measured directions, without the all-NaN warning of nanmean
    sym = np.where(counts > 0, np.nansum(both, axis=0) / np.maximum(counts, 1), np.nan)
    np.fill_diagonal(sym, 0.0)
    return pd.DataFrame(sym, index=pd.Index(codes, name="code"), columns=pd.Index(codes, name="code"))


def backbone_coords(backbone: Mapping[str, tuple[float, float]] | None) -> dict[str, tuple[float, float]]:
    """Backbone code -> (lat, lon) in degrees: *backbone* as floats, or the coordinates of
    :data:`AZURE_REGIONS` when None."""
    if backbone is None:
        return {code: (lat, lon) for code, (_, lat, lon) in AZURE_REGIONS.items()}
    return {code: (float(lat), float(lon)) for code, (lat, lon) in backbone.items()}


def compare_with_measured(
    rtt: pd.DataFrame,
    route_inflation: float = ROUTE_INFLATION,
    km_per_ms: float = FIBER_KM_PER_MS,
    *,
    backbone: Mapping[str, tuple[float, float]] | None = None,
) -> pd.DataFrame:
    """Coordinate estimate against the measurement, one row per measured unordered pair of
    backbone codes (default: :data:`AZURE_REGIONS`): ``code_a < code_b``, ``distance_km``,
    ``measured_ms`` (symmetric P50), ``estimated_ms`` (fiber estimate) and
    ``ratio = measured / estimated`` (inf for co-located codes)."""
    coords = backbone_coords(backbone)
    sym = symmetric_rtt(rtt)
    codes = [c for c in sym.index if c in coords]
    rows = []
    for a_pos, a in enumerate(codes):
        for b in codes[a_pos + 1:]:
            measured = sym.at[a, b]
            if np.isnan(measured):
                continue
            distance = great_circle_km(*coords[a], *coords[b])
            rows.append((a, b, distance, measured))
    out = pd.DataFrame(rows, columns=["code_a", "code_b", "distance_km", "measured_ms"])
    out["estimated_ms"] = fiber_rtt_ms(out["distance_km"].to_numpy(dtype=float), route_inflation, km_per_ms)
    with np.errstate(divide="ignore"):
        out["ratio"] = out["measured_ms"] / out["estimated_ms"]
    return out
