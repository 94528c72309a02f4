"""Model specifications and immutable model versions."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from resonance.domain.datasets import LabelSpec, Task
from resonance.domain.errors import InvalidInput, TaskNotSupported

__all__ = [
    "ModelSpec",
    "ModelVersion",
    "Task",
    "TimeFeatures",
    "parse_params",
    "parse_time_features",
    "task_for",
    "with_task",
]


@dataclass(frozen=True)
class TimeFeatures:
    """Per-group lag and rolling-window features of a time series, declared on a model spec.

    For each of ``columns`` (the target may be one of them): the value ``k`` rows
    earlier in the same group for each ``k`` in ``lags`` (``COLUMN__lagK``) and the
    mean of the previous ``w`` rows for each ``w`` in ``windows`` (``COLUMN__meanW``),
    rows ordered by the dataset's time column. Never the row itself nor a later
    one: no look-ahead. The same computation runs in training, evaluation and
    federation (each member on its own rows).
    """

    columns: tuple[str, ...]
    lags: tuple[int, ...] = ()
    windows: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        if not self.columns or not (self.lags or self.windows):
            raise InvalidInput("time features need columns and at least one lag or window")
        if any(k < 1 for k in (*self.lags, *self.windows)):
            raise InvalidInput("lags and windows are at least 1 (no look-ahead)")

    def names(self) -> list[str]:
        """The added columns, in order."""
        return [
            *(f"{c}__lag{k}" for c in self.columns for k in self.lags),
            *(f"{c}__mean{w}" for c in self.columns for w in self.windows),
        ]

    def to_dict(self) -> dict[str, Any]:
        """Serialize to plain JSON types."""
        return {
            "columns": list(self.columns),
            "lags": list(self.lags),
            "windows": list(self.windows),
        }

    @staticmethod
    def from_dict(data: dict[str, Any] | None) -> TimeFeatures | None:
        """Inverse of :meth:`to_dict`; ``None`` stays ``None``."""
        if not data:
            return None
        return TimeFeatures(
            tuple(data["columns"]),
            tuple(int(k) for k in data.get("lags") or ()),
            tuple(int(w) for w in data.get("windows") or ()),
        )


@dataclass(frozen=True)
class ModelSpec:
    """How to train a model: trainer name, task, hyper-parameters and feature selection.

    ``task`` is ``None`` until the spec meets its data: the dataset's label spec
    declares the task (:func:`with_task`); every stored model has one.
    """

    trainer: str
    task: Task | None = None
    params: dict[str, Any] = field(default_factory=dict)
    feature_columns: tuple[str, ...] | None = None
    exclude_columns: tuple[str, ...] = ()
    time_features: TimeFeatures | None = None

    def to_dict(self) -> dict[str, Any]:
        """Serialize to plain JSON types."""
        return {
            "trainer": self.trainer,
            "task": self.task.value if self.task else None,
            "params": self.params,
            "feature_columns": list(self.feature_columns) if self.feature_columns else None,
            "exclude_columns": list(self.exclude_columns),
            "time_features": self.time_features.to_dict() if self.time_features else None,
        }

    @staticmethod
    def from_dict(data: dict[str, Any]) -> ModelSpec:
        """Inverse of :meth:`to_dict`."""
        cols = data.get("feature_columns")
        return ModelSpec(
            trainer=data["trainer"],
            task=Task(data["task"]) if data.get("task") else None,
            params=dict(data.get("params") or {}),
            feature_columns=tuple(cols) if cols else None,
            exclude_columns=tuple(data.get("exclude_columns") or ()),
            time_features=TimeFeatures.from_dict(data.get("time_features")),
        )


def task_for(
    label: LabelSpec,
    *,
    capability: str,
    requested: Task | None = None,
    supports: tuple[Task, ...] = (Task.CLASSIFICATION, Task.REGRESSION),
) -> Task:
    """The task a capability runs: the one the dataset's label spec declares.

    Raises ``TaskNotSupported`` (before any work) when another task was asked
    for, or when the capability cannot do the declared one.
    """
    if requested is not None and requested is not label.task:
        raise TaskNotSupported(
            f"the data's label spec declares {label.task.value} on "
            f"{', '.join(label.columns)}; {capability} cannot train it as {requested.value}",
            declared=label.task.value,
            requested=requested.value,
        )
    if label.task not in supports:
        raise TaskNotSupported(
            f"{capability} does not do {label.task.value} "
            f"(it does {', '.join(t.value for t in supports)})",
            task=label.task.value,
            capability=capability,
        )
    return label.task


def with_task(
    spec: ModelSpec,
    label: LabelSpec,
    *,
    capability: str,
    supports: tuple[Task, ...] = (Task.CLASSIFICATION, Task.REGRESSION),
) -> ModelSpec:
    """``spec`` with the task of the data's label spec (see :func:`task_for`)."""
    if "task" in spec.params:
        raise InvalidInput(
            "the task is not a trainer parameter: the dataset's label spec declares it "
            f"({label.task.value}; ingest with --task to declare another)",
            task=str(spec.params["task"]),
        )
    task = task_for(label, capability=capability, requested=spec.task, supports=supports)
    return replace(spec, task=task)


def parse_time_features(
    columns: list[str], lags: list[int], windows: list[int]
) -> TimeFeatures | None:
    """Time features from the user's options (``None`` when no column is given)."""
    if not columns:
        if lags or windows:
            raise InvalidInput("lags and windows need --lag-column (which columns to lag)")
        return None
    return TimeFeatures(tuple(columns), tuple(lags), tuple(windows))


def parse_params(items: list[str]) -> dict[str, Any]:
    """Parse ``key=value`` pairs; values become int, float, bool or str."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise InvalidInput(f"bad parameter {item!r}; use KEY=VALUE", param=item)
        out[key.strip()] = _coerce(raw.strip())
    return out


def _coerce(raw: str) -> Any:
    if raw.lower() in ("true", "false"):
        return raw.lower() == "true"
    for cast in (int, float):
        try:
            return cast(raw)
        except ValueError:
            continue
    return raw


@dataclass(frozen=True)
class ModelVersion:
    """A trained model: exact data hashes, trainer, parameters, code version and metrics."""

    name: str
    number: int
    spec: ModelSpec
    datasets: tuple[str, ...]
    dataset_hashes: tuple[str, ...]
    artifact_hash: str
    code_version: str
    created_by: str
    created_at: str
    metrics: dict[str, Any] = field(default_factory=dict)
    classes: tuple[str, ...] = ()
    feature_names: tuple[str, ...] = ()
    industry: str | None = None
    scenario: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def federated(self) -> bool:
        """Whether it was trained by federation (its rows stayed with each member)."""
        return "federated" in self.details

    @property
    def ref(self) -> str:
        """The version's reference, ``name@number``."""
        return f"{self.name}@{self.number}"

    def to_dict(self) -> dict[str, Any]:
        """Serialize to plain JSON types."""
        return {
            "ref": self.ref,
            "name": self.name,
            "number": self.number,
            "spec": self.spec.to_dict(),
            "datasets": list(self.datasets),
            "dataset_hashes": list(self.dataset_hashes),
            "artifact_hash": self.artifact_hash,
            "code_version": self.code_version,
            "created_by": self.created_by,
            "created_at": self.created_at,
            "metrics": self.metrics,
            "classes": list(self.classes),
            "feature_names": list(self.feature_names),
            "industry": self.industry,
            "scenario": self.scenario,
            "details": self.details,
        }
