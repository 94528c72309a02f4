"""Agents: create from a template, list, show (spec, runs, sealed scores, card), run and
evaluate as jobs (202), the kill switch, sealed episode sets, entry in the registry."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, Field

from resonance.api.deps import OrgDep, SpaceDep
from resonance.api.errors import ERROR_RESPONSES
from resonance.api.routers.jobs import submit_job
from resonance.domain import forms
from resonance.domain.agents import (
    AgentLimits,
    EnvironmentKind,
    PlannerKind,
    PlannerParams,
    Template,
    parse_tools,
)
from resonance.domain.jobs import JobKind
from resonance.services import agents as svc

router = APIRouter(prefix="/agents", tags=["agents"], responses=ERROR_RESPONSES)

AgentRef = Annotated[str, Path(max_length=80, examples=["kwh-watch@1", "kwh-watch"])]


class CreateBody(BaseModel):
    """A scenario plus chosen model versions, turned into an agent spec by a template."""

    name: str = Field(max_length=63, examples=["kwh-watch"])
    scenario: str = Field(max_length=63, examples=["energy-alerts"])
    template: Template
    models: list[str] = Field(min_length=1, max_length=8, examples=[["kwh@1"]])
    observes: list[str] = Field(default_factory=list, max_length=8)
    tools: list[str] | None = Field(None, max_length=4, examples=[["observe", "predict"]])
    goal: str | None = Field(None, max_length=500)
    normal: str | None = Field(None, max_length=100, description="fault-detection: normal class")
    tune_on: str | None = Field(None, max_length=100, description="dataset of training episodes")
    max_false_per_100h: float = Field(2.0, gt=0, le=1000)
    on: float = Field(3.0, ge=0, le=1e6)
    off: float = Field(1.5, ge=0, le=1e6)
    persistence: int = Field(1, ge=1, le=1000)
    alpha: float = Field(1.0, gt=0, le=1)
    actions_per_hour: int = Field(12, ge=1, le=100_000)
    escalate_after: int = Field(8, ge=0, le=100_000)
    step_minutes: float = Field(15.0, gt=0, le=1440)
    planner_kind: PlannerKind = Field(
        PlannerKind.RULES, description="llm: the operator's [llm] endpoint confirms or vetoes"
    )


class RunBody(BaseModel):
    """Run over the newest window of a dataset the agent observes."""

    dataset: str | None = Field(None, max_length=100)
    window: int = Field(96, ge=1, le=100_000)


class EvaluateBody(BaseModel):
    """A sealed episode set to run the agent through."""

    episodes: str = Field(max_length=63, examples=["kwh-sealed"])


class EpisodesBody(BaseModel):
    """Sealed episodes: replay of one of the evaluator's datasets, or TEP runs."""

    name: str = Field(max_length=63, examples=["kwh-sealed"])
    environment: EnvironmentKind = EnvironmentKind.REPLAY
    dataset: str | None = Field(None, max_length=100, examples=["energy-eval"])
    idvs: list[Annotated[int, Field(ge=1, le=28)]] = Field(
        default_factory=list, max_length=28, description="tep: disturbances IDV 1..28"
    )
    count: int = Field(40, ge=1, le=10_000)
    length: int = Field(192, ge=8, le=100_000)
    seed: int = Field(ge=0, le=2**31 - 1)
    budget: int = Field(5, ge=1, le=10_000)
    fault_share: float = Field(0.75, ge=0, le=1)
    magnitude_min: float = Field(2.0, ge=0, le=1e6)
    magnitude_max: float = Field(5.0, ge=0, le=1e6)


@router.get("/episodes")
def list_episode_sets(space: SpaceDep, _: OrgDep) -> list[dict[str, Any]]:
    """Sealed episode sets: counts and budgets only, never an episode's start, seed or fault."""
    return svc.list_episode_sets(space)


