"""The ledger service: concurrent appends from a fresh chain, and tamper detection in SQL."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from resonance.domain.errors import LedgerTampered
from resonance.domain.events import ApiTokenRevoked
from resonance.services import ledger
from resonance.services.space import Space
from resonance.storage import tables as t


def emit(space: Space, actor: str, i: int) -> None:
    with space.work() as w:
        w.emit(ApiTokenRevoked(actor=actor, object_id=f"obj-{i}", organization=f"org-{i}"))


@pytest.fixture
def fresh(tmp_path: Path, db_url: str) -> Iterator[Space]:
    """A space with an empty ledger (no organization yet)."""
    sp = Space.init(tmp_path / "fresh", db_url=db_url)
    yield sp
    sp.close()


def test_concurrent_appends_to_an_empty_ledger_serialize(fresh: Space) -> None:
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def work(actor: str) -> None:
        try:
            barrier.wait()
            for i in range(20):
                emit(fresh, actor, i)
        except BaseException as exc:  # reported below
            errors.append(exc)

    workers = [threading.Thread(target=work, args=(a,)) for a in ("a", "b")]
    for w in workers:
        w.start()
    for w in workers:
        w.join()

    assert errors == []
    entries = ledger.entries(fresh, limit=None)
    assert [e.seq for e in entries] == list(range(1, 41))
    assert sorted(e.actor for e in entries) == ["a"] * 20 + ["b"] * 20
    assert ledger.verify(fresh).ok


@pytest.fixture
def chain(fresh: Space) -> Space:
    for i in range(5):
        emit(fresh, "op", i)
    assert ledger.verify(fresh).ok
    return fresh


def run_sql(space: Space, stmt: sa.Executable) -> None:
    with space.store.engine.begin() as conn:
        conn.execute(stmt)


def problems(space: Space) -> list[str]:
    report = ledger.verify(space)
    assert not report.ok
    return [p["problem"] for p in report.problems]


def test_edited_entry_is_detected(chain: Space) -> None:
    run_sql(chain, t.ledger.update().where(t.ledger.c.seq == 3).values(actor="mallory"))
    assert problems(chain) == ["content edited (hash mismatch)"]


def test_edited_payload_is_detected(chain: Space) -> None:
    run_sql(chain, t.ledger.update().where(t.ledger.c.seq == 2).values(payload='{"i":99}'))
    assert "content edited (hash mismatch)" in problems(chain)


def test_removed_entry_is_detected(chain: Space) -> None:
    run_sql(chain, t.ledger.delete().where(t.ledger.c.seq == 3))
    assert problems(chain) == ["sequence gap or reorder", "broken back-link"]


def test_removed_tail_is_detected_and_blocks_appends(chain: Space) -> None:
    run_sql(chain, t.ledger.delete().where(t.ledger.c.seq == 5))
    assert problems(chain) == ["entries missing at the tail"]
    with pytest.raises(LedgerTampered):
        emit(chain, "op", 9)


def test_reordered_entries_are_detected(chain: Space) -> None:
    run_sql(chain, t.ledger.update().where(t.ledger.c.seq == 2).values(seq=-2))
    run_sql(chain, t.ledger.update().where(t.ledger.c.seq == 3).values(seq=2))
    run_sql(chain, t.ledger.update().where(t.ledger.c.seq == -2).values(seq=3))
    found = problems(chain)
    assert "broken back-link" in found and "content edited (hash mismatch)" in found
