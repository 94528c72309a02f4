"""Queries against sealed suites: the budget per builder organization, and the Ladder.

Every use of a sealed suite (an evaluation with or without diagnosis, a loop
candidate, a valuation) is a :class:`SuiteQuery` charged to the organization
that built the model, whatever the model is called. Scores go back to builders
through Blum & Hardt's Ladder ("The Ladder: A Reliable Leaderboard for Machine
Learning Competitions", ICML 2015): a new primary score is released only when it
beats the organization's best released score on that suite by at least the
margin ``eta``, and it is released rounded to a multiple of ``eta``; otherwise
the organization learns only that it did not improve. Adaptive probing (renamed
models, crafted one-feature models, binary search) then gains at most one bit
per query that clears the margin, and the budget bounds the number of queries.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from resonance.domain.evaluation import HIGHER, METRIC_DIRECTIONS

LADDER_MARGIN = 0.01
"""``eta``: the improvement a new score must show to be released, and its rounding step."""
MIN_CLASS_SUPPORT = 20
"""Per-class figures of a class with fewer sealed rows than this are withheld."""


class QueryUse:
    """What a suite query was for (a plain label on the record)."""

    EVALUATION = "evaluation"
    VALUATION = "valuation"


@dataclass(frozen=True)
class SuiteQuery:
    """One charged use of a sealed suite by a builder organization."""

    suite: str
    organization: str
    use: str
    model: str
    created_at: str
    released: float | None = None
    """The primary score released by the Ladder with this query (``None``: none released)."""


def round_to(value: float, step: float) -> float:
    """``value`` rounded to the nearest multiple of ``step`` (kept at 6 decimals)."""
    return round(round(value / step) * step, 6)


def best_released(queries: list[SuiteQuery], metric: str) -> float | None:
    """The organization's best released primary score in the metric's direction."""
    scores = [q.released for q in queries if q.released is not None]
    if not scores:
        return None
    return max(scores) if METRIC_DIRECTIONS.get(metric, HIGHER) == HIGHER else min(scores)


def ladder(value: float | None, best: float | None, *, metric: str, eta: float) -> float | None:
    """The score the Ladder releases for ``value`` given the best so far (``None``: nothing).

    Higher-is-better metrics must exceed ``best + eta``; lower-is-better ones must
    fall below ``best - eta``. The released score is rounded to a multiple of ``eta``.
    """
    if value is None or not math.isfinite(value):
        return None
    if best is not None:
        higher = METRIC_DIRECTIONS.get(metric, HIGHER) == HIGHER
        if (value < best + eta) if higher else (value > best - eta):
            return None
    return round_to(value, eta)


def release(
    metrics: dict[str, Any],
    *,
    primary: str,
    best: float | None,
    eta: float = LADDER_MARGIN,
    min_support: int = MIN_CLASS_SUPPORT,
) -> dict[str, Any]:
    """What a builder is shown of one query's metrics.

    Parameters
    ----------
    metrics:
        The suite's report (overall metrics, ``per_class_recall``, ``support``).
    primary:
        The suite's primary metric (its direction from ``METRIC_DIRECTIONS``).
    best:
        The organization's best released primary score on the suite so far.

    Returns
    -------
    dict
        When the primary score clears the Ladder: every metric rounded to ``eta``,
        per-class recall and support only for classes with at least ``min_support``
        sealed rows, and ``ladder`` = ``{released: True, best, margin}``. Otherwise
        only ``ladder`` = ``{released: False, best, margin}`` and the suite's metric
        names mapped to ``None``.
    """
    raw = metrics.get(primary)
    value = float(raw) if isinstance(raw, int | float) else None
    released = ladder(value, best, metric=primary, eta=eta)
    if released is None:
        out: dict[str, Any] = {k: None for k in metrics if k not in ("per_class_recall", "support")}
        out["ladder"] = {"released": False, "best": best, "margin": eta}
        return out
    support = metrics.get("support") or {}
    big = {c for c, n in support.items() if int(n) >= min_support}
    out = {
        k: (round_to(float(v), eta) if isinstance(v, int | float) and math.isfinite(v) else None)
        for k, v in metrics.items()
        if k not in ("per_class_recall", "support")
    }
    out[primary] = released
    if "per_class_recall" in metrics:
        out["per_class_recall"] = {
            c: round_to(float(r), eta) for c, r in metrics["per_class_recall"].items() if c in big
        }
        out["support"] = {c: int(n) for c, n in support.items() if c in big}
        out["withheld_classes"] = len(support) - len(big)
    out["ladder"] = {"released": True, "best": released, "margin": eta}
    return out
