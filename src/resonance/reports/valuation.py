"""Benefit-sharing statements as Markdown or HTML (the reports' one template environment)."""

from __future__ import annotations

from resonance.domain.errors import InvalidInput
from resonance.reports.render import _env
from resonance.services.valuation import BenefitStatement

FORMATS = ("markdown", "html")


def render_statement(statement: BenefitStatement, fmt: str = "markdown") -> str:
    """``statement`` as ``markdown`` or a standalone ``html`` page (values escaped)."""
    if fmt not in FORMATS:
        raise InvalidInput(f"unknown format {fmt!r}; use markdown or html", format=fmt)
    name = "statement.md.j2" if fmt == "markdown" else "statement.html.j2"
    return _env.get_template(name).render(s=statement)
