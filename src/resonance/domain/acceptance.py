"""Acceptance as a test: is a candidate model better than the current one on the same rows?

A loop candidate is kept only when a *paired* comparison on the sealed suite's
rows says so at a stated confidence, not when its score is the maximum of a few
noisy scores. :func:`compare` takes both models' predictions on the same rows
(computed inside the evaluation service: no row or per-row prediction leaves it)
and returns a :class:`Comparison`: the gain of the primary metric with a paired
bootstrap interval, the change of the worst measurable slice, and the decision
with its reason.

Directions: every *gain* is oriented so that positive means the candidate is
better — macro-F1/accuracy (higher is better): candidate − reference; RMSE/MAE
(lower is better): reference − candidate. ``slice_change`` likewise (negative:
the worst slice got worse).

Two modes:

``improve``
    Accept only when the interval's lower bound exceeds ``min_gain`` and the worst
    slice drops by at most ``max_slice_drop`` (acquisition and automatic cleaning).
``no-harm``
    Fixes the owners accepted on their review queue are applied because they are
    right; the suite only guards against significant harm: reject when the
    interval's upper bound is below 0 (significantly worse at the confidence) or
    the worst slice drops by more than ``max_slice_drop``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from resonance.domain.errors import InvalidAcceptanceTest

if TYPE_CHECKING:
    import numpy as np

IMPROVE, NO_HARM = "improve", "no-harm"
MODES = (IMPROVE, NO_HARM)
PRIMARY_METRICS = ("macro_f1", "accuracy", "rmse", "mae")
LOWER_IS_BETTER = ("rmse", "mae")
DEFAULT_CONFIDENCE = 0.8
"""The paired test's default two-sided confidence: a lower bound at the 10th percentile of
the gain (chosen on the loop benchmark's tuning seeds: at 0.9 most acquisitions that
helped on the test set were rejected on AI4I's ~1,500-row suite)."""
DEFAULT_MIN_GAIN = 0.0  # the gain's lower bound must exceed it (primary metric's units)
DEFAULT_MAX_SLICE_DROP = 0.05  # largest tolerated drop of the worst measured slice


@dataclass(frozen=True, kw_only=True)
class AcceptanceTest:
    """Options of the paired test (see the module docstring).

    ``confidence`` is the two-sided coverage of the bootstrap interval
    (0.5 < c < 1); ``min_gain`` is in the primary metric's units (≥ 0);
    ``max_slice_drop`` the largest tolerated drop of the worst slice's metric
    (macro-F1, or RMSE rise for regression; ≥ 0). A slice is measured when it
    holds ≥ ``min_slice_rows`` rows and (classification) ≥ ``min_slice_positives``
    rows outside its majority class.
    """

    confidence: float = DEFAULT_CONFIDENCE
    min_gain: float = DEFAULT_MIN_GAIN
    max_slice_drop: float = DEFAULT_MAX_SLICE_DROP
    resamples: int = 1000
    seed: int = 0
    min_slice_rows: int = 30
    min_slice_positives: int = 5

    def __post_init__(self) -> None:
        if not 0.5 < self.confidence < 1.0:
            raise InvalidAcceptanceTest(
                "confidence must be between 0.5 and 1 (exclusive)", confidence=self.confidence
            )
        if self.min_gain < 0 or self.max_slice_drop < 0:
            raise InvalidAcceptanceTest(
                "min-gain and max-slice-drop must be ≥ 0",
                min_gain=self.min_gain,
                max_slice_drop=self.max_slice_drop,
            )
        if not 100 <= self.resamples <= 20000:
            raise InvalidAcceptanceTest(
                "resamples must be between 100 and 20000", resamples=self.resamples
            )

    def to_dict(self) -> dict[str, Any]:
        """Serialize to plain JSON types."""
        return dict(self.__dict__)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AcceptanceTest:
        """Inverse of :meth:`to_dict` (missing keys take the defaults)."""
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        return cls(**known)


@dataclass(frozen=True, kw_only=True)
class Comparison:
    """A candidate against the current model on the same sealed rows (aggregates only).

    ``candidate``/``reference`` are the primary metric's own values; ``gain``,
    ``low``, ``high`` the oriented gain (positive = candidate better) and its
    paired bootstrap interval at ``confidence``; ``slice_change`` the oriented
    change of the worst measured slice (``worst_slice`` names it, ``slices`` counts
    the measured slices); ``accepted`` and ``reason`` the decision in ``mode``.
    """

    metric: str
    mode: str
    candidate: float
    reference: float
    gain: float
    low: float
    high: float
    confidence: float
    slice_change: float
    worst_slice: str
    slices: int
    rows: int
    accepted: bool
    reason: str

    def to_dict(self) -> dict[str, Any]:
        """Serialize to plain JSON types."""
        return {k: (float(v) if isinstance(v, float) else v) for k, v in self.__dict__.items()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Comparison:
        """Inverse of :meth:`to_dict`."""
        return cls(**{k: data[k] for k in cls.__dataclass_fields__})


def bootstrap_counts(n: int, *, resamples: int, seed: int) -> np.ndarray:
    """How often each of ``n`` rows is drawn in each of ``resamples`` resamples (shape B × n)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    draws = rng.integers(0, n, size=(resamples, n))
    flat = (draws + (np.arange(resamples) * n)[:, None]).ravel()
    return np.bincount(flat, minlength=resamples * n).reshape(resamples, n).astype(np.float64)


def weighted_metric(
    metric: str, y: np.ndarray, pred: np.ndarray, weights: np.ndarray, *, classes: int = 0
) -> np.ndarray:
    """``metric`` of ``pred`` against ``y`` under each row of ``weights`` (B × n).

    ``macro_f1`` averages F1 over the classes present (true or predicted) in each
    resample; ``accuracy``; ``rmse`` and ``mae`` (lower is better) for regression.
    """
    import numpy as np

    total = weights.sum(axis=1)
    if metric == "accuracy":
        return np.asarray(weights @ (pred == y).astype(float) / total)
    if metric == "rmse":
        return np.asarray(np.sqrt(weights @ ((pred - y) ** 2) / total))
    if metric == "mae":
        return np.asarray(weights @ np.abs(pred - y) / total)
    if metric != "macro_f1":
        raise InvalidAcceptanceTest(f"no paired test for metric {metric!r}", metric=metric)
    f1 = np.zeros(weights.shape[0])
    present = np.zeros(weights.shape[0])
    for c in range(max(classes, int(max(y.max(initial=0), pred.max(initial=0))) + 1)):
        is_y, is_p = y == c, pred == c
        tp = weights @ (is_y & is_p).astype(float)
        fp = weights @ (~is_y & is_p).astype(float)
        fn = weights @ (is_y & ~is_p).astype(float)
        denom = 2 * tp + fp + fn
        here = denom > 0
        f1 += np.where(here, 2 * tp / np.where(here, denom, 1.0), 0.0)
        present += here
    return np.asarray(f1 / np.maximum(present, 1.0))


def measurable_slices(
    masks: list[np.ndarray], y: np.ndarray, *, classification: bool, test: AcceptanceTest
) -> list[int]:
    """Indices of the slices with enough rows (and, classifying, enough minority rows).

    A slice counts when it holds ≥ ``test.min_slice_rows`` rows and, for
    classification, ≥ ``test.min_slice_positives`` rows outside its majority
    class: a bin with three failures says nothing about failures.
    """
    import numpy as np

    out = []
    for i, m in enumerate(masks):
        if m.sum() < test.min_slice_rows:
            continue
        if classification:
            counts = np.bincount(y[m].astype(int))
            if counts.sum() - counts.max() < test.min_slice_positives:
                continue
        out.append(i)
    return out


def slice_scores(
    metric: str, y: np.ndarray, pred: np.ndarray, masks: list[np.ndarray], *, classes: int = 0
) -> np.ndarray:
    """``metric`` per slice (the slice metric: macro-F1 classifying, else RMSE)."""
    import numpy as np

    out = []
    for m in masks:
        ones = np.ones((1, int(m.sum())))
        out.append(float(weighted_metric(metric, y[m], pred[m], ones, classes=classes)[0]))
    return np.array(out)


def decide(
    *, gain: float, low: float, high: float, slice_change: float, mode: str, test: AcceptanceTest
) -> tuple[bool, str]:
    """The decision and its reason (see the module docstring for the two modes)."""
    pct = f"{test.confidence:.0%}"
    interval = f"gain {gain:+.4f}, {pct} interval [{low:+.4f}, {high:+.4f}]"
    if slice_change < -test.max_slice_drop:
        return False, (
            f"worst slice dropped by {-slice_change:.4f} > max-slice-drop "
            f"{test.max_slice_drop:g} ({interval})"
        )
    if mode == NO_HARM:
        if high < 0:
            return False, f"significantly worse: {interval}"
        return True, f"no significant harm: {interval}"
    if mode != IMPROVE:
        raise InvalidAcceptanceTest(f"unknown acceptance mode {mode!r}", mode=mode)
    if low > test.min_gain:
        return True, f"significant gain: {interval} above min-gain {test.min_gain:g}"
    return False, f"gain not significant: {interval}, lower bound ≤ min-gain {test.min_gain:g}"


def compare(
    y: np.ndarray,
    candidate: np.ndarray,
    reference: np.ndarray,
    *,
    metric: str,
    masks: list[np.ndarray],
    names: list[str],
    mode: str,
    test: AcceptanceTest,
    classes: int = 0,
) -> Comparison:
    """Paired bootstrap of the primary metric's gain and the worst measured slice's change.

    Parameters
    ----------
    y:
        True labels (class indices) or targets of the sealed rows.
    candidate, reference:
        Both models' predictions on the same rows (class indices or values).
    metric:
        The primary metric (``macro_f1``, ``accuracy``: higher is better;
        ``rmse``, ``mae``: lower is better).
    masks, names:
        The slice family (boolean masks over the rows) and their descriptions;
        only :func:`measurable_slices` count.
    mode, test:
        ``improve`` or ``no-harm``, and the test's options.

    Returns
    -------
    Comparison
        Oriented gain (positive = candidate better), interval, slice change, decision.
    """
    import numpy as np

    if metric not in PRIMARY_METRICS:
        raise InvalidAcceptanceTest(f"no paired test for metric {metric!r}", metric=metric)
    sign = -1.0 if metric in LOWER_IS_BETTER else 1.0
    regression = metric in LOWER_IS_BETTER
    w = bootstrap_counts(len(y), resamples=test.resamples, seed=test.seed)
    new = weighted_metric(metric, y, candidate, w, classes=classes)
    old = weighted_metric(metric, y, reference, w, classes=classes)
    diffs = sign * (new - old)
    one = np.ones((1, len(y)))
    point_new = float(weighted_metric(metric, y, candidate, one, classes=classes)[0])
    point_old = float(weighted_metric(metric, y, reference, one, classes=classes)[0])
    gain = sign * (point_new - point_old)
    alpha = 1.0 - test.confidence
    low, high = (float(q) for q in np.quantile(diffs, [alpha / 2, 1 - alpha / 2]))
    keep = measurable_slices(masks, y, classification=not regression, test=test)
    slice_metric = "rmse" if regression else "macro_f1"
    change, where = 0.0, ""
    if keep:
        kept = [masks[i] for i in keep]
        s_new = sign * slice_scores(slice_metric, y, candidate, kept, classes=classes)
        s_old = sign * slice_scores(slice_metric, y, reference, kept, classes=classes)
        worst_new, worst_old = int(np.argmin(s_new)), int(np.argmin(s_old))
        change = float(s_new[worst_new] - s_old[worst_old])
        where = names[keep[worst_new]]
    accepted, reason = decide(
        gain=gain, low=low, high=high, slice_change=change, mode=mode, test=test
    )
    return Comparison(
        metric=metric,
        mode=mode,
        candidate=point_new,
        reference=point_old,
        gain=gain,
        low=low,
        high=high,
        confidence=test.confidence,
        slice_change=change,
        worst_slice=where,
        slices=len(keep),
        rows=len(y),
        accepted=accepted,
        reason=reason,
    )
