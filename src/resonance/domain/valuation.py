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

import numpy as np

from resonance.domain.blas import one_blas_thread
from resonance.domain.errors import InvalidInput

Utility = Callable[[frozenset[int]], float]

EXACT_MEMBER_LIMIT = 8
BATCH_BYTES = 64 * 1024 * 1024  # distances held per thread by knn_shapley


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
