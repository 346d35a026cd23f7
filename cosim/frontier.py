"""The energy-latency frontier (Luo & Cheng): how cost, carbon and relocation change as the
latency budget tau is relaxed, under the same signals.

Every budget re-solves the offline policies on one decision instance whose only change is
tau, so the points differ by the masks alone. ERL and CRL are the energy cost and carbon
saved per ms of relaxed budget between consecutive points (USD/ms, t/ms).
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from cosim.errors import InputError
from cosim.glb import make_policy, solve_offline
from cosim.instance import Instance
from cosim.metrics import policy_metrics, relocatable
from cosim.outputs import write_atomic

COLUMNS = ("policy", "tau_ms", "energy_cost_usd", "carbon_t", "water_m3", "rid", "erl", "crl", "objective_usd",
           "unserved_requests", "layer_local", "layer_regional", "layer_energy_oriented", "break_even_share")


def sweep(inst: Instance, taus: list[float], policies: list[str], *, tiers: list[str] | None = None,
          source: str | Path = "--tau", on_point: Callable[[str, float], object] | None = None) -> pd.DataFrame:
    """One row per (policy, tau): the columns of COLUMNS; *tiers* (default: all) get the budget."""
    swept = np.isin(inst.user_tier, [t for t, name in enumerate(inst.tiers) if tiers is None or name in tiers])
    rows = []
    for tau in sorted(taus):
        point = inst.with_tau(np.where(swept, tau, inst.tau_ms), source=source, where=f"{tau:g} ms")
        layers = relocatable(point)
        for name in policies:
            if on_point:
                on_point(name, tau)
            sol = solve_offline(point, make_policy(name, inst.weights))
            m = policy_metrics(point, sol)
            rows.append({
                "policy": name, "tau_ms": tau,
                "energy_cost_usd": m["energy_cost_usd"]["total"], "carbon_t": m["carbon_t"]["total"],
                "water_m3": m["water_m3"]["total"], "rid": m["rid"], "objective_usd": sol.objective_usd,
                "unserved_requests": m["unserved_requests"],
                "layer_local": layers["layers"]["local"], "layer_regional": layers["layers"]["regional"],
                "layer_energy_oriented": layers["layers"]["energy_oriented"],
                "break_even_share": layers["break_even"]["share"],
            })
    frame = pd.DataFrame(rows)
    by_policy = frame.groupby("policy", sort=False)
    dtau = by_policy["tau_ms"].diff()
    frame["erl"] = -by_policy["energy_cost_usd"].diff() / dtau
    frame["crl"] = -by_policy["carbon_t"].diff() / dtau
    return frame[list(COLUMNS)]


def parse_taus(text: str) -> list[float]:
    """'20,50,100' -> [20.0, 50.0, 100.0]; InputError for anything but distinct positive finite ms."""
    values = []
    for n, part in enumerate(text.split(",")):
        try:
            value = float(part)
        except ValueError:
            raise InputError("--tau", f"value {n + 1}", f"'{part.strip()}' is not a number of ms") from None
        if not np.isfinite(value) or value <= 0:
            raise InputError("--tau", f"value {n + 1}", f"{part.strip()} ms: a budget is a positive, finite number of ms")
        values.append(value)
    if len(set(values)) != len(values):
        raise InputError("--tau", "values", "a budget is given twice")
    return values


def plot(frame: pd.DataFrame, path: Path, title: str) -> Path:
    """frontier.png: the policy's optimum, energy cost, carbon and RID against tau, one line
    per policy (the optimum can only fall; energy cost and carbon may rise where a policy
    spends the relaxed budget on quality or equity)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = (("objective_usd", "policy objective (USD)", 1.0), ("energy_cost_usd", "energy cost (USD)", 1.0),
              ("carbon_t", "carbon (t)", 1.0),
              ("rid", "RID: energy away from local (%)", 100.0))
    fig, axes = plt.subplots(len(panels), 1, figsize=(7, 10.5), sharex=True, constrained_layout=True)
    for ax, (column, label, scale) in zip(axes, panels):
        for name, group in frame.groupby("policy", sort=False):
            ax.plot(group["tau_ms"], group[column] * scale, marker="o", label=name)
        ax.set_ylabel(label)
        ax.grid(True, alpha=0.3)
    axes[0].set_title(title, loc="left", fontsize=11)
    axes[0].legend(title="policy", fontsize=9)
    axes[-1].set_xlabel("latency budget tau (ms)")
    write_atomic(path, lambda p: fig.savefig(p, dpi=130, format="png"))
    plt.close(fig)
    return path
