"""Members' contributions to a model version and the benefit-sharing statement."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.responses import HTMLResponse, PlainTextResponse, Response
from pydantic import BaseModel, Field

from resonance.api.deps import OrgDep, SpaceDep
from resonance.api.errors import ERROR_RESPONSES
from resonance.domain import forms
from resonance.services import valuation

router = APIRouter(prefix="/valuations", tags=["valuations"], responses=ERROR_RESPONSES)

ModelRef = Annotated[str, Path(max_length=80, examples=["steel-fed@1", "steel-fed"])]


class ValueBody(BaseModel):
    """A model version to value on a sealed suite (the options of ``resonance value``)."""

    model: str = Field(max_length=80, examples=["steel-fed@1"])
    suite: str = Field(max_length=63, examples=["steel-sealed"])
    k: int = Field(5, ge=1, le=1000, description="neighbours of the KNN-Shapley utility")
    permutations: int = Field(
        100, ge=1, le=10_000, description="Monte Carlo permutations (more than 8 members)"
    )
    seed: int = Field(0, ge=0, le=2**31 - 1, description="random seed (Monte Carlo)")


@router.post("", status_code=201)
def value(body: ValueBody, space: SpaceDep, me: OrgDep) -> dict[str, Any]:
    """Each member's Shapley value, share, leave-one-out value and KNN-Shapley row total.

    Only the model's builder or the space operator may (RES-122). Retrains on
    coalitions of members in the sandbox (the model's own recipe);
    every value is **higher = more valuable**. Member rows are read under their
    policies (RES-120 when one no longer grants the use), sealed rows under the
    suite owner's; the result goes on the ledger, never rows.
    """
    result = valuation.value_model(
        space,
        actor=me.name,
        model=body.model,
        suite=body.suite,
        k=body.k,
        permutations=body.permutations,
        seed=body.seed,
    )
    return forms.plain(result.to_dict())


@router.get("")
def list_valuations(
    space: SpaceDep,
    _: OrgDep,
    model: Annotated[str | None, Query(max_length=80, examples=["steel-fed@1"])] = None,
) -> list[dict[str, Any]]:
    """Valuations on the ledger, oldest first (of one model version when ``model`` is given)."""
    return [forms.plain(v) for v in valuation.recorded(space, model)]


@router.get("/{ref}")
def show_valuation(ref: ModelRef, space: SpaceDep, _: OrgDep) -> dict[str, Any]:
    """The latest valuation of a model version (``NAME@N``, or the latest of ``NAME``)."""
    return forms.plain(valuation.latest(space, ref))


@router.get(
    "/{ref}/statement",
    response_model=None,
    responses={
        200: {
            "content": {"text/markdown": {}, "text/html": {}},
            "description": "the benefit-sharing statement",
        }
    },
)
def statement(
    ref: ModelRef,
    space: SpaceDep,
    _: OrgDep,
    fmt: Annotated[str, Query(alias="format", pattern="^(md|html)$")] = "md",
) -> Response:
    """The benefit-sharing statement of a model version, from the ledger alone."""
    from resonance.reports.valuation import render_statement

    found = valuation.benefit_statement(space, ref)
    if fmt == "html":
        return HTMLResponse(render_statement(found, "html"))
    text = render_statement(found, "markdown")
    return PlainTextResponse(text, media_type="text/markdown; charset=utf-8")
