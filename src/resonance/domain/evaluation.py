"""Evaluation metrics, suites and results.

Score directions: ``accuracy``, ``macro_f1``, ``roc_auc``, per-class recall and
``r2`` are higher-is-better; ``rmse`` and ``mae`` are lower-is-better
(:data:`METRIC_DIRECTIONS`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

from resonance.domain.datasets import Task
from resonance.domain.errors import InvalidInput, TaskNotSupported

HIGHER = "higher"
LOWER = "lower"
METRIC_DIRECTIONS: dict[str, str] = {
    "accuracy": HIGHER,
    "macro_f1": HIGHER,
    "roc_auc": HIGHER,
    "worst_class_recall": HIGHER,
    "r2": HIGHER,
    "rmse": LOWER,
    "mae": LOWER,
}
CLASSIFICATION_METRICS = ("accuracy", "macro_f1", "roc_auc", "worst_class_recall")
REGRESSION_METRICS = ("rmse", "mae", "r2")


def classification_metrics(
    y_true: np.ndarray, y_pred: np.ndarray, proba: np.ndarray | None, *, classes: tuple[str, ...]
) -> dict[str, Any]:
    """Accuracy, macro-F1, ROC-AUC (one-vs-rest) and per-class recall.

    Parameters
    ----------
    y_true, y_pred:
        Integer class indices into ``classes``.
    proba:
        Predicted probabilities, shape (n, len(classes)); ``None`` skips ROC-AUC.
    classes:
        Class names in index order.
    """
    import numpy as np  # numpy and scikit-learn load only when scoring (the CLI starts fast)
    from sklearn.metrics import accuracy_score, f1_score, recall_score

    labels = np.arange(len(classes))
    recall = recall_score(y_true, y_pred, labels=labels, average=None, zero_division=0)
    present = np.isin(labels, y_true)
    out: dict[str, Any] = {
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "macro_f1": float(
            f1_score(y_true, y_pred, labels=labels[present], average="macro", zero_division=0)
        ),
        "per_class_recall": {classes[i]: float(recall[i]) for i in labels if present[i]},
        "worst_class_recall": float(recall[present].min()) if present.any() else 0.0,
        "support": {classes[i]: int((y_true == i).sum()) for i in labels},
    }
    out["roc_auc"] = _roc_auc(y_true, proba, len(classes)) if proba is not None else None
    return out


def _roc_auc(y_true: np.ndarray, proba: np.ndarray, n_classes: int) -> float | None:
    import numpy as np
    from sklearn.metrics import roc_auc_score

    present = np.unique(y_true)
    if len(present) < 2:
        return None
    if n_classes == 2:
        return float(roc_auc_score(y_true, proba[:, 1]))
    cols = proba[:, present]
    cols = cols / np.clip(cols.sum(axis=1, keepdims=True), 1e-12, None)
    if len(present) == 2:  # two classes present of more: a binary AUC
        return float(roc_auc_score(y_true == present[1], cols[:, 1]))
    return float(roc_auc_score(y_true, cols, multi_class="ovr", labels=present))


def regression_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, Any]:
    """RMSE, MAE (lower is better) and R² (higher is better)."""
    import numpy as np
    from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score

    return {
        "rmse": float(np.sqrt(mean_squared_error(y_true, y_pred))),
        "mae": float(mean_absolute_error(y_true, y_pred)),
        "r2": float(r2_score(y_true, y_pred)) if len(y_true) > 1 else None,
    }


def per_slice_metrics(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    slices: Mapping[str, np.ndarray],
    *,
    classes: tuple[str, ...] = (),
    proba: np.ndarray | None = None,
) -> dict[str, dict[str, Any]]:
    """Metrics within each slice, keyed like ``slices``.

    Parameters
    ----------
    y_true, y_pred:
        Class indices into ``classes`` (classification) or values (regression,
        when ``classes`` is empty).
    slices:
        Slice name to a boolean mask or row indices.
    proba:
        Class probabilities for ROC-AUC within a slice (classification only).

    Returns
    -------
    dict
        Per slice: ``size`` and :func:`classification_metrics` (higher = better,
        ``per_class_recall`` included) or :func:`regression_metrics` (``rmse``
        and ``mae`` lower = better); an empty slice gets only ``size`` 0.
    """
    import numpy as np

    out: dict[str, dict[str, Any]] = {}
    for name, rows in slices.items():
        idx = np.flatnonzero(rows) if np.asarray(rows).dtype == bool else np.asarray(rows)
        if len(idx) == 0:
            out[name] = {"size": 0}
        elif classes:
            sub = proba[idx] if proba is not None else None
            out[name] = {
                "size": len(idx),
                **classification_metrics(y_true[idx], y_pred[idx], sub, classes=classes),
            }
        else:
            out[name] = {"size": len(idx), **regression_metrics(y_true[idx], y_pred[idx])}
    return out


def passes(metrics: dict[str, Any], thresholds: dict[str, float]) -> dict[str, bool]:
    """Whether each thresholded metric passes, honouring its direction."""
    out = {}
    for name, bound in thresholds.items():
        value = metrics.get(name)
        if value is None:
            out[name] = False
        elif METRIC_DIRECTIONS.get(name, HIGHER) == HIGHER:
            out[name] = float(value) >= bound
        else:
            out[name] = float(value) <= bound
    return out


def improved(new: float, old: float, *, metric: str, min_delta: float = 0.0) -> bool:
    """True when ``new`` beats ``old`` by more than ``min_delta`` in the metric's direction."""
    if METRIC_DIRECTIONS.get(metric, HIGHER) == HIGHER:
        return new > old + min_delta
    return new < old - min_delta


