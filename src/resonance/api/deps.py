"""Dependencies: the open space and the organization a bearer token names."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from resonance.domain.errors import Unauthorized
from resonance.domain.orgs import Organization
from resonance.services import tokens
from resonance.services.space import Space

bearer = HTTPBearer(
    auto_error=False,
    description="Per-organization API token, issued with `resonance token create ORG`.",
)


def get_space(request: Request) -> Space:
    """The space the app serves."""
    space: Space = request.app.state.space
    return space


def current_org(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Organization:
    """The organization acting: the owner of the bearer token (else ``Unauthorized``)."""
    if credentials is None:
        raise Unauthorized("an API token is required: Authorization: Bearer <token>")
    return tokens.authenticate(get_space(request), credentials.credentials)


SpaceDep = Annotated[Space, Depends(get_space)]
OrgDep = Annotated[Organization, Depends(current_org)]
