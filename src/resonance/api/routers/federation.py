"""Federated co-training on Flower (embedded mode): every member's rows stay with its ClientApp."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from resonance.api.deps import OrgDep, SpaceDep
from resonance.api.errors import ERROR_RESPONSES
from resonance.api.params import slug
from resonance.api.routers.models import Column
from resonance.domain import forms
from resonance.services import federation
from resonance.services.federation import BACKENDS, KINDS, STRATEGIES, FederationConfig

router = APIRouter(prefix="/federation", tags=["federation"], responses=ERROR_RESPONSES)

MemberRef = Annotated[str, Field(min_length=1, max_length=80)]
Bounded = Annotated[float, Field(allow_inf_nan=False)]


class FederateBody(BaseModel):
    """A federated run over one dataset version per member (distinct owners).

    Field names and defaults are those of ``resonance federate run`` (embedded mode).
    """

    name: str = slug("steel-fed")
    datasets: list[MemberRef] = Field(
        min_length=2, max_length=50, examples=[["steel-plant-a", "steel-plant-b"]]
    )
    strategy: str = Field(
        "fedavg", pattern=f"^({'|'.join(STRATEGIES)})$", description="aggregation strategy"
    )
    model: str = Field("linear", pattern=f"^({'|'.join(KINDS)})$", description="model kind")
    rounds: int = Field(10, ge=1, le=1000, description="aggregation rounds")
    mu: Bounded = Field(0.01, ge=0, le=100, description="FedProx proximal term")
    server_lr: Bounded = Field(
        0.1, gt=0, le=10, description="server-side step (fedadam, fedyogi, fedsgd)"
    )
    hidden: int = Field(32, ge=1, le=1024, description="MLP hidden units")
    epochs: int = Field(2, ge=1, le=100, description="local epochs per round")
    lr: Bounded = Field(0.02, gt=0, le=10, description="local learning rate (Adam)")
    dp_noise: Bounded = Field(0.0, ge=0, le=100, description="DP noise multiplier (0 = off)")
    dp_clip: Bounded = Field(1.0, gt=0, le=1e6, description="clipping norm of member updates")
    secure_aggregation: bool = Field(False, description="Flower SecAgg+: the server sees sums")
    exclude: list[Column] = Field(default_factory=list, max_length=500)
    seed: int = Field(0, ge=0, le=2**31 - 1)
    backend: str = Field(
        "numpy",
        pattern=f"^({'|'.join(BACKENDS)})$",
        description="members' local training: numpy, or torch (the optional extra)",
    )


@router.post("/runs", status_code=201)
def federate(body: FederateBody, space: SpaceDep, me: OrgDep) -> dict[str, Any]:
    """Train the next version of ``name`` by federated averaging, as the acting organization.

    Every member's ClientApp runs in the server's process and reads only its own
    version under its policy (``train-federated``); each round goes on the
    ledger. Needs the model-builder role (RES-122). Returns the model version.
    """
    cfg = FederationConfig(
        kind=body.model,
        strategy=body.strategy,
        rounds=body.rounds,
        proximal_mu=body.mu,
        server_lr=body.server_lr,
        hidden=body.hidden,
        local={"epochs": float(body.epochs), "lr": body.lr, "batch_size": 32.0},
        dp_noise=body.dp_noise,
        dp_clip=body.dp_clip,
        secure_aggregation=body.secure_aggregation,
        seed=body.seed,
        backend=body.backend,
    )
    model = federation.federate(
        space,
        actor=me.name,
        name=body.name,
        datasets=list(body.datasets),
        config=cfg,
        exclude=tuple(body.exclude),
    )
    return forms.plain(model.to_dict())
