"""Equity trade-offs: SE-GLB's q-norms from 1 (no equity: sums) to inf (minimax).

- q_sweep: one row per (norm swept, q, mode): energy cost and the spreads (max/avg over
  regions of the request-normalized performance cost; over sites of carbon and water);
  `social` sweeps q_social with q_env = 1, `environmental` q_env with q_social = 1, `both`
  sets both to q;
- pareto_front: the points no other point beats on both energy cost and a spread;
- cost_of_equity: per norm, what going from q = 1 to q = inf costs and what it evens out;
- online versus offline: q_sweep with modes=("offline", "online") (online decides hour by
  hour on the exogenous signals, coupling open, and reports its objective over the
  offline optimum's).

Offline plans are replayed through the grids; every metric is realized (summary.json).
"""
from __future__ import annotations

import math
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from cosim.scenario import Scenario
from cosim.studies.common import check_choices, pyplot, run_logged, save_figure, with_norms

QS = (1.0, 2.0, 4.0, 8.0, math.inf)
NORMS = ("social", "environmental", "both")
SPREADS = {"perf_cost_max_avg_ratio": "performance cost max/avg over regions",
           "carbon_max_avg_ratio": "carbon max/avg over sites",
           "water_max_avg_ratio": "water max/avg over sites"}


def q_sweep(scenario: Scenario, qs: Iterable[float] = QS, *, norms: Iterable[str] = NORMS,
            modes: Iterable[str] = ("offline",), policy: str = "se-glb", data_dir: Path | None = None) -> pd.DataFrame:
    """One row per (norm, q, mode) of *policy* (se-glb: both norms active).

    Columns: norm, q, mode, policy, energy_cost_usd (total), carbon_t, water_m3 (totals),
    carbon_max_avg_ratio, water_max_avg_ratio (over sites), perf_cost_avg_points,
    perf_cost_max_avg_ratio (over regions), perf_score_min_points, rid_share,
    objective_usd, online_to_offline_ratio (online rows; NaN offline).
    """
    rows, done = [], {}  # q = 1 is the same run in every sweep: run each (norms, mode) once
    for norm in check_norms(norms):
        for q in qs:
            weights = _norms(norm, float(q))
            for mode in modes:
                key = (weights["q_social"], weights["q_env"], mode)
                if key not in done:
                    done[key] = run_logged(f"equity: {norm} q {q:g} {mode}", with_norms(scenario, **weights),
                                           policies=[policy], mode=mode, coupling="open",
                                           data_dir=data_dir).metrics[policy]
                rows.append({"norm": norm, "q": float(q), "mode": mode, "policy": policy, **_row(done[key])})
    return pd.DataFrame(rows)


def check_norms(norms: Iterable[str], where: str = "--norms") -> list[str]:
    """The norms as a list; InputError for one not in NORMS."""
    return check_choices(norms, NORMS, "norm", where)


def _norms(norm: str, q: float) -> dict[str, float]:
    return {"social": {"q_social": q, "q_env": 1.0}, "environmental": {"q_social": 1.0, "q_env": q},
            "both": {"q_social": q, "q_env": q}}[norm]


def _row(m: dict) -> dict:
    online = m.get("online") or {}
    ratio = online.get("online_to_offline_ratio")
    return {
        "energy_cost_usd": m["energy_cost_usd"]["total"], "carbon_t": m["carbon_t"]["total"],
        "water_m3": m["water_m3"]["total"], "carbon_max_avg_ratio": m["carbon_t"]["max_avg"],
        "water_max_avg_ratio": m["water_m3"]["max_avg"], "perf_cost_avg_points": m["perf_cost"]["avg"],
        "perf_cost_max_avg_ratio": m["perf_cost"]["max_avg"], "perf_score_min_points": m["perf_score"]["min"],
        "rid_share": m["rid"], "objective_usd": m["solve"]["objective_usd"],
        "online_to_offline_ratio": math.nan if ratio is None else ratio,
    }


