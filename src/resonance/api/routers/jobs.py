"""Jobs: submit long work (202 + a job id), list, show, cancel.

Training, loop, federated, diagnosis, valuation and report jobs take the same bodies as the
synchronous routes and run on a worker (``resonance serve`` starts one; ``resonance worker``
adds more), under the submitting organization's identity and policies. Only the submitter and
the space operator see a job; to anyone else it does not exist (404).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel, Field

from resonance.api.deps import OrgDep, SpaceDep
from resonance.api.errors import ERROR_RESPONSES, ErrorBody
from resonance.api.routers.federation import FederateBody
from resonance.api.routers.loop import LoopBody
from resonance.api.routers.models import TrainBody
from resonance.api.routers.valuation import ValueBody
from resonance.domain import forms
from resonance.domain.jobs import Job, JobKind, JobStatus
from resonance.domain.reporting import ReportKind
from resonance.services import jobs as svc

router = APIRouter(
    prefix="/jobs",
    tags=["jobs"],
    responses={
        **ERROR_RESPONSES,
        429: {"model": ErrorBody, "description": "the organization's job limit (RES-200)"},
    },
)

JobId = Annotated[str, Path(max_length=40, examples=["job-0123456789abcdef"])]


class DiagnoseBody(BaseModel):
    """Score a model version on a sealed suite and diagnose it (weak slices, label issues)."""

    model: str = Field(max_length=80, examples=["steel-fm@1"])
    suite: str = Field(max_length=63, examples=["steel-sealed"])
    label_issues: bool = True


class ReportBody(BaseModel):
    """Build, render and hand in a report (operators and authorities)."""

    report: ReportKind
    province: str | None = Field(None, max_length=100)
    enterprise: str | None = Field(None, max_length=100)
    as_of: date | None = None
    format: str = Field("md", pattern="^(md|html)$")


def _queue(request: Request) -> Any:
    """The space's job queue, opened on first use."""
    queue = getattr(request.app.state, "job_queue", None)
    if queue is None:
        from resonance.jobs.queue import JobQueue

        queue = request.app.state.job_queue = JobQueue(request.app.state.space)
    return queue


def _accepted(job: Job, response: Response) -> dict[str, Any]:
    response.headers["Location"] = f"/jobs/{job.id}"
    return forms.plain(job.to_dict())


def submit_job(
    request: Request,
    response: Response,
    space: Any,
    actor: str,
    kind: JobKind,
    params: dict[str, Any],
) -> dict[str, Any]:
    """Record and queue a job for ``actor``; the 202 body is the job, ``Location`` its URL."""
    job = svc.submit(space, actor=actor, kind=kind, params=params, enqueue=_queue(request).enqueue)
    return _accepted(job, response)


@router.post("/train", status_code=202)
def submit_train(
    body: TrainBody, request: Request, response: Response, space: SpaceDep, me: OrgDep
) -> dict[str, Any]:
    """Queue a training job (the body of POST /models); returns the job (202)."""
    params = body.job_params()
    return submit_job(request, response, space, me.name, JobKind.TRAIN, params)


@router.post("/loop", status_code=202)
def submit_loop(
    body: LoopBody, request: Request, response: Response, space: SpaceDep, me: OrgDep
) -> dict[str, Any]:
    """Queue a resonance loop run (the body of POST /loop/runs); returns the job (202)."""
    params = body.job_params()
    return submit_job(request, response, space, me.name, JobKind.LOOP, params)


@router.post("/federate", status_code=202)
def submit_federate(
    body: FederateBody, request: Request, response: Response, space: SpaceDep, me: OrgDep
) -> dict[str, Any]:
    """Queue a federated run, embedded mode (the body of POST /federation/runs) (202)."""
    params = body.model_dump(mode="json")
    return submit_job(request, response, space, me.name, JobKind.FEDERATE, params)


@router.post("/diagnose", status_code=202)
def submit_diagnose(
    body: DiagnoseBody, request: Request, response: Response, space: SpaceDep, me: OrgDep
) -> dict[str, Any]:
    """Queue an evaluation with diagnosis of a model on a sealed suite (202)."""
    params = body.model_dump(mode="json")
    return submit_job(request, response, space, me.name, JobKind.DIAGNOSE, params)


@router.post("/valuate", status_code=202)
def submit_valuate(
    body: ValueBody, request: Request, response: Response, space: SpaceDep, me: OrgDep
) -> dict[str, Any]:
    """Queue a contribution valuation (the body of POST /valuation); returns the job (202)."""
    params = body.model_dump(mode="json")
    return submit_job(request, response, space, me.name, JobKind.VALUATE, params)


@router.post("/report", status_code=202)
def submit_report(
    body: ReportBody, request: Request, response: Response, space: SpaceDep, me: OrgDep
) -> dict[str, Any]:
    """Queue building and handing in a report; returns the job (202)."""
    params = body.model_dump(mode="json")
    return submit_job(request, response, space, me.name, JobKind.REPORT, params)


@router.get("")
def list_jobs(
    space: SpaceDep,
    me: OrgDep,
    status: JobStatus | None = None,
    kind: JobKind | None = None,
    organization: Annotated[str | None, Query(max_length=63, examples=["builder"])] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict[str, Any]]:
    """Jobs you may see, newest first (yours; the operator sees every organization's)."""
    items = svc.list_jobs(
        space, actor=me.name, status=status, kind=kind, organization=organization, limit=limit
    )
    return [forms.plain(j.to_dict()) for j in items]


@router.get("/{job_id}")
def show_job(job_id: JobId, space: SpaceDep, me: OrgDep) -> dict[str, Any]:
    """One job: status, progress, logs, result references, the coded error if it failed."""
    return forms.plain(svc.show(space, actor=me.name, job_id=job_id).to_dict())


@router.post("/{job_id}/cancel")
def cancel_job(job_id: JobId, space: SpaceDep, me: OrgDep) -> dict[str, Any]:
    """Cancel a job: a queued one at once, a running one at its next progress report.

    A finished job gets 409 (RES-201).
    """
    return forms.plain(svc.cancel(space, actor=me.name, job_id=job_id).to_dict())
