"""One task model: the dataset's label spec sets the task of every capability; group keys are
never features."""

from __future__ import annotations

from pathlib import Path

import pytest

from resonance.domain.errors import TaskNotSupported
from resonance.domain.modeling import ModelSpec, Task
from resonance.services import evaluation, training
from resonance.services.space import Space
from tests.energy_seed import EXCLUDE, EnergySeed, seed_energy

SPEC = ModelSpec("lightgbm", params={"n_estimators": 40, "num_leaves": 15, "n_jobs": 1})


@pytest.fixture
def energy(lite_space: Space, tmp_path: Path) -> EnergySeed:
    return seed_energy(lite_space, tmp_path / "energy", days=42)


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
