"""Models trained by parameter exchange: (softmax-)linear and one-hidden-layer MLP in numpy.

Classification models expose the scikit-learn classifier surface the rest of
Resonance uses (``classes_``, ``predict_proba``, ``predict``), regression models
``predict``, so a federated model is stored and evaluated like a pooled one.
Local training is mini-batch gradient descent on the cross-entropy
(classification) or half the mean squared error of the standardized target
(regression: a linear output, one column) plus, for FedProx, the proximal term
``mu/2 * ||w - w_global||^2``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

KINDS = ("linear", "mlp")


def init_params(
    kind: str, n_features: int, n_classes: int, *, hidden: int, seed: int
) -> list[np.ndarray]:
    """Initial parameters (the server's round-0 arrays)."""
    rng = np.random.default_rng(seed)
    if kind == "linear":
        return [np.zeros((n_features, n_classes)), np.zeros(n_classes)]
    scale1 = np.sqrt(2.0 / max(n_features, 1))
    scale2 = np.sqrt(1.0 / hidden)
    return [
        rng.normal(0.0, scale1, size=(n_features, hidden)),
        np.zeros(hidden),
        rng.normal(0.0, scale2, size=(hidden, n_classes)),
        np.zeros(n_classes),
    ]


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return np.asarray(e / e.sum(axis=1, keepdims=True))


def _output(z: np.ndarray, regression: bool) -> np.ndarray:
    return z if regression else _softmax(z)


def forward(params: list[np.ndarray], X: np.ndarray, *, regression: bool = False) -> np.ndarray:
    """Class probabilities, or (regression) the standardized prediction, shape ``(n, 1)``."""
    if len(params) == 2:
        return _output(X @ params[0] + params[1], regression)
    h = np.maximum(X @ params[0] + params[1], 0.0)
    return _output(h @ params[2] + params[3], regression)


def target_matrix(y: np.ndarray, n_outputs: int, *, regression: bool) -> np.ndarray:
    """One-hot class indicators, or (regression) the targets as one column."""
    if regression:
        return np.asarray(y, dtype=float).reshape(-1, 1)
    return np.eye(n_outputs)[y]


def _gradients(
    params: list[np.ndarray], X: np.ndarray, Y: np.ndarray, l2: float, regression: bool = False
) -> list[np.ndarray]:
    """Gradients of the mean cross-entropy, or half the mean squared error (both have
    the output gradient ``(output - Y) / n``), plus L2 on the weight matrices."""
    n = len(X)
    if len(params) == 2:
        d = (_output(X @ params[0] + params[1], regression) - Y) / n
        return [X.T @ d + l2 * params[0], d.sum(axis=0)]
    pre = X @ params[0] + params[1]
    h = np.maximum(pre, 0.0)
    d2 = (_output(h @ params[2] + params[3], regression) - Y) / n
    d1 = (d2 @ params[2].T) * (pre > 0)
    return [X.T @ d1 + l2 * params[0], d1.sum(axis=0), h.T @ d2 + l2 * params[2], d2.sum(axis=0)]


@dataclass
class LocalConfig:
    """Hyper-parameters of one client's local training in a round."""

    epochs: int = 5
    lr: float = 0.05
    batch_size: int = 64
    l2: float = 1e-4
    proximal_mu: float = 0.0
    seed: int = 0
    backend: str = "numpy"  # or "torch" (the optional extra): same steps, torch's autograd
    regression: bool = False  # half the mean squared error of a one-column linear output


BACKENDS = ("numpy", "torch")


def local_train(
    params: list[np.ndarray], X: np.ndarray, y: np.ndarray, n_classes: int, cfg: LocalConfig
) -> list[np.ndarray]:
    """Adam on the cross-entropy or (``cfg.regression``, ``n_classes`` 1) half the mean
    squared error (+ FedProx proximal term) starting from ``params``.

    ``cfg.backend == "torch"`` runs the same steps in PyTorch (see ``torch_local``).
    """
    if cfg.backend == "torch":
        from resonance.training.federated.torch_local import local_train_torch

        return local_train_torch(params, X, y, n_classes, cfg)
    start = [p.copy() for p in params]
    w = [p.copy() for p in params]
    m = [np.zeros_like(p) for p in w]
    v = [np.zeros_like(p) for p in w]
    Y = target_matrix(y, n_classes, regression=cfg.regression)
    rng = np.random.default_rng(cfg.seed)
    t = 0
    for _ in range(cfg.epochs):
        order = rng.permutation(len(X))
        for s in range(0, len(X), cfg.batch_size):
            idx = order[s : s + cfg.batch_size]
            grads = _gradients(w, X[idx], Y[idx], cfg.l2, cfg.regression)
            t += 1
            for i, g in enumerate(grads):
                if cfg.proximal_mu:
                    g = g + cfg.proximal_mu * (w[i] - start[i])
                m[i] = 0.9 * m[i] + 0.1 * g
                v[i] = 0.999 * v[i] + 0.001 * g * g
                mhat, vhat = m[i] / (1 - 0.9**t), v[i] / (1 - 0.999**t)
                w[i] = w[i] - cfg.lr * mhat / (np.sqrt(vhat) + 1e-8)
    return w


@dataclass
class ExchangedClassifier:
    """A classifier from exchanged parameters over standardized features.

    ``predict_proba`` returns one column per class index in ``classes_``.
    """

    params: list[np.ndarray]
    mean: np.ndarray
    scale: np.ndarray
    classes_: np.ndarray = field(default_factory=lambda: np.arange(0))

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Class probabilities."""
        return forward(self.params, (np.asarray(X, dtype=float) - self.mean) / self.scale)

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Most probable class index."""
        return np.asarray(self.classes_[self.predict_proba(X).argmax(axis=1)])


@dataclass
class ExchangedRegressor:
    """A regressor from exchanged parameters over standardized features and target.

    ``predict`` returns ``target_mean + target_scale * output``.
    """

    params: list[np.ndarray]
    mean: np.ndarray
    scale: np.ndarray
    target_mean: float = 0.0
    target_scale: float = 1.0

    def standardized(self, X: np.ndarray) -> np.ndarray:
        """The model's output on the standardized target scale."""
        Z = (np.asarray(X, dtype=float) - self.mean) / self.scale
        return forward(self.params, Z, regression=True)[:, 0]

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Predicted targets."""
        return np.asarray(self.target_mean + self.target_scale * self.standardized(X))
