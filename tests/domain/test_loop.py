"""The loop engine itself (run_loop) on in-memory rows: iterations, acceptance, refs, budget."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

from resonance.domain.acceptance import compare
from resonance.domain.loop import (
    Candidate,
    Judge,
    LoopConfig,
    Model,
    Oracle,
    Outcome,
    ReviewedFix,
    Rows,
    run_loop,
)

RNG = np.random.default_rng(7)


def _rows(n: int, owner: str, *, noise: float, start: int) -> Rows:
    y = RNG.integers(0, 3, size=n)
    centers = np.array([[0.0, 0.0], [2.5, 0.0], [0.0, 2.5]])
    X = centers[y] + RNG.normal(scale=1.0, size=(n, 2))
    flip = RNG.random(n) < noise
    given = np.where(flip, (y + 1) % 3, y)
    frame = pd.DataFrame({"a": X[:, 0], "b": X[:, 1]})
    owners = np.full(n, owner)
    return Rows(frame, X, given, owners, np.full(n, f"{owner}@1"), np.arange(start, start + n))


def _fit(rows: Rows) -> Model:
    return LogisticRegression(max_iter=200).fit(rows.X, rows.y)


def _oracle(test: Rows, calls: list[Candidate]) -> Oracle:
    halves = [test.X[:, 0] > 1.0, test.X[:, 0] <= 1.0]

    def oracle(cand: Candidate, judge: Judge | None = None) -> Outcome:
        calls.append(cand)
        model = _fit(cand.rows)
        pred = model.predict(test.X)
        right = pred == test.y
        n = len(calls)
        comparison = None
        if judge is not None:  # the paired test on the same rows, as the suite runs it
            comparison = compare(
                test.y,
                pred,
                judge.reference.model.predict(test.X),
                metric="accuracy",
                masks=halves,
                names=["a > 1", "a <= 1"],
                mode=judge.mode,
                test=judge.test,
                classes=3,
            )
        return Outcome(
            float(right.mean()),
            float(min(right[test.X[:, 0] > 1.0].mean(), right[test.X[:, 0] <= 1.0].mean())),
            {"accuracy": float(right.mean())},
            [],
            model,
            label=cand.label,
            dataset=f"work@{n}",
            model_version=f"model@{n}",
            comparison=comparison,
        )

    return oracle


def test_run_loop_records_every_iteration_and_derives_from_the_accepted_version() -> None:
    train = _rows(90, "plant-a", noise=0.25, start=0)
    reserve = _rows(240, "plant-b", noise=0.0, start=90)
    test = _rows(400, "suite", noise=0.0, start=0)
    calls: list[Candidate] = []

    oracle = _oracle(test, calls)

    config = LoopConfig(budget=120, iterations=3, auto_drop={"plant-a"}, folds=3, seed=1)
    trace = run_loop(train, reserve, fit=_fit, oracle=oracle, config=config)

    its = trace.iterations
    assert [it.number for it in its] == [0, 1, 2, 3]
    assert its[0].accepted and (its[0].dataset, its[0].model) == ("work@1", "model@1")
    assert calls[0].parent == ""  # the baseline derives from nothing
    # every later candidate derives from the dataset of the last accepted iteration
    current = its[0]
    for it in its[1:]:
        tried = [c for c in calls[1:] if c.label.startswith(f"iteration {it.number} ")]
        assert tried, "each iteration tries at least one candidate"
        assert {c.parent for c in tried} == {current.dataset}
        if it.accepted:
            # the suite accepted it: the primary metric fell by at most the tolerance
            assert it.primary is not None and current.primary is not None
            assert it.primary >= current.primary - config.tolerance
            assert it.dataset != current.dataset
            current = it
        else:  # a rejected iteration stays on the version it started from
            assert (it.dataset, it.model, it.taken) == (current.dataset, current.model, {})
    assert trace.final.dataset == current.dataset
    # reserve rows taken only in accepted iterations, within the budget
    assert trace.acquired == sum(sum(it.taken.values()) for it in its if it.accepted)
    assert trace.acquired <= config.budget
    assert len(trace.reserve) == len(reserve) - trace.acquired
    assert len(trace.train) == its[-1].rows
    assert any(it.accepted for it in its[1:]), "clean reserve rows should help noisy training"
    assert len(calls) >= 1 + 3


def test_owner_reviewed_fixes_are_judged_only_against_harm_and_queries_are_capped() -> None:
    """Issue 12: proposals the owner accepts come back as fixes (no-harm test); ranked
    candidates cost at most ``queries_per_iteration`` suite queries each iteration."""
    train = _rows(150, "plant-a", noise=0.0, start=0)
    truth = train.y.copy()
    flipped = np.arange(0, 150, 4)  # a quarter of the labels wrong
    train.y[flipped] = (truth[flipped] + 1) % 3
    reserve = _rows(240, "plant-b", noise=0.0, start=150)
    test = _rows(400, "suite", noise=0.0, start=0)
    calls: list[Candidate] = []
    seen: list[list[dict[str, object]]] = []

    def review(rows: Rows, proposals: list[dict[str, object]]) -> list[ReviewedFix]:
        seen.append(proposals)
        at = {int(r): i for i, r in enumerate(rows.row.tolist())}
        out = []
        for p in proposals:  # the owner accepts a proposal when the label really is wrong
            row = int(str(p["source_row"]))
            if row in at and row < 150 and rows.y[at[row]] != truth[row]:
                out.append(ReviewedFix(row, value=int(truth[row])))
        return out

    config = LoopConfig(budget=90, iterations=3, folds=3, seed=2, queries_per_iteration=1)
    trace = run_loop(
        train, reserve, fit=_fit, oracle=_oracle(test, calls), config=config, review=review
    )
    its = trace.iterations
    assert its[0].queries == 1
    assert seen[0] == [] and any(seen[1:]), "iteration 2 reviews iteration 1's proposals"
    reviewed = [t for it in its for t in it.tried if "reviewed fixes" in t["label"]]
    assert reviewed, "accepted fixes make a candidate"
    for t in reviewed:
        assert t["comparison"]["mode"] == "no-harm"
        assert t["accepted"] == (t["comparison"]["high"] >= 0)
    for it in its[1:]:
        ranked = [t for t in it.tried if "reviewed fixes" not in t["label"]]
        assert len(ranked) <= 1 and it.queries == len(it.tried)
        for t in ranked:
            assert t["comparison"]["mode"] == "improve" and t["cv_score"] is not None
    assert len(calls) == sum(it.queries for it in its)
    # fixes the suite kept are in the final rows: fewer wrong labels than at the start
    final = {int(r): int(y) for r, y in zip(trace.train.row, trace.train.y, strict=True)}
    wrong = sum(final[r] != truth[r] for r in range(150) if r in final)
    assert any(t["accepted"] for t in reviewed)
    assert wrong < len(flipped)
