"""Console sessions in SQL."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from resonance.domain.sessions import ConsoleSession
from resonance.storage.sql.base import SqlRepoBase
from resonance.storage.tables import metadata

# --- tables ---

console_sessions = sa.Table(
    "console_sessions",
    metadata,
    sa.Column("id_hash", sa.String(64), primary_key=True),
    sa.Column("organization", sa.String(64), sa.ForeignKey("organizations.name"), nullable=False),
    sa.Column("token_id", sa.String(32), nullable=False),
    sa.Column("csrf", sa.String(64), nullable=False),
    sa.Column("created_at", sa.String(40), nullable=False),
    sa.Column("expires_at", sa.String(40), nullable=False),
    sa.Index("ix_console_sessions_token", "token_id"),
)


def _session(row: Any) -> ConsoleSession:
    return ConsoleSession(
        row.id_hash, row.organization, row.token_id, row.csrf, row.created_at, row.expires_at
    )


class SqlSessionRepo(SqlRepoBase):
    """:class:`resonance.storage.store.SessionRepo` in SQL."""

    def add_console_session(self, session: ConsoleSession) -> None:
        self.conn.execute(console_sessions.insert().values(**session.__dict__))

    def get_console_session(self, id_hash: str) -> ConsoleSession | None:
        s = console_sessions
        row = self.conn.execute(sa.select(s).where(s.c.id_hash == id_hash)).first()
        return _session(row) if row else None

    def delete_console_session(self, id_hash: str) -> bool:
        s = console_sessions
        return bool(self.conn.execute(s.delete().where(s.c.id_hash == id_hash)).rowcount)

    def delete_expired_console_sessions(self, *, now: str) -> int:
        s = console_sessions
        return int(self.conn.execute(s.delete().where(s.c.expires_at <= now)).rowcount or 0)
