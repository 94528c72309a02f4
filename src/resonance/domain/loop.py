"""The resonance loop engine: evaluate → diagnose → optimize the data → retrain → re-evaluate.

Pure orchestration over in-memory rows with injected callbacks, so the space's
service (sealed suites, ledger, immutable versions) and the benchmark run the
same algorithm. A candidate dataset is accepted only when the oracle (the
sealed suite) says it improved: the primary metric rises, or the worst slice
improves while the primary metric holds (within ``tolerance``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedKFold

from resonance.domain.diagnosis import conditions_mask, label_issues
from resonance.domain.optimization import (
    ActionPlan,
    DropLabelIssues,
    SliceNeed,
    TargetedAcquisition,
    allocate_budget,
    entropy,
    fit_learning_curve,
)


class Model(Protocol):
    """What the loop needs of a fitted model."""

    def predict_proba(self, X: np.ndarray) -> np.ndarray: ...


@dataclass
class Rows:
    """Labeled rows with provenance: raw frame (for slices), encoded X, labels, owners."""

    frame: pd.DataFrame
    X: np.ndarray
    y: np.ndarray
    owner: np.ndarray
    source: np.ndarray
    row: np.ndarray

    def __len__(self) -> int:
        return len(self.y)

    def take(self, idx: np.ndarray) -> Rows:
        """The rows at ``idx``."""
        return Rows(
            self.frame.iloc[idx].reset_index(drop=True),
            self.X[idx],
            self.y[idx],
            self.owner[idx],
            self.source[idx],
            self.row[idx],
        )

    def without(self, idx: np.ndarray) -> Rows:
        """All rows but those at ``idx``."""
        keep = np.ones(len(self), dtype=bool)
        keep[idx] = False
        return self.take(np.nonzero(keep)[0])

    def concat(self, other: Rows) -> Rows:
        """These rows followed by ``other``'s."""
        return Rows(
            pd.concat([self.frame, other.frame], ignore_index=True),
            np.vstack([self.X, other.X]),
            np.concatenate([self.y, other.y]),
            np.concatenate([self.owner, other.owner]),
            np.concatenate([self.source, other.source]),
            np.concatenate([self.row, other.row]),
        )


@dataclass
class Outcome:
    """The oracle's verdict on a candidate: metrics, weak slices, and the model."""

    primary: float
    worst_slice: float
    metrics: dict[str, Any]
    slices: list[dict[str, Any]]
    model: Model
    reference: str = ""


Fit = Callable[[Rows], Model]
Oracle = Callable[[Rows, str], Outcome]


@dataclass
class LoopConfig:
    """Options of a loop run."""

    budget: int
    iterations: int = 4
    auto_drop: set[str] = field(default_factory=set)
    tolerance: float = 0.005
    folds: int = 5
    max_slices: int = 5
    seed: int = 0
    max_given_proba: float = 0.2
    min_suggested_proba: float = 0.5
    max_slice_drop: float = 0.02


