"""An API client over a seeded space, and tokens of several organizations."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from resonance.server import create_app
from resonance.services import tokens
from resonance.services.space import Space
from tests.registry_seed import seed


@dataclass
class Api:
    """A test client and a bearer header per organization."""

    client: TestClient
    headers: dict[str, dict[str, str]]

    def get(self, path: str, org: str | None = "operator", **kw: object):  # type: ignore[no-untyped-def]
        return self.client.get(path, headers=self.headers.get(org or "", {}), **kw)  # type: ignore[arg-type]

    def post(self, path: str, org: str | None = "operator", **kw: object):  # type: ignore[no-untyped-def]
        return self.client.post(path, headers=self.headers.get(org or "", {}), **kw)  # type: ignore[arg-type]

    def put(self, path: str, org: str | None = "operator", **kw: object):  # type: ignore[no-untyped-def]
        return self.client.put(path, headers=self.headers.get(org or "", {}), **kw)  # type: ignore[arg-type]


ORGS = ("operator", "plant-a", "plant-b", "builder", "apps", "authority", "evaluator")


@contextmanager
def open_api(space: Space, orgs: Iterable[str], *, console: bool = False) -> Iterator[Api]:
    """A client over ``space`` (API only unless ``console``) with a token per org of ``orgs``."""
    headers = {}
    for org in orgs:
        plain, _ = tokens.create_token(space, actor="operator", organization=org)
        headers[org] = {"Authorization": f"Bearer {plain}"}
    with TestClient(create_app(space.root, console=console)) as client:
        yield Api(client, headers)


@pytest.fixture
def seeded(space: Space) -> Space:
    """A seeded space on each backend (SQLite; PostgreSQL when configured)."""
    seed(space)
    return space


@pytest.fixture
def api(seeded: Space) -> Iterator[Api]:
    with open_api(seeded, ORGS, console=True) as client:
        yield client
