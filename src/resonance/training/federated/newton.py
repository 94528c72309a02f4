"""Federated Newton for the softmax-linear model: members send gradients and Hessians.

For a linear model the training objective (mean cross-entropy plus an L2
penalty) is convex, and the pooled gradient and Hessian are the row-weighted
averages of the members' own. So the server can take the Newton step the
pooled optimiser would take, whatever the split between members: label skew
cannot make the result drift. Each round a member sends the mean gradient and
Hessian of the cross-entropy over its own rows at the current parameters
(``(d+1)k`` and ``((d+1)k)^2`` numbers; no rows); Flower's FedAvg aggregation
averages them by row count; the server adds the penalty and steps.

For regression the model is linear least squares (ridge) on the standardized
target: the mean squared error is quadratic, members send ``X^T (X w - y) / n``
and ``X^T X / n``, and the first full Newton step lands on the pooled ridge
solution exactly (the second round's decrement confirms it and stops the run).

Steps are damped (``1 / (1 + lambda)``, lambda the Newton decrement) until
lambda is small, then full; the run stops once ``lambda^2 / 2`` (an estimate of
the distance to the optimum of the objective) is below ``tol``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
from flwr.app import ArrayRecord, ConfigRecord, Message, MetricRecord
from flwr.serverapp import Grid
from flwr.serverapp.strategy import FedAvg

from resonance.domain.blas import one_blas_thread
from resonance.training.federated.models import forward

FULL_STEP_BELOW = 0.5  # Newton decrement under which full steps are taken


def prior_logits(schemas: list[dict[str, Any]], classes: list[str]) -> np.ndarray:
    """Log class frequencies over all members (from their schema counts): the first biases."""
    counts = np.array(
        [sum(int(s["classes"].get(c, 0)) for s in schemas) for c in classes], dtype=float
    )
    counts += 0.5
    return np.asarray(np.log(counts / counts.sum()))


def newton_statistics(
    params: list[np.ndarray],
    X: np.ndarray,
    y: np.ndarray,
    n_classes: int,
    *,
    regression: bool = False,
) -> list[np.ndarray]:
    """Mean gradient and Hessian of the cross-entropy of a softmax-linear model, or
    (``regression``, ``n_classes`` 1) of half the squared error of a linear model.

    Parameters
    ----------
    params:
        ``[W, b]`` with shapes ``(d, k)`` and ``(k,)``.
    X, y:
        A member's standardized features and class indices.
    n_classes:
        ``k``.

    Returns
    -------
    list of numpy.ndarray
        The gradient, shape ``(d + 1, k)`` (last row: bias), and the Hessian,
        shape ``((d + 1) k, (d + 1) k)``, over the flattened gradient's order.
    """
    n = max(len(X), 1)
    Xa = np.hstack([X, np.ones((len(X), 1))])
    if regression:
        residual = forward(params, X, regression=True) - np.asarray(y, float).reshape(-1, 1)
        return [Xa.T @ residual / n, Xa.T @ Xa / n]
    P = forward(params, X)
    grad = Xa.T @ (P - np.eye(n_classes)[y]) / n
    k, width = n_classes, Xa.shape[1]
    hess = np.zeros((width * k, width * k))
    for a in range(k):
        for b in range(a, k):
            s = P[:, a] * (float(a == b) - P[:, b])
            block = (Xa * s[:, None]).T @ Xa / n
            hess[a::k, b::k] = block
            hess[b::k, a::k] = block.T
    return [grad, hess]


def l2_for(c: float, rows: int, n_classes: int, *, regression: bool = False) -> float:
    """The per-row L2 weight matching scikit-learn's ``LogisticRegression(C=c)`` objective,
    or (``regression``) ``Ridge(alpha=1/c)`` (the pooled ``sklearn-logreg`` trainer's).

    scikit-learn minimises ``C * sum(loss) + ||W||^2 / 2``; per row that is
    ``1 / (C n)``. With two classes it fits one weight vector ``w`` where the
    softmax model has ``(-w/2, w/2)``, whose penalty is half as large: twice the weight.
    Ridge minimises ``sum(r^2) + alpha ||w||^2``, i.e. ``sum(r^2 / 2) / n + (alpha / n)
    ||w||^2 / 2`` per row: the weight is ``1 / (C n)`` too (the target's scale cancels).
    """
    base = 1.0 / (c * max(rows, 1))
    return 2 * base if n_classes == 2 and not regression else base


class FedNewton(FedAvg):
    """Damped Newton on the pooled objective from averaged member statistics.

    Parameters
    ----------
    l2:
        Per-row L2 weight on the weights (not the biases).
    tol:
        Stop when the estimated distance to the optimum, ``lambda^2 / 2``, is below it.
    full_steps:
        Never damp (least squares: the objective is quadratic, one full step is exact).
    **kwargs:
        FedAvg's settings (node counts, metric aggregation).
    """

    def __init__(
        self, *, l2: float, tol: float = 1e-6, full_steps: bool = False, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.l2 = l2
        self.tol = tol
        self.full_steps = full_steps
        self.current: list[np.ndarray] = []
        self.decrements: list[float] = []
        self.converged_at: int | None = None

    def configure_train(
        self, server_round: int, arrays: ArrayRecord, config: ConfigRecord, grid: Grid
    ) -> Iterable[Message]:
        """Ask every member for its statistics at the current parameters (none once converged)."""
        if self.converged_at is not None:
            return []
        self.current = [np.asarray(a) for a in arrays.to_numpy_ndarrays()]
        config["method"] = "newton"
        return super().configure_train(server_round, arrays, config, grid)

    def aggregate_train(
        self, server_round: int, replies: Iterable[Message]
    ) -> tuple[ArrayRecord | None, MetricRecord | None]:
        """Average the statistics by rows and take one (damped) Newton step."""
        stats, metrics = super().aggregate_train(server_round, replies)
        if stats is None:
            return None, metrics
        grad, hess = (np.asarray(a) for a in stats.to_numpy_ndarrays())
        params = newton_step(
            self.current, grad, hess, self.l2, self.decrements, full=self.full_steps
        )
        if self.decrements[-1] ** 2 / 2 < self.tol:
            self.converged_at = server_round
        return ArrayRecord([np.ascontiguousarray(p) for p in params]), metrics


def newton_step(
    params: list[np.ndarray],
    grad: np.ndarray,
    hess: np.ndarray,
    l2: float,
    log: list[float],
    *,
    full: bool = False,
) -> list[np.ndarray]:
    """One damped (``full``: undamped) Newton step from ``params = [W, b]``; appends the
    decrement to ``log``."""
    W = np.vstack([params[0], params[1][None, :]])
    penalty = np.full(W.shape, l2)
    penalty[-1] = 1e-10  # biases are not penalised; a tiny ridge keeps the system solvable
    g = (grad + penalty * W).ravel()
    h = hess + np.diag(penalty.ravel())
    with one_blas_thread():
        step = np.linalg.solve(h, g)
    decrement = float(np.sqrt(max(g @ step, 0.0)))
    log.append(decrement)
    scale = 1.0 if full or decrement < FULL_STEP_BELOW else 1.0 / (1.0 + decrement)
    W = W - scale * step.reshape(W.shape)
    return [W[:-1], W[-1]]
