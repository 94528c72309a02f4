"""The review queue under the integrity checks: verify --state covers its tables, and a
review apply cut short by a crash is finished by start-up recovery."""

from __future__ import annotations

from pathlib import Path

import pytest

from resonance.domain.errors import LimitExceeded
from resonance.domain.review import Decision, ProposalKind, ReviewStatus
from resonance.services import integrity, ledger
from resonance.services import review as rv
from resonance.services.space import CONFIG_NAME, Space
from resonance.storage.sql import review as tr
from tests.services.test_review import _p, _seed


def _decide(space: Space, *, apply_now: bool = True) -> dict[int, str]:
    rv.propose(
        space,
        actor="builder",
        proposals=[_p(0), _p(2), _p(3, kind=ProposalKind.DROP, proposed=None), _p(3), _p(5, "a")],
    )
    ids = {(i.row, i.kind): i.id for i in rv.list_items(space, actor="plant-a") if i.version == 1}
    rv.decide_items(
        space,
        actor="plant-a",
        lines=[
            rv.DecisionLine(ids[(0, ProposalKind.RELABEL)], Decision.ACCEPT),
            rv.DecisionLine(ids[(3, ProposalKind.DROP)], Decision.ACCEPT),
            rv.DecisionLine(ids[(2, ProposalKind.RELABEL)], Decision.REJECT, "records say a"),
        ],
        apply_now=apply_now,
    )
    return {row: ids[(row, kind)] for row, kind in ids}


def _areas(space: Space) -> list[tuple[str, str]]:
    return [(d.area, d.key) for d in integrity.verify_state(space).differences]


def test_verify_state_covers_review_items_marks_and_delegations(
    space: Space, tmp_path: Path
) -> None:
    _seed(space, tmp_path)
    ids = _decide(space)
    rv.delegate(space, actor="plant-a", to="plant-b")
    items = {i.id: i for i in rv.list_items(space, actor="plant-a")}
    relabel_on_dropped_row = next(
        i for i in items.values() if i.row == 3 and i.kind is ProposalKind.RELABEL
    )
    assert relabel_on_dropped_row.status is ReviewStatus.EXPIRED  # recorded by review.applied
    assert integrity.verify_state(space).ok, integrity.verify_state(space).to_dict()

    # an owner's rejection flipped to accepted in the table: the next apply would change its data
    with space.store.engine.begin() as conn:
        conn.execute(
            tr.review_items.update()
            .where(tr.review_items.c.id == ids[2])
            .values(status="accepted", decided_by="plant-b")
        )
        # the accepted mark of the reviewed version removed; a delegation nobody gave added
        conn.execute(tr.version_marks.delete().where(tr.version_marks.c.number == 2))
        conn.execute(
            tr.review_delegations.insert().values(
                owner="plant-a", delegate="builder", granted_at="2026-01-01T00:00:00+00:00"
            )
        )
    assert ledger.verify(space).ok  # the chain itself is intact
    assert sorted(_areas(space)) == [
        ("review_delegations", "plant-a/builder"),
        ("review_items", ids[2]),
        ("version_marks", "plant-a-data@2"),
    ]
    diff = {d.area: d for d in integrity.verify_state(space).differences}
    assert diff["review_items"].ledger == ("rejected", "plant-a", None)
    assert diff["review_items"].tables == ("accepted", "plant-b", None)


class Crash(Exception):
    """Stands for the process dying between two transactions."""


def test_recovery_finishes_an_apply_cut_short(
    space: Space, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _seed(space, tmp_path)

    def crash(*args: object, **kwargs: object) -> None:
        raise Crash

    with monkeypatch.context() as m:
        m.setattr(rv, "_complete_apply", crash)
        with pytest.raises(Crash):
            _decide(space)
    # the reviewed version is stored, but nothing says its items were applied
    with space.work() as w:
        v2 = w.tx.get_version("plant-a-data", 2)
    assert v2 is not None and v2.transformation.kind == "review"
    accepted = rv.ReviewFilter(status=ReviewStatus.ACCEPTED)
    pending = rv.list_items(space, actor="plant-a", where=accepted)
    assert len(pending) == 2 and all(i.applied_in is None for i in pending)
    assert 2 not in rv.version_marks(space, "plant-a-data")

    assert rv.recover_applies(space) == ["plant-a-data@2"]
    done = rv.list_items(space, actor="plant-a", where=accepted)
    assert {i.applied_in for i in done} == {"plant-a-data@2"}  # not expired as stale
    assert rv.version_marks(space, "plant-a-data")[2].status == "accepted"
    items = rv.list_items(space, actor="plant-a")
    moved = next(i for i in items if i.status is ReviewStatus.OPEN)
    assert (moved.version, moved.row) == (2, 4)  # row 5 of version 1; row 3 was dropped
    applied = ledger.entries(space, action="review.applied", limit=None)
    assert [e.object_id for e in applied] == ["plant-a-data@2"]
    assert applied[0].payload["open_moved"] == 1 and len(applied[0].payload["expired_items"]) == 1
    assert integrity.verify_state(space).ok, integrity.verify_state(space).to_dict()
    assert rv.recover_applies(space) == []
    assert ledger.verify(space).ok


def test_decision_reasons_and_values_are_capped(lite_space: Space, tmp_path: Path) -> None:
    config = lite_space.root / CONFIG_NAME
    config.write_text(config.read_text() + "\n[limits]\nmax_cell_chars = 20\n")
    space = Space.open(lite_space.root)
    _seed(space, tmp_path)
    rv.propose(space, actor="builder", proposals=[_p(0), _p(2)])
    first, second = (i.id for i in rv.list_items(space, actor="plant-a"))
    with pytest.raises(LimitExceeded, match="reason"):
        rv.decide_items(
            space,
            actor="plant-a",
            lines=[
                rv.DecisionLine(first, Decision.ACCEPT),
                rv.DecisionLine(second, Decision.REJECT, "x" * 21),
            ],
        )
    with pytest.raises(LimitExceeded, match="value"):
        rv.decide_items(
            space, actor="plant-a", lines=[rv.DecisionLine(first, Decision.ACCEPT, "", "y" * 21)]
        )
    assert {i.status for i in rv.list_items(space, actor="plant-a")} == {ReviewStatus.OPEN}
    rv.decide_items(space, actor="plant-a", lines=[rv.DecisionLine(second, Decision.REJECT, "ok")])
