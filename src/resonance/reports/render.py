"""Render a :class:`~resonance.services.reports.ReportData` as Markdown or HTML."""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go
from jinja2 import Environment, PackageLoader, select_autoescape

from resonance.reports import charts, mermaid
from resonance.services.reports import ReportData

_env = Environment(
    loader=PackageLoader("resonance.reports", "templates"),
    # report.html.j2 ends in .j2: name it, or a province like <script> would go out raw
    autoescape=select_autoescape(enabled_extensions=("html", "html.j2"), default_for_string=False),
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)

INTRO = {
    "plan": "What will be built, against the action's numbers: every target still missing "
    "is listed below as a task of the plan.",
    "midterm": "Progress towards the action's numbers at mid-term: what is done, what is "
    "missing, and the activity recorded on the ledger.",
    "summary": "What was achieved by the end of the action, against its numbers.",
}


def _bar(share: float, width: int = 20) -> str:
    full = round(max(0.0, min(1.0, share)) * width)
    return "█" * full + "░" * (width - full)


def _context(data: ReportData) -> dict[str, Any]:
    return {"r": data.to_dict(), "data": data, "intro": INTRO[data.kind.value], "bar": _bar}


def render_markdown(data: ReportData) -> str:
    """The report as Markdown: tables, text bars and Mermaid charts (the HTML form has
    the interactive plotly charts)."""
    mermaid_charts = {
        "quota": mermaid.quota_chart(data.quota),
        "progress": mermaid.progress_chart(data.quota),
        "activity": mermaid.activity_chart(data.activity) if data.activity else "",
    }
    return _env.get_template("report.md.j2").render(**_context(data), mermaid=mermaid_charts)


def render_html(data: ReportData, *, plotly_src: str | None = None) -> str:
    """The report as one HTML page with plotly charts.

    Parameters
    ----------
    plotly_src:
        URL of plotly.js (the web console serves it from the installed package);
        ``None`` inlines plotly.js so the file works offline on its own.
    """
    figures = [charts.figure_div(fig, div_id) for div_id, fig in report_figures(data)]
    return _env.get_template("report.html.j2").render(
        **html_context(data, figures=figures, plotly_src=plotly_src)
    )


def report_figures(data: ReportData) -> list[tuple[str, go.Figure]]:
    """The report's charts with their element ids: quota, progress, counts, activity."""
    figures = [
        ("chart-quota", charts.quota_figure(data.quota)),
        ("chart-progress", charts.progress_figure(data.quota)),
    ]
    if data.counts:
        figures.append(("chart-counts", charts.counts_figure(data.counts)))
    if data.activity:
        figures.append(("chart-activity", charts.activity_figure(data.activity)))
    return figures


def html_context(
    data: ReportData,
    *,
    figures: list[Any],
    plotly_src: str | None,
    scripts: tuple[str, ...] = (),
) -> dict[str, Any]:
    """What ``report.html.j2`` needs: the report, its figures (already HTML), plotly.js
    (a URL, else inlined) and extra script URLs (the console's chart loader)."""
    return {
        **_context(data),
        "figures": figures,
        "plotly_src": plotly_src,
        "plotly_inline": None if plotly_src else charts.plotly_js(),
        "scripts": scripts,
    }


def render(data: ReportData, fmt: str, *, plotly_src: str | None = None) -> str:
    """Render as ``md`` or ``html``."""
    return render_markdown(data) if fmt == "md" else render_html(data, plotly_src=plotly_src)
