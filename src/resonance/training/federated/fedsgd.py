"""FedSGD with server-side Adam: members send one full-batch gradient step each round.

Each round every member returns ``w - grad_k(w)``, the parameters after one
plain gradient step (step size 1) on the mean loss over its own rows. Flower's
FedAdam averages those by row count, so its pseudo-gradient ``avg - w`` is
minus the pooled gradient, and its update is Adam on the pooled objective:
no local steps, so no client drift, however skewed the members' labels are.
The price is rounds: one per optimiser step (hundreds for the MLP).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
from flwr.app import ConfigRecord, Message
from flwr.serverapp import Grid
from flwr.serverapp.strategy import FedAdam

from resonance.training.federated.models import _gradients, target_matrix


def gradient_step(
    params: list[np.ndarray],
    X: np.ndarray,
    y: np.ndarray,
    n_classes: int,
    *,
    l2: float = 1e-4,
    regression: bool = False,
) -> list[np.ndarray]:
    """``params`` minus the full-batch gradient of the mean cross-entropy (regression: half
    the mean squared error) (+ L2) on ``X, y``."""
    Y = target_matrix(y, n_classes, regression=regression)
    grads = _gradients(params, X, Y, l2, regression)
    return [p - g for p, g in zip(params, grads, strict=True)]


class FedSgd(FedAdam):
    """Flower's FedAdam over one full-batch gradient step per member and round.

    Parameters
    ----------
    eta:
        The server's Adam step size.
    **kwargs:
        FedAdam's other settings (node counts, betas, metric aggregation).
    """

    def __init__(self, *, eta: float = 0.03, tau: float = 1e-8, **kwargs: Any) -> None:
        super().__init__(eta=eta, tau=tau, **kwargs)

    def configure_train(
        self, server_round: int, arrays: Any, config: ConfigRecord, grid: Grid
    ) -> Iterable[Message]:
        """Ask for one gradient step instead of local epochs."""
        config["method"] = "gradient"
        return super().configure_train(server_round, arrays, config, grid)
