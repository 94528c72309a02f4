"""The FastAPI app factory.

Adding a resource is one line: write ``api/routers/<resource>.py`` with a
``router = APIRouter(prefix=..., tags=[...], responses=ERROR_RESPONSES)`` and
append it to :data:`ROUTERS` below.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import APIRouter, FastAPI

import resonance
from resonance.api import errors
from resonance.api.receipts import ReceiptMiddleware
from resonance.api.routers import (
    agents,
    consortia,
    datasets,
    dsp,
    evaluations,
    federation,
    industries,
    jobs,
    ledger,
    loop,
    models,
    national,
    organizations,
    policies,
    quotas,
    registries,
    reports,
    reviews,
    tokens,
    valuation,
)
from resonance.services.space import Space

ROUTERS: list[APIRouter] = [
    organizations.router,
    industries.router,
    consortia.router,
    datasets.router,
    policies.router,
    ledger.router,
    registries.router,
    quotas.router,
    reports.router,
    tokens.router,
    models.router,
    evaluations.router,
    loop.router,
    federation.router,
    valuation.router,
    national.router,
    dsp.router,
    jobs.router,
    reviews.router,
    reviews.mine_router,
    agents.router,
]


def create_app(space_path: str | Path) -> FastAPI:
    """The API over the space at ``space_path`` (:func:`resonance.server.create_app` adds
    the web console).

    The space is opened once; every request runs its own unit of work on it.
    """
    space = Space.open(space_path)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        queue = getattr(app.state, "job_queue", None)
        if queue is not None:
            queue.close()
        space.close()

    app = FastAPI(
        title="Resonance",
        version=resonance.__version__,
        description="Model-Data Resonance Space: catalog, usage policies, ledger, registries, "
        "quotas and reports of the 2026 action. Every endpoint except /health needs "
        "`Authorization: Bearer <token>` (`resonance token create ORG`).",
        lifespan=lifespan,
        # Swagger UI and ReDoc load their assets from a CDN; the space must work offline,
        # so only the spec itself is served.
        docs_url=None,
        redoc_url=None,
    )
    app.state.space = space
    errors.install(app)
    app.add_middleware(ReceiptMiddleware)

    @app.get("/health", tags=["health"])
    async def health() -> dict[str, str]:
        """Liveness: answers without touching the store."""
        return {"status": "ok"}

    for router in ROUTERS:
        app.include_router(router)
    return app
