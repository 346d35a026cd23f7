"""One simulated hour as data: what the grids publish, what the operators decide and what a
grid realizes (DESIGN.md, "One simulated hour"). Small frozen records, handed from one
step of the hour to the next; the model's HourlyLog (cosim.hourly_log) keeps their series.

Arrays follow the decision instance's order: N data centers, J users (region x tier), A
arcs (user, data center, model) of the operators' policy.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from grids.outcome import SIGNALS, HourOutcome

__all__ = ["SIGNALS", "Choice", "Decision", "GridHour", "HourRecord", "Signals"]


@dataclass(frozen=True)
class Signals:
    """The signals of one hour at every data center (N,): LMP at its bus (USD/MWh), average
    carbon intensity of its zone (kg/kWh), marginal emissions at its bus (kg/kWh), on-site
    WUE (L/kWh of IT energy) and off-site water intensity (L/kWh of facility energy)."""

    price_usd_per_mwh: np.ndarray
    carbon_kg_per_kwh: np.ndarray
    lme_kg_per_kwh: np.ndarray
    wue_l_per_kwh: np.ndarray
    ewif_l_per_kwh: np.ndarray

    @classmethod
    def at_hour(cls, series: Mapping[str, np.ndarray] | object, hour: int) -> Signals:
        """Hour *hour* of (N, T) series, given as a mapping or as attributes (an Instance)."""
        get = series.__getitem__ if isinstance(series, Mapping) else lambda name: getattr(series, name)
        return cls(**{name: get(name)[:, hour] for name in SIGNALS})

    @classmethod
    def gather(cls, outcomes: Sequence[HourOutcome], grid_of: np.ndarray, position: np.ndarray) -> Signals:
        """Per data center, the signal of its site: data center i reads site *position[i]* of
        grid *grid_of[i]*'s outcome."""
        return cls(**{name: np.array([getattr(outcomes[g], name)[p] for g, p in zip(grid_of, position)])
                      for name in SIGNALS})

    def as_dict(self) -> dict[str, np.ndarray]:
        return {name: getattr(self, name) for name in SIGNALS}

    @staticmethod
    def weighted(views: Sequence[Signals], weights: Sequence[np.ndarray]) -> Signals:
        """Per data center, the mean of several views weighted by *weights* (N,) each (the
        plain mean where all weights are 0)."""
        w = np.array(weights, dtype=float)  # (V, N)
        total = w.sum(axis=0)
        w = np.where(total > 0, w / np.where(total > 0, total, 1.0), 1.0 / len(views))
        return Signals(**{name: (w * np.array([getattr(v, name) for v in views])).sum(axis=0) for name in SIGNALS})


@dataclass(frozen=True)
class Choice:
    """One operator's decision for one hour: fractions of each user's demand per arc (A,)
    and unserved (J,), whether a fallback solver was needed, and what its rule needs to
    carry the decision into the next hour (`carry`, opaque to the operator)."""

    x: np.ndarray
    u: np.ndarray
    fallback: bool = False
    carry: tuple = ()


@dataclass(frozen=True)
class Decision:
    """What all operators decided for one hour: fractions of the users' whole demand (the
    operators' mean, x (A,), u (J,)), the data centers' facility load (N,) MW and each
    operator's choice (the state it commits)."""

    x: np.ndarray
    u: np.ndarray
    facility_mw: np.ndarray
    choices: tuple[Choice, ...]

    @property
    def fallback(self) -> bool:
        """Some operator's choice needed a fallback solver."""
        return any(c.fallback for c in self.choices)


@dataclass(frozen=True)
class GridHour:
    """What one grid realized in one hour: its dispatch with the data centers' load, the
    same hour without it (the reference of consequential accounting and who pays), and its
    own (background) demand, MW."""

    with_load: HourOutcome
    without_load: HourOutcome
    background_mw: float


@dataclass(frozen=True)
class HourRecord:
    """Everything the log keeps of one hour.

    *seen*: the signals the decision was made on; *realized*: the signals after the grids
    re-dispatched with the decided load and *grids* their outcomes (None and () without
    grids); *iterations*, *residual*, *published_mw*: the same-hour fixed point (iterate
    coupling; 1, 0 and zeros otherwise); *replay_unserved*: (J,) requests a replayed plan
    left unserved because a site's capacity was outgrown (zeros online); *fallback*: a
    decision of the hour (any round of an iteration) needed a fallback solver."""

    demand: np.ndarray
    decision: Decision
    seen: Signals
    realized: Signals | None = None
    grids: tuple[GridHour, ...] = ()
    iterations: int = 1
    residual: float = 0.0
    published_mw: np.ndarray | None = None
    replay_unserved: np.ndarray | None = None
    fallback: bool = False
