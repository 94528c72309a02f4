"""Model versions: train on pooled dataset versions (train-pooled policies), list, show, cards."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.responses import Response
from pydantic import Field

from resonance.api.deps import OrgDep, SpaceDep
from resonance.api.errors import ERROR_RESPONSES
from resonance.api.params import Column, TimeSeriesOptions, slug
from resonance.domain import forms
from resonance.domain.modeling import ModelSpec, Task
from resonance.services import model_card as cards
from resonance.services import training

router = APIRouter(prefix="/models", tags=["models"], responses=ERROR_RESPONSES)

ModelRef = Annotated[str, Path(max_length=80, examples=["steel-fm@1", "steel-fm"])]

ParamValue = (
    Annotated[float, Field(allow_inf_nan=False)]
    | int
    | bool
    | Annotated[str, Field(max_length=200)]
)
ParamKey = Annotated[str, Field(max_length=64, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]


class TrainBody(TimeSeriesOptions):
    """What to train: a trainer on dataset versions (each must grant you train-pooled)."""

    name: str = slug("steel-fm")
    trainer: str = Field(max_length=40, examples=["lightgbm"])
    task: Task | None = None  # the datasets' label spec sets it; given, it must match
    datasets: list[Annotated[str, Field(min_length=1, max_length=80)]] = Field(
        min_length=1, max_length=20, examples=[["steel-a@1"]]
    )
    params: dict[ParamKey, ParamValue] = Field(
        default_factory=dict, max_length=30, examples=[{"n_estimators": 50}]
    )
    exclude: list[Column] = Field(default_factory=list, max_length=500)
    features: list[Column] | None = Field(None, max_length=500)
    seed: int = Field(0, ge=0, le=2**31 - 1)
    scenario: str | None = Field(None, max_length=200, examples=["surface-defects"])


@router.get("")
def list_models(
    space: SpaceDep,
    _: OrgDep,
    name: Annotated[str | None, Query(max_length=63, examples=["steel-fm"])] = None,
) -> list[dict[str, Any]]:
    """Model versions by name and number (data hashes, trainer, parameters, holdout metrics)."""
    return [forms.plain(m.to_dict()) for m in training.list_models(space, name=name)]


@router.post("", status_code=201)
def train(body: TrainBody, space: SpaceDep, me: OrgDep) -> dict[str, Any]:
    """Train the next version of ``name`` in the sandbox as the acting organization.

    Needs the model-builder role and a ``train-pooled`` grant on every dataset
    (else RES-122 / RES-120); every read goes to the ledger.
    """
    spec = ModelSpec(
        trainer=body.trainer,
        task=body.task,
        params=dict(body.params),
        feature_columns=tuple(body.features) if body.features else None,
        exclude_columns=tuple(body.exclude),
        time_features=body.time_features(),
    )
    model = training.train_model(
        space,
        actor=me.name,
        name=body.name,
        spec=spec,
        datasets=list(body.datasets),
        seed=body.seed,
        scenario=body.scenario or None,
    )
    return forms.plain(model.to_dict())


@router.get("/{ref}")
def show_model(ref: ModelRef, space: SpaceDep, _: OrgDep) -> dict[str, Any]:
    """One model version (``NAME@N``, or the latest of ``NAME``)."""
    return forms.plain(training.get_model(space, ref).to_dict())


@router.get(
    "/{ref}/card",
    response_class=Response,
    responses={200: {"content": {"text/markdown": {}}, "description": "the model card"}},
)
def model_card(ref: ModelRef, space: SpaceDep, _: OrgDep) -> Response:
    """The model card as Markdown: data hashes, parameters, metrics, evaluations, diagnosis."""
    return Response(cards.model_card(space, ref), media_type="text/markdown; charset=utf-8")
