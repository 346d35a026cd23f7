"""Empirical marginal emission factors (grids.marginal_emissions) and the grid check
(grids.grid_check): synthetic series with known answers, the shared EIA-930 files."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from grids.grid_check import GOAL_LME_ERROR, compare, write_grid_check
from grids.marginal_emissions import (
    MEF_COLUMNS,
    PERIODS,
    SEASONS,
    average_intensity_kg_per_kwh,
    dispatchable_net_load_mw,
    emissions_kg,
    empirical_mef,
    season_of,
)

CODES = ("WND", "SUN", "WAT", "OIL", "NG", "COL", "NUC", "OTH")
COAL, GAS, WIND = 0.968, 0.44, 0.023  # kg/kWh, fuels.yaml
SHARED = {"AZPS": 0.48459, "BPAT": 0.01834, "MISO": 0.58256, "NYIS": 0.32541}  # measured year MEF, kg/kWh


def _hours(start: str, n: int) -> pd.DatetimeIndex:
    return pd.date_range(start, periods=n, freq="h", tz="UTC", name="time")


def _mix(index: pd.DatetimeIndex, **changes: np.ndarray) -> pd.DataFrame:
    """Every fuel at a constant 1000 MW, plus the given per-code series (MW)."""
    frame = pd.DataFrame(1000.0, index=index, columns=list(CODES))
    for code, values in changes.items():
        frame[code] += values
    return frame


def _walk(n: int, seed: int = 0) -> np.ndarray:
    """A random walk of hourly steps (MW), varied enough for a regression."""
    return np.cumsum(np.random.default_rng(seed).normal(0.0, 50.0, n))


def _shared(data_dir, name: str) -> pd.DataFrame:
    path = data_dir / "eia930" / f"{name}.csv"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    frame = pd.read_csv(path, index_col="timestamp", parse_dates=True).drop(columns="avg_CI")
    return frame.interpolate(method="linear")  # MISO's 3 gappy rows


# --- hourly emissions, intensity and net load -------------------------------------------------

def test_emissions_intensity_and_net_load_of_one_hour():
    mw = _mix(_hours("2022-01-01", 2)) * 0.0
    mw.iloc[0] = [100, 50, 0, 0, 200, 300, 0, 0]
    expected = 100 * 23 + 50 * 20 + 200 * 440 + 300 * 968
    assert emissions_kg(mw).iloc[0] == pytest.approx(expected)
    assert average_intensity_kg_per_kwh(mw).iloc[0] == pytest.approx(expected / 650 / 1000)
    assert np.isnan(average_intensity_kg_per_kwh(mw).iloc[1])  # no generation
    assert dispatchable_net_load_mw(mw).iloc[0] == 500


def test_a_missing_fuel_column_or_factor_is_named():
    mw = _mix(_hours("2022-01-01", 3)).drop(columns="NUC")
    with pytest.raises(ValueError, match="NUC"):
        emissions_kg(mw)
    with pytest.raises(ValueError, match="uranium"):
        emissions_kg(_mix(_hours("2022-01-01", 3)), fuels={"NUC": "uranium"})


# --- the regression ---------------------------------------------------------------------------

def test_gas_alone_at_the_margin_gives_its_factor():
    index = _hours("2022-03-01", 500)
    mef = empirical_mef(_mix(index, NG=_walk(500)))
    assert list(mef.index) == list(PERIODS) and list(mef.columns) == list(MEF_COLUMNS)
    year = mef.loc["year"]
    assert year["mef_kg_per_kwh"] == pytest.approx(GAS, abs=1e-9)
    assert year["r2"] == pytest.approx(1.0, abs=1e-9)
    assert year["stderr_kg_per_kwh"] == pytest.approx(0.0, abs=1e-9)
    assert year["hours"] == 499
    assert mef.loc["MAM", "mef_kg_per_kwh"] == pytest.approx(GAS, abs=1e-9)


def test_a_shared_margin_gives_the_weighted_factor():
    step = _walk(800, seed=1)
    mef = empirical_mef(_mix(_hours("2022-05-01", 800), COL=0.3 * step, NG=0.7 * step))
    assert mef.loc["year", "mef_kg_per_kwh"] == pytest.approx(0.3 * COAL + 0.7 * GAS, abs=1e-9)
    assert mef.loc["year", "r2"] == pytest.approx(1.0, abs=1e-9)


def test_seasons_split_by_month():
    jan, jul = _hours("2022-01-01", 744), _hours("2022-07-01", 744)
    mw = pd.concat([_mix(jan, COL=_walk(744, 2)), _mix(jul, NG=_walk(744, 3))])
    mef = empirical_mef(mw)
    assert mef.loc["DJF", "mef_kg_per_kwh"] == pytest.approx(COAL, abs=1e-9)
    assert mef.loc["JJA", "mef_kg_per_kwh"] == pytest.approx(GAS, abs=1e-9)
    assert mef.loc["DJF", "hours"] == 743 and mef.loc["JJA", "hours"] == 743  # no difference across the gap
    assert mef.loc[["MAM", "SON"], "hours"].tolist() == [0, 0]
    assert mef.loc[["MAM", "SON"], "mef_kg_per_kwh"].isna().all()
    assert COAL > mef.loc["year", "mef_kg_per_kwh"] > GAS


def test_a_difference_belongs_to_its_later_hour():
    index = _hours("2022-02-28 20:00", 8)  # 20:00 .. 03:00 on 1 March
    assert list(season_of(index)) == ["DJF"] * 4 + ["MAM"] * 4
    assert season_of(index.tz_convert("America/New_York"))[4] == "MAM"  # months are UTC's


def test_wind_and_solar_are_not_net_load():
    """Wind displaces gas one for one: total generation is flat, net load moves with gas."""
    step = _walk(600, seed=4)
    mw = _mix(_hours("2022-08-01", 600), NG=step, WND=-step + 600.0)
    assert np.allclose(dispatchable_net_load_mw(mw), mw.drop(columns=["WND", "SUN"]).sum(axis=1))
    assert mef_of(mw) == pytest.approx(GAS - WIND, abs=1e-9)


def test_solar_swings_are_left_out_of_net_load():
    """Solar's steps (displacing gas) move emissions but not the regressor."""
    solar = np.where(np.arange(600) % 24 < 12, 400.0, 0.0)
    mw = _mix(_hours("2022-08-01", 600), NG=_walk(600, 5) - solar, SUN=solar)
    de = emissions_kg(mw).diff().dropna()
    dn = dispatchable_net_load_mw(mw).diff().dropna()
    assert mef_of(mw) == pytest.approx(np.polyfit(dn, de, 1)[0] / 1000, abs=1e-12)
    assert dispatchable_net_load_mw(mw).equals(mw[["WAT", "OIL", "NG", "COL", "NUC", "OTH"]].sum(axis=1).rename("net_load_mw"))


