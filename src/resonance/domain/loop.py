"""The resonance loop engine: evaluate → diagnose → optimize the data → retrain → re-evaluate.

Pure orchestration over in-memory rows with injected callbacks, so the space's
service (sealed suites, ledger, immutable versions) and the benchmark run the
same algorithm. A candidate dataset is accepted only when a paired test on
the sealed suite's rows (:mod:`resonance.domain.acceptance`, run inside the
evaluation service) says it is better than the current model at the stated
confidence: the lower bound of the gain's bootstrap interval above ``min_gain``
and the worst measured slice down by at most ``max_slice_drop``. Candidates are
ranked by cross-validation on the working rows first, so the suite is queried
for the top one and the next only while rejected. Fixes the rows' owners
accepted are applied because they are right; the suite only guards them against
significant harm. The acquisition budget is spread evenly over the iterations
left, so a rejected iteration's share carries over.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from resonance.domain.acceptance import IMPROVE, NO_HARM
from resonance.domain.datasets import Task
from resonance.domain.diagnosis import (
    conditions_mask,
    cv_folds,
    fit_binning,
    label_issues,
    out_of_fold_proba,
    residual_issues,
)
from resonance.domain.loop_types import (
    Fit,
    Iteration,
    Judge,
    LoopConfig,
    LoopTrace,
    Model,
    Outcome,
    ReviewedFix,
    Rows,
)
from resonance.domain.optimization import (
    ActionPlan,
    DropLabelIssues,
    ProposeRelabels,
    ProposeTargetFixes,
    Rebalance,
    SliceNeed,
    TargetedAcquisition,
    UncertaintyAcquisition,
    entropy,
    fit_learning_curve,
)

__all__ = [
    "Candidate",
    "Fit",
    "Iteration",
    "Judge",
    "LoopConfig",
    "LoopTrace",
    "Model",
    "Oracle",
    "Outcome",
    "Review",
    "ReviewedFix",
    "Rows",
    "accepts",
    "apply_reviewed",
    "candidates",
    "plan_acquisition",
    "plan_cleaning",
    "rank_candidates",
    "reviewed_candidate",
    "run_loop",
    "worst_slice_score",
]


def plan_cleaning(rows: Rows, fit: Fit, config: LoopConfig) -> tuple[ActionPlan, ActionPlan]:
    """Cleanlab on out-of-fold probabilities → drops (where allowed) and relabel proposals
    (classification; regression: see :func:`plan_target_cleaning`)."""
    if config.task is Task.REGRESSION:
        drop, fixes, _ = plan_target_cleaning(rows, None, fit, config)
        return drop, fixes
    proba = out_of_fold_proba(
        rows.y,
        lambda tr, te: fit(rows.take(tr)).predict_proba(rows.X[te]),
        folds=config.folds,
        seed=config.seed,
        groups=rows.groups,
    )
    issues, _ = label_issues(rows.y, proba)
    # only confident disagreements: the given label is unlikely and another one likely
    # (hard but correct rows of confusable classes stay)
    given = proba[issues, rows.y[issues]] if len(issues) else np.empty(0)
    confident = (given <= config.max_given_proba) & (
        proba[issues].max(axis=1) >= config.min_suggested_proba
    )
    issues = issues[confident] if len(issues) else issues
    drop = DropLabelIssues.plan(
        issues, rows.owner, auto_drop=config.auto_drop, max_share=config.max_drop_share
    )
    relabel = ProposeRelabels.plan(
        issues,
        rows.owner,
        rows.y,
        proba.argmax(axis=1),
        auto_drop=config.auto_drop,
        max_share=config.max_drop_share,
    )
    for p in relabel.proposals:  # the evidence the owner reviews the row with
        p["given_proba"] = float(proba[p["row"], p["given"]])
        p["suggested_proba"] = float(proba[p["row"], p["suggested"]])
    return drop, relabel


def plan_target_cleaning(
    rows: Rows, reserve: Rows | None, fit: Fit, config: LoopConfig
) -> tuple[ActionPlan, ActionPlan, np.ndarray]:
    """Regression: suspected targets from out-of-fold residuals, and the reserve's spread.

    Folds keep groups whole. Suspects follow :func:`~resonance.domain.diagnosis.residual_issues`
    (modified z-score above ``config.residual_z``): dropped where the owner allows
    auto-drop, else proposed to the owner as a fix to the out-of-fold prediction.
    The fold models form an ensemble: the standard deviation of their predictions
    on each reserve row (higher = more uncertain) drives uncertainty acquisition.
    """
    pred = np.full(len(rows), np.nan)
    members: list[np.ndarray] = []
    for tr, te in cv_folds(
        rows.y, folds=config.folds, seed=config.seed, groups=rows.groups, stratify=False
    ):
        model = fit(rows.take(tr))
        pred[te] = model.predict(rows.X[te])
        if reserve is not None and len(reserve):
            members.append(np.asarray(model.predict(reserve.X), dtype=float))
    issues, z = residual_issues(rows.y, pred, threshold=config.residual_z)
    by = f"out-of-fold residuals (robust z > {config.residual_z:g})"
    drop = DropLabelIssues.plan(
        issues, rows.owner, auto_drop=config.auto_drop, max_share=config.max_drop_share, by=by
    )
    fixes = ProposeTargetFixes.plan(
        issues,
        rows.owner,
        rows.y,
        pred,
        auto_drop=config.auto_drop,
        max_share=config.max_drop_share,
    )
    for p in fixes.proposals:
        p["z"] = float(z[p["row"]])
    spread = np.std(np.vstack(members), axis=0) if members else np.zeros(0)
    return drop, fixes, spread


def _slice_curves(
    train: Rows, slices: list[dict[str, Any]], fit: Fit, seed: int, *, regression: bool = False
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per slice: (rows in subsample, validation loss) at three subsample sizes.

    The loss is the error rate (classification) or the mean squared error
    (regression); the validation rows are whole groups when the rows have groups.
    """
    if train.groups is not None:
        fit_idx, val_idx = cv_folds(
            train.y, folds=4, seed=seed, groups=train.groups, stratify=False
        )[0]
        fit_idx = np.random.default_rng(seed).permutation(fit_idx)
    else:
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
        model = fit(train.take(sub))
        if regression:
            wrong = (np.asarray(model.predict(val.X), dtype=float) - val.y) ** 2
        else:
            wrong = (model.predict_proba(val.X).argmax(axis=1) != val.y).astype(float)
        for i, m in enumerate(masks):
            sizes[i, j] = fit_masks[i][: len(sub)].sum()
            losses[i, j] = wrong[m].mean() if m.any() else 0.0
    return [(sizes[i], losses[i]) for i in range(len(slices))]


