"""Helpers shared by the console's pages: charts without inline scripts, query
parameters, text search, table rows of model versions and evaluation runs."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from markupsafe import Markup

from resonance.domain.errors import InvalidInput
from resonance.reports import charts

PREFIX = "/console"
PLOTLY_URL = f"{PREFIX}/assets/plotly.min.js"

Ctx = tuple[str, dict[str, Any]]


def chart(fig: Any, div_id: str) -> Markup:
    """A figure as an empty ``div`` whose ``data-figure`` holds its JSON (drawn by
    ``static/console.js``: no inline script, so the CSP can forbid them)."""
    return Markup('<div class="chart" id="{}" data-figure="{}"></div>').format(
        div_id, charts.figure_spec(fig)
    )


def query(request: Request, key: str, max_len: int = 200) -> str:
    value = request.query_params.get(key, "").strip()
    if len(value) > max_len:
        raise InvalidInput(f"{key} is longer than {max_len} characters")
    return value


def matches(q: str, *fields: Any) -> bool:
    """Case-insensitive substring search over the given fields."""
    q = q.lower()
    return not q or any(q in str(f or "").lower() for f in fields)


def numbers(metrics: dict[str, Any]) -> dict[str, float]:
    hold = metrics.get("holdout", metrics)
    source = hold if isinstance(hold, dict) else metrics
    return {
        k: v for k, v in source.items() if isinstance(v, int | float) and not isinstance(v, bool)
    }


def version_row(v: Any) -> dict[str, Any]:
    return {
        "ref": v.ref,
        "trainer": v.spec.trainer,
        "industry": v.industry or "",
        "scenario": v.scenario or "",
        "datasets": ", ".join(v.datasets),
        "created_by": v.created_by,
        "created_at": v.created_at[:19],
        "metrics": numbers(v.metrics),
    }


def run_row(r: Any) -> dict[str, Any]:
    return {
        "id": r.id,
        "model": r.model,
        "suite": r.suite,
        "by": r.created_by,
        "metrics": numbers(r.metrics),
        "passed": all(r.passed.values()) if r.passed else None,
        "diagnosed": r.diagnosed,
        "weak_slices": len(r.weak_slices),
        "created_at": r.created_at[:19],
    }