def pareto_front(frame: pd.DataFrame, spread: str = "perf_cost_max_avg_ratio", cost: str = "energy_cost_usd") -> pd.DataFrame:
    """The rows of *frame* that no other row beats on both *cost* and *spread* (lower is
    better for both), sorted by cost: along it cost rises and the spread falls strictly."""
    ordered = frame.sort_values([cost, spread], kind="mergesort")
    keep, best = [], math.inf
    for index, value in ordered[spread].items():
        if value < best:
            keep.append(index)
            best = value
    return ordered.loc[keep]


def cost_of_equity(frame: pd.DataFrame, mode: str = "offline") -> pd.DataFrame:
    """One row per norm: energy cost and spreads at the smallest and the largest q swept, and
    energy_cost_increase_pct = what the largest q costs over the smallest, in % of it."""
    rows = []
    for norm, g in frame[frame["mode"] == mode].groupby("norm", sort=False):
        lo, hi = g.loc[g["q"].idxmin()], g.loc[g["q"].idxmax()]
        row = {"norm": norm, "q_low": lo["q"], "q_high": hi["q"],
               "energy_cost_q_low_usd": lo["energy_cost_usd"], "energy_cost_q_high_usd": hi["energy_cost_usd"],
               "energy_cost_increase_pct": 100.0 * (hi["energy_cost_usd"] / lo["energy_cost_usd"] - 1.0)}
        for column in SPREADS:
            row[f"{column}_q_low"], row[f"{column}_q_high"] = lo[column], hi[column]
        rows.append(row)
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------- figures

def plot_pareto(frame: pd.DataFrame, path: str | Path, mode: str = "offline") -> Path:
    """The cost of equity: energy cost (k USD) against each spread, points labelled by q and
    coloured by the norm swept; the Pareto front over all points as a grey step line."""
    plt = pyplot()
    data = frame[frame["mode"] == mode]
    fig, axes = plt.subplots(1, len(SPREADS), figsize=(5 * len(SPREADS), 4.2), constrained_layout=True)
    for ax, (spread, label) in zip(axes, SPREADS.items()):
        front = pareto_front(data, spread)
        ax.step(front[spread], front["energy_cost_usd"] / 1e3, where="post", color="0.6", lw=1.2, label="Pareto front")
        for n, (norm, g) in enumerate(data.groupby("norm", sort=False)):
            ax.plot(g[spread], g["energy_cost_usd"] / 1e3, "o-", color=f"C{n}", label=f"q_{norm}", alpha=0.85)
            for row in g.itertuples():
                ax.annotate(_q_label(row.q), (getattr(row, spread), row.energy_cost_usd / 1e3), fontsize=7,
                            xytext=(3, 3), textcoords="offset points")
        ax.set_xlabel(f"{label} (1 = even)")
        ax.set_ylabel("energy cost (k USD)")
        ax.grid(True, alpha=0.3)
    axes[0].legend(fontsize=8)
    return save_figure(fig, path)


def plot_online_offline(frame: pd.DataFrame, path: str | Path, norm: str = "both") -> Path:
    """Energy cost and performance-cost spread against q, offline and online, for *norm*."""
    plt = pyplot()
    data = frame[frame["norm"] == norm]
    qs = sorted(data["q"].unique())
    x = {q: n for n, q in enumerate(qs)}
    fig, axes = plt.subplots(1, 2, figsize=(11, 4), constrained_layout=True)
    for mode, g in data.groupby("mode", sort=False):
        axes[0].plot(g["q"].map(x), g["energy_cost_usd"] / 1e3, "-o", label=mode)
        axes[1].plot(g["q"].map(x), g["perf_cost_max_avg_ratio"], "-o", label=mode)
    axes[0].set_ylabel("energy cost (k USD)")
    axes[1].set_ylabel("performance cost max/avg over regions")
    for ax in axes:
        ax.set_xticks(range(len(qs)), [_q_label(q) for q in qs])
        ax.set_xlabel(f"q ({norm})")
        ax.grid(True, alpha=0.3)
    axes[0].legend()
    return save_figure(fig, path)


def _q_label(q: float) -> str:
    return "inf" if math.isinf(q) else f"{q:g}"
