"""An API client over a seeded space, and tokens of several organizations."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

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


def run_queued_job(api: Api, resp: Any, org: str) -> dict[str, Any]:
    """Check a 202 job answer, run the job here as a worker would, return it as ``org`` sees it.

    (A worker process runs the same :func:`resonance.services.jobs.run`; tests/jobs and
    tests/api/test_jobs_api.py drive real worker processes.)
    """
    from resonance.services import jobs

    assert resp.status_code == 202, resp.json()
    job = resp.json()
    assert resp.headers["location"] == f"/jobs/{job['id']}" and job["status"] == "queued"
    jobs.run(api.client.app.state.space, job["id"])
    done: dict[str, Any] = api.get(f"/jobs/{job['id']}", org).json()
    return done


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
