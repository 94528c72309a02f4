"""Models and sealed evaluations over the REST API: policies, roles and budgets as in the CLI."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from resonance.services.space import Space
from tests.api.conftest import Api, open_api
from tests.api.test_api import assert_error
from tests.model_seed import Seeded, assert_no_sealed_row, seed

LGBM = {"trainer": "lightgbm", "params": {"n_estimators": 30, "n_jobs": 1}}


@pytest.fixture
def modeled(space: Space, tmp_path: Path) -> Iterator[tuple[Api, Seeded]]:
    """Steel training data granted to ``builder`` (train-pooled) and a sealed evaluation set."""
    seeded = seed(space, tmp_path / "data")
    with open_api(space, ("operator", "plant-a", "builder", "evaluator")) as api:
        yield api, seeded


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/models"),
        ("get", "/models/m@1"),
        ("get", "/models/m/card"),
        ("post", "/models"),
        ("get", "/evaluations"),
        ("get", "/evaluations/suites"),
        ("post", "/evaluations"),
        ("get", "/evaluations/budget?model=m&suite=s"),
    ],
)
def test_models_and_evaluations_need_a_token(
    modeled: tuple[Api, Seeded], method: str, path: str
) -> None:
    api, _ = modeled
    resp = getattr(api, method)(path, org=None)
    assert_error(resp, "RES-121")


def test_builder_trains_on_granted_data_only(modeled: tuple[Api, Seeded]) -> None:
    api, seeded = modeled
    body = {"name": "m", **LGBM, "datasets": [seeded.train]}
    resp = api.post("/models", org="builder", json=body)
    assert resp.status_code == 201, resp.json()
    model = resp.json()
    assert model["ref"] == "m@1" and model["created_by"] == "builder"
    assert model["datasets"] == [f"{seeded.train}@1"] and len(model["dataset_hashes"][0]) == 64
    assert model["spec"]["params"] == LGBM["params"]
    assert model["metrics"]["holdout"]["macro_f1"] > 0.5
    # the sealed evaluation set grants nothing to the builder; plant-a builds no models
    denied = api.post("/models", org="builder", json={**body, "datasets": [seeded.sealed]})
    details = assert_error(denied, "RES-120")["details"]
    assert details["ref"] == f"{seeded.sealed}@1" and details["purpose"] == "train-pooled"
    assert_error(api.post("/models", org="plant-a", json=body), "RES-122")
    bad = {**body, "trainer": "sklearn-rf", "params": {"no_such_param": 1}}
    assert_error(api.post("/models", org="builder", json=bad), "RES-100")  # before any work
    huge = {**body, "params": {"n_estimators": 1_000_000_000}}
    assert_error(api.post("/models", org="builder", json=huge), "RES-116")
    bad = {**body, "params": {"boosting_type": "no-such-boosting"}}
    assert_error(api.post("/models", org="builder", json=bad), "RES-170")
    assert_error(api.post("/models", org="builder", json={**body, "trainer": "nope"}), "RES-100")
    assert_error(api.post("/models", org="builder", json={**body, "datasets": []}), "RES-100")
    assert [m["ref"] for m in api.get("/models", org="plant-a").json()] == ["m@1"]
    assert api.get("/models/m", org="plant-a").json()["artifact_hash"] == model["artifact_hash"]
    assert_error(api.get("/models/m@9"), "RES-101")
    assert_error(api.get("/models/m@x"), "RES-100")
    card = api.get("/models/m/card")
    assert card.headers["content-type"].startswith("text/markdown")
    assert card.text.startswith("# Model card: m@1") and model["dataset_hashes"][0] in card.text
    trained = api.get("/ledger?action=model.trained").json()
    assert [(e["actor"], e["object_id"]) for e in trained] == [("builder", "m@1")]


def test_evaluation_returns_scores_only_until_the_budget_is_spent(
    modeled: tuple[Api, Seeded],
) -> None:
    api, seeded = modeled
    suite = {"name": "s", "dataset": seeded.sealed, "thresholds": {"macro_f1": 0.5}, "budget": 2}
    assert_error(api.post("/evaluations/suites", org="builder", json=suite), "RES-122")
    created = api.post("/evaluations/suites", org="evaluator", json=suite)
    assert created.status_code == 201 and created.json()["query_budget"] == 2
    assert [s["name"] for s in api.get("/evaluations/suites", org="builder").json()] == ["s"]
    api.post("/models", org="builder", json={"name": "m", **LGBM, "datasets": [seeded.train]})
    train_refs = {f"{seeded.train}@1"}

    run = {"model": "m", "suite": "s", "diagnose": False}
    # the suite's owner does not evaluate someone else's model; the builder never reads its rows
    assert_error(api.post("/evaluations", org="evaluator", json=run), "RES-100")
    rows = api.get(f"/datasets/{seeded.sealed}/rows?purpose=evaluate", org="builder")
    assert_error(rows, ("RES-120", "RES-123"))
    scores = api.post("/evaluations", org="builder", json=run)
    assert scores.status_code == 201, scores.json()
    first = scores.json()
    assert first["model"] == "m@1" and first["diagnosis"] == {} and first["budget_left"] == 1
    assert first["metrics"]["macro_f1"] > 0.5 and first["passed"] == {"macro_f1": True}
    assert sum(first["metrics"]["support"].values()) <= seeded.sealed_table.num_rows
    assert first["metrics"]["ladder"]["released"]
    assert_no_sealed_row(first, seeded.sealed_table, train_refs=train_refs)

    diagnosed = api.post("/evaluations", org="builder", json={**run, "diagnose": True}).json()
    assert diagnosed["diagnosis"]["slices"] and "coverage_gaps" in diagnosed["diagnosis"]
    assert diagnosed["diagnosis"]["label_issues"]["count"] > 0
    assert diagnosed["budget_left"] == 0
    # the same model again does not beat the builder's best by the Ladder's margin: no new score
    assert diagnosed["metrics"]["macro_f1"] is None
    assert diagnosed["metrics"]["ladder"] == {
        "released": False, "best": first["metrics"]["macro_f1"], "margin": 0.01
    }  # fmt: skip
    assert_no_sealed_row(diagnosed, seeded.sealed_table, train_refs=train_refs)
    budget = api.get("/evaluations/budget?model=m@1&suite=s", org="builder").json()
    assert budget == {"model": "m", "suite": "s", "remaining": 0}

    spent = assert_error(api.post("/evaluations", org="builder", json=run), "RES-130")
    assert spent["details"] == {"organization": "builder", "suite": "s", "budget": 2}
    runs = api.get("/evaluations?model=m@1", org="plant-a").json()
    assert [r["id"] for r in runs] == [first["id"], diagnosed["id"]]
    for r in runs:
        assert_no_sealed_row(r, seeded.sealed_table, train_refs=train_refs)
    card = api.get("/models/m/card", org="builder").text
    assert "| s |" in card and "Weak slices" in card
    assert_error(api.get("/evaluations/suites/nope"), "RES-101")
    assert_error(api.get("/evaluations/budget?model=m&suite=nope"), "RES-101")
