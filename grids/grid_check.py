"""How well a grid model reproduces a balancing area's year: intensity, marginal emissions, mix.

:func:`compare` sets a model's hourly baseline (the frame of
``grids.balancing_area.year_baseline``: ``carbon_kg_per_kwh``, ``lme_kg_per_kwh``,
``price_usd_per_mwh`` and ``p_mw:<fuel code>`` per hour) against the observed generation by
fuel code (MW) of the same hours, per season (``DJF, MAM, JJA, SON``) and for the year:

- average intensity (kg/kWh), generation-weighted over the period, observed (emissions from
  the fuel factors of ``fuels.yaml``) and model (its ``carbon_kg_per_kwh`` weighted by its
  generation, the sum of its ``p_mw`` columns); their relative error and the Pearson
  correlation of the hourly values;
- the empirical marginal emission factor of the observation
  (:func:`grids.marginal_emissions.empirical_mef`, kg/kWh) and the model's mean hourly
  LME (kg/kWh), with the relative error;
- mean generation by fuel (MW) and shares of generation (fractions).

The goals (the issue's, GOAL_* below) are judged on the year row for intensity and
correlation and on every season for the LME. :func:`write_grid_check` writes the three
tables as CSV and a three-panel PNG.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from grids.marginal_emissions import (
    PERIODS,
    SEASONS,
    average_intensity_kg_per_kwh,
    empirical_mef,
    fuel_columns,
    fuel_map,
    generation_mw,
    season_of,
)

GOAL_INTENSITY_ERROR = 0.05
"""Goal: the model's year average intensity within 5 % (relative) of the observed one."""

GOAL_CORRELATION = 0.8
"""Goal: Pearson correlation of hourly average intensity, model vs observed, at least 0.8 over the year."""

GOAL_LME_ERROR = 0.20
"""Goal: in every season, the model's mean LME within 20 % (relative) of the empirical MEF."""

MODEL_COLUMNS = ("carbon_kg_per_kwh", "lme_kg_per_kwh")
"""Columns a model frame needs besides ``p_mw:<code>`` per fuel code."""

SUMMARY_COLUMNS = (
    "hours", "observed_intensity_kg_per_kwh", "model_intensity_kg_per_kwh", "intensity_error",
    "intensity_correlation", "empirical_mef_kg_per_kwh", "model_mean_lme_kg_per_kwh", "lme_error",
    "intensity_ok", "correlation_ok", "lme_ok",
)


@dataclass(frozen=True)
class GridCheck:
    """A model checked against one balancing area.

    ``summary``: index ``period`` (``DJF, MAM, JJA, SON, year``), SUMMARY_COLUMNS. ``hours``
    counts the hours compared (observed with every fuel and model values present);
    intensities are kg/kWh, errors relative ((model - observed) / |observed|, the LME's to
    the empirical MEF). Flags: ``intensity_ok`` (|intensity_error| <= GOAL_INTENSITY_ERROR)
    and ``correlation_ok`` (>= GOAL_CORRELATION) test each row's own figures, the goal being
    the year row's; ``lme_ok`` is the season's |lme_error| <= GOAL_LME_ERROR on a season row
    and all four seasons' on the year row. A figure that cannot be measured (NaN, e.g. too
    few hours in a season) fails its flag.

    ``by_fuel``: index ``fuel_code``; ``fuel``, ``observed_mean_mw``, ``model_mean_mw``,
    ``mean_mw_difference`` (model - observed), ``observed_share``, ``model_share`` (of total
    generation, fractions) and ``share_difference``, over the compared hours.

    ``hourly``: index ``time``; ``observed_intensity_kg_per_kwh``,
    ``model_intensity_kg_per_kwh`` (the model's ``carbon_kg_per_kwh``),
    ``model_mix_intensity_kg_per_kwh`` (the model's ``p_mw`` with the fuel factors of
    ``fuels.yaml``: equal to the former when the model uses those factors),
    ``model_lme_kg_per_kwh``, ``observed_generation_mw`` and ``model_generation_mw``.
    """

    name: str
    summary: pd.DataFrame
    by_fuel: pd.DataFrame
    hourly: pd.DataFrame

    @property
    def goals_met(self) -> bool:
        """All three goals met: year intensity and correlation, LME in every season."""
        return not self.missed_goals

    @property
    def missed_goals(self) -> list[str]:
        """One sentence per goal missed (empty when all are met)."""
        year = self.summary.loc["year"]
        missed = []
        if not year["intensity_ok"]:
            missed.append(f"intensity: year error {_percent(year['intensity_error'])} "
                          f"(goal within {GOAL_INTENSITY_ERROR:.0%})")
        if not year["correlation_ok"]:
            missed.append(f"correlation: year {year['intensity_correlation']:.3f} (goal >= {GOAL_CORRELATION:g})")
        if not year["lme_ok"]:
            seasons = self.summary.loc[list(SEASONS)]
            off = ", ".join(f"{s} {_percent(e)}" for s, e in seasons.loc[~seasons["lme_ok"], "lme_error"].items())
            missed.append(f"LME: error {off} (goal within {GOAL_LME_ERROR:.0%} in every season)")
        return missed


