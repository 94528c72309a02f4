"""One contract suite for every Store implementation (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory

from resonance.domain.datasets import (
    ColumnSchema,
    Dataset,
    DatasetKind,
    DatasetVersion,
    LabelKind,
    LabelSpec,
    Schema,
    Transformation,
)
from resonance.domain.errors import Conflict
from resonance.domain.ledger import chain_entry, verify_chain
from resonance.domain.orgs import Consortium, ConsortiumMember, ConsortiumRole, Organization, Role
from resonance.domain.policies import Policy, parse_grant
from resonance.storage import tables as t
from resonance.storage.sql import SqlStore

NOW = "2026-11-22T00:00:00+00:00"


@pytest.fixture
def store(db_url: str):
    s = SqlStore(db_url)
    s.migrate()
    yield s
    s.close()


def _seed(tx) -> None:
    tx.add_organization(Organization("op", frozenset({Role.OPERATOR}), "Beijing"), created_at=NOW)
    tx.add_organization(
        Organization("p1", frozenset({Role.DATA_HOLDER, Role.MODEL_BUILDER}), "Hebei", "P 1", True),
        created_at=NOW,
    )


def _version(n: int, h: str = "a" * 64) -> DatasetVersion:
    return DatasetVersion(
        dataset="d1",
        number=n,
        content_hash=h,
        row_count=10,
        schema=Schema((ColumnSchema("x", "int64"), ColumnSchema("y [K]", "double", False))),
        parents=(f"d1@{n - 1}",) if n > 1 else (),
        transformation=Transformation("ingest", {"f": 1}),
        created_at=NOW,
        created_by="p1",
        source_hash="b" * 64,
        validation={"ok": True},
        profile={"columns": []},
    )


def test_migrate_is_idempotent(store: SqlStore) -> None:
    script = ScriptDirectory.from_config(store.alembic_config())
    # the heads the database records: a head that another branch's migration names in
    # depends_on (e.g. 0003_registry under 0011_authority) is absorbed by that migration
    heads = set(script.get_heads())
    heads -= {
        r.revision for h in heads for r in script.walk_revisions("base", h) if r.revision != h
    }
    assert "0011_authority" in heads
    assert "0001_foundation" in {r.revision for r in script.walk_revisions()}
    assert store.current_revisions() == heads  # every branch applied
    store.migrate()
    assert store.current_revisions() == heads


def test_the_verdict_migration_fills_existing_versions(store: SqlStore) -> None:
    """0020_verdict on a store that already holds versions: each gets its report's verdict."""
    from dataclasses import replace

    from alembic import command

    reports = {"d1": {"ok": True, "warnings": ["w"]}, "d2": {"ok": False}, "d3": {"ok": True}}
    with store.transaction() as tx:
        _seed(tx)
        for name, report in reports.items():
            tx.add_dataset(Dataset(name, "p1", DatasetKind.COMMON, "steel"), created_at=NOW)
            tx.add_version(replace(_version(1), dataset=name, validation=report))
    cfg = store.alembic_config()
    with store.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "verdict@-1")  # only this branch: the column goes
    assert "0020_verdict" not in store.current_revisions()
    store.migrate()
    with store.transaction() as tx:
        got = {s.name: s.validation for s in tx.registry_datasets()}
    assert got == {"d1": "warnings", "d2": "failed", "d3": "passed"}


def test_organizations_round_trip(store: SqlStore) -> None:
    with store.transaction() as tx:
        _seed(tx)
    with store.transaction() as tx:
        p1 = tx.get_organization("p1")
        assert p1 == Organization(
            "p1", frozenset({Role.DATA_HOLDER, Role.MODEL_BUILDER}), "Hebei", "P 1", True
        )
        assert [o.name for o in tx.list_organizations()] == ["op", "p1"]
        assert tx.get_organization("nope") is None


