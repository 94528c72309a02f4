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

from resonance.domain.acceptance import (
    IMPROVE,
    PRIMARY_METRICS,
    AcceptanceTest,
    Comparison,
)
from resonance.domain.acceptance import compare as compare_paired
from resonance.domain.datasets import DatasetKind
from resonance.domain.diagnosis import (
    Binning,
    apply_binning,
    coverage_gaps,
    find_slices,
    fit_binning,
)
from resonance.domain.errors import (
    AlreadyExists,
    BudgetExhausted,
    InvalidAcceptanceTest,
    InvalidInput,
    NotFound,
)
from resonance.domain.evaluation import (
    CLASSIFICATION_METRICS,
    EvaluationRun,
    EvaluationSuite,
    passes,
    per_slice_metrics,
)
from resonance.domain.events import LabelIssuesFound, ModelEvaluated, SuiteRegistered
from resonance.domain.ladder import QueryUse, SuiteQuery, best_released, release
from resonance.domain.modeling import ModelVersion, Task
from resonance.domain.orgs import Role, check_slug
from resonance.domain.policies import Purpose
from resonance.domain.refs import ref_name
from resonance.services.access import authorize, load_rows
from resonance.services.catalog import require_dataset, resolve_version, row_provenance
from resonance.services.label_issues import label_issue_summary
from resonance.services.orgs import require_org, require_role
from resonance.services.space import Space, Work
from resonance.services.training import PooledData, load_model, pool, require_model, score
from resonance.storage.store import Tx
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
        check_budget(w.tx, suite, model.created_by)


def check_budget(tx: Tx, suite: EvaluationSuite, organization: str) -> list[SuiteQuery]:
    """The organization's queries on ``suite`` so far; ``BudgetExhausted`` when none is left.

    The budget is per builder organization and suite (a renamed or new model
    shares it), and every use of the suite spends it: evaluations, diagnoses, loop
    candidates, valuations.
    """
    used = tx.suite_queries(suite=suite.name, organization=organization)
    if len(used) >= suite.query_budget:
        raise BudgetExhausted(
            f"{organization} has used its {suite.query_budget} queries on suite {suite.name}",
            organization=organization,
            suite=suite.name,
            budget=suite.query_budget,
        )
    return used


