"""Console pages of data holders: the review queue (decide rows side by side with the
evidence) and what is done with their data (the holder's home)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from resonance.domain.errors import InvalidInput
from resonance.domain.orgs import Role
from resonance.domain.review import Decision, ReviewStatus
from resonance.services import my_data as my_data_svc
from resonance.services import review as rv
from resonance.web import pages
from resonance.web.app import PREFIX, Me, _space, page

router = APIRouter(prefix=PREFIX, include_in_schema=False)


def _is_holder(me: Me) -> bool:
    return Role.DATA_HOLDER in me.roles and Role.OPERATOR not in me.roles


@router.get("/", response_class=HTMLResponse)
def home(request: Request, me: Me) -> HTMLResponse:
    """A data holder's home is what is done with its data; everyone else gets the overview."""
    space = _space(request)
    if _is_holder(me):
        return page(request, "my_data.html", me, seen=my_data_svc.my_data(space, actor=me.name))
    name, ctx = pages.home(space, request)
    return page(request, name, me, **ctx)


@router.get("/my-data", response_class=HTMLResponse)
def my_data(request: Request, me: Me) -> HTMLResponse:
    """Uses of the holder's data, models built on it and their scores, its value, its queue."""
    seen = my_data_svc.my_data(_space(request), actor=me.name)
    return page(request, "my_data.html", me, seen=seen)


@router.get("/reviews", response_class=HTMLResponse)
def reviews(
    request: Request,
    me: Me,
    status: str = "open",
    loop: str | None = None,
    done: str | None = None,
) -> HTMLResponse:
    """Open items with each row's values beside the evidence; accept or reject them."""
    space = _space(request)
    try:
        st = ReviewStatus(status) if status else None
    except ValueError:
        raise InvalidInput(f"unknown status {status!r}") from None
    where = rv.ReviewFilter(status=st, loop=loop or None)
    items = rv.list_items(space, actor=me.name, where=where, limit=500, strongest_first=True)
    views = rv.views(space, actor=me.name, items=items)
    columns = sorted({k for v in views for k in v.row})
    return page(
        request,
        "reviews.html",
        me,
        views=views,
        columns=columns,
        status=status,
        loop=loop or "",
        counts=rv.counts(space, actor=me.name),
        done=done,
    )


@router.post("/reviews", response_model=None)
def decide(
    request: Request,
    me: Me,
    decision: Annotated[Decision, Form()],
    ids: Annotated[list[str], Form(max_length=5000)],
    reason: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Accept or reject the ticked items; accepted fixes make a new dataset version."""
    lines = [rv.DecisionLine(i, decision, reason) for i in ids]
    result = rv.decide_items(_space(request), actor=me.name, lines=lines)
    note = f"{len(result.decided)} {decision.value}ed" + (
        f"; new version {', '.join(result.versions)}" if result.versions else ""
    )
    return RedirectResponse(f"{PREFIX}/reviews?done={note}", status_code=303)
