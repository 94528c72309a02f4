"""The review queue's pure rules: ids, sightings, decisions, applying fixes to rows."""

from __future__ import annotations

from dataclasses import replace

import pyarrow as pa
import pytest

from resonance.domain.datasets import LabelKind, LabelSpec
from resonance.domain.errors import InvalidInput, ReviewClosed
from resonance.domain.review import (
    Decision,
    Evidence,
    FixSummary,
    Proposal,
    ProposalKind,
    ReviewStatus,
    apply_fixes,
    decide,
    item_id,
    matches,
    new_item,
    sighted_again,
    strength,
)

NOW, LATER = "2026-12-01T00:00:00+00:00", "2026-12-02T00:00:00+00:00"


def _p(
    row: int,
    kind: ProposalKind = ProposalKind.FIX_TARGET,
    proposed: object = 2.5,
    loop: str = "l",
    iteration: int = 1,
    p: float | None = None,
) -> Proposal:
    return Proposal("o", "d", 1, row, kind, 1.0, proposed,  # type: ignore[arg-type]
                    Evidence(loop, iteration, residual=1.5, given_proba=p))  # fmt: skip


def test_ids_are_stable_per_version_row_and_kind() -> None:
    a = item_id("d", 1, 3, ProposalKind.RELABEL)
    assert a == item_id("d", 1, 3, ProposalKind.RELABEL) and a.startswith("rv-")
    assert (
        len({a, item_id("d", 2, 3, ProposalKind.RELABEL), item_id("d", 1, 3, ProposalKind.DROP)})
        == 3
    )


def test_sightings_add_evidence_only_to_open_items() -> None:
    item = new_item(_p(0), now=NOW)
    assert sighted_again(item, _p(0), now=LATER) is None  # same run and iteration
    again = sighted_again(item, _p(0, iteration=2), now=LATER)
    assert again is not None and len(again.evidence) == 2 and again.updated_at == LATER
    closed = decide(item, Decision.REJECT, by="o", now=LATER, reason="fine")
    assert sighted_again(closed, _p(0, loop="other"), now=LATER) is None
    assert strength(again) > strength(item)


def test_decisions() -> None:
    item = new_item(_p(0), now=NOW)
    with pytest.raises(InvalidInput):
        decide(item, Decision.REJECT, by="o", now=LATER)
    done = decide(item, Decision.ACCEPT, by="o", now=LATER, value=3.0)
    assert done.status is ReviewStatus.ACCEPTED and done.proposed == 3.0
    with pytest.raises(ReviewClosed):
        decide(done, Decision.ACCEPT, by="o", now=LATER)
    drop = new_item(_p(1, ProposalKind.DROP, None), now=NOW)
    with pytest.raises(InvalidInput):
        decide(drop, Decision.ACCEPT, by="o", now=LATER, value=1.0)


def test_apply_fixes_to_a_regression_target_and_drops() -> None:
    table = pa.table({"x": [1, 2, 3, 4], "t": [1.0, 1.0, 9.0, 1.0]})
    label = LabelSpec(LabelKind.COLUMN, ("t",))
    fix = decide(new_item(_p(2, proposed=1.5), now=NOW), Decision.ACCEPT, by="o", now=LATER)
    drop = decide(new_item(_p(0, ProposalKind.DROP, None), now=NOW), Decision.ACCEPT, by="o",
                  now=LATER)  # fmt: skip
    out, summary = apply_fixes(table, label=label, items=[fix, drop])
    assert out.to_pydict() == {"x": [2, 3, 4], "t": [1.0, 1.5, 1.0]}
    assert out.schema == table.schema
    assert summary == FixSummary({"fix-target": 1, "drop": 1})
    assert summary.describe(["l"]) == "drop of 1 row, fix-target of 1 row after review of loop l"
    with pytest.raises(InvalidInput):  # not accepted
        apply_fixes(table, label=label, items=[new_item(_p(1), now=NOW)])
    assert apply_fixes(table, label=None, items=[drop])[0].num_rows == 3  # no label: drops only
    with pytest.raises(InvalidInput):
        apply_fixes(table, label=None, items=[fix])
    with pytest.raises(InvalidInput):  # outside the table
        apply_fixes(table, label=label, items=[replace(fix, row=9)])


def test_apply_relabels_to_a_one_hot_label() -> None:
    table = pa.table({"x": [1, 2], "a": [1, 0], "b": [0, 1]})
    label = LabelSpec(LabelKind.ONE_HOT, ("a", "b"))
    relabel = Proposal("o", "d", 1, 0, ProposalKind.RELABEL, "a", "b", Evidence("l", 1))
    item = decide(new_item(relabel, now=NOW), Decision.ACCEPT, by="o", now=LATER)
    out, _ = apply_fixes(table, label=label, items=[item])
    assert out.to_pydict() == {"x": [1, 2], "a": [0, 0], "b": [1, 1]}
    with pytest.raises(InvalidInput):
        apply_fixes(table, label=label, items=[replace(item, proposed="zzz")])


def test_filters() -> None:
    item = new_item(_p(0, p=0.1), now=NOW)
    assert matches(item, owner="o", dataset="d", version=1, loop="l", max_given_proba=0.2)
    assert not matches(item, max_given_proba=0.05)
    assert not matches(item, loop="other")
    assert not matches(item, status=ReviewStatus.ACCEPTED)
    assert not matches(new_item(_p(0), now=NOW), max_given_proba=0.5)  # no probability
