"""The national view: a space's signed bundle, and the merge of bundles from many spaces."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, PlainTextResponse, Response

from resonance.api.deps import OrgDep, SpaceDep
from resonance.api.errors import ERROR_RESPONSES
from resonance.domain import forms
from resonance.reports.national import render_national
from resonance.services import national as svc

router = APIRouter(prefix="/national", tags=["national"], responses=ERROR_RESPONSES)


@router.get("/export")
def export(space: SpaceDep, me: OrgDep) -> dict[str, Any]:
    """This space's bundle, signed by its key (the space's operator)."""
    return svc.export_bundle(space, actor=me.name)


@router.post("/bundles", status_code=201)
def import_bundle(body: dict[str, Any], space: SpaceDep, me: OrgDep) -> dict[str, Any]:
    """Verify and import a space's bundle (operators and authorities); RES-194 when it is
    unsigned, tampered with or signed by another key than before."""
    b = svc.import_bundle(space, actor=me.name, document=body)
    return forms.bundle(b)


@router.get("", response_model=None)
def show(
    space: SpaceDep,
    _: OrgDep,
    fmt: Annotated[str, Query(alias="format", pattern="^(json|md|html)$")] = "json",
) -> dict[str, Any] | Response:
    """The merged national lists and overview of every imported space."""
    view = svc.national_view(space)
    if fmt == "md":
        return PlainTextResponse(render_national(view, "md"), media_type="text/markdown")
    if fmt == "html":
        return HTMLResponse(render_national(view, "html"))
    return view.to_dict()
