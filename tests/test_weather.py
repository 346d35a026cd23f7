"""On-site WUE from EnergyPlus weather files (grids.weather): the wet bulb against a hand
computation on a real file's rows, the typical year mapped onto UTC dates, a data
center's `weather_file` on grid and synthetic signals, and the refusals."""
from __future__ import annotations

import copy
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cosim.errors import InputError
from cosim.grid_plan import grid_plan, site_weather
from cosim.instance import build_instance
from cosim.scenario import parse_scenario
from cosim.scenario_files import load_scenario
from grids.water import onsite_wue_series
from grids.weather import epw_rows, hourly_wet_bulb_f, onsite_wue_from_epw, read_epw, wet_bulb_c

REPO_ROOT = Path(__file__).resolve().parents[1]
US_BA = REPO_ROOT / "scenarios" / "us_balancing_areas.yaml"
LEESBURG = "weather/USA_VA_Leesburg.Exec.epw"
SEATTLE = "weather/USA_WA_Seattle-Tacoma.epw"


def _raw_rows(path: Path, keys: list[tuple[int, int, int]]) -> dict[tuple[int, int, int], list[str]]:
    """The data rows of an EPW file for (month, day, hour) keys, split at commas, read by hand."""
    out = {}
    for line in path.read_text().splitlines()[8:]:
        f = line.split(",")
        key = (int(f[1]), int(f[2]), int(f[3]))
        if key in keys:
            out[key] = f
    return out


def _stull_c(t: float, rh: float) -> float:
    """Stull (2011, J. Appl. Meteor. Climatol. 50, 2267): wet bulb (C) from T (C) and RH (%)
    at sea-level pressure; within about 0.3 C for RH 5-99 %, T -20..50 C (up to 1 C at low RH)."""
    return (t * math.atan(0.151977 * math.sqrt(rh + 8.313659)) + math.atan(t + rh) - math.atan(rh - 1.676331)
            + 0.00391838 * rh ** 1.5 * math.atan(0.023101 * rh) - 4.686035)


def _psychrometer_c(t: float, rh: float, p_pa: float) -> float:
    """Wet bulb (C) by bisection on the psychrometer equation e = es(Tw) - A p (T - Tw),
    A = 6.53e-4 (1 + 0.000944 Tw) 1/K (WMO-No. 8, Annex 4.B, ventilated psychrometer),
    es by Buck (1981) over water, e = RH es(T)."""
    def es(x):
        return 611.21 * math.exp((18.678 - x / 234.5) * (x / (257.14 + x)))

    e = rh / 100.0 * es(t)
    lo, hi = -60.0, t
    for _ in range(60):
        tw = 0.5 * (lo + hi)
        if es(tw) - 6.53e-4 * (1 + 0.000944 * tw) * p_pa * (t - tw) > e:
            hi = tw
        else:
            lo = tw
    return 0.5 * (lo + hi)


def _wue_by_hand(tw_f: float) -> float:
    return max(6 / 5 * (6e-5 * tw_f ** 3 - 0.01 * tw_f ** 2 + 0.61 * tw_f - 10.4), 0.05)


# (month, day, EPW hour) of Leesburg (TZ -5) and the UTC hour that maps to it: local
# standard hour h-1 (the hour ending at h) = UTC + 5 h
HOURS = {(1, 15, 14): "2022-01-15T18:00Z", (4, 20, 15): "2022-04-20T19:00Z",
         (7, 10, 20): "2022-07-11T00:00Z", (10, 1, 6): "2022-10-01T10:00Z"}


def test_the_epw_path_agrees_with_a_hand_computation(data_dir):
    path = data_dir / LEESBURG
    raw = _raw_rows(path, list(HOURS))
    assert len(raw) == len(HOURS)
    weather = read_epw(path, source=LEESBURG)
    assert weather.utc_offset_h == -5.0 and weather.station.startswith("Leesburg") and len(weather.dry_bulb_c) == 8760
    times = pd.DatetimeIndex([pd.Timestamp(t) for t in HOURS.values()])
    tw_f = hourly_wet_bulb_f(weather, times).to_numpy()
    wue = onsite_wue_from_epw(path, times, source=LEESBURG).to_numpy()
    for k, (key, f) in enumerate(raw.items()):
        t, rh, p = float(f[6]), float(f[8]), float(f[9])  # dry bulb, RH, pressure: fields 7, 9, 10 (1-based)
        row = epw_rows(weather, times[k:k + 1])[0]
        assert (weather.dry_bulb_c[row], weather.relative_humidity_pct[row], weather.pressure_pa[row]) == (t, rh, p)
        assert float(f[7]) <= t  # the dew point (field 8) is at or below the dry bulb
        tw_c = (tw_f[k] - 32) * 5 / 9
        assert tw_c == pytest.approx(_stull_c(t, rh), abs=0.5), key
        assert tw_c == pytest.approx(_psychrometer_c(t, rh, p), abs=0.15), key
        assert wue[k] == pytest.approx(_wue_by_hand(tw_f[k]), rel=1e-12)
        assert wue[k] == pytest.approx(_wue_by_hand(_psychrometer_c(t, rh, p) * 9 / 5 + 32), abs=0.05)


