"""Registries of the action: scenario files, models/agents, cases, spaces, key cities/industries.

The dataset registries and consortia are read-only here: they are derived from
the catalog and the consortia.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from resonance.api.deps import OrgDep, SpaceDep
from resonance.api.errors import ERROR_RESPONSES
from resonance.api.params import RegistryName, ScenarioName, slug, text
from resonance.domain.errors import NotFound
from resonance.domain.registry import (
    HolderKind,
    KeyCity,
    KeyIndustry,
    LandingCase,
    ModelEntry,
    ModelKind,
    ResonanceSpaceEntry,
    ScenarioFile,
    ScenarioStatus,
    entry_to_dict,
)
from resonance.services import bulk as bulk_svc
from resonance.services import registry as svc
from resonance.services import registry_state as state_svc

router = APIRouter(prefix="/registries", tags=["registries"], responses=ERROR_RESPONSES)


class NewScenario(BaseModel):
    """A high-value scenario file (the acting organization owns it)."""

    name: str = slug("ladle-life")
    industry: str = Field(max_length=64, examples=["steel"])
    title: str = text("Ladle lining life")
    problem: str = text("Unplanned relining stops the converter")
    value: str = text("Fewer stoppages")
    data_needed: str = text("Thermal images of ladles")
    model_needed: str = text("A remaining-life regressor")


class StatusBody(BaseModel):
    """A scenario's new status."""

    status: ScenarioStatus


class StepBody(BaseModel):
    """An entry's next status (a step of its state machine)."""

    status: str = Field(min_length=1, max_length=20, examples=["confirmed"])


class Correction(BaseModel):
    """Fields to correct (see docs/reports.md for each registry's correctable fields)."""

    changes: dict[str, str] = Field(min_length=1, max_length=10)


class NewModel(BaseModel):
    """A model or agent to register; ``ref`` names its trained version if any."""

    name: str = slug("steel-fm-2")
    industry: str = Field(max_length=64, examples=["steel"])
    kind: ModelKind = ModelKind.INDUSTRY
    owner: str | None = Field(None, max_length=63, examples=["builder"])
    scenario: str | None = Field(None, max_length=63, examples=["surface-defects"])
    ref: str | None = Field(None, max_length=200)
    description: str = text("", required=False)


class NewCase(BaseModel):
    """A landing case of a registered model."""

    name: str = slug("case-9")
    model: str = slug("surface-agent")
    adopter: str = slug("mill-9")
    region: str = Field(max_length=100, examples=["Jiangsu"])
    description: str = text("Deployed on line 2")
    evidence: str = Field(min_length=1, max_length=300, examples=["deployment:mes-line-2"])


class NewSpace(BaseModel):
    """A resonance space of a province or a central enterprise."""

    name: str = slug("js-space-3")
    holder_kind: HolderKind
    holder: str = Field(max_length=100, examples=["Jiangsu"])
    industries: list[str] = Field(min_length=1, max_length=20, examples=[["steel"]])
    operator: str | None = Field(None, max_length=63, examples=["operator"])
    description: str = text("", required=False)


class NewKeyCity(BaseModel):
    """A key city of a province."""

    province: str = Field(max_length=100, examples=["Jiangsu"])
    city: str = Field(max_length=100, examples=["Nanjing"])
    pilot_zone: bool = False


class NewKeyIndustry(BaseModel):
    """A key industry of a province or a central enterprise."""

    holder_kind: HolderKind
    holder: str = Field(max_length=100, examples=["Jiangsu"])
    industry: str = Field(max_length=64, examples=["ships"])


@router.get("")
def all_registries(space: SpaceDep, _: OrgDep) -> dict[str, list[dict[str, Any]]]:
    """Every registry at once."""
    return svc.registries(space)


@router.get("/{registry}")
def one_registry(registry: RegistryName, space: SpaceDep, _: OrgDep) -> list[dict[str, Any]]:
    """One registry by name (see ``GET /registries`` for the names)."""
    if registry not in svc.REGISTRY_NAMES:
        raise NotFound(
            f"unknown registry {registry!r}; one of {', '.join(svc.REGISTRY_NAMES)}",
            registry=registry,
        )
    return svc.registries(space)[registry]


@router.post("/scenarios", status_code=201)
def file_scenario(body: NewScenario, space: SpaceDep, me: OrgDep) -> dict[str, Any]:
    """File a scenario (application developers and operators)."""
    s = svc.file_scenario(
        space, actor=me.name, scenario=ScenarioFile(**body.model_dump(), owner=me.name)
    )
    return {**s.__dict__, "status": s.status.value}


