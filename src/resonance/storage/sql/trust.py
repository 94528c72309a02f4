"""Charged suite queries in SQL."""

from __future__ import annotations

import sqlalchemy as sa

from resonance.domain.ladder import SuiteQuery
from resonance.storage.sql.base import SqlRepoBase
from resonance.storage.tables import metadata

# --- tables ---

suite_queries = sa.Table(
    "suite_queries",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("suite", sa.String(64), nullable=False),
    sa.Column("organization", sa.String(64), nullable=False),
    sa.Column("use", sa.String(32), nullable=False),
    sa.Column("model", sa.String(100), nullable=False),
    sa.Column("created_at", sa.String(40), nullable=False),
    sa.Column("released", sa.Float),
    sa.Index("ix_suite_queries_suite_org", "suite", "organization"),
)


class SqlTrustRepo(SqlRepoBase):
    """:class:`resonance.storage.store.TrustRepo` in SQL."""

    def add_suite_query(self, query: SuiteQuery) -> None:
        self.conn.execute(
            suite_queries.insert().values(
                suite=query.suite,
                organization=query.organization,
                use=query.use,
                model=query.model,
                created_at=query.created_at,
                released=query.released,
            )
        )

    def suite_queries(self, *, suite: str, organization: str) -> list[SuiteQuery]:
        q = suite_queries
        rows = self.conn.execute(
            sa.select(q)
            .where(q.c.suite == suite, q.c.organization == organization)
            .order_by(q.c.id)
        )
        return [
            SuiteQuery(r.suite, r.organization, r.use, r.model, r.created_at, r.released)
            for r in rows
        ]
