"""Registered trainers (scikit-learn, LightGBM) and the fitted-model wrapper.

Trainers are small registered classes, like Flower strategies: each names the
tasks it supports and builds an estimator from parameters and a seed.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pyarrow as pa
from sklearn.base import BaseEstimator
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import GroupShuffleSplit, StratifiedShuffleSplit
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from resonance.domain.datasets import LabelSpec
from resonance.domain.errors import InvalidInput, LimitExceeded, TrainingFailed
from resonance.domain.limits import Limits, Param, check_params
from resonance.domain.modeling import ModelSpec, Task, with_task
from resonance.training.features import FeatureEncoder, Prepared, prepare_xy


class Trainer:
    """Base trainer; subclasses set ``name`` and ``tasks`` and implement :meth:`build`."""

    name: ClassVar[str] = "trainer"
    tasks: ClassVar[tuple[Task, ...]] = (Task.CLASSIFICATION, Task.REGRESSION)
    defaults: ClassVar[dict[str, Any]] = {}
    accepted: ClassVar[dict[str, Param]] = {}

    def check(self, params: dict[str, Any], limits: Limits) -> None:
        """Refuse unknown parameters (RES-100) and values above the space's caps (RES-116)."""
        check_params(self.name, params, self.accepted, limits=limits)

    def build(self, task: Task, params: dict[str, Any], seed: int) -> BaseEstimator:
        """A fresh, unfitted estimator."""
        raise NotImplementedError


TRAINERS: dict[str, type[Trainer]] = {}


def register_trainer(cls: type[Trainer]) -> type[Trainer]:
    """Class decorator adding a trainer to :data:`TRAINERS`."""
    TRAINERS[cls.name] = cls
    return cls


def get_trainer(name: str) -> Trainer:
    """The trainer registered under ``name``, or ``InvalidInput``."""
    if name not in TRAINERS:
        raise InvalidInput(f"unknown trainer {name!r}; choose from {', '.join(TRAINERS)}")
    return TRAINERS[name]()


@register_trainer
class LogisticTrainer(Trainer):
    """Standardized logistic regression (ridge regression for regression tasks)."""

    name = "sklearn-logreg"
    defaults = {"C": 1.0, "max_iter": 2000}
    accepted = {"C": Param(float, 1e-9, 1e9), "max_iter": Param(int, 1, cap="max_iter")}

    def build(self, task: Task, params: dict[str, Any], seed: int) -> BaseEstimator:
        p = {**self.defaults, **params}
        if task is Task.REGRESSION:
            return make_pipeline(StandardScaler(), Ridge(alpha=1.0 / p["C"]))
        return make_pipeline(
            StandardScaler(),
            LogisticRegression(C=p["C"], max_iter=p["max_iter"], random_state=seed),
        )


@register_trainer
class RandomForestTrainer(Trainer):
    """Random forest."""

    name = "sklearn-rf"
    defaults = {"n_estimators": 200, "min_samples_leaf": 1}
    accepted = {
        "n_estimators": Param(int, 1, cap="max_estimators"),
        "min_samples_leaf": Param(int, 1, 1_000_000),
        "max_depth": Param(int, 1, 1_000),
        "class_weight": Param(str),
        "n_jobs": Param(int, 1, cap="max_n_jobs"),
    }

    def build(self, task: Task, params: dict[str, Any], seed: int) -> BaseEstimator:
        p = {"n_jobs": 2, **self.defaults, **params}
        cls = RandomForestRegressor if task is Task.REGRESSION else RandomForestClassifier
        return cls(random_state=seed, **p)


