"""Console plumbing: sessions, CSRF, security headers, templates, error pages.

Login exchanges an API token for a server-side session: the browser's cookie
holds only a random session id (HttpOnly, SameSite=Lax, ``Secure`` over HTTPS);
the store keeps its hash. Every form carries a CSRF token (login: a
double-submit cookie; afterwards: the session's token) and is refused from
another origin. Pages send a CSP without inline scripts and ``X-Frame-Options:
DENY``. One Jinja environment, autoescaping every template (the report
templates of :mod:`resonance.reports` included).
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode, urlsplit

from fastapi import APIRouter, Depends, FastAPI, Form, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, PackageLoader

from resonance.domain.errors import (
    CsrfRejected,
    InvalidInput,
    ResonanceError,
    Unauthorized,
)
from resonance.domain.orgs import Organization
from resonance.domain.sessions import same_secret
from resonance.reports.charts import plotly_js
from resonance.services import console_sessions
from resonance.services.console_sessions import OpenSession
from resonance.services.space import Space
from resonance.web import pages, review
from resonance.web.shared import PLOTLY_URL, PREFIX

HERE = Path(__file__).resolve().parent
COOKIE = "resonance_session"
LOGIN_COOKIE = "resonance_login_csrf"

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        # plotly.js sets inline styles on the SVG it draws
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}

environment = Environment(
    loader=ChoiceLoader(
        [
            FileSystemLoader(str(HERE / "templates")),
            PackageLoader("resonance.reports", "templates"),
        ]
    ),
    autoescape=True,
)
templates = Jinja2Templates(env=environment)


class LoginRequired(Exception):
    """No valid console session: send the browser to the login page."""


def _space(request: Request) -> Space:
    space: Space = request.app.state.space
    return space


def console_session(request: Request) -> OpenSession:
    """The session named by the cookie (cached on the request), else ``LoginRequired``."""
    cached: OpenSession | None = getattr(request.state, "session", None)
    if cached is not None:
        return cached
    sid = request.cookies.get(COOKIE)
    if not sid:
        raise LoginRequired
    try:
        session = console_sessions.resume_session(_space(request), sid)
    except Unauthorized:
        raise LoginRequired from None
    request.state.session = session
    return session


def console_org(request: Request) -> Organization:
    """The organization of the console session."""
    return console_session(request).organization


def _same_origin(request: Request) -> bool:
    """True unless an Origin (or, lacking it, a Referer) names another host.

    Hosts are compared without the scheme, so a console behind a TLS-terminating proxy
    still accepts its own forms; an opaque origin (``null``) is refused.
    """
    source = request.headers.get("origin") or request.headers.get("referer")
    if source == "null":
        return False
    if not source:
        return True
    return urlsplit(source).netloc == request.url.netloc


async def checked(request: Request) -> OpenSession:
    """A form post of a logged-in session: same origin and the session's CSRF token."""
    session = console_session(request)
    form = await request.form()
    token = form.get("csrf")
    if not _same_origin(request) or not same_secret(
        session.csrf, token if isinstance(token, str) else None
    ):
        raise CsrfRejected("the form's CSRF token is missing or wrong; reload the page")
    return session


async def checked_org(request: Request) -> Organization:
    """The organization of a form post that passed :func:`checked`."""
    return (await checked(request)).organization


Me = Annotated[Organization, Depends(console_org)]
Posted = Annotated[OpenSession, Depends(checked)]
router = APIRouter(prefix=PREFIX, include_in_schema=False)


def page(request: Request, name: str, me: Organization | None, **ctx: Any) -> HTMLResponse:
    """Render a console template with the common context (session's CSRF token included)."""
    session: OpenSession | None = getattr(request.state, "session", None)
    return templates.TemplateResponse(
        request,
        name,
        {
            "me": me,
            "roles": {r.value for r in me.roles} if me else set(),
            "prefix": PREFIX,
            "plotly_url": PLOTLY_URL,
            "csrf": session.csrf if session else "",
            **ctx,
        },
    )


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


@router.get("/login")
def login_form(request: Request, next: str = PREFIX + "/") -> HTMLResponse:
    """The login form: paste an API token (a fresh double-submit CSRF token with it)."""
    token = secrets.token_urlsafe(24)
    resp = page(request, "login.html", None, next=next, error=None, login_csrf=token)
    resp.set_cookie(
        LOGIN_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=_secure(request),
        path=PREFIX,
        max_age=3600,
    )
    return resp


