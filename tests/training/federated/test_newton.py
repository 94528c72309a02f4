"""Federated Newton: member statistics add up to the pooled ones, whatever the split."""

from __future__ import annotations

import numpy as np
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression

from resonance.training.federated.models import forward
from resonance.training.federated.newton import l2_for, newton_statistics, newton_step
from tests.federation_seed import non_iid_parts


def _loss(params: list[np.ndarray], X: np.ndarray, y: np.ndarray) -> float:
    return float(-np.log(forward(params, X)[np.arange(len(y)), y]).mean())


def test_federated_newton_statistics_are_the_cross_entropy_derivatives() -> None:
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(40, 3)), rng.integers(0, 3, 40)
    params = [rng.normal(size=(3, 3)), rng.normal(size=3)]
    grad, hess = newton_statistics(params, X, y, 3)
    flat = np.vstack([params[0], params[1][None, :]]).ravel()

    def at(v: np.ndarray) -> list[np.ndarray]:
        W = v.reshape(4, 3)
        return [W[:-1], W[-1]]

    eps = 1e-6
    for i in range(len(flat)):
        step = np.zeros_like(flat)
        step[i] = eps
        numeric = (_loss(at(flat + step), X, y) - _loss(at(flat - step), X, y)) / (2 * eps)
        assert abs(numeric - grad.ravel()[i]) < 1e-6
        g_plus = newton_statistics(at(flat + step), X, y, 3)[0].ravel()
        g_minus = newton_statistics(at(flat - step), X, y, 3)[0].ravel()
        assert np.allclose((g_plus - g_minus) / (2 * eps), hess[:, i], atol=1e-6)


def test_federated_newton_on_label_skewed_members_reaches_the_pooled_logistic_regression() -> None:
    X, y = make_classification(
        n_samples=900, n_features=6, n_informative=4, n_classes=3, random_state=0
    )
    parts = non_iid_parts(y.astype(str), 4, alpha=0.3, seed=1)
    weights = np.array([len(p) for p in parts]) / len(y)
    params = [np.zeros((6, 3)), np.zeros(3)]
    l2, decrements = l2_for(1.0, len(y), 3), []
    for _ in range(30):
        stats = [newton_statistics(params, X[p], y[p], 3) for p in parts]
        grad = sum(w * s[0] for w, s in zip(weights, stats, strict=True))
        hess = sum(w * s[1] for w, s in zip(weights, stats, strict=True))
        params = newton_step(params, np.asarray(grad), np.asarray(hess), l2, decrements)
        if decrements[-1] ** 2 / 2 < 1e-10:
            break
    assert len(decrements) < 15
    pooled = LogisticRegression(C=1.0, max_iter=5000, tol=1e-10).fit(X, y)
    assert np.abs(forward(params, X) - pooled.predict_proba(X)).max() < 1e-4


def test_federated_newton_l2_matches_sklearn_for_two_classes() -> None:
    X, y = make_classification(n_samples=300, n_features=4, random_state=1)
    params, decrements = [np.zeros((4, 2)), np.zeros(2)], []
    for _ in range(20):
        grad, hess = newton_statistics(params, X, y, 2)
        params = newton_step(params, grad, hess, l2_for(0.5, len(y), 2), decrements)
    pooled = LogisticRegression(C=0.5, tol=1e-10).fit(X, y)
    assert np.abs(forward(params, X) - pooled.predict_proba(X)).max() < 1e-5
