"""Tests for cosim.loaders: real data (skipped without the data dir) and synthetic CSVs."""
from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cosim import loaders
from cosim.errors import InputError
from cosim.loaders import (
    AZURE_TRACES,
    EGLB_LOCATIONS,
    EglbData,
    dataset_path,
    load_azure_llm_dataset,
    load_azure_llm_trace,
    load_eglb,
    load_hourly_csv,
    resolve_data_dir,
)

UTC = "UTC"
# the synthetic E-GLB tree below holds index-like values (100 x kind + ...), not real units
pytestmark = pytest.mark.filterwarnings("ignore::cosim.plausibility.PlausibilityWarning")


def ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz=UTC)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8", newline="")
    return path


def refused(call, path: Path, where: str, *reason_parts: str) -> InputError:
    """Run *call*, expect InputError whose message is ``path: where: ...reason_parts...``."""
    with pytest.raises(InputError) as info:
        call()
    message = str(info.value)
    assert message.startswith(f"{path}: {where}: "), message
    for part in reason_parts:
        assert part in message, (part, message)
    return info.value


# ======================================================================================
# Real data: E-GLB
# ======================================================================================


@pytest.fixture(scope="module")
def eglb_root(data_dir: Path) -> Path:
    root = data_dir / "eglb"
    if not root.is_dir():
        pytest.skip(f"E-GLB dataset not found under {data_dir}")
    return root


@pytest.fixture(scope="module")
def eglb(eglb_root: Path) -> EglbData:
    return load_eglb(eglb_root)


def _csv_column(path: Path, column: int = 1) -> list[str]:
    with path.open(newline="") as handle:
        rows = list(csv.reader(handle))
    return [row[column] for row in rows[1:] if row]


def test_eglb_shape_index_and_spelling(eglb: EglbData):
    for frame in (eglb.price_usd_per_mwh, eglb.carbon_kg_per_kwh, eglb.wue_l_per_kwh):
        assert frame.shape == (457, 10)
        assert list(frame.columns) == list(EGLB_LOCATIONS)
        assert "Belgium" in frame.columns and "Belguim" not in frame.columns
        assert frame.dtypes.eq(np.float64).all()
        assert frame.index.equals(eglb.workload_w.index)
    index = eglb.workload_w.index
    assert len(eglb.workload_w) == 457
    assert index.name == "time"
    assert str(index.tz) == UTC
    assert index[0] == ts("2022-09-22 00:00")
    assert index[-1] == ts("2022-10-11 00:00")
    assert (np.diff(index.to_numpy()) == np.timedelta64(1, "h")).all()


def test_eglb_known_values(eglb: EglbData):
    assert eglb.carbon_kg_per_kwh["Texas"].iloc[0] == 0.4494737760460783
    assert eglb.price_usd_per_mwh["Germany"].iloc[0] == 412.6215942
    # the water header is " WUE (L/kWh)" with a leading space
    assert eglb.wue_l_per_kwh["Texas"].iloc[0] == 6.100516801435519
    assert eglb.workload_w.iloc[0] == 2700.0
    # Germany's price file has 481 rows: the loader keeps the first 457
    assert eglb.price_usd_per_mwh["Germany"].iloc[-1] != 276.9432036179388


def test_eglb_means_match_independent_csv(eglb: EglbData, eglb_root: Path):
    virginia = [float(v) for v in _csv_column(eglb_root / "price" / "Virginia_Price.csv")]
    assert len(virginia) == 457
    assert eglb.price_usd_per_mwh["Virginia"].mean() == pytest.approx(sum(virginia) / len(virginia), rel=1e-12)
    # Belgium is read from the misspelled file; it has 481 rows of which 457 are used
    belgium = [float(v) for v in _csv_column(eglb_root / "price" / "Belguim_Price.csv")]
    assert len(belgium) == 481
    assert eglb.price_usd_per_mwh["Belgium"].tolist() == belgium[:457]
    assert eglb.price_usd_per_mwh["Belgium"].min() < 0  # negative prices are real and kept
    denmark_wue = [float(v) for v in _csv_column(eglb_root / "water" / "Denmark_water.csv")]
    assert eglb.wue_l_per_kwh["Denmark"].sum() == pytest.approx(math.fsum(denmark_wue), rel=1e-12)


