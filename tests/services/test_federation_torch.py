"""Federated rounds with members training in torch give the numpy backend's model."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from resonance.services import federation, training
from resonance.services.space import Space
from resonance.training.federated.apps import FederationConfig
from tests.federation_seed import seed_members

if os.environ.get("RESONANCE_TEST_TORCH"):  # .ci/run installs the extra and sets it
    import torch  # noqa: F401
else:
    pytest.importorskip("torch", reason="the optional torch extra is not installed")


def test_fedprox_mlp_in_torch_matches_numpy(lite_space: Space, tmp_path: Path) -> None:
    fed = seed_members(lite_space, tmp_path / "d", ["plant-a", "plant-b"], rows=600)
    probas = []
    for backend in ("numpy", "torch"):
        cfg = FederationConfig(kind="mlp", strategy="fedprox", rounds=2, hidden=8, backend=backend)
        mv = federation.federate(
            lite_space, actor="builder", name=f"fed-{backend}", datasets=fed.refs, config=cfg
        )
        assert mv.details["federated"].get("backend", "numpy") == backend
        fitted = training.load_model(lite_space, mv)
        probas.append(fitted.predict_proba(fitted.prepare(fed.sealed_table).X))
    assert np.allclose(probas[0], probas[1], atol=1e-6)
