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
from sklearn.model_selection import GroupKFold, KFold, StratifiedGroupKFold, StratifiedKFold

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


def fit_binning(frame: pd.DataFrame, *, n_bins: int = 4, max_categories: int = 12) -> Binning:
    """Quantile-bin numeric columns and code categorical ones.

    Categorical columns keep their ``max_categories`` most frequent values;
    the rest, and missing values, share one "other/missing" code. Numeric
    missing values get their own code.
    """
    edges: list[np.ndarray | None] = []
    cats: list[list[str] | None] = []
    for name in frame.columns:
        col = frame[name]
        if not pd.api.types.is_numeric_dtype(col.dtype):
            counts = col.value_counts(dropna=True)
            cats.append(sorted({str(c) for c in counts.index[counts > 0][:max_categories]}))
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


def _fmt(x: float, digits: int = 4) -> str:
    return f"{x:.{digits}g}"


def bound_digits(edges: np.ndarray, *, least: int = 4, most: int = 17) -> int:
    """Fewest significant digits (at least ``least``) that print distinct edges distinctly."""
    values = np.unique(np.asarray(edges, dtype=float))
    for digits in range(least, most + 1):
        if len({_fmt(v, digits) for v in values.tolist()}) == len(values):
            return digits
    return most


def _category_codes(col: pd.Series, cat_list: list[str]) -> np.ndarray:
    """Index of each value in ``cat_list``; other and missing values get ``len(cat_list)``."""
    other = len(cat_list)
    if isinstance(col.dtype, pd.CategoricalDtype):
        lookup = {c: i for i, c in enumerate(cat_list)}
        table = [lookup.get(str(c), other) for c in col.cat.categories]
        return np.asarray([*table, other], dtype=np.int32)[col.cat.codes.to_numpy()]
    code = pd.Categorical(col.astype(str), categories=cat_list).codes.astype(np.int32)
    code[(code < 0) | col.isna().to_numpy()] = other
    return code


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
            codes[:, j] = _category_codes(col, cat_list)
            predicates.append([f"{name} = {c}" for c in cat_list] + [f"{name} is other/missing"])
        else:
            e = edges[j]
            assert e is not None
            values = col.to_numpy(dtype=float)
            code = np.searchsorted(e, values, side="right")
            code[np.isnan(values)] = len(e) + 1
            codes[:, j] = code
            bounds = [-np.inf, *e.tolist(), np.inf]
            digits = bound_digits(e)
            preds = []
            for i in range(len(e) + 1):
                lo, hi = bounds[i], bounds[i + 1]
                if np.isinf(lo):
                    preds.append(f"{name} < {_fmt(hi, digits)}")
                elif np.isinf(hi):
                    preds.append(f"{name} >= {_fmt(lo, digits)}")
                else:
                    preds.append(f"{_fmt(lo, digits)} <= {name} < {_fmt(hi, digits)}")
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
                if c < len(cat_list):
                    out.append({"feature": name, "op": "eq", "value": cat_list[c]})
                else:
                    out.append({"feature": name, "op": "other", "values": list(cat_list)})
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


DENSE_KEYS = 1 << 22


