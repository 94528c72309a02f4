"""Plotly figures of registries, quotas, deadlines and activity (offline: no CDN)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import plotly.graph_objects as go
from plotly.offline import get_plotlyjs

from resonance.domain.quotas import QuotaReport

MET, MISSING = "#2e7d32", "#c62828"


@lru_cache(maxsize=1)
def plotly_js() -> str:
    """plotly.js from the installed plotly package (never a CDN)."""
    return get_plotlyjs()


def quota_figure(report: QuotaReport) -> go.Figure:
    """Required vs actual for the subject's items and each child (industry) as progress."""
    labels = [i.label for i in report.items]
    fig = go.Figure()
    fig.add_bar(
        name="required", x=labels, y=[i.required for i in report.items], marker_color="#90a4ae"
    )
    fig.add_bar(
        name="actual",
        x=labels,
        y=[i.actual for i in report.items],
        marker_color=[MET if i.met else MISSING for i in report.items],
    )
    fig.update_layout(
        title=f"Quota status: {report.scope} {report.subject}",
        barmode="group",
        height=360,
        margin={"l": 40, "r": 20, "t": 50, "b": 80},
    )
    return fig


def progress_figure(report: QuotaReport) -> go.Figure:
    """Share of each child's numbers reached (industries of a province, scenarios...)."""
    kids = report.children or [report]
    fig = go.Figure(
        go.Bar(
            x=[round(100 * c.progress(), 1) for c in kids],
            y=[f"{c.scope} {c.subject}" for c in kids],
            orientation="h",
            marker_color=[MET if c.met else MISSING for c in kids],
        )
    )
    fig.update_layout(
        title="Progress towards the action's numbers (%)",
        xaxis={"range": [0, 100]},
        height=max(240, 60 + 40 * len(kids)),
        margin={"l": 200, "r": 20, "t": 50, "b": 40},
    )
    return fig


def _bars(
    table: dict[str, dict[str, int]],
    x: list[str],
    *,
    title: str,
    barmode: str,
    height: int,
    bottom: int,
) -> go.Figure:
    """One bar series per inner key of ``table`` (sorted), over the categories ``x``."""
    fig = go.Figure()
    for name in sorted({k for row in table.values() for k in row}):
        fig.add_bar(name=name, x=x, y=[table[c].get(name, 0) for c in x])
    fig.update_layout(
        title=title,
        barmode=barmode,
        height=height,
        margin={"l": 40, "r": 20, "t": 50, "b": bottom},
    )
    return fig


def activity_figure(activity: dict[str, dict[str, int]]) -> go.Figure:
    """Ledger entries per month, stacked by area (dataset, data, policy, registry...)."""
    return _bars(
        activity,
        sorted(activity),
        title="Recorded activity per month (ledger entries)",
        barmode="stack",
        height=320,
        bottom=40,
    )


def counts_figure(counts: dict[str, dict[str, int]]) -> go.Figure:
    """Registry counts per key industry."""
    return _bars(
        counts,
        list(counts),
        title="Registries per key industry",
        barmode="group",
        height=340,
        bottom=60,
    )


def figure_div(fig: go.Figure, div_id: str) -> str:
    """The figure as an HTML ``div`` + script, expecting plotly.js already on the page."""
    html: Any = fig.to_html(
        full_html=False,
        include_plotlyjs=False,
        div_id=div_id,
        config={"displaylogo": False, "responsive": True},
    )
    return str(html)


def tasks_figure(tasks: Any) -> go.Figure:
    """Completion of each of the seven key tasks (share of its floors reached)."""
    fig = go.Figure(
        go.Bar(
            x=[round(100 * t.completion, 1) for t in tasks],
            y=[t.title for t in tasks],
            orientation="h",
            marker_color=[MET if t.completion >= 1 else MISSING for t in tasks],
        )
    )
    fig.update_layout(
        title="Completion per key task (%)",
        xaxis={"range": [0, 100]},
        height=120 + 40 * len(tasks),
        margin={"l": 380, "r": 20, "t": 50, "b": 40},
    )
    return fig


def national_figure(by_province: dict[str, dict[str, int]]) -> go.Figure:
    """Achievements per province, stacked by list."""
    return _bars(
        by_province,
        list(by_province),
        title="Achievements per province (a joint one counts for each partner)",
        barmode="stack",
        height=420,
        bottom=80,
    )


def figure_spec(fig: go.Figure) -> str:
    """The figure as plotly JSON (``{"data": ..., "layout": ...}``), for a page that draws it
    with its own script file instead of an inline ``<script>`` (a strict CSP)."""
    spec: Any = fig.to_json(validate=False)
    return str(spec)
