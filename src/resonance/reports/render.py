"""Render a :class:`~resonance.services.reports.ReportData` as Markdown or HTML."""

from __future__ import annotations

from datetime import date
from typing import Any

import plotly.graph_objects as go
from jinja2 import Environment, PackageLoader, select_autoescape

from resonance.domain.errors import InvalidInput
from resonance.domain.reporting import ReportKind, ReportSubmission
from resonance.reports import charts, mermaid
from resonance.services.reports import (
    FORMATS,
    ReportData,
    build_report,
    check_can_submit,
    submit_report,
)
from resonance.services.space import Space

_env = Environment(
    loader=PackageLoader("resonance.reports", "templates"),
    # the templates are named *.html.j2 / *.md.j2: escape by the format before ".j2"
    # (select_autoescape on "html" alone never matched "report.html.j2")
    autoescape=select_autoescape(enabled_extensions=("html", "html.j2"), default_for_string=False),
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)

INTRO = {
    "plan": "The implementation plan: for each of the seven key tasks, the targets set by "
    "the action's numbers, the measures taken to reach them, and the baseline today.",
    "midterm": "The mid-term report: for each key task, the progress against its numbers, "
    "what was done (named achievements with their evidence), problems met and next steps.",
    "summary": "The summary report: completion of each key task, its results (named "
    "achievements with their evidence) and typical landing cases.",
}


def _bar(share: float, width: int = 20) -> str:
    full = round(max(0.0, min(1.0, share)) * width)
    return "█" * full + "░" * (width - full)


def _context(data: ReportData) -> dict[str, Any]:
    return {
        "r": data.to_dict(),
        "data": data,
        "intro": INTRO[data.kind.value],
        "bar": _bar,
        "pct": lambda x: f"{x * 100:.0f}%",
    }


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
    if data.tasks:
        figures.append(("chart-tasks", charts.tasks_figure(data.tasks)))
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
    if fmt not in FORMATS:
        raise InvalidInput(f"unknown report format {fmt!r}; use md or html", format=fmt)
    return render_markdown(data) if fmt == "md" else render_html(data, plotly_src=plotly_src)


def preview(
    space: Space,
    *,
    kind: ReportKind,
    province: str | None,
    enterprise: str | None,
    as_of: date | None,
    fmt: str,
    plotly_src: str | None = None,
) -> tuple[ReportData, str]:
    """Build and render a report (CLI and API share this path); nothing is stored."""
    data = build_report(space, kind=kind, province=province, enterprise=enterprise, as_of=as_of)
    return data, render(data, fmt, plotly_src=plotly_src)


def hand_in(
    space: Space,
    *,
    actor: str,
    kind: ReportKind,
    province: str | None,
    enterprise: str | None,
    as_of: date | None,
    fmt: str,
    plotly_src: str | None = None,
) -> tuple[ReportData, str, ReportSubmission]:
    """Check the submission may happen, build today's report, render it and submit it.

    Every refusal (RES-122, RES-191, RES-195) comes before anything is rendered, so a
    caller that writes the text only after this returns writes nothing on failure.
    """
    check_can_submit(space, actor=actor, province=province, enterprise=enterprise, as_of=as_of)
    data, text = preview(
        space,
        kind=kind,
        province=province,
        enterprise=enterprise,
        as_of=None,
        fmt=fmt,
        plotly_src=plotly_src,
    )
    sub = submit_report(space, actor=actor, data=data, content=text.encode(), fmt=fmt)
    return data, text, sub
