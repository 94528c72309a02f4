"""Use cases: sealed evaluation suites, evaluation runs and diagnoses.

Model builders never receive rows of a sealed suite: the service reads them
as the suite's owner (purpose ``evaluate``, recorded on the ledger on behalf
of the builder) and returns only scores and aggregate diagnoses.
"""

from __future__ import annotations

import uuid
from typing import Any

import numpy as np
import pyarrow as pa

from resonance.domain.datasets import DatasetKind
from resonance.domain.diagnosis import apply_binning, coverage_gaps, find_slices, fit_binning
from resonance.domain.errors import AlreadyExists, BudgetExhausted, InvalidInput, NotFound
from resonance.domain.evaluation import (
    CLASSIFICATION_METRICS,
    EvaluationRun,
    EvaluationSuite,
    passes,
    per_slice_metrics,
)
from resonance.domain.events import ModelEvaluated, SuiteRegistered
from resonance.domain.modeling import ModelVersion, Task
from resonance.domain.orgs import Role, check_slug
from resonance.domain.policies import Purpose
from resonance.services.access import authorize, load_rows
from resonance.services.catalog import require_dataset, resolve_version
from resonance.services.diagnose import label_issue_summary
from resonance.services.orgs import require_org, require_role
from resonance.services.space import Space
from resonance.services.training import PooledData, load_model, pool, require_model, score
from resonance.training.trainers import FittedModel

SLICE_MIN_SUPPORT_SHARE = 0.03


def register_suite(
    space: Space,
    *,
    actor: str,
    name: str,
    dataset: str,
    metrics: tuple[str, ...] = CLASSIFICATION_METRICS,
    thresholds: dict[str, float] | None = None,
    scenario: str | None = None,
    query_budget: int = 20,
    primary_metric: str | None = None,
) -> EvaluationSuite:
    """Register a sealed suite over an evaluation dataset version the evaluator owns.

    The primary metric defaults to ``macro_f1`` for classification metrics and
    to the first metric otherwise.
    """
    if primary_metric is None:
        primary_metric = "macro_f1" if set(metrics) <= set(CLASSIFICATION_METRICS) else metrics[0]
    check_slug(name, what="suite")
    with space.work() as w:
        require_role(w.tx, actor, Role.EVALUATOR)
        version = resolve_version(w.tx, dataset)
        ds = require_dataset(w.tx, version.dataset)
        if ds.kind is not DatasetKind.EVALUATION or ds.owner != actor:
            raise InvalidInput(
                f"{version.ref} must be an evaluation dataset owned by {actor}", dataset=dataset
            )
        if w.tx.get_suite(name):
            raise AlreadyExists(f"suite {name!r} already exists", suite=name)
        suite = EvaluationSuite(
            name,
            actor,
            version.ref,
            tuple(metrics),
            thresholds or {},
            scenario or ds.scenario,
            query_budget,
            primary_metric,
        )
        suite.check_task(ds.label.task if ds.label else None, what=f"the label of {version.ref}")
        w.tx.add_suite(suite, created_at=w.now)
        w.emit(
            SuiteRegistered(
                actor=actor,
                object_id=name,
                suite=suite,
                content_hash=version.content_hash,
            )
        )
    return suite


def require_suite(space: Space, name: str) -> EvaluationSuite:
    """Load a suite or raise ``NotFound``."""
    with space.work() as w:
        suite = w.tx.get_suite(name)
    if suite is None:
        raise NotFound(f"unknown evaluation suite {name!r}", suite=name)
    return suite


def list_suites(space: Space) -> list[EvaluationSuite]:
    """Every suite (definitions only; rows stay sealed)."""
    with space.work() as w:
        return w.tx.list_suites()


def _check_caller(space: Space, actor: str, model: ModelVersion, suite: EvaluationSuite) -> None:
    with space.work() as w:
        org = require_org(w.tx, actor)
        if actor != model.created_by and not org.has_role(Role.OPERATOR):
            raise InvalidInput(f"only {model.created_by} (the model's builder) evaluates it")
        used = w.tx.count_eval_runs(model_name=model.name, suite=suite.name)
    if used >= suite.query_budget:
        raise BudgetExhausted(
            f"{model.name} has used its {suite.query_budget} queries on suite {suite.name}",
            model=model.name,
            suite=suite.name,
            budget=suite.query_budget,
        )


def _sealed_rows(space: Space, actor: str, model: ModelVersion, suite: EvaluationSuite) -> pa.Table:
    grant = authorize(
        space,
        actor=suite.owner,
        ref=suite.dataset,
        purpose=Purpose.EVALUATE,
        context={"on_behalf_of": actor, "model": model.ref, "suite": suite.name},
    )
    return load_rows(space, grant.version)


FEDERATED_NOTE = (
    "federated model: its training rows stay with their holders (read only under "
    "train-federated), so coverage gaps and training label issues are not computed here"
)


def _training_rows(space: Space, actor: str, model: ModelVersion) -> PooledData:
    return pool(
        space, actor=actor, refs=list(model.datasets), purpose=Purpose.TRAIN_POOLED, model=model.ref
    )


def _slice_report(
    fitted: FittedModel, table: pa.Table, y: np.ndarray, pred: np.ndarray, *, top_k: int
) -> list[dict[str, Any]]:
    """Weak slices of the evaluation rows: 0/1 errors, or absolute errors for regression."""
    binning = fit_binning(fitted.encoder.frame(table))
    regression = fitted.spec.task is Task.REGRESSION
    errors = np.abs(pred - y) if regression else (pred != y).astype(float)
    support = max(10, int(SLICE_MIN_SUPPORT_SHARE * len(y)))
    found = find_slices(binning, errors, min_support=support, top_k=top_k)
    metrics = per_slice_metrics(
        y,
        pred,
        {s.description: s.mask(binning.codes) for s in found},
        classes=() if regression else fitted.classes,
    )
    keep = ("mae", "rmse") if regression else ("accuracy", "macro_f1")
    return [
        {
            **s.to_dict(),
            **{k: metrics[s.description][k] for k in keep},
            "conditions": s.conditions(binning),
        }
        for s in found
    ]


