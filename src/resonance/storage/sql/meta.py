"""Space settings in SQL: small key/value pairs (the signed ledger head, the default actor,
job limits, the space's DSP address) -- the ``space_meta`` table and its repository."""

from __future__ import annotations

import sqlalchemy as sa

from resonance.storage.sql.base import SqlRepoBase
from resonance.storage.tables import metadata

# --- tables ---

space_meta = sa.Table(
    "space_meta",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)


class SqlMetaRepo(SqlRepoBase):
    """:class:`resonance.storage.store.MetaRepo` in SQL."""

    def get_meta(self, key: str) -> str | None:
        row = self.conn.execute(sa.select(space_meta).where(space_meta.c.key == key)).first()
        return row.value if row else None

    def set_meta(self, key: str, value: str) -> None:
        updated = self.conn.execute(
            space_meta.update().where(space_meta.c.key == key).values(value=value)
        )
        if updated.rowcount == 0:
            self.conn.execute(space_meta.insert().values(key=key, value=value))