@dataclass
class Iteration:
    """What one iteration tried and whether the suite accepted it."""

    number: int
    accepted: bool
    primary: float
    worst_slice: float
    rows: int
    taken: dict[str, int]
    dropped: int
    actions: list[dict[str, Any]]
    slices: list[dict[str, Any]]
    reference: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Serialize to plain JSON types."""
        return dict(self.__dict__)


@dataclass
class LoopTrace:
    """Every iteration, the final rows and what is left of the reserve."""

    iterations: list[Iteration]
    train: Rows
    reserve: Rows
    final: Outcome
    proposals: list[dict[str, Any]] = field(default_factory=list)

    @property
    def acquired(self) -> int:
        """Reserve rows taken in accepted iterations."""
        return sum(sum(it.taken.values()) for it in self.iterations if it.accepted)


def out_of_fold_proba(rows: Rows, fit: Fit, *, folds: int, seed: int) -> np.ndarray:
    """Cross-validated class probabilities for every row."""
    n_classes = int(rows.y.max()) + 1
    proba = np.full((len(rows), n_classes), 1.0 / n_classes)
    counts = np.bincount(rows.y, minlength=n_classes)
    k = int(max(2, min(folds, counts[counts > 0].min())))
    for tr, te in StratifiedKFold(k, shuffle=True, random_state=seed).split(rows.X, rows.y):
        p = fit(rows.take(tr)).predict_proba(rows.X[te])
        proba[te, : p.shape[1]] = p
    return proba


def plan_cleaning(rows: Rows, fit: Fit, config: LoopConfig) -> ActionPlan:
    """Cleanlab on out-of-fold probabilities → drops (where allowed) and relabel proposals."""
    proba = out_of_fold_proba(rows, fit, folds=config.folds, seed=config.seed)
    issues, _ = label_issues(rows.y, proba)
    return DropLabelIssues.plan(
        issues, rows.owner, proba.argmax(axis=1), auto_drop=config.auto_drop
    )


def _slice_curves(
    train: Rows, slices: list[dict[str, Any]], fit: Fit, seed: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per slice: (rows in subsample, validation error) at three subsample sizes."""
    rng = np.random.default_rng(seed)
    perm = rng.permutation(len(train))
    cut = int(0.75 * len(train))
    fit_idx, val_idx = perm[:cut], perm[cut:]
    val = train.take(val_idx)
    masks = [conditions_mask(val.frame, s["conditions"]) for s in slices]
    fit_masks = [conditions_mask(train.frame, s["conditions"])[fit_idx] for s in slices]
    sizes = np.zeros((len(slices), 3))
    losses = np.zeros((len(slices), 3))
    for j, frac in enumerate((0.4, 0.7, 1.0)):
        sub = fit_idx[: max(10, int(frac * len(fit_idx)))]
        pred = fit(train.take(sub)).predict_proba(val.X).argmax(axis=1)
        wrong = pred != val.y
        for i, m in enumerate(masks):
            sizes[i, j] = fit_masks[i][: len(sub)].sum()
            losses[i, j] = wrong[m].mean() if m.any() else 0.0
    return [(sizes[i], losses[i]) for i in range(len(slices))]


def plan_acquisition(
    train: Rows, reserve: Rows, outcome: Outcome, fit: Fit, *, budget: int, config: LoopConfig
) -> ActionPlan:
    """Allocate ``budget`` reserve rows across weak slices (Slice Tuner), most uncertain first."""
    slices = [s for s in outcome.slices if s.get("conditions")][: config.max_slices]
    if budget <= 0 or not len(reserve):
        return ActionPlan(TargetedAcquisition.name, "no budget or empty reserve")
    uncertainty = entropy(outcome.model.predict_proba(reserve.X))
    pools = [np.nonzero(conditions_mask(reserve.frame, s["conditions"]))[0] for s in slices]
    curves = _slice_curves(train, slices, fit, config.seed) if slices else []
    needs = [
        SliceNeed(
            str(i),
            int(sz[-1]),
            len(pool),
            fit_learning_curve(sz, ls),
            weight=float(s.get("size", 1)),
        )
        for i, (s, pool, (sz, ls)) in enumerate(zip(slices, pools, curves, strict=True))
    ]
    alloc = allocate_budget(needs, budget=budget)
    chosen: list[int] = []
    for i, pool in enumerate(pools):
        free = pool[~np.isin(pool, chosen)]
        chosen.extend(free[np.argsort(-uncertainty[free])][: alloc.get(str(i), 0)].tolist())
    spare = budget - len(chosen)
    if spare > 0:  # slices' pools ran dry: the most uncertain rows anywhere
        rest = np.setdiff1d(np.arange(len(reserve)), chosen)
        chosen.extend(rest[np.argsort(-uncertainty[rest])][:spare].tolist())
    picked = np.asarray(chosen, dtype=np.int64)
    reason = (
        "; ".join(
            f"{alloc.get(str(i), 0)} rows for weak slice '{s['slice']}'"
            for i, s in enumerate(slices)
        )
        or "no weak slice found"
    )
    return ActionPlan(
        TargetedAcquisition.name,
        f"Slice Tuner allocation: {reason}",
        acquire=picked,
        details={"allocation": {s["slice"]: alloc.get(str(i), 0) for i, s in enumerate(slices)}},
    )


