"""The action's 20 key industries."""

from __future__ import annotations

from fastapi import APIRouter

from resonance.api.deps import OrgDep
from resonance.api.errors import ERROR_RESPONSES
from resonance.domain.industries import INDUSTRIES

router = APIRouter(prefix="/industries", tags=["industries"], responses=ERROR_RESPONSES)


@router.get("")
def list_industries(_: OrgDep) -> list[dict[str, str]]:
    """Industry ids and names."""
    return [{"id": k, "name": v} for k, v in INDUSTRIES.items()]
