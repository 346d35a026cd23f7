"""Accounting that must be kept apart (DESIGN.md): attributional, consequential and
first-order emissions, predicted versus realized savings, rebound, and who pays.

- attributional: each site's energy x the average intensity of its grid (what a
  data-center operator reports);
- consequential: total system emissions with the data-center load minus without it, both
  from dispatch (what the atmosphere sees);
- first-order: the decided energy x the marginal emissions (LME) seen at decision time,
  the small-change estimate the operator optimized against;
- who pays: the change in LMP times the background load (consumers who did not move).

Energies in MWh (MW over one hour), intensities in kg/MWh, emissions in kg, money in USD.
"""
from __future__ import annotations

import math

import numpy as np


def attributional_kg(energy_mwh: np.ndarray, avg_kg_per_mwh: np.ndarray) -> float:
    """Sum over sites of energy x the average intensity of the site's grid."""
    return float(np.dot(np.asarray(energy_mwh, float), np.asarray(avg_kg_per_mwh, float)))


def consequential_kg(with_load_kg: float, without_load_kg: float) -> float:
    """System emissions with the load minus without it (two dispatches)."""
    return float(with_load_kg - without_load_kg)


def first_order_kg(energy_mwh: np.ndarray, lme_kg_per_mwh: np.ndarray) -> float:
    """The decided energy x the marginal emissions seen when deciding."""
    return float(np.dot(np.asarray(energy_mwh, float), np.asarray(lme_kg_per_mwh, float)))


def consumers_cost_change_usd(lmp_with: np.ndarray, lmp_without: np.ndarray, background_mw: np.ndarray) -> float:
    """What the consumers who did not move pay more (positive) for the same energy:
    (LMP with the load - LMP without) x background load, summed over buses."""
    return float(np.dot(np.asarray(lmp_with, float) - np.asarray(lmp_without, float), np.asarray(background_mw, float)))


def rebound(predicted_savings: float, realized_savings: float) -> float:
    """1 - realized / predicted: the share of a predicted saving the grid's response took
    back (0: as predicted; 1: nothing saved; > 1: the move made things worse). NaN when
    nothing was predicted."""
    if predicted_savings == 0 or not math.isfinite(predicted_savings):
        return math.nan
    return 1.0 - realized_savings / predicted_savings
