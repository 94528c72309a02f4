"""Console pages of data holders: the review queue (decide rows side by side with the
evidence) and what is done with their data (the holder's home).

:func:`make_router` is called by :func:`resonance.web.app.install` with the console's
page renderer and session dependency, so this module does not import the console app.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from resonance.domain.errors import InvalidInput
from resonance.domain.orgs import Organization, Role
from resonance.domain.review import Decision, ReviewStatus
from resonance.services import my_data as my_data_svc
from resonance.services import review as rv
from resonance.services.space import Space
from resonance.web import pages

Render = Callable[..., HTMLResponse]


def _is_holder(me: Organization) -> bool:
    return Role.DATA_HOLDER in me.roles and Role.OPERATOR not in me.roles


def make_router(
    *,
    prefix: str,
    render: Render,
    console_org: Callable[[Request], Organization],
    space_of: Callable[[Request], Space],
) -> APIRouter:
    """The routes: ``/`` (a holder's home), ``/my-data``, ``/reviews`` (GET and POST).

    Parameters
    ----------
    render:
        ``render(request, template, me, **context)``, the console's page renderer.
    console_org:
        The dependency naming the organization of the console session.
    space_of:
        The space a request runs on.
    """
    router = APIRouter(prefix=prefix, include_in_schema=False)
    session = Depends(console_org)

    @router.get("/", response_class=HTMLResponse)
    def home(request: Request, me: Organization = session) -> HTMLResponse:
        """A data holder's home is what is done with its data; others get the overview."""
        space = space_of(request)
        if _is_holder(me):
            seen = my_data_svc.my_data(space, actor=me.name)
            return render(request, "my_data.html", me, seen=seen)
        name, ctx = pages.home(space, request)
        return render(request, name, me, **ctx)

    @router.get("/my-data", response_class=HTMLResponse)
    def my_data(request: Request, me: Organization = session) -> HTMLResponse:
        """Uses of the holder's data, models built on it and their scores, its value, its
        queue."""
        seen = my_data_svc.my_data(space_of(request), actor=me.name)
        return render(request, "my_data.html", me, seen=seen)

    @router.get("/reviews", response_class=HTMLResponse)
    def reviews(
        request: Request,
        status: str = "open",
        loop: str | None = None,
        done: str | None = None,
        me: Organization = session,
    ) -> HTMLResponse:
        """Items with each row's values beside the evidence, strongest evidence first."""
        space = space_of(request)
        try:
            st = ReviewStatus(status) if status else None
        except ValueError:
            raise InvalidInput(f"unknown status {status!r}") from None
        where = rv.ReviewFilter(status=st, loop=loop or None)
        items = rv.list_items(space, actor=me.name, where=where, limit=500, strongest_first=True)
        views = rv.views(space, actor=me.name, items=items)
        ctx: dict[str, Any] = {
            "views": views,
            "columns": sorted({k for v in views for k in v.row}),
            "status": status,
            "loop": loop or "",
            "counts": rv.counts(space, actor=me.name),
            "done": done,
        }
        return render(request, "reviews.html", me, **ctx)

    @router.post("/reviews", response_model=None)
    def decide(
        request: Request,
        decision: Annotated[Decision, Form()],
        ids: Annotated[list[str], Form(max_length=5000)],
        reason: Annotated[str, Form(max_length=2000)] = "",
        me: Organization = session,
    ) -> Response:
        """Accept or reject the ticked items; accepted fixes make a new dataset version."""
        lines = [rv.DecisionLine(i, decision, reason) for i in ids]
        result = rv.decide_items(space_of(request), actor=me.name, lines=lines)
        note = f"{len(result.decided)} {decision.value}ed" + (
            f"; new version {', '.join(result.versions)}" if result.versions else ""
        )
        return RedirectResponse(f"{prefix}/reviews?done={note}", status_code=303)

    return router
