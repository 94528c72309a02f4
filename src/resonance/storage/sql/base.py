"""Shared base of the SQL repository mixins."""

from __future__ import annotations

import sqlalchemy as sa


class SqlRepoBase:
    """Holds the connection of the current transaction."""

    conn: sa.Connection
    dialect: str

    def _for_update(self, stmt: sa.Select) -> sa.Select:
        """Add ``FOR UPDATE`` where the dialect supports row locks."""
        return stmt.with_for_update() if self.dialect == "postgresql" else stmt