def plan_acquisition(
    train: Rows,
    reserve: Rows,
    outcome: Outcome,
    fit: Fit,
    *,
    budget: int,
    config: LoopConfig,
    uncertainty: np.ndarray | None = None,
) -> ActionPlan:
    """Allocate ``budget`` reserve rows across weak slices (Slice Tuner), most uncertain first.

    ``uncertainty`` per reserve row (higher = less certain) defaults to the entropy
    of the outcome model's class probabilities; regression passes the ensemble spread.
    """
    if budget <= 0 or not len(reserve):
        return ActionPlan(TargetedAcquisition.name, "no budget or empty reserve")
    slices = [s for s in outcome.slices if s.get("conditions")][: config.max_slices]
    if uncertainty is None:
        uncertainty = entropy(outcome.model.predict_proba(reserve.X))
    pools = [np.nonzero(conditions_mask(reserve.frame, s["conditions"]))[0] for s in slices]
    regression = config.task is Task.REGRESSION
    curves = _slice_curves(train, slices, fit, config.seed, regression=regression) if slices else []
    needs = [
        SliceNeed(str(i), int(sz[-1]), len(pool), fit_learning_curve(sz, ls))
        for i, (s, pool, (sz, ls)) in enumerate(zip(slices, pools, curves, strict=True))
    ]
    return TargetedAcquisition.plan(
        pools,
        needs,
        [str(s["slice"]) for s in slices],
        uncertainty,
        budget=budget,
        fairness=config.fairness,
    )


