"""Optimization actions, learning curves, Slice Tuner allocation and the loop's cleaning step."""

from __future__ import annotations

import numpy as np
import pyarrow.csv as pcsv
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from resonance.domain.errors import InvalidInput
from resonance.domain.loop import LoopConfig, Outcome, Rows, accepts, plan_cleaning
from resonance.domain.optimization import (
    ACTIONS,
    DropLabelIssues,
    LearningCurve,
    ProposeRelabels,
    Rebalance,
    SliceNeed,
    TargetedAcquisition,
    allocate_budget,
    fit_learning_curve,
)
from tests.conftest import STEEL_CSV, STEEL_LABELS


def test_actions_are_registered() -> None:
    assert {"drop-label-issues", "propose-relabels", "targeted-acquisition", "rebalance"} <= set(
        ACTIONS
    )


def test_learning_curve_recovers_a_power_law() -> None:
    n = np.array([50.0, 100.0, 200.0, 400.0])
    curve = fit_learning_curve(n, 2.0 * n**-0.5)
    assert curve.b == pytest.approx(0.5, abs=1e-6)
    assert curve.a == pytest.approx(2.0, rel=1e-6)
    flat = fit_learning_curve(n, np.full(4, 0.3))
    assert flat.b == pytest.approx(0.05)
    assert flat.loss(800) < flat.loss(100)  # lower is better, still falling


def test_allocation_prefers_steep_curves_and_respects_caps() -> None:
    steep = SliceNeed("steep", 20, available=30, curve=LearningCurve(5.0, 0.8))
    flat = SliceNeed("flat", 20, available=500, curve=LearningCurve(0.5, 0.1))
    alloc = allocate_budget([steep, flat], budget=100, step=5)
    assert alloc["steep"] == 30  # capped by its pool
    assert sum(alloc.values()) == 100
    assert allocate_budget([steep], budget=100)["steep"] == 30
    with pytest.raises(InvalidInput):
        allocate_budget([steep], budget=-1)


def test_drop_only_where_auto_drop_is_allowed_and_propose_elsewhere() -> None:
    owners = np.array(["a", "b", "a", "b", "a", "b"] * 5)
    issues = np.array([0, 1, 2, 3])
    y, suggested = np.zeros(30, dtype=int), np.ones(30, dtype=int)
    drop = DropLabelIssues.plan(issues, owners, auto_drop={"a"}, max_share=0.5)
    assert drop.drop.tolist() == [0, 2] and "auto-drop" in drop.reason
    rel = ProposeRelabels.plan(issues, owners, y, suggested, auto_drop={"a"}, max_share=0.5)
    assert [p["row"] for p in rel.proposals] == [1, 3]
    assert all(p["owner"] == "b" and p["suggested"] == 1 for p in rel.proposals)
    assert rel.empty  # proposals change no data


def test_targeted_acquisition_stays_in_slice_pools_most_uncertain_first() -> None:
    uncertainty = np.linspace(0, 1, 20)
    pools = [np.arange(0, 10), np.arange(10, 20)]
    needs = [
        SliceNeed("0", 10, 10, LearningCurve(1.0, 0.5)),
        SliceNeed("1", 10, 10, LearningCurve(0.01, 0.05)),
    ]
    plan = TargetedAcquisition.plan(pools, needs, ["x<1", "x>=1"], uncertainty, budget=4)
    assert sorted(plan.acquire.tolist()) == [6, 7, 8, 9]
    assert plan.details["allocation"] == {"x<1": 4, "x>=1": 0}
    assert "Slice Tuner" in plan.reason


def test_rebalance_duplicates_rare_classes() -> None:
    y = np.array([0] * 90 + [1] * 10)
    plan = Rebalance.plan(y, min_share=0.2)
    assert len(plan.duplicate) == 10 and set(y[plan.duplicate]) == {1}
    assert Rebalance.plan(y, min_share=0.05).empty


def test_accept_only_when_primary_improves() -> None:
    old = Outcome(0.70, 0.40, {}, [], model=None)  # type: ignore[arg-type]
    better = Outcome(0.72, 0.39, {}, [], model=None)  # type: ignore[arg-type]
    worse_slice = Outcome(0.72, 0.20, {}, [], model=None)  # type: ignore[arg-type]
    same = Outcome(0.70, 0.60, {}, [], model=None)  # type: ignore[arg-type]
    assert accepts(better, old, min_delta=0.0, max_slice_drop=0.05)
    assert not accepts(worse_slice, old, min_delta=0.0, max_slice_drop=0.05)
    assert not accepts(same, old, min_delta=0.0, max_slice_drop=0.05)


def test_accept_on_primary_plus_worst_slice() -> None:
    old = Outcome(0.70, 0.40, {}, [], model=None)  # type: ignore[arg-type]
    slice_up = Outcome(0.698, 0.45, {}, [], model=None)  # type: ignore[arg-type]
    primary_down = Outcome(0.68, 0.45, {}, [], model=None)  # type: ignore[arg-type]
    trade = Outcome(0.72, 0.38, {}, [], model=None)  # type: ignore[arg-type]
    kw = {"min_delta": 0.005, "max_slice_drop": 0.05, "slice_weight": 1.0}
    assert accepts(slice_up, old, **kw)
    assert not accepts(primary_down, old, **kw)
    assert not accepts(trade, old, **kw)
    assert not accepts(slice_up, old, min_delta=0.005, max_slice_drop=0.05)


def test_cleaning_finds_flipped_steel_labels() -> None:
    table = pcsv.read_csv(STEEL_CSV)
    X = np.column_stack([table[c].to_numpy().astype(float) for c in table.column_names[:-7]])
    y = np.column_stack([table[c].to_numpy() for c in STEEL_LABELS]).argmax(axis=1)
    rng = np.random.default_rng(0)
    flipped = rng.random(len(y)) < 0.15
    noisy = y.copy()
    noisy[flipped] = (y[flipped] + rng.integers(1, 7, flipped.sum())) % 7
    owners = np.where(np.arange(len(y)) % 2 == 0, "a", "b")
    rows = Rows(table.to_pandas().iloc[:, :-7], X, noisy, owners, owners, np.arange(len(y)))

    def fit(r: Rows) -> object:
        model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=300))
        return model.fit(r.X, r.y)

    drop, relabel = plan_cleaning(rows, fit, LoopConfig(budget=0, auto_drop={"a"}, folds=3))  # type: ignore[arg-type]
    assert len(drop.drop) and set(owners[drop.drop]) == {"a"}
    assert flipped[drop.drop].mean() > 3 * flipped.mean()  # suspects are mostly flipped rows
    assert {p["owner"] for p in relabel.proposals} == {"b"}
