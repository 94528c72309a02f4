"""Exact KNN-Shapley against brute-force permutations; Shapley over members."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from resonance.domain.errors import InvalidInput
from resonance.domain.valuation import (
    exact_member_shapley,
    knn_regression_utility,
    knn_shapley,
    knn_shapley_regression,
    knn_utility,
    leave_one_out,
    member_shapley,
    monte_carlo_member_shapley,
    shares,
    sum_by_member,
)


def _brute_force(
    X: np.ndarray, y: np.ndarray, Xt: np.ndarray, yt: np.ndarray, k: int
) -> np.ndarray:
    n = len(X)
    values = np.zeros(n)
    for perm in itertools.permutations(range(n)):
        before = 0.0
        for j, i in enumerate(perm):
            idx = sorted(perm[: j + 1])  # ties between equidistant rows break by row index
            after = knn_utility(X[idx], y[idx], Xt, yt, k=k)
            values[i] += after - before
            before = after
    return values / math.factorial(n)


@pytest.mark.parametrize("k", [1, 2, 3])
def test_knn_shapley_equals_brute_force_permutations(k: int) -> None:
    rng = np.random.default_rng(k)
    X = rng.normal(size=(6, 2))
    y = rng.integers(0, 2, size=6)
    Xt = rng.normal(size=(4, 2))
    yt = rng.integers(0, 2, size=4)
    fast = knn_shapley(X, y, Xt, yt, k=k, batch_size=3)
    assert np.allclose(knn_shapley(X, y, Xt, yt, k=k, batch_size=1, n_jobs=2), fast)
    assert np.allclose(fast, _brute_force(X, y, Xt, yt, k), atol=1e-12)
    assert fast.sum() == pytest.approx(knn_utility(X, y, Xt, yt, k=k))


def test_knn_shapley_with_more_neighbours_than_rows() -> None:
    rng = np.random.default_rng(7)
    X, y = rng.normal(size=(5, 3)), rng.integers(0, 3, size=5)
    Xt, yt = rng.normal(size=(3, 3)), rng.integers(0, 3, size=3)
    fast = knn_shapley(X, y, Xt, yt, k=8)
    assert np.allclose(fast, _brute_force(X, y, Xt, yt, 8), atol=1e-12)


def test_knn_shapley_breaks_distance_ties_by_row_index_with_string_labels() -> None:
    rng = np.random.default_rng(3)
    base = rng.normal(size=(3, 2))
    X = np.vstack([base, base])  # every row has an exact duplicate
    y = np.array(["ok", "fault", "ok", "fault", "ok", "ok"])
    Xt = np.vstack([base[:1], rng.normal(size=(2, 2))])
    yt = np.array(["ok", "fault", "ok"])
    fast = knn_shapley(X, y, Xt, yt, k=2, batch_size=2, n_jobs=2)
    assert np.allclose(fast, _brute_force(X, y, Xt, yt, 2), atol=1e-12)


def test_flipped_labels_get_low_values() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 3))
    y = (X[:, 0] > 0).astype(int)
    flipped = rng.choice(400, size=20, replace=False)
    y[flipped] = 1 - y[flipped]
    Xt = rng.normal(size=(200, 3))
    yt = (Xt[:, 0] > 0).astype(int)
    values = knn_shapley(X, y, Xt, yt, k=5)
    bottom = set(np.argsort(values)[:80].tolist())
    assert len(bottom & set(flipped.tolist())) >= 16


def test_knn_shapley_rejects_bad_input() -> None:
    with pytest.raises(InvalidInput):
        knn_shapley(np.zeros((3, 2)), np.zeros(3), np.zeros((1, 2)), np.zeros(1), k=0)
    with pytest.raises(InvalidInput):
        knn_shapley(np.zeros((3, 2)), np.zeros(2), np.zeros((1, 2)), np.zeros(1))


def test_member_shapley_exact_and_monte_carlo() -> None:
    calls: list[frozenset[int]] = []

    def u(c: frozenset[int]) -> float:
        calls.append(c)
        return sum([1.0, 2.0, 0.0][i] for i in c) + (1.0 if {0, 1} <= c else 0.0)

    exact = exact_member_shapley(3, u)
    assert np.allclose(exact, [1.5, 2.5, 0.0])
    assert len(calls) == 8 == len(set(calls))  # each coalition once
    mc = monte_carlo_member_shapley(3, u, permutations=300, seed=1)
    assert np.allclose(mc, exact, atol=0.1)
    assert np.allclose(member_shapley(3, u, exact_limit=2, permutations=300, seed=1), mc)
    assert np.allclose(leave_one_out(3, u), [2.0, 3.0, 0.0])


def test_member_sums_and_shares() -> None:
    totals = sum_by_member(np.array([1.0, 2.0, -1.0]), ["a", "b", "a"])
    assert totals == {"a": 0.0, "b": 2.0}
    assert shares({"a": 1.0, "b": 3.0, "c": -2.0}) == {"a": 0.25, "b": 0.75, "c": 0.0}


def test_rows_are_ordered_by_absolute_distance_then_index() -> None:
    from resonance.domain.valuation import _PointValuer

    valuer = _PointValuer(np.zeros(5, dtype=np.int64), k=2)
    # rounding leaves -0.0 and tiny negatives for duplicates: they rank first, by row index
    order = valuer.order(np.array([3.0, -1e-18, -0.0, 2.0, 0.0]))
    assert order.tolist() == [2, 4, 1, 3, 0]


@pytest.mark.parametrize(("n", "k", "m"), [(7, 3, 3), (6, 1, 2), (5, 5, 2), (8, 2, 2), (4, 6, 1)])
def test_knn_regression_shapley_is_exact(n: int, k: int, m: int) -> None:
    rng = np.random.default_rng(n * 10 + k)
    X, y = rng.normal(size=(n, 2)), rng.normal(size=n) * 3 + 1
    Xt, yt = rng.normal(size=(m, 2)), rng.normal(size=m)
    centre = float(y.mean())

    def utility(rows: list[int]) -> float:
        rows = sorted(rows)
        return knn_regression_utility(X[rows], y[rows], Xt, yt, k=k, centre=centre)

    exact = np.zeros(n)
    for i in range(n):
        others = [j for j in range(n) if j != i]
        for size in range(n):
            weight = math.factorial(size) * math.factorial(n - 1 - size) / math.factorial(n)
            for coalition in itertools.combinations(others, size):
                exact[i] += weight * (utility([*coalition, i]) - utility(list(coalition)))
    values = knn_shapley_regression(X, y, Xt, yt, k=k)
    np.testing.assert_allclose(values, exact, atol=1e-10)
    assert values.sum() == pytest.approx(utility(list(range(n))) - utility([]))


def test_knn_regression_shapley_finds_corrupted_targets() -> None:
    rng = np.random.default_rng(0)
    X = rng.uniform(-2, 2, size=(300, 2))
    y = X[:, 0] * 3 + X[:, 1]
    bad = rng.choice(300, 30, replace=False)
    y_noisy = y.copy()
    y_noisy[bad] += 15
    Xt = rng.uniform(-2, 2, size=(200, 2))
    values = knn_shapley_regression(X, y_noisy, Xt, Xt[:, 0] * 3 + Xt[:, 1], k=5)
    lowest = np.argsort(values)[:30]
    assert len(set(lowest.tolist()) & set(bad.tolist())) >= 25


def test_knn_shapley_shrinks_its_distance_batch_to_the_memory_bound(monkeypatch) -> None:
    import resonance.domain.valuation as valuation

    rng = np.random.default_rng(3)
    X, y = rng.normal(size=(300, 4)), rng.integers(0, 3, 300)
    Xt, yt = rng.normal(size=(40, 4)), rng.integers(0, 3, 40)
    wide = knn_shapley(X, y, Xt, yt, k=3, batch_size=64)
    monkeypatch.setattr(valuation, "BATCH_BYTES", 8 * 300 * 2)  # room for 2 test points a batch
    seen: list[int] = []
    real = np.matmul

    def spy(a, b, **kw):  # type: ignore[no-untyped-def]
        seen.append(len(a))
        return real(a, b, **kw)

    monkeypatch.setattr(valuation.np, "matmul", spy)
    narrow = knn_shapley(X, y, Xt, yt, k=3, batch_size=64)
    assert max(seen) == 2 and sum(seen) == 40
    assert np.allclose(narrow, wide)