@router.post("/episodes", status_code=201)
def register_episodes(body: EpisodesBody, space: SpaceDep, me: OrgDep) -> dict[str, Any]:
    """Register sealed episodes (evaluators): replay of their own dataset, or TEP runs."""
    es = svc.register_episodes(
        space,
        actor=me.name,
        name=body.name,
        dataset=body.dataset,
        count=body.count,
        length=body.length,
        seed=body.seed,
        budget=body.budget,
        fault_share=body.fault_share,
        magnitudes=(body.magnitude_min, body.magnitude_max),
        environment=body.environment,
        idvs=tuple(body.idvs),
    )
    return forms.plain(es.summary())


@router.get("")
def list_agents(space: SpaceDep, _: OrgDep) -> list[dict[str, Any]]:
    """Agent versions, by name and version."""
    return [forms.plain(s.to_dict()) for s in svc.list_agents(space)]


@router.post("", status_code=201)
def create(body: CreateBody, space: SpaceDep, me: OrgDep) -> dict[str, Any]:
    """Create the next version of an agent from a template (``resonance agent create``).

    A model whose task is not the template's is refused with RES-230; ``tune_on`` tunes
    the thresholds on training episodes from that dataset (``train-pooled``, on the ledger).
    """
    spec = svc.create(
        space,
        actor=me.name,
        name=body.name,
        scenario=body.scenario,
        template=body.template,
        models=body.models,
        observes=body.observes,
        goal=body.goal,
        tools=parse_tools(body.tools) if body.tools is not None else None,
        normal=body.normal,
        planner=PlannerParams(
            on=body.on, off=body.off, persistence=body.persistence, alpha=body.alpha
        ),
        limits=AgentLimits(
            actions_per_hour=body.actions_per_hour, escalate_after=body.escalate_after
        ),
        tune=svc.TuneOptions(dataset=body.tune_on, max_false_per_100h=body.max_false_per_100h)
        if body.tune_on
        else None,
        step_minutes=body.step_minutes,
        planner_kind=body.planner_kind,
    )
    return forms.plain(spec.to_dict())


@router.get("/{ref}")
def show(ref: AgentRef, space: SpaceDep, _: OrgDep) -> dict[str, Any]:
    """One agent version: its spec, its runs and its sealed evaluations (task metrics)."""
    spec = svc.get_agent(space, ref)
    data = spec.to_dict()
    data["runs"] = [r.to_dict() for r in svc.list_runs(space, agent=spec.name)]
    data["evaluations"] = [e.to_dict() for e in svc.evaluations(space, agent=spec.name)]
    return forms.plain(data)


@router.get("/{ref}/card", response_class=PlainTextResponse)
def card(ref: AgentRef, space: SpaceDep, _: OrgDep) -> str:
    """The agent's card (Markdown)."""
    return svc.card(space, ref)


@router.post("/{ref}/runs", status_code=202)
def run(
    ref: AgentRef, body: RunBody, request: Request, response: Response, space: SpaceDep, me: OrgDep
) -> dict[str, Any]:
    """Queue a run of the agent (a job; 202 + ``Location``)."""
    params = {"agent": ref, **body.model_dump(mode="json")}
    return submit_job(request, response, space, me.name, JobKind.AGENT_RUN, params)


@router.post("/{ref}/stop")
def stop(ref: AgentRef, space: SpaceDep, me: OrgDep) -> dict[str, Any]:
    """The kill switch: the agent's running runs stop before their next step."""
    return {"stopped": svc.stop(space, actor=me.name, agent=ref)}


@router.post("/{ref}/evaluations", status_code=202)
def evaluate(
    ref: AgentRef,
    body: EvaluateBody,
    request: Request,
    response: Response,
    space: SpaceDep,
    me: OrgDep,
) -> dict[str, Any]:
    """Queue a sealed evaluation (a job; its result holds task metrics only)."""
    params = {"agent": ref, "episodes": body.episodes}
    return submit_job(request, response, space, me.name, JobKind.AGENT_EVAL, params)


@router.post("/{ref}/registry", status_code=201)
def list_in_registry(ref: AgentRef, space: SpaceDep, me: OrgDep) -> dict[str, Any]:
    """Enter the evaluated agent in the Specialized Model/Agent list with its scores."""
    entry = svc.list_in_registry(space, actor=me.name, agent=ref)
    return {"name": entry.name, "kind": entry.kind.value, "description": entry.description}
