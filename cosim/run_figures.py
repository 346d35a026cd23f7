"""DIR/figures/*.png: a finished run at a glance, drawn from its files (cosim.run_folder).

Per policy: POLICY-load.png (hourly facility load by site, MW, stacked), POLICY-served.png
(share of each region's demand served at each site) and, where grids are simulated,
POLICY-signals.png (price, USD/MWh, and LME, kg/kWh, seen at decision time against
realized after re-dispatch, per site). Across policies: table1.png (SE-GLB Table 1 as
bars) and, where summary.json has grid feedback, grid_feedback.png (attributional,
consequential and first-order emissions; predicted against realized savings vs nearest).
Each site has one colour in every figure (cosim.run_folder.site_colours).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from cosim.formatting import number
from cosim.outputs import write_atomic
from cosim.run_folder import (
    FEEDBACK_PANELS,
    UNSERVED,
    RunFolder,
    facility_mw,
    feedback_frame,
    has_realized,
    policy_colours,
    read_run,
    seen_realized,
    served_shares,
    site_colours,
    table1_frame,
)

FOLDER = "figures"
SIGNAL_PANELS = (("price_usd_per_mwh", "price", "USD/MWh"), ("lme_kg_per_kwh", "LME", "kg CO2/kWh"))
"""The signals POLICY-signals.png compares, seen against realized: column, name, unit."""

_DPI = 110
_SMALL_MULTIPLES = 5
"""Panels per row of POLICY-signals.png."""


@dataclass
class Plotted:
    """One PNG written: its path, the frames it plotted (in the axes' units) and the colour
    of each site or policy drawn."""

    path: Path
    data: dict[str, pd.DataFrame]
    colours: dict[str, str] = field(default_factory=dict)


def write_figures(folder: str | Path, run: RunFolder | None = None) -> list[Plotted]:
    """Write every figure of the run folder into DIR/figures/; returns what each plotted."""
    run = run or read_run(folder)
    plt = _Figures()
    out = run.folder / FOLDER
    out.mkdir(parents=True, exist_ok=True)
    colours = site_colours(run.datacenters)
    plotted = []
    for policy in run.policies:
        plotted.append(load_figure(plt, run, policy, out / f"{policy}-load.png", colours))
        plotted.append(served_figure(plt, run, policy, out / f"{policy}-served.png"))
        if any(has_realized(run.sites[policy], s) for s, _, _ in SIGNAL_PANELS):
            plotted.append(signals_figure(plt, run, policy, out / f"{policy}-signals.png", colours))
    plotted.append(table1_figure(plt, run, out / "table1.png"))
    if run.has_grid_feedback:
        plotted.append(feedback_figure(plt, run, out / "grid_feedback.png"))
    return plotted


class _Figures:
    """What the figure functions used of pyplot, without pyplot: ``subplots`` makes a
    matplotlib ``Figure`` on its own Agg canvas (no figure manager, no global state,
    nothing to close), ``close`` does nothing."""

    @staticmethod
    def subplots(*args, **kwargs):
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        fig = Figure(figsize=kwargs.pop("figsize", None))
        FigureCanvasAgg(fig)
        return fig, fig.subplots(*args, **kwargs)

    @staticmethod
    def close(fig) -> None:
        pass


def _title(run: RunFolder, what: str) -> str:
    s = run.summary
    return _plain(f"{s.get('scenario', '?')}, {what}: {s.get('hours', '?')} h from {_start(run)} UTC, {s.get('mode', '?')}")


def _plain(text) -> str:
    """Text from the scenario as matplotlib shows it: a '$' would start mathtext."""
    return str(text).replace("$", r"\$")


def _start(run: RunFolder) -> str:
    """summary.json's start as 'YYYY-MM-DD HH:MM'."""
    return str(run.summary.get("start", "?"))[:16].replace("T", " ")


_PNG = {"compress_level": 1}
"""zlib level of the PNGs: the fastest (the default, 6, took a third of writing a figure)."""


def _save(plt, fig, path: Path, *, tight: bool = True) -> None:
    """*fig* as a PNG at *path* (atomically); *tight*: cropped to what is drawn."""
    extra = {"bbox_inches": "tight"} if tight else {}
    write_atomic(path, lambda p: fig.savefig(p, dpi=_DPI, format="png", pil_kwargs=_PNG, **extra))
    plt.close(fig)


def _set_title(ax, text: str, **kwargs) -> None:
    """An axes title at matplotlib's own automatic position (1.0, above the axes; nothing
    is drawn above these axes), given explicitly so the draw skips the search for that
    position (a tight box of every axis of the figure, per title)."""
    ax.set_title(text, y=1.0, **kwargs)


def _time_axis(ax, *, offset: bool = True) -> None:
    """Concise UTC date ticks; *offset*: the date beside the last tick (off in small panels)."""
    import matplotlib.dates as mdates

    locator = mdates.AutoDateLocator(minticks=3, maxticks=8 if offset else 5)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator, show_offset=offset))
    ax.set_xlabel("time (UTC)")


