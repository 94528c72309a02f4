"""Entry point for uvicorn: ``uvicorn --factory resonance.api.server:make``.

The space comes from ``RESONANCE_SPACE`` (``resonance serve`` sets it).
"""

from __future__ import annotations

import os

from fastapi import FastAPI

from resonance.api.app import create_app


def make() -> FastAPI:
    """The app over the space named by ``RESONANCE_SPACE`` (default: the current folder)."""
    return create_app(os.environ.get("RESONANCE_SPACE", "."))
