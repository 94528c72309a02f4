"""Signed ledger heads and receipts: what the chain held, in the space key's words.

A :class:`SignedStatement` says "entry ``seq`` of this space's chain had hash ``hash``",
signed with the space's Ed25519 key. The space keeps one for its head (beside the chain
and in a file outside the database); every organization receives one for each of its
actions (a *receipt*) and keeps it on its side. Whoever rewrites the database without
the key cannot produce a matching statement, and a receipt checked with
:func:`check_statement` catches a truncated, emptied or rehashed chain.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from resonance.domain import signing
from resonance.domain.ledger import LedgerEntry

KIND_HEAD = "ledger-head"
KIND_RECEIPT = "receipt"


@dataclass(frozen=True)
class SignedStatement:
    """A signed ``(seq, hash)`` of the chain, with who acted and what (for receipts)."""

    kind: str
    space: str
    key_id: str
    seq: int
    hash: str
    timestamp: str
    organization: str = ""
    action: str = ""
    object_id: str = ""
    signature: str = ""

    def body(self) -> dict[str, Any]:
        """The fields the signature covers."""
        return {
            "kind": self.kind,
            "space": self.space,
            "key_id": self.key_id,
            "seq": self.seq,
            "hash": self.hash,
            "timestamp": self.timestamp,
            "organization": self.organization,
            "action": self.action,
            "object_id": self.object_id,
        }

    def to_dict(self) -> dict[str, Any]:
        """Serialize to plain JSON types (body plus signature)."""
        return {**self.body(), "signature": self.signature}

    @staticmethod
    def from_dict(data: dict[str, Any]) -> SignedStatement:
        """Inverse of :meth:`to_dict`; raises ``KeyError``/``ValueError`` on a malformed one."""
        return SignedStatement(
            kind=str(data["kind"]),
            space=str(data["space"]),
            key_id=str(data["key_id"]),
            seq=int(data["seq"]),
            hash=str(data["hash"]),
            timestamp=str(data["timestamp"]),
            organization=str(data.get("organization", "")),
            action=str(data.get("action", "")),
            object_id=str(data.get("object_id", "")),
            signature=str(data["signature"]),
        )


def statement_for(entry: LedgerEntry, *, kind: str, space: str, key_id: str) -> SignedStatement:
    """The unsigned statement about ``entry`` (sign its :meth:`~SignedStatement.body`)."""
    receipt = kind == KIND_RECEIPT
    return SignedStatement(
        kind=kind,
        space=space,
        key_id=key_id,
        seq=entry.seq,
        hash=entry.hash,
        timestamp=entry.timestamp,
        organization=entry.actor if receipt else "",
        action=entry.action if receipt else "",
        object_id=entry.object_id if receipt else "",
    )


def check_statement(
    statement: SignedStatement,
    *,
    public_pem: str,
    entry: LedgerEntry | None,
    head_seq: int,
) -> list[dict[str, Any]]:
    """Problems found when comparing a signed statement with the chain as stored now.

    Parameters
    ----------
    statement:
        A receipt or signed head.
    public_pem:
        The space's public key (its id must be the statement's ``key_id``).
    entry:
        The chain's entry at ``statement.seq`` now (``None`` when it is missing).
    head_seq:
        The chain's current head sequence number.

    Returns
    -------
    list of dict
        Empty when the signature verifies and the chain still holds the entry the
        statement saw; otherwise one ``{"seq", "problem"}`` per finding.
    """
    problems: list[dict[str, Any]] = []
    seq = statement.seq
    if signing.key_id(public_pem) != statement.key_id:
        problems.append(
            {"seq": seq, "problem": "signed by another key", "key_id": statement.key_id}
        )
    elif not signing.verify_json(public_pem, statement.body(), statement.signature):
        problems.append({"seq": seq, "problem": "signature does not verify"})
    if head_seq < seq:
        problems.append(
            {
                "seq": seq,
                "problem": "the chain is shorter than the statement saw",
                "head_seq": head_seq,
            }
        )
    if entry is None:
        problems.append({"seq": seq, "problem": "the entry the statement saw is missing"})
    elif entry.hash != statement.hash:
        problems.append({"seq": seq, "problem": "the entry the statement saw was rewritten"})
    elif statement.kind == KIND_RECEIPT and (
        entry.actor != statement.organization or entry.action != statement.action
    ):
        problems.append({"seq": seq, "problem": "the entry names another actor or action"})
    return problems