def _legend_columns(n: int) -> int:
    return 1 if n <= 14 else 2


def load_figure(plt, run: RunFolder, policy: str, path: Path, colours: dict[str, str]) -> Plotted:
    """POLICY-load.png: hourly facility load by site, MW, stacked in the scenario's order."""
    mw = facility_mw(run.sites[policy])
    times = mw.index.tz_convert(None) if mw.index.tz is not None else mw.index
    fig, ax = plt.subplots(figsize=(11, 4.2))
    used = {site: colours[site] for site in mw.columns}
    ax.stackplot(times, mw.to_numpy().T, labels=[_plain(c) for c in mw.columns], colors=list(used.values()), step=None, linewidth=0)
    ax.set_ylabel("facility load (MW)")
    if len(times) > 1:
        ax.set_xlim(times[0], times[-1])
    ax.grid(axis="y", alpha=0.3)
    _time_axis(ax)
    handles, labels = ax.get_legend_handles_labels()
    ax.legend(handles[::-1], labels[::-1], title="data center", loc="upper left", bbox_to_anchor=(1.01, 1.0),
              fontsize="small", frameon=False, ncol=_legend_columns(len(labels)))
    _set_title(ax, _title(run, f"{policy}, facility load by site"), loc="left", fontsize=10)
    _save(plt, fig, path)
    return Plotted(path, {"facility_mw": mw}, used)


def served_figure(plt, run: RunFolder, policy: str, path: Path) -> Plotted:
    """POLICY-served.png: rows regions, columns sites (and unserved): share of the region's
    horizon demand, all tiers, annotated in percent."""
    shares = served_shares(run.allocations[policy], run.demand[policy])
    rows, cols = shares.shape
    fig, ax = plt.subplots(figsize=(max(6.0, 0.75 * cols + 2.8), max(3.0, 0.42 * rows + 1.6)))
    image = ax.imshow(shares.to_numpy(dtype=float), cmap="Blues", vmin=0.0, vmax=1.0, aspect="auto")
    ax.set_xticks(range(cols), [_plain(c) for c in shares.columns], rotation=35, ha="right")
    ax.set_yticks(range(rows), [_plain(r) for r in shares.index])
    ax.set_xlabel("served at data center")
    ax.set_ylabel("user region")
    for (r, c), value in np.ndenumerate(shares.to_numpy(dtype=float)):
        if value == value and value >= 0.005:
            ax.text(c, r, f"{value:.0%}", ha="center", va="center", fontsize=7,
                    color="white" if value > 0.6 else "black")
    if UNSERVED in shares.columns:
        ax.axvline(cols - 1.5, color="black", linewidth=1)
    fig.colorbar(image, ax=ax, fraction=0.04, pad=0.02, label="share of the region's demand")
    _set_title(ax, _title(run, f"{policy}, where each region was served"), loc="left", fontsize=10)
    _save(plt, fig, path)
    return Plotted(path, {"served_shares": shares})


