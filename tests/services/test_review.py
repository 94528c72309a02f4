"""The owners' review queue: propose (deduplicated), visibility, decisions, new versions."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pcsv
import pytest

from resonance.domain.datasets import DatasetKind, LabelKind, LabelSpec
from resonance.domain.errors import (
    BadDecisionFile,
    InvalidInput,
    NotFound,
    NotReviewer,
    PolicyDenied,
    ReviewClosed,
)
from resonance.domain.policies import Purpose, parse_grant
from resonance.domain.review import Decision, Evidence, Proposal, ProposalKind, ReviewStatus
from resonance.services import access, catalog, ledger, policies
from resonance.services import review as rv
from resonance.services.access import load_rows
from resonance.services.space import Space


def _seed(space: Space, tmp_path: Path, *, one_hot: bool = False) -> str:
    if one_hot:
        table = pa.table({"x": [float(i) for i in range(8)], "a": [1, 0] * 4, "b": [0, 1] * 4})
        label = LabelSpec(LabelKind.ONE_HOT, ("a", "b"))
    else:
        table = pa.table({"x": [float(i) for i in range(8)], "y": ["a", "b"] * 4})
        label = LabelSpec(LabelKind.COLUMN, ("y",))
    path = tmp_path / "plant.csv"
    pcsv.write_csv(table, path)
    catalog.ingest(
        space,
        actor="plant-a",
        path=path,
        dataset="plant-a-data",
        new=catalog.NewDataset("plant-a", DatasetKind.COMMON, "steel", label=label),
    )
    return "plant-a-data"


def _p(
    row: int,
    proposed: str = "b",
    *,
    loop: str = "loop-1",
    iteration: int = 1,
    kind: ProposalKind = ProposalKind.RELABEL,
    version: int = 1,
) -> Proposal:
    current = "a" if row % 2 == 0 else "b"
    return Proposal(
        "plant-a",
        "plant-a-data",
        version,
        row,
        kind,
        current,
        proposed,
        Evidence(loop, iteration, given_proba=0.05, suggested_proba=0.9),
    )


def test_proposals_are_deduplicated_across_iterations_and_runs(
    space: Space, tmp_path: Path
) -> None:
    _seed(space, tmp_path)
    first = rv.propose(space, actor="builder", proposals=[_p(0), _p(2)])
    assert len(first.created) == 2
    again = rv.propose(space, actor="builder", proposals=[_p(0, iteration=2), _p(0, loop="loop-2")])
    assert again.created == [] and again.updated == [first.created[0]] * 2
    same = rv.propose(space, actor="builder", proposals=[_p(0, loop="loop-2")])
    assert same.unchanged == [first.created[0]]
    items = rv.list_items(space, actor="plant-a")
    assert len(items) == 2
    assert [(e.loop, e.iteration) for e in items[0].evidence] == [
        ("loop-1", 1),
        ("loop-1", 2),
        ("loop-2", 1),
    ]
    assert items[0].loops == ["loop-1", "loop-2"]
    strong = rv.list_items(space, actor="plant-a", strongest_first=True)
    assert [i.row for i in strong] == [0, 2]  # three sightings before one
    assert rv.list_items(space, actor="plant-a", strongest_first=True, limit=1) == strong[:1]
    entries = ledger.entries(space, action="review.proposed", limit=None)
    assert len(entries) == 3 and "current" not in str(entries[0].payload)


def test_bad_proposals_store_nothing(space: Space, tmp_path: Path) -> None:
    _seed(space, tmp_path)
    with pytest.raises(InvalidInput):
        rv.propose(space, actor="builder", proposals=[_p(0), _p(99)])
    with pytest.raises(NotFound):
        rv.propose(space, actor="builder", proposals=[_p(0, version=5)])
    wrong = Proposal(
        "plant-b", "plant-a-data", 1, 0, ProposalKind.DROP, "a", None, Evidence("l", 1)
    )
    with pytest.raises(InvalidInput):
        rv.propose(space, actor="builder", proposals=[wrong])
    assert rv.list_items(space, actor="plant-a") == []


def test_only_the_owner_its_delegate_and_the_operator_see_items(
    space: Space, tmp_path: Path
) -> None:
    _seed(space, tmp_path)
    [item_id] = rv.propose(space, actor="builder", proposals=[_p(0)]).created
    assert rv.list_items(space, actor="builder") == []
    assert len(rv.list_items(space, actor="operator")) == 1
    with pytest.raises(NotReviewer):
        rv.list_items(space, actor="builder", where=rv.ReviewFilter(owner="plant-a"))
    with pytest.raises(NotReviewer):
        rv.show(space, actor="plant-b", item_id=item_id)
    assert rv.show(space, actor="operator", item_id=item_id).row == {}  # no row values
    assert rv.show(space, actor="plant-a", item_id=item_id).row == {"x": 0.0, "y": "a"}
    assert rv.counts(space, actor="builder") == {"plant-a": {"open": 1}}
    assert rv.counts(space, actor="builder", loop="loop-1") == {"plant-a": {"open": 1}}
    assert rv.counts(space, actor="builder", loop="other") == {}
    with pytest.raises(NotReviewer):
        rv.decide_items(space, actor="builder", lines=[rv.DecisionLine(item_id, Decision.ACCEPT)])
    rv.delegate(space, actor="plant-a", to="plant-b")
    view = rv.show(space, actor="plant-b", item_id=item_id)
    assert view.row["y"] == "a"
    reads = ledger.entries(space, action="data.accessed", actor="plant-b", limit=None)
    assert reads and reads[-1].payload["purpose"] == "review"
    done = rv.decide_items(
        space, actor="plant-b", lines=[rv.DecisionLine(item_id, Decision.ACCEPT)]
    )
    assert done.decided[0].decided_by == "plant-b" and done.versions == ["plant-a-data@2"]
    assert rv.undelegate(space, actor="plant-a", to="plant-b") is True
    with pytest.raises(NotReviewer):
        rv.show(space, actor="plant-b", item_id=item_id)


def test_accepted_fixes_make_a_new_version_and_open_items_move(
    space: Space, tmp_path: Path
) -> None:
    _seed(space, tmp_path)
    res = rv.propose(
        space,
        actor="builder",
        proposals=[_p(0), _p(2), _p(3, kind=ProposalKind.DROP, proposed=None), _p(5, "a")],
    )
    ids = {i.row: i.id for i in rv.list_items(space, actor="plant-a")}
    assert len(res.created) == 4
    out = rv.decide_items(
        space,
        actor="plant-a",
        lines=[
            rv.DecisionLine(ids[0], Decision.ACCEPT),
            rv.DecisionLine(ids[3], Decision.ACCEPT),
            rv.DecisionLine(ids[2], Decision.REJECT, "our records say a"),
        ],
    )
    assert out.versions == ["plant-a-data@2"]
    with space.work() as w:
        v2 = w.tx.get_version("plant-a-data", 2)
    assert v2 is not None and v2.row_count == 7
    assert v2.transformation.kind == "review"
    assert v2.transformation.reason == "drop of 1 row, relabel of 1 row after review of loop loop-1"
    rows = load_rows(space, v2).to_pylist()
    assert rows[0]["y"] == "b" and rows[2]["y"] == "a" and [r["x"] for r in rows][3] == 4.0
    # the new version is the owner's own rows: provenance per row, the owner's policy
    assert [s.to_dict() for s in v2.sources] == [{"ref": "plant-a-data@1", "rows": 7}]
    prov = catalog.row_provenance(space, v2)
    assert prov.refs == ("plant-a-data@1",) and prov.row.tolist() == [0, 1, 2, 4, 5, 6, 7]
    policies.set_policy(
        space, actor="plant-a", dataset="plant-a-data", grants=[parse_grant("builder:train-pooled")]
    )
    access.authorize(space, actor="builder", ref=v2.ref, purpose=Purpose.TRAIN_POOLED)
    with pytest.raises(PolicyDenied):
        access.authorize(space, actor="builder", ref=v2.ref, purpose=Purpose.DOWNLOAD)
    access.authorize(space, actor="plant-a", ref=v2.ref, purpose=Purpose.DOWNLOAD)
    items = {i.id: i for i in rv.list_items(space, actor="plant-a")}
    assert items[ids[0]].applied_in == "plant-a-data@2"
    assert items[ids[2]].status is ReviewStatus.REJECTED and items[ids[2]].version == 1
    moved = items[ids[5]]  # still open: now row 4 of version 2 (row 3 was dropped)
    assert (moved.status, moved.version, moved.row) == (ReviewStatus.OPEN, 2, 4)
    assert rv.version_marks(space, "plant-a-data")[2].status == "accepted"
    # the rejected proposal is not asked again; the open one is found at its new place
    again = rv.propose(space, actor="builder", proposals=[_p(2, loop="loop-2")])
    assert again.unchanged == [ids[2]]
    with pytest.raises(ReviewClosed):
        rv.decide_items(
            space, actor="plant-a", lines=[rv.DecisionLine(ids[0], Decision.REJECT, "x")]
        )
    with pytest.raises(InvalidInput):  # a rejection needs a reason
        rv.decide_items(space, actor="plant-a", lines=[rv.DecisionLine(ids[5], Decision.REJECT)])
    [applied] = ledger.entries(space, action="review.applied", limit=None)
    assert applied.payload["fixes"] == {"relabel": 1, "drop": 1}


def test_bulk_by_filter_and_by_file(space: Space, tmp_path: Path) -> None:
    _seed(space, tmp_path, one_hot=True)
    rv.propose(space, actor="builder", proposals=[_p(0), _p(2), _p(4), _p(1, "a")])
    by_row = {i.row: i.id for i in rv.list_items(space, actor="plant-a")}
    csv_path = tmp_path / "decisions.csv"
    csv_path.write_text(
        f"id,decision,reason\n{by_row[0]},accept,\n{by_row[2]},reject,records say a\n"
    )
    out = rv.decide_file(space, actor="plant-a", path=csv_path)
    assert [i.status.value for i in out.decided] == ["accepted", "rejected"]
    assert out.versions == ["plant-a-data@2"]
    rows = load_rows(space, catalog.show_dataset(space, "plant-a-data")[1][-1]).to_pylist()
    assert (rows[0]["a"], rows[0]["b"]) == (0, 1)
    rest = rv.decide_where(
        space, actor="plant-a", where=rv.ReviewFilter(loop="loop-1"), decision=Decision.ACCEPT
    )
    assert len(rest.decided) == 2 and rest.versions == ["plant-a-data@3"]
    bad = tmp_path / "bad.csv"
    bad.write_text("id,verdict\nrv-1,yes\n")
    with pytest.raises(BadDecisionFile):
        rv.decide_file(space, actor="plant-a", path=bad)
    bad.write_text(f"id,decision\n{by_row[0]},maybe\n")
    with pytest.raises(BadDecisionFile):
        rv.decide_file(space, actor="plant-a", path=bad)


def test_auto_drop_is_recorded_as_a_decision(space: Space, tmp_path: Path) -> None:
    _seed(space, tmp_path)
    out = rv.record_auto_drops(space, actor="builder", proposals=[_p(1), _p(3)], policy_version=2)
    assert [i.decided_by for i in out.decided] == [rv.AUTO_DROP] * 2
    assert out.versions == ["plant-a-data@2"]
    items = rv.list_items(space, actor="plant-a")
    assert {i.kind for i in items} == {ProposalKind.DROP}
    assert all("auto-drop" in i.reason for i in items)


def test_rejected_candidates_are_kept_but_never_latest(space: Space, tmp_path: Path) -> None:
    _seed(space, tmp_path)
    rv.propose(space, actor="builder", proposals=[_p(0)])
    rv.decide_where(space, actor="plant-a", where=rv.ReviewFilter(), decision=Decision.ACCEPT)
    rv.mark_version(space, actor="plant-a", ref="plant-a-data@2", accepted=False, reason="no")
    ds, versions = catalog.show_dataset(space, "plant-a-data")
    assert len(versions) == 2
    [(_, latest)] = [(d, v) for d, v in catalog.list_datasets(space) if d.name == ds.name]
    assert latest is not None and latest.number == 1
    with pytest.raises(NotFound):
        rv.mark_version(space, actor="plant-a", ref="plant-a-data@9", accepted=True)


def test_only_owner_or_maker_marks_versions(space: Space, tmp_path: Path) -> None:
    from resonance.domain.errors import RoleRequired

    _seed(space, tmp_path)
    with pytest.raises(RoleRequired):
        rv.mark_version(space, actor="builder", ref="plant-a-data@1", accepted=False)


def test_accepted_items_on_a_replaced_version_expire(space: Space, tmp_path: Path) -> None:
    _seed(space, tmp_path)
    [item_id] = rv.propose(space, actor="builder", proposals=[_p(0)]).created
    rv.decide_items(
        space, actor="plant-a", lines=[rv.DecisionLine(item_id, Decision.ACCEPT)], apply_now=False
    )
    path = tmp_path / "new.csv"
    pcsv.write_csv(pa.table({"x": [9.0, 8.0], "y": ["a", "b"]}), path)
    catalog.ingest(space, actor="plant-a", path=path, dataset="plant-a-data")  # the owner's @2
    assert rv.apply(space, actor="plant-a", dataset="plant-a-data") is None
    [item] = rv.list_items(space, actor="plant-a", where=rv.ReviewFilter())
    assert item.status is ReviewStatus.EXPIRED and "newer version" in item.reason
    assert ledger.entries(space, action="review.expired", limit=None)[0].payload["items"] == [
        item_id
    ]
