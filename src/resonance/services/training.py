"""Use cases: train model versions on pooled dataset versions in the space's sandbox."""

from __future__ import annotations

import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

import resonance
from resonance.domain.datasets import Dataset, DatasetVersion, LabelSpec
from resonance.domain.errors import InvalidInput, NotFound, UnsafeModelFile
from resonance.domain.evaluation import classification_metrics, regression_metrics
from resonance.domain.events import ModelTrained
from resonance.domain.modeling import ModelSpec, ModelVersion, Task, with_task
from resonance.domain.orgs import Role, check_slug
from resonance.domain.policies import Purpose
from resonance.domain.refs import parse_ref
from resonance.services.access import Grantee, authorize, load_rows
from resonance.services.artifact_guard import verified_bytes
from resonance.services.orgs import require_role
from resonance.services.space import Space
from resonance.storage.store import Tx
from resonance.training import model_format
from resonance.training.features import Prepared, TimeSetup, prepare_xy
from resonance.training.trainers import (
    TRAINERS,
    FittedModel,
    check_spec,
    fit_model,
    split,
)

MODEL_SUFFIX = model_format.MODEL_SUFFIX
LEGACY_SUFFIX = ".joblib"  # pickles written before issue 17; never loaded outside migration


def trainer_names() -> list[str]:
    """The registered trainers' names, sorted (what a model spec's ``trainer`` may be)."""
    return sorted(TRAINERS)


def code_version() -> str:
    """The package version plus the git commit when run from a checkout."""
    root = Path(resonance.__file__).resolve().parents[2]
    try:
        sha = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        sha = ""
    return f"{resonance.__version__}+{sha}" if sha else resonance.__version__


@dataclass
class PooledData:
    """Rows of several authorized dataset versions, concatenated."""

    table: pa.Table
    versions: list[DatasetVersion]
    label: LabelSpec
    group_key: str | None
    datasets: list[Dataset]


def pool(space: Space, *, actor: str, refs: list[str], purpose: Purpose, model: str) -> PooledData:
    """Authorize (and record) every read, then concatenate the rows.

    Every dataset must declare the same label spec.
    """
    if not refs:
        raise InvalidInput("give at least one training dataset version")
    grants = [
        authorize(space, actor=actor, ref=r, purpose=purpose, context={"model": model})
        for r in refs
    ]
    rows = pool_rows(space, grants, what="training datasets")
    return PooledData(
        rows.table,
        [g.version for g in grants],
        rows.label,
        grants[0].dataset.group_key,
        [g.dataset for g in grants],
    )


def time_setup(datasets: list[Dataset], spec: ModelSpec) -> TimeSetup | None:
    """The time series the datasets declare (time column, group key) with the spec's time
    features; ``None`` when neither is declared. Raises ``InvalidInput`` when the datasets
    disagree on the time column."""
    columns = {d.time_column for d in datasets}
    if len(columns) > 1:
        raise InvalidInput(
            "the datasets declare different time columns", columns=sorted(map(str, columns))
        )
    column = columns.pop() if columns else None
    if column is None and spec.time_features is None:
        return None
    keys = group_keys(datasets)
    return TimeSetup(column, keys[0] if keys else None, spec.time_features)


def group_keys(datasets: Iterable[Dataset]) -> tuple[str, ...]:
    """The group key columns the datasets declare: never features, always split boundaries."""
    return tuple(sorted({d.group_key for d in datasets if d.group_key}))


@dataclass
class PooledRows:
    """Authorized versions' rows: each version's table and all of them in one."""

    grants: list[Grantee]
    tables: list[pa.Table]
    table: pa.Table
    label: LabelSpec


def pool_rows(space: Space, grants: list[Grantee], *, what: str) -> PooledRows:
    """Concatenate the rows of versions already authorized by :func:`authorize`.

    Parameters
    ----------
    grants:
        The authorized versions, in order.
    what:
        How error messages name them (``"training datasets"``).

    Raises
    ------
    InvalidInput
        When the datasets do not all declare one label spec, or their schemas
        cannot be merged.
    """
    labels = {g.dataset.label for g in grants}
    if None in labels or len(labels) != 1:
        raise InvalidInput(
            f"{what} must all declare the same label spec",
            datasets=[g.dataset.name for g in grants],
        )
    tables = [load_rows(space, g.version) for g in grants]
    try:
        table = pa.concat_tables(tables, promote_options="permissive")
    except pa.ArrowInvalid as exc:
        raise InvalidInput(f"{what} do not share a schema: {exc}") from exc
    label = grants[0].dataset.label
    assert label is not None
    return PooledRows(grants, tables, table, label)


def holdout_metrics(
    spec: ModelSpec, prepared: Prepared, *, label: LabelSpec, seed: int, test_size: float = 0.2
) -> dict[str, Any]:
    """Metrics of the spec on a group-aware held-out split of the training data."""
    tr, te = split(prepared, test_size=test_size, seed=seed)
    sub = Prepared(
        prepared.X[tr],
        prepared.y[tr],
        prepared.classes,
        prepared.feature_names,
        None,
        prepared.encoder,
    )
    model = fit_model(spec, sub, label=label, seed=seed)
    return score(model, prepared.X[te], prepared.y[te])


