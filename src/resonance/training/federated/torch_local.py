"""Local training of the exchanged models with PyTorch (the optional ``torch`` extra).

The same models, objective and optimizer as :func:`resonance.training.federated.models.local_train`
(softmax-linear or one-hidden-layer ReLU MLP; mean cross-entropy, L2 on the weight
matrices, FedProx's ``mu/2 * ||w - w_global||^2``; Adam with the same constants and the
same mini-batch order), computed by torch's autograd in float64. Parameters come in and
go out as numpy arrays, so Flower exchanges the same arrays whatever the backend.
Install with ``pip install torch==2.13.0`` (the local CPU wheel) then ``pip install -e ".[torch]"``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from resonance.domain.errors import InvalidInput
from resonance.training.federated.models import target_matrix

if TYPE_CHECKING:
    from resonance.training.federated.models import LocalConfig


def _torch() -> Any:
    try:
        import torch
    except ImportError as exc:  # the extra is not installed
        raise InvalidInput(
            "the torch backend needs the optional extra: pip install torch==2.13.0, "
            'then pip install -e ".[torch]"',
            backend="torch",
        ) from exc
    return torch


def _loss(torch: Any, w: list[Any], X: Any, Y: Any, l2: float, regression: bool = False) -> Any:
    if len(w) == 2:
        logits = X @ w[0] + w[1]
        weights = [w[0]]
    else:
        logits = torch.relu(X @ w[0] + w[1]) @ w[2] + w[3]
        weights = [w[0], w[2]]
    if regression:  # half the mean squared error of the linear output
        fit = 0.5 * ((logits - Y) ** 2).sum(dim=1).mean()
    else:
        fit = -(Y * torch.log_softmax(logits, dim=1)).sum(dim=1).mean()
    return fit + 0.5 * l2 * sum((p * p).sum() for p in weights)


def local_train_torch(
    params: list[np.ndarray], X: np.ndarray, y: np.ndarray, n_classes: int, cfg: LocalConfig
) -> list[np.ndarray]:
    """Adam on the cross-entropy, or half the mean squared error (``cfg.regression``),
    (+ FedProx proximal term) starting from ``params``, in torch.

    Raises
    ------
    InvalidInput
        When torch is not installed (RES-100, saying how to install the extra).
    """
    torch = _torch()
    w = [torch.tensor(p, dtype=torch.float64, requires_grad=True) for p in params]
    start = [torch.tensor(p, dtype=torch.float64) for p in params]
    Xt = torch.tensor(np.asarray(X, dtype=np.float64))
    Yt = torch.tensor(target_matrix(y, n_classes, regression=cfg.regression))
    opt = torch.optim.Adam(w, lr=cfg.lr, betas=(0.9, 0.999), eps=1e-8)
    rng = np.random.default_rng(cfg.seed)
    for _ in range(cfg.epochs):
        order = rng.permutation(len(X))
        for s in range(0, len(X), cfg.batch_size):
            idx = torch.from_numpy(order[s : s + cfg.batch_size])
            opt.zero_grad()
            loss = _loss(torch, w, Xt[idx], Yt[idx], cfg.l2, cfg.regression)
            if cfg.proximal_mu:
                loss = loss + 0.5 * cfg.proximal_mu * sum(
                    ((a - b) ** 2).sum() for a, b in zip(w, start, strict=True)
                )
            loss.backward()
            opt.step()
    return [p.detach().numpy().copy() for p in w]
