"""The loop service on real steel data: versions, lineage, ledger, budgets, reserve policies."""

from __future__ import annotations

from pathlib import Path

import pytest

from resonance.domain.acceptance import DEFAULT_CONFIDENCE
from resonance.domain.errors import (
    DerivedDataset,
    InvalidAcceptanceTest,
    InvalidInput,
    PolicyDenied,
)
from resonance.domain.policies import Purpose, parse_grant
from resonance.domain.review import Decision, ReviewStatus
from resonance.services import (
    access,
    catalog,
    evaluation,
    integrity,
    ledger,
    policies,
    review,
    training,
    valuation,
)
from resonance.services import loop as loops
from resonance.services.space import Space
from tests.loop_seed import SPEC, request, seed_loop

DOWNLOAD, TRAIN_POOLED = Purpose.DOWNLOAD, Purpose.TRAIN_POOLED


def test_loop_records_iterations_versions_and_ledger(space: Space, tmp_path: Path) -> None:
    seeded = seed_loop(space, tmp_path / "data")
    run = loops.run(space, actor="builder", request=request(seeded, budget=60, iterations=1))
    assert run.status == "finished"
    assert [it.number for it in run.iterations] == [0, 1]
    s = run.summary
    assert s is not None and s.final is not None and s.baseline is not None
    assert s.primary_metric == "macro_f1"
    assert s.final >= s.baseline
    assert sum(s.rows_taken.values()) <= 60
    # every candidate was a derived version of the working dataset with its reasons
    _, versions = catalog.show_dataset(space, "loop-1-data")
    assert versions[0].transformation.kind == "loop-pool"
    for v in versions[1:]:
        assert v.transformation.kind == "loop-optimize"
        assert v.transformation.reason
        assert versions[0].ref in v.parents or v.parents[0].startswith("loop-1-data@")
    # sealed queries were spent through the evaluation service
    runs = evaluation.list_runs(space, suite=seeded.suite)
    assert 2 <= len(runs) <= 4  # baseline + at most three candidates
    assert loops.get_run(space, "loop-1").summary == s
    actions = {e.action for e in ledger.entries(space, limit=None)}
    assert {"loop.started", "loop.iteration", "loop.finished"} <= actions
    assert ledger.verify(space).ok


def test_loop_takes_reserve_rows_through_access_and_proposes_relabels(
    lite_space: Space, tmp_path: Path
) -> None:
    seeded = seed_loop(lite_space, tmp_path / "data")
    run = loops.run(lite_space, actor="builder", request=request(seeded, budget=80, iterations=2))
    entries = ledger.entries(lite_space, limit=None)
    taken = [e for e in entries if e.action == "data.accessed" and "rows_taken" in e.payload]
    accepted = [it for it in run.iterations[1:] if it.accepted and it.taken]
    if accepted:
        assert taken, "rows taken from a reserve pool must be an authorized, recorded access"
        assert all(e.object_id.split("@")[0].endswith("-reserve") for e in taken)
    proposed = [e for e in entries if e.action == "review.proposed"]
    # plant-a allows auto-drop: its suspects are dropped (recorded as decisions), not proposed
    relabels = [e for e in proposed if "relabel" in e.payload["kinds"]]
    assert relabels and all(e.payload["owner"] != "plant-a" for e in relabels)
    for e in proposed:  # ids and counts on the ledger, never row values
        assert set(e.payload) == {"owner", "loops", "kinds", "items"}
    # each proposal is one item in its owner's queue, with its evidence, once per row
    for owner in ("plant-b", "plant-c"):
        items = review.list_items(lite_space, actor=owner)
        assert len({(i.ref, i.row) for i in items}) == len(items)
        assert run.summary is not None
        assert len(items) == run.summary.relabel_proposals.get(owner, 0)
        for i in items:
            assert i.owner == owner and i.current != i.proposed
            e = i.evidence[0]
            assert e.loop == "loop-1" and e.iteration in (1, 2)
            assert e.given_proba is not None and e.given_proba <= 0.2
    assert review.list_items(lite_space, actor="builder") == []
    assert set(review.counts(lite_space, actor="builder", loop="loop-1")) <= {
        "plant-a",
        "plant-b",
        "plant-c",
    }
    # auto-drops the suite kept are decisions of plant-a's policy, applied to its data
    dropped = review.list_items(
        lite_space, actor="plant-a", where=review.ReviewFilter(status=ReviewStatus.ACCEPTED)
    )
    assert all(i.decided_by == review.AUTO_DROP for i in dropped)
    if any(it.accepted and it.dropped for it in run.iterations[1:]):
        assert dropped and dropped[0].applied_in == "steel-plant-a@2"
    # the review tables hold what the ledger says (proposals, auto-drop decisions, marks)
    assert integrity.verify_state(lite_space).ok, integrity.verify_state(lite_space).to_dict()


