"""Rendering reports: HTML escapes what users wrote (issue 17: reflected XSS)."""

from __future__ import annotations

from resonance.domain.reporting import ReportKind
from resonance.reports.render import render_html, render_markdown
from resonance.services import reports
from resonance.services.space import Space
from tests.registry_seed import seed

XSS = "<script>alert(1)</script>"


def test_html_report_escapes_every_text(lite_space: Space) -> None:
    seed(lite_space)
    data = reports.build_report(lite_space, kind=ReportKind.MIDTERM, province="Jiangsu")
    data.subject = XSS
    data.space_name = XSS
    html = render_html(data, plotly_src="/static/plotly.js")
    assert XSS not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    # Markdown is text: it is not HTML-escaped
    assert XSS in render_markdown(data)