@router.post("/login", response_model=None)
def login(
    request: Request,
    token: Annotated[str, Form(max_length=200)] = "",
    csrf: Annotated[str, Form(max_length=200)] = "",
    next: Annotated[str, Form(max_length=500)] = PREFIX + "/",
) -> Response:
    """Check the CSRF token and the API token, then open a server-side session."""
    if not _same_origin(request) or not same_secret(request.cookies.get(LOGIN_COOKIE, ""), csrf):
        raise CsrfRejected("the login form expired or came from another site; reload it")
    try:
        sid, _ = console_sessions.open_session(_space(request), token)
    except ResonanceError as exc:
        fresh = secrets.token_urlsafe(24)
        failed = page(request, "login.html", None, next=next, error=exc.message, login_csrf=fresh)
        failed.set_cookie(
            LOGIN_COOKIE, fresh, httponly=True, samesite="strict", secure=_secure(request),
            path=PREFIX, max_age=3600,
        )  # fmt: skip
        failed.status_code = 401
        return failed
    target = next if next.startswith(PREFIX + "/") and "//" not in next else PREFIX + "/"
    resp = RedirectResponse(target, status_code=303)
    resp.set_cookie(
        COOKIE, sid, httponly=True, samesite="lax", secure=_secure(request), path=PREFIX
    )
    resp.delete_cookie(LOGIN_COOKIE, path=PREFIX)
    return resp


@router.post("/logout")
def logout(request: Request, _: Posted) -> RedirectResponse:
    """Close the session (POST with the session's CSRF token; GET is not allowed)."""
    console_sessions.close_session(_space(request), request.cookies.get(COOKIE, ""))
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
        name, ctx = fn(_space(request), request, me)
        return page(request, name, me, **ctx)

    endpoint.__name__ = fn.__name__
    endpoint.__doc__ = fn.__doc__
    return endpoint


def _wrap_param(fn: Any) -> Any:
    def endpoint(request: Request, me: Me, name: str) -> HTMLResponse:
        template, ctx = fn(_space(request), request, me, name)
        return page(request, template, me, **ctx)

    endpoint.__name__ = fn.__name__
    endpoint.__doc__ = fn.__doc__
    return endpoint


async def _login_required(request: Request, _: Exception) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"{PREFIX}/login?{urlencode({'next': target})}", status_code=303)


Handler = Callable[[Request, Exception], Awaitable[Response] | Response]


def _error_page(request: Request, exc: ResonanceError) -> HTMLResponse:
    me = None
    session = getattr(request.state, "session", None)
    if session is not None:
        me = session.organization
    resp = page(request, "error.html", me, error=exc.to_dict()["error"])
    # the status the host API gives this error (the console and the API are peers)
    resp.status_code = request.app.state.api_error(exc).status_code
    return resp


def _console_first(fallback: Handler | None, convert: Callable[[Exception], ResonanceError]) -> Any:
    """A handler that renders console errors as pages and leaves the rest to ``fallback``."""

    async def handle(request: Request, exc: Exception) -> Response:
        if request.url.path.startswith(PREFIX) or fallback is None:
            return _error_page(request, convert(exc))
        result = fallback(request, exc)
        return await result if isinstance(result, Awaitable) else result

    return handle


def _as_domain(exc: Exception) -> ResonanceError:
    assert isinstance(exc, ResonanceError)
    return exc


def _invalid_form(exc: Exception) -> ResonanceError:
    assert isinstance(exc, RequestValidationError)
    first = exc.errors()[0] if exc.errors() else {}
    where = ".".join(str(x) for x in first.get("loc", ()) if x != "body")
    return InvalidInput(f"invalid form field {where}: {first.get('msg', 'invalid')}")


def install(app: FastAPI, *, api_error: Callable[[ResonanceError], Response]) -> None:
    """Mount the console on ``app``: pages, forms, static files, plotly.js, headers.

    Parameters
    ----------
    api_error:
        The host API's response to a domain error: outside the console it
        answers as is; a console page shows the error with its status.
    """
    from resonance.web import actions, actions_registry  # they import this module

    app.state.api_error = api_error  # console error pages take the status the API gives

    page_router = APIRouter(prefix=PREFIX, include_in_schema=False)
    for path, fn in pages.PAGES:
        page_router.add_api_route(path, _wrap(fn), methods=["GET"], response_class=HTMLResponse)
    for path, fn in pages.PARAM_PAGES:
        page_router.add_api_route(
            path, _wrap_param(fn), methods=["GET"], response_class=HTMLResponse
        )
    holders = review.make_router(  # data holders' pages; its home comes before the overview
        prefix=PREFIX,
        render=page,
        console_org=console_org,
        form_org=checked_org,
        space_of=_space,
    )
    app.include_router(router)
    app.include_router(holders)
    app.include_router(actions.router)
    app.include_router(actions_registry.router)
    app.include_router(page_router)
    app.mount(f"{PREFIX}/static", StaticFiles(directory=str(HERE / "static")), name="static")
    app.add_exception_handler(LoginRequired, _login_required)
    app.add_exception_handler(
        ResonanceError, _console_first(lambda _, exc: api_error(_as_domain(exc)), _as_domain)
    )
    app.add_exception_handler(
        RequestValidationError,
        _console_first(app.exception_handlers.get(RequestValidationError), _invalid_form),
    )

    @app.middleware("http")
    async def security_headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        path = request.url.path
        if path == "/" or path == PREFIX or path.startswith(PREFIX + "/"):
            for key, value in SECURITY_HEADERS.items():
                response.headers.setdefault(key, value)
            if path != PLOTLY_URL and not path.startswith(PREFIX + "/static/"):
                response.headers.setdefault("Cache-Control", "no-store")
        return response

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse(PREFIX + "/", status_code=307)
