"""Issue 9: derived data keeps its sources' rules (every purpose, expiry, revocation)."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq
import pytest

from resonance.domain.datasets import Dataset, DatasetKind, Transformation, make_label_spec
from resonance.domain.errors import DerivedDataset, PolicyDenied, ProvenanceMissing, RoleRequired
from resonance.domain.policies import Grant, Purpose, parse_purposes
from resonance.domain.provenance import RowProvenance
from resonance.services import access, catalog, ledger, policies
from resonance.services.catalog import NewDataset
from resonance.services.space import Space
from tests.conftest import STEEL_CSV, STEEL_LABELS

LABEL = make_label_spec(None, STEEL_LABELS)
POOL = Transformation("pool", {}, "two plants pooled")


def grant(org: str, purposes: str, until: date | None = None) -> Grant:
    return Grant(org, parse_purposes(purposes.split(",")), until)


def _ingest(space: Space, owner: str, name: str, table: pa.Table, folder: Path) -> None:
    path = folder / f"{name}.csv"
    pcsv.write_csv(table, path)
    new = NewDataset(owner=owner, kind=DatasetKind.COMMON, industry="steel", label=LABEL)
    catalog.ingest(space, actor=owner, path=path, dataset=name, new=new)


@pytest.fixture
def pooled(space: Space, tmp_path: Path) -> Space:
    """plant-a (280 rows) and plant-b (320 rows) pooled by the builder into ``pool@1``."""
    table = pcsv.read_csv(STEEL_CSV)
    _ingest(space, "plant-a", "steel-a", table.slice(0, 280), tmp_path)
    _ingest(space, "plant-b", "steel-b", table.slice(280, 320), tmp_path)
    catalog.register_derived(
        space,
        actor="builder",
        dataset=Dataset("pool", "builder", DatasetKind.COMMON, "steel", label=LABEL),
    )
    catalog.derive_version(
        space,
        actor="builder",
        dataset="pool",
        table=table.slice(0, 600),
        parents=("steel-a@1", "steel-b@1"),
        transformation=POOL,
        provenance=RowProvenance.of(
            ["steel-a@1"] * 280 + ["steel-b@1"] * 320, [*range(280), *range(320)]
        ),
    )
    return space


def both_grant(space: Space, a: str, b: str, *, org: str = "builder") -> None:
    policies.set_policy(space, actor="plant-a", dataset="steel-a", grants=[grant(org, a)])
    policies.set_policy(space, actor="plant-b", dataset="steel-b", grants=[grant(org, b)])


def test_a_derived_version_carries_per_row_provenance(pooled: Space) -> None:
    _, (v,) = catalog.show_dataset(pooled, "pool")
    assert [(s.ref, s.rows) for s in v.sources] == [("steel-a@1", 280), ("steel-b@1", 320)]
    prov = catalog.row_provenance(pooled, v)
    assert len(prov) == 600
    assert (prov.refs_per_row()[[0, 279, 280, 599]] == ["steel-a@1"] * 2 + ["steel-b@1"] * 2).all()
    assert prov.row[[0, 279, 280, 599]].tolist() == [0, 279, 0, 319]
    summary = access.derivation(pooled, v)
    assert summary is not None
    assert summary.summary().startswith(
        "derived from steel-a@1 (280 rows), steel-b@1 (320 rows); allowed purposes:"
    )


@pytest.mark.parametrize("purpose", list(Purpose))
def test_a_purpose_is_allowed_only_where_every_source_allows_it(
    pooled: Space, purpose: Purpose
) -> None:
    other = next(p for p in Purpose if p is not purpose)
    both_grant(pooled, purpose.value, other.value)  # plant-b grants something else
    with pytest.raises(PolicyDenied) as info:
        access.authorize(pooled, actor="builder", ref="pool", purpose=purpose)
    assert "steel-b" in info.value.message and info.value.code == "RES-120"
    assert ledger.entries(pooled, limit=None)[-1].action == "data.access_denied"

    both_grant(pooled, purpose.value, f"{purpose.value},{other.value}")
    allowed = access.authorize(pooled, actor="builder", ref="pool", purpose=purpose)
    assert allowed.decision.rule == "derived-sources"
    entry = ledger.entries(pooled, limit=None)[-1]
    assert entry.action == "data.accessed" and entry.payload["sources"] == [
        "steel-a@1",
        "steel-b@1",
    ]
    derivation = access.derivation(pooled, allowed.version)
    assert derivation is not None
    assert [g.to_dict() for g in derivation.allowed if g.organization == "builder"] == [
        {"organization": "builder", "purposes": [purpose.value], "until": None}
    ]


def test_the_registrant_is_not_the_owner(pooled: Space, tmp_path: Path) -> None:
    # no source grants anything: the builder that registered the pool may not use it at all
    for purpose in Purpose:
        with pytest.raises(PolicyDenied):
            access.authorize(pooled, actor="builder", ref="pool", purpose=purpose)
    with pytest.raises(PolicyDenied):  # the reproduction: rows of both plants leave
        access.read_version(pooled, actor="builder", ref="pool", purpose=Purpose.DOWNLOAD)
    # an owner of one source is no owner of the other's rows
    with pytest.raises(PolicyDenied) as info:
        access.authorize(pooled, actor="plant-a", ref="pool", purpose=Purpose.TRAIN_POOLED)
    assert "steel-b" in info.value.message
    # the registrant sets no policy and ingests nothing; others add no versions
    with pytest.raises(DerivedDataset) as refused:
        policies.set_policy(
            pooled, actor="builder", dataset="pool", grants=[grant("plant-c", "download")]
        )
    assert refused.value.code == "RES-124"
    path = tmp_path / "crafted.csv"
    pcsv.write_csv(pcsv.read_csv(STEEL_CSV).slice(0, 10), path)
    with pytest.raises(DerivedDataset):
        catalog.ingest(pooled, actor="builder", path=path, dataset="pool")
    _, (v1,) = catalog.show_dataset(pooled, "pool")
    table = pq.read_table(pooled.artifacts.open(v1.content_hash, ".parquet"))
    with pytest.raises(RoleRequired):
        catalog.derive_version(
            pooled,
            actor="plant-c",
            dataset="pool",
            table=table.slice(0, 5),
            parents=("pool@1",),
            transformation=POOL,
            provenance=RowProvenance.whole("pool@1", 5),
        )
    with pytest.raises(ProvenanceMissing):
        catalog.derive_version(
            pooled,
            actor="builder",
            dataset="pool",
            table=table.slice(0, 5),
            parents=("pool@1",),
            transformation=POOL,
            provenance=RowProvenance.whole("pool@1", 4),
        )


def test_expiry_is_the_earliest_source_expiry(pooled: Space) -> None:
    today = pooled.today()
    soon, later = today + timedelta(days=5), today + timedelta(days=50)
    policies.set_policy(
        pooled, actor="plant-a", dataset="steel-a", grants=[grant("builder", "train-pooled", later)]
    )
    policies.set_policy(
        pooled, actor="plant-b", dataset="steel-b", grants=[grant("builder", "train-pooled", soon)]
    )
    allowed = access.authorize(pooled, actor="builder", ref="pool", purpose=Purpose.TRAIN_POOLED)
    assert allowed.decision.until == soon
    derivation = access.derivation(pooled, allowed.version)
    assert derivation is not None and f"until {soon.isoformat()}" in derivation.summary()

    policies.set_policy(
        pooled,
        actor="plant-b",
        dataset="steel-b",
        grants=[grant("builder", "train-pooled", today - timedelta(days=1))],
    )
    with pytest.raises(PolicyDenied) as info:
        access.authorize(pooled, actor="builder", ref="pool", purpose=Purpose.TRAIN_POOLED)
    assert info.value.details["rule"] == "grant" and "expired" in info.value.message


def test_revoking_a_source_grant_blocks_every_derived_version(pooled: Space) -> None:
    both_grant(pooled, "train-pooled", "train-pooled")
    _, (v1,) = catalog.show_dataset(pooled, "pool")
    table = pq.read_table(pooled.artifacts.open(v1.content_hash, ".parquet"))
    keep = np.arange(300, 600)  # only plant-b's rows, taken from the derived version
    v2, _ = catalog.derive_version(
        pooled,
        actor="builder",
        dataset="pool",
        table=table.take(pa.array(keep)),
        parents=(v1.ref,),
        transformation=Transformation("drop", {}, "plant-a's rows dropped"),
        provenance=RowProvenance.whole(v1.ref, 600).take(keep),
    )
    assert [(s.ref, s.rows) for s in v2.sources] == [("steel-b@1", 300)]  # resolved to roots
    assert catalog.row_provenance(pooled, v2).row[0] == 20
    for ref in (v1.ref, v2.ref):
        access.authorize(pooled, actor="builder", ref=ref, purpose=Purpose.TRAIN_POOLED)

    policies.set_policy(pooled, actor="plant-b", dataset="steel-b", grants=[])
    for ref in (v1.ref, v2.ref):
        with pytest.raises(PolicyDenied):
            access.authorize(pooled, actor="builder", ref=ref, purpose=Purpose.TRAIN_POOLED)
    policies.set_policy(pooled, actor="plant-a", dataset="steel-a", grants=[])
    decision = policies.check(
        pooled, organization="builder", dataset="pool", purpose=Purpose.TRAIN_POOLED
    )
    assert not decision.allowed and "steel-b" in decision.reason