def compare(name: str, observed_mw: pd.DataFrame, model: pd.DataFrame,
            fuels: Mapping[str, str] | None = None) -> GridCheck:
    """Check *model* (``year_baseline`` form) against *observed_mw* (MW by fuel code), same index.

    *fuels*: fuel code -> fuel name (default the EIA-930 codes). Raises ValueError when the
    indexes differ or a column is missing."""
    if not observed_mw.index.equals(model.index):
        raise ValueError(f"{name}: the model's hours differ from the observed ones")
    missing = [c for c in MODEL_COLUMNS if c not in model.columns]
    if missing:
        raise ValueError(f"{name}: model frame lacks column(s) {', '.join(missing)}")
    codes = list(fuel_map(fuels))
    model_mw = fuel_columns(model.rename(columns={f"p_mw:{c}": c for c in codes}), fuels)
    hourly = pd.DataFrame({
        "observed_intensity_kg_per_kwh": average_intensity_kg_per_kwh(observed_mw, fuels),
        "model_intensity_kg_per_kwh": model["carbon_kg_per_kwh"].astype(float),
        "model_mix_intensity_kg_per_kwh": average_intensity_kg_per_kwh(model_mw, fuels),
        "model_lme_kg_per_kwh": model["lme_kg_per_kwh"].astype(float),
        "observed_generation_mw": generation_mw(observed_mw, fuels),
        "model_generation_mw": generation_mw(model_mw, fuels),
    }, index=observed_mw.index)
    hourly.index.name = "time"
    compared = hourly[["observed_intensity_kg_per_kwh", "model_intensity_kg_per_kwh",
                       "observed_generation_mw", "model_generation_mw"]].notna().all(axis=1).to_numpy()
    summary = _summary(hourly, compared, empirical_mef(observed_mw, fuels))
    by_fuel = _by_fuel(fuel_columns(observed_mw, fuels)[compared], model_mw[compared], fuel_map(fuels))
    return GridCheck(name=name, summary=summary, by_fuel=by_fuel, hourly=hourly)


def _summary(hourly: pd.DataFrame, compared: np.ndarray, mef: pd.DataFrame) -> pd.DataFrame:
    season = season_of(hourly.index)
    rows = {}
    for period in PERIODS:
        in_period = np.ones(len(hourly), bool) if period == "year" else season == period
        h = hourly[in_period & compared]
        observed = _weighted(h["observed_intensity_kg_per_kwh"], h["observed_generation_mw"])
        modelled = _weighted(h["model_intensity_kg_per_kwh"], h["model_generation_mw"])
        empirical = mef.loc[period, "mef_kg_per_kwh"]
        lme = hourly.loc[in_period, "model_lme_kg_per_kwh"].mean()
        rows[period] = {
            "hours": len(h),
            "observed_intensity_kg_per_kwh": observed,
            "model_intensity_kg_per_kwh": modelled,
            "intensity_error": _relative(modelled, observed),
            "intensity_correlation": _pearson(h["observed_intensity_kg_per_kwh"], h["model_intensity_kg_per_kwh"]),
            "empirical_mef_kg_per_kwh": empirical,
            "model_mean_lme_kg_per_kwh": lme,
            "lme_error": _relative(lme, empirical),
        }
    table = pd.DataFrame.from_dict(rows, orient="index")
    table["hours"] = table["hours"].astype(int)
    table["intensity_ok"] = table["intensity_error"].abs() <= GOAL_INTENSITY_ERROR
    table["correlation_ok"] = table["intensity_correlation"] >= GOAL_CORRELATION
    table["lme_ok"] = table["lme_error"].abs() <= GOAL_LME_ERROR
    table.loc["year", "lme_ok"] = bool(table.loc[list(SEASONS), "lme_ok"].all())
    table.index.name = "period"
    return table[list(SUMMARY_COLUMNS)]


def _by_fuel(observed: pd.DataFrame, modelled: pd.DataFrame, names: dict[str, str]) -> pd.DataFrame:
    obs, mod = observed.mean(), modelled.mean()
    table = pd.DataFrame({
        "fuel": pd.Series(names),
        "observed_mean_mw": obs,
        "model_mean_mw": mod,
        "mean_mw_difference": mod - obs,
        "observed_share": obs / obs.sum(),
        "model_share": mod / mod.sum(),
    }, index=list(names))
    table["share_difference"] = table["model_share"] - table["observed_share"]
    table.index.name = "fuel_code"
    return table