def test_consortia_round_trip(store: SqlStore) -> None:
    with store.transaction() as tx:
        _seed(tx)
        tx.add_consortium(
            Consortium("c1", "steel", (ConsortiumMember("p1", frozenset({ConsortiumRole.DATA})),)),
            created_at=NOW,
        )
        tx.add_consortium_member("c1", ConsortiumMember("op", frozenset({ConsortiumRole.COMPUTE})))
    with store.transaction() as tx:
        c1 = tx.get_consortium("c1")
        assert c1 is not None and [m.organization for m in c1.members] == ["op", "p1"]
        assert tx.list_consortia(industry="steel") == [c1]
        assert tx.list_consortia(industry="ships") == []


def test_datasets_versions_and_policies(store: SqlStore) -> None:
    label = LabelSpec(LabelKind.ONE_HOT, ("a", "b"))
    with store.transaction() as tx:
        _seed(tx)
        tx.add_dataset(
            Dataset("d1", "p1", DatasetKind.COMMON, "steel", label=label), created_at=NOW
        )
        tx.add_version(_version(1))
        tx.add_version(_version(2, "c" * 64))
        tx.add_policy(Policy("d1", (parse_grant("op:download:2027-01-01"),), True, 1, "p1", NOW))
        tx.add_policy(Policy("d1", (), False, 2, "p1", NOW))
    with store.transaction() as tx:
        ds = tx.get_dataset("d1")
        assert ds is not None and ds.label == label
        assert tx.list_datasets(owner="p1", kind=DatasetKind.COMMON) == [ds]
        assert tx.list_datasets(kind=DatasetKind.EVALUATION) == []
        assert tx.get_version("d1") == _version(2, "c" * 64)
        assert tx.get_version("d1", 1) == _version(1)
        assert [v.number for v in tx.list_versions("d1")] == [1, 2]
        assert tx.find_version_by_hash("d1", "a" * 64) == _version(1)
        assert tx.find_version_by_hash("d1", "f" * 64) is None
        assert tx.find_version_by_source("d1", "b" * 64) == _version(1)  # the first one
        assert tx.find_version_by_source("d1", "f" * 64) is None
        assert tx.find_version_by_source("d2", "b" * 64) is None
        policy = tx.get_policy("d1")
        assert policy is not None and policy.version == 2
        assert len(tx.policy_history("d1")[0].grants) == 1


def test_paged_datasets_brief_versions_and_summaries(store: SqlStore) -> None:
    from dataclasses import replace

    reports = {
        "d1": {"ok": True, "rows": 10, "warnings": ["column 'x' is constant"], "columns": [1]},
        "d2": {"ok": False, "rows": 10, "errors": ["bad"], "warnings": []},
        "d3": {"ok": True, "rows": 10, "warnings": []},
        "d4": {},
    }
    with store.transaction() as tx:
        _seed(tx)
        for name in ("d0", *reports):  # d0 has no version
            tx.add_dataset(Dataset(name, "p1", DatasetKind.COMMON, "steel"), created_at=NOW)
        for name, report in reports.items():
            tx.add_version(replace(_version(1), dataset=name, validation=report))
    with store.transaction() as tx:
        assert [d.name for d in tx.list_datasets(limit=2, offset=1)] == ["d1", "d2"]
        assert [d.name for d in tx.list_datasets(limit=10, offset=4)] == ["d4"]
        brief = tx.latest_versions(brief=True, datasets=["d1", "d2", "d4"])
        assert set(brief) == {"d1", "d2", "d4"}
        assert brief["d1"].validation == {"ok": True, "warnings": ["column 'x' is constant"]}
        assert brief["d2"].validation == {"ok": False, "warnings": []}
        assert brief["d4"].validation == {}
        assert brief["d1"].schema == Schema(()) and brief["d1"].profile == {}
        assert brief["d1"].ref == "d1@1" and brief["d1"].row_count == 10
        full = tx.latest_versions()
        assert full["d1"].validation == reports["d1"] and full["d1"].schema == _version(1).schema
        summaries = tx.registry_datasets()
        assert [(s.name, s.version, s.rows, s.validation) for s in summaries] == [
            ("d0", None, None, "none"),
            ("d1", "d1@1", 10, "warnings"),
            ("d2", "d2@1", 10, "failed"),
            ("d3", "d3@1", 10, "passed"),
            ("d4", "d4@1", 10, "none"),
        ]
        first = summaries[1]
        assert (first.owner, first.owner_region, first.kind, first.industry, first.scenario) == (
            "p1",
            "Hebei",
            "common",
            "steel",
            None,
        )
    # sealed evaluation sets and derived working sets are not registry datasets
    with store.transaction() as tx:
        tx.add_dataset(Dataset("e1", "p1", DatasetKind.EVALUATION, "steel"), created_at=NOW)
        tx.add_dataset(
            Dataset("w1", "p1", DatasetKind.COMMON, "steel", derived=True), created_at=NOW
        )
        assert [s.name for s in tx.registry_datasets()] == ["d0", "d1", "d2", "d3", "d4"]


