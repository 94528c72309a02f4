"""Console sessions in SQL."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from resonance.domain.sessions import ConsoleSession
from resonance.storage import tables_console as t
from resonance.storage.sql.base import SqlRepoBase


def _session(row: Any) -> ConsoleSession:
    return ConsoleSession(
        row.id_hash, row.organization, row.token_id, row.csrf, row.created_at, row.expires_at
    )


class SqlSessionRepo(SqlRepoBase):
    """:class:`resonance.storage.store.SessionRepo` in SQL."""

    def add_console_session(self, session: ConsoleSession) -> None:
        self.conn.execute(t.console_sessions.insert().values(**session.__dict__))

    def get_console_session(self, id_hash: str) -> ConsoleSession | None:
        s = t.console_sessions
        row = self.conn.execute(sa.select(s).where(s.c.id_hash == id_hash)).first()
        return _session(row) if row else None

    def delete_console_session(self, id_hash: str) -> bool:
        s = t.console_sessions
        return bool(self.conn.execute(s.delete().where(s.c.id_hash == id_hash)).rowcount)

    def delete_expired_console_sessions(self, *, now: str) -> int:
        s = t.console_sessions
        return int(self.conn.execute(s.delete().where(s.c.expires_at <= now)).rowcount or 0)
