"""Which ledger entries an organization is shown, and what of their payloads.

Every entry stays on one hash chain (``ledger verify`` walks all of it for
everyone: it exposes hashes only). ``ledger show`` gives an organization the
entries it is a party to: it acted, it owns the object (or a source of a derived
object), it is the grantee of a policy, or the payload names it (``owner``,
``on_behalf_of``). The operator and the authority are shown every entry.
Payload fields that list another member's rows are replaced by their count.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import Any

from resonance.domain.ledger import LedgerEntry

ROW_FIELDS = ("rows", "top", "proposals")
"""Payload fields that, as lists, name rows (label issues, relabel proposals)."""


def parties(entry: LedgerEntry, owners_of: Callable[[LedgerEntry], set[str]]) -> set[str]:
    """Organizations party to ``entry``: actor, object owners, grantees, named members."""
    out = {entry.actor, *owners_of(entry)}
    payload = entry.payload
    for key in ("owner", "on_behalf_of", "organization"):
        if isinstance(payload.get(key), str):
            out.add(payload[key])
    for grant in payload.get("grants", []) if isinstance(payload.get("grants"), list) else []:
        if isinstance(grant, dict) and isinstance(grant.get("organization"), str):
            out.add(grant["organization"])
    return out


def redact(entry: LedgerEntry, viewer: str) -> LedgerEntry:
    """``entry`` with row lists of another member's rows replaced by their count.

    The hash is the original entry's (the chain is verified on the full entries).
    """
    owner = entry.payload.get("owner")
    if owner == viewer:
        return entry
    rows = {k: v for k, v in entry.payload.items() if k in ROW_FIELDS and isinstance(v, list)}
    if not rows:
        return entry
    payload: dict[str, Any] = {**entry.payload}
    for key, value in rows.items():
        payload[key] = {"redacted": len(value)}
    return replace(entry, payload=payload)


def scope(
    entries: Iterable[LedgerEntry],
    viewer: str,
    *,
    privileged: bool,
    owners_of: Callable[[LedgerEntry], set[str]],
) -> list[LedgerEntry]:
    """The entries ``viewer`` is shown, redacted for it (all of them, as is, when privileged)."""
    if privileged:
        return list(entries)
    return [redact(e, viewer) for e in entries if viewer in parties(e, owners_of)]
