"""Ed25519 signatures over canonical JSON (pure: no files, no keys at rest).

One room for every signature of the space: the signed ledger head and receipts, bundles for
provincial and national aggregation, and messages between spaces. Keys are managed by
:mod:`resonance.services.keys`; this module only signs and verifies bytes. ``cryptography``
does the cryptography; nothing here is hand-written crypto.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from resonance.domain.errors import InvalidInput

__all__ = [
    "Ed25519PrivateKey",
    "canonical_json",
    "key_id",
    "load_public_key",
    "public_key_pem",
    "sign_bytes",
    "sign_json",
    "verify_bytes",
    "verify_json",
]


def canonical_json(value: Any) -> bytes:
    """The one byte form of a JSON value that is signed: sorted keys, no spaces, UTF-8.

    Parameters
    ----------
    value:
        Any JSON-serializable value (dicts, lists, strings, numbers, booleans, None).
    """
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def public_key_pem(private_key: Ed25519PrivateKey) -> str:
    """The PEM text (SubjectPublicKeyInfo) of ``private_key``'s public half."""
    return (
        private_key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode("ascii")
    )


def load_public_key(pem: str) -> Ed25519PublicKey:
    """Parse an Ed25519 public key from PEM text; anything else is ``RES-100``."""
    try:
        key = serialization.load_pem_public_key(pem.encode("ascii"))
    except (ValueError, UnicodeEncodeError, TypeError) as exc:
        raise InvalidInput(f"not a PEM public key: {exc}") from None
    if not isinstance(key, Ed25519PublicKey):
        raise InvalidInput("the public key is not an Ed25519 key")
    return key


def key_id(pem: str) -> str:
    """A short stable id of a public key: the first 16 hex digits of SHA-256 of its raw bytes."""
    raw = load_public_key(pem).public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    return hashlib.sha256(raw).hexdigest()[:16]


def sign_bytes(private_key: Ed25519PrivateKey, data: bytes) -> str:
    """Sign ``data``; the signature is returned as URL-safe base64 text."""
    return base64.urlsafe_b64encode(private_key.sign(data)).decode("ascii")


def verify_bytes(pem: str, data: bytes, signature: str) -> bool:
    """Whether ``signature`` (URL-safe base64) is a valid signature of ``data`` by ``pem``'s key.

    A malformed key is ``RES-100``; a malformed or wrong signature returns False.
    """
    key = load_public_key(pem)
    try:
        raw = base64.urlsafe_b64decode(signature.encode("ascii"))
    except (ValueError, UnicodeEncodeError):
        return False
    try:
        key.verify(raw, data)
    except InvalidSignature:
        return False
    return True


def sign_json(private_key: Ed25519PrivateKey, value: Any) -> str:
    """Sign the canonical JSON form of ``value`` (see :func:`canonical_json`)."""
    return sign_bytes(private_key, canonical_json(value))


def verify_json(pem: str, value: Any, signature: str) -> bool:
    """Whether ``signature`` signs the canonical JSON form of ``value`` under ``pem``."""
    return verify_bytes(pem, canonical_json(value), signature)
