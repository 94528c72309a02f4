"""API tokens: issue (the plain token is in the response once), list, revoke."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field

from resonance.api.deps import OrgDep, SpaceDep
from resonance.api.errors import ERROR_RESPONSES
from resonance.api.params import SLUG_PATTERN
from resonance.domain import forms
from resonance.domain.orgs import Role
from resonance.services import tokens as svc

router = APIRouter(prefix="/tokens", tags=["tokens"], responses=ERROR_RESPONSES)


class NewToken(BaseModel):
    """Whom a token is for (default: the acting organization) and what it is for."""

    organization: str | None = Field(None, max_length=63, pattern=SLUG_PATTERN)
    label: str = Field("", max_length=200)


@router.get("")
def list_tokens(space: SpaceDep, me: OrgDep) -> list[dict[str, Any]]:
    """Tokens of the acting organization (every token for an operator); never secrets."""
    owner = None if me.has_role(Role.OPERATOR) else me.name
    return [forms.token(t) for t in svc.list_tokens(space, organization=owner)]


@router.post("", status_code=201)
def create_token(body: NewToken, space: SpaceDep, me: OrgDep) -> dict[str, Any]:
    """Issue a token (to the acting organization, or by an operator to any organization).

    The plain ``token`` is in this response only; the space keeps a salted hash.
    """
    plain, stored = svc.create_token(
        space, actor=me.name, organization=body.organization or me.name, label=body.label
    )
    return {**forms.token(stored), "token": plain}


@router.delete("/{token_id}")
def revoke_token(
    token_id: Annotated[str, Path(max_length=32)], space: SpaceDep, me: OrgDep
) -> dict[str, Any]:
    """Revoke a token (its organization, or an operator)."""
    return forms.token(svc.revoke_token(space, actor=me.name, token_id=token_id))
