"""Contribution valuation: exact KNN-Shapley per row and Shapley values over members.

Every value here follows the same direction: **higher = more valuable** (a
row or member that raises the utility of the model). Negative values mark
rows or members that hurt it (for instance rows with flipped labels).
"""

from __future__ import annotations

import itertools
import math
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

from resonance.domain.blas import one_blas_thread
from resonance.domain.errors import InvalidInput

Utility = Callable[[frozenset[int]], float]

EXACT_MEMBER_LIMIT = 8
BATCH_BYTES = 64 * 1024 * 1024  # distances held per thread by knn_shapley


@dataclass
class Valuation:
    """Per-member values of one model version on one suite."""

    model: str
    suite: str
    metric: str
    full_score: float
    members: dict[str, dict[str, float]]
    method: str

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON."""
        return dict(self.__dict__)


def _check_knn_inputs(
    X_train: np.ndarray, y_train: np.ndarray, X_test: np.ndarray, y_test: np.ndarray, k: int
) -> None:
    if k < 1:
        raise InvalidInput("k must be at least 1", k=k)
    if len(X_train) != len(y_train) or len(X_test) != len(y_test):
        raise InvalidInput("features and labels must have the same number of rows")
    if len(X_train) == 0 or len(X_test) == 0:
        raise InvalidInput("KNN-Shapley needs at least one training and one test row")
    if X_train.shape[1:] != X_test.shape[1:]:
        raise InvalidInput("training and test rows must have the same features")


def _augmented_train(X_train: np.ndarray) -> np.ndarray:
    """``[-2 X_train^T; |t|^2; 1]`` as a C-contiguous (d + 2, n) array.

    With :func:`_augmented_test`, one BLAS call gives ``|x|^2 + |t|^2 - 2 x.t``:
    every squared distance of a batch of test points.
    """
    return np.ascontiguousarray(
        np.vstack(
            [-2.0 * X_train.T, np.einsum("ij,ij->i", X_train, X_train), np.ones(len(X_train))]
        )
    )


def _augmented_test(X_test: np.ndarray) -> np.ndarray:
    """``[x, 1, |x|^2]`` per test point: the left factor of :func:`_augmented_train`."""
    sq = np.einsum("ij,ij->i", X_test, X_test)
    return np.hstack([X_test, np.ones((len(X_test), 1)), sq[:, None]])


_INDEX_BITS = 29  # float64 keeps 52 mantissa bits; a float32-precision distance needs 23


class _PointValuer:
    """Shapley values of the training rows for one test point at a time.

    Works on one row of distances so that every pass stays in the CPU cache;
    buffers are reused between test points. Not thread-safe: one per thread.
    """

    def __init__(self, train_codes: np.ndarray, k: int) -> None:
        n = len(train_codes)
        self.codes, self.k, self.n = train_codes, k, n
        ranks = np.arange(1, n + 1, dtype=np.float64)
        self.coef = np.divide(1.0, ranks * (ranks - 1.0), out=np.zeros(n), where=ranks > 1)
        self.inv = 1.0 / ranks
        self.index = np.arange(n, dtype=np.uint64)
        self.mask = np.uint64((1 << _INDEX_BITS) - 1)
        self.keep = np.uint64(((1 << 63) - 1) & ~((1 << _INDEX_BITS) - 1))  # no sign, no index
        self.vals, self.tmp = np.empty(n), np.empty(n)
        self.totals = np.zeros(n)  # sum over test points of s + P[n]
        self.offset = 0.0  # sum over test points of P[n]
        self.is_label: dict[int, np.ndarray] = {}  # class code -> training rows of that class

    def order(self, d: np.ndarray) -> np.ndarray:
        """Permutation sorting ``d`` ascending, ties broken by row index; overwrites ``d``.

        Clearing the sign bit takes ``|d|``: rounding can push the squared distance
        of a (near) duplicate just below zero, and a negative (or -0.0) bit pattern
        would sort last. Non-negative float64 bit patterns sort like the values.
        Truncated to float32 precision, each leaves its low 29 mantissa bits for
        the row index: one plain (SIMD) sort of the packed keys gives the
        permutation, about twice as fast as ``argsort``. Distances within one
        part in 2**23 count as ties.
        """
        if self.n >= 1 << _INDEX_BITS:
            return np.argsort(np.abs(d), kind="stable")
        bits = d.view(np.uint64)
        bits &= self.keep  # |d|, truncated to float32 precision
        bits |= self.index
        d.sort()
        bits &= self.mask
        return bits.view(np.int64)

    def add(self, d: np.ndarray, label: int) -> None:
        """Add the values for one test point with squared distances ``d`` (overwritten).

        Closed form of the recursion: at rank ``i >= K`` (1-based)
        ``s[i] = c[i] / i + P[i] - P[n]`` with ``P[i] = sum_{j <= i} c[j] / (j (j - 1))``;
        below K, ``s[i] = s[K] + (c[i] - c[K]) / K``.
        """
        order = self.order(d)
        if label not in self.is_label:
            self.is_label[label] = self.codes == label
        match = np.take(self.is_label[label], order)
        vals, tmp = self.vals, self.tmp
        ones = match.view(np.uint8)  # 0/1 bytes multiply faster than booleans
        np.multiply(ones, self.coef, out=vals)
        np.cumsum(vals, out=vals)
        self.offset += float(vals[-1])
        np.multiply(ones, self.inv, out=tmp)
        vals += tmp
        top = min(self.k, self.n)
        anchor = vals[top - 1]
        if self.n < self.k:  # fewer rows than K: the utility is additive, s[i] = c[i] / K
            anchor += match[-1] / self.k - match[-1] / self.n
        vals[:top] = anchor + (match[:top].astype(np.float64) - match[top - 1]) / self.k
        self.totals += np.bincount(order, weights=vals, minlength=self.n)  # frees the GIL


def knn_shapley(
    X_train: np.ndarray,
    y_train: np.ndarray,
    X_test: np.ndarray,
    y_test: np.ndarray,
    *,
    k: int = 5,
    batch_size: int = 64,
    n_jobs: int = 1,
) -> np.ndarray:
    """Exact Shapley value of every training row for a K-nearest-neighbour classifier.

    Implements the recursion of Jia et al. (2019, "Efficient task-specific
    data valuation for nearest neighbor algorithms"): for each test point the
    training rows are sorted by Euclidean distance (O(N log N)) and the values
    follow from the farthest row inwards,

    ``s[N] = 1[y_N = y] / N`` and
    ``s[i] = s[i+1] + (1[y_i = y] - 1[y_{i+1} = y]) / K * min(K, i) / i``.

    The utility of a subset is the fraction of its K nearest rows that carry
    the test label, so values are exact Shapley values of that utility, averaged
    over test points. Equidistant rows (within one part in 2**23) rank by row
    index, as in :func:`knn_utility`. Each batch of test points gets its
    distances from one BLAS call; then each test point is valued in one pass
    of cache-resident numpy operations (see ``_PointValuer``).

    Parameters
    ----------
    X_train, y_train:
        Training features (n, d) and labels (n,); labels are compared for equality.
    X_test, y_test:
        Validation features (m, d) and labels (m,).
    k:
        Number of neighbours of the KNN utility.
    batch_size:
        Most test points per distance batch. A batch holds ``batch_size * n``
        distances per thread, so it shrinks to keep that under
        ``BATCH_BYTES`` (64 MiB): memory stays linear in ``n``, never ``n × m``.
    n_jobs:
        Threads working on batches at once (numpy and BLAS release the GIL).

    Returns
    -------
    numpy.ndarray
        One value per training row; **higher = more valuable**. The values sum
        to the mean utility of the full training set (efficiency).
    """
    X_train = np.asarray(X_train, dtype=np.float64)
    X_test = np.asarray(X_test, dtype=np.float64)
    y_train = np.asarray(y_train)
    y_test = np.asarray(y_test)
    _check_knn_inputs(X_train, y_train, X_test, y_test, k)
    batch_size = max(1, min(batch_size, BATCH_BYTES // (8 * len(X_train))))
    train_aug = _augmented_train(X_train)
    test_aug = _augmented_test(X_test)
    _, codes = np.unique(np.concatenate([y_train, y_test]), return_inverse=True)
    codes = codes.astype(np.min_scalar_type(codes.max()))  # a small dtype gathers faster
    train_codes, test_codes = codes[: len(y_train)], codes[len(y_train) :]
    local = threading.local()
    valuers: list[_PointValuer] = []

    def batch(start: int) -> None:
        if not hasattr(local, "valuer"):
            local.valuer = _PointValuer(train_codes, k)
            local.partial = np.empty((batch_size, len(y_train)))  # reused: no page faults
            valuers.append(local.valuer)
        stop = min(start + batch_size, len(X_test))
        partial = np.matmul(test_aug[start:stop], train_aug, out=local.partial[: stop - start])
        for d, label in zip(partial, test_codes[start:stop], strict=True):
            local.valuer.add(d, int(label))

    starts = range(0, len(X_test), batch_size)
    with one_blas_thread():  # idle BLAS workers would spin on the cores the passes need
        if n_jobs > 1:  # numpy's sorts and arithmetic release the GIL
            with ThreadPoolExecutor(n_jobs) as pool:
                list(pool.map(batch, starts))
        else:
            for start in starts:
                batch(start)
    values = sum(v.totals for v in valuers) - sum(v.offset for v in valuers)
    return np.asarray(values) / len(X_test)


def _knn_regression_point(y_sorted: np.ndarray, t: float, k: int) -> np.ndarray:
    """Exact Shapley values (in distance order) for one test point of the KNN regression
    utility ``U(S) = -(sum over the min(K, |S|) nearest j in S of a_j - t)^2``, ``a = y / K``.

    ``U(S) + t^2 = sum_{j in top(S)} c_j - 2 sum_{j<l both in top(S)} a_j a_l`` with
    ``c_j = 2 t a_j - a_j^2``. With ranks ``1..N`` (nearest first), in a random
    order of arrival:

    - the additive part: ``j`` counts itself with probability ``min(K, j) / j``
      and each farther ``l > K`` is pushed out by ``i < l`` with probability
      ``K / (l (l - 1))``: ``phi_i = c_i min(K, i)/i - sum_{l > max(i, K)} c_l K / (l (l-1))``;
    - the pair part: each of a pair ``j < l`` completes it with probability
      ``alpha_l = Q (Q + 1) / (2 l (l - 1))``, ``Q = min(K, l) - 1``, and every other
      point nearer than ``l > K`` breaks it with probability
      ``K (K - 1) / (l (l - 1) (l - 2))``.

    The utility is Jia et al.'s (2019) for unweighted KNN regression; the closed
    form above is derived here from these arrival probabilities (the tests check
    it against enumeration of every coalition) and computed with prefix and
    suffix sums in O(N).
    """
    n = len(y_sorted)
    a = np.asarray(y_sorted, dtype=np.float64) / k
    rank = np.arange(1, n + 1, dtype=np.float64)
    c = 2.0 * t * a - a * a
    # additive part
    gamma = np.where(rank > k, -k / (rank * np.maximum(rank - 1, 1)), 0.0)
    g = c * gamma
    after = np.concatenate([np.cumsum(g[::-1])[::-1][1:], [0.0]])  # sum over l > i
    additive = c * np.minimum(k, rank) / rank + after
    # pair part
    q = np.minimum(k, rank) - 1
    alpha = np.where(rank > 1, q * (q + 1) / (2 * rank * np.maximum(rank - 1, 1)), 0.0)
    beta = np.where(
        rank > k, -k * (k - 1) / (rank * np.maximum(rank - 1, 1) * np.maximum(rank - 2, 1)), 0.0
    )
    before = np.concatenate([[0.0], np.cumsum(a)[:-1]])  # sum over j < i of a_j

    def suffix(v: np.ndarray) -> np.ndarray:  # sum over l > i
        return np.concatenate([np.cumsum(v[::-1])[::-1][1:], [0.0]])

    pair = (
        a * suffix(a * alpha)  # i is the nearer of a pair
        + alpha * a * before  # i is the farther of a pair
        + suffix(beta * a * before)  # i breaks pairs (j, l) nearer than l ...
        - a * suffix(beta * a)  # ... other than those it is part of
    )
    return np.asarray(additive - 2.0 * pair)


def knn_shapley_regression(
    X_train: np.ndarray,
    y_train: np.ndarray,
    X_test: np.ndarray,
    y_test: np.ndarray,
    *,
    k: int = 5,
    batch_size: int = 64,
) -> np.ndarray:
    """Exact Shapley value of every training row for a K-nearest-neighbour regressor.

    The utility of a subset ``S`` for a test point ``(x, t)`` is minus the
    squared error of the unweighted KNN prediction, the regression utility of
    Jia et al. (2019, "Efficient task-specific data valuation for nearest
    neighbor algorithms", PVLDB 12(11)):
    ``U(S) = -(y_bar + (1/K) sum_{j in top_K(S)} (y_j - y_bar) - t)^2``,
    with targets centred on the training mean ``y_bar`` (an empty set predicts
    the mean). Values come from the closed form of :func:`_knn_regression_point`
    (O(N log N) per test point for the sort), averaged over test points.

    Returns
    -------
    numpy.ndarray
        One value per training row; **higher = more valuable** (in squared target
        units). Per test point they sum to ``U(all rows) - U(no rows)``: the fall of
        the squared error from predicting the mean to the full KNN prediction.
    """
    X_train = np.asarray(X_train, dtype=np.float64)
    X_test = np.asarray(X_test, dtype=np.float64)
    y_train = np.asarray(y_train, dtype=np.float64)
    y_test = np.asarray(y_test, dtype=np.float64)
    _check_knn_inputs(X_train, y_train, X_test, y_test, k)
    centre = float(y_train.mean())
    yc = y_train - centre
    train_aug = _augmented_train(X_train)
    test_aug = _augmented_test(X_test)
    values = np.zeros(len(y_train))
    with one_blas_thread():
        for start in range(0, len(X_test), batch_size):
            stop = min(start + batch_size, len(X_test))
            dist = test_aug[start:stop] @ train_aug
            for d, t in zip(dist, y_test[start:stop] - centre, strict=True):
                order = np.argsort(d, kind="stable")  # ties by row index
                values[order] += _knn_regression_point(yc[order], float(t), k)
    return values / len(X_test)


def knn_regression_utility(
    X_train: np.ndarray,
    y_train: np.ndarray,
    X_test: np.ndarray,
    y_test: np.ndarray,
    *,
    k: int = 5,
    centre: float | None = None,
) -> float:
    """Mean KNN regression utility of a training set (minus the squared error of the
    prediction of :func:`knn_shapley_regression`; the mean ``centre`` for no rows)."""
    y_test = np.asarray(y_test, dtype=np.float64)
    mid = float(np.mean(y_train)) if centre is None else centre
    if len(X_train) == 0:
        return float(-np.mean((y_test - mid) ** 2))
    total = 0.0
    yc = np.asarray(y_train, dtype=np.float64) - mid
    for x, t in zip(np.asarray(X_test, dtype=np.float64), y_test, strict=True):
        d = ((np.asarray(X_train, dtype=np.float64) - x) ** 2).sum(axis=1)
        top = np.argsort(d, kind="stable")[:k]
        total += -((yc[top].sum() / k + mid - t) ** 2)
    return total / len(y_test)


def knn_utility(
    X_train: np.ndarray,
    y_train: np.ndarray,
    X_test: np.ndarray,
    y_test: np.ndarray,
    *,
    k: int = 5,
) -> float:
    """Mean KNN utility of a training set: the share of each test point's K nearest
    rows carrying its label (0 for an empty set). **Higher = better.**"""
    if len(X_train) == 0:
        return 0.0
    X_train = np.asarray(X_train, dtype=np.float64)
    X_test = np.asarray(X_test, dtype=np.float64)
    d = _augmented_test(X_test) @ _augmented_train(X_train)  # squared distances
    order = np.argsort(d, axis=1, kind="stable")[:, :k]
    return float((np.asarray(y_train)[order] == np.asarray(y_test)[:, None]).sum(axis=1).mean() / k)


def _coalition_weight(size: int, n: int) -> float:
    return math.factorial(size) * math.factorial(n - size - 1) / math.factorial(n)


def exact_member_shapley(n_members: int, utility: Utility) -> np.ndarray:
    """Exact Shapley values over ``n_members`` players, each coalition evaluated once.

    Parameters
    ----------
    utility:
        Maps a coalition (frozenset of member indices) to a score where
        **higher = better** (e.g. macro-F1 of a model trained on those members);
        it is called once per coalition (2**n calls, cached).

    Returns
    -------
    numpy.ndarray
        One value per member; **higher = more valuable**; sums to
        ``U(all) - U(empty)``.
    """
    if n_members < 1:
        raise InvalidInput("need at least one member")
    cache: dict[frozenset[int], float] = {}
    for size in range(n_members + 1):
        for combo in itertools.combinations(range(n_members), size):
            key = frozenset(combo)
            cache[key] = float(utility(key))
    values = np.zeros(n_members)
    for coalition, u in cache.items():
        if len(coalition) == n_members:
            continue
        w = _coalition_weight(len(coalition), n_members)
        for i in range(n_members):
            if i not in coalition:
                values[i] += w * (cache[coalition | {i}] - u)
    return values


def monte_carlo_member_shapley(
    n_members: int, utility: Utility, *, permutations: int = 200, seed: int = 0
) -> np.ndarray:
    """Shapley values estimated from random permutations (coalition utilities cached).

    Returns one value per member; **higher = more valuable**. Deterministic for
    a given ``seed``.
    """
    if n_members < 1 or permutations < 1:
        raise InvalidInput("need at least one member and one permutation")
    rng = np.random.default_rng(seed)
    cache: dict[frozenset[int], float] = {}

    def u(key: frozenset[int]) -> float:
        if key not in cache:
            cache[key] = float(utility(key))
        return cache[key]

    values = np.zeros(n_members)
    for _ in range(permutations):
        coalition: frozenset[int] = frozenset()
        before = u(coalition)
        for i in rng.permutation(n_members):
            coalition = coalition | {int(i)}
            after = u(coalition)
            values[i] += after - before
            before = after
    return values / permutations


def member_shapley(
    n_members: int,
    utility: Utility,
    *,
    exact_limit: int = EXACT_MEMBER_LIMIT,
    permutations: int = 200,
    seed: int = 0,
) -> np.ndarray:
    """Shapley values over members: exact up to ``exact_limit`` members, Monte Carlo beyond.

    **Higher = more valuable.**
    """
    if n_members <= exact_limit:
        return exact_member_shapley(n_members, utility)
    return monte_carlo_member_shapley(n_members, utility, permutations=permutations, seed=seed)


def leave_one_out(n_members: int, utility: Utility) -> np.ndarray:
    """``U(all) - U(all without i)`` for each member; **higher = more valuable**."""
    everyone = frozenset(range(n_members))
    full = float(utility(everyone))
    return np.array([full - float(utility(everyone - {i})) for i in range(n_members)])


def sum_by_member(values: np.ndarray, members: Sequence[str]) -> dict[str, float]:
    """Total per-row value of each member (rows labelled by ``members``)."""
    if len(values) != len(members):
        raise InvalidInput("one member name per value is needed")
    out: dict[str, float] = {}
    for v, m in zip(values, members, strict=True):
        out[m] = out.get(m, 0.0) + float(v)
    return out


def shares(values: dict[str, float]) -> dict[str, float]:
    """Normalised shares of positive contributions (negative ones get 0); sums to 1."""
    pos = {m: max(v, 0.0) for m, v in values.items()}
    total = sum(pos.values())
    if total <= 0:
        return {m: 1.0 / len(values) for m in values} if values else {}
    return {m: v / total for m, v in pos.items()}
