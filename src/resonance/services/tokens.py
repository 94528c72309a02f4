"""Use cases: per-organization API tokens (issued once, stored hashed)."""

from __future__ import annotations

from resonance.domain.errors import InvalidInput, NotFound, RoleRequired
from resonance.domain.events import ApiTokenCreated, ApiTokenRevoked
from resonance.domain.orgs import Organization, Role
from resonance.domain.registry import check_text
from resonance.domain.tokens import ApiToken, new_token
from resonance.services.auth import authenticate as authenticate
from resonance.services.orgs import require_org
from resonance.services.space import Space


def create_token(
    space: Space, *, actor: str, organization: str, label: str = ""
) -> tuple[str, ApiToken]:
    """Issue a token to ``organization`` (by an operator or the organization itself).

    Returns the plain token, which is never stored or shown again, and the stored record.
    """
    label = check_text(label, what="label", max_len=200, required=False)
    with space.work() as w:
        org = require_org(w.tx, actor)
        require_org(w.tx, organization)
        if actor != organization and not org.has_role(Role.OPERATOR):
            raise RoleRequired(
                "only an operator issues tokens to other organizations", organization=actor
            )
        plain, stored = new_token(organization, label=label, created_at=w.now)
        w.tx.add_api_token(stored)
        w.emit(
            ApiTokenCreated(
                actor=actor,
                object_id=stored.id,
                organization=organization,
                label=label,
            )
        )
    return plain, stored


def revoke_token(space: Space, *, actor: str, token_id: str) -> ApiToken:
    """Revoke a token (an operator, or the organization the token belongs to)."""
    with space.work() as w:
        org = require_org(w.tx, actor)
        token = w.tx.get_api_token(token_id)
        if token is None:
            raise NotFound(f"unknown token {token_id!r}", token=token_id)
        if token.organization != actor and not org.has_role(Role.OPERATOR):
            raise RoleRequired("only an operator revokes another organization's token")
        if not w.tx.revoke_api_token(token_id, revoked_at=w.now):
            raise InvalidInput(f"token {token_id} is already revoked", token=token_id)
        w.emit(ApiTokenRevoked(actor=actor, object_id=token_id, organization=token.organization))
        revoked = w.tx.get_api_token(token_id)
    assert revoked is not None
    return revoked


def list_tokens(space: Space, *, organization: str | None = None) -> list[ApiToken]:
    """Tokens (ids, owners, labels, dates; never secrets)."""
    with space.work() as w:
        return w.tx.list_api_tokens(organization=organization)


def visible_tokens(space: Space, viewer: Organization) -> list[ApiToken]:
    """The tokens ``viewer`` may list: every token for an operator, else its own."""
    owner = None if viewer.has_role(Role.OPERATOR) else viewer.name
    return list_tokens(space, organization=owner)