def test_wet_bulb_is_vectorised_and_below_the_dry_bulb():
    t = np.array([30.0, 13.0, -5.0, 20.0])
    rh = np.array([62.0, 35.0, 80.0, 100.0])
    tw = wet_bulb_c(t, rh, np.full(4, 101325.0))
    assert tw.shape == (4,) and np.all(tw <= t + 1e-9) and tw[3] == pytest.approx(20.0, abs=1e-3)


def test_utc_hours_map_to_the_rows_of_local_standard_time(data_dir):
    weather = read_epw(data_dir / LEESBURG)
    assert read_epw(data_dir / LEESBURG) is weather  # read once per process

    def key(when: str) -> tuple[int, int, int]:
        row = epw_rows(weather, pd.DatetimeIndex([pd.Timestamp(when)]))[0]
        return int(weather.month[row]), int(weather.day[row]), int(weather.hour[row])

    # July: UTC 17:00 is 12:00 EST (no daylight saving in the file): the row ending at 13
    assert key("2022-07-11T17:00Z") == (7, 11, 13)
    assert key("2022-07-11T04:00Z") == (7, 10, 24)  # 23:00 local on the day before: its last row
    assert key("2022-07-11T05:00Z") == (7, 11, 1)
    assert key("2023-01-01T03:00Z") == (12, 31, 23)  # the year wraps in local time
    assert key("2024-02-29T12:00Z") == (2, 28, 8)  # 29 February takes 28 February
    assert key("2024-03-01T04:00Z") == (2, 28, 24)  # 23:00 local on 29 February
    leap = hourly_wet_bulb_f(weather, pd.date_range("2024-02-29T05:00Z", periods=24, freq="h"))
    same = hourly_wet_bulb_f(weather, pd.date_range("2023-02-28T05:00Z", periods=24, freq="h"))
    np.testing.assert_array_equal(leap.to_numpy(), same.to_numpy())
    # the year of the scenario does not matter, the index is the scenario's
    a = hourly_wet_bulb_f(weather, pd.date_range("2022-07-11T00:00Z", periods=48, freq="h"))
    b = hourly_wet_bulb_f(weather, pd.date_range("2030-07-11T00:00Z", periods=48, freq="h"))
    np.testing.assert_array_equal(a.to_numpy(), b.to_numpy())
    assert a.index[0] == pd.Timestamp("2022-07-11T00:00Z") and a.diff().abs().max() > 0


def test_a_data_center_with_a_weather_file_gets_its_wue_on_grid_signals(data_dir):
    scenario = load_scenario(US_BA).with_hours(6).with_start("2022-07-11T00:00Z")
    dcs = [dc.model_copy(update={"weather_file": SEATTLE}) if dc.name == "Seattle" else dc for dc in scenario.datacenters]
    with_weather = scenario.model_copy(update={"datacenters": dcs})
    assert grid_plan(with_weather, data_dir=data_dir).weather == {"Seattle": ((data_dir / SEATTLE).resolve(), SEATTLE)}
    inst = build_instance(with_weather, data_dir=data_dir, source=US_BA)
    expected = onsite_wue_from_epw(data_dir / SEATTLE, inst.times, source=SEATTLE).to_numpy()
    np.testing.assert_allclose(inst.wue_l_per_kwh[0], expected, rtol=1e-12)
    for n, name in enumerate(inst.datacenters[1:], start=1):  # the others keep the climatology
        np.testing.assert_allclose(inst.wue_l_per_kwh[n], onsite_wue_series(name, inst.times[0], 6).to_numpy(), rtol=1e-12)
    assert not np.allclose(expected, onsite_wue_series("Seattle", inst.times[0], 6).to_numpy())


