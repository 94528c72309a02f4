"""Resonance loop runs in SQL."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from resonance.domain.loop_types import LoopRun
from resonance.storage import tables_loop as t
from resonance.storage.sql.base import SqlRepoBase


def _run(row: Any) -> LoopRun:
    return LoopRun.from_dict(dict(row._mapping))


class SqlLoopRepo(SqlRepoBase):
    """:class:`resonance.storage.store.LoopRepo` in SQL."""

    def add_loop_run(self, run: LoopRun) -> None:
        self.conn.execute(t.loop_runs.insert().values(**run.to_dict()))

    def update_loop_run(self, run: LoopRun) -> None:
        values = {k: v for k, v in run.to_dict().items() if k != "name"}
        self.conn.execute(
            t.loop_runs.update().where(t.loop_runs.c.name == run.name).values(**values)
        )

    def get_loop_run(self, name: str) -> LoopRun | None:
        row = self.conn.execute(sa.select(t.loop_runs).where(t.loop_runs.c.name == name)).first()
        return _run(row) if row else None

    def list_loop_runs(self, *, created_by: str | None = None) -> list[LoopRun]:
        stmt = sa.select(t.loop_runs).order_by(t.loop_runs.c.created_at, t.loop_runs.c.name)
        if created_by:
            stmt = stmt.where(t.loop_runs.c.created_by == created_by)
        return [_run(r) for r in self.conn.execute(stmt)]
