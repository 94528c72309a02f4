"""One JSON error shape for every failure: ``{"error": {"code", "message", "details"}}``.

Domain errors use ``ResonanceError.to_dict`` and the HTTP status of
``ERROR_CATALOG``; FastAPI's own 404/405/422 and unexpected errors are mapped
onto the same shape with the closest stable code. Database failures arrive as
domain errors already (the store translates them: ``Conflict``,
``StoreUnavailable``), so this adapter knows nothing of SQL.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from resonance.domain.errors import (
    ERROR_CATALOG,
    Conflict,
    FileTooLarge,
    InvalidInput,
    Kind,
    NotFound,
    ResonanceError,
    RoleRequired,
    Unauthorized,
)

log = logging.getLogger("resonance.api")

_HTTP_CODES: dict[int, type[ResonanceError]] = {
    401: Unauthorized,
    403: RoleRequired,
    404: NotFound,
    409: Conflict,
    413: FileTooLarge,
}


class ErrorDetail(BaseModel):
    """The body of an error."""

    code: str
    message: str
    details: dict[str, Any] = {}


class ErrorBody(BaseModel):
    """Every error response: ``{"error": {...}}``."""

    error: ErrorDetail


def _response(status: int, body: dict[str, Any]) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(jsonable_encoder(body), status_code=status, headers=headers)


HTTP_STATUS: dict[Kind, int] = {
    Kind.INVALID: 400,
    Kind.UNAUTHENTICATED: 401,
    Kind.FORBIDDEN: 403,
    Kind.NOT_FOUND: 404,
    Kind.CONFLICT: 409,
    Kind.TOO_LARGE: 413,
    Kind.UNPROCESSABLE: 422,
    Kind.RATE_LIMITED: 429,
    Kind.INTERNAL: 500,
    Kind.UPSTREAM: 502,
    Kind.UNAVAILABLE: 503,
}
"""The HTTP status of each kind of domain error (the domain knows no HTTP)."""


def status_of(code: str) -> int:
    """The HTTP status of the domain error ``code`` (500 for an unknown code)."""
    spec = ERROR_CATALOG.get(code)
    return HTTP_STATUS[spec.kind] if spec else 500


def error_response(exc: ResonanceError) -> JSONResponse:
    """The JSON response of a domain error, with the status of its kind."""
    return _response(status_of(exc.code), exc.to_dict())


async def _domain(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ResonanceError)
    return error_response(exc)


async def _validation(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
        for e in exc.errors()
    ]
    first = errors[0] if errors else {"loc": [], "msg": "invalid request"}
    where = ".".join(str(x) for x in first["loc"])
    err = InvalidInput(f"invalid request: {where}: {first['msg']}", errors=errors)
    return _response(422, err.to_dict())


async def _http(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    cls = _HTTP_CODES.get(exc.status_code)
    code = cls.spec.code if cls else ("RES-000" if exc.status_code >= 500 else "RES-100")
    body = {"error": {"code": code, "message": str(exc.detail), "details": {}}}
    return _response(exc.status_code, body)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    body = {"error": {"code": "RES-000", "message": "internal error", "details": {}}}
    return _response(500, body)


def install(app: FastAPI) -> None:
    """Register the error handlers on ``app``."""
    app.add_exception_handler(ResonanceError, _domain)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(Exception, _unexpected)


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "missing or invalid API token (RES-121)"},
    403: {"model": ErrorBody, "description": "role required or denied by a usage policy"},
    404: {"model": ErrorBody, "description": "not found (RES-101)"},
    422: {"model": ErrorBody, "description": "invalid input (RES-100 and others)"},
}
