"""/jobs over HTTP: 202 + job id, a real worker process runs it; visibility, limits, cancel."""

from __future__ import annotations

import time
from pathlib import Path

from resonance.services import jobs
from resonance.services.space import Space
from tests.api.conftest import open_api
from tests.jobs.conftest import StartWorker, start_worker  # noqa: F401
from tests.model_seed import seed

ORGS = ("operator", "builder", "plant-b")


def test_a_training_job_over_http_runs_on_a_worker(
    lite_space: Space,
    tmp_path: Path,
    start_worker: StartWorker,  # noqa: F811
) -> None:
    seeded = seed(lite_space, tmp_path / "data")
    body = {"name": "steel-m", "trainer": "lightgbm", "datasets": [seeded.train],
            "params": {"n_estimators": 10}}  # fmt: skip
    with open_api(lite_space, ORGS) as api:
        r = api.post("/jobs/train", "builder", json=body)
        assert r.status_code == 202, r.text
        job = r.json()
        assert r.headers["location"] == f"/jobs/{job['id']}"
        assert job["status"] == "queued" and job["organization"] == "builder"
        assert api.get(f"/jobs/{job['id']}", "plant-b").status_code == 404
        assert api.get(f"/jobs/{job['id']}", "operator").status_code == 200
        assert api.get("/jobs", "plant-b").json() == []
        start_worker(lite_space.root, workers=1)
        deadline = time.monotonic() + 180
        while (got := api.get(f"/jobs/{job['id']}", "builder").json())["status"] in (
            "queued",
            "running",
        ):
            assert time.monotonic() < deadline
            time.sleep(0.2)
        assert got["status"] == "succeeded" and got["result"] == {"model": "steel-m@1"}
        assert got["progress"] == 1.0 and got["logs"]
        assert api.get("/models/steel-m@1", "builder").json()["created_by"] == "builder"
        assert [j["id"] for j in api.get("/jobs", "builder").json()] == [job["id"]]


def test_limits_cancel_and_errors(space: Space) -> None:
    jobs.set_job_limit(space, actor="operator", organization="builder", limit=1)
    body = {"name": "m", "trainer": "lightgbm", "datasets": ["nothing"]}
    with open_api(space, ORGS) as api:
        first = api.post("/jobs/train", "builder", json=body).json()
        over = api.post("/jobs/train", "builder", json=body)
        assert over.status_code == 429 and over.json()["error"]["code"] == "RES-200"
        assert api.post(f"/jobs/{first['id']}/cancel", "plant-b").status_code == 404
        r = api.post(f"/jobs/{first['id']}/cancel", "builder")
        assert r.status_code == 200 and r.json()["status"] == "cancelled"
        again = api.post(f"/jobs/{first['id']}/cancel", "builder")
        assert again.status_code == 409 and again.json()["error"]["code"] == "RES-201"
        bad = api.post("/jobs/train", "builder", json={**body, "seed": -1})
        assert bad.status_code == 422 and bad.json()["error"]["code"] == "RES-100"
        assert api.post("/jobs/report", "builder", json={"report": "nope"}).status_code == 422
        assert api.get("/jobs/unknown", "builder").status_code == 404
        assert api.get("/jobs?status=cancelled", "operator").json()[0]["id"] == first["id"]