@register_trainer
class MLPTrainer(Trainer):
    """Standardized multi-layer perceptron."""

    name = "sklearn-mlp"
    # early stopping scores accuracy on a validation split: on rare failures it stops at once
    defaults = {"hidden_layer_sizes": (64,), "max_iter": 300, "early_stopping": False}
    accepted = {
        "max_iter": Param(int, 1, cap="max_iter"),
        "early_stopping": Param(bool),
        "alpha": Param(float, 0, 1e6),
        "learning_rate_init": Param(float, 1e-9, 10),
    }

    def check(self, params: dict[str, Any], limits: Limits) -> None:
        """As :meth:`Trainer.check`; ``hidden_layer_sizes`` (``64`` or ``"64-32"``) is capped
        by ``max_hidden_units`` in all."""
        rest = dict(params)
        layers = rest.pop("hidden_layer_sizes", None)
        if layers is not None:
            try:
                sizes = _layers(layers)
            except ValueError:
                raise InvalidInput(
                    "hidden_layer_sizes is a size or sizes joined by '-', e.g. 64-32",
                    param="hidden_layer_sizes",
                ) from None
            if not sizes or min(sizes) < 1:
                raise InvalidInput("hidden layers need at least one unit each")
            if sum(sizes) > limits.max_hidden_units:
                raise LimitExceeded(
                    f"hidden_layer_sizes has {sum(sizes)} units, above this space's cap of "
                    f"{limits.max_hidden_units} (max_hidden_units in resonance.toml [limits])",
                    param="hidden_layer_sizes",
                    limit=limits.max_hidden_units,
                )
        super().check(rest, limits)

    def build(self, task: Task, params: dict[str, Any], seed: int) -> BaseEstimator:
        p = {**self.defaults, **params}
        p["hidden_layer_sizes"] = _layers(p["hidden_layer_sizes"])
        cls = MLPRegressor if task is Task.REGRESSION else MLPClassifier
        return make_pipeline(StandardScaler(), cls(random_state=seed, **p))


@register_trainer
class LightGBMTrainer(Trainer):
    """LightGBM gradient-boosted trees.

    One thread unless ``n_jobs`` says otherwise: LightGBM's OpenMP threads spin
    while they wait for each other, so on a busy machine two threads fitted the
    steel data in 60 s where one took 1.7 s.
    """

    name = "lightgbm"
    defaults = {"n_estimators": 200, "learning_rate": 0.05, "num_leaves": 31, "verbose": -1}
    accepted = {
        "n_estimators": Param(int, 1, cap="max_estimators"),
        "learning_rate": Param(float, 1e-9, 10),
        "num_leaves": Param(int, 2, cap="max_leaves"),
        "max_depth": Param(int, -1, 1_000),
        "min_child_samples": Param(int, 1, 1_000_000),
        "subsample": Param(float, 1e-9, 1),
        "subsample_freq": Param(int, 0, 1_000),
        "colsample_bytree": Param(float, 1e-9, 1),
        "reg_alpha": Param(float, 0, 1e9),
        "reg_lambda": Param(float, 0, 1e9),
        "class_weight": Param(str),
        "boosting_type": Param(str),
        "verbose": Param(int, -1, 2),
        "n_jobs": Param(int, 1, cap="max_n_jobs"),
    }

    def build(self, task: Task, params: dict[str, Any], seed: int) -> BaseEstimator:
        import lightgbm as lgb

        p = {"n_jobs": 1, **self.defaults, **params}
        cls = lgb.LGBMRegressor if task is Task.REGRESSION else lgb.LGBMClassifier
        return cls(random_state=seed, **p)


def _layers(value: Any) -> tuple[int, ...]:
    """``64``, ``"64-32"`` or ``(64, 32)`` as a tuple of sizes (``ValueError`` otherwise)."""
    if isinstance(value, bool):
        raise ValueError("not a size")
    if isinstance(value, int | str):
        return tuple(int(x) for x in str(value).split("-"))
    if isinstance(value, tuple | list):
        return tuple(int(x) for x in value)
    raise ValueError("not a size")


def check_spec(spec: ModelSpec, limits: Limits | None = None) -> Trainer:
    """The spec's trainer, after refusing an unknown trainer, task or parameter and values
    above the caps; call it before reading any data."""
    trainer = get_trainer(spec.trainer)
    if "task" in spec.params:
        raise InvalidInput(
            "the task is not a trainer parameter: the dataset's label spec declares it "
            "(ingest with --task to declare another)",
            task=str(spec.params["task"]),
        )
    if spec.task is not None and spec.task not in trainer.tasks:  # None: the data will say
        raise InvalidInput(f"trainer {spec.trainer} does not do {spec.task.value}")
    trainer.check(spec.params, limits or Limits())
    return trainer


@dataclass
class FittedModel:
    """An estimator with the encoder and classes it was trained with."""

    spec: ModelSpec
    encoder: FeatureEncoder
    estimator: Any
    classes: tuple[str, ...]
    label: LabelSpec

    def prepare(self, table: pa.Table) -> Prepared:
        """Encode new rows with the training encoder and classes."""
        return prepare_xy(
            table,
            self.label,
            encoder=self.encoder,
            classes=self.classes or None,
        )

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Class probabilities with one column per class in ``classes`` order."""
        proba = self.estimator.predict_proba(X)
        fitted = getattr(self.estimator, "classes_", None)
        if fitted is None and hasattr(self.estimator, "steps"):
            fitted = self.estimator.steps[-1][1].classes_
        full = np.zeros((len(X), len(self.classes)))
        full[:, np.asarray(fitted, dtype=int)] = proba
        return full

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Class indices (classification) or values (regression)."""
        if self.spec.task is Task.REGRESSION:
            return np.asarray(self.estimator.predict(X), dtype=float)
        return self.predict_proba(X).argmax(axis=1)


