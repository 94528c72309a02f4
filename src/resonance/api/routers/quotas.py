"""Quota checks against the action's numbers."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from resonance.api.deps import OrgDep, SpaceDep
from resonance.api.errors import ERROR_RESPONSES
from resonance.api.params import Enterprise, Industry, Province, Scenario
from resonance.services import registry as svc

router = APIRouter(prefix="/quotas", tags=["quotas"], responses=ERROR_RESPONSES)

_Name = Annotated[str | None, Query(max_length=100)]


@router.get("")
def check(
    space: SpaceDep,
    _: OrgDep,
    province: Province = None,
    enterprise: Enterprise = None,
    industry: Industry = None,
    scenario: Scenario = None,
) -> dict[str, Any]:
    """Check exactly one subject: what is met and what is missing."""
    report = svc.quota_check(
        space, province=province, enterprise=enterprise, industry=industry, scenario=scenario
    )
    return report.to_dict()