def test_rejected_candidates_are_kept_but_never_latest(lite_space: Space, tmp_path: Path) -> None:
    seeded = seed_loop(lite_space, tmp_path / "data")
    run = loops.run(lite_space, actor="builder", request=request(seeded, budget=60, iterations=2))
    marks = review.version_marks(lite_space, "loop-1-data")
    _, versions = catalog.show_dataset(lite_space, "loop-1-data")
    assert set(marks) == {v.number for v in versions}  # every version says what became of it
    accepted = [n for n, m in marks.items() if m.status == "accepted"]
    assert run.summary is not None
    assert f"loop-1-data@{max(accepted)}" == run.summary.final_dataset
    [v] = [v for d, v in catalog.list_datasets(lite_space) if d.name == "loop-1-data"]
    assert v is not None and v.ref == run.summary.final_dataset


def test_reserve_without_grant_is_denied(lite_space: Space, tmp_path: Path) -> None:
    seeded = seed_loop(lite_space, tmp_path / "data", reserve_grant=False)
    with pytest.raises(PolicyDenied):
        loops.run(lite_space, actor="builder", request=request(seeded))


def test_loop_names_leave_room_for_the_working_dataset(lite_space: Space, tmp_path: Path) -> None:
    seeded = seed_loop(lite_space, tmp_path / "data")
    with pytest.raises(InvalidInput) as info:
        loops.run(lite_space, actor="builder", request=request(seeded, name="l" * 59))
    assert info.value.code == "RES-100" and "-data" in info.value.message
    assert loops.list_runs(lite_space) == []


def test_the_working_dataset_keeps_its_sources_rules(lite_space: Space, tmp_path: Path) -> None:
    """Issue 9's reproductions: the builder's loop data is not the builder's to hand out."""
    seeded = seed_loop(lite_space, tmp_path / "data")
    run = loops.run(lite_space, actor="builder", request=request(seeded, budget=40, iterations=1))
    ds, versions = catalog.show_dataset(lite_space, "loop-1-data")
    assert ds.derived and ds.owner == "builder"  # the registrant, never the owner for policy
    first = versions[0]
    assert {s.dataset for s in first.sources} == set(seeded.datasets)
    assert sum(s.rows for s in first.sources) == first.row_count
    for v in versions:  # candidates carry provenance too, resolved to ingested versions
        assert v.sources and sum(s.rows for s in v.sources) == v.row_count
        assert {s.dataset for s in v.sources} <= set(seeded.datasets + seeded.reserves)
    # 1. download of the pooled rows: denied, recorded (not "owner uses its own data")
    with pytest.raises(PolicyDenied) as info:
        access.read_version(lite_space, actor="builder", ref="loop-1-data", purpose=DOWNLOAD)
    assert info.value.details["rule"] != "owner"
    denied = ledger.entries(lite_space, action="data.access_denied", limit=None)[-1]
    marks = review.version_marks(lite_space, "loop-1-data")
    kept = [v for v in versions if v.number not in marks or marks[v.number].status != "rejected"]
    assert denied.object_id == kept[-1].ref  # the latest (a rejected candidate never is)
    assert denied.payload["sources"] == [s.ref for s in kept[-1].sources]
    # 2. re-granting it to a third organization and ingesting crafted versions: refused
    with pytest.raises(DerivedDataset):
        policies.set_policy(
            lite_space,
            actor="builder",
            dataset="loop-1-data",
            grants=[parse_grant("plant-c:download")],
        )
    with pytest.raises(DerivedDataset):
        catalog.ingest(
            lite_space, actor="builder", path=tmp_path / "data" / "steel-plant-a.csv",
            dataset="loop-1-data",
        )  # fmt: skip
    with pytest.raises(PolicyDenied):
        access.authorize(lite_space, actor="plant-c", ref="loop-1-data", purpose=DOWNLOAD)
    # the loop's model is valued among the owners of its rows (its provenance's sources)
    assert run.summary is not None and run.summary.final_model is not None
    model = training.get_model(lite_space, run.summary.final_model)
    valued = valuation.value_model(
        lite_space, actor="builder", model=model.ref, suite=seeded.suite, permutations=10
    )
    with lite_space.work() as w:
        owners = {catalog.require_dataset(w.tx, d).owner for d in seeded.datasets}
        trained_on = catalog.resolve_version(w.tx, model.datasets[0])
    assert set(valued.members) == owners and len(owners) == 3
    assert sum(m["rows"] for m in valued.members.values()) == trained_on.row_count
    # 3. in-space use follows the sources; revoking plant-a's grant blocks every version
    access.authorize(lite_space, actor="builder", ref=first.ref, purpose=TRAIN_POOLED)
    policies.set_policy(lite_space, actor="plant-a", dataset="steel-plant-a", grants=[])
    for v in versions:
        with pytest.raises(PolicyDenied):
            access.authorize(lite_space, actor="builder", ref=v.ref, purpose=TRAIN_POOLED)
    with pytest.raises(PolicyDenied):
        training.train_model(
            lite_space, actor="builder", name="again", spec=SPEC, datasets=[first.ref]
        )


