"""API tokens: issued once, stored only as a salted hash (pure).

A token reads ``res_<id>_<secret>``: ``id`` finds the stored row, ``secret``
(32 random bytes, URL-safe base64) is checked against
``sha256(salt || secret)`` with a per-token 16-byte salt, compared in
constant time. The secret has 256 bits of entropy, so a fast hash is enough;
the salt keeps equal hashes from revealing equal tokens.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from resonance.domain.errors import Unauthorized

PREFIX = "res"


@dataclass(frozen=True)
class ApiToken:
    """A stored token: never the secret, only its salted hash."""

    id: str
    organization: str
    salt: str
    hash: str
    label: str
    created_at: str
    revoked_at: str | None = None

    @property
    def active(self) -> bool:
        """True until revoked."""
        return self.revoked_at is None


def hash_secret(secret: str, salt: str) -> str:
    """Hex SHA-256 of the salt bytes followed by the secret."""
    return hashlib.sha256(bytes.fromhex(salt) + secret.encode()).hexdigest()


def new_token(organization: str, *, label: str, created_at: str) -> tuple[str, ApiToken]:
    """Mint a token; returns the plain text (shown once) and what to store."""
    token_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    salt = secrets.token_hex(16)
    stored = ApiToken(token_id, organization, salt, hash_secret(secret, salt), label, created_at)
    return f"{PREFIX}_{token_id}_{secret}", stored


def split_token(text: str) -> tuple[str, str]:
    """Split ``res_<id>_<secret>`` into id and secret, or raise ``Unauthorized``."""
    prefix, _, rest = text.strip().partition("_")
    token_id, _, secret = rest.partition("_")
    if prefix != PREFIX or len(token_id) != 16 or not secret:
        raise Unauthorized("malformed API token; expected res_<id>_<secret>")
    return token_id, secret


def matches(stored: ApiToken, secret: str) -> bool:
    """Constant-time check of ``secret`` against the stored hash."""
    return hmac.compare_digest(stored.hash, hash_secret(secret, stored.salt))