@dataclass(frozen=True)
class EvaluationSuite:
    """A sealed evaluation suite: an evaluation dataset version, metrics and thresholds."""

    name: str
    owner: str
    dataset: str
    metrics: tuple[str, ...]
    thresholds: dict[str, float] = field(default_factory=dict)
    scenario: str | None = None
    query_budget: int = 20
    primary_metric: str = "macro_f1"

    def __post_init__(self) -> None:
        unknown = [m for m in (*self.metrics, *self.thresholds) if m not in METRIC_DIRECTIONS]
        if unknown or self.primary_metric not in METRIC_DIRECTIONS:
            raise InvalidInput(
                f"unknown metric(s) {unknown or [self.primary_metric]}; "
                f"choose from {', '.join(METRIC_DIRECTIONS)}"
            )
        if self.query_budget < 1:
            raise InvalidInput("query budget must be at least 1")
        families = {
            "regression" if m in REGRESSION_METRICS else "classification"
            for m in (*self.metrics, *self.thresholds, self.primary_metric)
        }
        if len(families) > 1:
            raise InvalidInput(
                "a suite's metrics, thresholds and primary metric must all be classification "
                f"({', '.join(CLASSIFICATION_METRICS)}) or all regression "
                f"({', '.join(REGRESSION_METRICS)}) metrics"
            )

    @property
    def task(self) -> Task:
        """The task the suite's metrics measure."""
        return Task.REGRESSION if self.primary_metric in REGRESSION_METRICS else Task.CLASSIFICATION

    def check_task(self, task: Task | None, *, what: str) -> None:
        """Refuse (``TaskNotSupported``) a model or dataset of another task than the suite's."""
        if task is not None and task is not self.task:
            raise TaskNotSupported(
                f"suite {self.name} measures {self.task.value} ({self.primary_metric}); "
                f"{what} is {task.value}",
                suite=self.name,
                task=task.value,
            )

    def report(self, metrics: dict[str, Any]) -> dict[str, Any]:
        """The metrics this suite reports: its own, thresholded and primary ones, per class."""
        keep = {*self.metrics, *self.thresholds, self.primary_metric, "per_class_recall", "support"}
        return {k: v for k, v in metrics.items() if k in keep}

    def to_dict(self) -> dict[str, Any]:
        """Serialize to plain JSON types."""
        return {
            "name": self.name,
            "owner": self.owner,
            "dataset": self.dataset,
            "metrics": list(self.metrics),
            "thresholds": self.thresholds,
            "scenario": self.scenario,
            "query_budget": self.query_budget,
            "primary_metric": self.primary_metric,
        }


@dataclass(frozen=True)
class EvaluationRun:
    """Scores and diagnosis of one model version on one suite (aggregates only, never rows)."""

    id: str
    model: str
    suite: str
    dataset_hash: str
    metrics: dict[str, Any]
    passed: dict[str, bool]
    diagnosis: dict[str, Any]
    created_by: str
    created_at: str

    @property
    def diagnosed(self) -> bool:
        """True when the run was diagnosed (``evaluate(diagnose=True)``)."""
        return "slices" in self.diagnosis

    @property
    def weak_slices(self) -> list[dict[str, Any]]:
        """The diagnosis's weak slices, worst first (empty when not diagnosed or none found)."""
        return list(self.diagnosis.get("slices", []) or [])

    def to_dict(self) -> dict[str, Any]:
        """Serialize to plain JSON types."""
        return {
            "id": self.id,
            "model": self.model,
            "suite": self.suite,
            "dataset_hash": self.dataset_hash,
            "metrics": self.metrics,
            "passed": self.passed,
            "diagnosis": self.diagnosis,
            "created_by": self.created_by,
            "created_at": self.created_at,
        }
