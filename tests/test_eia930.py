"""Reading EIA-930 generation-by-fuel files (grids.eia930): each refusal, gap filling,
and the four shared files."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from grids.eia930 import FUEL_COLUMNS, MAX_FILLED_GAP_H, read_generation_by_fuel
from grids.errors import InputError

HEADER = "timestamp,WND,SUN,WAT,NG,COL,NUC"


def _file(tmp_path, rows: list[str], header: str = HEADER, name: str = "ba.csv"):
    path = tmp_path / name
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


def _hours(n: int, start: str = "2022-01-01 00:00:00+00:00") -> list[str]:
    return [str(t) for t in pd.date_range(start, periods=n, freq="h")]


def _rows(n: int, fmt=lambda k: f"{100 + k},0,500,{900 + 10 * k},1200,1000") -> list[str]:
    return [f"{t},{fmt(k)}" for k, t in enumerate(_hours(n))]


def test_a_clean_file_reads_in_fuel_order_with_absent_fuels_at_zero(tmp_path):
    data = read_generation_by_fuel(_file(tmp_path, _rows(24)), source="ba.csv")
    assert list(data.mw.columns) == list(FUEL_COLUMNS) and len(data.mw) == 24
    assert data.mw.index.tz is not None and data.mw.index.name == "time" and str(data.mw.index[0]) == "2022-01-01 00:00:00+00:00"
    assert (data.mw["OIL"] == 0).all() and (data.mw["OTH"] == 0).all()
    assert data.mw["NG"].iloc[5] == 950.0 and data.notes == () and data.unfilled == ()


def test_an_unnamed_first_column_and_naive_times_are_accepted(tmp_path):
    rows = [r.replace("+00:00", "") for r in _rows(3)]
    data = read_generation_by_fuel(_file(tmp_path, rows, header=HEADER.replace("timestamp", "")))
    assert str(data.mw.index[2]) == "2022-01-01 02:00:00+00:00"


def test_a_small_ba_in_whole_mw_is_accepted(tmp_path):
    rows = [f"{t},0,0,5,7,0,0" for t in _hours(48)]
    assert read_generation_by_fuel(_file(tmp_path, rows)).mw["NG"].sum() == 7 * 48


@pytest.mark.parametrize("mutate, where, reason", [
    (lambda r: r[:3] + ["2022-01-01 03:30:00+00:00," + r[3].split(",", 1)[1]] + r[4:], "line 5", "not on the hour"),
    (lambda r: r[:3] + ["soon," + r[3].split(",", 1)[1]] + r[4:], "line 5", "not a time: 'soon'"),
    (lambda r: r[:4] + [r[3]] + r[5:], "line 6", "duplicate hour 2022-01-01 03:00 UTC (also line 5)"),
    (lambda r: [r[1], r[0]] + r[2:], "line 3", "hours not sorted"),
    (lambda r: r[:2] + [r[2].replace(",500,", ",-12,")] + r[3:], "line 4, column WAT", "negative generation (-12 MW)"),
    (lambda r: r[:2] + [r[2].replace(",500,", ",abc,")] + r[3:], "line 4, column WAT", "not a number ('abc')"),
])
def test_bad_rows_are_refused_naming_the_line(tmp_path, mutate, where, reason):
    with pytest.raises(InputError) as err:
        read_generation_by_fuel(_file(tmp_path, mutate(_rows(12))), source="ba.csv")
    assert err.value.source == "ba.csv" and err.value.where == where and reason in err.value.reason


@pytest.mark.parametrize("header, where, reason", [
    ("timestamp,WND,SUN,WAT,NG,COAL,NUC", "column COAL", "unknown fuel column (known: WND, SUN"),
    ("timestamp,WND,SUN,WAT,NG,NG,NUC", "column NG", "appears twice"),
])
def test_bad_columns_are_refused(tmp_path, header, where, reason):
    with pytest.raises(InputError) as err:
        read_generation_by_fuel(_file(tmp_path, _rows(5), header=header))
    assert err.value.where == where and reason in err.value.reason


def test_no_fuel_column_an_empty_file_and_a_missing_file_are_refused(tmp_path):
    with pytest.raises(InputError, match="no fuel column"):
        read_generation_by_fuel(_file(tmp_path, [f"{t},400" for t in _hours(3)], header="timestamp,avg_CI"))
    with pytest.raises(InputError, match="no data rows"):
        read_generation_by_fuel(_file(tmp_path, []))
    with pytest.raises(InputError, match="ba-none.csv: file: not found"):
        read_generation_by_fuel(tmp_path / "ba-none.csv")


def test_units_that_look_like_kw_or_gw_are_refused(tmp_path):
    kw = _rows(6, lambda k: f"{100000 + k},0,500000,900000,1200000,1000000")
    with pytest.raises(InputError, match=r"values: peak total generation 3,700,00\d looks like kW, expected MW"):
        read_generation_by_fuel(_file(tmp_path, kw))
    gw = _rows(6, lambda k: f"0.{100 + k},0,0.512,0.937,1.203,1.001")
    with pytest.raises(InputError, match="looks like GW, expected MW"):
        read_generation_by_fuel(_file(tmp_path, gw))


def test_short_gaps_are_filled_linearly_with_a_note(tmp_path):
    rows = _rows(24)
    for k in (10, 11, 12):  # NG empty for three hours; WND present in hour 11 stays as it is
        parts = rows[k].split(",")
        parts[4] = ""
        if k != 11:
            parts[1] = ""
        rows[k] = ",".join(parts)
    data = read_generation_by_fuel(_file(tmp_path, rows), source="ba.csv")
    ng = data.mw["NG"]
    assert ng.iloc[10:13].tolist() == pytest.approx([1000.0, 1010.0, 1020.0])  # the line through hours 9 and 13
    assert data.mw["WND"].iloc[11] == 111.0 and data.mw["WND"].iloc[10] == pytest.approx(110.0)
    assert data.notes == ("ba.csv: lines 12-14 (2022-01-01 10:00 to 2022-01-01 12:00 UTC): 3 h gap filled by linear interpolation",)
    assert data.notes_in("2022-01-01 00:00Z", 10) == () and data.notes_in("2022-01-01 12:00Z", 2) == data.notes
    assert len(data.window("2022-01-01 00:00Z", 24)) == 24


def test_a_missing_hour_is_inserted_and_filled(tmp_path):
    rows = _rows(10)
    del rows[4]
    data = read_generation_by_fuel(_file(tmp_path, rows), source="ba.csv")
    assert len(data.mw) == 10 and data.mw["NG"].iloc[4] == pytest.approx(940.0)
    assert "after line 5" in data.notes[0] and "1 h gap" in data.notes[0]


def test_long_gaps_stay_open_and_refuse_only_the_runs_that_touch_them(tmp_path):
    rows = _rows(48)
    for k in range(20, 20 + MAX_FILLED_GAP_H + 1):  # 7 h
        parts = rows[k].split(",")
        parts[5] = ""
        rows[k] = ",".join(parts)
    rows[0] = rows[0].split(",")[0] + ",,0,500,900,1200,1000"  # WND empty in the first hour: nothing to interpolate from
    data = read_generation_by_fuel(_file(tmp_path, rows), source="ba.csv")
    assert data.mw["COL"].iloc[20:27].isna().all() and data.notes == ()
    assert [(f"{a:%H}", f"{b:%H}") for a, b in data.unfilled] == [("00", "00"), ("20", "02")]
    with pytest.raises(InputError) as err:
        data.window("2022-01-01 18:00Z", 4)
    assert err.value.where == "lines 22-28" and "gap of 7 h" in err.value.reason and "up to 6 h are filled" in err.value.reason
    assert len(data.window("2022-01-02 04:00Z", 12)) == 12  # avoids both gaps
    with pytest.raises(InputError, match="line 2: gap of 1 h"):
        data.window("2022-01-01 00:00Z", 3)
    with pytest.raises(InputError, match="covers 2022-01-01 00:00 to 2022-01-02 23:00 UTC"):
        data.window("2022-01-02 20:00Z", 12)


def test_the_shared_files(data_dir):
    for ba in ("AZPS", "BPAT", "MISO", "NYIS"):
        path = data_dir / "eia930" / f"{ba}.csv"
        data = read_generation_by_fuel(path, source=f"eia930/{ba}.csv")
        assert len(data.mw) == 8760 and list(data.mw.columns) == list(FUEL_COLUMNS) and data.unfilled == ()
        assert not data.mw.isna().any().any()
        raw = pd.read_csv(path)
        assert data.mw["WAT"].mean() == pytest.approx(raw["WAT"].mean(), rel=1e-9) or ba == "MISO"
        if ba == "MISO":  # three empty rows: two gaps, one of 1 h and one of 2 h
            assert len(data.notes) == 2 and "line 3768" in data.notes[0] and "lines 3838-3839" in data.notes[1]
            empty = raw.index[raw["NG"].isna()]
            filled = data.mw["NG"].iloc[empty]
            before, after = data.mw["NG"].iloc[empty - 1].to_numpy(), data.mw["NG"].iloc[empty + 1].to_numpy()
            assert np.all((filled >= np.minimum(before, after) - 1e-9) & (filled <= np.maximum(before, after) + 1e-9))
        else:
            assert data.notes == ()