def _bad_fit(exc: Exception) -> bool:
    """Whether ``exc`` means the parameters or data do not suit the trainer (not a bug)."""
    return isinstance(exc, ValueError | TypeError) or type(exc).__name__ == "LightGBMError"


def fit_model(
    spec: ModelSpec,
    prepared: Prepared,
    *,
    label: LabelSpec,
    seed: int = 0,
    sample_weight: np.ndarray | None = None,
) -> FittedModel:
    """Fit ``spec``'s trainer on prepared data, for the task ``label`` declares.

    Raises ``TaskNotSupported`` when the spec asks for another task or the
    trainer cannot do the declared one.
    """
    trainer = get_trainer(spec.trainer)
    spec = with_task(spec, label, capability=f"trainer {spec.trainer}", supports=trainer.tasks)
    mask = prepared.y >= 0 if spec.task is Task.CLASSIFICATION else np.isfinite(prepared.y)
    if mask.sum() < 2 or (
        spec.task is Task.CLASSIFICATION and len(np.unique(prepared.y[mask])) < 2
    ):
        raise TrainingFailed("training needs at least two rows and two classes")
    try:
        # bad parameter names or values fail in the estimator's constructor or in fit
        assert spec.task is not None
        est = trainer.build(spec.task, spec.params, seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            kwargs = {}
            if sample_weight is not None:
                step = est.steps[-1][0] if hasattr(est, "steps") else None
                key = f"{step}__sample_weight" if step else "sample_weight"
                kwargs[key] = sample_weight[mask]
            est.fit(prepared.X[mask], prepared.y[mask], **kwargs)
    except Exception as exc:
        if not _bad_fit(exc):
            raise
        raise TrainingFailed(f"{spec.trainer} could not fit: {exc}") from exc
    return FittedModel(spec, prepared.encoder, est, prepared.classes, label)


def split(
    prepared: Prepared, *, test_size: float = 0.2, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Train/test row indices; groups never straddle the split, classes stay balanced.

    A time series (``prepared.times``) holds out its latest rows: whole groups
    in the order of their last time stamp (or the latest rows without groups).
    Otherwise ``GroupShuffleSplit`` when the data has a group key, else a
    stratified split (plain shuffling when a class is too rare to stratify).
    """
    n = len(prepared.y)
    idx = np.arange(n)
    if prepared.times is not None:
        return _time_split(prepared.times, prepared.groups, test_size)
    if prepared.groups is not None:
        splitter = GroupShuffleSplit(n_splits=1, test_size=test_size, random_state=seed)
        tr, te = next(splitter.split(idx, groups=prepared.groups))
        return tr, te
    y = prepared.y if prepared.classes else None
    if y is not None and len(y[y >= 0]) and np.bincount(y[y >= 0]).min() >= 2:
        sss = StratifiedShuffleSplit(n_splits=1, test_size=test_size, random_state=seed)
        tr, te = next(sss.split(idx, y))
        return tr, te
    rng = np.random.default_rng(seed)
    perm = rng.permutation(n)
    cut = round(n * (1 - test_size))
    return perm[:cut], perm[cut:]


def _time_split(
    times: np.ndarray, groups: np.ndarray | None, test_size: float
) -> tuple[np.ndarray, np.ndarray]:
    """The latest ``test_size`` of the rows (whole groups, by their last time) as the test."""
    n = len(times)
    if groups is None:
        order = np.argsort(times, kind="stable")
        cut = round(n * (1 - test_size))
        return np.sort(order[:cut]), np.sort(order[cut:])
    names, codes = np.unique(np.asarray(groups, dtype=str), return_inverse=True)
    last = np.full(len(names), -1, dtype=np.int64)
    np.maximum.at(last, codes, times)
    sizes = np.bincount(codes, minlength=len(names))
    test_groups: list[int] = []
    taken = 0
    for g in np.argsort(-last, kind="stable"):
        if taken >= test_size * n:
            break
        test_groups.append(int(g))
        taken += int(sizes[g])
    in_test = np.isin(codes, test_groups)
    idx = np.arange(n)
    return idx[~in_test], idx[in_test]
