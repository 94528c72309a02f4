"""The loop's acceptance test: paired bootstrap of the gain, worst measurable slice, modes."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import f1_score

from resonance.domain.acceptance import (
    IMPROVE,
    NO_HARM,
    AcceptanceTest,
    Comparison,
    bootstrap_counts,
    compare,
    measurable_slices,
    weighted_metric,
)
from resonance.domain.errors import InvalidAcceptanceTest

RNG = np.random.default_rng(3)


def _labels(n: int, classes: int = 3) -> np.ndarray:
    return RNG.integers(0, classes, size=n)


def _noisy(y: np.ndarray, wrong: float, classes: int = 3) -> np.ndarray:
    flip = RNG.random(len(y)) < wrong
    return np.where(flip, (y + 1) % classes, y)


def test_weighted_macro_f1_matches_sklearn_on_unit_weights() -> None:
    y, pred = _labels(200), _labels(200)
    got = weighted_metric("macro_f1", y, pred, np.ones((1, 200)), classes=3)[0]
    assert got == pytest.approx(f1_score(y, pred, average="macro"))
    # a resample's weights are row counts: the same as repeating the rows
    w = bootstrap_counts(200, resamples=5, seed=1)
    assert w.shape == (5, 200) and (w.sum(axis=1) == 200).all()
    rows = np.repeat(np.arange(200), w[0].astype(int))
    assert weighted_metric("macro_f1", y, pred, w[:1], classes=3)[0] == pytest.approx(
        f1_score(y[rows], pred[rows], average="macro")
    )


def test_clearly_better_candidate_is_accepted_and_equal_one_is_not() -> None:
    y = _labels(600)
    old, new = _noisy(y, 0.4), _noisy(y, 0.1)
    test = AcceptanceTest(confidence=0.9, min_gain=0.0)
    better = compare(y, new, old, metric="macro_f1", masks=[], names=[], mode=IMPROVE, test=test)
    assert better.accepted and better.low > 0 and better.low <= better.gain <= better.high
    assert "significant gain" in better.reason
    same = compare(y, old, old, metric="macro_f1", masks=[], names=[], mode=IMPROVE, test=test)
    assert not same.accepted and same.gain == 0 and "not significant" in same.reason
    # a candidate a little better on these rows, within noise, is rejected (not a maximum):
    # it fixes 8 rows and breaks 6 others
    slightly = old.copy()
    fixed, broken = np.nonzero(old != y)[0][:8], np.nonzero(old == y)[0][:6]
    slightly[fixed] = y[fixed]
    slightly[broken] = (y[broken] + 1) % 3
    noisy = compare(
        y, slightly, old, metric="macro_f1", masks=[], names=[], mode=IMPROVE, test=test
    )
    assert noisy.gain > 0 and not noisy.accepted and noisy.low <= 0
    # min-gain raises the bar
    strict = AcceptanceTest(confidence=0.9, min_gain=0.5)
    assert not compare(
        y, new, old, metric="macro_f1", masks=[], names=[], mode=IMPROVE, test=strict
    ).accepted


def test_regression_gain_is_oriented_lower_rmse_is_better() -> None:
    y = RNG.normal(size=500)
    old = y + RNG.normal(scale=1.0, size=500)
    new = y + RNG.normal(scale=0.3, size=500)
    cmp = compare(
        y, new, old, metric="rmse", masks=[], names=[], mode=IMPROVE, test=AcceptanceTest()
    )
    assert cmp.candidate < cmp.reference and cmp.gain > 0 and cmp.accepted
    worse = compare(
        y, old, new, metric="rmse", masks=[], names=[], mode=IMPROVE, test=AcceptanceTest()
    )
    assert worse.gain < 0 and worse.high < 0 and not worse.accepted


def test_no_harm_mode_keeps_neutral_fixes_and_refuses_significant_harm() -> None:
    y = _labels(600)
    old = _noisy(y, 0.2)
    test = AcceptanceTest()
    neutral = compare(y, old, old, metric="macro_f1", masks=[], names=[], mode=NO_HARM, test=test)
    assert neutral.accepted and "no significant harm" in neutral.reason
    harm = compare(
        y, _noisy(y, 0.6), old, metric="macro_f1", masks=[], names=[], mode=NO_HARM, test=test
    )
    assert not harm.accepted and "significantly worse" in harm.reason


def test_worst_slice_drop_rejects_and_thin_slices_do_not_count() -> None:
    y = _labels(600)
    old = _noisy(y, 0.2)
    new = old.copy()
    first = np.arange(600) < 100
    new[first] = (y[first] + 1) % 3  # the first 100 rows all wrong now
    fixed = ~first & (old != y)
    new[fixed] = y[fixed]  # and every other row right: overall better
    test = AcceptanceTest(max_slice_drop=0.05)
    cmp = compare(
        y, new, old, metric="macro_f1", masks=[first, ~first], names=["first", "rest"],
        mode=IMPROVE, test=test,
    )  # fmt: skip
    assert cmp.gain > 0 and cmp.slice_change < -0.05 and not cmp.accepted
    assert cmp.worst_slice == "first" and cmp.slices == 2 and "worst slice dropped" in cmp.reason
    # a slice with fewer rows outside its majority class than the rule asks is not measured
    binary = np.zeros(600, dtype=int)
    binary[:3] = 1
    kept = measurable_slices(
        [np.ones(600, bool)], binary, classification=True, test=AcceptanceTest()
    )
    assert kept == []
    assert Comparison.from_dict(cmp.to_dict()) == cmp


@pytest.mark.parametrize(
    "options",
    [{"confidence": 1.0}, {"confidence": 0.4}, {"min_gain": -0.1}, {"max_slice_drop": -1.0}],
)
def test_bad_options_are_refused_with_a_code(options: dict[str, float]) -> None:
    with pytest.raises(InvalidAcceptanceTest) as err:
        AcceptanceTest(**options)
    assert err.value.code == "RES-250"
