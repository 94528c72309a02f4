"""Use cases: console sessions opened with an API token, kept server-side.

The browser gets only a random session id; the store keeps its hash, the
organization, the token it was opened with and a CSRF token for its forms.
A session ends at logout, at expiry, or when its token is revoked.
"""

from __future__ import annotations

from dataclasses import dataclass

from resonance.domain.errors import Unauthorized
from resonance.domain.orgs import Organization
from resonance.domain.sessions import ConsoleSession, hash_session_id, new_session
from resonance.domain.tokens import split_token
from resonance.services import tokens
from resonance.services.space import Space


@dataclass(frozen=True)
class OpenSession:
    """A live session: who it is and the CSRF token its forms must carry."""

    organization: Organization
    csrf: str


def open_session(space: Space, token: str) -> tuple[str, OpenSession]:
    """Check ``token`` and open a session; returns the plain session id and the session.

    Raises
    ------
    Unauthorized
        The token is malformed, unknown or revoked.
    """
    org = tokens.authenticate(space, token)
    token_id, _ = split_token(token)
    with space.work() as w:
        w.tx.delete_expired_console_sessions(now=w.now)
        plain, stored = new_session(org.name, token_id=token_id, now=w.now)
        w.tx.add_console_session(stored)
    return plain, OpenSession(org, stored.csrf)


def resume_session(space: Space, session_id: str) -> OpenSession:
    """The session a cookie names, or ``Unauthorized`` (unknown, expired, token revoked).

    An expired session, or one whose token was revoked, is deleted.
    """
    if not session_id or len(session_id) > 200:
        raise Unauthorized("no console session")
    problem = ""
    with space.work() as w:
        stored: ConsoleSession | None = w.tx.get_console_session(hash_session_id(session_id))
        if stored is None:
            raise Unauthorized("no console session")
        token = w.tx.get_api_token(stored.token_id)
        org = w.tx.get_organization(stored.organization)
        if stored.expired(w.now):
            problem = "the console session expired; log in again"
        elif token is None or not token.active or org is None:
            problem = "the session's API token was revoked; log in again"
        if problem:
            w.tx.delete_console_session(stored.id_hash)
    if problem or org is None:
        raise Unauthorized(problem or "no console session")
    return OpenSession(org, stored.csrf)


def close_session(space: Space, session_id: str) -> bool:
    """End a session (logout); True when one was open."""
    with space.work() as w:
        return w.tx.delete_console_session(hash_session_id(session_id))