def test_each_try_records_its_paired_test_and_the_queries_spent(
    lite_space: Space, tmp_path: Path
) -> None:
    """Issue 12: acceptance is a paired test on the suite's rows, not a maximum."""
    seeded = seed_loop(lite_space, tmp_path / "data")
    req = request(seeded, budget=60, iterations=2)
    req.queries_per_iteration = 1
    run = loops.run(lite_space, actor="builder", request=req)
    assert run.config["acceptance"]["confidence"] == DEFAULT_CONFIDENCE == 0.8
    assert run.iterations[0].queries == 1
    for it in run.iterations[1:]:
        # one query for ranked candidates (cap 1) and at most one for owner-reviewed fixes
        assert it.queries == len(it.tried) <= 2
        for t in it.tried:
            c = t["comparison"]
            assert c["low"] <= c["gain"] <= c["high"] and c["confidence"] == 0.8
            assert c["reason"] and c["mode"] in ("improve", "no-harm")
            assert t["accepted"] == c["accepted"]
            if c["mode"] == "improve":  # accepted only on a significant gain
                assert c["accepted"] == (c["low"] > 0 and c["slice_change"] >= -0.05)
        assert it.accepted == any(t["accepted"] for t in it.tried)
    # the queries the run records are the suite queries it spent, and nothing sealed leaves
    assert run.summary is not None
    spent = evaluation.list_runs(lite_space, suite=seeded.suite)
    assert run.summary.queries == len(spent)
    compared = [r for r in spent if "comparison" in r.diagnosis]
    assert len(compared) == len(spent) - 1  # all but the baseline
    for r in compared:
        assert set(r.diagnosis["comparison"]) >= {"gain", "low", "high", "reason"}
        assert not any(isinstance(v, list) for v in r.diagnosis["comparison"].values())


def test_bad_acceptance_options_are_refused_before_any_work(
    lite_space: Space, tmp_path: Path
) -> None:
    seeded = seed_loop(lite_space, tmp_path / "data")
    req = request(seeded)
    req.confidence = 1.5
    with pytest.raises(InvalidAcceptanceTest) as info:
        loops.run(lite_space, actor="builder", request=req)
    assert info.value.code == "RES-250"
    assert loops.list_runs(lite_space) == []
    assert evaluation.list_runs(lite_space) == []


def test_fixes_owners_accepted_are_applied_unless_the_suite_shows_harm(
    lite_space: Space, tmp_path: Path
) -> None:
    """Issue 12: an owner-accepted fix is applied because it is right; the suite only
    guards it against significant harm."""
    seeded = seed_loop(lite_space, tmp_path / "data")
    loops.run(lite_space, actor="builder", request=request(seeded, budget=40, iterations=1))
    items = review.list_items(lite_space, actor="plant-b")
    assert items, "the first run proposes relabels to plant-b"
    review.decide_items(
        lite_space,
        actor="plant-b",
        lines=[review.DecisionLine(i.id, Decision.ACCEPT) for i in items],
        apply_now=False,  # accepted on the queue, not yet a new version of plant-b's data
    )
    second = loops.run(
        lite_space, actor="builder", request=request(seeded, name="loop-2", iterations=1)
    )
    [tried] = [t for t in second.iterations[1].tried if "reviewed fixes" in t["label"]]
    c = tried["comparison"]
    assert c["mode"] == "no-harm"
    assert tried["accepted"] == (c["high"] >= 0 and c["slice_change"] >= -0.05)
    # the candidate version holds the owner's labels for those rows
    _, versions = catalog.show_dataset(lite_space, "loop-2-data")
    made = [v for v in versions if v.ref == tried["dataset"]]
    [action] = made[0].transformation.params["actions"]
    assert action["action"] == "apply-reviewed-fixes"
    assert action["relabeled"] == len([i for i in items if i.kind.value == "relabel"])