def accepts(
    new: Outcome,
    old: Outcome,
    *,
    min_delta: float,
    max_slice_drop: float,
    slice_weight: float = 0.0,
) -> bool:
    """Whether point scores say ``new`` improves on ``old`` (every metric higher is better).

    The engine no longer accepts on point scores (see :func:`run_loop`'s paired test);
    this rule stays for callers comparing two outcomes without the rows.

    The gain ``Δprimary + slice_weight · Δworst_slice`` must exceed ``min_delta``,
    the primary metric may fall by at most ``min_delta`` and the worst slice by at
    most ``max_slice_drop``. With ``slice_weight = 0`` the primary alone must rise.
    """
    d_primary = new.primary - old.primary
    if np.isnan(old.worst_slice) or np.isnan(new.worst_slice):
        d_worst = 0.0
    else:
        d_worst = new.worst_slice - old.worst_slice
    if d_worst < -max_slice_drop or d_primary < -min_delta:
        return False
    return bool(d_primary + slice_weight * d_worst > min_delta)


def worst_slice_score(
    frame: pd.DataFrame,
    metric: Callable[[np.ndarray], float],
    *,
    n_bins: int = 4,
    min_support: int = 30,
) -> tuple[float, str]:
    """The lowest ``metric(mask)`` over a fixed family of slices: every single-feature bin.

    The family depends only on ``frame`` (quantile bins of each numeric
    feature, each category), so different models are compared on the same
    slices. Returns the worst value of a higher-is-better metric and its slice.
    """
    binning = fit_binning(frame, n_bins=n_bins)
    worst, where = float("inf"), ""
    for f in range(binning.codes.shape[1]):
        for code in np.unique(binning.codes[:, f]):
            mask = binning.codes[:, f] == code
            if mask.sum() < min_support:
                continue
            value = metric(mask)
            if value < worst:
                worst, where = value, binning.predicates[f][int(code)]
    return (worst if np.isfinite(worst) else float("nan")), where


def _taken(reserve: Rows, idx: np.ndarray) -> dict[str, int]:
    owners, counts = np.unique(reserve.owner[idx], return_counts=True)
    return {str(o): int(c) for o, c in zip(owners, counts, strict=True)}


@dataclass
class Candidate:
    """A proposed training set: the plans that made it and what they took from whom.

    ``parent`` is the dataset ref of the accepted outcome it derives from
    (empty for the baseline).
    """

    label: str
    rows: Rows
    plans: list[ActionPlan]
    taken: dict[str, int]
    dropped: int
    acquired: np.ndarray
    parent: str = ""


def candidates(
    train: Rows, reserve: Rows, plans: dict[str, ActionPlan], number: int, *, parent: str = ""
) -> list[Candidate]:
    """Candidates of one iteration: Slice Tuner acquisition, uncertainty acquisition, and
    cleaning with Slice Tuner acquisition (when cleaning proposed drops). The sealed suite
    decides which, if any, is kept."""
    clean, acquire, rebalance = plans["clean"], plans["acquire"], plans["rebalance"]
    combos = [("acquire", [acquire, rebalance]), ("uncertain", [plans["uncertain"], rebalance])]
    if len(clean.drop):
        combos.append(("clean+acquire", [clean, acquire, rebalance]))
    out = []
    for label, used in combos:
        used = [p for p in used if not p.empty]
        if not used:
            continue
        drop = np.concatenate([p.drop for p in used]).astype(np.int64)
        take = np.concatenate([p.acquire for p in used]).astype(np.int64)
        dup = np.concatenate([p.duplicate for p in used]).astype(np.int64)
        dup = dup[~np.isin(dup, drop)]
        rows = train.without(drop).concat(reserve.take(take)).concat(train.take(dup))
        out.append(
            Candidate(
                f"iteration {number} ({label})",
                rows,
                used,
                _taken(reserve, take),
                len(drop),
                take,
                parent,
            )
        )
    return out