def signals_figure(plt, run: RunFolder, policy: str, path: Path, colours: dict[str, str]) -> Plotted:
    """POLICY-signals.png: small multiples, one panel per site and signal: seen at decision
    time (solid, the site's colour) and realized after re-dispatch (dashed, black), in the
    signal's unit, against hours from the start; a signal's panels share their y axis."""
    from matplotlib.lines import Line2D
    from matplotlib.ticker import MultipleLocator

    sites = run.sites[policy]
    panels = [p for p in SIGNAL_PANELS if has_realized(sites, p[0])]
    names = run.datacenters
    cols = min(len(names), _SMALL_MULTIPLES)
    per_signal = math.ceil(len(names) / cols)
    rows = per_signal * len(panels)
    width, height = 2.6 * cols + 0.9, 1.75 * rows + 1.2
    fig, axes = plt.subplots(rows, cols, figsize=(width, height), squeeze=False, sharex=True)
    fig.subplots_adjust(left=0.75 / width, right=1 - 0.15 / width, bottom=0.6 / height, top=1 - 0.75 / height,
                        wspace=0.12, hspace=0.42)
    data = {}
    for p, (signal, name, unit) in enumerate(panels):
        seen, realized = seen_realized(sites, signal)
        hours = _hours_from_start(seen.index)
        data[f"{signal}_seen"], data[f"{signal}_realized"] = seen, realized
        block = axes[p * per_signal:(p + 1) * per_signal].ravel()
        values = np.concatenate([seen.to_numpy().ravel(), realized.to_numpy().ravel()])
        low, high = np.nanmin(values), np.nanmax(values)
        pad = 0.05 * (high - low) if high > low else 0.5 * max(abs(high), 1e-3)
        for n, ax in enumerate(block):
            if n >= len(names):
                ax.set_visible(False)
                continue
            site = names[n]
            ax.plot(hours, seen[site].to_numpy(), color=colours[site], linewidth=1.6)
            ax.plot(hours, realized[site].to_numpy(), color="black", linewidth=0.7, linestyle=(0, (3, 3)), alpha=0.55)
            ax.set_ylim(low - pad, high + pad)
            _set_title(ax, _plain(f"{site}: {name}"), fontsize=8, loc="left", color=colours[site], pad=2)
            ax.tick_params(labelsize=7)
            ax.grid(alpha=0.3)
            if n % cols == 0:
                ax.set_ylabel(f"{name} ({unit})", fontsize=8)
            else:
                ax.tick_params(labelleft=False)
    axes[-1][0].xaxis.set_major_locator(MultipleLocator(_hour_step(len(run.sites[policy]["time"].unique()))))
    handles = [Line2D([], [], color="grey", linewidth=1.6, label="seen at decision time (site colour)"),
               Line2D([], [], color="black", linewidth=0.7, linestyle=(0, (3, 3)), alpha=0.55,
                      label="realized after re-dispatch")]
    fig.legend(handles=handles, loc="upper right", ncol=2, fontsize="small", frameon=False)
    fig.supxlabel(f"hours from {_start(run)} UTC", fontsize=9)
    fig.suptitle(_title(run, f"{policy}, signals seen vs realized"), x=0.01, ha="left", fontsize=10)
    _save(plt, fig, path, tight=False)
    return Plotted(path, data, {s: colours[s] for s in names})


def _hour_step(hours: int) -> int:
    """Tick spacing in hours: whole days or weeks on long horizons, at most ~6 ticks."""
    for step in (1, 2, 3, 6, 12, 24, 48, 72, 168, 336, 720):
        if hours / step <= 6:
            return step
    return 24 * 30 * math.ceil(hours / (24 * 30 * 6))


