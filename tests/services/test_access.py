"""Every read goes through the usage policy and lands on the ledger."""

from __future__ import annotations

from datetime import date, timedelta

import pyarrow.csv as pcsv
import pytest

from resonance.domain.datasets import DatasetKind, make_label_spec
from resonance.domain.errors import NotFound, PolicyDenied, RoleRequired
from resonance.domain.ledger import LedgerEntry
from resonance.domain.policies import Effect, Grant, Purpose, parse_purposes
from resonance.services import access, catalog, ledger, policies
from resonance.services.catalog import NewDataset
from resonance.services.space import Space
from tests.conftest import STEEL_CSV, STEEL_LABELS

STEEL = NewDataset(
    owner="plant-a",
    kind=DatasetKind.COMMON,
    industry="steel",
    label=make_label_spec(None, STEEL_LABELS),
)


@pytest.fixture
def steel(space: Space) -> Space:
    """The space with plant-a's steel dataset (no policy yet)."""
    catalog.ingest(space, actor="plant-a", path=STEEL_CSV, dataset="steel", new=STEEL)
    return space


def grant(org: str, purposes: str, until: date | None = None) -> Grant:
    return Grant(org, parse_purposes(purposes.split(",")), until)


def last_entry(space: Space) -> LedgerEntry:
    return ledger.entries(space, limit=None)[-1]


def ledger_length(space: Space) -> int:
    return len(ledger.entries(space, limit=None))


def test_allowed_read_returns_rows_and_is_recorded(steel: Space) -> None:
    policies.set_policy(
        steel, actor="plant-a", dataset="steel", grants=[grant("builder", "download")]
    )

    version, table = access.read_version(
        steel, actor="builder", ref="steel", purpose=Purpose.DOWNLOAD
    )

    assert version.ref == "steel@1"
    assert table.equals(pcsv.read_csv(STEEL_CSV))
    entry = last_entry(steel)
    assert (entry.action, entry.actor, entry.object_id) == ("data.accessed", "builder", "steel@1")
    assert entry.payload["purpose"] == "download" and entry.payload["release"] == "rows"
    assert entry.payload["content_hash"] == version.content_hash
    assert entry.payload["rule"] == "grant" and entry.payload["rows"] == 1941
    assert ledger.verify(steel).ok


@pytest.mark.parametrize("purpose", ["train-pooled", "train-federated", "evaluate"])
def test_in_space_grants_release_no_rows(steel: Space, purpose: str) -> None:
    """Issue 9: a train-pooled (or federated, evaluate) grant never hands rows over."""
    policies.set_policy(steel, actor="plant-a", dataset="steel", grants=[grant("builder", purpose)])
    in_space = access.authorize(steel, actor="builder", ref="steel", purpose=Purpose(purpose))
    assert in_space.decision.allowed  # the platform's work inside the space may use them
    length = ledger_length(steel)

    with pytest.raises(PolicyDenied) as info:
        access.read_version(steel, actor="builder", ref="steel", purpose=Purpose(purpose))

    assert info.value.code == "RES-120"
    assert info.value.details["rule"] == "rows-leave-only-under-download"
    assert ledger_length(steel) == length + 1
    entry = last_entry(steel)
    assert entry.action == "data.access_denied" and entry.payload["release"] == "rows"
    assert "rows" not in entry.payload
    with pytest.raises(PolicyDenied):  # and the download purpose needs its own grant
        access.read_version(steel, actor="builder", ref="steel", purpose=Purpose.DOWNLOAD)


def test_owner_reads_its_own_data_without_a_policy(steel: Space) -> None:
    grantee = access.authorize(steel, actor="plant-a", ref="steel@1", purpose=Purpose.DOWNLOAD)
    assert grantee.decision.rule == "owner"
    assert last_entry(steel).action == "data.accessed"


def test_denied_read_raises_and_is_recorded(steel: Space) -> None:
    policies.set_policy(
        steel, actor="plant-a", dataset="steel", grants=[grant("builder", "train-pooled")]
    )
    length = ledger_length(steel)

    with pytest.raises(PolicyDenied) as info:
        access.read_version(steel, actor="builder", ref="steel", purpose=Purpose.DOWNLOAD)

    assert info.value.code == "RES-120"
    assert info.value.details["rule"] == "default-deny"
    assert ledger_length(steel) == length + 1
    entry = last_entry(steel)
    assert (entry.action, entry.actor, entry.object_id) == (
        "data.access_denied",
        "builder",
        "steel@1",
    )
    assert entry.payload["purpose"] == "download" and entry.payload["rule"] == "default-deny"
    assert "rows" not in entry.payload
    assert ledger.verify(steel).ok


def test_no_policy_means_only_the_owner(steel: Space) -> None:
    with pytest.raises(PolicyDenied):
        access.authorize(steel, actor="plant-b", ref="steel", purpose=Purpose.TRAIN_POOLED)
    assert last_entry(steel).action == "data.access_denied"


