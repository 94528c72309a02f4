"""API tokens in SQL: the ``api_tokens`` table (migration 0003_registry) and its repository.

Only a token's salted hash is stored; the secret is shown once, when it is made.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from resonance.domain.tokens import ApiToken
from resonance.storage.records import token_of
from resonance.storage.sql.base import SqlRepoBase
from resonance.storage.tables import metadata

api_tokens = sa.Table(
    "api_tokens",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("organization", sa.String(64), sa.ForeignKey("organizations.name"), nullable=False),
    sa.Column("salt", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
    sa.Column("label", sa.String(200), nullable=False),
    sa.Column("created_at", sa.String(40), nullable=False),
    sa.Column("revoked_at", sa.String(40)),
)


def _token(row: Any) -> ApiToken:
    return token_of(row._mapping)


class SqlTokenRepo(SqlRepoBase):
    """:class:`resonance.storage.store.TokenRepo` in SQL."""

    def add_api_token(self, token: ApiToken) -> None:
        self.conn.execute(api_tokens.insert().values(**token.__dict__))

    def get_api_token(self, token_id: str) -> ApiToken | None:
        t = api_tokens
        row = self.conn.execute(sa.select(t).where(t.c.id == token_id)).first()
        return _token(row) if row else None

    def list_api_tokens(self, *, organization: str | None = None) -> list[ApiToken]:
        t = api_tokens
        stmt = sa.select(t).order_by(t.c.created_at, t.c.id)
        if organization:
            stmt = stmt.where(t.c.organization == organization)
        return [_token(x) for x in self.conn.execute(stmt)]

    def revoke_api_token(self, token_id: str, *, revoked_at: str) -> bool:
        t = api_tokens
        res = self.conn.execute(
            t.update()
            .where(t.c.id == token_id, t.c.revoked_at.is_(None))
            .values(revoked_at=revoked_at)
        )
        return res.rowcount > 0
