"""Render the national view (lists and overview) as Markdown or HTML."""

from __future__ import annotations

from resonance.domain.errors import InvalidInput
from resonance.domain.national import LISTS, NationalView
from resonance.reports import charts
from resonance.reports.render import _env


def render_national(view: NationalView, fmt: str, *, plotly_src: str | None = None) -> str:
    """The ministries' overview: spaces, totals (each achievement once), per province,
    achievements claimed by several spaces, and the national lists."""
    if fmt not in ("md", "html"):
        raise InvalidInput(f"unknown format {fmt!r}; use md or html", format=fmt)
    ctx = {"v": view.to_dict(), "titles": LISTS}
    if fmt == "md":
        return _env.get_template("national.md.j2").render(**ctx)
    figure = charts.figure_div(charts.national_figure(view.by_province()), "chart-national")
    return _env.get_template("national.html.j2").render(
        **ctx,
        figure=figure,
        plotly_src=plotly_src,
        plotly_inline=None if plotly_src else charts.plotly_js(),
    )
