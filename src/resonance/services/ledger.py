"""Use cases: browse and verify the ledger."""

from __future__ import annotations

from resonance.domain.errors import InvalidInput
from resonance.domain.ledger import LedgerEntry, VerifyReport, verify_chain
from resonance.services.space import Space


def entries(
    space: Space,
    *,
    after_seq: int = 0,
    limit: int | None = 100,
    object_id: str | None = None,
    action: str | None = None,
    actor: str | None = None,
    newest: bool = False,
) -> list[LedgerEntry]:
    """Ledger entries in chain order, filtered.

    With ``newest`` the ``limit`` keeps the most recent matching entries
    (still returned oldest first); otherwise the first ones after ``after_seq``.
    """
    if (limit is not None and limit < 0) or after_seq < 0:
        raise InvalidInput("limit and after_seq must not be negative", limit=limit)
    with space.work() as w:
        return w.tx.ledger_entries(
            after_seq=after_seq,
            limit=limit,
            object_id=object_id,
            action=action,
            actor=actor,
            newest=newest,
        )


def verify(space: Space) -> VerifyReport:
    """Walk the whole chain and compare it with the recorded head."""
    with space.work() as w:
        head = w.tx.recorded_head()
        return verify_chain(
            w.tx.iter_ledger(),
            head_seq=head[0] if head else 0,
            head_hash=head[1] if head else None,
        )