def _synthetic(**weather: str) -> dict:
    """Virginia, a second data center on Virginia's site, and Texas, on synthetic signals."""
    dcs = [{"name": "Virginia", "servers": 10}, {"name": "Ashburn", "signal_site": "Virginia", "servers": 10},
           {"name": "Texas", "servers": 10}]
    for dc in dcs:
        if dc["name"] in weather:
            dc["weather_file"] = weather[dc["name"]]
    return {"name": "t", "hours": 24, "start": "2022-07-11T00:00:00Z",
            "models": [{"name": "m", "energy_wh_per_request": 1, "resources_per_request": 1, "quality_score": 1}],
            "datacenters": dcs, "regions": [{"name": "r", "local_datacenter": "Virginia"}]}


def test_a_weather_file_replaces_the_wue_of_other_signal_sources(data_dir):
    plain = build_instance(parse_scenario(_synthetic()), data_dir=data_dir)
    inst = build_instance(parse_scenario(_synthetic(Virginia=LEESBURG)), data_dir=data_dir)
    expected = onsite_wue_from_epw(data_dir / LEESBURG, inst.times).to_numpy()
    np.testing.assert_allclose(inst.wue_l_per_kwh[0], expected, rtol=1e-12)
    np.testing.assert_allclose(inst.wue_l_per_kwh[1], expected, rtol=1e-12)  # the same site: one climate
    np.testing.assert_array_equal(inst.wue_l_per_kwh[2], plain.wue_l_per_kwh[2])
    np.testing.assert_array_equal(inst.price_usd_per_mwh, plain.price_usd_per_mwh)
    assert not np.allclose(inst.wue_l_per_kwh[0], plain.wue_l_per_kwh[0])


def test_a_missing_weather_file_is_refused_naming_the_field(tmp_path):
    with pytest.raises(InputError) as err:
        build_instance(parse_scenario(_synthetic(Texas="weather/NOPE.epw")), data_dir=tmp_path, source="s.yaml")
    assert (err.value.source, err.value.where) == ("s.yaml", "datacenters.2.weather_file")
    assert "weather/NOPE.epw" in err.value.reason


def test_one_site_with_two_weather_files_is_refused(data_dir):
    doc = _synthetic(Virginia=LEESBURG, Ashburn=SEATTLE)
    with pytest.raises(InputError) as err:
        build_instance(parse_scenario(doc), data_dir=data_dir, source="s.yaml")
    assert err.value.where == "datacenters.1.weather_file" and "a site has one climate" in err.value.reason
    same = copy.deepcopy(doc)
    same["datacenters"][1]["weather_file"] = LEESBURG
    assert set(site_weather(parse_scenario(same), data_dir=data_dir)) == {"Virginia"}


@pytest.mark.parametrize("cut", ["header", "rows", "line"])
def test_a_bad_epw_file_is_refused_naming_it(data_dir, tmp_path, cut):
    lines = (data_dir / LEESBURG).read_text().splitlines(keepends=True)
    bad = {"header": lines[:5], "rows": lines[:8 + 4000], "line": lines[:8 + 100] + [lines[8 + 100][:40]]}[cut]
    (tmp_path / "weather").mkdir()
    path = tmp_path / "weather" / "bad.epw"
    path.write_text("".join(bad))
    with pytest.raises(InputError) as err:
        read_epw(path, source="weather/bad.epw")
    assert err.value.source == "weather/bad.epw" and len(err.value.reason) < 140
    doc = _synthetic(Texas="weather/bad.epw")
    with pytest.raises(InputError) as err:
        build_instance(parse_scenario(doc), data_dir=tmp_path, source="s.yaml")
    assert err.value.source == "weather/bad.epw"
    with pytest.raises(InputError) as err:
        read_epw(tmp_path / "none.epw")
    assert err.value.source == str(tmp_path / "none.epw") and err.value.reason == "not found"


def test_a_grid_takes_a_site_own_wue_from_a_file_or_a_callable(data_dir):
    from grids.registry import build_region

    rg = build_region("us_east", seed=0)
    with pytest.raises(InputError, match="no site 'Atlantis'"):
        rg.with_site_wue({"Atlantis": data_dir / LEESBURG})
    grid = rg.with_site_wue({"Virginia": data_dir / LEESBURG}).for_hours("2022-07-11T00:00Z", 3)
    assert rg.site_wue_l_per_kwh == {}  # the grid it came from keeps the climatology
    k = list(grid.sites).index("Virginia")
    np.testing.assert_allclose(grid.dispatch(0).wue_l_per_kwh[k], onsite_wue_from_epw(data_dir / LEESBURG, grid.times).iloc[0])
    fixed = rg.with_site_wue({"Virginia": lambda times: np.full(len(times), 1.25)}).for_hours("2022-07-11T00:00Z", 3)
    assert fixed.dispatch(2).wue_l_per_kwh[k] == 1.25
