"""HTML report of a resonance loop run: plotly charts inlined, plotly.js embedded (no CDN)."""

from __future__ import annotations

import html
from typing import Any

import plotly.graph_objects as go

from resonance.domain.loop_types import Iteration, LoopRun
from resonance.reports.charts import figure_div, plotly_js


def _direction(run: LoopRun) -> tuple[str, str, str]:
    """The run's primary metric, its direction (``higher``/``lower``) and its slice metric."""
    metric = str(run.config.get("primary_metric") or (run.summary and run.summary.primary_metric))
    direction = str(run.config.get("direction") or (run.summary and run.summary.direction))
    slice_metric = str(run.config.get("slice_metric") or "macro_f1")
    return metric, ("lower" if direction == "lower" else "higher"), slice_metric


def metric_figure(run: LoopRun) -> go.Figure:
    """Primary metric and worst reported slice per iteration, in the metric's direction
    (RMSE: lower is better, worst slice = highest slice RMSE)."""
    its = run.iterations
    x = [it.number for it in its]
    metric, direction, slice_metric = _direction(run)
    fig = go.Figure()
    for ys, name in (
        ([it.primary for it in its], f"primary metric ({metric})"),
        ([it.worst_slice for it in its], f"worst slice {slice_metric}"),
    ):
        fig.add_trace(go.Scatter(x=x, y=ys, mode="lines+markers", name=name))
    pick = min if direction == "lower" else max
    for it in its[1:]:
        best = pick((t["primary"] for t in it.tried if t.get("primary") is not None), default=None)
        if best is not None and not it.accepted:
            fig.add_trace(
                go.Scatter(
                    x=[it.number],
                    y=[best],
                    mode="markers",
                    name="rejected",
                    marker={"symbol": "x", "color": "red"},
                    showlegend=False,
                )
            )
    fig.update_layout(
        title=f"Loop {run.name}: sealed suite {run.suite}",
        xaxis_title="iteration",
        yaxis_title=f"{metric} ({direction} is better)",
        height=380,
        margin={"t": 50, "b": 40},
    )
    return fig


def slice_heatmap(run: LoopRun) -> go.Figure:
    """Error rate (regression: mean absolute error) of every reported weak slice (rows) at
    each iteration (columns)."""
    what = "mean absolute error" if run.config.get("task") == "regression" else "error rate"
    names: list[str] = []
    for it in run.iterations:
        for s in it.slices:
            if s["slice"] not in names:
                names.append(s["slice"])
    z = [
        [
            next((s["error_rate"] for s in it.slices if s["slice"] == n), None)
            for it in run.iterations
        ]
        for n in names
    ]
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=[f"it {it.number}" for it in run.iterations],
            y=[n[:60] for n in names],
            colorscale="Reds",
            colorbar={"title": what},
        )
    )
    fig.update_layout(
        title=f"Weak slices ({what}; lower is better)",
        height=max(300, 40 * len(names) + 120),
        margin={"l": 260},
    )
    return fig


def _table(run: LoopRun) -> str:
    cols = ("iteration", "accepted", "primary", "worst slice", "rows", "taken", "dropped")
    head = "<tr>" + "".join(f"<th>{c}</th>" for c in (*cols, "dataset", "model")) + "</tr>"
    body = []
    for it in run.iterations:
        cells = [*iteration_cells(it), it.dataset, it.model]
        body.append("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in cells) + "</tr>")
    return f"<table>{head}{''.join(body)}</table>"


def _actions(run: LoopRun) -> str:
    items = []
    for it in run.iterations[1:]:
        for a in it.actions:
            items.append(
                f"<li>iteration {it.number} — <b>{html.escape(a['action'])}</b>: "
                f"{html.escape(a['reason'])}</li>"
            )
    return "<ul>" + "".join(items) + "</ul>"


def metric_text(value: Any) -> str:
    """A metric to four decimals, ``-`` where there is none."""
    return f"{value:.4f}" if isinstance(value, float) else "-"


def iteration_cells(it: Iteration) -> list[Any]:
    """An iteration's row as the report and the CLI show it: number, accepted, primary,
    worst slice, rows, rows taken per member, dropped."""
    return [
        it.number,
        "yes" if it.accepted else "no",
        metric_text(it.primary),
        metric_text(it.worst_slice),
        it.rows,
        ", ".join(f"{k}: {v}" for k, v in it.taken.items()) or "-",
        it.dropped,
    ]


def render_html(run: LoopRun) -> str:
    """A self-contained HTML page (works offline)."""
    found = run.summary.to_dict() if run.summary else {}
    s = {k: html.escape(str(v)) if isinstance(v, str | dict) else v for k, v in found.items()}
    summary = (
        f"<p>Primary metric {s.get('primary_metric')} ({s.get('direction', 'higher')} is "
        f"better): {metric_text(s.get('baseline'))} → {metric_text(s.get('final'))} "
        f"(lift {metric_text(s.get('lift'))}, positive = better); worst slice "
        f"{metric_text(s.get('baseline_worst_slice'))} → "
        f"{metric_text(s.get('final_worst_slice'))}. Final dataset "
        f"{s.get('final_dataset')}, model {s.get('final_model')}. "
        f"Rows taken per member: {s.get('rows_taken')} of {s.get('reserve_rows')} "
        f"reserve rows. Relabel proposals per member: {s.get('relabel_proposals')}.</p>"
    )
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>Loop {html.escape(run.name)}</title><script>{plotly_js()}</script>"
        "<style>body{font-family:sans-serif;margin:2em}td,th{border:1px solid #ccc;padding:4px}"
        "table{border-collapse:collapse}</style></head><body>"
        f"<h1>Resonance loop {html.escape(run.name)}</h1><p>by {html.escape(run.created_by)}, "
        f"{html.escape(run.created_at)}; status {html.escape(run.status)}</p>{summary}"
        f"{figure_div(metric_figure(run), 'loop-metric')}"
        f"{figure_div(slice_heatmap(run), 'loop-slices')}"
        f"<h2>Iterations</h2>{_table(run)}<h2>Actions and reasons</h2>{_actions(run)}</body></html>"
    )
