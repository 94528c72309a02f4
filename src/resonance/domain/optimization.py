"""Directional dataset optimization: actions, learning curves and Slice Tuner allocation.

Score directions: learning-curve losses are lower-is-better; an allocation's
``gain`` is the estimated loss reduction (higher is better); predictive
entropy is higher-is-more-uncertain.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np


@dataclass(frozen=True)
class LearningCurve:
    """``loss(n) = a · n^(-b)`` fitted on (size, loss) points of one slice."""

    a: float
    b: float

    def loss(self, n: float) -> float:
        """Estimated loss with ``n`` rows in the slice (lower is better)."""
        return float(self.a * max(n, 1.0) ** (-self.b))


def fit_learning_curve(
    sizes: np.ndarray, losses: np.ndarray, *, min_b: float = 0.05
) -> LearningCurve:
    """Fit a power law in log space; flat or noisy points give a gentle default slope.

    Parameters
    ----------
    sizes:
        Rows of the slice in each training subsample.
    losses:
        Validation loss of the slice for each subsample (lower is better).
    min_b:
        Smallest exponent kept, so every slice still gains a little from data.
    """
    sizes = np.asarray(sizes, dtype=float)
    losses = np.asarray(losses, dtype=float)
    ok = (sizes > 0) & (losses > 0) & np.isfinite(losses)
    if ok.sum() < 2 or np.ptp(np.log(sizes[ok])) == 0:
        top = float(losses[ok].max()) if ok.any() else 0.0
        n0 = float(sizes[ok].max()) if ok.any() else 1.0
        return LearningCurve(top * n0**min_b, min_b)
    slope, intercept = np.polyfit(np.log(sizes[ok]), np.log(losses[ok]), 1)
    if -slope >= min_b:
        return LearningCurve(float(np.exp(intercept)), float(-slope))
    anchor = float(losses[ok].mean() * np.exp(min_b * np.log(sizes[ok]).mean()))
    return LearningCurve(anchor, min_b)


@dataclass(frozen=True)
class SliceNeed:
    """A weak slice competing for acquisition budget."""

    key: str
    current_rows: int
    available: int
    curve: LearningCurve
    weight: float = 1.0


def allocate_budget(needs: list[SliceNeed], *, budget: int, step: int = 5) -> dict[str, int]:
    """Slice Tuner-style allocation: spend ``budget`` rows where the curves promise most.

    Greedy in chunks of ``step`` rows: each chunk goes to the slice whose
    weighted estimated loss drops most per row, never beyond what its pool holds.

    Returns
    -------
    dict
        Rows to acquire per slice key (sums to at most ``budget``).
    """
    alloc = {n.key: 0 for n in needs}
    left = int(budget)
    while left > 0:
        best, best_gain = None, 0.0
        for need in needs:
            k = min(step, left, need.available - alloc[need.key])
            if k <= 0:
                continue
            n = need.current_rows + alloc[need.key]
            gain = need.weight * (need.curve.loss(n) - need.curve.loss(n + k)) / k
            if gain > best_gain:
                best, best_gain = need, gain
        if best is None:
            break
        k = min(step, left, best.available - alloc[best.key])
        alloc[best.key] += k
        left -= k
    return alloc


def entropy(proba: np.ndarray) -> np.ndarray:
    """Predictive entropy per row (higher = more uncertain)."""
    p = np.clip(proba, 1e-12, 1.0)
    return np.asarray(-(p * np.log(p)).sum(axis=1))


@dataclass
class ActionPlan:
    """What an action proposes, with the reason that goes on the ledger."""

    action: str
    reason: str
    drop: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    acquire: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    proposals: list[dict[str, Any]] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        """True when the plan changes nothing."""
        return not len(self.drop) and not len(self.acquire)


class Action:
    """An optimization action; subclasses are registered by name."""

    name: ClassVar[str] = "action"


ACTIONS: dict[str, type[Action]] = {}


def register_action(cls: type[Action]) -> type[Action]:
    """Class decorator adding an action to :data:`ACTIONS`."""
    ACTIONS[cls.name] = cls
    return cls


@register_action
class DropLabelIssues(Action):
    """Drop suspected label errors where the owner's policy allows auto-drop; propose
    relabels to every other owner."""

    name = "drop-label-issues"

    @staticmethod
    def plan(
        issues: np.ndarray,
        owners: np.ndarray,
        suggested: np.ndarray,
        *,
        auto_drop: set[str],
        max_share: float = 0.1,
    ) -> ActionPlan:
        """Split suspected rows (most suspicious first) into drops and relabel proposals."""
        issues = np.asarray(issues, dtype=np.int64)[: int(max_share * len(owners))]
        allowed = np.array([owners[i] in auto_drop for i in issues], dtype=bool)
        drop = issues[allowed] if len(issues) else issues
        proposals = [
            {"row": int(i), "owner": str(owners[i]), "suggested": int(suggested[i])}
            for i in (issues[~allowed] if len(issues) else issues)
        ]
        reason = (
            f"cleanlab flagged {len(issues)} confident label disagreements; dropping "
            f"{len(drop)} where the owner allows auto-drop, proposing {len(proposals)} "
            "relabels to their owners"
        )
        return ActionPlan(DropLabelIssues.name, reason, drop=drop, proposals=proposals)


@register_action
class TargetedAcquisition(Action):
    """Acquire reserve rows in weak slices, allocated by learning curves, most uncertain first."""

    name = "targeted-acquisition"