def _plans(
    train: Rows, reserve: Rows, current: Outcome, fit: Fit, budget: int, config: LoopConfig
) -> dict[str, ActionPlan]:
    if config.task is Task.REGRESSION:
        clean, fixes, spread = plan_target_cleaning(train, reserve, fit, config)
        return {
            "clean": clean,
            "relabel": fixes,
            "acquire": plan_acquisition(
                train,
                reserve,
                current,
                fit,
                budget=budget,
                config=config,
                uncertainty=spread,
            ),
            "uncertain": UncertaintyAcquisition.plan(spread, budget=budget),
            "rebalance": ActionPlan(Rebalance.name, "regression: no classes to rebalance"),
        }
    clean, relabel = plan_cleaning(train, fit, config)
    return {
        "clean": clean,
        "relabel": relabel,
        "acquire": plan_acquisition(train, reserve, current, fit, budget=budget, config=config),
        "uncertain": UncertaintyAcquisition.plan(
            entropy(current.model.predict_proba(reserve.X)) if len(reserve) else np.empty(0),
            budget=budget,
        ),
        "rebalance": Rebalance.plan(train.y, min_share=config.min_class_share, seed=config.seed),
    }


def _auto_drops(train: Rows, cand: Candidate, number: int) -> list[dict[str, Any]]:
    """Rows an accepted candidate dropped under its owners' auto-drop policies (by source row)."""
    out = []
    for plan in cand.plans:
        if plan.action != DropLabelIssues.name:
            continue
        for i in plan.drop.tolist():
            out.append(
                {
                    "source": str(train.source[i]),
                    "source_row": int(train.row[i]),
                    "owner": str(train.owner[i]),
                    "given": float(train.y[i]) if train.y.dtype.kind == "f" else int(train.y[i]),
                    "iteration": number,
                }
            )
    return out


REVIEWED = "apply-reviewed-fixes"
"""The action of a candidate made of fixes the rows' owners accepted."""


def apply_reviewed(train: Rows, fixes: list[ReviewedFix]) -> tuple[Rows, int, int]:
    """``train`` with owner-accepted fixes applied: relabels/target fixes, then drops.

    Returns the rows, how many labels changed and how many rows were dropped
    (a fix naming a row no longer in ``train`` is ignored).
    """
    at = {int(r): i for i, r in enumerate(train.row.tolist())}
    y = train.y.copy()
    drop, changed = [], 0
    for f in fixes:
        i = at.get(int(f.row))
        if i is None:
            continue
        if f.drop:
            drop.append(i)
        elif f.value is not None and y[i] != f.value:
            y[i] = f.value
            changed += 1
    fixed = Rows(train.frame, train.X, y, train.owner, train.source, train.row, train.groups)
    return fixed.without(np.asarray(drop, dtype=np.int64)), changed, len(drop)


def reviewed_candidate(
    train: Rows, fixes: list[ReviewedFix], number: int, *, parent: str = ""
) -> Candidate | None:
    """The candidate of an iteration's owner-accepted fixes (``None`` when none changes a row)."""
    rows, changed, dropped = apply_reviewed(train, fixes)
    if not changed and not dropped:
        return None
    plan = ActionPlan(
        REVIEWED,
        f"apply {changed} fixed labels and {dropped} drops the rows' owners accepted on review",
        details={"relabeled": changed, "dropped": dropped},
    )
    return Candidate(
        f"iteration {number} (reviewed fixes)",
        rows,
        [plan],
        {},
        dropped,
        np.empty(0, dtype=np.int64),
        parent,
    )