@router.put("/scenarios/{name}/status")
def set_status(name: ScenarioName, body: StatusBody, space: SpaceDep, me: OrgDep) -> dict[str, Any]:
    """Move a scenario to another status (its owner, operators, authorities)."""
    s = svc.set_scenario_status(space, actor=me.name, name=name, status=body.status)
    return {**s.__dict__, "status": s.status.value}


@router.post("/models", status_code=201)
def register_model(body: NewModel, space: SpaceDep, me: OrgDep) -> dict[str, Any]:
    """Register a model or agent (model builders; operators for others)."""
    entry = ModelEntry(**{**body.model_dump(), "owner": body.owner or me.name})
    m = svc.register_model(space, actor=me.name, entry=entry)
    return {**m.__dict__, "kind": m.kind.value}


@router.post("/cases", status_code=201)
def record_case(body: NewCase, space: SpaceDep, me: OrgDep) -> dict[str, Any]:
    """Record a landing case (application developers, operators, the model's owner)."""
    c = svc.record_case(
        space, actor=me.name, case=LandingCase(**body.model_dump(), recorded_by=me.name)
    )
    return entry_to_dict(c)


class BulkBody(BaseModel):
    """A CSV (header row) or YAML file's text to import, all or nothing."""

    format: str = Field(pattern="^(csv|yaml)$", examples=["csv"])
    content: str = Field(min_length=1, max_length=20 * 1024 * 1024)


@router.post("/{registry}/import", status_code=201)
def bulk_import(
    registry: RegistryName, body: BulkBody, space: SpaceDep, me: OrgDep
) -> list[dict[str, Any]]:
    """Import scenarios, cases or models from a file; RES-196 with the per-row report
    when a row fails (nothing is stored)."""
    rows = bulk_svc.bulk_import(
        space, actor=me.name, registry=registry, content=body.content.encode(), fmt=body.format
    )
    return [r.to_dict() for r in rows]


@router.put("/{registry}/{name}/status")
def step(
    registry: RegistryName, name: ScenarioName, body: StepBody, space: SpaceDep, me: OrgDep
) -> dict[str, Any]:
    """Move a scenario, case, model or space one step of its state machine."""
    entry = state_svc.move(space, actor=me.name, registry=registry, name=name, status=body.status)
    return entry_to_dict(entry)


@router.patch("/{registry}/{name}")
def correct(
    registry: RegistryName, name: ScenarioName, body: Correction, space: SpaceDep, me: OrgDep
) -> dict[str, Any]:
    """Correct fields of an entry; the old values stay in its history."""
    entry = state_svc.correct(
        space, actor=me.name, registry=registry, name=name, changes=body.changes
    )
    return entry_to_dict(entry)


@router.get("/{registry}/{name}/history")
def history(
    registry: RegistryName, name: ScenarioName, space: SpaceDep, _: OrgDep
) -> list[dict[str, Any]]:
    """Every status step and correction of an entry."""
    return [h.to_dict() for h in state_svc.history(space, registry=registry, name=name)]


@router.post("/spaces", status_code=201)
def register_space(body: NewSpace, space: SpaceDep, me: OrgDep) -> dict[str, Any]:
    """Register a resonance space (operators and authorities)."""
    entry = ResonanceSpaceEntry(
        name=body.name,
        holder_kind=body.holder_kind,
        holder=body.holder,
        industries=tuple(body.industries),
        operator=body.operator or me.name,
        description=body.description,
    )
    s = svc.register_space(space, actor=me.name, entry=entry)
    return entry_to_dict(s)


@router.post("/key-cities", status_code=201)
def add_key_city(body: NewKeyCity, space: SpaceDep, me: OrgDep) -> dict[str, Any]:
    """Name a key city within the action's limit (operators and authorities)."""
    c = svc.add_key_city(space, actor=me.name, city=KeyCity(**body.model_dump()))
    return dict(c.__dict__)


@router.post("/key-industries", status_code=201)
def designate_key_industry(body: NewKeyIndustry, space: SpaceDep, me: OrgDep) -> dict[str, Any]:
    """Designate a key industry (operators and authorities)."""
    k = svc.designate_key_industry(space, actor=me.name, key=KeyIndustry(**body.model_dump()))
    return {**k.__dict__, "holder_kind": k.holder_kind.value}
