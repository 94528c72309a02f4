"""Directional dataset optimization: actions, learning curves and Slice Tuner allocation.

Actions are small registered classes; each returns an :class:`ActionPlan`
(rows to drop, reserve rows to acquire, rows to duplicate, relabel proposals)
with the reason that goes on the ledger. Plans are data only: the loop turns
them into new immutable dataset versions.

Score directions: learning-curve losses are lower-is-better; an allocation's
gain is the estimated loss reduction (higher is better); predictive entropy is
higher-is-more-uncertain; cleanlab's label quality is lower-is-more-suspicious.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from resonance.domain.errors import InvalidInput


@dataclass(frozen=True)
class LearningCurve:
    """``loss(n) = a · n^(-b)`` fitted on (size, loss) points of one slice."""

    a: float
    b: float

    def loss(self, n: float) -> float:
        """Estimated loss with ``n`` rows in the slice (lower is better)."""
        return float(self.a * max(n, 1.0) ** (-self.b))


def fit_learning_curve(
    sizes: np.ndarray, losses: np.ndarray, *, min_b: float = 0.05, max_b: float = 2.0
) -> LearningCurve:
    """Fit a power law ``loss ≈ a · n^-b`` by least squares in log-log space.

    Parameters
    ----------
    sizes:
        Rows of the slice in each training subsample.
    losses:
        Validation loss of the slice for each subsample (lower is better).
    min_b, max_b:
        Clip of the exponent: every slice still gains a little from data
        (flat or noisy points give ``min_b`` through the points' mean).

    Returns
    -------
    LearningCurve
        The fitted curve (its ``loss`` is lower-is-better).
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
        b = float(min(-slope, max_b))
        anchor = float(np.exp(np.log(losses[ok]).mean() + b * np.log(sizes[ok]).mean()))
        return LearningCurve(anchor if b != -slope else float(np.exp(intercept)), b)
    anchor = float(losses[ok].mean() * np.exp(min_b * np.log(sizes[ok]).mean()))
    return LearningCurve(anchor, min_b)


@dataclass(frozen=True)
class SliceNeed:
    """A weak slice competing for acquisition budget.

    ``current_rows``: training rows in the slice now; ``available``: rows the
    reserve pools hold in it (the cap); ``weight``: importance of its loss.
    """

    key: str
    current_rows: int
    available: int
    curve: LearningCurve
    weight: float = 1.0


def allocate_budget(
    needs: list[SliceNeed], *, budget: int, step: int | None = None, fairness: float = 0.0
) -> dict[str, int]:
    """Slice Tuner-style allocation: spend ``budget`` rows where the curves promise most.

    Greedy in chunks of ``step`` rows: each chunk goes to the slice whose extra
    rows lower the objective most per row, never beyond what its pool holds.
    The objective (lower is better) is
    ``sum_i w_i·L_i(n_i) + fairness·sum_i max(0, L_i(n_i) − mean_j L_j(n_j))``.

    Parameters
    ----------
    needs:
        Weak slices with their curves and caps.
    budget:
        Rows to acquire at most (non-negative).
    step:
        Rows per greedy step (default about 1/50 of the budget, at least 1).
    fairness:
        Weight of the unfairness term (0 = estimated loss only).

    Returns
    -------
    dict
        Rows to acquire per slice key (sums to at most ``budget``).
    """
    if budget < 0:
        raise InvalidInput("the acquisition budget cannot be negative", budget=budget)
    alloc = {n.key: 0 for n in needs}
    chunk = step or max(1, budget // 50)
    left = int(budget)
    while left > 0:
        base = _objective(needs, alloc, fairness)
        best, best_gain, best_k = None, 0.0, 0
        for need in needs:
            k = min(chunk, left, need.available - alloc[need.key])
            if k <= 0:
                continue
            gain = (
                base - _objective(needs, {**alloc, need.key: alloc[need.key] + k}, fairness)
            ) / k
            if gain > best_gain:
                best, best_gain, best_k = need, gain, k
        if best is None:
            break
        alloc[best.key] += best_k
        left -= best_k
    return alloc


def _objective(needs: list[SliceNeed], alloc: dict[str, int], fairness: float) -> float:
    losses = np.array([n.curve.loss(n.current_rows + alloc[n.key]) for n in needs])
    weights = np.array([n.weight for n in needs])
    unfair = np.clip(losses - losses.mean(), 0, None).sum() if len(losses) else 0.0
    return float((weights * losses).sum() + fairness * unfair)


def entropy(proba: np.ndarray) -> np.ndarray:
    """Predictive entropy per row (higher = more uncertain)."""
    p = np.clip(proba, 1e-12, 1.0)
    return np.asarray(-(p * np.log(p)).sum(axis=1))


@dataclass
class ActionPlan:
    """What an action proposes, with the reason that goes on the ledger.

    Indices refer to the current training rows (``drop``, ``duplicate``) or
    to the reserve rows (``acquire``). ``proposals`` go to owning members and
    are never applied by the loop.
    """

    action: str
    reason: str
    drop: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    acquire: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    duplicate: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    proposals: list[dict[str, Any]] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        """True when the plan changes no data (proposals alone change nothing)."""
        return not len(self.drop) and not len(self.acquire) and not len(self.duplicate)

    def to_dict(self) -> dict[str, Any]:
        """Counts and reason (never row values)."""
        return {
            "action": self.action,
            "reason": self.reason,
            "drop": len(self.drop),
            "acquire": len(self.acquire),
            "duplicate": len(self.duplicate),
            "proposals": len(self.proposals),
            **self.details,
        }


class Action:
    """An optimization action; subclasses set ``name`` and are registered."""

    name: ClassVar[str] = "action"


ACTIONS: dict[str, type[Action]] = {}


def register_action(cls: type[Action]) -> type[Action]:
    """Class decorator adding an action to :data:`ACTIONS`."""
    ACTIONS[cls.name] = cls
    return cls


def _suspects(issues: np.ndarray, n_rows: int, max_share: float) -> np.ndarray:
    return np.asarray(issues, dtype=np.int64)[: int(max_share * n_rows)]


def _for_review(
    issues: np.ndarray, owners: np.ndarray, auto_drop: set[str], max_share: float
) -> np.ndarray:
    """Suspected rows whose owners review fixes (their policies do not allow auto-drop)."""
    rows = _suspects(issues, len(owners), max_share)
    return rows[~np.isin(owners[rows], list(auto_drop))] if len(rows) else rows


@register_action
class DropLabelIssues(Action):
    """Drop suspected label errors, only in rows whose owner's policy allows auto-drop."""

    name = "drop-label-issues"

    @staticmethod
    def plan(
        issues: np.ndarray,
        owners: np.ndarray,
        *,
        auto_drop: set[str],
        max_share: float = 0.1,
        by: str = "cleanlab",
    ) -> ActionPlan:
        """Suspected rows (most suspicious first) of owners in ``auto_drop``; ``by`` names
        the detector in the reason."""
        rows = _suspects(issues, len(owners), max_share)
        drop = rows[np.isin(owners[rows], list(auto_drop))] if len(rows) else rows
        per = _count(owners[drop])
        reason = (
            f"{by} flags {len(drop)} rows as likely mislabeled ({_fmt(per)}); "
            "their owners' policies allow auto-drop"
        )
        return ActionPlan(DropLabelIssues.name, reason, drop=drop, details={"by_owner": per})


@register_action
class ProposeRelabels(Action):
    """Relabel proposals for suspected label errors; they go to the owning member."""

    name = "propose-relabels"

    @staticmethod
    def plan(
        issues: np.ndarray,
        owners: np.ndarray,
        given: np.ndarray,
        suggested: np.ndarray,
        *,
        auto_drop: set[str],
        max_share: float = 0.1,
    ) -> ActionPlan:
        """Suspected rows of owners without auto-drop: (row, owner, given, suggested)."""
        rows = _for_review(issues, owners, auto_drop, max_share)
        proposals = [
            {
                "row": int(i),
                "owner": str(owners[i]),
                "given": int(given[i]),
                "suggested": int(suggested[i]),
            }
            for i in rows
        ]
        per = _count(owners[rows])
        reason = (
            f"cleanlab suggests new labels for {len(rows)} rows ({_fmt(per)}); "
            "proposed to their owners, whose policies do not allow auto-drop"
        )
        return ActionPlan(ProposeRelabels.name, reason, proposals=proposals)


@register_action
class ProposeTargetFixes(Action):
    """Fixes of suspected regression targets (the out-of-fold prediction); to the owning member."""

    name = "propose-target-fixes"

    @staticmethod
    def plan(
        issues: np.ndarray,
        owners: np.ndarray,
        given: np.ndarray,
        suggested: np.ndarray,
        *,
        auto_drop: set[str],
        max_share: float = 0.1,
    ) -> ActionPlan:
        """Suspected rows of owners without auto-drop: (row, owner, given, suggested, residual)."""
        rows = _for_review(issues, owners, auto_drop, max_share)
        proposals = [
            {
                "row": int(i),
                "owner": str(owners[i]),
                "given": float(given[i]),
                "suggested": float(suggested[i]),
                "residual": float(given[i] - suggested[i]),
            }
            for i in rows
        ]
        per = _count(owners[rows])
        reason = (
            f"out-of-fold residuals flag {len(rows)} targets as likely wrong ({_fmt(per)}); "
            "the predicted values are proposed to their owners, whose policies do not "
            "allow auto-drop"
        )
        return ActionPlan(ProposeTargetFixes.name, reason, proposals=proposals)


@register_action
class TargetedAcquisition(Action):
    """Acquire reserve rows in weak slices, allocated by learning curves, most uncertain first."""

    name = "targeted-acquisition"

    @staticmethod
    def plan(
        pools: list[np.ndarray],
        needs: list[SliceNeed],
        labels: list[str],
        uncertainty: np.ndarray,
        *,
        budget: int,
        fairness: float = 0.0,
    ) -> ActionPlan:
        """Allocate ``budget`` across slices, then pick each slice's most uncertain rows.

        ``pools[i]`` are the reserve rows in slice ``needs[i]``; budget a slice
        cannot use goes to the most uncertain reserve rows anywhere.
        """
        alloc = allocate_budget(needs, budget=budget, fairness=fairness)
        chosen: list[int] = []
        for need, pool in zip(needs, pools, strict=True):
            free = pool[~np.isin(pool, chosen)]
            chosen.extend(free[np.argsort(-uncertainty[free])][: alloc[need.key]].tolist())
        spare = budget - len(chosen)
        if spare > 0:
            rest = np.setdiff1d(np.arange(len(uncertainty)), chosen)
            chosen.extend(rest[np.argsort(-uncertainty[rest])][:spare].tolist())
        by_slice = {lab: alloc[n.key] for lab, n in zip(labels, needs, strict=True)}
        text = "; ".join(f"{v} rows for weak slice '{k}'" for k, v in by_slice.items() if v)
        reason = (
            f"Slice Tuner allocation of {budget} rows: {text or 'no weak slice in the reserves'}"
            + (f"; {max(spare, 0)} most uncertain rows elsewhere" if spare > 0 else "")
        )
        return ActionPlan(
            TargetedAcquisition.name,
            reason,
            acquire=np.asarray(chosen, dtype=np.int64),
            details={"allocation": by_slice},
        )


@register_action
class UncertaintyAcquisition(Action):
    """Acquire the reserve rows the current model is least sure of (exploration)."""

    name = "uncertainty-acquisition"

    @staticmethod
    def plan(uncertainty: np.ndarray, *, budget: int) -> ActionPlan:
        """The ``budget`` rows of highest predictive entropy (higher = more uncertain)."""
        pick = np.argsort(-np.asarray(uncertainty))[: max(budget, 0)].astype(np.int64)
        reason = f"{len(pick)} reserve rows the current model is least sure of"
        return ActionPlan(UncertaintyAcquisition.name, reason, acquire=pick)


@register_action
class Rebalance(Action):
    """Duplicate rows of classes below ``min_share`` of the training rows up to that share."""

    name = "rebalance"

    @staticmethod
    def plan(y: np.ndarray, *, min_share: float, seed: int = 0) -> ActionPlan:
        """Rows to duplicate (sampled with replacement within each rare class)."""
        rng = np.random.default_rng(seed)
        counts = np.bincount(y)
        target = int(np.ceil(min_share * len(y)))
        picks, extra = [], {}
        for c, n in enumerate(counts):
            if 0 < n < target:
                picks.append(rng.choice(np.nonzero(y == c)[0], target - n, replace=True))
                extra[str(c)] = int(target - n)
        dup = np.concatenate(picks).astype(np.int64) if picks else np.empty(0, dtype=np.int64)
        reason = (
            f"classes {sorted(extra)} hold under {min_share:.0%} of the rows; duplicated to it"
            if extra
            else "every class holds its share"
        )
        return ActionPlan(Rebalance.name, reason, duplicate=dup, details={"extra": extra})


def _count(values: np.ndarray) -> dict[str, int]:
    keys, counts = np.unique(np.asarray(values, dtype=str), return_counts=True)
    return {str(k): int(c) for k, c in zip(keys, counts, strict=True)}


def _fmt(counts: dict[str, int]) -> str:
    return ", ".join(f"{k}: {v}" for k, v in sorted(counts.items())) or "none"
