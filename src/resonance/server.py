"""The served app: the REST API with the web console mounted on it (the composition root).

``uvicorn --factory resonance.server:make`` (what ``resonance serve`` runs). The
API (:mod:`resonance.api`) and the console (:mod:`resonance.web`) never import
each other; they meet only here, and share everything else through the services.
"""

from __future__ import annotations

import os
from pathlib import Path

from fastapi import FastAPI

from resonance.api import errors
from resonance.api.app import create_app as create_api
from resonance.web.app import install as install_console


def create_app(space_path: str | Path, *, console: bool = True) -> FastAPI:
    """The API over the space at ``space_path``, with the web console unless ``console``
    is False."""
    app = create_api(space_path)
    if console:
        install_console(app, api_error=errors.error_response)
    return app


def make() -> FastAPI:
    """The app over the space named by ``RESONANCE_SPACE`` (default: the current folder)."""
    return create_app(os.environ.get("RESONANCE_SPACE", "."))
