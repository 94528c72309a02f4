"""The ledger in SQL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert

from resonance.domain.errors import LedgerTampered
from resonance.domain.ledger import GENESIS_HASH, LedgerEntry, canonical_json
from resonance.storage import tables as t
from resonance.storage.sql.base import SqlRepoBase


def _entry(row: Any) -> LedgerEntry:
    return LedgerEntry(
        seq=int(row.seq),
        timestamp=row.timestamp,
        actor=row.actor,
        action=row.action,
        object_type=row.object_type,
        object_id=row.object_id,
        payload=json.loads(row.payload),
        prev_hash=row.prev_hash,
        hash=row.hash,
    )


class SqlLedgerRepo(SqlRepoBase):
    """:class:`LedgerRepo` in SQL.

    Appends serialize on the single ``ledger_head`` row (``FOR UPDATE`` on
    PostgreSQL; SQLite transactions start ``IMMEDIATE``), so concurrent writers
    extend the chain one after another.
    """

    def ledger_head(self, *, lock: bool = False) -> LedgerEntry | None:
        stmt = sa.select(t.ledger_head).where(t.ledger_head.c.id == 1)
        if lock:
            stmt = self._for_update(stmt)
        head = self.conn.execute(stmt).first()
        if head is None and lock and self.dialect == "postgresql":
            # No row to lock yet (a fresh ledger): create it, waiting for any
            # concurrent creator, so the first appends serialize like the rest.
            self.conn.execute(
                pg_insert(t.ledger_head)
                .values(id=1, seq=0, hash=GENESIS_HASH)
                .on_conflict_do_nothing(index_elements=["id"])
            )
            head = self.conn.execute(stmt).first()
        if head is None or head.seq == 0:
            return None
        row = self.conn.execute(sa.select(t.ledger).where(t.ledger.c.seq == head.seq)).first()
        if row is None:
            raise LedgerTampered(
                f"the ledger head names entry {head.seq}, which is missing; "
                "run 'resonance ledger verify'",
                seq=int(head.seq),
            )
        return _entry(row)

    def append_ledger(self, entry: LedgerEntry) -> None:
        self.conn.execute(
            t.ledger.insert().values(
                seq=entry.seq,
                timestamp=entry.timestamp,
                actor=entry.actor,
                action=entry.action,
                object_type=entry.object_type,
                object_id=entry.object_id,
                payload=canonical_json(entry.payload),
                prev_hash=entry.prev_hash,
                hash=entry.hash,
            )
        )
        updated = self.conn.execute(
            t.ledger_head.update()
            .where(t.ledger_head.c.id == 1)
            .values(seq=entry.seq, hash=entry.hash)
        )
        if updated.rowcount == 0:
            self.conn.execute(t.ledger_head.insert().values(id=1, seq=entry.seq, hash=entry.hash))

    def ledger_entries(
        self,
        *,
        after_seq: int = 0,
        limit: int | None = None,
        object_id: str | None = None,
        action: str | None = None,
        actor: str | None = None,
        newest: bool = False,
    ) -> list[LedgerEntry]:
        order = t.ledger.c.seq.desc() if newest else t.ledger.c.seq
        stmt = sa.select(t.ledger).where(t.ledger.c.seq > after_seq).order_by(order)
        if object_id:
            stmt = stmt.where(t.ledger.c.object_id == object_id)
        if action:
            stmt = stmt.where(t.ledger.c.action == action)
        if actor:
            stmt = stmt.where(t.ledger.c.actor == actor)
        if limit is not None:
            stmt = stmt.limit(limit)
        found = [_entry(r) for r in self.conn.execute(stmt)]
        return found[::-1] if newest else found

    def iter_ledger(self, *, batch: int = 1000) -> Iterator[LedgerEntry]:
        # Storage order is by primary key; a reordered chain shows up as broken links.
        after = 0
        while True:
            rows = self.ledger_entries(after_seq=after, limit=batch)
            yield from rows
            if len(rows) < batch:
                return
            after = rows[-1].seq

    def recorded_head(self) -> tuple[int, str] | None:
        row = self.conn.execute(sa.select(t.ledger_head).where(t.ledger_head.c.id == 1)).first()
        return (int(row.seq), row.hash) if row else None