def test_eglb_hours_and_locations(eglb_root: Path):
    data = load_eglb(eglb_root, hours=24, locations=("Japan", "Belgium"))
    assert list(data.carbon_kg_per_kwh.columns) == ["Japan", "Belgium"]
    assert len(data.price_usd_per_mwh) == len(data.wue_l_per_kwh) == len(data.workload_w) == 24
    assert data.workload_w.index[-1] == ts("2022-09-22 23:00")


def test_eglb_hours_beyond_data_names_file(eglb_root: Path):
    refused(
        lambda: load_eglb(eglb_root, hours=470),
        eglb_root / "AI_workload.csv",
        "rows",
        "457 rows, the horizon needs 470",
    )


def test_eglb_unknown_location(eglb_root: Path):
    refused(lambda: load_eglb(eglb_root, locations=("Belguim",)), eglb_root, "locations", "'Belguim'", "Belgium")


# ======================================================================================
# Real data: Azure LLM trace 2023
# ======================================================================================


@pytest.fixture(scope="module")
def azure_root(data_dir: Path) -> Path:
    root = data_dir / "azure-llm-2023"
    if not root.is_dir():
        pytest.skip(f"Azure LLM 2023 dataset not found under {data_dir}")
    return root


def _independent_trace(path: Path) -> tuple[int, int, int, dict[str, int]]:
    """Data lines, token sums and requests per 'YYYY-MM-DD HH' prefix, read without pandas."""
    lines = [line for line in path.read_bytes().decode().splitlines() if line.strip()]
    lines = lines[1:]  # header
    context = generated = 0
    per_hour: dict[str, int] = {}
    for line in lines:
        stamp, c, g = line.split(",")
        context += int(c)
        generated += int(g)
        per_hour[stamp[:13]] = per_hour.get(stamp[:13], 0) + 1
    return len(lines), context, generated, per_hour


def test_azure_conv_totals(azure_root: Path):
    path = azure_root / AZURE_TRACES["conv"]
    n, context, generated, per_hour = _independent_trace(path)
    assert n == 19366  # the README's figure
    hourly = load_azure_llm_dataset(azure_root, "conv")
    assert list(hourly.columns) == ["requests", "context_tokens", "generated_tokens"]
    assert hourly.dtypes.eq(np.int64).all()
    assert hourly.index.name == "time" and str(hourly.index.tz) == UTC
    assert int(hourly["requests"].sum()) == n
    assert int(hourly["context_tokens"].sum()) == context
    assert int(hourly["generated_tokens"].sum()) == generated
    expected = {t.strftime("%Y-%m-%d %H"): int(r) for t, r in hourly["requests"].items() if r}
    assert expected == per_hour
    assert hourly.index[0] == ts("2023-11-16 18:00")
    assert (np.diff(hourly.index.to_numpy()) == np.timedelta64(1, "h")).all()


def test_azure_code_trace(azure_root: Path):
    n, context, generated, _ = _independent_trace(azure_root / AZURE_TRACES["code"])
    hourly = load_azure_llm_dataset(azure_root, trace="code")
    assert n == 8819
    assert int(hourly["requests"].sum()) == n
    assert int(hourly["context_tokens"].sum()) == context
    assert int(hourly["generated_tokens"].sum()) == generated


def test_azure_unknown_trace(tmp_path: Path):
    refused(lambda: load_azure_llm_dataset(tmp_path, "chat"), tmp_path, "trace", "'chat'", "conv", "code")


# ======================================================================================
# Synthetic Azure trace
# ======================================================================================

AZ_HEADER = "TIMESTAMP,ContextTokens,GeneratedTokens\r\n"


def test_azure_trace_gap_hours_are_zero_and_unsorted_ok(tmp_path: Path):
    path = write(
        tmp_path / "t.csv",
        AZ_HEADER
        + "2023-11-16 21:59:59.9999999,5,1\r\n"
        + "2023-11-16 18:15:46.6805900,10,2\r\n"
        + "2023-11-16 18:59:00.0000000,20,3\r\n",
    )
    hourly = load_azure_llm_trace(path)
    assert list(hourly.index) == [ts("2023-11-16 18:00"), ts("2023-11-16 19:00"), ts("2023-11-16 20:00"), ts("2023-11-16 21:00")]
    assert hourly["requests"].tolist() == [2, 0, 0, 1]
    assert hourly["context_tokens"].tolist() == [30, 0, 0, 5]
    assert hourly["generated_tokens"].tolist() == [5, 0, 0, 1]


