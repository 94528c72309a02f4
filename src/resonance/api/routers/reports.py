"""Implementation plans, mid-term and summary reports (JSON, Markdown or HTML)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, PlainTextResponse, Response
from pydantic import BaseModel, Field

from resonance.api.deps import OrgDep, SpaceDep
from resonance.api.errors import ERROR_RESPONSES
from resonance.api.params import Enterprise, Province
from resonance.domain.reporting import ReportKind, SubjectKind
from resonance.reports.render import render
from resonance.services import reports as svc

router = APIRouter(prefix="/reports", tags=["reports"], responses=ERROR_RESPONSES)

_Name = Annotated[str | None, Query(max_length=100)]


class SubmitBody(BaseModel):
    """Which report to render and hand in, for whom and on what date."""

    province: str | None = Field(None, max_length=100)
    enterprise: str | None = Field(None, max_length=100)
    as_of: date | None = None
    format: str = Field("md", pattern="^(md|html)$")


@router.get("/submissions")
def submissions(
    space: SpaceDep,
    _: OrgDep,
    subject_kind: SubjectKind | None = None,
    subject: _Name = None,
) -> list[dict[str, Any]]:
    """Reports handed in, oldest first."""
    items = svc.list_submissions(space, subject_kind=subject_kind, subject=subject)
    return [s.to_dict() for s in items]


@router.get("/{kind}", response_model=None)
def get_report(
    kind: ReportKind,
    space: SpaceDep,
    _: OrgDep,
    province: Province = None,
    enterprise: Enterprise = None,
    as_of: date | None = None,
    fmt: Annotated[str, Query(alias="format", pattern="^(json|md|html)$")] = "json",
) -> dict[str, Any] | Response:
    """A report for a province or a central enterprise, dated against the 2026 deadlines."""
    data = svc.build_report(space, kind=kind, province=province, enterprise=enterprise, as_of=as_of)
    if fmt == "md":
        return PlainTextResponse(render(data, "md"), media_type="text/markdown")
    if fmt == "html":
        return HTMLResponse(render(data, "html"))
    return data.to_dict()


@router.post("/{kind}/submit", status_code=201)
def submit(kind: ReportKind, body: SubmitBody, space: SpaceDep, me: OrgDep) -> dict[str, Any]:
    """Render a report and record it as handed in (operators and authorities)."""
    data = svc.build_report(
        space, kind=kind, province=body.province, enterprise=body.enterprise, as_of=body.as_of
    )
    content = render(data, body.format).encode()
    sub = svc.submit_report(space, actor=me.name, data=data, content=content, fmt=body.format)
    return sub.to_dict()
