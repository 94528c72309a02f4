"""Every registered trainer on both shared datasets; group-aware splits."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import pytest

from resonance.domain.datasets import LabelKind, LabelSpec
from resonance.domain.errors import InvalidInput, TrainingFailed
from resonance.domain.modeling import ModelSpec, Task
from resonance.services.training import holdout_metrics
from resonance.training.features import label_values, prepare_xy
from resonance.training.trainers import TRAINERS, fit_model, get_trainer, split
from tests.conftest import AI4I_CSV, STEEL_CSV
from tests.model_seed import AI4I_EXCLUDE, ai4i_label, steel_label

SMALL = {
    "sklearn-logreg": {},
    "sklearn-rf": {"n_estimators": 30, "n_jobs": 1},
    "sklearn-mlp": {"hidden_layer_sizes": 32, "max_iter": 150},
    "lightgbm": {"n_estimators": 30, "n_jobs": 1},
}


@pytest.fixture(scope="module")
def steel() -> pa.Table:
    return pcsv.read_csv(STEEL_CSV)


@pytest.fixture(scope="module")
def ai4i() -> pa.Table:
    table = pcsv.read_csv(AI4I_CSV)
    keep = np.random.default_rng(0).permutation(table.num_rows)[:4000]
    return table.take(np.sort(keep))


def test_every_trainer_is_tested() -> None:
    assert set(SMALL) == set(TRAINERS)
    with pytest.raises(InvalidInput):
        get_trainer("nope")


@pytest.mark.parametrize("trainer", sorted(SMALL))
def test_steel_multiclass(trainer: str, steel: pa.Table) -> None:
    prepared = prepare_xy(steel, steel_label())
    assert len(prepared.classes) == 7 and "Pastry_Fault" not in prepared.feature_names
    spec = ModelSpec(trainer, params=SMALL[trainer])
    m = holdout_metrics(spec, prepared, label=steel_label(), seed=0)
    assert m["macro_f1"] > 0.45 and m["roc_auc"] > 0.8
    assert set(m["per_class_recall"]) == set(prepared.classes)


@pytest.mark.parametrize("trainer", sorted(SMALL))
def test_ai4i_failure(trainer: str, ai4i: pa.Table) -> None:
    prepared = prepare_xy(ai4i, ai4i_label(), exclude=AI4I_EXCLUDE)
    assert prepared.classes == ("0", "1")
    assert not set(AI4I_EXCLUDE) & set(prepared.feature_names)
    assert {"Type=H", "Type=L", "Type=M"} <= set(prepared.feature_names)
    m = holdout_metrics(
        ModelSpec(trainer, params=SMALL[trainer]), prepared, label=ai4i_label(), seed=0
    )
    assert m["accuracy"] > 0.95 and m["roc_auc"] > 0.75


@pytest.mark.parametrize("trainer", sorted(SMALL))
def test_ai4i_regression_of_torque(trainer: str, ai4i: pa.Table) -> None:
    label = LabelSpec(LabelKind.COLUMN, ("Torque [Nm]",), Task.REGRESSION)
    spec = ModelSpec(trainer, params=SMALL[trainer])
    prepared = prepare_xy(ai4i, label, exclude=AI4I_EXCLUDE)
    assert prepared.classes == ()
    m = holdout_metrics(spec, prepared, label=label, seed=0)
    assert m["r2"] > 0.5 and m["rmse"] < 8


def test_group_split_never_leaks_a_group(ai4i: pa.Table) -> None:
    table = ai4i.append_column("machine", pc.divide(ai4i["UDI"], 97))
    prepared = prepare_xy(table, ai4i_label(), exclude=AI4I_EXCLUDE, group_key="machine")
    assert "machine" not in prepared.feature_names and prepared.groups is not None
    for seed in range(5):
        tr, te = split(prepared, seed=seed)
        assert len(tr) + len(te) == table.num_rows
        assert not set(prepared.groups[tr].tolist()) & set(prepared.groups[te].tolist())
        assert 0.1 < len(te) / table.num_rows < 0.35


def test_stratified_split_keeps_rare_classes(steel: pa.Table) -> None:
    prepared = prepare_xy(steel, steel_label())
    tr, te = split(prepared, seed=0)
    assert set(prepared.y[te].tolist()) == set(range(7))
    assert not set(tr.tolist()) & set(te.tolist())


def test_probabilities_line_up_when_training_lacks_a_class(steel: pa.Table) -> None:
    prepared = prepare_xy(steel, steel_label())
    keep = prepared.y != prepared.classes.index("Stains_Fault")
    prepared.X, prepared.y = prepared.X[keep], prepared.y[keep]
    model = fit_model(ModelSpec("sklearn-logreg"), prepared, label=steel_label())
    proba = model.predict_proba(prepared.X[:50])
    assert proba.shape == (50, 7)
    assert np.allclose(proba[:, prepared.classes.index("Stains_Fault")], 0)
    assert np.allclose(proba.sum(axis=1), 1)


def test_labels_and_bad_inputs(steel: pa.Table) -> None:
    values = label_values(steel, steel_label())
    assert set(values.tolist()) <= set(steel_label().columns)
    with pytest.raises(InvalidInput):
        prepare_xy(steel, LabelSpec(LabelKind.COLUMN, ("nope",)))
    with pytest.raises(InvalidInput):
        prepare_xy(steel, steel_label(), feature_columns=("nope",))
    one = prepare_xy(steel.slice(0, 5), steel_label())
    with pytest.raises(TrainingFailed):
        fit_model(ModelSpec("sklearn-logreg"), one, label=steel_label())