def test_azure_trace_offset_converted_to_utc(tmp_path: Path):
    path = write(tmp_path / "t.csv", AZ_HEADER + "2023-11-16T20:30:00+02:00,1,1\r\n")
    assert load_azure_llm_trace(path).index[0] == ts("2023-11-16 18:00")


@pytest.mark.parametrize(
    "body, where, reason",
    [
        ("2023-11-16 18:00:00,1,1\r\nyesterday,1,1\r\n", "row 3", "'yesterday'"),
        ("2023-11-16 18:00:00,1,1\r\n2023-11-16 18:01:00,-4,1\r\n", "row 3, column ContextTokens", "negative"),
        ("2023-11-16 18:00:00,1,1.5\r\n", "row 2, column GeneratedTokens", "not a whole number"),
        ("2023-11-16 18:00:00,1,\r\n", "row 2, column GeneratedTokens", "empty value"),
        ("2023-11-16 18:00:00,many,1\r\n", "row 2, column ContextTokens", "'many' is not a finite number"),
        ("", "rows", "no data rows"),
    ],
)
def test_azure_trace_refusals(tmp_path: Path, body: str, where: str, reason: str):
    path = write(tmp_path / "trace.csv", AZ_HEADER + body)
    refused(lambda: load_azure_llm_trace(path), path, where, reason)


def test_azure_trace_wrong_header(tmp_path: Path):
    path = write(tmp_path / "trace.csv", "TIMESTAMP,Context,GeneratedTokens\n2023-11-16 18:00:00,1,1\n")
    refused(lambda: load_azure_llm_trace(path), path, "header", "'ContextTokens'", "'Context'")


def test_azure_trace_missing_file(tmp_path: Path):
    refused(lambda: load_azure_llm_dataset(tmp_path, "conv"), tmp_path / AZURE_TRACES["conv"], "file", "not found")


# ======================================================================================
# Generic hourly CSV: parsing
# ======================================================================================

BASIC = "time,a,b\n2022-01-01 00,1,10\n2022-01-01 01,2,20\n2022-01-01 02,3.5,30\n2022-01-01 03,4,40\n"


def test_parse_short_hour_format(tmp_path: Path):
    frame = load_hourly_csv(write(tmp_path / "x.csv", BASIC))
    assert list(frame.columns) == ["a", "b"]
    assert frame.dtypes.eq(np.float64).all()
    assert frame.index.name == "time" and str(frame.index.tz) == UTC
    assert frame.index.freq == pd.offsets.Hour()
    assert list(frame.index) == [ts(f"2022-01-01 0{h}:00") for h in range(4)]
    assert frame["a"].tolist() == [1.0, 2.0, 3.5, 4.0]


def test_parse_iso_offsets_naive_bom_crlf_and_whitespace(tmp_path: Path):
    text = (
        "\ufeff time , north ,south\r\n"
        "2022-01-01T00:00:00+01:00, 1 ,2\r\n"  # = 2021-12-31 23:00 UTC
        "2022-01-01T00:00:00Z,3,4\r\n"
        "2022-01-01 01:00,5,6\r\n"  # naive = UTC
        "\r\n\r\n"  # trailing blank lines are ignored
    )
    frame = load_hourly_csv(write(tmp_path / "x.csv", text))
    assert list(frame.columns) == ["north", "south"]
    assert list(frame.index) == [ts("2021-12-31 23:00"), ts("2022-01-01 00:00"), ts("2022-01-01 01:00")]
    assert frame.loc[ts("2021-12-31 23:00"), "north"] == 1.0


def test_columns_selection_order_and_other_columns_unchecked(tmp_path: Path):
    text = "when,note,a,b\n2022-01-01 00,hello,1,10\n2022-01-01 01,,2,20\n"
    frame = load_hourly_csv(write(tmp_path / "x.csv", text), time_column="when", columns=["b", "a"])
    assert list(frame.columns) == ["b", "a"]
    assert frame.to_numpy().tolist() == [[10.0, 1.0], [20.0, 2.0]]


