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
from resonance.domain import forms
from resonance.domain.reporting import ReportKind, SubjectKind, TaskNote
from resonance.reports.render import hand_in, preview
from resonance.services import reports as svc

router = APIRouter(prefix="/reports", tags=["reports"], responses=ERROR_RESPONSES)

_Name = Annotated[str | None, Query(max_length=100)]


class SubmitBody(BaseModel):
    """Which report to render and hand in, for whom (stamped with the real time; an
    ``as_of`` other than today is refused: RES-195)."""

    province: str | None = Field(None, max_length=100)
    enterprise: str | None = Field(None, max_length=100)
    as_of: date | None = None
    format: str = Field("md", pattern="^(md|html)$")


class TaskNoteBody(BaseModel):
    """The authority's text for one key task."""

    task: str = Field(max_length=40, examples=["spaces"])
    measures: str = Field("", max_length=10_000)
    progress: str = Field("", max_length=10_000)
    problems: str = Field("", max_length=10_000)
    next_steps: str = Field("", max_length=10_000)
    typical_cases: list[str] = Field(default_factory=list, max_length=20)


class NoteBody(BaseModel):
    """A new version of the authority's text for a report."""

    province: str | None = Field(None, max_length=100)
    enterprise: str | None = Field(None, max_length=100)
    tasks: list[TaskNoteBody] = Field(min_length=1, max_length=7)


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
    if fmt in ("md", "html"):
        _data, text = preview(
            space, kind=kind, province=province, enterprise=enterprise, as_of=as_of, fmt=fmt
        )
        if fmt == "md":
            return PlainTextResponse(text, media_type="text/markdown")
        return HTMLResponse(text)
    data = svc.build_report(space, kind=kind, province=province, enterprise=enterprise, as_of=as_of)
    return data.to_dict()


@router.post("/{kind}/submit", status_code=201)
def submit(kind: ReportKind, body: SubmitBody, space: SpaceDep, me: OrgDep) -> dict[str, Any]:
    """Render today's report and hand it in, stamped with the real time (an operator or the
    subject region's authority); the response says whether it is late."""
    _, _, sub = hand_in(
        space,
        actor=me.name,
        kind=kind,
        province=body.province,
        enterprise=body.enterprise,
        as_of=body.as_of,
        fmt=body.format,
    )
    return forms.submission(sub)


@router.post("/{kind}/notes", status_code=201)
def write_note(kind: ReportKind, body: NoteBody, space: SpaceDep, me: OrgDep) -> dict[str, Any]:
    """Write a new version of the measures, progress, problems and next steps per task."""
    note = svc.write_note(
        space,
        actor=me.name,
        kind=kind,
        province=body.province,
        enterprise=body.enterprise,
        tasks=[
            TaskNote(
                t.task, t.measures, t.progress, t.problems, t.next_steps, tuple(t.typical_cases)
            )
            for t in body.tasks
        ],
    )
    return note.to_dict()


@router.get("/{kind}/notes")
def notes(
    kind: ReportKind,
    space: SpaceDep,
    _: OrgDep,
    province: Province = None,
    enterprise: Enterprise = None,
) -> list[dict[str, Any]]:
    """Every version of the authority's text for a report, oldest first."""
    items = svc.list_notes(space, kind=kind, province=province, enterprise=enterprise)
    return [n.to_dict() for n in items]