def test_sealed_evaluation_data_is_unreadable_by_a_model_builder_even_with_a_grant(
    space: Space,
) -> None:
    sealed = NewDataset(owner="evaluator", kind=DatasetKind.EVALUATION, industry="steel")
    catalog.ingest(space, actor="evaluator", path=STEEL_CSV, dataset="sealed", new=sealed)
    policies.set_policy(
        space,
        actor="evaluator",
        dataset="sealed",
        grants=[grant("builder", "evaluate,download,train-pooled,train-federated")],
    )

    for purpose in Purpose:
        with pytest.raises(PolicyDenied) as info:
            access.authorize(space, actor="builder", ref="sealed", purpose=purpose)
        assert info.value.details["rule"] == "sealed-evaluation"
        with pytest.raises(PolicyDenied) as info:
            access.read_version(space, actor="builder", ref="sealed", purpose=purpose)
        assert info.value.details["rule"] == (
            "sealed-evaluation" if purpose is Purpose.DOWNLOAD else "rows-leave-only-under-download"
        )
        entry = last_entry(space)
        assert entry.action == "data.access_denied" and entry.payload["purpose"] == purpose.value

    grantee = access.authorize(space, actor="evaluator", ref="sealed", purpose=Purpose.EVALUATE)
    assert grantee.decision.rule == "sealed-evaluation"
    with pytest.raises(PolicyDenied):
        access.authorize(space, actor="evaluator", ref="sealed", purpose=Purpose.DOWNLOAD)


def test_expired_grant_is_denied_and_recorded(steel: Space) -> None:
    today = steel.today()
    policies.set_policy(
        steel,
        actor="plant-a",
        dataset="steel",
        grants=[
            grant("builder", "train-pooled", today - timedelta(days=1)),
            grant("plant-b", "train-pooled", today),  # valid through its last day
        ],
    )

    with pytest.raises(PolicyDenied) as info:
        access.authorize(steel, actor="builder", ref="steel", purpose=Purpose.TRAIN_POOLED)

    assert info.value.details["rule"] == "grant"
    assert "expired" in info.value.message
    assert last_entry(steel).action == "data.access_denied"
    allowed = access.authorize(steel, actor="plant-b", ref="steel", purpose=Purpose.TRAIN_POOLED)
    assert allowed.decision.allowed


def test_an_expired_grant_does_not_hide_a_live_one(steel: Space) -> None:
    today = steel.today()
    policies.set_policy(
        steel,
        actor="plant-a",
        dataset="steel",
        grants=[
            grant("builder", "train-pooled", today - timedelta(days=30)),
            grant("builder", "train-pooled,evaluate", today + timedelta(days=30)),
        ],
    )
    grantee = access.authorize(steel, actor="builder", ref="steel", purpose=Purpose.TRAIN_POOLED)
    assert grantee.decision.allowed


def test_unknown_reader_or_version_is_not_found_and_not_recorded(steel: Space) -> None:
    length = ledger_length(steel)
    for actor, ref in (("nobody", "steel"), ("builder", "steel@2"), ("builder", "other")):
        with pytest.raises(NotFound):
            access.read_version(steel, actor=actor, ref=ref, purpose=Purpose.DOWNLOAD)
    assert ledger_length(steel) == length


def test_policy_check_decides_without_recording(steel: Space) -> None:
    policies.set_policy(
        steel, actor="plant-a", dataset="steel", grants=[grant("builder", "evaluate")]
    )
    length = ledger_length(steel)

    allow = policies.check(steel, organization="builder", dataset="steel", purpose=Purpose.EVALUATE)
    deny = policies.check(steel, organization="builder", dataset="steel", purpose=Purpose.DOWNLOAD)

    assert allow.effect is Effect.ALLOW and deny.effect is Effect.DENY
    assert ledger_length(steel) == length


def test_only_the_owner_sets_a_policy_and_grantees_must_exist(steel: Space) -> None:
    length = ledger_length(steel)
    with pytest.raises(RoleRequired):
        policies.set_policy(steel, actor="plant-b", dataset="steel", grants=[])
    with pytest.raises(NotFound):
        policies.set_policy(
            steel, actor="plant-a", dataset="steel", grants=[grant("ghost", "evaluate")]
        )
    with pytest.raises(NotFound):
        policies.set_policy(steel, actor="plant-a", dataset="ghost", grants=[])
    assert policies.get_policy(steel, "steel") is None
    assert ledger_length(steel) == length


def test_policy_versions_are_kept(steel: Space) -> None:
    first = policies.set_policy(
        steel, actor="plant-a", dataset="steel", grants=[grant("builder", "evaluate")]
    )
    second = policies.set_policy(steel, actor="plant-a", dataset="steel", grants=[])

    assert (first.version, second.version) == (1, 2)
    assert policies.get_policy(steel, "steel") == second
    assert policies.policy_history(steel, "steel") == [first, second]
    with pytest.raises(PolicyDenied):  # the grant was withdrawn
        access.authorize(steel, actor="builder", ref="steel", purpose=Purpose.EVALUATE)
    entry = ledger.entries(steel, limit=None, action="policy.set")[-1]
    assert entry.payload["version"] == 2 and entry.payload["grants"] == []
