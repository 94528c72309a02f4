"""Pooled training on both shared datasets under train-pooled policies."""

from __future__ import annotations

from pathlib import Path

import pyarrow.csv as pcsv
import pytest

from resonance.domain.datasets import DatasetKind
from resonance.domain.errors import InvalidInput, NotFound, PolicyDenied, RoleRequired
from resonance.domain.modeling import ModelSpec
from resonance.domain.orgs import Role
from resonance.domain.policies import parse_grant
from resonance.services import catalog, ledger, orgs, policies, training
from resonance.services.space import Space
from tests.model_seed import AI4I_EXCLUDE, seed, split_file, steel_label

LGBM = ModelSpec("lightgbm", params={"n_estimators": 30, "n_jobs": 1})


def test_steel_model_records_exact_data_and_goes_on_the_ledger(
    space: Space, tmp_path: Path
) -> None:
    seeded = seed(space, tmp_path / "data")
    mv = training.train_model(
        space, actor="builder", name="steel-m", spec=LGBM, datasets=[seeded.train]
    )
    _, versions = catalog.show_dataset(space, seeded.train)
    assert mv.ref == "steel-m@1" and mv.datasets == (versions[-1].ref,)
    assert mv.dataset_hashes == (versions[-1].content_hash,)
    assert mv.code_version and mv.industry == "steel" and mv.created_by == "builder"
    assert len(mv.classes) == 7 and mv.metrics["holdout"]["macro_f1"] > 0.5
    assert mv.metrics["rows"] == versions[-1].row_count
    assert training.get_model(space, "steel-m") == mv == training.get_model(space, "steel-m@1")
    fitted = training.load_model(space, mv)
    assert fitted.predict(fitted.prepare(seeded.sealed_table).X).shape == (
        seeded.sealed_table.num_rows,
    )
    trained = ledger.entries(space, action="model.trained")
    assert [e.object_id for e in trained] == ["steel-m@1"]
    payload = trained[0].payload
    assert payload["datasets"] == {versions[-1].ref: versions[-1].content_hash}
    assert payload["trainer"] == "lightgbm" and payload["artifact_hash"] == mv.artifact_hash
    assert set(payload) == {
        "datasets",
        "trainer",
        "params",
        "artifact_hash",
        "code_version",
        "metrics",
    }
    assert all(isinstance(v, int | float) for v in payload["metrics"].values())
    reads = ledger.entries(space, action="data.accessed", actor="builder")
    assert [(e.payload["purpose"], e.payload["model"]) for e in reads] == [
        ("train-pooled", "steel-m")
    ]
    again = training.train_model(
        space, actor="builder", name="steel-m", spec=LGBM, datasets=[seeded.train]
    )
    assert again.number == 2 and [m.ref for m in training.list_models(space)] == [
        "steel-m@1",
        "steel-m@2",
    ]


def test_ai4i_failure_model(lite_space: Space, tmp_path: Path) -> None:
    seeded = seed(lite_space, tmp_path / "data", which="ai4i")
    spec = ModelSpec("sklearn-logreg", exclude_columns=AI4I_EXCLUDE)
    mv = training.train_model(
        lite_space, actor="builder", name="ai4i-m", spec=spec, datasets=[seeded.train]
    )
    assert mv.classes == ("0", "1") and mv.industry == "industrial-machinery"
    assert not set(AI4I_EXCLUDE) & set(mv.feature_names) and "Type=L" in mv.feature_names
    assert mv.metrics["holdout"]["accuracy"] > 0.95 and mv.metrics["holdout"]["roc_auc"] > 0.8


def test_the_policy_must_permit_train_pooled(lite_space: Space, tmp_path: Path) -> None:
    seeded = seed(lite_space, tmp_path / "data")
    orgs.register_organization(
        lite_space,
        actor="operator",
        name="lab2",
        roles=frozenset({Role.MODEL_BUILDER}),
        region="Hebei",
    )
    with pytest.raises(PolicyDenied) as denied:
        training.train_model(lite_space, actor="lab2", name="m", spec=LGBM, datasets=[seeded.train])
    assert denied.value.code == "RES-120"
    with pytest.raises(PolicyDenied):  # sealed: not even with a grant
        training.train_model(
            lite_space, actor="builder", name="m", spec=LGBM, datasets=[seeded.sealed]
        )
    with pytest.raises(RoleRequired):
        training.train_model(
            lite_space, actor="plant-a", name="m", spec=LGBM, datasets=[seeded.train]
        )
    policies.set_policy(
        lite_space, actor="plant-a", dataset=seeded.train, grants=[parse_grant("builder:evaluate")]
    )
    with pytest.raises(PolicyDenied):
        training.train_model(
            lite_space, actor="builder", name="m", spec=LGBM, datasets=[seeded.train]
        )
    denials = ledger.entries(lite_space, action="data.access_denied")
    assert {(e.actor, e.object_id.split("@")[0]) for e in denials} == {
        ("lab2", seeded.train),
        ("builder", seeded.sealed),
        ("builder", seeded.train),
    }
    assert training.list_models(lite_space) == []
    with pytest.raises(InvalidInput):
        training.train_model(
            lite_space, actor="builder", name="m", spec=ModelSpec("nope"), datasets=[seeded.train]
        )
    with pytest.raises(NotFound):
        training.get_model(lite_space, "m")


def test_pooling_two_holders(lite_space: Space, tmp_path: Path) -> None:
    seeded = seed(lite_space, tmp_path / "data")
    part, _, _ = split_file(
        tmp_path / "data" / "steel_plates_faults-train.csv", tmp_path / "b", eval_share=0.5, seed=1
    )
    catalog.ingest(
        lite_space,
        actor="plant-b",
        path=part,
        dataset="steel-b",
        new=catalog.NewDataset("plant-b", DatasetKind.COMMON, "steel", label=steel_label()),
    )
    policies.set_policy(
        lite_space, actor="plant-b", dataset="steel-b", grants=[parse_grant("builder:train-pooled")]
    )
    mv = training.train_model(
        lite_space, actor="builder", name="pooled", spec=LGBM, datasets=[seeded.train, "steel-b@1"]
    )
    rows = pcsv.read_csv(part).num_rows + latest_rows(lite_space, seeded.train)
    assert mv.datasets == (f"{seeded.train}@1", "steel-b@1") and mv.metrics["rows"] == rows
    assert len(set(mv.dataset_hashes)) == 2


def latest_rows(space: Space, dataset: str) -> int:
    _, versions = catalog.show_dataset(space, dataset)
    return versions[-1].row_count