def rank_candidates(
    train: Rows, cands: list[Candidate], fit: Fit, config: LoopConfig
) -> list[float]:
    """Cross-validated score of each candidate on the working rows (higher is better).

    The validation rows are the current training rows that every candidate keeps
    (no candidate's cleaning dropped them), split into ``config.rank_folds`` folds
    (whole groups when the rows have groups). For each fold, each candidate is
    fitted on its rows minus that fold's rows and predicts the fold; the score is
    the out-of-fold macro-F1 (classification) or −RMSE (regression). No sealed
    row is used: the suite is queried afterwards in this order.
    """
    from resonance.domain.acceptance import weighted_metric

    regression = config.task is Task.REGRESSION
    dropped = [p.drop for c in cands for p in c.plans if len(p.drop)]
    keep = np.ones(len(train), dtype=bool)
    if dropped:
        keep[np.concatenate(dropped).astype(np.int64)] = False
    val = train.take(np.nonzero(keep)[0])
    folds = cv_folds(
        val.y, folds=config.rank_folds, seed=config.seed, groups=val.groups, stratify=not regression
    )
    ones = np.ones((1, len(val)))
    scores = []
    for cand in cands:
        pred = np.zeros(len(val), dtype=float if regression else np.int64)
        for _, te in folds:
            inside = np.isin(cand.rows.row, val.row[te])
            model = fit(cand.rows.take(np.nonzero(~inside)[0]))
            if regression:
                pred[te] = np.asarray(model.predict(val.X[te]), dtype=float)
            else:
                pred[te] = model.predict_proba(val.X[te]).argmax(axis=1)
        if regression:
            scores.append(-float(weighted_metric("rmse", val.y.astype(float), pred, ones)[0]))
        else:
            scores.append(float(weighted_metric("macro_f1", val.y, pred, ones)[0]))
    return scores


Review = Callable[[Rows, list[dict[str, Any]]], list[ReviewedFix]]
"""The rows' owners' answers: given the training rows and proposals (with ``source_row``
ids), the fixes they accepted (those already accepted on their review queues count too)."""


def _tried(cand: Candidate, outcome: Outcome, cv: float | None) -> dict[str, Any]:
    cmp = outcome.comparison
    return {
        "label": cand.label,
        "primary": outcome.primary,
        "worst_slice": outcome.worst_slice,
        "dataset": outcome.dataset,
        "cv_score": cv,
        "accepted": bool(cmp.accepted) if cmp else False,
        "comparison": cmp.to_dict() if cmp else None,
    }


