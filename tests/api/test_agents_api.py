"""/agents over the served app: create, list, show, card, runs and evaluations as jobs, the
kill switch, sealed episode sets, the registry; coded errors."""

from __future__ import annotations

from pathlib import Path

from resonance.services.space import Space
from tests.agent_seed import seed_agent
from tests.api.conftest import open_api, run_queued_job


def test_agents_api(lite_space: Space, tmp_path: Path) -> None:
    seeded = seed_agent(lite_space, tmp_path / "energy", tune=False, episodes=6)
    with open_api(lite_space, ("operator", "builder", "evaluator", "plant-a")) as api:
        assert [a["ref"] for a in api.get("/agents", "builder").json()] == ["kwh-watch@1"]
        body = {
            "name": "kwh-two", "scenario": "energy-alerts", "template": "energy-anomaly",
            "models": [seeded.model], "observes": [seeded.observe], "escalate_after": 0,
        }  # fmt: skip
        made = api.post("/agents", "builder", json=body)
        assert made.status_code == 201 and made.json()["ref"] == "kwh-two@1"
        refused = api.post("/agents", "plant-a", json={**body, "name": "x"})
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "RES-122"
        bad = api.post("/agents", "builder", json={**body, "tools": ["fly"]})
        assert bad.status_code == 422
        job = run_queued_job(
            api, api.post("/agents/kwh-two/runs", "builder", json={"window": 20}), "builder"
        )
        assert job["status"] == "succeeded" and job["result"]["status"] == "finished"
        shown = api.get("/agents/kwh-two", "builder").json()
        assert shown["runs"][0]["result"]["steps"] == 20
        assert api.post("/agents/kwh-two/stop", "builder").json() == {"stopped": []}
        sets = api.get("/agents/episodes", "builder").json()
        assert sets[0]["name"] == "kwh-sealed" and "episodes" in sets[0]
        ev = run_queued_job(
            api,
            api.post("/agents/kwh-two/evaluations", "builder", json={"episodes": "kwh-sealed"}),
            "builder",
        )
        assert ev["result"]["metrics"]["episodes"] == 6
        card = api.get("/agents/kwh-two/card", "builder")
        assert card.status_code == 200 and "Sealed evaluations" in card.text
        new = api.post(
            "/agents/episodes", "evaluator",
            json={"name": "more", "dataset": "energy-eval", "seed": 3, "count": 4, "length": 48},
        )  # fmt: skip
        assert new.status_code == 201 and new.json()["episodes"] == 4
        missing = api.get("/agents/nope", "builder")
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "RES-101"
