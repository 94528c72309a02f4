"""Member values of a federated and a pooled model; the benefit-sharing statement."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from resonance.domain.errors import NotFound, RoleRequired
from resonance.domain.modeling import ModelSpec
from resonance.domain.policies import parse_grant
from resonance.reports.valuation import render_statement
from resonance.services import evaluation, federation, ledger, policies, training, valuation
from resonance.services.space import Space
from resonance.training.federated.apps import FederationConfig
from tests.federation_seed import seed_members

MEMBERS = ["plant-a", "plant-b", "plant-c"]


def test_federated_model_member_values_sum_to_the_full_score(
    lite_space: Space, tmp_path: Path
) -> None:
    fed = seed_members(lite_space, tmp_path / "d", MEMBERS)
    federation.federate(
        lite_space,
        actor="builder",
        name="steel-fed",
        datasets=fed.refs,
        config=FederationConfig(rounds=3),
    )
    evaluation.register_suite(lite_space, actor="evaluator", name="steel-s", dataset=fed.sealed)
    result = valuation.value_model(lite_space, actor="builder", model="steel-fed", suite="steel-s")
    assert set(result.members) == set(MEMBERS) and result.method == "exact"
    total = sum(m["shapley"] for m in result.members.values())
    assert total == pytest.approx(result.full_score)  # efficiency: U(all) - U(empty)
    assert sum(m["share"] for m in result.members.values()) == pytest.approx(1.0)
    assert all(m["rows"] > 0 for m in result.members.values())
    valued = ledger.entries(lite_space, action="contribution.valued")
    assert [e.object_id for e in valued] == ["steel-fed@1"]
    assert "Pastry" not in json.dumps(valued[0].payload)
    md = render_statement(valuation.benefit_statement(lite_space, "steel-fed"))
    assert "steel-fed@1" in md and all(f"| {m} |" in md for m in MEMBERS)
    mv = training.get_model(lite_space, "steel-fed")
    assert all(h[:16] in md for h in mv.dataset_hashes)
    page = render_statement(valuation.benefit_statement(lite_space, "steel-fed"), "html")
    assert page.startswith("<!doctype html>") and "<td>plant-a</td>" in page
    # rows sit in tables and no Markdown syntax leaks into the page (issue 16)
    assert page.count("<table") == 2 and page.count("<tr>") == page.count("</tr>")
    assert "**" not in page and "|---" not in page


def test_pooled_model_values_and_statement_before_valuation(
    lite_space: Space, tmp_path: Path
) -> None:
    fed = seed_members(lite_space, tmp_path / "d", MEMBERS[:2], rows=800)
    for ref, owner in zip(fed.refs, MEMBERS[:2], strict=True):
        policies.set_policy(
            lite_space, actor=owner, dataset=ref, grants=[parse_grant("builder:train-pooled")]
        )
    training.train_model(
        lite_space,
        actor="builder",
        name="steel-pool",
        spec=ModelSpec("sklearn-logreg"),
        datasets=fed.refs,
    )
    assert "No contribution valuation" in render_statement(
        valuation.benefit_statement(lite_space, "steel-pool")
    )
    evaluation.register_suite(lite_space, actor="evaluator", name="steel-s", dataset=fed.sealed)
    with pytest.raises(RoleRequired):  # nobody else starts retrains under the builder's grants
        valuation.value_model(lite_space, actor="plant-a", model="steel-pool", suite="steel-s")
    with pytest.raises(NotFound):
        valuation.latest(lite_space, "steel-pool")
    result = valuation.value_model(
        lite_space, actor="builder", model="steel-pool", suite="steel-s", k=3
    )
    assert sum(m["shapley"] for m in result.members.values()) == pytest.approx(result.full_score)
    latest = valuation.latest(lite_space, "steel-pool@1")
    assert latest["valued_by"] == "builder" and latest["members"] == result.to_dict()["members"]
    assert [v["model"] for v in valuation.recorded(lite_space)] == ["steel-pool@1"]
    reads = ledger.entries(lite_space, action="data.accessed", actor="builder", limit=None)
    assert {e.payload["purpose"] for e in reads} == {"train-pooled"}