def run_loop(
    train: Rows,
    reserve: Rows,
    *,
    fit: Fit,
    oracle: Oracle,
    config: LoopConfig,
    on_iteration: Callable[[Iteration], None] | None = None,
    review: Review | None = None,
) -> LoopTrace:
    """Iterate evaluate → diagnose → optimize → retrain → re-evaluate.

    Each iteration: (1) fixes the rows' owners accepted (``review`` of the previous
    proposals, or of their queues) form a candidate judged in ``no-harm`` mode —
    applied because they are right unless the suite shows significant harm;
    (2) cleaning and acquisition plans make candidates, ranked by
    :func:`rank_candidates` on the working rows; the suite is queried for the top
    one, then the next only while rejected, at most ``config.queries_per_iteration``
    times; the first the paired test accepts (``improve`` mode: lower bound of the
    gain's interval > ``min_gain``, worst slice not down by > ``max_slice_drop``) is
    kept.

    Parameters
    ----------
    train, reserve:
        The current training rows and the members' offered (not yet contributed) rows.
    fit:
        Trains a model on rows (used for cleaning, learning curves and ranking, never
        on sealed data).
    oracle:
        Trains on a candidate and scores it on the sealed suite (one query each call);
        with a :class:`Judge` it also runs the paired test against the judge's
        reference (the current outcome) and sets ``Outcome.comparison``. Its outcome
        names the dataset and model versions it made.
    config:
        Budget (rows), iterations, owners allowing auto-drop, the test's options.
    review:
        The owners' answers to proposals (``None``: proposals only go to owners).

    Returns
    -------
    LoopTrace
        Every iteration (accepted or not, with the queries spent and each try's
        interval and reason), the final rows and reserve, the proposals made to owners.
    """
    test = config.acceptance()
    base = Candidate("baseline", train, [], {}, 0, np.empty(0, dtype=np.int64))
    current = oracle(base, None)
    history = [_record(0, True, current, train, [], base)]
    history[0].queries = 1
    if on_iteration:
        on_iteration(history[0])
    proposals: list[dict[str, Any]] = []
    pending: list[dict[str, Any]] = []
    reviewed: set[int] = set()
    drops: list[dict[str, Any]] = []
    left = config.budget
    for number in range(1, config.iterations + 1):
        tried: list[dict[str, Any]] = []
        queries, kept, dropped = 0, False, 0
        last: Candidate | None = None
        if review is not None:  # owners' accepted fixes: right, so only guarded against harm
            fixes = [f for f in review(train, pending) if int(f.row) not in reviewed]
            reviewed |= {int(p["source_row"]) for p in pending} | {int(f.row) for f in fixes}
            cand = reviewed_candidate(train, fixes, number, parent=current.dataset)
            if cand is not None:
                outcome = oracle(cand, Judge(current, test, NO_HARM))
                queries += 1
                tried.append(_tried(cand, outcome, None))
                if outcome.comparison is not None and outcome.comparison.accepted:
                    current, train, kept, last = outcome, cand.rows, True, cand
                    dropped += cand.dropped
        # spread evenly over the iterations left (a rejected iteration's share carries
        # over), or offer all that is left (a larger step the paired test can detect)
        per_iter = (
            left
            if config.spread == "rest"
            else int(np.ceil(left / (config.iterations - number + 1)))
        )
        plans = _plans(train, reserve, current, fit, per_iter, config)
        new = [
            {
                **p,
                "source": str(train.source[p["row"]]),
                "source_row": int(train.row[p["row"]]),
                "iteration": number,
            }
            for p in plans["relabel"].proposals
            if int(train.row[p["row"]]) not in reviewed
        ]
        proposals.extend(new)
        pending = new
        actions = [p.to_dict() for p in plans.values()]
        cands = candidates(train, reserve, plans, number, parent=current.dataset)
        scores = (
            rank_candidates(train, cands, fit=fit, config=config)
            if len(cands) > 1
            else [0.0] * len(cands)
        )
        order = sorted(range(len(cands)), key=lambda i: -scores[i])
        for i in order[: config.queries_per_iteration]:
            cand = cands[i]
            outcome = oracle(cand, Judge(current, test, IMPROVE))
            queries += 1
            tried.append(_tried(cand, outcome, scores[i]))
            if outcome.comparison is not None and outcome.comparison.accepted:
                drops.extend(_auto_drops(train, cand, number))
                current, kept, last = outcome, True, cand
                dropped += cand.dropped
                train, reserve = cand.rows, reserve.without(cand.acquired)
                left -= len(cand.acquired)
                break
        record = _record(number, kept, current, train, actions, last if kept else None, tried)
        record.queries, record.dropped = queries, dropped
        history.append(record)
        if on_iteration:
            on_iteration(record)
    return LoopTrace(history, train, reserve, current, proposals, drops)


def _record(
    number: int,
    accepted: bool,
    current: Outcome,
    train: Rows,
    actions: list[dict[str, Any]],
    cand: Candidate | None,
    tried: list[dict[str, Any]] | None = None,
) -> Iteration:
    return Iteration(
        number,
        accepted,
        current.primary,
        current.worst_slice,
        len(train),
        dict(cand.taken) if cand and accepted else {},
        cand.dropped if cand and accepted else 0,
        actions,
        current.slices,
        current.label,
        current.metrics,
        tried or [],
        current.dataset,
        current.model_version,
    )


Oracle = Callable[[Candidate, Judge | None], Outcome]
"""Scores a candidate, and with a :class:`Judge` tests it against the reference (see
:func:`run_loop`)."""