def test_nan_hours_and_missing_hours_break_differences():
    mw = _mix(_hours("2022-10-01", 200), NG=_walk(200, 6))
    mw.iloc[50, mw.columns.get_loc("COL")] = np.nan  # loses differences 49->50 and 50->51
    mw = mw.drop(mw.index[120])  # loses 119->120 and 120->121, leaves no 119->121 difference
    mef = empirical_mef(mw)
    assert mef.loc["SON", "hours"] == 199 - 4
    assert mef.loc["SON", "mef_kg_per_kwh"] == pytest.approx(GAS, abs=1e-9)
    spiky = mw.copy()
    spiky.iloc[50, spiky.columns.get_loc("NG")] = 1e6  # the NaN hour's other fuels play no part
    assert empirical_mef(spiky).loc["SON", "mef_kg_per_kwh"] == pytest.approx(GAS, abs=1e-9)


def test_too_few_differences_give_nan_with_the_count():
    mef = empirical_mef(_mix(_hours("2022-06-01", 20), NG=_walk(20, 7)))
    assert mef.loc["JJA", "hours"] == 19 and np.isnan(mef.loc["JJA", "mef_kg_per_kwh"])
    assert np.isnan(mef.loc["year", "r2"])


def mef_of(mw: pd.DataFrame) -> float:
    return float(empirical_mef(mw).loc["year", "mef_kg_per_kwh"])


# --- the shared EIA-930 files -----------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(SHARED))
def test_shared_balancing_areas_agree_with_polyfit(data_dir, name):
    mw = _shared(data_dir, name)
    mef = empirical_mef(mw)
    de, dn = emissions_kg(mw).diff().iloc[1:], dispatchable_net_load_mw(mw).diff().iloc[1:]
    assert mef.loc["year", "hours"] == len(mw) - 1 == 8759
    assert mef.loc["year", "mef_kg_per_kwh"] == pytest.approx(np.polyfit(dn, de, 1)[0] / 1000, abs=1e-12)
    months = de.index.month
    for season, in_season in SEASONS.items():
        mask = np.isin(months, in_season)
        slope = np.polyfit(dn[mask], de[mask], 1)[0] / 1000
        assert mef.loc[season, "mef_kg_per_kwh"] == pytest.approx(slope, abs=1e-12)
        assert mef.loc[season, "r2"] == pytest.approx(np.corrcoef(dn[mask], de[mask])[0, 1] ** 2, abs=1e-12)
    assert mef.loc["year", "mef_kg_per_kwh"] == pytest.approx(SHARED[name], abs=1e-3)


def test_miso_gaps_break_differences_when_not_filled(data_dir):
    path = data_dir / "eia930" / "MISO.csv"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    mw = pd.read_csv(path, index_col="timestamp", parse_dates=True)  # avg_CI is ignored
    mef = empirical_mef(mw)
    assert mef.loc["year", "hours"] == 8759 - 5  # 3 gappy hours, two of them adjacent
    assert mef.loc["year", "mef_kg_per_kwh"] == pytest.approx(SHARED["MISO"], abs=1e-3)


