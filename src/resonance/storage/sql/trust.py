"""Charged suite queries in SQL."""

from __future__ import annotations

import sqlalchemy as sa

from resonance.domain.ladder import SuiteQuery
from resonance.storage import tables_trust as t
from resonance.storage.sql.base import SqlRepoBase


class SqlTrustRepo(SqlRepoBase):
    """:class:`resonance.storage.store.TrustRepo` in SQL."""

    def add_suite_query(self, query: SuiteQuery) -> None:
        self.conn.execute(
            t.suite_queries.insert().values(
                suite=query.suite,
                organization=query.organization,
                use=query.use,
                model=query.model,
                created_at=query.created_at,
                released=query.released,
            )
        )

    def suite_queries(self, *, suite: str, organization: str) -> list[SuiteQuery]:
        q = t.suite_queries
        rows = self.conn.execute(
            sa.select(q)
            .where(q.c.suite == suite, q.c.organization == organization)
            .order_by(q.c.id)
        )
        return [
            SuiteQuery(r.suite, r.organization, r.use, r.model, r.created_at, r.released)
            for r in rows
        ]