def test_hours_cuts(tmp_path: Path):
    frame = load_hourly_csv(write(tmp_path / "x.csv", BASIC), hours=2)
    assert len(frame) == 2
    assert frame["b"].tolist() == [10.0, 20.0]


def test_start_skips_rows(tmp_path: Path):
    path = write(tmp_path / "x.csv", BASIC)
    frame = load_hourly_csv(path, start=ts("2022-01-01 01:00"))
    assert frame.index[0] == ts("2022-01-01 01:00")
    assert frame["a"].tolist() == [2.0, 3.5, 4.0]
    frame = load_hourly_csv(path, start=ts("2022-01-01 01:00"), hours=2)
    assert frame["a"].tolist() == [2.0, 3.5]
    # a naive start is taken as UTC, like naive times in the file
    assert load_hourly_csv(path, start=pd.Timestamp("2022-01-01 02:00"), hours=1)["a"].tolist() == [3.5]
    # a start given in another zone is the same instant
    frame = load_hourly_csv(path, start=pd.Timestamp("2022-01-01 03:00", tz="Europe/Helsinki"), hours=1)
    assert frame["a"].tolist() == [2.0]


def test_negative_allowed_when_asked(tmp_path: Path):
    path = write(tmp_path / "x.csv", "time,p\n2022-01-01 00,-5\n")
    assert load_hourly_csv(path, nonnegative=False)["p"].tolist() == [-5.0]


# ======================================================================================
# Generic hourly CSV: refusals
# ======================================================================================


def test_refuse_missing_file(tmp_path: Path):
    path = tmp_path / "nope.csv"
    refused(lambda: load_hourly_csv(path), path, "file", "not found")


def test_refuse_missing_time_column(tmp_path: Path):
    path = write(tmp_path / "x.csv", BASIC)
    # the header is not echoed (a wrong file may hold anything): its size, and no name from it
    error = refused(lambda: load_hourly_csv(path, time_column="hour"), path, "header", "'hour'",
                    "the header has 3 column(s): none expected, 3 other")
    assert "'a'" not in str(error)


def test_refuse_missing_requested_column(tmp_path: Path):
    path = write(tmp_path / "x.csv", BASIC)
    refused(lambda: load_hourly_csv(path, columns=["a", "c"]), path, "header", "missing column 'c'", "'time', 'a', 'b'")


@pytest.mark.parametrize(
    "text, where, reason",
    [
        # unparsable and empty times
        ("time,a\n2022-01-01 00,1\n2022-01-01 01,1\n2022-13-01 02,1\n", "row 4", "cannot parse time '2022-13-01 02'"),
        ("time,a\n2022-01-01 00,1\n,1\n", "row 3", "empty time"),
        # values
        ("time,a,b\n2022-01-01 00,1,1\n2022-01-01 01,1,x\n", "row 3, column b", "'x' is not a finite number"),
        ("time,a,b\n2022-01-01 00,1,1\n2022-01-01 01,,1\n", "row 3, column a", "empty value"),
        ("time,a\n2022-01-01 00,NaN\n", "row 2, column a", "'NaN' is not a finite number"),
        ("time,a\n2022-01-01 00,inf\n", "row 2, column a", "'inf' is not a finite number"),
        ("time,a\n2022-01-01 00,1\n2022-01-01 01,2\n2022-01-01 02,-0.5\n", "row 4, column a", "negative value -0.5"),
        # hourly sequence
        ("time,a\n2022-01-01 00,1\n2022-01-01 01,1\n2022-01-01 03,1\n", "row 4", "gap"),
        ("time,a\n2022-01-01 00,1\n2022-01-01 01,1\n2022-01-01 01,1\n", "row 4", "duplicate time"),
        ("time,a\n2022-01-01 05,1\n2022-01-01 04,1\n", "row 3", "goes back"),
        ("time,a\n2022-01-01 00:00,1\n2022-01-01 01:30,1\n", "row 3", "not on the hour"),
        # structure
        ("time,a\n2022-01-01 00,1\n2022-01-01 01,1,7\n", "row 3", "3 fields, the header has 2"),
        ("time,a\n2022-01-01 00,1\n\n2022-01-01 01,1\n", "row 3", "empty row"),
        ("time,a\n", "rows", "no data rows"),
        ("", "header", "empty"),
        ("time,a,a\n2022-01-01 00,1,1\n", "header", "'a' appears twice"),
        ("time,a,\n2022-01-01 00,1,1\n", "header", "column 3 has an empty name"),
        ("time\n2022-01-01 00\n", "header", "no value column"),
    ],
)
def test_refusals(tmp_path: Path, text: str, where: str, reason: str):
    path = write(tmp_path / "bad.csv", text)
    error = refused(lambda: load_hourly_csv(path), path, where, reason)
    assert error.source == str(path) and error.where == where


