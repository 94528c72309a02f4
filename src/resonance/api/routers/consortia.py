"""Industry consortia and their members' roles (compute, model, data, application)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from resonance.api.deps import OrgDep, SpaceDep
from resonance.api.errors import ERROR_RESPONSES
from resonance.api.params import ConsortiumName, slug
from resonance.domain import forms
from resonance.domain.errors import NotFound
from resonance.services import orgs as svc

router = APIRouter(prefix="/consortia", tags=["consortia"], responses=ERROR_RESPONSES)


class NewConsortium(BaseModel):
    """A consortium to form; members as ``ORG:ROLE[,ROLE]``."""

    name: str = slug("ships-c")
    industry: str = Field(max_length=64, examples=["ships"])
    members: list[str] = Field(default_factory=list, max_length=200, examples=[["plant-a:data"]])


class NewMember(BaseModel):
    """A member to seat, as ``ORG:ROLE[,ROLE]``."""

    member: str = Field(max_length=200, examples=["plant-b:data"])


@router.get("")
def list_consortia(space: SpaceDep, _: OrgDep, industry: str | None = None) -> list[dict[str, Any]]:
    """Every consortium, optionally of one industry."""
    return [forms.consortium(c) for c in svc.list_consortia(space, industry=industry)]


@router.get("/{name}")
def get_consortium(name: ConsortiumName, space: SpaceDep, _: OrgDep) -> dict[str, Any]:
    """One consortium."""
    for c in svc.list_consortia(space):
        if c.name == name:
            return forms.consortium(c)
    raise NotFound(f"unknown consortium {name!r}", consortium=name)


@router.post("", status_code=201)
def form_consortium(body: NewConsortium, space: SpaceDep, me: OrgDep) -> dict[str, Any]:
    """Form a consortium (operators only)."""
    c = svc.form_consortium(
        space, actor=me.name, name=body.name, industry=body.industry, members=body.members
    )
    return forms.consortium(c)


@router.post("/{name}/members", status_code=201)
def add_member(
    name: ConsortiumName, body: NewMember, space: SpaceDep, me: OrgDep
) -> dict[str, Any]:
    """Seat an organization in a consortium (operators only)."""
    c = svc.add_consortium_member(space, actor=me.name, consortium=name, member=body.member)
    return forms.consortium(c)
