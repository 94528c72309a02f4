"""The resonance loop over the REST API: run, list, show and report, as ``resonance loop``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from resonance.services.space import Space
from tests.api.conftest import Api, open_api, run_queued_job
from tests.api.test_api import assert_error
from tests.loop_seed import SPEC, LoopSeed, seed_loop


@pytest.fixture
def looped(lite_space: Space, tmp_path: Path) -> Iterator[tuple[Api, LoopSeed]]:
    """Three plants' steel shares and reserve pools granted to ``builder``, a sealed suite."""
    seeded = seed_loop(lite_space, tmp_path / "data")
    with open_api(lite_space, ("operator", "plant-a", "builder")) as api:
        yield api, seeded


def _body(seeded: LoopSeed, **over: Any) -> dict[str, Any]:
    return {
        "name": "api-loop",
        "datasets": seeded.datasets,
        "reserves": seeded.reserves,
        "budget": 40,
        "suite": seeded.suite,
        "iterations": 1,
        "params": SPEC.params,
        **over,
    }


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "/loop/runs"),
        ("get", "/loop/runs"),
        ("get", "/loop/runs/x"),
        ("get", "/loop/runs/x/report"),
    ],
)
def test_loop_needs_a_token(lite_space: Space, method: str, path: str) -> None:
    with open_api(lite_space, ()) as api:
        assert_error(getattr(api, method)(path, org=None), "RES-121")


def test_builder_runs_the_loop_and_reads_its_report(looped: tuple[Api, LoopSeed]) -> None:
    api, seeded = looped
    # a data holder is no model builder; bad bodies fail before any training
    assert_error(api.post("/loop/runs", org="plant-a", json=_body(seeded)), "RES-122")
    assert_error(api.post("/loop/runs", org="builder", json=_body(seeded, iterations=0)), "RES-100")
    for name in ("Bad!", "x" * 59):
        resp = api.post("/loop/runs", org="builder", json=_body(seeded, name=name))
        assert_error(resp, "RES-100")
    assert_error(api.post("/loop/runs", org="builder", json=_body(seeded, suite="nope")), "RES-101")
    bad = {**_body(seeded), "confidence": 1.2}  # the acceptance test's options are checked
    assert api.post("/loop/runs", org="builder", json=bad).status_code == 422
    assert api.get("/loop/runs").json() == []

    job = run_queued_job(api, api.post("/loop/runs", org="builder", json=_body(seeded)), "builder")
    assert job["status"] == "succeeded" and job["result"]["loop_run"] == "api-loop"
    assert job["progress"] == 1.0 and len(job["logs"]) > 2  # each loop step is logged
    run = api.get("/loop/runs/api-loop").json()
    assert run["name"] == "api-loop" and run["created_by"] == "builder"
    assert run["status"] == "finished" and len(run["iterations"]) == 2
    assert run["summary"]["final_model"].startswith("api-loop@")
    assert run["config"]["spec"]["params"] == SPEC.params
    assert run["config"]["acceptance"]["confidence"] == 0.8  # the documented default
    assert all(it["queries"] >= 1 for it in run["iterations"])
    assert_error(api.post("/loop/runs", org="builder", json=_body(seeded)), "RES-102")

    assert [r["name"] for r in api.get("/loop/runs", org="plant-a").json()] == ["api-loop"]
    assert api.get("/loop/runs?created_by=plant-a").json() == []
    assert api.get("/loop/runs/api-loop").json() == run
    page = api.get("/loop/runs/api-loop/report")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "loop-metric" in page.text and "<script src=" not in page.text  # offline
    assert_error(api.get("/loop/runs/nope"), "RES-101")
    assert_error(api.get("/loop/runs/nope/report"), "RES-101")
    finished = api.get("/ledger?action=loop.finished").json()
    assert [(e["actor"], e["object_id"]) for e in finished] == [("builder", "api-loop")]


def test_the_loop_data_stays_under_its_sources_policies(
    looped: tuple[Api, LoopSeed], tmp_path: Path
) -> None:
    """Issue 9's API reproduction: rows, re-grant and crafted versions of ``<run>-data``."""
    api, seeded = looped
    job = run_queued_job(api, api.post("/loop/runs", org="builder", json=_body(seeded)), "builder")
    assert job["status"] == "succeeded", job
    rows = api.get("/datasets/api-loop-data/rows?purpose=download", org="builder")
    assert_error(rows, "RES-120")
    err = assert_error(
        api.put("/policies/api-loop-data", org="builder", json={"grants": ["plant-a:download"]}),
        "RES-124",
    )
    assert "computed from the policies of its sources" in err["message"]
    crafted = tmp_path / "crafted.csv"
    crafted.write_text((tmp_path / "data" / "steel-plant-a.csv").read_text())
    with crafted.open("rb") as fh:
        posted = api.post(
            "/datasets/api-loop-data/versions", org="builder", files={"file": ("c.csv", fh)}
        )
    assert_error(posted, "RES-124")
    shown = api.get("/datasets/api-loop-data", org="plant-a").json()
    assert shown["derived"] and shown["owner"] == "builder"
    summary = shown["derivation"]["summary"]
    assert summary.startswith("derived from ") and "steel-plant-a@1 (" in summary
    assert "allowed purposes:" in summary
    assert "builder: train-pooled" in summary and "download" not in summary
