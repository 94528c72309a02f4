"""Contract tests of the loop-run repository on every backend."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from resonance.domain.errors import Conflict
from resonance.domain.loop_types import FINISHED, RUNNING, Iteration, LoopRun, LoopSummary
from resonance.domain.orgs import Organization, Role
from resonance.storage.sql import SqlStore

NOW = "2026-11-22T00:00:00+00:00"


@pytest.fixture
def store(db_url: str) -> Iterator[SqlStore]:
    s = SqlStore(db_url)
    s.migrate()
    with s.transaction() as tx:
        tx.add_organization(
            Organization("lab", frozenset({Role.MODEL_BUILDER}), "Hebei"), created_at=NOW
        )
    yield s
    s.close()


def _run(name: str = "loop-1") -> LoopRun:
    return LoopRun(name, "lab", NOW, RUNNING, "suite", name, f"{name}-data", config={"budget": 10})


def test_add_update_get_list(store: SqlStore) -> None:
    with store.transaction() as tx:
        tx.add_loop_run(_run())
        tx.add_loop_run(_run("loop-2"))
    run = _run()
    run.iterations.append(
        Iteration(0, True, 0.7, None, 10, {"a": 3}, 0, [], [], dataset="d@1", model="m@1")
    )
    run.status, run.finished_at = FINISHED, NOW
    run.summary = LoopSummary.of(
        run.iterations, primary_metric="macro_f1", reserve_rows=5, proposal_owners=["a"]
    )
    with store.transaction() as tx:
        tx.update_loop_run(run)
    with store.transaction() as tx:
        got = tx.get_loop_run("loop-1")
        assert got == run
        assert tx.get_loop_run("nope") is None
        assert [r.name for r in tx.list_loop_runs()] == ["loop-1", "loop-2"]
        assert tx.list_loop_runs(created_by="other") == []


def test_duplicate_name_is_rejected(store: SqlStore) -> None:
    with store.transaction() as tx:
        tx.add_loop_run(_run())
    with pytest.raises(Conflict), store.transaction() as tx:
        tx.add_loop_run(_run())