def test_refuse_too_few_rows(tmp_path: Path):
    path = write(tmp_path / "x.csv", BASIC)
    refused(lambda: load_hourly_csv(path, hours=5), path, "rows", "4 rows, the horizon needs 5")
    refused(lambda: load_hourly_csv(path, hours=4, start=ts("2022-01-01 01:00")), path, "rows", "3 rows, the horizon needs 4")


@pytest.mark.parametrize("start", ["2021-12-31 23:00", "2022-01-01 01:30", "2022-01-01 04:00"])
def test_refuse_start_not_covered(tmp_path: Path, start: str):
    path = write(tmp_path / "x.csv", BASIC)
    refused(lambda: load_hourly_csv(path, start=ts(start)), path, "rows", "does not cover start", ts(start).isoformat())


def test_refuse_non_utf8(tmp_path: Path):
    path = tmp_path / "x.csv"
    path.write_bytes(b"time,a\n2022-01-01 00,\xff\n")
    refused(lambda: load_hourly_csv(path), path, "file", "not UTF-8")


def test_bad_rows_outside_window_are_still_refused(tmp_path: Path):
    path = write(tmp_path / "x.csv", BASIC + "2022-01-01 04,oops,1\n")
    refused(lambda: load_hourly_csv(path, hours=2), path, "row 6, column a", "'oops'")


# ======================================================================================
# Synthetic E-GLB tree
# ======================================================================================

EGLB_HEADERS = {"price": "Price (USD/MWh)", "carbon": "Carbon (kg/kWh)", "water": " WUE (L/kWh)"}
EGLB_PATTERN = {"price": "{}_Price.csv", "carbon": "{}_carbon.csv", "water": "{}_water.csv"}


def _eglb_file_text(header: str, values: list[float], start: str = "2022-09-22 00:00") -> str:
    times = pd.date_range(start, periods=len(values), freq="h")
    lines = [f"Time (UTC),{header}"] + [f"{t:%Y-%m-%d %H},{v!r}" for t, v in zip(times, values)]
    return "\n".join(lines) + "\n"


def make_eglb(root: Path, rows: int = 6) -> Path:
    """A small E-GLB-like tree: value = 100*kind + 10*location index + hour."""
    for k, kind in enumerate(("price", "carbon", "water")):
        for j, loc in enumerate(EGLB_LOCATIONS):
            name = "Belguim" if loc == "Belgium" else loc
            values = [100.0 * k + 10.0 * j + h for h in range(rows)]
            write(root / kind / EGLB_PATTERN[kind].format(name), _eglb_file_text(EGLB_HEADERS[kind], values))
    write(root / "AI_workload.csv", _eglb_file_text("Power (Watt)", [1000.0 + h for h in range(rows)]))
    return root


def test_synthetic_eglb_loads_and_maps_belgium(tmp_path: Path):
    root = make_eglb(tmp_path / "eglb")
    data = load_eglb(root, hours=4)
    assert data.price_usd_per_mwh.shape == (4, 10)
    assert data.price_usd_per_mwh["Belgium"].tolist() == [40.0, 41.0, 42.0, 43.0]
    assert data.carbon_kg_per_kwh["Japan"].iloc[0] == 190.0
    assert data.wue_l_per_kwh["Virginia"].iloc[3] == 203.0
    assert data.workload_w.tolist() == [1000.0, 1001.0, 1002.0, 1003.0]


def test_synthetic_eglb_needs_457_rows_by_default(tmp_path: Path):
    root = make_eglb(tmp_path / "eglb")
    refused(lambda: load_eglb(root), root / "AI_workload.csv", "rows", "6 rows, the horizon needs 457")


def test_synthetic_eglb_refuses_wrong_value_header(tmp_path: Path):
    root = make_eglb(tmp_path / "eglb")
    path = root / "carbon" / "Germany_carbon.csv"
    write(path, _eglb_file_text("CO2 (g/kWh)", [1.0] * 6))
    refused(lambda: load_eglb(root, hours=4), path, "header", "'Carbon (kg/kWh)'", "'CO2 (g/kWh)'")


