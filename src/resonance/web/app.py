"""Console routes: login with an API token (kept in an HttpOnly cookie), then read-only pages."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from resonance.domain.errors import ResonanceError, Unauthorized
from resonance.domain.orgs import Organization
from resonance.reports.charts import plotly_js
from resonance.services import tokens
from resonance.services.space import Space
from resonance.web import pages, review

HERE = Path(__file__).resolve().parent
COOKIE = "resonance_token"
PREFIX, PLOTLY_URL = pages.PREFIX, pages.PLOTLY_URL

templates = Jinja2Templates(directory=str(HERE / "templates"))


class LoginRequired(Exception):
    """No valid console session: send the browser to the login page."""


def _space(request: Request) -> Space:
    space: Space = request.app.state.space
    return space


def console_org(request: Request) -> Organization:
    """The organization whose token is in the session cookie."""
    token = request.cookies.get(COOKIE)
    if not token:
        raise LoginRequired
    try:
        return tokens.authenticate(_space(request), token)
    except Unauthorized:
        raise LoginRequired from None


Me = Annotated[Organization, Depends(console_org)]
router = APIRouter(prefix=PREFIX, include_in_schema=False)


def page(request: Request, name: str, me: Organization | None, **ctx: Any) -> HTMLResponse:
    """Render a console template with the common context."""
    return templates.TemplateResponse(
        request, name, {"me": me, "prefix": PREFIX, "plotly_url": PLOTLY_URL, **ctx}
    )


@router.get("/login")
def login_form(request: Request, next: str = PREFIX + "/") -> HTMLResponse:
    """The login form: paste an API token."""
    return page(request, "login.html", None, next=next, error=None)


@router.post("/login", response_model=None)
def login(
    request: Request,
    token: Annotated[str, Form(max_length=200)],
    next: Annotated[str, Form(max_length=500)] = PREFIX + "/",
) -> Response:
    """Check the token and open a session."""
    try:
        tokens.authenticate(_space(request), token)
    except ResonanceError as exc:
        failed = page(request, "login.html", None, next=next, error=exc.message)
        failed.status_code = 401
        return failed
    target = next if next.startswith(PREFIX + "/") and "//" not in next else PREFIX + "/"
    resp = RedirectResponse(target, status_code=303)
    resp.set_cookie(COOKIE, token, httponly=True, samesite="strict", path=PREFIX)
    return resp


@router.get("/logout")
def logout() -> RedirectResponse:
    """Close the session."""
    resp = RedirectResponse(PREFIX + "/login", status_code=303)
    resp.delete_cookie(COOKIE, path=PREFIX)
    return resp


@router.get("/assets/plotly.min.js")
def plotly_asset() -> Response:
    """plotly.js from the installed plotly package."""
    return Response(
        plotly_js(),
        media_type="application/javascript",
        headers={"Cache-Control": "public, max-age=86400"},
    )


def _wrap(fn: Any) -> Any:
    def endpoint(request: Request, me: Me) -> HTMLResponse:
        request.state.me = me  # pages that scope what they show (the ledger) read it
        name, ctx = fn(_space(request), request)
        return page(request, name, me, **ctx)

    endpoint.__name__ = fn.__name__
    endpoint.__doc__ = fn.__doc__
    return endpoint


def _wrap_param(fn: Any) -> Any:
    def endpoint(request: Request, me: Me, name: str) -> HTMLResponse:
        request.state.me = me  # pages that scope what they show read it
        template, ctx = fn(_space(request), request, name)
        return page(request, template, me, **ctx)

    endpoint.__name__ = fn.__name__
    return endpoint


async def _login_required(request: Request, _: Exception) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"{PREFIX}/login?{urlencode({'next': target})}", status_code=303)


def _page_errors(
    api_error: Callable[[ResonanceError], Response],
) -> Callable[[Request, Exception], Awaitable[Response]]:
    async def handle(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ResonanceError)
        if not request.url.path.startswith(PREFIX):
            return api_error(exc)
        resp = page(request, "error.html", None, error=exc.to_dict()["error"])
        resp.status_code = api_error(exc).status_code
        return resp

    return handle


def install(app: FastAPI, *, api_error: Callable[[ResonanceError], Response]) -> None:
    """Mount the console on ``app``: pages, static files, plotly.js.

    Parameters
    ----------
    api_error:
        The host API's response to a domain error: outside the console it
        answers as is; a console page shows the error with its status.
    """
    page_router = APIRouter(prefix=PREFIX, include_in_schema=False)
    for path, fn in pages.PAGES:
        page_router.add_api_route(path, _wrap(fn), methods=["GET"], response_class=HTMLResponse)
    for path, fn in pages.PARAM_PAGES:
        page_router.add_api_route(
            path, _wrap_param(fn), methods=["GET"], response_class=HTMLResponse
        )
    holders = review.make_router(  # data holders' pages; its home comes before the overview
        prefix=PREFIX, render=page, console_org=console_org, space_of=_space
    )
    app.include_router(router)
    app.include_router(holders)
    app.include_router(page_router)
    app.mount(f"{PREFIX}/static", StaticFiles(directory=str(HERE / "static")), name="static")
    app.add_exception_handler(LoginRequired, _login_required)
    app.add_exception_handler(ResonanceError, _page_errors(api_error))

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse(PREFIX + "/", status_code=307)
