"""The tamper-evident ledger."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from resonance.api.deps import OrgDep, SpaceDep
from resonance.api.errors import ERROR_RESPONSES
from resonance.domain import forms
from resonance.services import ledger as svc

router = APIRouter(prefix="/ledger", tags=["ledger"], responses=ERROR_RESPONSES)


@router.get("")
def show(
    space: SpaceDep,
    me: OrgDep,
    after: Annotated[int, Query(ge=0, le=2**62)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    object_id: Annotated[str | None, Query(alias="object", max_length=200)] = None,
    action: Annotated[str | None, Query(max_length=64)] = None,
    actor: Annotated[str | None, Query(max_length=64)] = None,
    newest: bool = False,
) -> list[dict[str, Any]]:
    """Ledger entries in order, filtered: those the caller is a party to.

    The operator and the authority see every entry; any other organization the
    entries it acted in, owns the object of, is granted by or is named in, with
    another member's row lists replaced by their count. ``newest``: the most recent
    ``limit`` entries (still in chain order) rather than the first ones after ``after``.
    ``/ledger/verify`` walks the whole chain for everyone.
    """
    items = svc.visible_entries(
        space,
        viewer=me.name,
        after_seq=after,
        limit=limit,
        object_id=object_id,
        action=action,
        actor=actor,
        newest=newest,
    )
    return [forms.entry(e) for e in items]


@router.get("/verify")
def verify(space: SpaceDep, _: OrgDep) -> dict[str, Any]:
    """Walk the hash chain; ``ok`` is false when it was tampered with."""
    return svc.verify(space).to_dict()
