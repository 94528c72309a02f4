"""Reads of artifacts checked against their content address; mismatches go on the ledger."""

from __future__ import annotations

from pathlib import Path

from resonance.domain.errors import ArtifactCorrupted
from resonance.domain.events import ArtifactCorruptionDetected
from resonance.services.space import Space

SYSTEM_ACTOR = "resonance"


def record_corruption(space: Space, exc: ArtifactCorrupted, *, used_for: str) -> None:
    """Put a detected mismatch on the ledger (its own transaction, committed)."""
    with space.work() as w:
        w.emit(
            ArtifactCorruptionDetected(
                actor=SYSTEM_ACTOR,
                object_id=str(exc.details.get("digest", "")),
                suffix=str(exc.details.get("suffix", "")),
                actual=str(exc.details.get("actual", "")),
                used_for=used_for,
            )
        )


def verified_path(space: Space, digest: str, suffix: str, *, used_for: str) -> Path:
    """Path of an artifact re-hashed on first use in this process (and when its file changed).

    Raises
    ------
    ArtifactCorrupted
        ``RES-114``, after recording ``artifact.corrupted`` on the ledger.
    """
    try:
        return space.artifacts.verified(digest, suffix)
    except ArtifactCorrupted as exc:
        record_corruption(space, exc, used_for=used_for)
        raise


def verified_bytes(space: Space, digest: str, suffix: str, *, used_for: str) -> bytes:
    """An artifact's bytes, hashed on every call (used before a model is loaded).

    Raises
    ------
    ArtifactCorrupted
        ``RES-114``, after recording ``artifact.corrupted`` on the ledger.
    """
    try:
        return space.artifacts.read_verified(digest, suffix)
    except ArtifactCorrupted as exc:
        record_corruption(space, exc, used_for=used_for)
        raise
