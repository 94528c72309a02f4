"""The space's signing key pair, kept in the space's folder.

The space operator holds one Ed25519 key pair per space (``<space>/keys/space-ed25519.pem``,
readable by the folder's owner only). It signs the ledger head and receipts, bundles exported
for aggregation, and messages to other spaces. Signing and verifying themselves live in
:mod:`resonance.domain.signing`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from resonance.domain import signing
from resonance.domain.errors import StoreUnavailable

KEY_DIR = "keys"
KEY_FILE = "space-ed25519.pem"


@dataclass(frozen=True)
class SpaceKeys:
    """The space's key pair: sign with it, publish :attr:`public_pem` and :attr:`key_id`."""

    private_key: Ed25519PrivateKey

    @property
    def public_pem(self) -> str:
        """The public key as PEM text (safe to publish)."""
        return signing.public_key_pem(self.private_key)

    @property
    def key_id(self) -> str:
        """Short stable id of the public key."""
        return signing.key_id(self.public_pem)

    def sign(self, data: bytes) -> str:
        """Sign ``data`` (URL-safe base64 signature)."""
        return signing.sign_bytes(self.private_key, data)

    def sign_json(self, value: Any) -> str:
        """Sign the canonical JSON form of ``value``."""
        return signing.sign_json(self.private_key, value)


def key_path(root: Path) -> Path:
    """Where the space in folder ``root`` keeps its private key."""
    return root / KEY_DIR / KEY_FILE


def load_or_create(root: Path) -> SpaceKeys:
    """The key pair of the space in ``root``, created (atomically, mode 0600) on first use.

    Raises
    ------
    StoreUnavailable
        ``RES-160`` when the key file exists but cannot be read as an Ed25519 private key.
    """
    path = key_path(root)
    if path.exists():
        try:
            key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        except (ValueError, TypeError) as exc:
            raise StoreUnavailable(f"the space key {path} is unreadable: {exc}") from None
        if not isinstance(key, Ed25519PrivateKey):
            raise StoreUnavailable(f"the space key {path} is not an Ed25519 key")
        return SpaceKeys(key)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, pem)
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.link(tmp, path)  # fails if another process created it first: keep theirs
    except FileExistsError:
        tmp.unlink(missing_ok=True)
        return load_or_create(root)
    tmp.unlink(missing_ok=True)
    return SpaceKeys(key)
