"""Entry point for uvicorn serving the API alone: ``uvicorn --factory resonance.api.server:make``.

The space comes from ``RESONANCE_SPACE``. ``resonance serve`` runs
:func:`resonance.server.make` instead (the API with the web console).
"""

from __future__ import annotations

import os

from fastapi import FastAPI

from resonance.api.app import create_app


def make() -> FastAPI:
    """The API over the space named by ``RESONANCE_SPACE`` (default: the current folder)."""
    return create_app(os.environ.get("RESONANCE_SPACE", "."))
