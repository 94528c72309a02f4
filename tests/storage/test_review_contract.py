"""Contract tests of the review repository (queue, delegations, version marks) on every backend."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest

from resonance.domain.datasets import (
    ColumnSchema,
    Dataset,
    DatasetKind,
    DatasetVersion,
    Schema,
    Transformation,
)
from resonance.domain.errors import Conflict
from resonance.domain.orgs import Organization, Role
from resonance.domain.review import (
    Delegation,
    Evidence,
    Proposal,
    ProposalKind,
    ReviewStatus,
    VersionMark,
    new_item,
)
from resonance.storage.sql import SqlStore

NOW = "2026-11-22T00:00:00+00:00"
LATER = "2026-11-23T00:00:00+00:00"


def _version(number: int) -> DatasetVersion:
    return DatasetVersion(
        dataset="plant-a",
        number=number,
        content_hash=f"{number:064d}",
        row_count=10,
        schema=Schema((ColumnSchema("x", "double"), ColumnSchema("y", "string"))),
        parents=(),
        transformation=Transformation("ingest"),
        created_at=NOW,
        created_by="holder",
    )


@pytest.fixture
def store(db_url: str) -> Iterator[SqlStore]:
    s = SqlStore(db_url)
    s.migrate()
    with s.transaction() as tx:
        for name in ("holder", "annotator", "lab"):
            tx.add_organization(
                Organization(name, frozenset({Role.DATA_HOLDER}), "Hebei"), created_at=NOW
            )
        tx.add_dataset(Dataset("plant-a", "holder", DatasetKind.COMMON, "steel"), created_at=NOW)
        for n in (1, 2, 3):
            tx.add_version(_version(n))
    yield s
    s.close()


def _proposal(row: int, kind: ProposalKind = ProposalKind.RELABEL, version: int = 1) -> Proposal:
    return Proposal(
        "holder", "plant-a", version, row, kind, "a", "b", Evidence("loop-1", 1, given_proba=0.1)
    )


def test_add_get_update_list(store: SqlStore) -> None:
    item = new_item(_proposal(3), now=NOW)
    other = new_item(_proposal(1, ProposalKind.DROP), now=NOW)
    with store.transaction() as tx:
        tx.add_review(item)
        tx.add_review(other)
    with store.transaction() as tx:
        assert tx.get_review(item.id) == item
        assert tx.get_review("rv-nope") is None
        assert [i.row for i in tx.list_reviews()] == [1, 3]
        assert tx.list_reviews(kind=ProposalKind.DROP) == [other]
        assert tx.list_reviews(owner="lab") == []
        assert tx.list_reviews(ids=[item.id]) == [item]
    decided = replace(
        item,
        status=ReviewStatus.REJECTED,
        reason="records say a",
        decided_by="holder",
        decided_at=LATER,
        updated_at=LATER,
        evidence=(*item.evidence, Evidence("loop-2", 3, residual=None)),
    )
    with store.transaction() as tx:
        tx.get_review(item.id, lock=True)
        tx.update_review(decided)
    with store.transaction() as tx:
        assert tx.get_review(item.id) == decided
        assert tx.list_reviews(status=ReviewStatus.OPEN) == [other]
        assert tx.count_reviews() == {("holder", "open"): 1, ("holder", "rejected"): 1}
        assert tx.count_reviews(owner="lab") == {}
        with pytest.raises(KeyError):
            tx.update_review(replace(item, id="rv-000000000000"))


def test_one_item_per_row_and_kind(store: SqlStore) -> None:
    item = new_item(_proposal(3), now=NOW)
    with store.transaction() as tx:
        tx.add_review(item)
    with pytest.raises(Conflict), store.transaction() as tx:
        tx.add_review(replace(item, id="rv-111111111111"))  # same dataset, version, row, kind
    with store.transaction() as tx:  # another kind of proposal for the row is another item
        tx.add_review(new_item(_proposal(3, ProposalKind.DROP), now=NOW))
        assert len(tx.list_reviews()) == 2


def test_item_needs_an_existing_version(store: SqlStore) -> None:
    with pytest.raises(Conflict), store.transaction() as tx:
        tx.add_review(new_item(_proposal(0, version=9), now=NOW))
    with store.transaction() as tx:
        assert tx.list_reviews() == []


def test_delegations(store: SqlStore) -> None:
    with store.transaction() as tx:
        tx.add_delegation(Delegation("holder", "annotator", NOW))
    with pytest.raises(Conflict), store.transaction() as tx:
        tx.add_delegation(Delegation("holder", "annotator", LATER))
    with store.transaction() as tx:
        assert tx.list_delegations(owner="holder") == [Delegation("holder", "annotator", NOW)]
        assert tx.list_delegations(delegate="annotator")[0].owner == "holder"
        assert tx.list_delegations(delegate="lab") == []
        assert tx.remove_delegation("holder", "annotator") is True
        assert tx.remove_delegation("holder", "annotator") is False
        assert tx.list_delegations() == []


def test_rejected_versions_are_never_latest(store: SqlStore) -> None:
    with store.transaction() as tx:
        assert tx.get_version("plant-a").number == 3  # type: ignore[union-attr]
        tx.mark_version(VersionMark("plant-a", 3, "rejected", NOW, "lab", "suite said no"))
        tx.mark_version(VersionMark("plant-a", 2, "accepted", NOW, "lab"))
    with store.transaction() as tx:
        assert tx.get_version("plant-a").number == 2  # type: ignore[union-attr]
        assert tx.get_version("plant-a", 3).number == 3  # type: ignore[union-attr]
        assert tx.latest_versions()["plant-a"].number == 2
        assert tx.last_version_number("plant-a") == 3
        assert tx.last_version_number("nothing") == 0
        marks = tx.version_marks("plant-a")
        assert sorted(marks) == [2, 3] and marks[3].reason == "suite said no"
        tx.mark_version(VersionMark("plant-a", 3, "accepted", LATER, "holder"))  # replaces
    with store.transaction() as tx:
        assert tx.get_version("plant-a").number == 3  # type: ignore[union-attr]
        assert tx.version_marks("plant-a")[3].marked_by == "holder"
    with pytest.raises(Conflict), store.transaction() as tx:
        tx.mark_version(VersionMark("plant-a", 7, "accepted", NOW, "lab"))
