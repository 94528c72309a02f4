"""The resonance loop: run it (evaluate → diagnose → optimize the data → retrain), list, show,
and the offline HTML report."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import Field

from resonance.api.deps import OrgDep, SpaceDep
from resonance.api.errors import ERROR_RESPONSES, ErrorBody
from resonance.api.params import SLUG_PATTERN, TimeSeriesOptions
from resonance.api.routers.models import Column, ParamKey, ParamValue
from resonance.domain import forms
from resonance.domain.acceptance import DEFAULT_CONFIDENCE, DEFAULT_MAX_SLICE_DROP, DEFAULT_MIN_GAIN
from resonance.domain.jobs import JobKind
from resonance.domain.loop_types import DEFAULT_QUERIES_PER_ITERATION
from resonance.reports.loop import render_html
from resonance.services import loop as loops

router = APIRouter(
    prefix="/loop",
    tags=["loop"],
    responses={
        **ERROR_RESPONSES,
        429: {"model": ErrorBody, "description": "the suite's query budget is too low (RES-130)"},
    },
)

RunName = Annotated[str, Path(max_length=63, examples=["steel-loop"])]
DatasetRef = Annotated[str, Field(min_length=1, max_length=80)]


class LoopBody(TimeSeriesOptions):
    """A loop run: the model spec, training data, reserve pools, budget and sealed suite.

    Field names and defaults are those of ``resonance loop run``.
    """

    name: str = Field(
        max_length=loops.MAX_NAME,  # the run's working dataset is NAME-data, itself a slug
        pattern=SLUG_PATTERN,
        examples=["steel-loop"],
        description="run name (also the model's name)",
    )
    trainer: str = Field("lightgbm", max_length=40, examples=["lightgbm"])
    datasets: list[DatasetRef] = Field(
        min_length=1, max_length=20, examples=[["steel-plant-a", "steel-plant-b"]]
    )
    reserves: list[DatasetRef] = Field(
        default_factory=list, max_length=20, examples=[["steel-plant-a-reserve"]]
    )
    budget: int = Field(ge=0, le=1_000_000, examples=[60], description="acquisition budget (rows)")
    suite: str = Field(max_length=63, examples=["steel-sealed"])
    iterations: int = Field(3, ge=1, le=100)
    params: dict[ParamKey, ParamValue] = Field(
        default_factory=dict, max_length=30, examples=[{"n_estimators": 30}]
    )
    exclude: list[Column] = Field(default_factory=list, max_length=500)
    seed: int = Field(0, ge=0, le=2**31 - 1)
    confidence: float = Field(
        DEFAULT_CONFIDENCE,
        gt=0.5,
        lt=1.0,
        description="two-sided confidence of the paired bootstrap interval",
    )
    min_gain: float = Field(
        DEFAULT_MIN_GAIN,
        ge=0.0,
        le=1e6,
        description="accept when the interval's lower bound exceeds it",
    )
    max_slice_drop: float = Field(
        DEFAULT_MAX_SLICE_DROP,
        ge=0.0,
        le=1e6,
        description="largest tolerated drop of the worst measured slice",
    )
    queries_per_iteration: int = Field(
        DEFAULT_QUERIES_PER_ITERATION,
        ge=1,
        le=5,
        description="suite queries per iteration for ranked candidates (cap)",
    )


@router.post("/runs", status_code=202)
def run(
    body: LoopBody, request: Request, response: Response, space: SpaceDep, me: OrgDep
) -> dict[str, Any]:
    """Queue a loop run as the acting organization; returns the job (202, ``Location``).

    A worker runs it (``GET /jobs/{id}`` follows it; the run then appears under
    ``/loop/runs/{name}``). A new dataset version is kept only when a paired bootstrap on
    the sealed suite's rows says it is better than the current model: the lower bound of
    the gain's ``confidence`` interval above ``min_gain``, the worst measured slice down by
    at most ``max_slice_drop``; at most ``queries_per_iteration`` candidates (ranked by
    cross-validation on the working rows) are scored per iteration. Refused at once:
    without the model-builder role (RES-122), a taken name (RES-102), an unknown suite
    (RES-101), bad test options (RES-250) or a query budget below
    ``1 + (1 + queries_per_iteration) × iterations`` (RES-130); ``train-pooled`` grants
    (RES-120) are checked when the job reads the data.
    """
    from resonance.api.routers.jobs import submit_job

    return submit_job(request, response, space, me.name, JobKind.LOOP, body.job_params())


@router.get("/runs")
def list_runs(
    space: SpaceDep,
    _: OrgDep,
    created_by: Annotated[str | None, Query(max_length=63, examples=["builder"])] = None,
) -> list[dict[str, Any]]:
    """Loop runs, oldest first (iterations, rows taken per member, the lift)."""
    return [forms.plain(r.to_dict()) for r in loops.list_runs(space, created_by=created_by)]


@router.get("/runs/{name}")
def show_run(name: RunName, space: SpaceDep, _: OrgDep) -> dict[str, Any]:
    """One loop run: every iteration, rows taken per member, the lift."""
    return forms.plain(loops.get_run(space, name).to_dict())


@router.get(
    "/runs/{name}/report",
    response_class=HTMLResponse,
    responses={200: {"content": {"text/html": {}}, "description": "the run's report"}},
)
def report(name: RunName, space: SpaceDep, _: OrgDep) -> HTMLResponse:
    """The run's HTML report (plotly charts with plotly.js embedded: works offline)."""
    return HTMLResponse(render_html(loops.get_run(space, name)))