def _weighted(values: pd.Series, weights: pd.Series) -> float:
    """Weighted mean (NaN when the weights sum to 0): sum emissions / sum generation."""
    total = float(weights.sum())
    return float((values * weights).sum() / total) if total != 0 else np.nan


def _relative(value: float, reference: float) -> float:
    return (value - reference) / abs(reference) if np.isfinite(reference) and reference != 0 else np.nan


def _pearson(x: pd.Series, y: pd.Series) -> float:
    """Pearson correlation; NaN with fewer than 2 values or one series constant."""
    if len(x) < 2 or x.std() == 0 or y.std() == 0:
        return np.nan
    return float(np.corrcoef(x.to_numpy(), y.to_numpy())[0, 1])


def _percent(value: float) -> str:
    return "n/a" if not np.isfinite(value) else f"{value:+.1%}"


def write_grid_check(check: GridCheck, out: Path) -> list[Path]:
    """Write OUT/<name>_summary.csv, _by_fuel.csv, _hourly.csv and _grid_check.png (each
    through a temporary file renamed into place); returns the four paths."""
    if not check.name or Path(check.name).name != check.name:
        raise ValueError(f"grid check name {check.name!r} is not a plain file name")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = [_write_atomic(out / f"{check.name}_{part}.csv", lambda p, f=frame: f.to_csv(p))
             for part, frame in (("summary", check.summary), ("by_fuel", check.by_fuel), ("hourly", check.hourly))]
    figure = _figure(check)
    paths.append(_write_atomic(out / f"{check.name}_grid_check.png", lambda p: figure.savefig(p, dpi=120, format="png")))
    return paths


def _write_atomic(path: Path, write: Callable[[Path], object]) -> Path:
    """Write through a temporary sibling and rename, so readers never see half a file."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def _figure(check: GridCheck):
    """Three panels: daily intensity, seasonal MEF vs LME with the goal band, mean MW by fuel.
    A bare Figure on an Agg canvas: pyplot's global state and backend are left alone."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9, 11), layout="constrained")
    FigureCanvasAgg(fig)
    ax_day, ax_mef, ax_mix = fig.subplots(3, 1)

    daily = check.hourly[["observed_intensity_kg_per_kwh", "model_intensity_kg_per_kwh"]].resample("D").mean()
    ax_day.plot(daily.index, daily["observed_intensity_kg_per_kwh"], label="observed (EIA-930 mix x fuel factors)")
    ax_day.plot(daily.index, daily["model_intensity_kg_per_kwh"], label="model")
    ax_day.set_ylabel("daily mean average intensity (kg CO2/kWh)")
    ax_day.set_title(f"{check.name}: model vs observed", loc="left")
    ax_day.legend(fontsize=9)
    ax_day.grid(True, alpha=0.3)

    seasons = check.summary.loc[list(SEASONS)]
    x = np.arange(len(seasons))
    empirical = seasons["empirical_mef_kg_per_kwh"].to_numpy(float)
    ax_mef.bar(x - 0.2, empirical, 0.4, label="empirical MEF (observed)")
    ax_mef.bar(x + 0.2, seasons["model_mean_lme_kg_per_kwh"].to_numpy(float), 0.4, label="model mean LME")
    ax_mef.errorbar(x - 0.2, empirical, yerr=GOAL_LME_ERROR * np.abs(empirical), fmt="none", ecolor="black",
                    capsize=6, label=f"goal: within {GOAL_LME_ERROR:.0%} of the empirical MEF")
    top = np.nanmax(np.r_[empirical * (1 + GOAL_LME_ERROR), seasons["model_mean_lme_kg_per_kwh"], 0.0])
    ax_mef.set_ylim(top=1.35 * top if top > 0 else None)  # room for the legend above the bars
    ax_mef.set_xticks(x, list(seasons.index))
    ax_mef.set_ylabel("marginal emissions (kg CO2/kWh)")
    ax_mef.set_title("per season (UTC months): marginal emissions", loc="left", fontsize=10)
    ax_mef.legend(fontsize=9, loc="upper center", ncols=3)
    ax_mef.grid(True, axis="y", alpha=0.3)

    fuels = check.by_fuel
    x = np.arange(len(fuels))
    ax_mix.bar(x - 0.2, fuels["observed_mean_mw"].to_numpy(float), 0.4, label="observed")
    ax_mix.bar(x + 0.2, fuels["model_mean_mw"].to_numpy(float), 0.4, label="model")
    ax_mix.set_xticks(x, [f"{code}\n{fuel}" for code, fuel in fuels["fuel"].items()])
    ax_mix.set_ylabel("mean generation (MW)")
    ax_mix.set_title("mean generation by fuel over the compared hours", loc="left", fontsize=10)
    ax_mix.legend(fontsize=9)
    ax_mix.grid(True, axis="y", alpha=0.3)
    return fig
