"""One task model: the dataset's label spec sets the task of every capability; group keys are
never features."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from resonance.domain.errors import TaskNotSupported
from resonance.domain.evaluation import regression_metrics
from resonance.domain.ladder import LADDER_MARGIN
from resonance.domain.modeling import ModelSpec, Task, TimeFeatures
from resonance.domain.policies import Purpose
from resonance.domain.review import ProposalKind
from resonance.reports.loop import render_html
from resonance.reports.valuation import render_statement
from resonance.services import access, evaluation, federation, review, training, valuation
from resonance.services import loop as loops
from resonance.services.loop_data import LoopRequest
from resonance.services.model_card import model_card
from resonance.services.space import Space
from resonance.training.features import FeatureEncoder
from resonance.training.federated.apps import FederationConfig
from tests.energy_seed import EXCLUDE, TARGET, EnergySeed, energy_table, seed_energy

SPEC = ModelSpec("lightgbm", params={"n_estimators": 40, "num_leaves": 15, "n_jobs": 1})


@pytest.fixture
def energy(lite_space: Space, tmp_path: Path) -> EnergySeed:
    return seed_energy(lite_space, tmp_path / "energy", days=42)


def _sealed_rmse(space: Space, model: str, suite: str) -> float:
    """The model's exact RMSE on the sealed rows, as the suite's owner computes it (a builder is
    shown only what the Ladder releases: rounded, and only when it improves)."""
    the_suite = evaluation.require_suite(space, suite)
    grant = access.authorize(
        space, actor=the_suite.owner, ref=the_suite.dataset, purpose=Purpose.EVALUATE
    )
    fitted = training.load_model(space, training.get_model(space, model))
    prepared = fitted.prepare(access.load_rows(space, grant.version))
    return float(regression_metrics(prepared.y, fitted.predict(prepared.X))["rmse"])


ROUNDED = LADDER_MARGIN / 2 + 1e-9  # a released score is rounded to the Ladder's step


def _spec(**kw: object) -> ModelSpec:
    return ModelSpec(SPEC.trainer, params=SPEC.params, exclude_columns=EXCLUDE, **kw)  # type: ignore[arg-type]


def test_train_takes_the_task_from_the_label_spec(lite_space: Space, energy: EnergySeed) -> None:
    mv = training.train_model(
        lite_space, actor="builder", name="kwh", spec=_spec(), datasets=energy.datasets[:1]
    )
    assert mv.spec.task is Task.REGRESSION and mv.classes == ()
    assert {"rmse", "mae", "r2"} <= set(mv.metrics["holdout"])
    assert "day" not in mv.feature_names and not any(f.startswith("day=") for f in mv.feature_names)
    run = evaluation.evaluate(lite_space, actor="builder", model=mv.ref, suite=energy.suite)
    assert run.metrics["rmse"] > 0 and "per_class_recall" not in run.metrics


def test_another_task_is_refused_before_any_work(lite_space: Space, energy: EnergySeed) -> None:
    with pytest.raises(TaskNotSupported) as err:
        training.train_model(
            lite_space,
            actor="builder",
            name="kwh",
            spec=_spec(task=Task.CLASSIFICATION),
            datasets=energy.datasets[:1],
        )
    assert err.value.code == "RES-230" and "regression" in err.value.message
    assert training.list_models(lite_space) == []


def test_a_suite_measures_its_dataset_task(lite_space: Space, energy: EnergySeed) -> None:
    with pytest.raises(TaskNotSupported):
        evaluation.register_suite(
            lite_space, actor="evaluator", name="f1-on-kwh", dataset="energy-eval"
        )


def test_the_loop_runs_regression_with_rmse_and_target_fixes(
    lite_space: Space, tmp_path: Path
) -> None:
    seeded = seed_energy(lite_space, tmp_path / "energy", days=63, reserve_share=0.4)
    req = LoopRequest(
        name="kwh-loop",
        spec=_spec(),
        datasets=seeded.datasets,
        reserves=seeded.reserves,
        budget=400,
        suite=seeded.suite,
        iterations=1,
    )
    run = loops.run(lite_space, actor="builder", request=req)
    assert run.config["task"] == "regression" and run.config["direction"] == "lower"
    assert run.summary is not None and run.summary.primary_metric == "rmse"
    base = run.iterations[0]
    assert base.primary is not None and base.primary > 0  # RMSE itself, lower is better
    assert base.worst_slice is not None and base.worst_slice >= base.primary * 0.5
    assert run.summary.lift == pytest.approx(run.summary.baseline - run.summary.final)
    assert "rmse" in base.slices[0]
    # corrupted targets of plant-b go to plant-b as fixes of a regression target
    items = review.list_items(lite_space, actor="plant-b")
    fixes = [i for i in items if i.kind is ProposalKind.FIX_TARGET]
    assert fixes and all(isinstance(i.proposed, float) for i in fixes)
    html = render_html(run)
    assert "rmse (lower is better)" in html
    # the loop's baseline is what `model train` gives on the same data (no group-key feature)
    mv = training.train_model(
        lite_space, actor="builder", name="same", spec=_spec(), datasets=seeded.datasets
    )
    assert base.primary == pytest.approx(
        _sealed_rmse(lite_space, mv.ref, seeded.suite), abs=ROUNDED
    )
    # no model the loop trained ever saw the group key
    for mv in training.list_models(lite_space, name="kwh-loop"):
        assert mv.spec.task is Task.REGRESSION
        assert not any(f == "day" or f.startswith("day=") for f in mv.feature_names)


def test_federated_least_squares_is_the_pooled_ridge(lite_space: Space, energy: EnergySeed) -> None:
    pooled = training.train_model(
        lite_space,
        actor="builder",
        name="kwh-pooled",
        spec=ModelSpec("sklearn-logreg", exclude_columns=EXCLUDE),
        datasets=energy.datasets,
    )
    fed = federation.federate(
        lite_space,
        actor="builder",
        name="kwh-fed",
        datasets=energy.datasets,
        config=FederationConfig(kind="linear", strategy="fednewton", rounds=5),
        exclude=EXCLUDE,
    )
    assert fed.spec.task is Task.REGRESSION and fed.classes == ()
    assert fed.details["federated"]["rounds_run"] <= 2  # one exact step, one to confirm
    assert "day" not in fed.feature_names
    rmse = [_sealed_rmse(lite_space, mv.ref, energy.suite) for mv in (pooled, fed)]
    assert rmse[1] == pytest.approx(rmse[0], rel=1e-4)
    assert "(regression)" in model_card(lite_space, fed.ref)
    valued = valuation.value_model(lite_space, actor="builder", model=fed.ref, suite=energy.suite)
    full = float(np.std(seed_table(energy))) - rmse[1]
    assert valued.full_score == pytest.approx(full, abs=ROUNDED)
    mlp = federation.federate(
        lite_space,
        actor="builder",
        name="kwh-mlp",
        datasets=energy.datasets,
        config=FederationConfig(kind="mlp", strategy="fedavg", rounds=3, hidden=16),
        exclude=EXCLUDE,
    )
    assert mlp.spec.task is Task.REGRESSION
    assert _sealed_rmse(lite_space, mlp.ref, energy.suite) < rmse[0] * 1.5


def test_valuation_of_a_regression_uses_the_suite_rmse(
    lite_space: Space, energy: EnergySeed
) -> None:
    mv = training.train_model(
        lite_space,
        actor="builder",
        name="kwh-ridge",
        spec=ModelSpec("sklearn-logreg", exclude_columns=EXCLUDE),
        datasets=energy.datasets,
    )
    result = valuation.value_model(lite_space, actor="builder", model=mv.ref, suite=energy.suite)
    assert result.metric.startswith("rmse reduction")
    sealed = seed_table(energy)
    rmse = _sealed_rmse(lite_space, mv.ref, energy.suite)
    assert result.full_score == pytest.approx(float(np.std(sealed)) - rmse, abs=ROUNDED)
    values = result.members
    # plant-b's corrupted targets make it the least valuable member, in both views
    assert min(values, key=lambda m: values[m]["knn_shapley"]) == "plant-b"
    assert min(values, key=lambda m: values[m]["shapley"]) == "plant-b"
    statement = render_statement(valuation.benefit_statement(lite_space, mv.ref))
    assert "rmse reduction" in statement and "macro_f1" not in statement


def seed_table(seeded: EnergySeed) -> np.ndarray:
    """The sealed targets of a seed of 42 days (every fourth week)."""
    table = energy_table(days=42)
    sealed = table["week"].to_numpy() % 4 == 0
    return np.asarray(table[TARGET].to_numpy())[sealed]


def test_no_trainer_in_any_capability_receives_the_group_key(
    lite_space: Space, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A numeric group key (the week) would be a feature if any path forgot to exclude it:
    every matrix a trainer is fitted on or predicts from is encoded by ``transform``."""
    seeded = seed_energy(
        lite_space, tmp_path / "energy", days=63, reserve_share=0.4, group_key="week"
    )
    encoded: list[list[str]] = []
    real = FeatureEncoder.transform

    def spy(self: FeatureEncoder, table: pa.Table) -> np.ndarray:
        encoded.append(list(self.source_columns))
        return real(self, table)

    monkeypatch.setattr(FeatureEncoder, "transform", spy)
    small = ModelSpec("sklearn-logreg", exclude_columns=EXCLUDE)
    mv = training.train_model(
        lite_space, actor="builder", name="g-train", spec=small, datasets=seeded.datasets
    )
    evaluation.evaluate(lite_space, actor="builder", model=mv.ref, suite=seeded.suite)
    valuation.value_model(lite_space, actor="builder", model=mv.ref, suite=seeded.suite)
    fed = federation.federate(
        lite_space,
        actor="builder",
        name="g-fed",
        datasets=seeded.datasets,
        config=FederationConfig(kind="linear", strategy="fednewton", rounds=3),
        exclude=EXCLUDE,
    )
    evaluation.evaluate(lite_space, actor="builder", model=fed.ref, suite=seeded.suite)
    req = LoopRequest(
        name="g-loop",
        spec=small,
        datasets=seeded.datasets,
        reserves=seeded.reserves,
        budget=200,
        suite=seeded.suite,
        iterations=1,
    )
    loops.run(lite_space, actor="builder", request=req)
    assert len(encoded) > 20
    assert not any("week" in cols for cols in encoded)
    for model in training.list_models(lite_space):
        assert "week" not in model.feature_names


