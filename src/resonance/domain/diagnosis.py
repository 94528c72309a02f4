"""Diagnosis: weak slices (SliceLine-style search), label issues (cleanlab), coverage gaps.

Slice scores are "higher is worse for the model": ``score = size × (slice
error − overall error)``, i.e. the number of extra errors the slice accounts
for. Label quality scores are "lower is more suspicious".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from itertools import combinations
from typing import Any

import numpy as np
import pandas as pd

MISSING = "missing"


@dataclass(frozen=True)
class Binning:
    """Integer codes per row and feature, with a readable predicate per code."""

    codes: np.ndarray  # (n_rows, n_features), int
    features: list[str]
    predicates: list[list[str]]  # per feature, per code
    edges: list[np.ndarray | None]  # numeric bin edges (None for categorical)
    categories: list[list[str] | None]

    @property
    def n_bins(self) -> int:
        """Largest number of codes of any feature."""
        return max(len(p) for p in self.predicates)


def fit_binning(frame: pd.DataFrame, *, n_bins: int = 4) -> Binning:
    """Quantile-bin numeric columns and code categorical ones (missing gets its own code)."""
    edges: list[np.ndarray | None] = []
    cats: list[list[str] | None] = []
    for name in frame.columns:
        col = frame[name]
        if isinstance(col.dtype, pd.CategoricalDtype) or col.dtype == object:
            cats.append(sorted(str(c) for c in pd.unique(col.dropna())))
            edges.append(None)
        else:
            values = col.to_numpy(dtype=float)
            qs = (
                np.nanquantile(values, np.linspace(0, 1, n_bins + 1)[1:-1])
                if np.isfinite(values).any()
                else np.array([])
            )
            edges.append(np.unique(qs))
            cats.append(None)
    return apply_binning(frame, edges=edges, categories=cats)


def _fmt(x: float) -> str:
    return f"{x:.4g}"


def apply_binning(
    frame: pd.DataFrame, *, edges: list[np.ndarray | None], categories: list[list[str] | None]
) -> Binning:
    """Code ``frame`` with bins learned elsewhere (e.g. training bins applied to evaluation)."""
    n, f = len(frame), len(frame.columns)
    codes = np.zeros((n, f), dtype=np.int32)
    predicates: list[list[str]] = []
    for j, name in enumerate(frame.columns):
        col = frame[name]
        if edges[j] is None:
            cat_list = categories[j] or []
            lookup = {c: i for i, c in enumerate(cat_list)}
            vals = col.astype(object).to_numpy()
            codes[:, j] = [
                lookup.get(str(v), len(cat_list)) if v == v and v is not None else len(cat_list)
                for v in vals
            ]
            predicates.append([f"{name} = {c}" for c in cat_list] + [f"{name} is other/missing"])
        else:
            e = edges[j]
            assert e is not None
            values = col.to_numpy(dtype=float)
            code = np.searchsorted(e, values, side="right")
            code[np.isnan(values)] = len(e) + 1
            codes[:, j] = code
            bounds = [-np.inf, *e.tolist(), np.inf]
            preds = []
            for i in range(len(e) + 1):
                lo, hi = bounds[i], bounds[i + 1]
                if np.isinf(lo):
                    preds.append(f"{name} < {_fmt(hi)}")
                elif np.isinf(hi):
                    preds.append(f"{name} >= {_fmt(lo)}")
                else:
                    preds.append(f"{_fmt(lo)} <= {name} < {_fmt(hi)}")
            predicates.append([*preds, f"{name} is {MISSING}"])
    return Binning(codes, list(frame.columns), predicates, edges, categories)


@dataclass(frozen=True)
class Slice:
    """A conjunction of predicates with its size and error statistics."""

    predicates: tuple[tuple[int, int], ...]  # (feature index, code)
    description: str
    size: int
    errors: float
    error_rate: float
    score: float

    def mask(self, codes: np.ndarray) -> np.ndarray:
        """Rows in the slice."""
        m = np.ones(len(codes), dtype=bool)
        for f, c in self.predicates:
            m &= codes[:, f] == c
        return m

    def conditions(self, binning: Binning) -> list[dict[str, Any]]:
        """Machine-readable predicates (to select matching rows in other tables)."""
        out: list[dict[str, Any]] = []
        for f, c in self.predicates:
            name = binning.features[f]
            edges, cats = binning.edges[f], binning.categories[f]
            if edges is None:
                cat_list = cats or []
                value = cat_list[c] if c < len(cat_list) else None
                out.append({"feature": name, "op": "eq", "value": value})
            elif c > len(edges):
                out.append({"feature": name, "op": "missing"})
            else:
                lo = float(edges[c - 1]) if c > 0 else None
                hi = float(edges[c]) if c < len(edges) else None
                out.append({"feature": name, "op": "range", "lo": lo, "hi": hi})
        return out

    def to_dict(self) -> dict[str, Any]:
        """Serialize to plain JSON types (aggregates only)."""
        return {
            "slice": self.description,
            "size": self.size,
            "error_rate": round(self.error_rate, 6),
            "score": round(self.score, 6),
        }


def _level_stats(key: np.ndarray, err: np.ndarray, n_keys: int) -> tuple[np.ndarray, np.ndarray]:
    sizes = np.bincount(key, minlength=n_keys)
    errs = np.bincount(key, weights=err, minlength=n_keys)
    return sizes, errs


def _candidates(
    binning: Binning, err: np.ndarray, feats: tuple[int, ...], *, min_support: int, mean: float
) -> list[tuple[tuple[tuple[int, int], ...], int, float]]:
    B = binning.n_bins + 1
    key = np.zeros(len(err), dtype=np.int64)
    for f in feats:
        key = key * B + binning.codes[:, f]
    sizes, errs = _level_stats(key, err, B ** len(feats))
    out = []
    for k in np.nonzero((sizes >= min_support) & (errs > sizes * mean))[0]:
        parts = []
        rest = int(k)
        for f in reversed(feats):
            parts.append((f, rest % B))
            rest //= B
        out.append((tuple(reversed(parts)), int(sizes[k]), float(errs[k])))
    return out


def find_slices(
    binning: Binning,
    errors: np.ndarray,
    *,
    max_level: int = 3,
    min_support: int = 30,
    top_k: int = 10,
    max_features_per_level: int = 12,
) -> list[Slice]:
    """SliceLine-style search for the slices where the model errs most.

    Parameters
    ----------
    binning:
        Integer-coded features (see :func:`fit_binning`).
    errors:
        Per-row error, 0/1 for classification or a loss (higher is worse).
    max_level:
        Most predicates in a conjunction (1 to 3).
    min_support:
        Fewest rows a slice may hold.
    top_k:
        How many slices to return.
    max_features_per_level:
        Features kept for the next level, chosen by their best upper bound.

    Returns
    -------
    list[Slice]
        Ranked by ``score = size × (slice error rate − overall error rate)``,
        higher = worse. Refinements are pruned with the SliceLine bound
        ``score(S') ≤ errors(S) − min_support × overall error rate``.
    """
    err = np.asarray(errors, dtype=float)
    n = len(err)
    if n == 0 or binning.codes.shape[1] == 0:
        return []
    mean = float(err.mean())
    found: dict[tuple[tuple[int, int], ...], tuple[int, float]] = {}
    alive = set(range(binning.codes.shape[1]))
    for level in range(1, max_level + 1):
        threshold = _kth_score(found, top_k, mean)
        bounds: dict[int, float] = {}
        for feats in combinations(sorted(alive), level):
            for preds, size, e in _candidates(
                binning, err, feats, min_support=min_support, mean=mean
            ):
                found[preds] = (size, e)
                ub = e - min_support * mean
                for f in feats:
                    bounds[f] = max(bounds.get(f, -np.inf), ub)
        promising = [f for f, ub in bounds.items() if ub > threshold]
        alive = set(sorted(promising, key=lambda f: -bounds[f])[:max_features_per_level])
        if len(alive) <= level:
            break
    return _rank(binning, found, mean, top_k)


def _kth_score(found: dict[Any, tuple[int, float]], k: int, mean: float) -> float:
    scores = sorted((e - s * mean for s, e in found.values()), reverse=True)
    return scores[k - 1] if len(scores) >= k else 0.0


def _rank(
    binning: Binning,
    found: dict[tuple[tuple[int, int], ...], tuple[int, float]],
    mean: float,
    top_k: int,
) -> list[Slice]:
    ranked = sorted(found.items(), key=lambda kv: -(kv[1][1] - kv[1][0] * mean))
    out: list[Slice] = []
    for preds, (size, e) in ranked[:top_k]:
        desc = " AND ".join(binning.predicates[f][c] for f, c in preds)
        out.append(Slice(preds, desc, size, e, e / size, e - size * mean))
    return out


def conditions_mask(frame: pd.DataFrame, conditions: list[dict[str, Any]]) -> np.ndarray:
    """Rows of ``frame`` matching every condition of :meth:`Slice.conditions`."""
    mask = np.ones(len(frame), dtype=bool)
    for cond in conditions:
        col = frame[cond["feature"]]
        if cond["op"] == "eq":
            mask &= (col.astype(object) == cond["value"]).to_numpy()
        elif cond["op"] == "missing":
            mask &= col.isna().to_numpy()
        else:
            values = col.to_numpy(dtype=float)
            if cond["lo"] is not None:
                mask &= values >= cond["lo"]
            if cond["hi"] is not None:
                mask &= values < cond["hi"]
    return mask


def slice_metrics(
    slices: list[Slice], binning: Binning, metric: Callable[[np.ndarray], float]
) -> list[dict[str, Any]]:
    """Apply ``metric(mask)`` to each slice's rows (e.g. macro-F1 within the slice)."""
    return [{**s.to_dict(), "metric": metric(s.mask(binning.codes))} for s in slices]


def label_issues(
    labels: np.ndarray, pred_probs: np.ndarray, *, filter_by: str = "prune_by_noise_rate"
) -> tuple[np.ndarray, np.ndarray]:
    """Suspected label errors with cleanlab.

    Parameters
    ----------
    labels:
        Given class indices.
    pred_probs:
        Out-of-sample predicted probabilities (e.g. from cross-validation).

    Returns
    -------
    (indices, quality)
        Indices of suspected errors, most suspicious first, and every row's
        label quality score (lower = more likely mislabeled).
    """
    from cleanlab.filter import find_label_issues
    from cleanlab.rank import get_label_quality_scores

    quality = get_label_quality_scores(labels, pred_probs)
    issues = find_label_issues(
        labels, pred_probs, filter_by=filter_by, return_indices_ranked_by="self_confidence"
    )
    return np.asarray(issues, dtype=np.int64), np.asarray(quality)


def coverage_gaps(
    train: Binning,
    evaluation: Binning,
    *,
    min_eval_rows: int = 20,
    max_ratio: float = 0.25,
    top_k: int = 10,
) -> list[dict[str, Any]]:
    """Regions (single bins and bin pairs) common in evaluation data but rare in training data.

    A region is a gap when its share of training rows is below ``max_ratio``
    times its share of evaluation rows. Ranked by evaluation rows (higher =
    bigger gap). Both binnings must share features and bins (use
    :func:`apply_binning` with the training edges on the evaluation data).
    """
    n_tr, n_ev = len(train.codes), len(evaluation.codes)
    if n_tr == 0 or n_ev == 0:
        return []
    B = train.n_bins + 1
    gaps: list[dict[str, Any]] = []
    for feats in [
        *((f,) for f in range(len(train.features))),
        *combinations(range(len(train.features)), 2),
    ]:
        k_tr = np.zeros(n_tr, dtype=np.int64)
        k_ev = np.zeros(n_ev, dtype=np.int64)
        for f in feats:
            k_tr = k_tr * B + train.codes[:, f]
            k_ev = k_ev * B + evaluation.codes[:, f]
        c_tr = np.bincount(k_tr, minlength=B ** len(feats))
        c_ev = np.bincount(k_ev, minlength=B ** len(feats))
        for k in np.nonzero(c_ev >= min_eval_rows)[0]:
            if c_tr[k] / n_tr < max_ratio * c_ev[k] / n_ev:
                parts, rest = [], int(k)
                for f in reversed(feats):
                    parts.append(train.predicates[f][rest % B])
                    rest //= B
                gaps.append(
                    {
                        "region": " AND ".join(reversed(parts)),
                        "eval_rows": int(c_ev[k]),
                        "train_rows": int(c_tr[k]),
                    }
                )
    gaps.sort(key=lambda g: (-int(g["eval_rows"]), int(g["train_rows"])))
    return gaps[:top_k]