def score(model: FittedModel, X: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    """Metrics of a fitted model on encoded rows."""
    if model.spec.task is Task.REGRESSION:
        return regression_metrics(y, model.predict(X))
    known = y >= 0
    proba = model.predict_proba(X[known])
    return classification_metrics(y[known], proba.argmax(axis=1), proba, classes=model.classes)


def _store_model(space: Space, model: FittedModel) -> str:
    digest, _ = space.artifacts.put_bytes(model_format.dumps(model), MODEL_SUFFIX)
    return digest


def train_model(
    space: Space,
    *,
    actor: str,
    name: str,
    spec: ModelSpec,
    datasets: list[str],
    seed: int = 0,
    industry: str | None = None,
    scenario: str | None = None,
    details: dict[str, Any] | None = None,
) -> ModelVersion:
    """Train a model version on dataset versions pooled in the sandbox.

    Each dataset's policy must grant ``train-pooled`` to ``actor`` (a model
    builder); every read is on the ledger. The task is the one the datasets'
    label spec declares (``spec.task``, when given, must match it). Metrics come
    from a held-out split (groups never straddle it); the stored model is then
    fitted on all rows.
    """
    check_slug(name, what="model")
    check_spec(spec, space.config.limits)  # unknown parameters and caps, before any read
    with space.work() as w:
        require_role(w.tx, actor, Role.MODEL_BUILDER)
    data = pool(space, actor=actor, refs=datasets, purpose=Purpose.TRAIN_POOLED, model=name)
    spec = with_task(spec, data.label, capability="model train")
    prepared = prepare_xy(
        data.table,
        data.label,
        feature_columns=spec.feature_columns,
        exclude=(*spec.exclude_columns, *group_keys(data.datasets)),
        group_key=data.group_key,
        time=time_setup(data.datasets, spec),
    )
    metrics = holdout_metrics(spec, prepared, label=data.label, seed=seed)
    if prepared.times is not None:
        metrics["holdout_split"] = "time-ordered (the latest groups)"
    model = fit_model(spec, prepared, label=data.label, seed=seed)
    return record_model(
        space,
        actor=actor,
        name=name,
        model=model,
        versions=data.versions,
        metrics={"holdout": metrics, "rows": data.table.num_rows},
        industry=industry or data.datasets[0].industry,
        scenario=scenario or data.datasets[0].scenario,
        details=details or {},
    )


def record_model(
    space: Space,
    *,
    actor: str,
    name: str,
    model: FittedModel,
    versions: list[DatasetVersion],
    metrics: dict[str, Any],
    industry: str | None,
    scenario: str | None,
    details: dict[str, Any],
) -> ModelVersion:
    """Store a fitted model as the next version of ``name`` and put it on the ledger."""
    digest = _store_model(space, model)
    with space.work() as w:
        latest = w.tx.get_model_version(name)
        version = ModelVersion(
            name=name,
            number=(latest.number + 1) if latest else 1,
            spec=model.spec,
            datasets=tuple(v.ref for v in versions),
            dataset_hashes=tuple(v.content_hash for v in versions),
            artifact_hash=digest,
            code_version=code_version(),
            created_by=actor,
            created_at=w.now,
            metrics=metrics,
            classes=model.classes,
            feature_names=tuple(model.encoder.feature_names),
            industry=industry,
            scenario=scenario,
            details=details,
        )
        w.tx.add_model_version(version)
        w.emit(
            ModelTrained(
                actor=actor,
                object_id=version.ref,
                datasets=dict(zip(version.datasets, version.dataset_hashes, strict=True)),
                trainer=model.spec.trainer,
                params=model.spec.params,
                artifact_hash=digest,
                code_version=version.code_version,
                metrics=_headline(metrics),
            )
        )
    return version


def _headline(metrics: dict[str, Any]) -> dict[str, Any]:
    hold = metrics.get("holdout", metrics)
    return {k: v for k, v in hold.items() if isinstance(v, int | float)}


def require_model(tx: Tx, ref: str) -> ModelVersion:
    """Load ``name@number`` (or the latest of ``name``) or raise ``NotFound``."""
    version = tx.get_model_version(*parse_ref(ref, what="model"))
    if version is None:
        raise NotFound(f"unknown model {ref!r}", model=ref)
    return version


def load_model(space: Space, version: ModelVersion) -> FittedModel:
    """The fitted model stored for a version, re-hashed before it is read.

    Raises
    ------
    ArtifactCorrupted
        ``RES-114`` when the file no longer matches the version's content address
        (recorded on the ledger).
    UnsafeModelFile
        ``RES-115`` when the version is still stored as a pickle (run
        ``resonance admin migrate-models``) or the file is not a code-free model file.
    """
    digest = version.artifact_hash
    if not space.artifacts.exists(digest, MODEL_SUFFIX) and space.artifacts.exists(
        digest, LEGACY_SUFFIX
    ):
        raise UnsafeModelFile(
            f"model {version.ref} is stored as a pickle, which Resonance no longer loads; "
            "the operator runs 'resonance admin migrate-models' to convert it",
            model=version.ref,
        )
    data = verified_bytes(space, digest, MODEL_SUFFIX, used_for=f"model {version.ref}")
    return model_format.loads(data, error=UnsafeModelFile)


def list_models(space: Space, *, name: str | None = None) -> list[ModelVersion]:
    """Model versions, by name and number."""
    with space.work() as w:
        return w.tx.list_model_versions(name=name)


def get_model(space: Space, ref: str) -> ModelVersion:
    """One model version."""
    with space.work() as w:
        return require_model(w.tx, ref)