def _hours_from_start(index: pd.DatetimeIndex) -> np.ndarray:
    """Hours since the first hour of *index*."""
    return ((index - index[0]) / pd.Timedelta(hours=1)).to_numpy(dtype=float)


def table1_figure(plt, run: RunFolder, path: Path) -> Plotted:
    """table1.png: one panel per Table-1 row, one bar per policy."""
    frame = table1_frame(run.summary)
    colours = policy_colours(list(frame.columns))
    _bars(plt, frame, colours, path, _title(run, "SE-GLB Table 1 by policy"), columns=4)
    return Plotted(path, {"table1": frame}, colours)


def feedback_figure(plt, run: RunFolder, path: Path) -> Plotted:
    """grid_feedback.png: emissions three ways (t CO2), and the savings against nearest
    predicted (first-order, seen prices) against realized (consequential, realized prices)."""
    frame = feedback_frame(run.summary)
    policies = list(frame.columns)
    panels = FEEDBACK_PANELS
    shades = ("#4c72b0", "#dd8452", "#55a868")
    fig, axes = plt.subplots(1, len(panels), figsize=(5.0 * len(panels), 4.2), squeeze=False)
    x = np.arange(len(policies))
    shown = {}
    for ax, (ylabel, bars) in zip(axes[0], panels):
        width = 0.8 / len(bars)
        for n, (label, row) in enumerate(bars):
            values = frame.loc[row].to_numpy(dtype=float) if row in frame.index else np.full(len(policies), np.nan)
            shown[row] = pd.Series(values, index=policies)
            ax.bar(x + (n - (len(bars) - 1) / 2) * width, np.nan_to_num(values), width, label=label, color=shades[n])
        ax.axhline(0.0, color="black", linewidth=0.6)
        ax.set_xticks(x, policies, rotation=20, ha="right")
        ax.set_ylabel(ylabel)
        ax.grid(axis="y", alpha=0.3)
        ax.legend(fontsize="small", frameon=False, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=len(bars))
    fig.suptitle(_title(run, "grid feedback by policy (positive savings: the policy saves against nearest)"),
                 x=0.01, ha="left", fontsize=10)
    fig.tight_layout()
    _save(plt, fig, path)
    return Plotted(path, {"grid_feedback": pd.DataFrame(shown).T})


def _bars(plt, frame: pd.DataFrame, colours: dict[str, str], path: Path, title: str, *, columns: int) -> None:
    """One small bar panel per row of *frame* (labels carry the unit), a bar per column."""
    cols = min(columns, max(len(frame), 1))
    rows = math.ceil(len(frame) / cols)
    width, height = 3.3 * cols, 2.5 * rows + 0.6
    fig, axes = plt.subplots(rows, cols, figsize=(width, height), squeeze=False)
    fig.subplots_adjust(left=0.55 / width, right=1 - 0.1 / width, bottom=0.65 / height, top=1 - 0.65 / height,
                        wspace=0.3, hspace=0.7)
    names = list(frame.columns)
    x = np.arange(len(names))
    for ax, (label, row) in zip(axes.flat, frame.iterrows()):
        values = row.to_numpy(dtype=float)
        bars = ax.bar(x, np.nan_to_num(values), color=[colours[n] for n in names])
        ax.bar_label(bars, labels=[number(v) for v in values], fontsize=7, padding=1)
        if np.nanmin(values, initial=0.0) >= 0:
            peak = np.nanmax(values, initial=0.0)
            ax.set_ylim(0.0, peak * 1.15 if peak > 0 else 1.0)
        ax.margins(y=0.15)
        _set_title(ax, label, fontsize=9)
        ax.set_xticks(x, names, rotation=30, ha="right", fontsize=8)
        ax.tick_params(axis="y", labelsize=8)
        ax.grid(axis="y", alpha=0.3)
    for ax in list(axes.flat)[len(frame):]:
        ax.set_visible(False)
    fig.suptitle(title, x=0.01, ha="left", fontsize=10)
    _save(plt, fig, path, tight=False)