def accepts(new: Outcome, old: Outcome, *, tolerance: float, max_slice_drop: float) -> bool:
    """Higher primary metric without giving up the worst slice, or a better worst slice
    with the primary metric held (both within their tolerances)."""
    if new.primary > old.primary and new.worst_slice >= old.worst_slice - max_slice_drop:
        return True
    return new.worst_slice > old.worst_slice and new.primary >= old.primary - tolerance


def _taken(reserve: Rows, idx: np.ndarray) -> dict[str, int]:
    owners, counts = np.unique(reserve.owner[idx], return_counts=True)
    return {str(o): int(c) for o, c in zip(owners, counts, strict=True)}


def _candidates(
    train: Rows, reserve: Rows, clean: ActionPlan, acquire: ActionPlan
) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(label, drop, acquire) candidates, the combined one first."""
    out = [("clean+acquire", clean.drop, acquire.acquire)]
    if len(clean.drop) and len(acquire.acquire):
        out.append(("acquire", np.empty(0, dtype=np.int64), acquire.acquire))
    return [c for c in out if len(c[1]) or len(c[2])]


def run_loop(
    train: Rows,
    reserve: Rows,
    *,
    fit: Fit,
    oracle: Oracle,
    config: LoopConfig,
    on_iteration: Callable[[Iteration], None] | None = None,
) -> LoopTrace:
    """Iterate evaluate → diagnose → optimize → retrain → re-evaluate.

    Parameters
    ----------
    train, reserve:
        The current training rows and the members' offered (not yet contributed) rows.
    fit:
        Trains a model on rows (used for cleaning and learning curves, never on sealed data).
    oracle:
        Trains on a candidate and scores it on the sealed suite (one query each call).
    config:
        Budget (rows), iterations, owners allowing auto-drop, tolerance.
    """
    current = oracle(train, "baseline")
    history = [
        Iteration(
            0,
            True,
            current.primary,
            current.worst_slice,
            len(train),
            {},
            0,
            [],
            current.slices,
            current.reference,
        )
    ]
    proposals: list[dict[str, Any]] = []
    left = config.budget
    for number in range(1, config.iterations + 1):
        per_iter = int(np.ceil(left / (config.iterations - number + 1)))
        clean = plan_cleaning(train, fit, config)
        acquire = plan_acquisition(train, reserve, current, fit, budget=per_iter, config=config)
        record = Iteration(
            number,
            False,
            current.primary,
            current.worst_slice,
            len(train),
            {},
            0,
            [{"action": p.action, "reason": p.reason, **p.details} for p in (clean, acquire)],
            current.slices,
        )
        for label, drop, take in _candidates(train, reserve, clean, acquire):
            candidate = train.without(drop).concat(reserve.take(take))
            outcome = oracle(candidate, f"iteration {number} ({label})")
            if accepts(outcome, current, tolerance=config.tolerance,
                       max_slice_drop=config.max_slice_drop):
                record.accepted, record.taken, record.dropped = (
                    True,
                    _taken(reserve, take),
                    len(drop),
                )
                train, reserve, current = candidate, reserve.without(take), outcome
                left -= len(take)
                proposals.extend(p for p in clean.proposals if label.startswith("clean"))
                break
        record.primary, record.worst_slice, record.rows = (
            current.primary,
            current.worst_slice,
            len(train),
        )
        record.slices, record.reference = current.slices, current.reference
        history.append(record)
        if on_iteration:
            on_iteration(record)
    return LoopTrace(history, train, reserve, current, proposals)