def test_time_series_features_are_computed_alike_in_training_evaluation_and_federation(
    lite_space: Space, tmp_path: Path
) -> None:
    seeded = seed_energy(lite_space, tmp_path / "energy", days=42, time_column="t")
    lags = TimeFeatures((TARGET,), lags=(1, 2), windows=(4,))
    ridge = ModelSpec("sklearn-logreg", exclude_columns=EXCLUDE)
    plain = training.train_model(
        lite_space, actor="builder", name="plain", spec=ridge, datasets=seeded.datasets
    )
    lagged = training.train_model(
        lite_space,
        actor="builder",
        name="lagged",
        spec=ModelSpec("sklearn-logreg", exclude_columns=EXCLUDE, time_features=lags),
        datasets=seeded.datasets,
    )
    assert {f"{TARGET}__lag1", f"{TARGET}__mean4"} <= set(lagged.feature_names)
    assert "t" not in lagged.feature_names
    assert lagged.metrics["holdout"]["holdout_split"].startswith("time-ordered")
    fed = federation.federate(
        lite_space,
        actor="builder",
        name="lagged-fed",
        datasets=seeded.datasets,
        config=FederationConfig(kind="linear", strategy="fednewton", rounds=3),
        exclude=EXCLUDE,
        time_features=lags,
    )
    assert fed.spec.time_features == lags and set(fed.feature_names) == set(lagged.feature_names)
    rmse = {mv.name: _sealed_rmse(lite_space, mv.ref, seeded.suite) for mv in (plain, lagged, fed)}
    # and the builder's own evaluation runs the same features on the sealed rows
    shown = evaluation.evaluate(lite_space, actor="builder", model=lagged.ref, suite=seeded.suite)
    assert shown.metrics["rmse"] == pytest.approx(rmse["lagged"], abs=ROUNDED)
    # members impute a group's first rows (no earlier row) with the row-weighted mean of their
    # medians, pooled training with the pooled median: the one difference
    assert rmse["lagged-fed"] == pytest.approx(rmse["lagged"], rel=2e-3)
    assert rmse["lagged"] < rmse["plain"]  # the previous quarter-hours help
    fitted = training.load_model(lite_space, lagged)
    assert "time position" in fitted.encoder.frame(seed_table_rows(42)).columns


def seed_table_rows(days: int) -> pa.Table:
    """The first ``days`` days of steel-energy (as the seed reads them)."""
    return energy_table(days=days)
