"""Issue 9: a scoped ledger — each organization sees the entries it is a party to."""

from __future__ import annotations

from pathlib import Path

import pyarrow.csv as pcsv

from resonance.domain.datasets import DatasetKind, make_label_spec
from resonance.domain.events import LabelIssuesFound
from resonance.domain.orgs import Role
from resonance.domain.policies import Purpose, parse_grant
from resonance.services import access, catalog, ledger, orgs, policies
from resonance.services.catalog import NewDataset
from resonance.services.space import Space
from tests.conftest import STEEL_CSV, STEEL_LABELS


def _seed(space: Space, tmp_path: Path) -> None:
    table = pcsv.read_csv(STEEL_CSV)
    for plant, part in (("plant-a", table.slice(0, 300)), ("plant-b", table.slice(300, 300))):
        path = tmp_path / f"{plant}.csv"
        pcsv.write_csv(part, path)
        label = make_label_spec(None, STEEL_LABELS)
        new = NewDataset(owner=plant, kind=DatasetKind.COMMON, industry="steel", label=label)
        catalog.ingest(space, actor=plant, path=path, dataset=f"steel-{plant}", new=new)
    policies.set_policy(
        space,
        actor="plant-a",
        dataset="steel-plant-a",
        grants=[parse_grant("builder:train-pooled")],
    )
    access.authorize(space, actor="builder", ref="steel-plant-a", purpose=Purpose.TRAIN_POOLED)
    rows = [{"dataset": "steel-plant-a@1", "row": 7, "given": "Bumps", "suggested": "Stains"}]
    with space.work() as w:  # a diagnosis's per-row findings, recorded for their owner
        w.emit(
            LabelIssuesFound(
                actor="builder",
                object_id="steel-plant-a@1",
                model="m@1",
                run="r-1",
                owner="plant-a",
                rows=rows,
            )
        )
    orgs.register_organization(
        space, actor="operator", name="auditor", roles=frozenset({Role.AUTHORITY}), region="Beijing"
    )


def test_each_organization_sees_the_entries_it_is_party_to(space: Space, tmp_path: Path) -> None:
    _seed(space, tmp_path)
    everything = ledger.entries(space, limit=None)

    def seen(org: str) -> list[tuple[str, str, str]]:
        return [
            (e.actor, e.action, e.object_id)
            for e in ledger.visible_entries(space, viewer=org, limit=None)
        ]

    b = seen("plant-b")
    assert ("plant-b", "dataset.registered", "steel-plant-b") in b
    assert not any("steel-plant-a" in obj for _, _, obj in b)  # another member's business
    a = seen("plant-a")
    assert ("builder", "data.accessed", "steel-plant-a@1") in a  # uses of its data
    assert not any("steel-plant-b" in obj for _, _, obj in a)
    builder = seen("builder")
    assert ("plant-a", "policy.set", "steel-plant-a") in builder  # it is the grantee
    assert ("builder", "data.accessed", "steel-plant-a@1") in builder
    assert not any("steel-plant-b" in obj for _, _, obj in builder)
    for privileged in ("operator", "auditor"):
        assert ledger.visible_entries(space, viewer=privileged, limit=None) == everything


def test_row_lists_are_redacted_for_everyone_but_their_owner(space: Space, tmp_path: Path) -> None:
    _seed(space, tmp_path)

    def issues(org: str) -> object:
        found = ledger.visible_entries(
            space, viewer=org, action="diagnosis.label_issues", limit=None
        )
        return found[-1].payload["rows"]

    assert issues("plant-a") == [
        {"dataset": "steel-plant-a@1", "row": 7, "given": "Bumps", "suggested": "Stains"}
    ]
    assert issues("builder") == {"redacted": 1}  # it ran the diagnosis: counts only
    assert issues("operator") != {"redacted": 1}
    assert ledger.visible_entries(space, viewer="plant-b", action="diagnosis.label_issues") == []
    assert ledger.verify(space).ok  # the whole chain, for everyone


def test_limit_counts_visible_entries(space: Space, tmp_path: Path) -> None:
    _seed(space, tmp_path)
    newest = ledger.visible_entries(space, viewer="plant-b", limit=1, newest=True)
    every = ledger.visible_entries(space, viewer="plant-b", limit=None)
    assert newest == every[-1:] and len(every) > 1
