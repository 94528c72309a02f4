"""Benchmark: exact KNN-Shapley on 100,000 training × 1,000 test rows vs one KNN predict.

Data: ``sklearn.datasets.make_classification`` (10 informative-or-redundant
features, 2 classes, seed 0), 100,000 training and 1,000 test rows; 5 % of the
training labels are flipped (recorded). In the same run:

* baseline: ``KNeighborsClassifier(n_neighbors=k, n_jobs=jobs).fit(X, y).predict(X_test)``
  (scikit-learn's default algorithm choice: a kd-tree for 10 features);
* resonance: :func:`resonance.domain.valuation.knn_shapley` (full sort per test
  point) with the same number of threads (``--jobs``, default 2: this host's cores).

Prints both times and their ratio (target ≤ 5) and the share of flipped rows
ranked in the bottom 20 % of values (target ≥ 80 %); exits 1 on a miss.

Run: ``make bench-valuation`` or ``python -m bench.valuation [--train N] [--test N]``.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable

import numpy as np
from sklearn.datasets import make_classification
from sklearn.neighbors import KNeighborsClassifier

from resonance.domain.valuation import knn_shapley

RATIO_TARGET = 5.0
RECALL_TARGET = 0.80


def _best(fn: Callable[[], object], repeat: int) -> tuple[float, list[float]]:
    runs = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - t0)
    return min(runs), runs


def _data(args: argparse.Namespace) -> tuple[np.ndarray, ...]:
    X, y = make_classification(
        n_samples=args.train + args.test, n_features=10, n_informative=6, n_redundant=2,
        class_sep=1.5, random_state=0,
    )  # fmt: skip
    Xtr, ytr, Xte, yte = X[: args.train], y[: args.train].copy(), X[args.train :], y[args.train :]
    rng = np.random.default_rng(0)
    flipped = rng.choice(args.train, size=int(args.flip * args.train), replace=False)
    ytr[flipped] = 1 - ytr[flipped]
    return Xtr, ytr, Xte, yte, flipped


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; 0 when both targets are met."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", type=int, default=100_000)
    parser.add_argument("--test", type=int, default=1_000)
    parser.add_argument("--k", type=int, default=5)
    parser.add_argument("--flip", type=float, default=0.05)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each; best counts")
    parser.add_argument(
        "--jobs", type=int, default=2, help="threads, for KNN-Shapley and the KNN baseline alike"
    )
    args = parser.parse_args(argv)
    Xtr, ytr, Xte, yte, flipped = _data(args)

    def predict(algorithm: str = "auto") -> object:
        knn = KNeighborsClassifier(n_neighbors=args.k, n_jobs=args.jobs, algorithm=algorithm)
        return knn.fit(Xtr, ytr).predict(Xte)

    result: dict[str, np.ndarray] = {}

    def shapley() -> None:
        result["v"] = knn_shapley(Xtr, ytr, Xte, yte, k=args.k, n_jobs=args.jobs)

    base, base_runs = _best(predict, args.repeat)
    brute, _ = _best(lambda: predict("brute"), args.repeat)
    ours, our_runs = _best(shapley, args.repeat)
    bottom = np.argsort(result["v"])[: int(0.2 * args.train)]
    recall = len(np.intersect1d(bottom, flipped)) / len(flipped)
    ratio = ours / base
    runs = " ".join(f"{r:.2f}" for r in base_runs), " ".join(f"{r:.2f}" for r in our_runs)
    print(
        f"KNN-Shapley {args.train:,} train x {args.test:,} test rows, "
        f"k={args.k}, {args.jobs} thread(s), best of {args.repeat}"
    )
    print("| measure | value | target |\n|---|---|---|")
    print(
        f"| KNN predict, scikit-learn's default (kd-tree): baseline | {base:.2f} s ({runs[0]}) | |"
    )
    print(f"| KNN predict, brute force (for reference) | {brute:.2f} s | |")
    print(f"| KNN-Shapley (exact) | {ours:.2f} s ({runs[1]}) | |")
    print(f"| time ratio to the baseline | {ratio:.2f}x | <= {RATIO_TARGET:g}x |")
    print(f"| time ratio to brute force (for reference) | {ours / brute:.2f}x | |")
    print(f"| flipped rows in bottom 20 % | {recall:.1%} | >= {RECALL_TARGET:.0%} |")
    ok = ratio <= RATIO_TARGET and recall >= RECALL_TARGET
    print("PASS" if ok else "MISS")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
