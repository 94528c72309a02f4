"""Interconnection records in SQL: peers, negotiations, auto-agree rules, nonces."""

from __future__ import annotations

from datetime import date
from typing import Any

import sqlalchemy as sa

from resonance.domain.dsp import (
    AutoAgreeRule,
    Negotiation,
    NegotiationState,
    Peer,
    Side,
    TransferState,
)
from resonance.domain.policies import parse_purposes
from resonance.storage.sql.base import SqlRepoBase
from resonance.storage.tables import metadata

# --- tables ---

dsp_peers = sa.Table(
    "dsp_peers",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("url", sa.String(500), nullable=False),
    sa.Column("public_pem", sa.Text, nullable=False),
    sa.Column("key_id", sa.String(64), nullable=False, unique=True),
    sa.Column("added_by", sa.String(64), nullable=False),
    sa.Column("added_at", sa.String(40), nullable=False),
)

dsp_negotiations = sa.Table(
    "dsp_negotiations",
    metadata,
    sa.Column("pid", sa.String(100), primary_key=True),
    sa.Column("side", sa.String(10), nullable=False),
    sa.Column("peer", sa.String(64), sa.ForeignKey("dsp_peers.name"), nullable=False),
    sa.Column("peer_pid", sa.String(100), index=True),
    sa.Column("dataset", sa.String(64), nullable=False),
    sa.Column("organization", sa.String(64), nullable=False),
    sa.Column("purposes", sa.JSON, nullable=False),
    sa.Column("until", sa.String(10), nullable=False),
    sa.Column("state", sa.String(20), nullable=False),
    sa.Column("offer_id", sa.String(200), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("agreement_id", sa.String(100), unique=True),
    sa.Column("agreement", sa.JSON, nullable=False),
    sa.Column("transfer_state", sa.String(20)),
    sa.Column("transfer_pid", sa.String(100), unique=True),
    sa.Column("data_address", sa.JSON, nullable=False),
    sa.Column("created_at", sa.String(40), nullable=False),
    sa.Column("updated_at", sa.String(40), nullable=False),
)

dsp_rules = sa.Table(
    "dsp_rules",
    metadata,
    sa.Column("dataset", sa.String(64), sa.ForeignKey("datasets.name"), primary_key=True),
    sa.Column("peer", sa.String(64), sa.ForeignKey("dsp_peers.name"), primary_key=True),
    sa.Column("purposes", sa.JSON, nullable=False),
    sa.Column("max_days", sa.Integer, nullable=False),
    sa.Column("set_by", sa.String(64), nullable=False),
    sa.Column("set_at", sa.String(40), nullable=False),
)

dsp_nonces = sa.Table(
    "dsp_nonces",
    metadata,
    sa.Column("key_id", sa.String(64), primary_key=True),
    sa.Column("nonce", sa.String(64), primary_key=True),
    sa.Column("seen_at", sa.String(40), nullable=False, index=True),
)


def _peer(row: Any) -> Peer:
    return Peer(row.name, row.url, row.public_pem, row.key_id, row.added_by, row.added_at)


def _negotiation(row: Any) -> Negotiation:
    return Negotiation(
        pid=row.pid,
        side=Side(row.side),
        peer=row.peer,
        dataset=row.dataset,
        organization=row.organization,
        purposes=parse_purposes(list(row.purposes)),
        until=date.fromisoformat(row.until),
        state=NegotiationState(row.state),
        offer_id=row.offer_id,
        created_at=row.created_at,
        updated_at=row.updated_at,
        peer_pid=row.peer_pid,
        reason=row.reason,
        agreement_id=row.agreement_id,
        agreement=dict(row.agreement),
        transfer_state=TransferState(row.transfer_state) if row.transfer_state else None,
        transfer_pid=row.transfer_pid,
        data_address=dict(row.data_address),
    )


def _values(n: Negotiation) -> dict[str, Any]:
    d = n.to_dict(secrets=True)
    d["purposes"] = sorted(p.value for p in n.purposes)
    return d


class SqlDspRepo(SqlRepoBase):
    """:class:`resonance.storage.store.DspRepo` in SQL."""

    def add_peer(self, peer: Peer) -> None:
        self.conn.execute(dsp_peers.insert().values(**peer.to_dict()))

    def get_peer(self, name: str) -> Peer | None:
        row = self.conn.execute(sa.select(dsp_peers).where(dsp_peers.c.name == name)).first()
        return _peer(row) if row else None

    def get_peer_by_key(self, key_id: str) -> Peer | None:
        row = self.conn.execute(sa.select(dsp_peers).where(dsp_peers.c.key_id == key_id)).first()
        return _peer(row) if row else None

    def list_peers(self) -> list[Peer]:
        rows = self.conn.execute(sa.select(dsp_peers).order_by(dsp_peers.c.name))
        return [_peer(r) for r in rows]

    def add_negotiation(self, negotiation: Negotiation) -> None:
        self.conn.execute(dsp_negotiations.insert().values(**_values(negotiation)))

    def update_negotiation(self, negotiation: Negotiation) -> None:
        values = {k: v for k, v in _values(negotiation).items() if k != "pid"}
        self.conn.execute(
            dsp_negotiations.update()
            .where(dsp_negotiations.c.pid == negotiation.pid)
            .values(**values)
        )

    def get_negotiation(self, pid: str, *, lock: bool = False) -> Negotiation | None:
        stmt = sa.select(dsp_negotiations).where(dsp_negotiations.c.pid == pid)
        row = self.conn.execute(self._for_update(stmt) if lock else stmt).first()
        return _negotiation(row) if row else None

    def find_negotiation(
        self, *, peer: str, peer_pid: str | None = None, transfer_pid: str | None = None
    ) -> Negotiation | None:
        stmt = sa.select(dsp_negotiations).where(dsp_negotiations.c.peer == peer)
        if peer_pid is not None:
            stmt = stmt.where(dsp_negotiations.c.peer_pid == peer_pid)
        if transfer_pid is not None:
            stmt = stmt.where(dsp_negotiations.c.transfer_pid == transfer_pid)
        row = self.conn.execute(self._for_update(stmt)).first()
        return _negotiation(row) if row else None

    def list_negotiations(
        self,
        *,
        peer: str | None = None,
        dataset: str | None = None,
        organization: str | None = None,
    ) -> list[Negotiation]:
        stmt = sa.select(dsp_negotiations).order_by(
            dsp_negotiations.c.created_at, dsp_negotiations.c.pid
        )
        if peer:
            stmt = stmt.where(dsp_negotiations.c.peer == peer)
        if dataset:
            stmt = stmt.where(dsp_negotiations.c.dataset == dataset)
        if organization:
            stmt = stmt.where(dsp_negotiations.c.organization == organization)
        return [_negotiation(r) for r in self.conn.execute(stmt)]

    def set_auto_agree_rule(self, rule: AutoAgreeRule) -> None:
        self.conn.execute(
            dsp_rules.delete().where(
                (dsp_rules.c.dataset == rule.dataset) & (dsp_rules.c.peer == rule.peer)
            )
        )
        self.conn.execute(dsp_rules.insert().values(**rule.to_dict()))

    def get_auto_agree_rule(self, dataset: str, peer: str) -> AutoAgreeRule | None:
        row = self.conn.execute(
            sa.select(dsp_rules).where(
                (dsp_rules.c.dataset == dataset) & (dsp_rules.c.peer == peer)
            )
        ).first()
        if row is None:
            return None
        return AutoAgreeRule(
            row.dataset,
            row.peer,
            parse_purposes(list(row.purposes)),
            row.max_days,
            row.set_by,
            row.set_at,
        )

    def add_nonce(self, key_id: str, nonce: str, *, seen_at: str) -> bool:
        exists = self.conn.execute(
            sa.select(dsp_nonces.c.nonce).where(
                (dsp_nonces.c.key_id == key_id) & (dsp_nonces.c.nonce == nonce)
            )
        ).first()
        if exists:
            return False
        self.conn.execute(dsp_nonces.insert().values(key_id=key_id, nonce=nonce, seen_at=seen_at))
        return True

    def prune_nonces(self, *, before: str) -> int:
        result = self.conn.execute(dsp_nonces.delete().where(dsp_nonces.c.seen_at < before))
        return int(result.rowcount or 0)
