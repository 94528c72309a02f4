"""Label-issue detection on training data the caller may use (cleanlab, cross-validated)."""

from __future__ import annotations

from typing import Any

import numpy as np

from resonance.domain.diagnosis import (
    ROBUST_Z,
    label_issues,
    out_of_fold_predictions,
    out_of_fold_proba,
    residual_issues,
)
from resonance.domain.modeling import Task
from resonance.services.training import PooledData
from resonance.training.features import Prepared, prepare_xy
from resonance.training.trainers import FittedModel, fit_model


def _sub(prepared: Prepared, idx: np.ndarray) -> Prepared:
    return Prepared(
        prepared.X[idx],
        prepared.y[idx],
        prepared.classes,
        prepared.feature_names,
        None,
        prepared.encoder,
    )


def label_issue_summary(
    fitted: FittedModel, data: PooledData, *, folds: int = 5, top_k: int | None = 20
) -> dict[str, Any]:
    """Suspected label errors per training dataset version, most suspicious first.

    Classification: cleanlab on cross-validated probabilities (label quality
    scores are lower-is-more-suspicious). Regression: out-of-fold residuals
    under the robust z rule of :func:`resonance.domain.diagnosis.residual_issues`
    (``z``: higher ``|z|`` = more suspicious; ``suggested`` is the out-of-fold
    prediction). Folds keep the dataset's groups whole. Rows are named by
    ``(dataset version, row index)`` of data the caller was granted. ``top`` lists the ``top_k``
    most suspicious rows (every one with ``top_k=None``): per-row findings, for the
    rows' owners only.
    """
    prepared = prepare_xy(
        data.table,
        data.label,
        encoder=fitted.encoder,
        classes=fitted.classes or None,
        group_key=data.group_key if data.group_key in data.table.column_names else None,
    )

    def fit_on(idx: np.ndarray) -> FittedModel:
        return fit_model(fitted.spec, _sub(prepared, idx), label=fitted.label, seed=0)

    offsets = np.cumsum([0] + [v.row_count for v in data.versions])
    if fitted.spec.task is Task.REGRESSION:
        pred = out_of_fold_predictions(
            prepared.y,
            lambda tr, te: fit_on(tr).predict(prepared.X[te]),
            folds=folds,
            groups=prepared.groups,
        )
        issues, z = residual_issues(prepared.y, pred)

        def row(idx: int) -> dict[str, Any]:
            return {
                "given": float(prepared.y[idx]),
                "suggested": round(float(pred[idx]), 4),
                "z": round(float(z[idx]), 2),
            }

        method = f"out-of-fold residuals, robust z > {ROBUST_Z:g} (Iglewicz & Hoaglin)"
    else:
        proba = out_of_fold_proba(
            prepared.y,
            lambda tr, te: fit_on(tr).predict_proba(prepared.X[te]),
            folds=folds,
            n_classes=len(prepared.classes),
            groups=prepared.groups,
        )
        issues, quality = label_issues(prepared.y, proba)

        def row(idx: int) -> dict[str, Any]:
            return {
                "given": fitted.classes[prepared.y[idx]],
                "suggested": fitted.classes[int(proba[idx].argmax())],
                "quality": round(float(quality[idx]), 4),
            }

        method = "cleanlab (cross-validated probabilities)"
    per_version: dict[str, int] = {}
    top = []
    for rank, idx in enumerate(issues):
        k = int(np.searchsorted(offsets, idx, side="right") - 1)
        ref = data.versions[k].ref
        per_version[ref] = per_version.get(ref, 0) + 1
        if top_k is None or rank < top_k:
            top.append({"dataset": ref, "row": int(idx - offsets[k]), **row(int(idx))})
    return {
        "method": method,
        "count": len(issues),
        "share": float(len(issues) / max(1, len(prepared.y))),
        "per_dataset": per_version,
        "top": top,
    }
