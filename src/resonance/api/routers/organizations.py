"""Organizations of the space."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from resonance.api.deps import OrgDep, SpaceDep
from resonance.api.errors import ERROR_RESPONSES
from resonance.api.params import OrgName, slug
from resonance.domain import forms
from resonance.domain.errors import NotFound
from resonance.domain.orgs import parse_roles
from resonance.services import orgs as svc

router = APIRouter(prefix="/organizations", tags=["organizations"], responses=ERROR_RESPONSES)


class NewOrganization(BaseModel):
    """An organization to register (operators only)."""

    name: str = slug("plant-d")
    roles: list[str] = Field(min_length=1, max_length=6, examples=[["data_holder"]])
    region: str = Field(max_length=100, examples=["Hebei"])
    display_name: str = Field("", max_length=200)
    central_enterprise: bool = False


@router.get("")
def list_organizations(space: SpaceDep, _: OrgDep) -> list[dict[str, Any]]:
    """Every organization."""
    return [forms.org(o) for o in svc.list_organizations(space)]


@router.get("/me")
def whoami(me: OrgDep) -> dict[str, Any]:
    """The organization the token belongs to."""
    return forms.org(me)


@router.get("/{name}")
def get_organization(name: OrgName, space: SpaceDep, _: OrgDep) -> dict[str, Any]:
    """One organization."""
    for o in svc.list_organizations(space):
        if o.name == name:
            return forms.org(o)
    raise NotFound(f"unknown organization {name!r}", organization=name)


@router.post("", status_code=201)
def register_organization(body: NewOrganization, space: SpaceDep, me: OrgDep) -> dict[str, Any]:
    """Register an organization (the acting organization must be an operator)."""
    org = svc.register_organization(
        space,
        actor=me.name,
        name=body.name,
        roles=parse_roles(body.roles),
        region=body.region,
        display_name=body.display_name,
        central_enterprise=body.central_enterprise,
    )
    return forms.org(org)
