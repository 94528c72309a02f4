"""Label-issue detection on training data the caller may use (cleanlab, cross-validated)."""

from __future__ import annotations

from typing import Any

import numpy as np

from resonance.domain.diagnosis import label_issues, out_of_fold_proba
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
    fitted: FittedModel, data: PooledData, *, folds: int = 5, top_k: int = 20
) -> dict[str, Any]:
    """Suspected label errors per training dataset version, most suspicious first.

    Rows are named by ``(dataset version, row index)`` of data the caller was
    granted; label quality scores are lower-is-more-suspicious.
    """
    prepared = prepare_xy(
        data.table,
        data.label,
        encoder=fitted.encoder,
        classes=fitted.classes,
    )
    proba = out_of_fold_proba(
        prepared.y,
        lambda tr, te: fit_model(
            fitted.spec, _sub(prepared, tr), label=fitted.label, seed=0
        ).predict_proba(prepared.X[te]),
        folds=folds,
        n_classes=len(prepared.classes),
    )
    issues, quality = label_issues(prepared.y, proba)
    offsets = np.cumsum([0] + [v.row_count for v in data.versions])
    per_version: dict[str, int] = {}
    top = []
    for rank, idx in enumerate(issues):
        k = int(np.searchsorted(offsets, idx, side="right") - 1)
        ref = data.versions[k].ref
        per_version[ref] = per_version.get(ref, 0) + 1
        if rank < top_k:
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
