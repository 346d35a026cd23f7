"""Rebound effects: what the grids' response takes back from a policy's predicted savings.

Four views of one question (DESIGN.md, "Accounting that must be kept apart"):

- share_runs / savings_frame: as the AI load grows to a share of its grids' demand,
  predicted (first-order: decided load x signals seen when deciding) versus realized
  (re-dispatched) savings of carbon and energy cost against the no-relocation baseline
  `nearest`;
- who_pays_frame: the consumers who did not move, their cost change per grid against
  `nearest` (LMP change x background load);
- herding_frame: several operators deciding on the same signals, with and without damping;
- demand_frame: users answering cheaper inference with more requests (price elasticity).

Every number comes from cosim.runner.run_scenario's metrics (summary.json's keys); a row
is one (knob value, policy). Runs are deterministic: the scenario's seed drives the grids.
"""
from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from cosim.cosimulation import Herding
from cosim.errors import InputError
from cosim.runner import RunResult
from cosim.scenario import Scenario
from cosim.studies.common import pyplot, run_logged, save_figure

SHARES = (0.001, 0.03, 0.1, 0.3)
POLICIES = ("all-glb", "se-glb")
"""all-glb: the carbon-chasing policy (mu-priced carbon and water summed over sites, q = 1);
se-glb: the equity-aware one (Lq norms over regions and sites)."""


def check_grids(scenario: Scenario) -> None:
    """InputError naming the scenario's file unless its signals come from simulated grids:
    every view of this study is the grids' response to the AI load."""
    if scenario.signals.source != "grids":
        raise InputError(scenario.source_file, "signals.source",
                         f"'{scenario.signals.source}': the rebound study measures the grids' response and needs "
                         f"signals: grids (a scenario with `extends: {scenario.name}` and `signals: {{source: grids}}` "
                         "runs it on the shipped nets)")


def share_runs(scenario: Scenario, shares: Iterable[float] = SHARES, policies: Iterable[str] = POLICIES, *,
               mode: str = "offline", data_dir: Path | None = None) -> dict[float, RunResult]:
    """{AI share: run}: one co-simulation per share (`--ai-share`), offline plans replayed
    through the grids by default (the papers' setting: decisions never see the grids'
    response). *data_dir*: where the scenario's datasets are (the study functions all take it)."""
    return {float(share): run_logged(f"rebound: share {share:g}", scenario, policies=list(policies), mode=mode,
                                     ai_share=share, data_dir=data_dir)
            for share in shares}


# A bus that sheds load is priced at the VOLL: grids/opf.py (Dispatcher) defaults to 10,000 USD/MWh.
_SCARCITY_USD_PER_MWH = 9_999.0


def savings_frame(runs: dict[float, RunResult]) -> pd.DataFrame:
    """One row per (AI share, policy): predicted and realized savings against `nearest`.

    Columns: ai_share_target (the `--ai-share` asked), ai_share_realized (horizon facility
    MWh / grids' own MWh), policy, decision_scarcity_site_hours (site-hours whose decision
    price is the VOLL: the no-relocation baseline the decisions were made on shed load
    there), emissions_{predicted,realized}_savings_t, emissions_rebound_ratio,
    energy_cost_{predicted,realized}_savings_usd, energy_cost_rebound_ratio,
    emissions_{first_order,consequential,attributional}_t, load_swing_ratio, shed_mwh.
    The rebound ratios are NaN where no saving was predicted (cosim.accounting.rebound).
    """
    rows = []
    for share, result in runs.items():
        scarcity = int((result.instance.price_usd_per_mwh >= _SCARCITY_USD_PER_MWH).sum())
        for policy, m in result.metrics.items():
            g = m["grid_feedback"]
            s = g["savings"]
            rows.append({
                "ai_share_target": share, "ai_share_realized": g["ai_share"], "policy": policy,
                "decision_scarcity_site_hours": scarcity,
                "emissions_predicted_savings_t": s["emissions_predicted_t"],
                "emissions_realized_savings_t": s["emissions_realized_t"],
                "emissions_rebound_ratio": s["emissions_rebound"],
                "energy_cost_predicted_savings_usd": s["energy_cost_predicted_usd"],
                "energy_cost_realized_savings_usd": s["energy_cost_realized_usd"],
                "energy_cost_rebound_ratio": s["energy_cost_rebound"],
                "emissions_first_order_t": g["emissions_first_order_t"],
                "emissions_consequential_t": g["emissions_consequential_t"],
                "emissions_attributional_t": g["emissions_attributional_t"],
                "load_swing_ratio": g["load_swing"], "shed_mwh": g["shed_mwh"],
            })
    return pd.DataFrame(rows)


