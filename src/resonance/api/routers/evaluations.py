"""Sealed evaluation suites and evaluation runs: scores and diagnoses only, never sealed rows."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from resonance.api.deps import OrgDep, SpaceDep
from resonance.api.errors import ERROR_RESPONSES, ErrorBody
from resonance.api.params import slug
from resonance.domain import forms
from resonance.domain.evaluation import CLASSIFICATION_METRICS
from resonance.domain.refs import ref_name
from resonance.services import evaluation as svc

router = APIRouter(
    prefix="/evaluations",
    tags=["evaluations"],
    responses={
        **ERROR_RESPONSES,
        429: {"model": ErrorBody, "description": "the model's query budget is spent (RES-130)"},
    },
)

SuiteName = Annotated[str, Path(max_length=63, examples=["steel-sealed"])]
MetricName = Annotated[str, Field(min_length=1, max_length=40)]
ModelQuery = Annotated[str | None, Query(max_length=80, examples=["steel-fm@1"])]
SuiteQuery = Annotated[str | None, Query(max_length=63, examples=["steel-sealed"])]


class SuiteBody(BaseModel):
    """A sealed suite over an evaluation dataset version you own (evaluator)."""

    name: str = slug("steel-sealed")
    dataset: str = Field(max_length=80, examples=["steel-eval@1"])
    metrics: list[MetricName] = Field(default_factory=list, max_length=20)
    thresholds: dict[MetricName, Annotated[float, Field(allow_inf_nan=False)]] = Field(
        default_factory=dict, max_length=20, examples=[{"macro_f1": 0.6}]
    )
    scenario: str | None = Field(None, max_length=200, examples=["surface-defects"])
    budget: int = Field(20, ge=1, le=10_000, description="queries allowed per model")
    primary: str = Field("macro_f1", max_length=40, description="the metric the loop optimizes")


class RunBody(BaseModel):
    """A model version to score on a suite (spends one query of its budget)."""

    model: str = Field(max_length=80, examples=["steel-fm@1"])
    suite: str = Field(max_length=63, examples=["steel-sealed"])
    diagnose: bool = Field(True, description="add weak slices, coverage gaps, label issues")
    label_issues: bool = Field(True, description="with diagnose: cleanlab on the training data")


@router.get("/suites")
def list_suites(space: SpaceDep, _: OrgDep) -> list[dict[str, Any]]:
    """Every suite (definitions only; rows stay sealed)."""
    return [forms.plain(s.to_dict()) for s in svc.list_suites(space)]


@router.post("/suites", status_code=201)
def register_suite(body: SuiteBody, space: SpaceDep, me: OrgDep) -> dict[str, Any]:
    """Register a sealed suite as the acting organization (an evaluator owning the dataset)."""
    suite = svc.register_suite(
        space,
        actor=me.name,
        name=body.name,
        dataset=body.dataset,
        metrics=tuple(body.metrics) or CLASSIFICATION_METRICS,
        thresholds=dict(body.thresholds),
        scenario=body.scenario or None,
        query_budget=body.budget,
        primary_metric=body.primary,
    )
    return forms.plain(suite.to_dict())


@router.get("/suites/{suite}")
def show_suite(suite: SuiteName, space: SpaceDep, _: OrgDep) -> dict[str, Any]:
    """One suite's definition."""
    return forms.plain(svc.require_suite(space, suite).to_dict())


@router.get("/budget")
def budget(
    space: SpaceDep,
    _: OrgDep,
    model: Annotated[str, Query(max_length=80, examples=["steel-fm"])],
    suite: Annotated[str, Query(max_length=63, examples=["steel-sealed"])],
) -> dict[str, Any]:
    """Queries left for a model (``NAME``; a ``NAME@N`` counts for its name) on a suite."""
    name = ref_name(model)
    left = svc.remaining_budget(space, model_name=name, suite=suite)
    return {"model": name, "suite": suite, "remaining": left}


@router.get("")
def list_runs(
    space: SpaceDep, _: OrgDep, model: ModelQuery = None, suite: SuiteQuery = None
) -> list[dict[str, Any]]:
    """Evaluation runs (scores, pass/fail, aggregate diagnoses), oldest first."""
    return [forms.plain(r.to_dict()) for r in svc.list_runs(space, model=model, suite=suite)]


@router.post("", status_code=201)
def run(body: RunBody, space: SpaceDep, me: OrgDep) -> dict[str, Any]:
    """Score a model version on a sealed suite as its builder; returns scores, never rows.

    A model whose budget on the suite is spent gets 429 (RES-130).
    """
    result = svc.evaluate(
        space,
        actor=me.name,
        model=body.model,
        suite=body.suite,
        diagnose=body.diagnose,
        label_issues=body.label_issues,
    )
    left = svc.remaining_budget(space, model_name=ref_name(result.model), suite=body.suite)
    return forms.plain({**result.to_dict(), "budget_left": left})
