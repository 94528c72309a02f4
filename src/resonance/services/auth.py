"""Who a bearer token speaks for: a read-only check, light enough for every CLI command.

Kept apart from :mod:`resonance.services.tokens` (issuing and revoking, which emit
events): establishing the caller must not load the event catalog.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from resonance.domain.errors import Unauthorized
from resonance.domain.tokens import matches, split_token

if TYPE_CHECKING:
    from resonance.domain.orgs import Organization
    from resonance.services.space import Space


def authenticate(space: Space, text: str) -> Organization:
    """The organization a bearer token belongs to, or ``Unauthorized`` (RES-121).

    Reads only (the CLI's quick reader answers it on an embedded space).
    """
    token_id, secret = split_token(text)
    with space.read() as reader:
        token = reader.get_api_token(token_id)
        if token is None or not matches(token, secret):
            raise Unauthorized("invalid API token")
        if not token.active:
            raise Unauthorized("this API token was revoked")
        org = reader.get_organization(token.organization)
    if org is None:
        raise Unauthorized("the token's organization no longer exists")
    return org