def diagnose_model(
    space: Space,
    *,
    actor: str,
    model: ModelVersion,
    fitted: FittedModel,
    table: pa.Table,
    top_k: int = 10,
    label_issues: bool = True,
    train: PooledData | None = None,
) -> dict[str, Any]:
    """Per-slice metrics on the sealed rows, label issues and coverage gaps (aggregates only).

    Training rows are read again as ``actor`` (``train-pooled``, on the
    ledger); the label-issue section names only those rows, never sealed ones.
    A federated model's rows are never pooled: its diagnosis holds the slices,
    and ``unavailable`` says why coverage gaps and label issues are missing.
    """
    prepared = fitted.prepare(table)
    known = prepared.y >= 0 if prepared.classes else np.isfinite(prepared.y)
    pred = fitted.predict(prepared.X)
    diagnosis: dict[str, Any] = {
        "slices": _slice_report(
            fitted, table.filter(pa.array(known)), prepared.y[known], pred[known], top_k=top_k
        )
    }
    if model.federated:  # never pool a federated model's rows for a diagnosis
        diagnosis["coverage_gaps"] = []
        diagnosis["unavailable"] = {"coverage_gaps": FEDERATED_NOTE, "label_issues": FEDERATED_NOTE}
        return diagnosis
    train = train or _training_rows(space, actor, model)
    # groups (units, days) of the sealed set are by design not in the training data
    key = getattr(fitted.encoder, "group_key", None)
    ev_frame = fitted.encoder.frame(table).drop(columns=[key], errors="ignore")
    tr_frame = fitted.encoder.frame(train.table).drop(columns=[key], errors="ignore")
    ev_bins = fit_binning(ev_frame)
    tr_bins = apply_binning(tr_frame, edges=ev_bins.edges, categories=ev_bins.categories)
    diagnosis["coverage_gaps"] = coverage_gaps(tr_bins, ev_bins, top_k=top_k)
    if label_issues:
        diagnosis["label_issues"] = label_issue_summary(fitted, train)
    return diagnosis


def evaluate(
    space: Space,
    *,
    actor: str,
    model: str,
    suite: str,
    diagnose: bool = True,
    label_issues: bool = True,
) -> EvaluationRun:
    """Score a model version on a sealed suite; spends one query of the model's budget.

    Returns
    -------
    EvaluationRun
        Metrics overall and per class, pass/fail per threshold, and (with
        ``diagnose``) weak slices, coverage gaps and training label issues.
    """
    with space.work() as w:
        version = require_model(w.tx, model)
    the_suite = require_suite(space, suite)
    the_suite.check_task(version.spec.task, what=f"model {version.ref}")
    _check_caller(space, actor, version, the_suite)
    # training rows first: a caller who may not read them stops before the sealed read
    pooled = diagnose and not version.federated
    train = _training_rows(space, actor, version) if pooled else None
    table = _sealed_rows(space, actor, version, the_suite)
    fitted = load_model(space, version)
    prepared = fitted.prepare(table)
    metrics = the_suite.report(score(fitted, prepared.X, prepared.y))
    diagnosis = (
        diagnose_model(
            space,
            actor=actor,
            model=version,
            fitted=fitted,
            table=table,
            label_issues=label_issues,
            train=train,
        )
        if diagnose
        else {}
    )
    return _record_run(space, actor, version, the_suite, metrics, diagnosis)


def _record_run(
    space: Space,
    actor: str,
    version: ModelVersion,
    suite: EvaluationSuite,
    metrics: dict[str, Any],
    diagnosis: dict[str, Any],
) -> EvaluationRun:
    with space.work() as w:
        if w.tx.count_eval_runs(model_name=version.name, suite=suite.name) >= suite.query_budget:
            raise BudgetExhausted(
                f"{version.name} has used its {suite.query_budget} queries on suite {suite.name}",
                model=version.name,
                suite=suite.name,
                budget=suite.query_budget,
            )
        sealed = resolve_version(w.tx, suite.dataset)
        run = EvaluationRun(
            id=uuid.uuid4().hex[:16],
            model=version.ref,
            suite=suite.name,
            dataset_hash=sealed.content_hash,
            metrics=metrics,
            passed=passes(metrics, suite.thresholds),
            diagnosis=diagnosis,
            created_by=actor,
            created_at=w.now,
        )
        w.tx.add_eval_run(run)
        w.emit(
            ModelEvaluated(
                actor=actor,
                object_id=version.ref,
                suite=suite.name,
                run=run.id,
                dataset_hash=sealed.content_hash,
                metrics={k: v for k, v in metrics.items() if isinstance(v, int | float)},
                passed=run.passed,
            )
        )
    return run


def list_runs(
    space: Space, *, model: str | None = None, suite: str | None = None
) -> list[EvaluationRun]:
    """Evaluation runs, oldest first."""
    with space.work() as w:
        return w.tx.list_eval_runs(model=model, suite=suite)


def remaining_budget(space: Space, *, model_name: str, suite: str) -> int:
    """Queries left for a model on a suite."""
    the_suite = require_suite(space, suite)
    with space.work() as w:
        used = w.tx.count_eval_runs(model_name=model_name, suite=suite)
    return max(0, the_suite.query_budget - used)