def test_rollback_leaves_store_unchanged(store: SqlStore) -> None:
    with pytest.raises(RuntimeError), store.transaction() as tx:
        _seed(tx)
        raise RuntimeError("boom")
    with store.transaction() as tx:
        assert tx.list_organizations() == []


def test_duplicate_key_raises_conflict_and_rolls_back(store: SqlStore) -> None:
    with store.transaction() as tx:
        _seed(tx)
    with pytest.raises(Conflict) as info, store.transaction() as tx:
        tx.add_organization(Organization("new", frozenset({Role.EVALUATOR}), "X"), created_at=NOW)
        _seed(tx)
    assert isinstance(info.value.__cause__, sa.exc.IntegrityError)
    with store.transaction() as tx:
        assert tx.get_organization("new") is None


def test_ledger_append_head_and_filters(store: SqlStore) -> None:
    with store.transaction() as tx:
        assert tx.ledger_head() is None and tx.recorded_head() is None
        prev = None
        for i in range(5):
            prev = chain_entry(
                prev=prev,
                timestamp=NOW,
                actor="p1" if i % 2 else "op",
                action="a.b",
                object_type="x",
                object_id=f"o{i % 2}",
                payload={"i": i, "nested": {"k": [1, 2]}, "text": "数据"},
            )
            tx.append_ledger(prev)
    with store.transaction() as tx:
        head = tx.ledger_head(lock=True)
        assert head is not None and head.seq == 5
        assert tx.recorded_head() == (5, head.hash)
        assert [e.seq for e in tx.ledger_entries(object_id="o1")] == [2, 4]
        assert [e.seq for e in tx.ledger_entries(actor="op", after_seq=1)] == [3, 5]
        assert len(tx.ledger_entries(limit=2)) == 2
        assert [e.seq for e in tx.ledger_entries(limit=2, newest=True)] == [4, 5]
        assert [e.seq for e in tx.ledger_entries(actor="op", limit=1, newest=True)] == [5]
        assert [e.seq for e in tx.iter_ledger(batch=2)] == [1, 2, 3, 4, 5]
        assert verify_chain(tx.iter_ledger(), head_seq=5, head_hash=head.hash).ok


def test_meta(store: SqlStore) -> None:
    with store.transaction() as tx:
        assert tx.get_meta("k") is None
        tx.set_meta("k", "v1")
        tx.set_meta("k", "v2")
    with store.transaction() as tx:
        assert tx.get_meta("k") == "v2"


def test_postgres_deadlock_is_a_conflict(store: SqlStore) -> None:
    if not store.url.startswith("postgresql"):
        pytest.skip("SQLite serializes writers at BEGIN IMMEDIATE: no deadlock to provoke")
    with store.transaction() as tx:
        _seed(tx)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def work(first: str, second: str) -> None:
        try:
            with store.transaction() as tx:
                orgs = t.organizations
                tx.conn.execute(orgs.update().where(orgs.c.name == first).values(region="A"))
                barrier.wait()
                tx.conn.execute(orgs.update().where(orgs.c.name == second).values(region="B"))
            outcomes.append("committed")
        except Conflict:
            outcomes.append("conflict")

    workers = [
        threading.Thread(target=work, args=("op", "p1")),
        threading.Thread(target=work, args=("p1", "op")),
    ]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert sorted(outcomes) == ["committed", "conflict"]
