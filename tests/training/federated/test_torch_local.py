"""The torch backend of local training takes the same steps as the numpy one."""

from __future__ import annotations

import os

import numpy as np
import pytest

from resonance.training.federated.models import LocalConfig, init_params, local_train

if os.environ.get("RESONANCE_TEST_TORCH"):  # .ci/run installs the extra and sets it
    import torch  # noqa: F401  (fails here, not skips, when the extra is missing)
else:
    pytest.importorskip("torch", reason="the optional torch extra is not installed")


@pytest.mark.parametrize(("kind", "mu"), [("linear", 0.0), ("mlp", 0.0), ("mlp", 0.5)])
def test_torch_and_numpy_local_training_agree(kind: str, mu: float) -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 6))
    y = (X[:, 0] + X[:, 1] > 0).astype(int) + (X[:, 2] > 1).astype(int)
    start = init_params(kind, 6, 3, hidden=8, seed=1)
    start = [p + 0.01 * rng.normal(size=p.shape) for p in start]
    cfg = LocalConfig(epochs=3, lr=0.05, batch_size=32, l2=1e-3, proximal_mu=mu, seed=2)
    ours = local_train(start, X, y, 3, cfg)
    theirs = local_train(start, X, y, 3, LocalConfig(**{**cfg.__dict__, "backend": "torch"}))
    assert [p.shape for p in theirs] == [p.shape for p in start]
    for a, b in zip(ours, theirs, strict=True):
        assert np.allclose(a, b, atol=1e-7), np.abs(a - b).max()
    assert not np.allclose(ours[0], start[0])  # it did train


@pytest.mark.parametrize(("kind", "mu"), [("linear", 0.0), ("mlp", 0.5)])
def test_torch_and_numpy_agree_on_the_squared_error(kind: str, mu: float) -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 6))
    y = X[:, 0] * 2 - X[:, 1] + 0.1 * rng.normal(size=300)
    start = init_params(kind, 6, 1, hidden=8, seed=1)
    cfg = LocalConfig(epochs=3, lr=0.05, batch_size=32, l2=1e-3, proximal_mu=mu, seed=2)
    cfg.regression = True
    ours = local_train(start, X, y, 1, cfg)
    theirs = local_train(start, X, y, 1, LocalConfig(**{**cfg.__dict__, "backend": "torch"}))
    for a, b in zip(ours, theirs, strict=True):
        assert np.allclose(a, b, atol=1e-7), np.abs(a - b).max()
    assert not np.allclose(ours[0], start[0])
