"""An API client over a seeded space, and tokens of several organizations."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from resonance.api.app import create_app
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


@pytest.fixture
def seeded(space: Space) -> Space:
    """A seeded space on each backend (SQLite; PostgreSQL when configured)."""
    seed(space)
    return space


@pytest.fixture
def api(seeded: Space) -> Iterator[Api]:
    headers = {}
    for org in ORGS:
        plain, _ = tokens.create_token(seeded, actor="operator", organization=org)
        headers[org] = {"Authorization": f"Bearer {plain}"}
    app = create_app(seeded.root)
    with TestClient(app) as client:
        yield Api(client, headers)
