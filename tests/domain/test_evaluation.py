"""Metrics, their directions, thresholds and suite validation."""

from __future__ import annotations

import numpy as np
import pytest

from resonance.domain.errors import InvalidInput
from resonance.domain.evaluation import (
    METRIC_DIRECTIONS,
    EvaluationSuite,
    classification_metrics,
    improved,
    passes,
    per_slice_metrics,
    regression_metrics,
)

CLASSES = ("a", "b", "c")


def test_classification_metrics_per_class_and_overall() -> None:
    y = np.array([0, 0, 1, 1, 2, 2])
    pred = np.array([0, 0, 1, 0, 2, 1])
    proba = np.eye(3)[pred] * 0.8 + 0.2 / 3
    m = classification_metrics(y, pred, proba, classes=CLASSES)
    assert m["accuracy"] == pytest.approx(4 / 6)
    assert m["per_class_recall"] == {"a": 1.0, "b": 0.5, "c": 0.5}
    assert m["worst_class_recall"] == 0.5
    assert m["support"] == {"a": 2, "b": 2, "c": 2}
    assert 0.5 < m["roc_auc"] <= 1.0
    assert classification_metrics(y, pred, None, classes=CLASSES)["roc_auc"] is None


def test_absent_classes_do_not_count_and_binary_auc() -> None:
    y = np.array([0, 0, 1, 1])
    m = classification_metrics(y, y, np.eye(3)[y], classes=CLASSES)
    assert m["macro_f1"] == 1.0 and "c" not in m["per_class_recall"]
    binary = classification_metrics(y, y, np.eye(2)[y], classes=("no", "yes"))
    assert binary["roc_auc"] == 1.0
    one = classification_metrics(
        np.zeros(3, int), np.zeros(3, int), np.eye(2)[[0, 0, 0]], classes=("no", "yes")
    )
    assert one["roc_auc"] is None


def test_regression_metrics() -> None:
    m = regression_metrics(np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 5.0]))
    assert m["mae"] == pytest.approx(2 / 3)
    assert m["rmse"] == pytest.approx(np.sqrt(4 / 3))
    assert m["r2"] < 1


def test_per_slice_metrics_by_mask_or_indices() -> None:
    y = np.array([0, 0, 1, 1, 2, 2])
    pred = np.array([0, 0, 1, 0, 2, 1])
    out = per_slice_metrics(
        y,
        pred,
        {"first": np.array([True, True, True, False, False, False]), "last": np.array([3, 5])},
        classes=CLASSES,
    )
    assert out["first"]["size"] == 3 and out["first"]["accuracy"] == 1.0
    assert out["last"]["accuracy"] == 0.0 and out["last"]["per_class_recall"]["b"] == 0.0
    reg = per_slice_metrics(
        np.array([1.0, 2.0, 3.0]),
        np.array([1.0, 2.0, 5.0]),
        {"all": np.ones(3, bool), "none": np.zeros(3, bool)},
    )
    assert reg["all"]["mae"] == pytest.approx(2 / 3) and reg["none"] == {"size": 0}


def test_passes_and_improved_honour_directions() -> None:
    assert METRIC_DIRECTIONS["rmse"] == "lower" and METRIC_DIRECTIONS["macro_f1"] == "higher"
    metrics = {"macro_f1": 0.8, "rmse": 1.5, "roc_auc": None}
    assert passes(metrics, {"macro_f1": 0.7, "rmse": 2.0, "roc_auc": 0.5, "mae": 1.0}) == {
        "macro_f1": True,
        "rmse": True,
        "roc_auc": False,
        "mae": False,
    }
    assert passes(metrics, {"macro_f1": 0.9, "rmse": 1.0}) == {"macro_f1": False, "rmse": False}
    assert improved(0.81, 0.8, metric="macro_f1")
    assert not improved(0.81, 0.8, metric="macro_f1", min_delta=0.02)
    assert improved(1.0, 1.5, metric="rmse") and not improved(1.6, 1.5, metric="rmse")


def test_suite_validation() -> None:
    suite = EvaluationSuite("s", "ev", "d@1", ("accuracy",), {"accuracy": 0.5})
    assert suite.to_dict()["query_budget"] == 20
    with pytest.raises(InvalidInput):
        EvaluationSuite("s", "ev", "d@1", ("accuracy", "bogus"))
    with pytest.raises(InvalidInput):
        EvaluationSuite("s", "ev", "d@1", ("accuracy",), primary_metric="bogus")
    with pytest.raises(InvalidInput):
        EvaluationSuite("s", "ev", "d@1", ("accuracy",), query_budget=0)
    with pytest.raises(InvalidInput):
        EvaluationSuite("s", "ev", "d@1", ("accuracy",), {"acurracy": 0.5})
    with pytest.raises(InvalidInput):
        EvaluationSuite("s", "ev", "d@1", ("rmse",))  # primary macro_f1 is a classification metric
    with pytest.raises(InvalidInput):
        EvaluationSuite("s", "ev", "d@1", ("accuracy", "mae"), primary_metric="accuracy")
    assert EvaluationSuite("s", "ev", "d@1", ("rmse",), {"mae": 2.0}, primary_metric="rmse")
    report = suite.report({"accuracy": 0.9, "macro_f1": 0.8, "roc_auc": 0.7, "support": {}})
    assert report == {"accuracy": 0.9, "macro_f1": 0.8, "support": {}}
