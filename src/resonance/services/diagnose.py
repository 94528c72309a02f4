"""Label-issue detection on training data the caller may use (cleanlab, cross-validated)."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.model_selection import StratifiedKFold

from resonance.domain.diagnosis import label_issues
from resonance.services.training import PooledData
from resonance.training.features import Prepared, prepare_xy
from resonance.training.trainers import FittedModel, fit_model


def out_of_fold_proba(
    fitted: FittedModel, prepared: Prepared, *, folds: int = 5, seed: int = 0
) -> np.ndarray:
    """Out-of-fold class probabilities with the model's own spec."""
    n_classes = len(prepared.classes)
    proba = np.full((len(prepared.y), n_classes), 1.0 / n_classes)
    counts = np.bincount(prepared.y[prepared.y >= 0], minlength=n_classes)
    k = int(max(2, min(folds, counts[counts > 0].min())))
    skf = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
    for tr, te in skf.split(prepared.X, prepared.y):
        sub = Prepared(
            prepared.X[tr],
            prepared.y[tr],
            prepared.classes,
            prepared.feature_names,
            None,
            prepared.encoder,
        )
        model = fit_model(fitted.spec, sub, label=fitted.label, seed=seed)
        proba[te] = model.predict_proba(prepared.X[te])
    return proba


def label_issue_summary(
    fitted: FittedModel, data: PooledData, *, folds: int = 5, top_k: int | None = 20
) -> dict[str, Any]:
    """Suspected label errors per training dataset version, most suspicious first.

    Rows are named by ``(dataset version, row index)`` of data the caller was
    granted; label quality scores are lower-is-more-suspicious. ``top`` lists the
    ``top_k`` most suspicious rows (every one with ``top_k=None``): per-row findings,
    for the rows' owners only.
    """
    prepared = prepare_xy(
        data.table,
        data.label,
        task=fitted.spec.task,
        encoder=fitted.encoder,
        classes=fitted.classes,
    )
    proba = out_of_fold_proba(fitted, prepared, folds=folds)
    issues, quality = label_issues(prepared.y, proba)
    offsets = np.cumsum([0] + [v.row_count for v in data.versions])
    per_version: dict[str, int] = {}
    top = []
    for rank, idx in enumerate(issues):
        k = int(np.searchsorted(offsets, idx, side="right") - 1)
        ref = data.versions[k].ref
        per_version[ref] = per_version.get(ref, 0) + 1
        if top_k is None or rank < top_k:
            top.append(
                {
                    "dataset": ref,
                    "row": int(idx - offsets[k]),
                    "given": fitted.classes[prepared.y[idx]],
                    "suggested": fitted.classes[int(proba[idx].argmax())],
                    "quality": round(float(quality[idx]), 4),
                }
            )
    return {
        "count": len(issues),
        "share": float(len(issues) / max(1, len(prepared.y))),
        "per_dataset": per_version,
        "top": top,
    }
