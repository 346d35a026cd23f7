"""DIR/report.html: a finished run on one self-contained page (cosim.run_folder reads it).

The page holds the run's provenance (every scalar of summary.json: scenario, mode,
coupling, hours, start, seed, signals, ...), Table 1, the grid feedback, the relocatable
demand and interactive plotly versions of the figures of cosim.run_figures (zoom with the
1 day / 1 week buttons or by dragging, hover for values, click a legend entry to hide a
site). plotly.js is embedded once, inline in <head>, so the page opens without network
access. Every name from the scenario is HTML-escaped, in the page and in the figures.
"""
from __future__ import annotations

import html
from pathlib import Path

import numpy as np
import pandas as pd

from cosim.formatting import number
from cosim.outputs import write_atomic
from cosim.run_figures import SIGNAL_PANELS
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

PAGE = "report.html"

_CONFIG = {"responsive": True, "displaylogo": False}
_TEMPLATE = "plotly_white"
_RANGE_BUTTONS = [
    {"count": 1, "label": "1 day", "step": "day", "stepmode": "backward"},
    {"count": 7, "label": "1 week", "step": "day", "stepmode": "backward"},
    {"step": "all", "label": "all"},
]
_STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 1.5em auto; max-width: 1250px;
       padding: 0 1em; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 2em; border-bottom: 1px solid #ccc; }
