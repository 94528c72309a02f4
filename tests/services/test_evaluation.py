"""Sealed suites, query budgets, diagnoses and model cards on both shared datasets."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from resonance.domain.datasets import DatasetKind, LabelKind, LabelSpec
from resonance.domain.errors import (
    AlreadyExists,
    BudgetExhausted,
    InvalidInput,
    PolicyDenied,
    RoleRequired,
)
from resonance.domain.ladder import LADDER_MARGIN, MIN_CLASS_SUPPORT
from resonance.domain.modeling import ModelSpec, Task
from resonance.domain.policies import Purpose, parse_grant
from resonance.services import access, catalog, evaluation, ledger, policies, training
from resonance.services.model_card import model_card
from resonance.services.space import Space
from tests.conftest import AI4I_CSV
from tests.model_seed import AI4I_EXCLUDE, Seeded, assert_no_sealed_row, seed, split_file

LGBM = ModelSpec("lightgbm", params={"n_estimators": 30, "n_jobs": 1})


def suite(space: Space, seeded: Seeded, name: str = "s", **kw: Any) -> None:
    evaluation.register_suite(
        space,
        actor="evaluator",
        name=name,
        dataset=seeded.sealed,
        thresholds={"macro_f1": 0.6},
        **kw,
    )


def test_steel_evaluation_with_diagnosis(space: Space, tmp_path: Path) -> None:
    seeded = seed(space, tmp_path / "data")
    suite(space, seeded)
    mv = training.train_model(space, actor="builder", name="m", spec=LGBM, datasets=[seeded.train])
    run = evaluation.evaluate(space, actor="builder", model="m", suite="s")
    assert run.model == "m@1" and run.passed == {"macro_f1": run.metrics["macro_f1"] >= 0.6}
    assert run.metrics["macro_f1"] > 0.5 and run.metrics["ladder"]["released"]
    # issue 9: per-class figures of classes with fewer than MIN_CLASS_SUPPORT sealed rows are
    # withheld; the others are rounded to the Ladder's margin
    shown = run.metrics["per_class_recall"]
    assert 0 < len(shown) == 7 - run.metrics["withheld_classes"]
    assert set(shown) == set(run.metrics["support"])
    assert all(n >= MIN_CLASS_SUPPORT for n in run.metrics["support"].values())
    assert sum(run.metrics["support"].values()) <= seeded.sealed_table.num_rows
    assert all(round(v / LADDER_MARGIN, 6) % 1 == 0 for v in shown.values())
    diag = run.diagnosis
    assert diag["slices"] and all(
        s["error_rate"] > 1 - run.metrics["accuracy"] for s in diag["slices"]
    )
    assert [s["score"] for s in diag["slices"]] == sorted(
        (s["score"] for s in diag["slices"]), reverse=True
    )
    assert isinstance(diag["coverage_gaps"], list)
    assert 0 < diag["label_issues"]["count"] < mv.metrics["rows"] / 2
    assert_no_sealed_row(run.to_dict(), seeded.sealed_table, train_refs=set(mv.datasets))
    _, sealed_versions = catalog.show_dataset(space, seeded.sealed)
    evaluated = ledger.entries(space, action="model.evaluated")
    assert [e.object_id for e in evaluated] == ["m@1"]
    assert (
        evaluated[0].payload["dataset_hash"] == sealed_versions[-1].content_hash == run.dataset_hash
    )
    assert "diagnosis" not in evaluated[0].payload
    sealed_reads = [
        e
        for e in ledger.entries(space, action="data.accessed")
        if e.object_id.startswith(seeded.sealed)
    ]
    assert [(e.actor, e.payload["on_behalf_of"], e.payload["purpose"]) for e in sealed_reads] == [
        ("evaluator", "builder", "evaluate")
    ]
    assert evaluation.list_runs(space, model="m@1") == [run]


def test_ai4i_evaluation_and_model_card(lite_space: Space, tmp_path: Path) -> None:
    seeded = seed(lite_space, tmp_path / "data", which="ai4i")
    suite(lite_space, seeded, scenario="failure-prediction")
    spec = ModelSpec(
        "lightgbm", params={"n_estimators": 30, "n_jobs": 1}, exclude_columns=AI4I_EXCLUDE
    )
    mv = training.train_model(
        lite_space,
        actor="builder",
        name="ai4i-m",
        spec=spec,
        datasets=[seeded.train],
        details={"dp_epsilon": 3.0},
    )
    run = evaluation.evaluate(lite_space, actor="builder", model="ai4i-m@1", suite="s")
    assert run.metrics["accuracy"] > 0.95 and run.metrics["roc_auc"] > 0.8
    assert set(run.metrics["per_class_recall"]) == {"0", "1"}
    assert_no_sealed_row(run.to_dict(), seeded.sealed_table, train_refs=set(mv.datasets))
    card = model_card(lite_space, "ai4i-m")
    assert card.startswith("# Model card: ai4i-m@1")
    for expected in (
        mv.dataset_hashes[0],
        mv.code_version,
        "n_estimators",
        "| s |",
        "dp_epsilon",
        "Weak slices",
    ):
        assert expected in card
    assert (
        "Suspected label errors" in card and "Coverage gaps" in card and "Holdout metrics" in card
    )


def test_query_budget_is_per_organization_and_suite(lite_space: Space, tmp_path: Path) -> None:
    seeded = seed(lite_space, tmp_path / "data")
    suite(lite_space, seeded, query_budget=2)
    suite(lite_space, seeded, name="other", query_budget=1)
    logreg = ModelSpec("sklearn-logreg")
    training.train_model(
        lite_space, actor="builder", name="m", spec=logreg, datasets=[seeded.train]
    )
    for _ in range(2):
        evaluation.evaluate(lite_space, actor="builder", model="m", suite="s", diagnose=False)
    assert evaluation.remaining_budget(lite_space, model_name="m", suite="s") == 0
    training.train_model(
        lite_space, actor="builder", name="m", spec=logreg, datasets=[seeded.train]
    )
    with pytest.raises(BudgetExhausted) as exhausted:  # a new version does not reset the budget
        evaluation.evaluate(lite_space, actor="builder", model="m@2", suite="s", diagnose=False)
    assert exhausted.value.code == "RES-130"
    evaluation.evaluate(lite_space, actor="builder", model="m@2", suite="other", diagnose=False)
    assert len(evaluation.list_runs(lite_space)) == 3
    assert len(ledger.entries(lite_space, action="model.evaluated")) == 3
    # issue 9: a renamed model shares its builder's budget
    training.train_model(
        lite_space, actor="builder", name="m2", spec=logreg, datasets=[seeded.train]
    )
    assert evaluation.remaining_budget(lite_space, model_name="m2", suite="s") == 0
    with pytest.raises(BudgetExhausted):
        evaluation.evaluate(lite_space, actor="builder", model="m2", suite="s", diagnose=False)
    assert evaluation.remaining_budget(lite_space, organization="plant-a", suite="s") == 2


def test_suite_rules_and_who_may_evaluate(lite_space: Space, tmp_path: Path) -> None:
    seeded = seed(lite_space, tmp_path / "data")
    with pytest.raises(RoleRequired):
        evaluation.register_suite(lite_space, actor="builder", name="s", dataset=seeded.sealed)
    with pytest.raises(InvalidInput):  # not an evaluation dataset
        evaluation.register_suite(lite_space, actor="evaluator", name="s", dataset=seeded.train)
    suite(lite_space, seeded)
    with pytest.raises(AlreadyExists):
        suite(lite_space, seeded)
    assert [s.name for s in evaluation.list_suites(lite_space)] == ["s"]
    training.train_model(
        lite_space,
        actor="builder",
        name="m",
        spec=ModelSpec("sklearn-logreg"),
        datasets=[seeded.train],
    )
    with pytest.raises(InvalidInput):  # only the model's builder (or the operator) evaluates it
        evaluation.evaluate(lite_space, actor="plant-a", model="m", suite="s", diagnose=False)
    with pytest.raises(PolicyDenied):  # the diagnosis reads training rows the operator may not
        evaluation.evaluate(lite_space, actor="operator", model="m", suite="s")
    sealed_reads = ledger.entries(lite_space, action="data.accessed", actor="evaluator")
    assert sealed_reads == []  # it stopped before touching the sealed set
    run = evaluation.evaluate(lite_space, actor="operator", model="m", suite="s", diagnose=False)
    assert run.created_by == "operator" and run.diagnosis == {}


def test_no_service_call_gives_a_builder_sealed_rows(lite_space: Space, tmp_path: Path) -> None:
    seeded = seed(lite_space, tmp_path / "data")
    for purpose in Purpose:
        with pytest.raises(PolicyDenied) as denied:
            access.read_version(lite_space, actor="builder", ref=seeded.sealed, purpose=purpose)
        assert denied.value.code == "RES-120"
    denials = ledger.entries(lite_space, action="data.access_denied", actor="builder", limit=None)
    assert len(denials) == len(Purpose)
    with pytest.raises(PolicyDenied):
        training.train_model(
            lite_space, actor="builder", name="m", spec=LGBM, datasets=[seeded.sealed]
        )
    suite(lite_space, seeded)
    mv = training.train_model(
        lite_space, actor="builder", name="m", spec=LGBM, datasets=[seeded.train]
    )
    run = evaluation.evaluate(lite_space, actor="builder", model="m", suite="s")
    assert_no_sealed_row(run.to_dict(), seeded.sealed_table, train_refs=set(mv.datasets))
    assert_no_sealed_row(
        {"card": model_card(lite_space, "m")}, seeded.sealed_table, train_refs=set(mv.datasets)
    )
    for entry in ledger.entries(lite_space, limit=None):
        assert_no_sealed_row(entry.payload, seeded.sealed_table, train_refs=set(mv.datasets))


def test_regression_suite_and_slices(lite_space: Space, tmp_path: Path) -> None:
    train_csv, eval_csv, _ = split_file(AI4I_CSV, tmp_path / "data", eval_share=0.2)
    label = LabelSpec(LabelKind.COLUMN, ("Torque [Nm]",), Task.REGRESSION)
    for actor, path, name, kind in [
        ("plant-a", train_csv, "torque-a", DatasetKind.COMMON),
        ("evaluator", eval_csv, "torque-eval", DatasetKind.EVALUATION),
    ]:
        new = catalog.NewDataset(actor, kind, "industrial-machinery", label=label)
        catalog.ingest(lite_space, actor=actor, path=path, dataset=name, new=new)
    policies.set_policy(
        lite_space,
        actor="plant-a",
        dataset="torque-a",
        grants=[parse_grant("builder:train-pooled")],
    )
    evaluation.register_suite(
        lite_space,
        actor="evaluator",
        name="torque",
        dataset="torque-eval",
        metrics=("rmse", "mae", "r2"),
        thresholds={"rmse": 8.0},
    )
    assert evaluation.require_suite(lite_space, "torque").primary_metric == "rmse"
    spec = ModelSpec(
        "sklearn-rf", Task.REGRESSION, {"n_estimators": 20, "n_jobs": 1}, None, AI4I_EXCLUDE
    )
    training.train_model(lite_space, actor="builder", name="tq", spec=spec, datasets=["torque-a"])
    run = evaluation.evaluate(lite_space, actor="builder", model="tq", suite="torque")
    assert set(run.metrics) == {"rmse", "mae", "r2", "ladder"} and run.passed == {"rmse": True}
    assert run.diagnosis["slices"] and "mae" in run.diagnosis["slices"][0]
    assert run.diagnosis["label_issues"]["method"].startswith("out-of-fold residuals")
    assert "No per-class metrics" in model_card(lite_space, "tq")