# --- the grid check ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def observed() -> pd.DataFrame:
    """A synthetic year: gas and coal follow load, wind and solar vary, all positive."""
    index = _hours("2022-01-01", 8760)
    rng = np.random.default_rng(11)
    hour = np.arange(8760)
    load = 600 * np.sin(2 * np.pi * hour / 24) + rng.normal(0, 80, 8760)
    solar = np.clip(800 * np.sin(2 * np.pi * (hour % 24 - 6) / 24), 0, None)
    wind = 500 + 300 * np.sin(2 * np.pi * hour / 200) + rng.normal(0, 30, 8760)
    return _mix(index, NG=0.6 * load + 800, COL=0.4 * load, WND=wind, SUN=solar)


def _model_of(observed: pd.DataFrame, *, lme) -> pd.DataFrame:
    """A model frame (year_baseline form) reproducing *observed*'s mix exactly."""
    frame = pd.DataFrame({"carbon_kg_per_kwh": average_intensity_kg_per_kwh(observed),
                          "lme_kg_per_kwh": lme, "price_usd_per_mwh": 40.0}, index=observed.index)
    for code in CODES:
        frame[f"p_mw:{code}"] = observed[code]
    return frame


def _seasonal(observed: pd.DataFrame, values: dict[str, float]) -> np.ndarray:
    return np.array([values[s] for s in season_of(observed.index)])


def test_a_model_equal_to_the_observation_checks_perfectly(observed):
    check = compare("SYN", observed, _model_of(observed, lme=0.5))
    year = check.summary.loc["year"]
    assert list(check.summary.index) == list(PERIODS)
    assert check.summary["intensity_error"].abs().max() == pytest.approx(0.0, abs=1e-12)
    assert check.summary["intensity_correlation"].to_numpy() == pytest.approx(1.0, abs=1e-12)
    assert year["hours"] == 8760 and year["intensity_ok"] and year["correlation_ok"]
    assert check.by_fuel["observed_share"].sum() == pytest.approx(1.0)
    assert check.by_fuel["model_share"].sum() == pytest.approx(1.0)
    assert check.by_fuel["share_difference"].abs().max() == pytest.approx(0.0, abs=1e-12)
    assert check.by_fuel.loc["NG", "fuel"] == "gas"
    assert np.allclose(check.hourly["model_mix_intensity_kg_per_kwh"], check.hourly["model_intensity_kg_per_kwh"])


def test_a_model_ten_percent_high_misses_the_intensity_goal(observed):
    mef = empirical_mef(observed)["mef_kg_per_kwh"].to_dict()
    model = _model_of(observed, lme=_seasonal(observed, mef))
    assert compare("SYN", observed, model).goals_met
    model["carbon_kg_per_kwh"] *= 1.10
    check = compare("SYN", observed, model)
    assert check.summary.loc["year", "intensity_error"] == pytest.approx(0.10)
    assert not check.summary.loc["year", "intensity_ok"]
    assert check.summary.loc["year", "correlation_ok"]  # a scale leaves the correlation at 1
    assert not check.goals_met
    assert len(check.missed_goals) == 1 and check.missed_goals[0].startswith("intensity: year error +10.0%")


def test_lme_goal_holds_in_every_season_or_fails(observed):
    mef = empirical_mef(observed)["mef_kg_per_kwh"].to_dict()
    check = compare("SYN", observed, _model_of(observed, lme=_seasonal(observed, mef)))
    assert check.summary.loc[list(SEASONS), "lme_error"].abs().max() == pytest.approx(0.0, abs=1e-12)
    assert check.summary["lme_ok"].all()
    off = dict(mef, JJA=mef["JJA"] * 1.25)
    check = compare("SYN", observed, _model_of(observed, lme=_seasonal(observed, off)))
    lme_ok = check.summary["lme_ok"]
    assert check.summary.loc["JJA", "lme_error"] == pytest.approx(0.25) and 0.25 > GOAL_LME_ERROR
    assert lme_ok.to_dict() == {"DJF": True, "MAM": True, "JJA": False, "SON": True, "year": False}
    assert not check.goals_met and "JJA +25.0%" in check.missed_goals[0]


def test_compare_refuses_other_hours_or_missing_columns(observed):
    model = _model_of(observed, lme=0.5)
    with pytest.raises(ValueError, match="hours differ"):
        compare("SYN", observed, model.iloc[1:])
    with pytest.raises(ValueError, match="p_mw|NUC"):
        compare("SYN", observed, model.drop(columns="p_mw:NUC"))


def test_write_grid_check_writes_tables_and_figure(observed, tmp_path):
    check = compare("SYN", observed, _model_of(observed, lme=0.5))
    paths = write_grid_check(check, tmp_path / "out")
    assert [p.name for p in paths] == ["SYN_summary.csv", "SYN_by_fuel.csv", "SYN_hourly.csv", "SYN_grid_check.png"]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(p.name for p in paths)  # no temporary left
    pd.testing.assert_frame_equal(pd.read_csv(paths[0], index_col="period"), check.summary)
    pd.testing.assert_frame_equal(pd.read_csv(paths[1], index_col="fuel_code"), check.by_fuel)
    hourly = pd.read_csv(paths[2], index_col="time", parse_dates=True)
    pd.testing.assert_frame_equal(hourly, check.hourly, check_freq=False)
    png = paths[3].read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20_000
