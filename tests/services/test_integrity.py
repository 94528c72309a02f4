"""No pickles, verified artifacts: planted files are never executed and always caught."""

from __future__ import annotations

import io
import os
import shutil
import zipfile
from pathlib import Path

import joblib
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from resonance.domain.errors import ArtifactCorrupted, UnsafeModelFile
from resonance.domain.modeling import ModelSpec
from resonance.domain.policies import Policy, Purpose, parse_grant
from resonance.services import access, evaluation, integrity, ledger, training
from resonance.services.catalog import PARQUET
from resonance.services.space import Space
from resonance.storage import tables as t
from resonance.storage.sql import model_versions as tm
from resonance.training import model_format
from tests.model_seed import Seeded, seed

LGBM = ModelSpec("lightgbm", params={"n_estimators": 20, "n_jobs": 1})


class Payload:
    """Unpickling this creates the marker directory: proof that code ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.mkdir, (str(self.marker),))


def malicious_pickle(marker: Path) -> bytes:
    buf = io.BytesIO()
    joblib.dump(Payload(marker), buf)
    return buf.getvalue()


@pytest.fixture
def trained(lite_space: Space, tmp_path: Path) -> tuple[Space, Seeded]:
    seeded = seed(lite_space, tmp_path / "data")
    evaluation.register_suite(
        lite_space, actor="evaluator", name="s", dataset=seeded.sealed, query_budget=20
    )
    training.train_model(lite_space, actor="builder", name="m", spec=LGBM, datasets=[seeded.train])
    return lite_space, seeded


def test_models_are_stored_without_pickles(trained: tuple[Space, Seeded]) -> None:
    space, _ = trained
    mv = training.get_model(space, "m")
    path = space.artifacts.path(mv.artifact_hash, training.MODEL_SUFFIX)
    with zipfile.ZipFile(path) as zf:
        assert sorted(zf.namelist()) == ["estimator.lgb.txt", "manifest.json"]
    assert not list(space.artifacts.root.rglob("*.joblib"))


@pytest.mark.parametrize("trainer", ["sklearn-logreg", "sklearn-rf", "sklearn-mlp"])
def test_sklearn_models_round_trip_through_skops(
    trained: tuple[Space, Seeded], trainer: str
) -> None:
    space, seeded = trained
    spec = ModelSpec(trainer, params={"n_estimators": 10} if trainer == "sklearn-rf" else {})
    mv = training.train_model(
        space, actor="builder", name=f"x-{trainer}", spec=spec, datasets=[seeded.train]
    )
    run = evaluation.evaluate(space, actor="builder", model=mv.ref, suite="s", diagnose=False)
    assert run.metrics["macro_f1"] > 0.2


def test_a_planted_pickle_is_never_executed(trained: tuple[Space, Seeded], tmp_path: Path) -> None:
    space, _ = trained
    marker = tmp_path / "pwned"
    mv = training.get_model(space, "m")
    evil = malicious_pickle(marker)
    # the attacker overwrites the model file and plants a legacy pickle beside it
    space.artifacts.path(mv.artifact_hash, training.MODEL_SUFFIX).write_bytes(evil)
    space.artifacts.path(mv.artifact_hash, training.LEGACY_SUFFIX).write_bytes(evil)
    with pytest.raises(ArtifactCorrupted) as err:
        evaluation.evaluate(space, actor="builder", model="m", suite="s", diagnose=False)
    assert err.value.code == "RES-114"
    assert not marker.exists()
    found = ledger.entries(space, action="artifact.corrupted")
    assert [e.object_id for e in found] == [mv.artifact_hash]

    # only the legacy pickle left: refused as unsafe, still never executed
    space.artifacts.path(mv.artifact_hash, training.MODEL_SUFFIX).unlink()
    with pytest.raises(UnsafeModelFile) as err2:
        evaluation.evaluate(space, actor="builder", model="m", suite="s", diagnose=False)
    assert err2.value.code == "RES-115"
    # the migration refuses it too: its bytes are not what the platform wrote
    result = integrity.migrate_models(space, actor="operator")
    assert [(r.ref, r.status) for r in result] == [("m@1", "refused")]
    assert "content address" in result[0].reason
    assert not marker.exists()
    assert space.artifacts.exists(mv.artifact_hash, training.LEGACY_SUFFIX)


def test_skops_files_outside_the_allow_list_are_refused(tmp_path: Path) -> None:
    import skops.io as sio
    from sklearn.preprocessing import FunctionTransformer

    marker = tmp_path / "pwned"
    evil = sio.dumps(FunctionTransformer(func=os.mkdir, kw_args={"path": str(marker)}))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr(
            "manifest.json",
            '{"format": "resonance-model/1", "spec": {"trainer": "sklearn-logreg"},'
            ' "encoder": {"numeric": ["a"], "categorical": {}, "medians": {"a": 0}},'
            ' "classes": ["x", "y"], "label": {"kind": "column", "columns": ["t"]},'
            ' "estimator": {"kind": "skops", "member": "estimator.skops"}}',
        )
        zf.writestr("estimator.skops", evil)
    with pytest.raises(UnsafeModelFile) as err:
        model_format.loads(buf.getvalue(), error=UnsafeModelFile)
    assert any("mkdir" in t for t in err.value.details["types"])
    assert not marker.exists()


def test_migrate_models_converts_the_platforms_own_pickles(
    lite_space: Space, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    space = lite_space
    seeded = seed(space, tmp_path / "data")
    evaluation.register_suite(space, actor="evaluator", name="s", dataset=seeded.sealed)

    def old_store_model(space: Space, model: training.FittedModel) -> str:  # the code before
        buf = io.BytesIO()
        joblib.dump(model, buf)
        digest, _ = space.artifacts.put_bytes(buf.getvalue(), training.LEGACY_SUFFIX)
        return digest

    monkeypatch.setattr(training, "_store_model", old_store_model)
    old = training.train_model(space, actor="builder", name="m", spec=LGBM, datasets=[seeded.train])
    monkeypatch.undo()
    with pytest.raises(UnsafeModelFile):
        training.load_model(space, old)
    assert not integrity.verify_artifacts(space).ok

    result = integrity.migrate_models(space, actor="operator")
    assert [(r.ref, r.status) for r in result] == [("m@1", "migrated")]
    new = training.get_model(space, "m@1")
    assert new.artifact_hash == result[0].new_hash != old.artifact_hash
    assert not space.artifacts.exists(old.artifact_hash, training.LEGACY_SUFFIX)
    run = evaluation.evaluate(space, actor="builder", model="m", suite="s", diagnose=False)
    assert run.metrics["macro_f1"] > 0.3
    migrated = ledger.entries(space, action="model.migrated")
    assert migrated[0].payload["old_hash"] == old.artifact_hash
    assert integrity.verify_artifacts(space).ok
    assert ledger.verify(space).ok
    again = integrity.migrate_models(space, actor="operator")
    assert [r.status for r in again] == ["already"]


def _parquet_path(space: Space, ref: str) -> Path:
    with space.work() as w:
        version = w.tx.get_version(ref)
    assert version is not None
    return space.artifacts.path(version.content_hash, PARQUET)


def test_a_replaced_parquet_is_caught_and_recorded(
    trained: tuple[Space, Seeded], tmp_path: Path
) -> None:
    space, seeded = trained
    path = _parquet_path(space, seeded.train)
    access.read_version(space, actor="plant-a", ref=seeded.train, purpose=Purpose.DOWNLOAD)
    other = pa.table({"a": [1, 2, 3]})
    tmp = tmp_path / "other.parquet"
    pq.write_table(other, tmp)
    shutil.copyfile(tmp, path)  # same process, already verified once: the change is seen
    with pytest.raises(ArtifactCorrupted) as err:
        access.read_version(space, actor="plant-a", ref=seeded.train, purpose=Purpose.DOWNLOAD)
    assert err.value.code == "RES-114"
    assert ledger.entries(space, action="artifact.corrupted")
    report = integrity.verify_artifacts(space)
    assert not report.ok
    assert [p["problem"] for p in report.problems] == ["bytes do not match the address"]


def test_a_truncated_parquet_is_a_coded_error(trained: tuple[Space, Seeded]) -> None:
    space, seeded = trained
    path = _parquet_path(space, seeded.train)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ArtifactCorrupted) as err:
        access.read_version(space, actor="plant-a", ref=seeded.train, purpose=Purpose.DOWNLOAD)
    assert err.value.code == "RES-114"


def _state_differences(space: Space) -> list[tuple[str, str]]:
    report = integrity.verify_state(space)
    return [(d.area, d.key) for d in report.differences]


def test_verify_state_reports_the_three_direct_table_edits(
    trained: tuple[Space, Seeded],
) -> None:
    space, seeded = trained
    evaluation.evaluate(space, actor="builder", model="m", suite="s", diagnose=False)
    evaluation.evaluate(space, actor="builder", model="m", suite="s", diagnose=False)
    assert integrity.verify_state(space).ok
    assert _state_differences(space) == []

    # 1. a row added to policies grants download (no event, no ledger entry)
    with space.store.transaction() as tx:
        current = tx.get_policy(seeded.train)
        assert current is not None
        tx.add_policy(
            Policy(
                seeded.train,
                (*current.grants, parse_grant("builder:download")),
                version=current.version + 1,
                set_by="plant-a",
                set_at=current.set_at,
            )
        )
    access.authorize(space, actor="builder", ref=seeded.train, purpose=Purpose.DOWNLOAD)
    # 2. deleting eval_runs resets the model's query budget
    with space.store.engine.begin() as conn:
        conn.execute(tm.eval_runs.delete())
    # 3. editing organizations.roles changes a role
    with space.store.engine.begin() as conn:
        conn.execute(
            t.organizations.update()
            .where(t.organizations.c.name == "plant-b")
            .values(roles=["model_builder", "data_holder"])
        )
    assert ledger.verify(space).ok  # the chain itself is intact
    found = _state_differences(space)
    assert ("policies", seeded.train) in found
    assert ("policy_versions", seeded.train) in found
    assert ("eval_runs", "m/s") in found
    assert ("roles", "plant-b") in found
    assert len(found) == 4
    diff = {d.area: d for d in integrity.verify_state(space).differences}
    assert diff["eval_runs"].ledger == 2 and diff["eval_runs"].tables is None