def group_counts(
    codes: np.ndarray, feats: tuple[int, ...], radices: list[int], weights: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows (and summed ``weights``) per combination of codes of ``feats``.

    Returns ``(keys, sizes, sums)`` for the combinations that occur, where a
    key is the mixed-radix number of the codes (decode with :func:`decode_key`).
    """
    key = np.zeros(len(codes), dtype=np.int64)
    total = 1
    for f in feats:
        key = key * radices[f] + codes[:, f]
        total *= radices[f]
    if total <= DENSE_KEYS:
        sizes = np.bincount(key, minlength=total)
        sums = np.bincount(key, weights=weights, minlength=total) if weights is not None else sizes
        keys = np.nonzero(sizes)[0]
        return keys, sizes[keys], np.asarray(sums[keys], dtype=float)
    keys, inverse = np.unique(key, return_inverse=True)
    sizes = np.bincount(inverse)
    sums = np.bincount(inverse, weights=weights) if weights is not None else sizes
    return keys, sizes, np.asarray(sums, dtype=float)


def decode_key(key: int, feats: tuple[int, ...], radices: list[int]) -> tuple[tuple[int, int], ...]:
    """The ``(feature, code)`` pairs of a key made by :func:`group_counts`."""
    parts = []
    rest = int(key)
    for f in reversed(feats):
        parts.append((f, rest % radices[f]))
        rest //= radices[f]
    return tuple(reversed(parts))


def _candidates(
    binning: Binning, err: np.ndarray, feats: tuple[int, ...], *, min_support: int
) -> list[tuple[tuple[tuple[int, int], ...], int, float]]:
    """Every slice over ``feats`` with at least ``min_support`` rows."""
    radices = [len(p) for p in binning.predicates]
    keys, sizes, errs = group_counts(binning.codes, feats, radices, err)
    keep = np.nonzero(sizes >= min_support)[0]
    return [(decode_key(int(keys[i]), feats, radices), int(sizes[i]), float(errs[i])) for i in keep]


def find_slices(
    binning: Binning,
    errors: np.ndarray,
    *,
    max_level: int = 3,
    min_support: int = 30,
    top_k: int = 10,
    max_features_per_level: int | None = 12,
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
        Features kept for the next level, those in the best-scoring slices so
        far (``None`` keeps every feature whose bound can still reach the top k).

    Returns
    -------
    list[Slice]
        Ranked by ``score = size × (slice error rate − overall error rate)``,
        higher = worse; only slices with a positive score. A feature takes part
        in the next level only while its bound ``max over its slices S of
        errors(S) − min_support × overall error rate`` (every refinement's
        score is at most that) beats the current k-th best score.
    """
    err = np.asarray(errors, dtype=float)
    if len(err) == 0 or binning.codes.shape[1] == 0:
        return []
    mean = float(err.mean())
    found: dict[tuple[tuple[int, int], ...], tuple[int, float]] = {}
    alive = set(range(binning.codes.shape[1]))
    for level in range(1, max_level + 1):
        bounds: dict[int, float] = {}
        best: dict[int, float] = {}
        for feats in combinations(sorted(alive), level):
            for preds, size, e in _candidates(binning, err, feats, min_support=min_support):
                if e > size * mean:
                    found[preds] = (size, e)
                ub = e - min_support * mean
                for f in feats:
                    bounds[f] = max(bounds.get(f, -np.inf), ub)
                    best[f] = max(best.get(f, 0.0), e - size * mean)
        threshold = _kth_score(found, top_k, mean)
        # the bound grows with slice size, so the cap keeps the features of the best slices
        promising = sorted(
            (f for f, ub in bounds.items() if ub > threshold), key=lambda f: (-best[f], -bounds[f])
        )
        alive = set(promising[:max_features_per_level] if max_features_per_level else promising)
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
        elif cond["op"] == "other":
            known = col.astype(object).isin(cond["values"]).to_numpy()
            mask &= ~known | col.isna().to_numpy()
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


def cv_folds(
    y: np.ndarray,
    *,
    folds: int = 5,
    seed: int = 0,
    groups: np.ndarray | None = None,
    stratify: bool = True,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Cross-validation folds (train, test indices); a group never straddles two folds.

    With ``groups``: stratified group folds (classification) or group folds
    (regression), as many as there are groups up to ``folds``. Without:
    stratified (classification, at most the rarest class's count) or plain
    shuffled folds. At least 2 folds.
    """
    n = len(y)
    idx = np.zeros(n)
    if groups is not None:
        n_groups = len(np.unique(groups))
        k = int(max(2, min(folds, n_groups)))
        if stratify:
            split = StratifiedGroupKFold(k, shuffle=True, random_state=seed).split(idx, y, groups)
        else:
            split = GroupKFold(k, shuffle=True, random_state=seed).split(idx, y, groups)
        return list(split)
    if stratify:
        counts = np.bincount(y[y >= 0])
        k = int(max(2, min(folds, counts[counts > 0].min())))
        return list(StratifiedKFold(k, shuffle=True, random_state=seed).split(idx, y))
    return list(KFold(int(max(2, folds)), shuffle=True, random_state=seed).split(idx))


def out_of_fold_predictions(
    y: np.ndarray,
    fit_predict: Callable[[np.ndarray, np.ndarray], np.ndarray],
    *,
    folds: int = 5,
    seed: int = 0,
    groups: np.ndarray | None = None,
) -> np.ndarray:
    """Cross-validated predictions of a regression target for every row.

    ``fit_predict(train_idx, test_idx)`` trains on the rows at ``train_idx`` and
    returns predictions for the rows at ``test_idx``; folds keep groups whole
    (see :func:`cv_folds`). Each row's prediction comes from a model that never saw it.
    """
    pred = np.full(len(y), np.nan)
    for tr, te in cv_folds(y, folds=folds, seed=seed, groups=groups, stratify=False):
        pred[te] = fit_predict(tr, te)
    return pred


ROBUST_Z = 7.0
"""Cut-off of the modified z-score for target errors. Iglewicz and Hoaglin suggest 3.5
for Gaussian data; industrial residuals are heavy-tailed (load changes are genuinely
hard to predict), and on steel-energy 3.5 flags about twice as many clean rows as
corrupted ones at the same recall (``bench/loop.py``), 7 about one in eight."""


def residual_issues(
    y: np.ndarray,
    pred: np.ndarray,
    *,
    threshold: float = ROBUST_Z,
    bins: int = 10,
) -> tuple[np.ndarray, np.ndarray]:
    """Suspected target errors of a regression from out-of-fold residuals (robust z rule).

    The modified z-score of Iglewicz and Hoaglin (1993, "How to detect and
    handle outliers"), ``z = 0.6745 (r - median(r)) / MAD(r)`` with ``r = y - pred``
    the out-of-fold residual and ``MAD`` the median absolute deviation, is robust
    to the errors it looks for (a share of corrupted targets barely moves the
    median and the MAD). Residuals grow with the predicted value (heteroscedastic
    targets such as energy use), so the median and MAD are taken within each of
    ``bins`` quantile bins of the prediction. Rows with ``|z| > threshold`` are suspects.

    Returns
    -------
    (indices, z)
        Suspects, most suspicious (largest ``|z|``) first, and every row's ``z``
        (higher ``|z|`` = more suspicious; NaN where the target or prediction is missing).
    """
    p = np.asarray(pred, dtype=float)
    r = np.asarray(y, dtype=float) - p
    ok = np.isfinite(r)
    z = np.full(len(r), np.nan)
    if ok.sum() < 3:
        return np.empty(0, dtype=np.int64), z
    n_bins = int(max(1, min(bins, ok.sum() // 30)))  # at least 30 rows a bin
    edges = np.quantile(p[ok], np.linspace(0, 1, n_bins + 1)[1:-1])
    code = np.searchsorted(edges, p, side="right")
    for c in np.unique(code[ok]):
        m = ok & (code == c)
        med = float(np.median(r[m]))
        mad = float(np.median(np.abs(r[m] - med)))
        if mad <= 0:
            mad = float(np.mean(np.abs(r[m] - med))) or 1.0
        z[m] = 0.6745 * (r[m] - med) / mad
    score = np.where(ok, np.abs(np.nan_to_num(z)), 0.0)
    flagged = np.nonzero(score > threshold)[0]
    return flagged[np.argsort(-score[flagged], kind="stable")].astype(np.int64), z


def out_of_fold_proba(
    y: np.ndarray,
    fit_predict: Callable[[np.ndarray, np.ndarray], np.ndarray],
    *,
    folds: int = 5,
    seed: int = 0,
    n_classes: int | None = None,
    groups: np.ndarray | None = None,
) -> np.ndarray:
    """Cross-validated class probabilities for every row (stratified folds, groups kept whole).

    Parameters
    ----------
    y:
        Class codes (negative = unknown label; such rows are still predicted).
    fit_predict:
        ``fit_predict(train_idx, test_idx)`` trains on the rows at ``train_idx``
        and returns class probabilities of the rows at ``test_idx``.
    folds:
        At most this many folds (fewer when the rarest class has fewer rows; at least 2).
    n_classes:
        Number of classes (default ``y.max() + 1``); classes a fold's model never saw
        keep the uniform prior.
    groups:
        Each row's group (the dataset's group key): a group never straddles folds.

    Returns
    -------
    np.ndarray
        ``(len(y), n_classes)`` probabilities, each row from a model that never saw it.
    """
    n = int(y.max()) + 1 if n_classes is None else n_classes
    proba = np.full((len(y), n), 1.0 / n)
    for tr, te in cv_folds(y, folds=folds, seed=seed, groups=groups):
        p = fit_predict(tr, te)
        proba[te, : p.shape[1]] = p
    return proba


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
    # n_jobs=1: cleanlab's default forks worker processes, and a fork inside the threaded
    # API server can copy a held lock into the child, which then waits forever
    issues = find_label_issues(
        labels,
        pred_probs,
        filter_by=filter_by,
        return_indices_ranked_by="self_confidence",
        n_jobs=1,
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
    bigger gap); a pair is left out when one of its single bins already is a
    gap. Both binnings must share features and bins: fit the bins on the
    evaluation data (its regions are what matters) and :func:`apply_binning`
    them to the training data.
    """
    n_tr, n_ev = len(train.codes), len(evaluation.codes)
    if n_tr == 0 or n_ev == 0:
        return []
    radices = [len(p) for p in evaluation.predicates]
    n_feat = len(evaluation.features)
    gaps: list[dict[str, Any]] = []
    single: set[tuple[int, int]] = set()
    for feats in [*((f,) for f in range(n_feat)), *combinations(range(n_feat), 2)]:
        keys, c_ev, _ = group_counts(evaluation.codes, feats, radices)
        t_keys, t_sizes, _ = group_counts(train.codes, feats, radices)
        c_tr = dict(zip(t_keys.tolist(), t_sizes.tolist(), strict=True))
        for key, ev_rows in zip(keys.tolist(), c_ev.tolist(), strict=True):
            tr_rows = c_tr.get(key, 0)
            if ev_rows < min_eval_rows or tr_rows / n_tr >= max_ratio * ev_rows / n_ev:
                continue
            preds = decode_key(key, feats, radices)
            if len(preds) == 1:
                single.add(preds[0])
            elif single.intersection(preds):
                continue
            region = " AND ".join(evaluation.predicates[f][c] for f, c in preds)
            gaps.append({"region": region, "eval_rows": ev_rows, "train_rows": tr_rows})
    gaps.sort(key=lambda g: (-int(g["eval_rows"]), int(g["train_rows"])))
    return gaps[:top_k]
