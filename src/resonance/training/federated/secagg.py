"""Secure aggregation: Flower's SecAgg+ workflow around the same local training.

Flower's SecAgg+ runs on its legacy strategy API, so this module wraps the
member's local training in a ``NumPyClient`` behind ``secaggplus_mod`` and the
coordinator's rounds in ``DefaultWorkflow(fit_workflow=SecAggPlusWorkflow)``.
The coordinator only ever sees the masked sum of the members' (quantized,
weighted) updates; per-member row counts are hidden too, so the ledger records
how many members took part in each round, not who sent what.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from flwr.app import Context, Message, RecordDict
from flwr.client import NumPyClient
from flwr.client.mod import secaggplus_mod
from flwr.clientapp import ClientApp
from flwr.common import (
    FitRes,
    Parameters,
    Scalar,
    ndarrays_to_parameters,
    parameters_to_ndarrays,
)
from flwr.server import LegacyContext, ServerConfig
from flwr.server.client_proxy import ClientProxy
from flwr.server.strategy import FedAvg, FedProx
from flwr.server.workflow import DefaultWorkflow, SecAggPlusWorkflow
from flwr.serverapp import Grid

from resonance.training.federated.apps import (
    SCHEMA,
    FederationConfig,
    Loader,
    MemberData,
    Plan,
    RoundSummary,
    make_client_app,
    params_digest,
)
from resonance.training.federated.models import LocalConfig, local_train

AppCallable = Callable[[Message, Context], Message]


class _MemberClient(NumPyClient):
    def __init__(self, data: Callable[[], MemberData]) -> None:
        self.data = data

    def fit(
        self, parameters: list[np.ndarray], config: dict[str, Scalar]
    ) -> tuple[list[np.ndarray], int, dict[str, Scalar]]:
        d = self.data()
        plan = Plan.from_json(str(config["plan"]))
        X, y = plan.encode(d.table, d.label)
        local = LocalConfig(
            epochs=int(plan.local["epochs"]),
            lr=float(plan.local["lr"]),
            batch_size=int(plan.local["batch_size"]),
            proximal_mu=float(config.get("proximal_mu", 0.0)),
            seed=plan.seed,
            backend=str(config.get("backend", "numpy")),
            regression=plan.regression,
        )
        return local_train(list(parameters), X, y, plan.n_outputs, local), len(y), {}


def make_secure_client(loader: Loader) -> AppCallable:
    """A member's app: schema queries as usual, training behind SecAgg+ masking."""
    plain = make_client_app(loader)
    cache: dict[str, MemberData] = {}

    def data() -> MemberData:
        if "d" not in cache:
            cache["d"] = loader()
        return cache["d"]

    secure = ClientApp(
        client_fn=lambda context: _MemberClient(data).to_client(), mods=[secaggplus_mod]
    )

    def app(msg: Message, context: Context) -> Message:
        if msg.metadata.message_type == SCHEMA:
            return plain(msg, context)
        return secure(msg, context)

    return app


class _RecordingStrategy:
    """Mixin: report each securely aggregated round."""

    on_round: Callable[[RoundSummary], None]

    def aggregate_fit(
        self,
        server_round: int,
        results: list[tuple[ClientProxy, FitRes]],
        failures: list[Any],
    ) -> tuple[Parameters | None, dict[str, Scalar]]:
        params, metrics = super().aggregate_fit(server_round, results, failures)  # type: ignore[misc]
        if params is not None:
            arrays = parameters_to_ndarrays(params)
            summary = RoundSummary(
                server_round, {"secure-aggregate": len(results)}, params_digest(arrays)
            )
            self.on_round(summary)
        return params, metrics


class _SecureFedAvg(_RecordingStrategy, FedAvg):
    pass


class _SecureFedProx(_RecordingStrategy, FedProx):
    pass


def secure_rounds(
    grid: Grid,
    cfg: FederationConfig,
    plan: Plan,
    initial: list[np.ndarray],
    n_members: int,
    on_round: Callable[[RoundSummary], None],
) -> list[np.ndarray]:
    """Run ``cfg.rounds`` SecAgg+ rounds of FedAvg/FedProx; the final parameters."""
    fit_config: dict[str, Scalar] = {
        "plan": plan.to_json(),
        "proximal_mu": cfg.proximal_mu,
        "backend": cfg.backend,
    }
    common: dict[str, Any] = {
        "fraction_evaluate": 0.0,
        "min_fit_clients": n_members,
        "min_available_clients": n_members,
        "initial_parameters": ndarrays_to_parameters(initial),
        "on_fit_config_fn": lambda _round: fit_config,
    }
    strategy = (
        _SecureFedProx(proximal_mu=cfg.proximal_mu, **common)
        if cfg.strategy == "fedprox"
        else _SecureFedAvg(**common)
    )
    strategy.on_round = on_round
    ctx = Context(run_id=1, node_id=0, node_config={}, state=RecordDict(), run_config={})
    legacy = LegacyContext(ctx, config=ServerConfig(num_rounds=cfg.rounds), strategy=strategy)
    workflow = DefaultWorkflow(
        fit_workflow=SecAggPlusWorkflow(
            num_shares=1.0, reconstruction_threshold=1.0, timeout=cfg.timeout
        )
    )
    workflow(grid, legacy)
    return list(legacy.state.array_records["parameters"].to_numpy_ndarrays())
