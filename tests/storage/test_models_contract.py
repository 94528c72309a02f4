"""Contract tests of the model repository (model versions, suites, runs) on every backend."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest
import sqlalchemy as sa

from resonance.domain.errors import Conflict
from resonance.domain.evaluation import EvaluationRun, EvaluationSuite
from resonance.domain.modeling import ModelSpec, ModelVersion, Task
from resonance.domain.orgs import Organization, Role
from resonance.storage.sql import SqlStore

NOW = "2026-11-22T00:00:00+00:00"
DUPLICATE = (sa.exc.IntegrityError, Conflict)


@pytest.fixture
def store(db_url: str) -> Iterator[SqlStore]:
    s = SqlStore(db_url)
    s.migrate()
    with s.transaction() as tx:
        for name, role in [("lab", Role.MODEL_BUILDER), ("ev", Role.EVALUATOR)]:
            tx.add_organization(Organization(name, frozenset({role}), "Hebei"), created_at=NOW)
    yield s
    s.close()


BASE = ModelVersion(
    name="m",
    number=1,
    spec=ModelSpec(
        "lightgbm", Task.CLASSIFICATION, {"n_estimators": 30, "n_jobs": 1}, None, ("UDI",)
    ),
    datasets=("a@1", "b@2"),
    dataset_hashes=("1" * 64, "2" * 64),
    artifact_hash="f" * 64,
    code_version="0.1.0+abc",
    created_by="lab",
    created_at=NOW,
    metrics={"holdout": {"macro_f1": 0.8, "per_class_recall": {"x": 0.5}}, "rows": 10},
    classes=("x", "y"),
    feature_names=("f1", "Type=L"),
    industry="steel",
    scenario=None,
    details={"federated": {"rounds": 3}, "dp_epsilon": 2.5},
)


def version(name: str = "m", number: int = 1, spec: ModelSpec | None = None) -> ModelVersion:
    return replace(BASE, name=name, number=number, spec=spec or BASE.spec)


def run(run_id: str, model: str = "m@1", suite: str = "s", at: str = NOW) -> EvaluationRun:
    return EvaluationRun(
        run_id,
        model,
        suite,
        "e" * 64,
        {"macro_f1": 0.7, "per_class_recall": {"x": 0.6}},
        {"macro_f1": True},
        {"slices": [{"slice": "f1 < 2", "size": 40}], "coverage_gaps": []},
        "lab",
        at,
    )


def test_model_versions_round_trip(store: SqlStore) -> None:
    with store.transaction() as tx:
        tx.add_model_version(version())
        tx.add_model_version(version(number=2, spec=ModelSpec("sklearn-rf", Task.REGRESSION)))
        tx.add_model_version(version("other"))
    with store.transaction() as tx:
        assert tx.get_model_version("m", 1) == version()
        latest = tx.get_model_version("m")
        assert latest is not None and latest.number == 2 and latest.spec.task is Task.REGRESSION
        assert tx.get_model_version("m", 3) is None and tx.get_model_version("nope") is None
        assert [v.ref for v in tx.list_model_versions()] == ["m@1", "m@2", "other@1"]
        assert [v.ref for v in tx.list_model_versions(name="m")] == ["m@1", "m@2"]
        assert tx.list_model_versions(created_by="ev") == []


def test_a_model_version_number_is_taken_once(store: SqlStore) -> None:
    with store.transaction() as tx:
        tx.add_model_version(version())
    with pytest.raises(DUPLICATE), store.transaction() as tx:
        tx.add_model_version(version())


def test_suites_and_runs(store: SqlStore) -> None:
    suite = EvaluationSuite("s", "ev", "d@1", ("accuracy", "macro_f1"), {"macro_f1": 0.6}, "sc", 3)
    with store.transaction() as tx:
        tx.add_suite(suite, created_at=NOW)
        tx.add_suite(
            EvaluationSuite("t", "ev", "d@1", ("rmse",), primary_metric="rmse"), created_at=NOW
        )
        tx.add_eval_run(run("r2", at="2026-11-22T00:00:02+00:00"))
        tx.add_eval_run(run("r1", at="2026-11-22T00:00:01+00:00"))
        tx.add_eval_run(run("r3", model="m@2", suite="t"))
    with store.transaction() as tx:
        assert tx.get_suite("s") == suite and tx.get_suite("nope") is None
        assert [s.name for s in tx.list_suites()] == ["s", "t"]
        assert [r.id for r in tx.list_eval_runs(suite="s")] == ["r1", "r2"]
        assert [r.id for r in tx.list_eval_runs(model="m@2")] == ["r3"]
        assert {r.id for r in tx.list_eval_runs(model_name="m")} == {"r1", "r2", "r3"}
        assert tx.list_eval_runs(model="m@1", suite="s")[0] == run(
            "r1", at="2026-11-22T00:00:01+00:00"
        )
        assert tx.count_eval_runs(model_name="m", suite="s") == 2
        assert tx.count_eval_runs(model_name="m", suite="t") == 1
        assert tx.count_eval_runs(model_name="x", suite="s") == 0
    with pytest.raises(DUPLICATE), store.transaction() as tx:
        tx.add_suite(suite, created_at=NOW)