h3 { font-size: 1.05em; }
table { border-collapse: collapse; margin: 0.5em 0 1em; font-size: 0.9em; }
th, td { border: 1px solid #ddd; padding: 0.25em 0.6em; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
th { background: #f4f4f4; text-align: left; }
p.note { color: #555; font-size: 0.9em; max-width: 60em; }
nav a { margin-right: 1em; }
"""


def write_page(folder: str | Path, run: RunFolder | None = None) -> Path:
    """Write DIR/report.html for the run folder; returns its path."""
    run = run or read_run(folder)
    text = page_html(run)
    return write_atomic(run.folder / PAGE, lambda p: p.write_text(text, encoding="utf-8"))


def write_run_report(folder: str | Path) -> tuple[list[Path], Path]:
    """Read the run folder once and write DIR/figures/*.png and DIR/report.html: what
    `cosim run` writes after a run (unless --no-report) and `cosim figures DIR` for any run
    folder. Returns the PNG paths and the page's."""
    from cosim.run_figures import write_figures

    run = read_run(folder)
    figures = [p.path for p in write_figures(run.folder, run)]
    return figures, write_page(run.folder, run)


def page_html(run: RunFolder) -> str:
    """The whole page as one string: head (style, plotly.js), provenance, tables, figures."""
    from plotly.offline import get_plotlyjs

    figures = page_figures(run)
    scenario = _esc(run.summary.get("scenario", "?"))
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>gridshift run: {scenario}</title>",
        f"<style>{_STYLE}</style>",
        f'<script type="text/javascript">{get_plotlyjs()}</script>',
        "</head><body>",
        f"<h1>gridshift run: {scenario}</h1>",
        _nav(run),
        '<h2 id="provenance">Provenance</h2>',
        _provenance(run.summary),
        '<h2 id="table1">Table 1 (SE-GLB) by policy</h2>',
        '<p class="note">Realized signals and realized demand (docs/outputs.md, METRICS): avg and max over '
        "sites (energy cost, water, carbon: horizon totals per site) or over user regions (perf cost, score).</p>",
        _table(table1_frame(run.summary)),
    ]
    parts += _figure_divs(figures, "table1")
    if run.has_grid_feedback:
        parts += ['<h2 id="feedback">Grid feedback</h2>',
                  '<p class="note">DESIGN.md accounting (docs/cosimulation.md, Accounting). Savings are against '
                  "the nearest baseline, positive when the policy saves; predicted: first-order emissions and seen "
                  "prices; realized: consequential emissions and realized prices.</p>",
                  _table(feedback_frame(run.summary))]
        parts += _figure_divs(figures, "feedback")
    for policy in run.policies:
        parts.append(f'<h2 id="policy-{_slug(policy)}">Policy {_esc(policy)}</h2>')
        parts += _figure_divs(figures, f"policy-{policy}")
    parts.append("</body></html>")
    return "\n".join(parts)


def page_figures(run: RunFolder) -> list[tuple[str, str, object]]:
    """Every interactive figure of the page: (section, heading, plotly Figure), in page order."""
    colours = site_colours(run.datacenters)
    out: list[tuple[str, str, object]] = [("table1", "Table 1 as bars", table1_figure(run))]
    if run.has_grid_feedback:
        out.append(("feedback", "Emissions and savings", feedback_figure(run)))
    for policy in run.policies:
        section = f"policy-{policy}"
        out.append((section, "Facility load by site", load_figure(run, policy, colours)))
        out.append((section, "Where each region was served", served_figure(run, policy)))
        if any(has_realized(run.sites[policy], s) for s, _, _ in SIGNAL_PANELS):
            out.append((section, "Signals seen against realized", signals_figure(run, policy, colours)))
    return out


def load_figure(run: RunFolder, policy: str, colours: dict[str, str]):
    """Hourly facility load by site, MW, stacked; one trace per site in its colour."""
    import plotly.graph_objects as go

    mw = facility_mw(run.sites[policy])
    times = _times(mw.index)
    fig = go.Figure()
    for site in mw.columns:
        fig.add_trace(go.Scatter(x=times, y=mw[site].to_numpy(), name=_txt(site), stackgroup="load", mode="lines",
                                 line={"width": 0.5, "color": colours[site]}, fillcolor=colours[site],
                                 hovertemplate="%{y:.3f} MW"))
    fig.update_layout(title=_txt(f"{policy}: hourly facility load by site"), yaxis_title="facility load (MW)",
                      hovermode="x unified", legend_title_text="data center", height=430)
    fig.update_layout(xaxis_title="time (UTC)")
    _range_buttons(fig)
    return _styled(fig)


def served_figure(run: RunFolder, policy: str):
    """Share of each region's demand served at each site (and unserved), all tiers."""
    import plotly.graph_objects as go

    shares = served_shares(run.allocations[policy], run.demand[policy])
    z = shares.to_numpy(dtype=float)
    text = np.where(np.isnan(z) | (z < 0.005), "", np.vectorize(lambda v: f"{v:.0%}")(np.nan_to_num(z)))
    fig = go.Figure(go.Heatmap(
        z=z, x=[_txt(c) for c in shares.columns], y=[_txt(r) for r in shares.index], text=text,
        texttemplate="%{text}", zmin=0.0, zmax=1.0, colorscale="Blues",
        colorbar={"title": {"text": "share of the<br>region's demand"}},
        hovertemplate="region %{y}<br>served at %{x}<br>%{z:.2%} of its demand<extra></extra>"))
    fig.update_layout(title=_txt(f"{policy}: where each region's requests were served (horizon, all tiers)"),
                      xaxis_title="served at data center" + (f" (last column: {UNSERVED})" if UNSERVED in shares else ""),
                      yaxis_title="user region", yaxis_autorange="reversed",
                      height=max(360, 34 * len(shares.index) + 170))
    return _styled(fig)


def signals_figure(run: RunFolder, policy: str, colours: dict[str, str]):
    """Price (USD/MWh) and LME (kg CO2/kWh) per site: seen (solid) and realized (dashed);
    a site's two lines share a legend entry."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    sites = run.sites[policy]
    panels = [p for p in SIGNAL_PANELS if has_realized(sites, p[0])]
    fig = make_subplots(rows=len(panels), cols=1, shared_xaxes=True, vertical_spacing=0.07,
                        subplot_titles=[f"{name}: seen (solid) and realized (dashed)" for _, name, _ in panels])
    for row, (signal, name, unit) in enumerate(panels, start=1):
        seen, realized = seen_realized(sites, signal)
        times = _times(seen.index)
        for site in seen.columns:
            label = _txt(site)
            for frame, dash, kind in ((seen, "solid", "seen"), (realized, "dash", "realized")):
                fig.add_trace(go.Scatter(
                    x=times, y=frame[site].to_numpy(), name=label, legendgroup=label, showlegend=row == 1 and kind == "seen",
                    mode="lines", line={"color": colours[site], "dash": dash, "width": 1.5 if kind == "seen" else 1.2},
                    hovertemplate=f"{label} {kind}: %{{y:.4g}} {unit}<extra></extra>"), row=row, col=1)
        fig.update_yaxes(title_text=f"{name} ({unit})", row=row, col=1)
    fig.update_layout(title=_txt(f"{policy}: signals seen at decision time against realized after re-dispatch"),
                      hovermode="x", legend_title_text="data center", height=330 * len(panels) + 120)
    fig.update_xaxes(title_text="time (UTC)", row=len(panels), col=1)
    _range_buttons(fig)
    return _styled(fig)


def table1_figure(run: RunFolder):
    """Table 1 as bars: one small panel per row, a bar per policy (hover for the value)."""
    frame = table1_frame(run.summary)
    return _bar_panels(frame, policy_colours(list(frame.columns)), "Table 1 by policy", columns=4)


def feedback_figure(run: RunFolder):
    """Attributional, consequential and first-order emissions (t CO2), and the savings
    against nearest, predicted against realized (t CO2 and USD), by policy."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    frame = feedback_frame(run.summary)
    policies = [_txt(p) for p in frame.columns]
    panels = FEEDBACK_PANELS
    shades = {"attributional": "#4c72b0", "consequential": "#dd8452", "first-order": "#55a868",
              "predicted": "#4c72b0", "realized": "#dd8452"}
    fig = make_subplots(rows=1, cols=len(panels), subplot_titles=[t for t, _ in panels], horizontal_spacing=0.08)
    shown = set()
    for col, (title, bars) in enumerate(panels, start=1):
        for label, row in bars:
            if row not in frame.index:
                continue
            fig.add_trace(go.Bar(x=policies, y=frame.loc[row].to_numpy(dtype=float), name=label, legendgroup=label,
                                 marker_color=shades[label], showlegend=label not in shown,
                                 hovertemplate=f"%{{x}} {label}: %{{y:,.4g}}<extra></extra>"), row=1, col=col)
            shown.add(label)
        fig.update_yaxes(title_text=title, row=1, col=col)
    fig.update_layout(barmode="group", title="Grid feedback by policy (savings positive: the policy saves against nearest)",
                      height=430)
    return _styled(fig)


def _bar_panels(frame: pd.DataFrame, colours: dict[str, str], title: str, *, columns: int):
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    cols = min(columns, max(len(frame), 1))
    rows = -(-len(frame) // cols)
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=[_txt(label) for label in frame.index],
                        vertical_spacing=0.5 / max(rows, 1), horizontal_spacing=0.06)
    names = list(frame.columns)
    for n, (label, row) in enumerate(frame.iterrows()):
        fig.add_trace(go.Bar(x=[_txt(p) for p in names], y=row.to_numpy(dtype=float), marker_color=[colours[p] for p in names],
                             showlegend=False, name=_txt(label), text=[number(v) for v in row], textposition="auto",
                             hovertemplate=f"%{{x}}: %{{y:,.6g}}<extra>{_txt(label)}</extra>"),
                      row=n // cols + 1, col=n % cols + 1)
    fig.update_layout(title=title, height=230 * rows + 100)
    fig.update_annotations(font_size=12)
    return _styled(fig)


def _styled(fig):
    fig.update_layout(template=_TEMPLATE, margin={"l": 70, "r": 30, "t": 70, "b": 50})
    return fig


def _range_buttons(fig) -> None:
    """1 day / 1 week / all buttons above the top time axis (shared axes follow it)."""
    fig.update_layout(xaxis={"rangeselector": {"buttons": _RANGE_BUTTONS, "x": 0, "y": 1.0, "yanchor": "bottom"}})


def _times(index: pd.DatetimeIndex) -> list[str]:
    """Hours as naive ISO strings (UTC): plotly.js has no time zones."""
    naive = index.tz_convert("UTC").tz_localize(None) if index.tz is not None else index
    return [t.strftime("%Y-%m-%d %H:%M") for t in naive]


def _figure_divs(figures, section: str) -> list[str]:
    out = []
    for n, (where, heading, fig) in enumerate(figures):
        if where != section:
            continue
        out.append(f"<h3>{_esc(heading)}</h3>")
        out.append(fig.to_html(full_html=False, include_plotlyjs=False, div_id=f"figure-{n}", config=_CONFIG))
    return out


def _nav(run: RunFolder) -> str:
    links = [("provenance", "provenance"), ("table1", "Table 1")]
    if run.has_grid_feedback:
        links.append(("feedback", "grid feedback"))
    links += [(f"policy-{_slug(p)}", p) for p in run.policies]
    return "<nav>" + "".join(f'<a href="#{_esc(a)}">{_esc(t)}</a>' for a, t in links) + "</nav>"


def _provenance(summary: dict) -> str:
    """Every scalar and short list of summary.json outside `policies`, nested keys dotted;
    the notes as a list; the relocatable demand as its own small table."""
    rows = []
    for key, value in summary.items():
        if key in ("policies", "notes", "relocatable"):
            continue
        rows += _flatten(key, value)
    body = "".join(f"<tr><th>{_esc(k)}</th><td>{_esc(v)}</td></tr>" for k, v in rows)
    out = [f"<table>{body}</table>"]
    notes = summary.get("notes") or []
    if notes:
        out.append("<p><b>notes</b> (data warnings met while building the decision instance):</p><ul>"
                   + "".join(f"<li>{_esc(n)}</li>" for n in notes) + "</ul>")
    else:
        out.append("<p><b>notes</b>: none</p>")
    relocatable = summary.get("relocatable")
    if isinstance(relocatable, dict):
        rel = _flatten("relocatable", relocatable)
        out.append("<table>" + "".join(f'<tr><th>{_esc(k)}</th><td class="num">{_esc(v)}</td></tr>' for k, v in rel) + "</table>")
    return "\n".join(out)


def _flatten(key: str, value) -> list[tuple[str, str]]:
    if isinstance(value, dict):
        if not value:
            return [(key, "{}")]
        out = []
        for sub, inner in value.items():
            out += _flatten(f"{key}.{sub}", inner)
        return out
    if isinstance(value, (list, tuple)):
        return [(key, ", ".join(number(v) if isinstance(v, float) else str(v) for v in value))]
    if value is None:
        return [(key, "null")]
    return [(key, number(value) if isinstance(value, float) else str(value))]


def _table(frame: pd.DataFrame) -> str:
    """A metrics frame (rows metrics, columns policies) as an HTML table."""
    head = "<tr><th>metric</th>" + "".join(f"<th>{_esc(c)}</th>" for c in frame.columns) + "</tr>"
    body = "".join(
        f"<tr><th>{_esc(label)}</th>" + "".join(f'<td class="num">{_esc(number(v))}</td>' for v in row) + "</tr>"
        for label, row in frame.iterrows())
    return f"<table>{head}{body}</table>"


def _esc(value) -> str:
    """HTML-escaped text for the page."""
    return html.escape(str(value), quote=True)


def _txt(value) -> str:
    """Text for plotly's labels, whose pseudo-HTML would read tags: <, > and & as entities
    (plotly.js decodes those, not &quot;)."""
    return html.escape(str(value), quote=False)


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in str(name))