def who_pays_frame(runs: dict[float, RunResult]) -> pd.DataFrame:
    """One row per (AI share, policy, grid): consumers_cost_change_usd, what the grid's own
    consumers pay more (positive) or less than under `nearest` over the horizon."""
    rows = [{"ai_share_target": share, "policy": policy, "grid": grid, "consumers_cost_change_usd": usd}
            for share, result in runs.items() for policy, m in result.metrics.items()
            for grid, usd in m["grid_feedback"]["savings"]["consumers_cost_change_usd"].items()]
    return pd.DataFrame(rows)


def share_sweep(scenario: Scenario, shares: Iterable[float] = SHARES, policies: Iterable[str] = POLICIES, *,
                mode: str = "offline", data_dir: Path | None = None) -> pd.DataFrame:
    """savings_frame of share_runs: the predicted-versus-realized table alone."""
    return savings_frame(share_runs(scenario, shares, policies, mode=mode, data_dir=data_dir))


def herding_frame(scenario: Scenario, *, operators: Iterable[int] = (1, 3), dampings: Iterable[float] = (0.0, 1.0, 5.0),
                  policies: Iterable[str] = POLICIES, ai_share: float = 0.1, coupling: str = "lagged",
                  data_dir: Path | None = None) -> pd.DataFrame:
    """One row per (operators, damping, policy), online with *coupling*: load_swing_ratio (0
    steady, 2 the whole load jumping sites every hour), the savings as in savings_frame and
    emissions_gap_t = realized - predicted emission savings."""
    rows = []
    for count in operators:
        for damping in dampings:
            result = run_logged(f"rebound: herding {count} operator(s) damping {damping:g}", scenario,
                                policies=list(policies), mode="online", coupling=coupling, ai_share=ai_share,
                                operators=count, herding=Herding(damping=damping), data_dir=data_dir)
            for policy, m in result.metrics.items():
                g, s = m["grid_feedback"], m["grid_feedback"]["savings"]
                rows.append({
                    "operators": count, "damping": damping, "policy": policy, "coupling": coupling,
                    "ai_share_target": ai_share, "load_swing_ratio": g["load_swing"],
                    "emissions_predicted_savings_t": s["emissions_predicted_t"],
                    "emissions_realized_savings_t": s["emissions_realized_t"],
                    "emissions_gap_t": s["emissions_realized_t"] - s["emissions_predicted_t"],
                    "energy_cost_predicted_savings_usd": s["energy_cost_predicted_usd"],
                    "energy_cost_realized_savings_usd": s["energy_cost_realized_usd"],
                    "iterations_max": g["iterations"]["max"],
                })
    return pd.DataFrame(rows)


def demand_frame(scenario: Scenario, *, elasticities: Iterable[float] = (0.0, 0.5, 1.0),
                 policies: Iterable[str] = ("cost-glb",) + POLICIES, ai_share: float = 0.03,
                 coupling: str = "lagged", data_dir: Path | None = None) -> pd.DataFrame:
    """One row per (elasticity, policy), online with *coupling*; `nearest` is always among the
    policies (the users of the baseline answer prices too).

    Columns: requests_base, requests_realized, requests_added_pct (against the trace),
    requests_added_vs_nearest_pct (the policy's added requests minus nearest's, points of
    the trace), energy_it_mwh, energy_added_mwh and emissions_added_t (against the same
    policy at elasticity 0: the demand rebound), emissions_consequential_t,
    energy_cost_realized_usd.
    """
    elasticities = sorted({float(e) for e in elasticities} | {0.0})
    names = ["nearest", *[p for p in policies if p != "nearest"]]
    rows = []
    for e in elasticities:
        metrics = run_logged(f"rebound: elasticity {e:g}", scenario, policies=names, mode="online", coupling=coupling,
                             ai_share=ai_share, elasticity=e, data_dir=data_dir).metrics
        for policy, m in metrics.items():
            dr, g = m["demand_response"], m["grid_feedback"]
            rows.append({
                "elasticity": e, "policy": policy, "requests_base": dr["requests_base"],
                "requests_realized": dr["requests_realized"], "requests_added_pct": 100.0 * dr["requests_added_share"],
                "energy_it_mwh": m["energy_mwh"]["total"], "emissions_consequential_t": g["emissions_consequential_t"],
                "energy_cost_realized_usd": g["energy_cost_realized_usd"],
            })
    frame = pd.DataFrame(rows)
    at_zero = frame[frame["elasticity"] == 0.0].set_index("policy")
    nearest = frame[frame["policy"] == "nearest"].set_index("elasticity")["requests_added_pct"]
    frame["requests_added_vs_nearest_pct"] = frame["requests_added_pct"] - frame["elasticity"].map(nearest)
    frame["energy_added_mwh"] = frame["energy_it_mwh"] - frame["policy"].map(at_zero["energy_it_mwh"])
    frame["emissions_added_t"] = frame["emissions_consequential_t"] - frame["policy"].map(at_zero["emissions_consequential_t"])
    return frame