def spend_query(
    w: Work,
    suite: EvaluationSuite,
    model: ModelVersion,
    use: str,
    raw: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Charge one query of ``model``'s builder on ``suite``; return what the builder is shown.

    With ``raw`` metrics, the Ladder decides what is released (see
    :mod:`resonance.domain.ladder`); the released primary score is recorded with
    the query. Call inside the unit of work that records the use.
    """
    used = check_budget(w.tx, suite, model.created_by)
    shown: dict[str, Any] = {}
    if raw is not None:
        best = best_released(used, suite.primary_metric)
        shown = release(raw, primary=suite.primary_metric, best=best)
    w.tx.add_suite_query(
        SuiteQuery(
            suite.name,
            model.created_by,
            use,
            model.ref,
            w.now,
            shown.get(suite.primary_metric) if shown.get("ladder", {}).get("released") else None,
        )
    )
    return shown


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


def _sealed_binning(fitted: FittedModel, table: pa.Table, reference: pa.Table | None) -> Binning:
    """Bins for the sealed rows that name nothing the builder has not seen.

    With the builder's training rows (``reference``), bin edges and categories are
    learned on them and applied to the sealed rows: a sealed-only value falls in
    "other/missing". Without them (a federated model), categorical values are not
    named at all and numeric edges are rounded to two significant digits.
    """
    frame = fitted.encoder.frame(table)
    if reference is not None:
        ref = fit_binning(fitted.encoder.frame(reference))
        return apply_binning(frame, edges=ref.edges, categories=ref.categories)
    own = fit_binning(frame)
    edges = [None if e is None else np.unique([float(f"{x:.2g}") for x in e]) for e in own.edges]
    cats: list[list[str] | None] = [None if c is None else [] for c in own.categories]
    return apply_binning(frame, edges=edges, categories=cats)


def _slice_report(
    fitted: FittedModel,
    table: pa.Table,
    y: np.ndarray,
    pred: np.ndarray,
    *,
    top_k: int,
    reference: pa.Table | None = None,
) -> list[dict[str, Any]]:
    """Weak slices of the evaluation rows: 0/1 errors, or absolute errors for regression.

    Slices hold at least ``max(10, 3 %)`` sealed rows and are described with the
    bins of :func:`_sealed_binning` (values of the builder's own training data).
    """
    binning = _sealed_binning(fitted, table, reference)
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
    ledger); the label-issue section names only those rows, never sealed ones,
    and slices and coverage gaps are described in bins learned on them, so no
    sealed value is named. A federated model's rows are never pooled: its
    diagnosis holds the slices (no categorical value named, rounded edges), and
    ``unavailable`` says why coverage gaps and label issues are missing.
    """
    prepared = fitted.prepare(table)
    known = prepared.y >= 0 if prepared.classes else np.isfinite(prepared.y)
    pred = fitted.predict(prepared.X)
    if not model.federated:
        train = train or _training_rows(space, actor, model)
    reference = None if model.federated or train is None else train.table
    diagnosis: dict[str, Any] = {
        "slices": _slice_report(
            fitted,
            table.filter(pa.array(known)),
            prepared.y[known],
            pred[known],
            top_k=top_k,
            reference=reference,
        )
    }
    if model.federated or train is None:  # never pool a federated model's rows for a diagnosis
        diagnosis["coverage_gaps"] = []
        diagnosis["unavailable"] = {"coverage_gaps": FEDERATED_NOTE, "label_issues": FEDERATED_NOTE}
        return diagnosis
    # groups (units, days) of the sealed set are by design not in the training data
    key = getattr(fitted.encoder, "group_key", None)
    tr_frame = fitted.encoder.frame(train.table).drop(columns=[key], errors="ignore")
    ev_frame = fitted.encoder.frame(table).drop(columns=[key], errors="ignore")
    tr_bins = fit_binning(tr_frame)
    ev_bins = apply_binning(ev_frame, edges=tr_bins.edges, categories=tr_bins.categories)
    diagnosis["coverage_gaps"] = coverage_gaps(tr_bins, ev_bins, top_k=top_k)
    if label_issues:
        summary = label_issue_summary(fitted, train, top_k=None)
        per_owner = rows_by_owner(space, summary.pop("top"))
        diagnosis["label_issues"] = {
            **summary,
            "per_member": {o: len(r) for o, r in sorted(per_owner.items())},
            "top": [],  # per-row findings go to each row's owner (see OWNER_ROWS)
        }
        diagnosis[OWNER_ROWS] = per_owner
    return diagnosis


OWNER_ROWS = "_rows_for_owners"
"""Key of a diagnosis's per-row findings by owner: recorded for the owners, never stored."""


def rows_by_owner(space: Space, rows: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Per-row findings (``dataset`` version, ``row``) grouped by the organization owning the row.

    A derived version's row is traced to its ingested source (``source``,
    ``source_row``) and belongs to that source's owner.
    """
    out: dict[str, list[dict[str, Any]]] = {}
    with space.work() as w:
        versions = {r["dataset"]: resolve_version(w.tx, r["dataset"]) for r in rows}
        owners = {
            name: require_dataset(w.tx, name).owner
            for name in {s.dataset for v in versions.values() for s in v.source_rows()}
        }
    provenance = {ref: row_provenance(space, v) for ref, v in versions.items() if v.is_derived}
    for r in rows:
        ref, row = r["dataset"], int(r["row"])
        prov = provenance.get(ref)
        source, source_row = (
            (prov.refs[int(prov.source[row])], int(prov.row[row])) if prov else (ref, row)
        )
        owner = owners[ref_name(source)]
        out.setdefault(owner, []).append({**r, "source": source, "source_row": source_row})
    return out


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


def compare(
    space: Space,
    *,
    actor: str,
    model: str,
    reference: str,
    suite: str,
    test: AcceptanceTest,
    mode: str = IMPROVE,
) -> tuple[EvaluationRun, Comparison]:
    """Score ``model`` on a sealed suite and test it against ``reference`` on the same rows.

    Both model versions predict the suite's rows inside this service; a paired
    bootstrap of the primary metric's difference and the change of the worst
    measurable slice (single-feature bins learned on the builder's training rows)
    decide acceptance (:func:`resonance.domain.acceptance.compare`). No sealed row
    and no per-row prediction leaves: the run records the aggregates and the
    comparison (interval to 3 decimals, the two scores to 2), and spends one query of
    ``model``'s builder, as :func:`evaluate` does.

    Returns
    -------
    tuple of EvaluationRun and Comparison
        The run (metrics through the Ladder, weak slices, ``diagnosis["comparison"]``)
        and the comparison: oriented gain (positive = ``model`` better), its
        interval at ``test.confidence``, the worst slice's change, the decision.
    """
    with space.work() as w:
        version = require_model(w.tx, model)
        ref_version = require_model(w.tx, reference)
    the_suite = require_suite(space, suite)
    if the_suite.primary_metric not in PRIMARY_METRICS:
        raise InvalidAcceptanceTest(
            f"suite {suite}'s primary metric {the_suite.primary_metric} has no paired test "
            f"(one of {', '.join(PRIMARY_METRICS)})",
            suite=suite,
        )
    the_suite.check_task(version.spec.task, what=f"model {version.ref}")
    if ref_version.created_by != version.created_by:
        raise InvalidInput("a model is compared only with a model of the same builder")
    _check_caller(space, actor, version, the_suite)
    train = None if version.federated else _training_rows(space, actor, version)
    table = _sealed_rows(space, actor, version, the_suite)
    fitted, ref_fitted = load_model(space, version), load_model(space, ref_version)
    if tuple(fitted.classes) != tuple(ref_fitted.classes):
        raise InvalidInput("the two models predict different classes", model=model)
    prepared = fitted.prepare(table)
    metrics = the_suite.report(score(fitted, prepared.X, prepared.y))
    known = prepared.y >= 0 if prepared.classes else np.isfinite(prepared.y)
    y = prepared.y[known]
    pred = np.asarray(fitted.predict(prepared.X))[known]
    ref_pred = np.asarray(ref_fitted.predict(ref_fitted.prepare(table).X))[known]
    binning = _sealed_binning(
        fitted, table.filter(pa.array(known)), None if train is None else train.table
    )
    masks, names = [], []
    for f in range(binning.codes.shape[1]):
        for code in np.unique(binning.codes[:, f]):
            masks.append(binning.codes[:, f] == code)
            names.append(binning.predicates[f][int(code)])
    found = compare_paired(
        y,
        pred,
        ref_pred,
        metric=the_suite.primary_metric,
        masks=masks,
        names=names,
        mode=mode,
        test=test,
        classes=len(fitted.classes),
    )
    # what leaves: the interval and decision to 3 decimals; the two scores only to the
    # Ladder's step (the released score of the run itself goes through the Ladder)
    step = {"candidate": 2, "reference": 2}
    shown = Comparison.from_dict(
        {
            k: round(v, step.get(k, 3)) if isinstance(v, float) else v
            for k, v in found.to_dict().items()
        }
    )
    diagnosis = diagnose_model(
        space,
        actor=actor,
        model=version,
        fitted=fitted,
        table=table,
        label_issues=False,
        train=train,
    )
    diagnosis["comparison"] = {**shown.to_dict(), "reference_model": ref_version.ref}
    return _record_run(space, actor, version, the_suite, metrics, diagnosis), shown


def _record_run(
    space: Space,
    actor: str,
    version: ModelVersion,
    suite: EvaluationSuite,
    metrics: dict[str, Any],
    diagnosis: dict[str, Any],
) -> EvaluationRun:
    diagnosis = dict(diagnosis)
    for_owners: dict[str, list[dict[str, Any]]] = diagnosis.pop(OWNER_ROWS, {})
    with space.work() as w:
        released = spend_query(w, suite, version, QueryUse.EVALUATION, metrics)
        sealed = resolve_version(w.tx, suite.dataset)
        run = EvaluationRun(
            id=uuid.uuid4().hex[:16],
            model=version.ref,
            suite=suite.name,
            dataset_hash=sealed.content_hash,
            metrics=released,
            passed=passes(metrics, suite.thresholds),
            diagnosis=diagnosis,
            created_by=actor,
            created_at=w.now,
        )
        w.tx.add_eval_run(run)
        for owner, rows in sorted(for_owners.items()):
            for ref in sorted({r["dataset"] for r in rows}):
                w.emit(
                    LabelIssuesFound(
                        actor=actor,
                        object_id=ref,
                        model=version.ref,
                        run=run.id,
                        owner=owner,
                        rows=[r for r in rows if r["dataset"] == ref],
                    )
                )
        w.emit(
            ModelEvaluated(
                actor=actor,
                object_id=version.ref,
                suite=suite.name,
                run=run.id,
                dataset_hash=sealed.content_hash,
                metrics={k: v for k, v in released.items() if isinstance(v, int | float)},
                released=bool(released["ladder"]["released"]),
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


def remaining_budget(
    space: Space, *, suite: str, model_name: str | None = None, organization: str | None = None
) -> int:
    """Queries left on a suite to an organization (or to the builder of ``model_name``)."""
    the_suite = require_suite(space, suite)
    with space.work() as w:
        if organization is None:
            if model_name is None:
                raise InvalidInput("say whose budget: an organization or a model name")
            organization = require_model(w.tx, model_name).created_by
        used = len(w.tx.suite_queries(suite=suite, organization=organization))
    return max(0, the_suite.query_budget - used)
