"""How well can any model's out-of-fold probabilities separate steel's flipped labels?

For each seed (the splits of :mod:`bench.loop`), five model families and their mean give
5-fold stratified out-of-fold class probabilities on the training rows; the noisy member's
rows are ranked by the probability of their given label (least likely first) and cut where
80 % of the flips are in. That oracle cut's precision is the best any proposal rule on those
probabilities can reach at 0.8 recall (higher = the model separates flips better). Also
printed: the accuracy of each model on the clean members' rows.

Run: ``python -m bench.review_models [--dataset steel] [--seeds 3]`` (about 4 minutes on 2
cores for steel); the result is quoted in ``bench/RESULTS-review.md``.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

import numpy as np
from sklearn.ensemble import (
    ExtraTreesClassifier,
    HistGradientBoostingClassifier,
    RandomForestClassifier,
)
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import QuantileTransformer

from bench import loop as bl
from bench.review import ranking_ceiling
from resonance.training.features import encode_labels, label_values

MODELS: dict[str, Callable[[], Any]] = {
    "extra trees (500)": lambda: ExtraTreesClassifier(500, n_jobs=2, random_state=0),
    "random forest (500)": lambda: RandomForestClassifier(500, n_jobs=2, random_state=0),
    "histogram boosting": lambda: HistGradientBoostingClassifier(
        max_iter=200, learning_rate=0.05, random_state=0
    ),
    "logistic regression": lambda: make_pipeline(
        QuantileTransformer(n_quantiles=200, output_distribution="normal"),
        LogisticRegression(max_iter=2000),
    ),
    "15-NN": lambda: make_pipeline(
        QuantileTransformer(n_quantiles=200, output_distribution="normal"),
        KNeighborsClassifier(15, weights="distance"),
    ),
}


def out_of_fold(make: Callable[[], Any], X: np.ndarray, y: np.ndarray, k: int, seed: int) -> Any:
    """5-fold stratified out-of-fold class probabilities, ``(rows, k)``."""
    proba = np.zeros((len(y), k))
    for tr, te in StratifiedKFold(5, shuffle=True, random_state=seed).split(X, y):
        model = make().fit(X[tr], y[tr])
        proba[np.ix_(te, model.classes_)] = model.predict_proba(X[te])
    return proba


def main() -> None:
    """Print each model's oracle-cut precision at 0.8 recall and clean-row accuracy."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dataset", default="steel", choices=("steel", "ai4i"))
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    problem = bl.steel() if args.dataset == "steel" else bl.ai4i()
    results: dict[str, list[tuple[float, float]]] = {}
    for seed in range(args.seeds):
        split = bl.make_split(problem, seed)
        train = split.train
        labels = label_values(problem.table, problem.label)
        truth = encode_labels(labels, split.classes)[train.row]
        mine = train.owner == sorted(set(problem.members))[0]
        flipped = (truth != train.y) & mine
        X, y, k = np.nan_to_num(train.X.astype(float)), train.y, len(split.classes)
        probas = {name: out_of_fold(make, X, y, k, seed) for name, make in MODELS.items()}
        probas["mean of the five"] = np.mean(list(probas.values()), axis=0)
        for name, proba in probas.items():
            ceiling = ranking_ceiling(proba, y, flipped, mine, recall=0.8)
            accuracy = float((proba.argmax(axis=1) == truth)[~mine].mean())
            results.setdefault(name, []).append((ceiling, accuracy))
    head = f"accuracy on the clean members' rows ({args.dataset})"
    print(f"| model | oracle-cut precision at 0.8 recall | {head} |")
    print("| --- | --- | --- |")
    for name, rows in results.items():
        c, a = np.array(rows).T
        print(f"| {name} | {c.mean():.2f} ± {c.std():.2f} | {a.mean():.2f} |")


if __name__ == "__main__":
    main()