# ---------------------------------------------------------------------------- figures

def plot_savings(frame: pd.DataFrame, path: str | Path) -> Path:
    """Predicted (dashed) versus realized (solid) savings against nearest, carbon (t) and
    energy cost (USD), against the AI share asked (log axis)."""
    plt = pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), constrained_layout=True)
    panels = (("emissions", "carbon saved vs nearest (t)", 1.0), ("energy_cost", "energy cost saved vs nearest (k USD)", 1e-3))
    for ax, (what, label, scale) in zip(axes, panels):
        for n, (policy, g) in enumerate(frame.groupby("policy", sort=False)):
            color = f"C{n}"
            ax.plot(g["ai_share_target"], g[f"{what}_predicted_savings_{_unit(what)}"] * scale, "--o", color=color,
                    label=f"{policy} predicted")
            ax.plot(g["ai_share_target"], g[f"{what}_realized_savings_{_unit(what)}"] * scale, "-s", color=color,
                    label=f"{policy} realized")
        ax.axhline(0, color="0.5", lw=0.8)
        ax.set_xscale("log")
        ax.set_yscale("symlog", linthresh=10)
        ax.set_xlabel("AI share of the grids' demand asked (--ai-share)")
        ax.set_ylabel(label)
        ax.grid(True, alpha=0.3)
    axes[0].legend(fontsize=8)
    return save_figure(fig, path)


def plot_who_pays(frame: pd.DataFrame, path: str | Path) -> Path:
    """Consumers' cost change against nearest per grid (k USD, symlog), one panel per policy,
    one bar group per AI share."""
    plt = pyplot()
    policies = list(dict.fromkeys(frame["policy"]))
    fig, axes = plt.subplots(1, len(policies), figsize=(5.5 * len(policies), 4), sharey=True, constrained_layout=True,
                             squeeze=False)
    for ax, policy in zip(axes[0], policies):
        table = frame[frame["policy"] == policy].pivot(index="grid", columns="ai_share_target",
                                                       values="consumers_cost_change_usd") / 1e3
        table.plot.bar(ax=ax, width=0.8)
        ax.set_yscale("symlog", linthresh=1)
        ax.axhline(0, color="0.3", lw=0.8)
        ax.set_title(policy, loc="left")
        ax.set_ylabel("consumers' extra cost vs nearest (k USD)")
        ax.legend(title="AI share", fontsize=8)
        ax.grid(True, axis="y", alpha=0.3)
    return save_figure(fig, path)


def plot_herding(frame: pd.DataFrame, path: str | Path) -> Path:
    """Load swing and the realized-minus-predicted carbon gap against damping, one line per
    (policy, operators)."""
    lines = {f"{policy}, {count} operator(s)": g for (policy, count), g in frame.groupby(["policy", "operators"], sort=False)}
    return _two_panels(lines, "damping", ("load_swing_ratio", "emissions_gap_t"),
                       ("load swing (sum |dL| / L per hour)", "realized - predicted carbon savings (t)"),
                       "damping (x the hour's median arc cost)", path)


def plot_demand(frame: pd.DataFrame, path: str | Path) -> Path:
    """Requests added against the trace (%) and consequential emissions added (t) against
    the price elasticity, one line per policy."""
    lines = dict(tuple(frame.groupby("policy", sort=False)))
    return _two_panels(lines, "elasticity", ("requests_added_pct", "emissions_added_t"),
                       ("requests added by the price response (% of trace)", "consequential emissions added (t)"),
                       "price elasticity of demand", path)


def _two_panels(lines: dict[str, pd.DataFrame], x: str, ys: tuple[str, str], ylabels: tuple[str, str],
                xlabel: str, path: str | Path) -> Path:
    """Two side-by-side panels, ys[0] and ys[1] against x, one line per entry of *lines*."""
    plt = pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(11, 4), constrained_layout=True)
    for label, g in lines.items():
        for ax, y in zip(axes, ys):
            ax.plot(g[x], g[y], "-o", label=label)
    for ax, ylabel in zip(axes, ylabels):
        ax.set_ylabel(ylabel)
        ax.set_xlabel(xlabel)
        ax.grid(True, alpha=0.3)
    axes[0].legend(fontsize=8)
    return save_figure(fig, path)


def _unit(what: str) -> str:
    return "t" if what == "emissions" else "usd"
