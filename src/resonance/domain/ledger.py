"""The tamper-evident ledger: a hash chain over every state change.

Each entry's hash covers its sequence number, the previous entry's hash and
its own content. Editing an entry breaks its hash; removing or reordering
entries breaks the sequence or the back-links; truncating the tail is caught
against the head (count and last hash) kept beside the chain.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

GENESIS_HASH = "0" * 64


def canonical_json(data: Any) -> str:
    """Serialize ``data`` deterministically (sorted keys, no spaces)."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


@dataclass(frozen=True)
class LedgerEntry:
    """One ledger line."""

    seq: int
    timestamp: str
    actor: str
    action: str
    object_type: str
    object_id: str
    payload: dict[str, Any]
    prev_hash: str
    hash: str = ""

    def body(self) -> dict[str, Any]:
        """The fields the hash covers."""
        return {
            "seq": self.seq,
            "timestamp": self.timestamp,
            "actor": self.actor,
            "action": self.action,
            "object_type": self.object_type,
            "object_id": self.object_id,
            "payload": self.payload,
            "prev_hash": self.prev_hash,
        }

    def compute_hash(self) -> str:
        """SHA-256 of the canonical body."""
        return hashlib.sha256(canonical_json(self.body()).encode()).hexdigest()


def chain_entry(
    *,
    prev: LedgerEntry | None,
    timestamp: str,
    actor: str,
    action: str,
    object_type: str,
    object_id: str,
    payload: dict[str, Any],
) -> LedgerEntry:
    """Build the entry that follows ``prev`` (or the first entry), hash included."""
    # Round-trip the payload so the hash covers exactly what storage returns.
    payload = json.loads(canonical_json(payload))
    entry = LedgerEntry(
        seq=(prev.seq + 1) if prev else 1,
        timestamp=timestamp,
        actor=actor,
        action=action,
        object_type=object_type,
        object_id=object_id,
        payload=payload,
        prev_hash=prev.hash if prev else GENESIS_HASH,
    )
    return LedgerEntry(**{**entry.body(), "hash": entry.compute_hash()})


@dataclass
class VerifyReport:
    """Result of :func:`verify_chain`."""

    entries: int = 0
    problems: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when no problem was found."""
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        """Serialize to plain JSON types."""
        return {"ok": self.ok, "entries": self.entries, "problems": self.problems}


def verify_chain(
    entries: Iterable[LedgerEntry], *, head_seq: int | None = None, head_hash: str | None = None
) -> VerifyReport:
    """Check a chain read in storage order.

    Parameters
    ----------
    entries:
        Entries in the order storage returns them (by sequence number).
    head_seq, head_hash:
        The head recorded beside the chain; when given, a truncated tail is detected.

    Returns
    -------
    VerifyReport
        ``ok`` is True only when every hash, back-link and sequence number checks out.
    """
    report = VerifyReport()
    prev: LedgerEntry | None = None
    for entry in entries:
        report.entries += 1
        expected_seq = prev.seq + 1 if prev else 1
        if entry.seq != expected_seq:
            report.problems.append(
                {
                    "seq": entry.seq,
                    "problem": "sequence gap or reorder",
                    "expected_seq": expected_seq,
                }
            )
        expected_prev = prev.hash if prev else GENESIS_HASH
        if entry.prev_hash != expected_prev:
            report.problems.append({"seq": entry.seq, "problem": "broken back-link"})
        if entry.compute_hash() != entry.hash:
            report.problems.append({"seq": entry.seq, "problem": "content edited (hash mismatch)"})
        prev = entry
    last_seq = prev.seq if prev else 0
    last_hash = prev.hash if prev else GENESIS_HASH
    if head_seq is not None and head_seq != last_seq:
        report.problems.append(
            {"seq": last_seq, "problem": "entries missing at the tail", "head_seq": head_seq}
        )
    elif head_hash is not None and head_hash != last_hash:
        report.problems.append({"seq": last_seq, "problem": "head hash does not match last entry"})
    return report
