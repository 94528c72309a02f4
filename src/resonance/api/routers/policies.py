"""Usage policies of datasets."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from resonance.api.deps import OrgDep, SpaceDep
from resonance.api.errors import ERROR_RESPONSES
from resonance.api.params import DatasetName
from resonance.domain.policies import Purpose, parse_grant
from resonance.services import policies as svc

router = APIRouter(prefix="/policies", tags=["policies"], responses=ERROR_RESPONSES)


class PolicyBody(BaseModel):
    """A dataset's new policy; grants as ``ORG:PURPOSE[,PURPOSE][:YYYY-MM-DD]``."""

    grants: list[str] = Field(default_factory=list, max_length=500)
    allow_auto_drop: bool = False


@router.get("/{dataset}")
def get_policy(dataset: DatasetName, space: SpaceDep, _: OrgDep) -> dict[str, Any]:
    """The current policy (``policy`` is null when none was set: owner-only)."""
    policy = svc.get_policy(space, dataset)
    return {"dataset": dataset, "policy": policy.to_dict() if policy else None}


@router.get("/{dataset}/history")
def policy_history(dataset: DatasetName, space: SpaceDep, _: OrgDep) -> list[dict[str, Any]]:
    """Every policy the dataset has had, oldest first."""
    return [p.to_dict() for p in svc.policy_history(space, dataset)]


@router.put("/{dataset}")
def set_policy(
    dataset: DatasetName, body: PolicyBody, space: SpaceDep, me: OrgDep
) -> dict[str, Any]:
    """Replace the policy (the dataset's owner only)."""
    policy = svc.set_policy(
        space,
        actor=me.name,
        dataset=dataset,
        grants=[parse_grant(g) for g in body.grants],
        allow_auto_drop=body.allow_auto_drop,
    )
    return policy.to_dict()


@router.get("/{dataset}/check")
def check(
    dataset: DatasetName,
    organization: Annotated[str, Query(max_length=63, examples=["builder"])],
    purpose: Purpose,
    space: SpaceDep,
    _: OrgDep,
) -> dict[str, Any]:
    """What the rule chain would decide (nothing is read or recorded)."""
    d = svc.check(space, organization=organization, dataset=dataset, purpose=purpose)
    return {"effect": d.effect.value, "rule": d.rule, "reason": d.reason}
