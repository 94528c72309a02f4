"""Console pages through the ASGI app (no browser): robust on an empty space."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from resonance.domain.orgs import Role
from resonance.server import create_app
from resonance.services import loop as loops
from resonance.services import orgs, tokens
from resonance.services.space import Space
from tests.loop_seed import request, seed_loop
from tests.web.conftest import console_login

PATHS = [
    "/console/",
    "/console/catalog",
    "/console/policies",
    "/console/ledger",
    "/console/registries",
    "/console/quotas",
    "/console/reports",
    "/console/models",
    "/console/evaluations",
    "/console/loop",
    "/console/contracts",
]


def test_console_pages_work_on_an_empty_space(tmp_path: Path) -> None:
    space = Space.init(tmp_path / "empty")
    orgs.register_organization(
        space, actor=None, name="op", roles=frozenset({Role.OPERATOR}), region="Beijing"
    )
    plain, _ = tokens.create_token(space, actor="op", organization="op")
    with TestClient(create_app(space.root)) as client:
        console_login(client, plain)
        for path in PATHS:
            resp = client.get(path)
            assert resp.status_code == 200, (path, resp.text[:500])
        assert "No datasets yet" in client.get("/console/catalog").text
        assert "Nothing recorded yet" in client.get("/console/loop").text
        assert "No model trained yet" in client.get("/console/models").text
        assert "No evaluation run yet" in client.get("/console/evaluations").text
        assert "No contract negotiated yet" in client.get("/console/contracts").text
        report = client.get("/console/reports/plan?province=Beijing")
        assert report.status_code == 200 and "Implementation plan" in report.text
    space.close()


def test_loop_page_shows_a_real_run_with_charts(lite_space: Space, tmp_path: Path) -> None:
    seeded = seed_loop(lite_space, tmp_path / "data")
    loops.run(lite_space, actor="builder", request=request(seeded, budget=60, iterations=1))
    plain, _ = tokens.create_token(lite_space, actor="builder", organization="builder")
    with TestClient(create_app(lite_space.root)) as client:
        console_login(client, plain)
        page = client.get("/console/loop").text
        assert "Nothing recorded yet" not in page
        for marker in ('id="loop-runs"', 'id="loop-iterations"', "chart-loop-metric", "loop-1"):
            assert marker in page, marker
        assert "chart-loop-slices" in client.get("/console/loop?run=loop-1").text
        missing = client.get("/console/loop?run=nope")
        assert missing.status_code == 404 and "RES-101" in missing.text
