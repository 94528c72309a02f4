"""Slice search, coverage gaps and label issues on generated data with planted problems."""

from __future__ import annotations

import os
from itertools import combinations

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_predict

from resonance.domain.diagnosis import (
    apply_binning,
    bound_digits,
    conditions_mask,
    coverage_gaps,
    find_slices,
    fit_binning,
    group_counts,
    label_issues,
    residual_issues,
)


def planted(n: int = 6000, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """Numeric and categorical features; errors 10 %, but 60 % where x2 is high and kind = b."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({f"x{i}": rng.normal(size=n) for i in range(6)})
    frame["kind"] = pd.Categorical(rng.choice(["a", "b", "c"], size=n))
    weak = (frame["x2"] > frame["x2"].quantile(0.75)).to_numpy() & (frame["kind"] == "b").to_numpy()
    errors = (rng.random(n) < np.where(weak, 0.6, 0.1)).astype(float)
    return frame, errors


def brute_force(
    codes: np.ndarray, radices: list[int], err: np.ndarray, *, min_support: int
) -> list[float]:
    """Every slice's score, no pruning, best first."""
    mean = err.mean()
    scores = []
    for level in (1, 2, 3):
        for feats in combinations(range(codes.shape[1]), level):
            _, sizes, errs = group_counts(codes, feats, radices, err)
            keep = (sizes >= min_support) & (errs > sizes * mean)
            scores.extend((errs[keep] - sizes[keep] * mean).tolist())
    return sorted(scores, reverse=True)


def test_the_planted_slice_ranks_first() -> None:
    frame, errors = planted()
    binning = fit_binning(frame)
    top = find_slices(binning, errors, max_level=3, min_support=30, top_k=5)
    names = {binning.features[f] for f, _ in top[0].predicates}
    assert names == {"x2", "kind"}
    assert "kind = b" in top[0].description and "x2 >=" in top[0].description
    assert top[0].error_rate > 0.5
    assert [s.score for s in top] == sorted((s.score for s in top), reverse=True)
    mask = conditions_mask(frame, top[0].conditions(binning))
    assert np.array_equal(mask, top[0].mask(binning.codes))


def test_bound_pruning_keeps_a_slice_whose_parents_look_fine() -> None:
    """Errors pile up where x0, x1, x2 are all high; around it (x0 high) the model is perfect."""
    rng = np.random.default_rng(1)
    n = 20_000
    frame = pd.DataFrame({f"x{i}": rng.random(n) for i in range(6)})
    high = frame.to_numpy() > 0.75
    weak = high[:, 0] & high[:, 1] & high[:, 2]
    parents = high[:, 0] | (high[:, 1] & high[:, 2])
    p = np.where(weak, 0.9, np.where(parents, 0.0, 0.2))
    errors = (rng.random(n) < p).astype(float)
    binning = fit_binning(frame)
    first = find_slices(binning, errors, min_support=30, top_k=10)[0]
    assert sorted(binning.features[f] for f, _ in first.predicates) == ["x0", "x1", "x2"]
    x0_high = [
        s for s in find_slices(binning, errors, max_level=1, top_k=50) if s.predicates == ((0, 3),)
    ]
    assert not x0_high  # its own score is negative, yet its refinement is found
    radices = [len(p) for p in binning.predicates]
    exhaustive = brute_force(binning.codes, radices, errors, min_support=30)
    pruned = find_slices(binning, errors, min_support=30, top_k=10, max_features_per_level=None)
    assert np.allclose([s.score for s in pruned], exhaustive[:10])


def test_categories_beyond_the_cap_share_the_other_code() -> None:
    frame = pd.DataFrame({"id": pd.Categorical([f"u{i % 40}" for i in range(400)])})
    binning = fit_binning(frame, max_categories=5)
    assert len(binning.predicates[0]) == 6
    errors = (~frame["id"].isin(binning.categories[0] or [])).to_numpy().astype(float)
    top = find_slices(binning, errors, max_level=1, min_support=10, top_k=1)[0]
    assert top.conditions(binning)[0]["op"] == "other"
    assert np.array_equal(conditions_mask(frame, top.conditions(binning)), errors.astype(bool))


def test_coverage_gap_for_a_region_absent_from_training() -> None:
    rng = np.random.default_rng(2)
    train = pd.DataFrame({"temp": rng.uniform(0, 1, 3000), "line": rng.choice(["a", "b"], 3000)})
    evaluation = pd.DataFrame(
        {"temp": rng.uniform(0, 2, 800), "line": rng.choice(["a", "b", "c"], 800)}
    )
    ev = fit_binning(evaluation)
    tr = apply_binning(train, edges=ev.edges, categories=ev.categories)
    gaps = coverage_gaps(tr, ev, top_k=10)
    regions = [g["region"] for g in gaps]
    assert any(r.startswith("temp >=") for r in regions)
    assert "line = c" in regions
    assert all(g["train_rows"] == 0 for g in gaps)
    assert not any(" AND " in r and ("line = c" in r or "temp >=" in r) for r in regions)
    assert coverage_gaps(tr, tr) == []


def test_cleanlab_finds_most_flipped_labels() -> None:
    rng = np.random.default_rng(3)
    n, k = 1500, 3
    centers = np.array([[0, 0], [4, 0], [0, 4]])
    y_true = rng.integers(0, k, n)
    X = centers[y_true] + rng.normal(scale=0.8, size=(n, 2))
    flipped = rng.random(n) < 0.10
    y = np.where(flipped, (y_true + rng.integers(1, k, n)) % k, y_true)
    proba = cross_val_predict(LogisticRegression(), X, y, cv=5, method="predict_proba")
    issues, quality = label_issues(y, proba)
    found = set(issues.tolist())
    truth = set(np.nonzero(flipped)[0].tolist())
    assert len(found & truth) / len(truth) >= 0.8  # recall
    assert len(found & truth) / len(found) >= 0.8  # precision
    assert quality[flipped].mean() < quality[~flipped].mean()  # lower = more suspicious


def test_the_feature_cap_keeps_a_planted_categorical_predicate() -> None:
    """20 features, where the bounds of wide numeric bins outgrow a five-level category's."""
    from bench.slices import PLANTED, make_data

    frame, _, errors = make_data(30_000)
    binning = fit_binning(frame)
    first = find_slices(binning, errors, max_level=3, min_support=50)[0]
    assert {binning.features[f] for f, _ in first.predicates} == PLANTED


_FORKS: list[int] = []
os.register_at_fork(before=lambda: _FORKS.append(os.getpid()))


def test_label_issues_never_fork() -> None:
    """A fork inside the threaded server hung a diagnosis (issue 17): cleanlab runs in-process."""
    rng = np.random.default_rng(0)
    n, k = 20_000, 4
    labels = rng.integers(0, k, n)
    probs = rng.dirichlet(np.ones(k), n)
    probs[np.arange(n), labels] += 1.0
    probs /= probs.sum(axis=1, keepdims=True)
    before = len(_FORKS)
    issues, quality = label_issues(labels, probs)
    assert len(quality) == n and len(issues) < n
    assert len(_FORKS) == before


def test_slice_bounds_print_with_enough_digits_to_differ() -> None:
    frame = pd.DataFrame({"s13": np.r_[np.full(50, 2388.1), np.full(50, 2388.2), [2388.4] * 50]})
    binning = fit_binning(frame, n_bins=3)
    middle = [p for p in binning.predicates[0] if "<=" in p]
    assert middle and all(p.split(" <= ")[0] != p.split(" < ")[-1] for p in middle)
    assert bound_digits(np.array([2388.2, 2388.4])) == 5
    assert bound_digits(np.array([0.5, 2.0])) == 4


def test_residual_rule_flags_corrupted_targets_not_noisy_large_ones() -> None:
    rng = np.random.default_rng(0)
    pred = rng.uniform(1, 100, 2000)
    y = pred + rng.normal(0, 0.05 * pred)  # errors grow with the value
    bad = rng.choice(2000, 100, replace=False)
    y[bad] = y[bad] * 3 + 20
    flagged, z = residual_issues(y, pred)
    hit = len(set(flagged.tolist()) & set(bad.tolist()))
    assert hit / len(flagged) >= 0.9 and hit / len(bad) >= 0.9
    assert np.all(np.abs(z[flagged]) > 7)
