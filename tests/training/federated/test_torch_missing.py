"""Without the torch extra, asking for the torch backend is a clear RES-100."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from resonance.domain.errors import InvalidInput
from resonance.training.federated.apps import FederationConfig
from resonance.training.federated.models import LocalConfig, init_params, local_train


def test_torch_backend_without_the_extra_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)  # import torch raises ImportError
    params = init_params("linear", 2, 2, hidden=4, seed=0)
    with pytest.raises(InvalidInput) as info:
        local_train(
            params, np.zeros((4, 2)), np.array([0, 1, 0, 1]), 2, LocalConfig(backend="torch")
        )
    assert info.value.code == "RES-100" and "torch==2.13.0" in info.value.message


def test_an_unknown_backend_is_invalid_input() -> None:
    with pytest.raises(InvalidInput) as info:
        FederationConfig(backend="jax")
    assert info.value.code == "RES-100" and "numpy, torch" in info.value.message
