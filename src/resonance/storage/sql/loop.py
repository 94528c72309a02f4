"""Resonance loop runs in SQL."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from resonance.domain.loop_types import LoopRun
from resonance.storage.sql.base import SqlRepoBase
from resonance.storage.tables import metadata

# --- tables ---

loop_runs = sa.Table(
    "loop_runs",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("created_by", sa.String(64), sa.ForeignKey("organizations.name"), nullable=False),
    sa.Column("created_at", sa.String(40), nullable=False),
    sa.Column("finished_at", sa.String(40)),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("suite", sa.String(64), nullable=False),
    sa.Column("model", sa.String(64), nullable=False),
    sa.Column("dataset", sa.String(100), nullable=False),
    sa.Column("config", sa.JSON, nullable=False),
    sa.Column("iterations", sa.JSON, nullable=False),
    sa.Column("summary", sa.JSON, nullable=False),
)


def _run(row: Any) -> LoopRun:
    return LoopRun.from_dict(dict(row._mapping))


class SqlLoopRepo(SqlRepoBase):
    """:class:`resonance.storage.store.LoopRepo` in SQL."""

    def add_loop_run(self, run: LoopRun) -> None:
        self.conn.execute(loop_runs.insert().values(**run.to_dict()))

    def update_loop_run(self, run: LoopRun) -> None:
        values = {k: v for k, v in run.to_dict().items() if k != "name"}
        self.conn.execute(loop_runs.update().where(loop_runs.c.name == run.name).values(**values))

    def get_loop_run(self, name: str) -> LoopRun | None:
        row = self.conn.execute(sa.select(loop_runs).where(loop_runs.c.name == name)).first()
        return _run(row) if row else None

    def list_loop_runs(self, *, created_by: str | None = None) -> list[LoopRun]:
        stmt = sa.select(loop_runs).order_by(loop_runs.c.created_at, loop_runs.c.name)
        if created_by:
            stmt = stmt.where(loop_runs.c.created_by == created_by)
        return [_run(r) for r in self.conn.execute(stmt)]
