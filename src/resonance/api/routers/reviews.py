"""The owners' review queue (``/reviews``) and what a holder sees of its data (``/my-data``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from resonance.api.deps import OrgDep, SpaceDep
from resonance.api.errors import ERROR_RESPONSES
from resonance.domain.errors import InvalidInput
from resonance.domain.plain import plain
from resonance.domain.review import Decision, ProposalKind, ReviewStatus
from resonance.services import my_data as my_data_svc
from resonance.services import review as rv

router = APIRouter(prefix="/reviews", tags=["reviews"], responses=ERROR_RESPONSES)
mine_router = APIRouter(prefix="/my-data", tags=["reviews"], responses=ERROR_RESPONSES)

ItemId = Annotated[
    str, Path(max_length=20, pattern=r"^rv-[0-9a-f]{12}$", examples=["rv-0123456789ab"])
]
Name = Annotated[str | None, Query(max_length=63)]


class Filter(BaseModel):
    """Which open items a bulk decision takes (every field optional; ``all`` for every one)."""

    all: bool = False
    owner: str | None = Field(None, max_length=63)
    dataset: str | None = Field(None, max_length=63)
    version: int | None = Field(None, ge=1)
    kind: ProposalKind | None = None
    loop: str | None = Field(None, max_length=63)
    max_given_proba: float | None = Field(None, ge=0, le=1)

    def to_filter(self) -> rv.ReviewFilter | None:
        """The service filter, or None when nothing was chosen."""
        given = self.model_dump(exclude={"all"}, exclude_none=True)
        if not self.all and not given:
            return None
        return rv.ReviewFilter(**given)


class DecisionIn(BaseModel):
    """One decision: accept (optionally with another value) or reject (with a reason)."""

    id: str = Field(max_length=20, pattern=r"^rv-[0-9a-f]{12}$")
    decision: Decision
    reason: str = Field("", max_length=2000)
    value: str | float | int | None = None


class DecideBody(BaseModel):
    """Decisions by id, or one decision for every open item a filter takes."""

    decisions: list[DecisionIn] = Field(default_factory=list, max_length=100_000)
    where: Filter | None = None
    decision: Decision | None = Field(None, description="with ``where``: accept or reject")
    reason: str = Field("", max_length=2000, description="with ``where``")
    apply: bool = Field(True, description="make the new dataset version now")


class DelegateBody(BaseModel):
    """The annotator organization an owner lets review its rows."""

    to: str = Field(max_length=63, examples=["annotator"])
    revoke: bool = False


def _plain(data: Any) -> Any:
    return plain(data)


@router.get("")
def list_items(
    space: SpaceDep,
    me: OrgDep,
    owner: Name = None,
    dataset: Name = None,
    version: Annotated[int | None, Query(ge=1)] = None,
    status: ReviewStatus | None = ReviewStatus.OPEN,
    kind: ProposalKind | None = None,
    loop: Name = None,
    max_given_proba: Annotated[float | None, Query(ge=0, le=1)] = None,
    limit: Annotated[int | None, Query(ge=0, le=100_000)] = None,
    strongest_first: bool = False,
) -> list[dict[str, Any]]:
    """Review items the caller may see: its own, those of owners that delegated reviewing to
    it (all for the operator); open ones unless ``status`` says otherwise. Another owner's
    items are refused (RES-220). ``strongest_first`` sorts by the evidence (most sightings,
    then lowest out-of-fold probability of the current label)."""
    where = rv.ReviewFilter(owner, dataset, version, status, kind, loop, max_given_proba)
    items = rv.list_items(
        space, actor=me.name, where=where, limit=limit, strongest_first=strongest_first
    )
    return [_plain(i.to_dict()) for i in items]


@router.get("/counts")
def counts(space: SpaceDep, me: OrgDep, loop: Name = None) -> dict[str, dict[str, int]]:
    """Items per owner and status (aggregates: what a model builder sees of the queue)."""
    return rv.counts(space, actor=me.name, loop=loop)


@router.get("/{item_id}")
def show(item_id: ItemId, space: SpaceDep, me: OrgDep) -> dict[str, Any]:
    """One item with its row's values beside the evidence (values: owner and delegates only)."""
    return _plain(rv.show(space, actor=me.name, item_id=item_id).to_dict())


@router.post("/decisions")
def decide(body: DecideBody, space: SpaceDep, me: OrgDep) -> dict[str, Any]:
    """Accept or reject items (owner or delegated reviewer only, RES-220; a closed item is
    RES-221). Accepted fixes make a new version of the owner's dataset unless ``apply`` is
    false. All decisions commit together or none does."""
    where = body.where.to_filter() if body.where else None
    if body.decisions and where is not None:
        raise InvalidInput("give decisions by id or a filter, not both")
    if where is not None:
        if body.decision is None:
            raise InvalidInput("a filter needs a decision (accept or reject)")
        result = rv.decide_where(
            space,
            actor=me.name,
            where=where,
            decision=body.decision,
            reason=body.reason,
            apply_now=body.apply,
        )
    else:
        lines = [rv.DecisionLine(d.id, d.decision, d.reason, d.value) for d in body.decisions]
        result = rv.decide_items(space, actor=me.name, lines=lines, apply_now=body.apply)
    return _plain(result.to_dict())


@router.post("/apply/{dataset}")
def apply(
    dataset: Annotated[str, Path(max_length=63)], space: SpaceDep, me: OrgDep
) -> dict[str, str | None]:
    """Make the new version of ``dataset`` from accepted items not applied yet."""
    made = rv.apply(space, actor=me.name, dataset=dataset)
    return {"version": made.ref if made else None}


@router.post("/delegations")
def delegate(body: DelegateBody, space: SpaceDep, me: OrgDep) -> dict[str, Any]:
    """Let an annotator organization see and decide the caller's items (or take it back)."""
    if body.revoke:
        return {"revoked": rv.undelegate(space, actor=me.name, to=body.to)}
    d = rv.delegate(space, actor=me.name, to=body.to)
    return {"owner": d.owner, "delegate": d.delegate, "granted_at": d.granted_at}


@router.get("/delegations/mine")
def delegations(space: SpaceDep, me: OrgDep) -> list[dict[str, str]]:
    """Delegations the caller gave or received."""
    return [d.__dict__ for d in rv.delegations(space, actor=me.name)]


@mine_router.get("")
def my_data(
    space: SpaceDep,
    me: OrgDep,
    owner: Name = None,
    uses: Annotated[int, Query(ge=0, le=10_000)] = 200,
) -> dict[str, Any]:
    """What is done with the caller's data: every use (who, purpose, what for, when), the
    models built on it and their scores, its contribution values, its review queue.
    Only the operator may name another ``owner`` (RES-122)."""
    return _plain(my_data_svc.my_data(space, actor=me.name, owner=owner, uses=uses).to_dict())
