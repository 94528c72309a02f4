"""Federated training and member valuation over the REST API, as ``federate`` and ``value``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from resonance.domain.policies import parse_grant
from resonance.services import evaluation, policies
from resonance.services.space import Space
from tests.api.conftest import Api, open_api, run_queued_job
from tests.api.test_api import assert_error
from tests.federation_seed import Federated, seed_members

MEMBERS = ("plant-a", "plant-b")
GRANTS = ["builder:train-federated", "builder:train-pooled"]


@pytest.fixture
def members(lite_space: Space, tmp_path: Path) -> Iterator[tuple[Api, Federated]]:
    """Two plants' non-IID steel slices (federated and pooled grants to ``builder``), a suite."""
    fed = seed_members(lite_space, tmp_path / "data", list(MEMBERS), rows=600)
    for ref, owner in zip(fed.refs, MEMBERS, strict=True):
        grants = [parse_grant(g) for g in GRANTS]
        policies.set_policy(lite_space, actor=owner, dataset=ref, grants=grants)
    evaluation.register_suite(lite_space, actor="evaluator", name="steel-s", dataset=fed.sealed)
    with open_api(lite_space, ("operator", *MEMBERS, "builder")) as api:
        yield api, fed


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "/federation/runs"),
        ("post", "/valuations"),
        ("get", "/valuations"),
        ("get", "/valuations/m@1"),
        ("get", "/valuations/m/statement"),
    ],
)
def test_federation_and_valuation_need_a_token(lite_space: Space, method: str, path: str) -> None:
    with open_api(lite_space, ()) as api:
        assert_error(getattr(api, method)(path, org=None), "RES-121")


def test_builder_federates_and_members_are_valued(members: tuple[Api, Federated]) -> None:
    api, fed = members
    body = {"name": "steel-fed", "datasets": fed.refs, "rounds": 2}
    assert_error(api.post("/federation/runs", org="plant-a", json=body), "RES-122")
    for bad in ({"strategy": "nope"}, {"rounds": 0}, {"datasets": fed.refs[:1]}):
        assert_error(api.post("/federation/runs", org="builder", json={**body, **bad}), "RES-100")
    same_owner = {**body, "datasets": [fed.refs[0], fed.refs[0]]}
    assert_error(api.post("/federation/runs", org="builder", json=same_owner), "RES-100")
    unknown = {**body, "datasets": [fed.refs[0], "nope"]}
    assert_error(api.post("/federation/runs", org="builder", json=unknown), "RES-101")

    job = run_queued_job(api, api.post("/federation/runs", org="builder", json=body), "builder")
    assert job["status"] == "succeeded" and job["result"] == {"model": "steel-fed@1"}
    model = api.get("/models/steel-fed@1").json()
    assert model["ref"] == "steel-fed@1" and model["created_by"] == "builder"
    assert model["spec"]["trainer"] == "federated-linear"
    assert set(model["details"]["federated"]["members"]) == set(MEMBERS)
    rounds = api.get("/ledger?action=federation.round_aggregated").json()
    assert [e["payload"]["round"] for e in rounds] == [1, 2]
    assert_error(api.get("/valuations/steel-fed"), "RES-101")  # nothing valued yet

    resp = api.post("/valuations", org="builder", json={"model": "steel-fed", "suite": "steel-s"})
    assert resp.status_code == 201, resp.json()
    valued = resp.json()
    assert valued["model"] == "steel-fed@1" and valued["method"] == "exact"
    assert set(valued["members"]) == set(MEMBERS)
    assert sum(m["share"] for m in valued["members"].values()) == pytest.approx(1.0)
    shown = api.get("/valuations/steel-fed", org="plant-a").json()
    assert shown["valued_by"] == "builder" and shown["members"] == valued["members"]
    assert [v["model"] for v in api.get("/valuations?model=steel-fed@1").json()] == ["steel-fed@1"]
    md = api.get("/valuations/steel-fed/statement", org="plant-b")
    assert md.headers["content-type"].startswith("text/markdown")
    assert "steel-fed@1" in md.text and all(f"| {m} |" in md.text for m in MEMBERS)
    page = api.get("/valuations/steel-fed@1/statement?format=html")
    assert page.text.startswith("<!doctype html>") and "<td>plant-a</td>" in page.text
    assert_error(api.get("/valuations/steel-fed/statement?format=pdf"), "RES-100")
    for missing in ({"model": "nope"}, {"model": "steel-fed", "suite": "nope"}):
        resp = api.post("/valuations", org="builder", json={"suite": "steel-s", **missing})
        assert_error(resp, "RES-101")
    assert_error(api.get("/valuations/nope"), "RES-101")
    assert_error(api.get("/valuations/nope/statement"), "RES-101")


def test_valuation_is_denied_once_a_member_withdraws_its_grant(
    members: tuple[Api, Federated],
) -> None:
    api, fed = members
    body = {"name": "steel-pool", "trainer": "sklearn-logreg", "datasets": fed.refs}
    assert api.post("/models", org="builder", json=body).status_code == 201
    grants = {"grants": ["builder:train-federated"]}
    assert api.put(f"/policies/{fed.refs[1]}", org="plant-b", json=grants).status_code == 200
    resp = api.post("/valuations", org="builder", json={"model": "steel-pool", "suite": "steel-s"})
    details = assert_error(resp, "RES-120")["details"]
    assert details["ref"] == f"{fed.refs[1]}@1" and details["purpose"] == "train-pooled"
    assert api.get("/valuations").json() == []