def test_synthetic_eglb_refuses_extra_column(tmp_path: Path):
    root = make_eglb(tmp_path / "eglb")
    path = root / "price" / "Texas_Price.csv"
    write(path, "Time (UTC),Price (USD/MWh),Other\n2022-09-22 00,1,2\n")
    error = refused(lambda: load_eglb(root, hours=1), path, "header", "'Price (USD/MWh)'",
                    "the header has 3 column(s): 2 expected, 1 other")
    assert "Other" not in str(error)


def test_synthetic_eglb_refuses_shifted_index(tmp_path: Path):
    root = make_eglb(tmp_path / "eglb")
    path = root / "water" / "Japan_water.csv"
    write(path, _eglb_file_text(" WUE (L/kWh)", [1.0] * 6, start="2022-09-22 01:00"))
    refused(lambda: load_eglb(root, hours=4), path, "row 2", "AI_workload.csv", "2022-09-22T01:00:00+00:00")


def test_synthetic_eglb_negative_price_kept_negative_carbon_refused(tmp_path: Path):
    root = make_eglb(tmp_path / "eglb")
    write(root / "price" / "Nevada_Price.csv", _eglb_file_text("Price (USD/MWh)", [-3.0] * 6))
    assert load_eglb(root, hours=2).price_usd_per_mwh["Nevada"].tolist() == [-3.0, -3.0]
    path = write(root / "carbon" / "Nevada_carbon.csv", _eglb_file_text("Carbon (kg/kWh)", [0.1, -0.2] + [0.1] * 4))
    refused(lambda: load_eglb(root, hours=2), path, "row 3, column Carbon (kg/kWh)", "negative")


def test_synthetic_eglb_missing_file_and_folder(tmp_path: Path):
    root = make_eglb(tmp_path / "eglb")
    (root / "price" / "Belguim_Price.csv").unlink()
    refused(lambda: load_eglb(root, hours=2), root / "price" / "Belguim_Price.csv", "file", "not found")
    assert len(load_eglb(root, hours=2, locations=("Texas",)).price_usd_per_mwh.columns) == 1
    refused(lambda: load_eglb(tmp_path / "none"), tmp_path / "none", "folder", "not found")
    refused(lambda: load_eglb(root, locations=("Texas", "Texas")), root, "locations", "twice")


# ======================================================================================
# Data dir
# ======================================================================================


def test_resolve_data_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.delenv("COSIM_DATA_DIR", raising=False)
    assert resolve_data_dir() is None
    assert resolve_data_dir("") is None
    monkeypatch.setenv("COSIM_DATA_DIR", str(tmp_path / "env"))
    assert resolve_data_dir() == tmp_path / "env"
    assert resolve_data_dir(tmp_path / "cli") == tmp_path / "cli"
    assert resolve_data_dir(str(tmp_path / "cli")) == tmp_path / "cli"


def test_dataset_path(tmp_path: Path):
    (tmp_path / "eglb").mkdir()
    write(tmp_path / "demand.csv", "time,a\n")
    assert dataset_path(tmp_path, "eglb", source="s.yaml") == tmp_path / "eglb"
    assert dataset_path(tmp_path, "demand.csv", source="s.yaml") == tmp_path / "demand.csv"
    refused(
        lambda: dataset_path(tmp_path, "azure-llm-2023", source="s.yaml"),
        Path("s.yaml"),
        "dataset",
        f"'azure-llm-2023' not found under data dir {tmp_path} (set --data-dir or COSIM_DATA_DIR)",
    )
    refused(lambda: dataset_path(None, "eglb", source="s.yaml"), Path("s.yaml"), "dataset", "needs a data dir")


def test_public_names():
    assert EGLB_LOCATIONS == (
        "Virginia", "Georgia", "Texas", "Nevada", "Belgium", "Netherlands", "Germany", "Denmark", "Singapore", "Japan",
    )
    assert AZURE_TRACES == {"conv": "AzureLLMInferenceTrace_conv.csv", "code": "AzureLLMInferenceTrace_code.csv"}
    assert set(loaders.__all__) <= set(dir(loaders))
