"""Console sessions: a random session id in the browser, only its hash on the server (pure).

The browser's cookie carries ``session id`` (32 random bytes, URL-safe base64);
the store keeps ``sha256(session id)``, the organization, the API token the
session was opened with (so revoking the token ends the session), a CSRF token
for the session's forms and an expiry. The raw API token never reaches a cookie.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

SESSION_HOURS = 12


@dataclass(frozen=True)
class ConsoleSession:
    """A stored console session (never the session id itself)."""

    id_hash: str
    organization: str
    token_id: str
    csrf: str
    created_at: str
    expires_at: str

    def expired(self, now: str) -> bool:
        """True once ``now`` (ISO 8601, same zone as ``expires_at``) is past the expiry."""
        return datetime.fromisoformat(now) >= datetime.fromisoformat(self.expires_at)


def hash_session_id(session_id: str) -> str:
    """Hex SHA-256 of a session id (256 random bits: a fast unsalted hash is enough)."""
    return hashlib.sha256(session_id.encode()).hexdigest()


def new_session(
    organization: str, *, token_id: str, now: str, hours: int = SESSION_HOURS
) -> tuple[str, ConsoleSession]:
    """Mint a session; returns the plain session id (for the cookie) and what to store."""
    plain = secrets.token_urlsafe(32)
    expires = (datetime.fromisoformat(now) + timedelta(hours=hours)).isoformat(
        timespec="microseconds"
    )
    stored = ConsoleSession(
        hash_session_id(plain), organization, token_id, secrets.token_urlsafe(32), now, expires
    )
    return plain, stored


def same_secret(expected: str, given: str | None) -> bool:
    """Constant-time equality of two secrets (False when ``given`` is missing)."""
    return bool(given) and hmac.compare_digest(expected.encode(), (given or "").encode())
