"""Role workspaces through the ASGI app: empty states, forms posting to the services
with the same role and policy checks, detail pages, filters, the weak-slices count."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from resonance.domain.orgs import Role
from resonance.server import create_app
from resonance.services import evaluation, orgs, policies, reports, tokens, training, valuation
from resonance.services import loop as loops
from resonance.services.space import Space
from tests.conftest import STEEL_CSV, STEEL_LABELS
from tests.federation_seed import seed_members
from tests.loop_seed import seed_loop
from tests.registry_seed import seed
from tests.web.conftest import console_login, train_and_evaluate

WORKSPACES = ["/console/holder", "/console/builder", "/console/evaluator", "/console/apps"]


def _client(space: Space, org: str) -> tuple[TestClient, str]:
    plain, _ = tokens.create_token(space, actor="operator", organization=org)
    client = TestClient(create_app(space.root))
    client.__enter__()
    return client, console_login(client, plain)


@pytest.fixture
def clients(lite_space: Space) -> Iterator[dict[str, tuple[TestClient, str]]]:
    seed(lite_space)
    made = {
        org: _client(lite_space, org)
        for org in ("plant-a", "builder", "evaluator", "apps", "authority", "operator")
    }
    yield made
    for client, _ in made.values():
        client.__exit__(None, None, None)


def test_role_pages_show_empty_states(tmp_path: Path) -> None:
    space = Space.init(tmp_path / "empty")
    orgs.register_organization(
        space,
        actor=None,
        name="op",
        roles=frozenset(Role),
        region="Beijing",
    )
    plain, _ = tokens.create_token(space, actor="op", organization="op")
    with TestClient(create_app(space.root)) as client:
        console_login(client, plain)
        home = client.get("/console/").text
        for path in [*WORKSPACES, "/console/operator"]:
            assert f'href="{path}"' in home, path  # every role's page is linked
            resp = client.get(path)
            assert resp.status_code == 200, (path, resp.text[:400])
        holder = client.get("/console/holder").text
        assert "No proposals yet" in holder and "You hold no dataset yet" in holder
        assert "Nobody else has used your data yet" in holder
        assert "You have not trained a model yet" in client.get("/console/builder").text
        assert "No suite yet" in client.get("/console/evaluator").text
        assert "You have not filed a scenario yet" in client.get("/console/apps").text
        assert "A data holder uploads one" in client.get("/console/catalog").text
    space.close()


def test_weak_slices_count_comes_from_the_runs_diagnosis(lite_space: Space) -> None:
    """The Evaluations page used to read ``weak_slices`` from a diagnosis that holds
    ``slices``, showing 0 for every run."""
    seed(lite_space)
    train_and_evaluate(lite_space)  # a run without diagnosis
    run = evaluation.evaluate(
        lite_space, actor="builder", model="steel-fm@1", suite="steel-suite", label_issues=False
    )
    assert run.weak_slices, "the steel model should have weak slices on its suite"
    plain, _ = tokens.create_token(lite_space, actor="operator", organization="builder")
    with TestClient(create_app(lite_space.root)) as client:
        console_login(client, plain)
        page = client.get("/console/evaluations").text
        cells = re.findall(r'<td class="weak-slices">(.*?)</td>', page)
        assert len(cells) == 2
        assert "—" in cells[0]  # not diagnosed: no count rather than a false 0
        assert cells[1] == str(len(run.weak_slices))
        detail = client.get(f"/console/evaluations/{run.id}").text
        assert f'<b id="run-weak-slices">{len(run.weak_slices)}</b>' in detail
        assert html.escape(run.weak_slices[0]["slice"]) in detail


def _post(client: TestClient, csrf: str, path: str, **data: object) -> str:
    resp = client.post(path, data={**data, "csrf": csrf}, follow_redirects=True)
    assert resp.status_code == 200, (path, resp.status_code, resp.text[:600])
    return resp.text


def test_each_role_acts_through_its_forms(
    lite_space: Space, clients: dict[str, tuple[TestClient, str]]
) -> None:
    space = lite_space
    # data holder: check a file, upload it, set its policy
    holder, hcsrf = clients["plant-a"]
    onehot = ",".join(STEEL_LABELS)
    with STEEL_CSV.open("rb") as f:
        checked = holder.post(
            "/console/datasets/validate",
            data={"csrf": hcsrf, "label_onehot": onehot},
            files={"file": ("plates.csv", f, "text/csv")},
        )
    assert checked.status_code == 200 and "Passes" in checked.text
    assert "Nothing was stored" in checked.text
    with STEEL_CSV.open("rb") as f:
        uploaded = holder.post(
            "/console/datasets/upload",
            data={
                "csrf": hcsrf,
                "dataset": "plates-a",
                "industry": "steel",
                "kind": "common",
                "label_onehot": onehot,
            },
            files={"file": ("plates.csv", f, "text/csv")},
        )
    assert uploaded.status_code == 200, uploaded.text[:500]
    assert "Ingested <b>plates-a@1</b>" in uploaded.text and 'id="validation"' in uploaded.text
    _post(holder, hcsrf, "/console/datasets/plates-a/policy", grants="builder:train-pooled")
    policy = policies.get_policy(space, "plates-a")
    assert policy is not None and [g.organization for g in policy.grants] == ["builder"]
    assert "plates-a" in holder.get("/console/holder").text

    # another organization's form cannot change that policy (the service's owner check)
    builder, bcsrf = clients["builder"]
    refused = builder.post(
        "/console/datasets/plates-a/policy",
        data={"csrf": bcsrf, "grants": "builder:download"},
    )
    assert refused.status_code == 403 and "RES-12" in refused.text
    assert policies.get_policy(space, "plates-a") == policy

    # model builder: train on the granted data; the model page shows card and scores
    page = _post(builder, bcsrf, "/console/models/train", name="plates-m", datasets="plates-a")
    assert "Trained <b>plates-m@1</b>" in page and 'id="model-card"' in page
    # not granted: the policy check refuses, nothing is trained
    denied = builder.post(
        "/console/models/train",
        data={"csrf": bcsrf, "name": "stolen", "datasets": "steel-a"},
    )
    assert denied.status_code == 403
    assert not training.list_models(space, name="stolen")

    # evaluator: an evaluation dataset, then a suite over it
    evaluator, ecsrf = clients["evaluator"]
    with STEEL_CSV.open("rb") as f:
        evaluator.post(
            "/console/datasets/upload",
            data={
                "csrf": ecsrf,
                "dataset": "plates-eval",
                "industry": "steel",
                "kind": "evaluation",
                "label_onehot": onehot,
            },
            files={"file": ("eval.csv", f, "text/csv")},
        )
    page = _post(
        evaluator,
        ecsrf,
        "/console/suites",
        name="plates-suite",
        dataset="plates-eval",
        thresholds="macro_f1=0.1",
        query_budget="5",
    )
    assert "plates-suite" in page
    # builder scores its model there; the evaluator sees the run and the budget
    page = _post(
        builder, bcsrf, "/console/evaluations/run", model="plates-m@1", suite="plates-suite"
    )
    assert "Evaluation run" in page and "plates-suite" in page
    mine = evaluator.get("/console/evaluator").text
    budgets = mine.split('id="budgets"')[1].split("</table>")[0]
    assert "plates-m@1" in mine  # the run against my suite
    assert '<td>plates-m</td><td>1</td><td class="">4</td>' in budgets, budgets  # 5 - 1

    # compare two versions
    _post(builder, bcsrf, "/console/models/train", name="plates-m", datasets="plates-a", seed="1")
    compared = builder.get("/console/compare?ref=plates-m@1&ref=plates-m@2")
    assert compared.status_code == 200 and "plates-suite (macro_f1)" in compared.text

    # application developer: a scenario file and a case
    apps, acsrf = clients["apps"]
    page = _post(
        apps,
        acsrf,
        "/console/scenarios",
        name="plate-grading",
        industry="steel",
        title="Grade plates",
        problem="p",
        value="v",
        data_needed="d",
        model_needed="m",
    )
    assert 'id="scenario-title"' in page and "Grade plates" in page
    page = _post(
        apps,
        acsrf,
        "/console/cases",
        name="case-x",
        model="steel-fm",
        adopter="plant-a",
        region="Jiangsu",
        description="Grading in production",
        evidence="deployment:mill-x-line-3",
    )
    assert "case-x" in page

    # authority: submit a report (previewed on /console/reports/...)
    authority, gcsrf = clients["authority"]
    assert authority.get("/console/reports/midterm?province=Jiangsu").status_code == 200
    page = _post(authority, gcsrf, "/console/reports/submit", kind="plan", province="Jiangsu")
    assert 'id="submitted"' in page
    assert [s.kind.value for s in reports.list_submissions(space)] == ["plan"]
    # a builder cannot submit reports (role check of the service)
    assert (
        builder.post(
            "/console/reports/submit", data={"csrf": bcsrf, "kind": "plan", "province": "Jiangsu"}
        ).status_code
        == 403
    )

    # operator: organization, consortium, token (shown once)
    op, ocsrf = clients["operator"]
    _post(op, ocsrf, "/console/organizations", name="newco", region="Hebei", roles="evaluator")
    _post(op, ocsrf, "/console/consortia", name="ships-c", industry="ships", members="newco:data")
    page = _post(op, ocsrf, "/console/tokens", organization="newco", label="first")
    assert re.search(r'id="new-token" class="secret">res_[0-9a-f]{16}_', page)
    ops = op.get("/console/operator").text
    assert "newco" in ops and "ships-c" in ops

    # the data holder now sees the uses of its data
    uses = holder.get("/console/holder").text
    assert "builder" in uses.split('id="my-data-uses"')[1]


def test_lists_filter_and_unknown_objects_are_404(
    lite_space: Space, clients: dict[str, tuple[TestClient, str]]
) -> None:
    client, _ = clients["operator"]
    page = client.get("/console/catalog?q=surface").text
    assert "steel-surface" in page and ">steel-a<" not in page
    assert "No dataset matches" in client.get("/console/catalog?q=zzz").text
    assert "steel-a" in client.get("/console/catalog?kind=common").text
    ledger = client.get("/console/ledger?actor=apps").text
    assert "registry.entry_added" in ledger and "dataset.registered" not in ledger
    for path in ("/console/models/nope@1", "/console/evaluations/nope", "/console/scenarios/no"):
        resp = client.get(path)
        assert resp.status_code == 404 and "RES-101" in resp.text, path
    assert "Surface defect" in client.get("/console/scenarios/surface-defects").text


def test_only_operators_see_every_token(clients: dict[str, tuple[TestClient, str]]) -> None:
    holder, _ = clients["plant-a"]
    listed = holder.get("/console/operator").text.split('id="tokens"')[1].split("</table>")[0]
    assert "<td>plant-a</td>" in listed and "<td>builder</td>" not in listed
    op, _ = clients["operator"]
    listed = op.get("/console/operator").text.split('id="tokens"')[1].split("</table>")[0]
    assert "<td>plant-a</td>" in listed and "<td>builder</td>" in listed


def test_builder_starts_loop_and_federated_runs_from_forms(
    lite_space: Space, tmp_path: Path
) -> None:
    seeded = seed_loop(lite_space, tmp_path / "loop")
    fed = seed_members(
        lite_space, tmp_path / "fed", ["plant-a", "plant-b"], which="ai4i", rows=1500
    )
    client, csrf = _client(lite_space, "builder")
    try:
        page = _post(
            client,
            csrf,
            "/console/loop/run",
            name="ui-loop",
            datasets=",".join(seeded.datasets),
            reserves=",".join(seeded.reserves),
            suite=seeded.suite,
            budget="60",
            iterations="1",
        )
        assert 'id="loop-run"' in page and "Run ui-loop" in page
        assert loops.get_run(lite_space, "ui-loop").status == "finished"
        page = _post(
            client,
            csrf,
            "/console/federation/run",
            name="ui-fed",
            datasets=",".join(fed.refs),
            strategy="fedavg",
            model="linear",
            rounds="2",
            exclude=",".join(fed.exclude),
        )
        assert "Trained <b>ui-fed@1</b>" in page
        assert training.get_model(lite_space, "ui-fed@1").details.get("federated")
        # an unknown strategy is refused before any work
        bad = client.post(
            "/console/federation/run",
            data={"csrf": csrf, "name": "x", "datasets": ",".join(fed.refs), "strategy": "nope"},
        )
        assert bad.status_code == 422 and "RES-100" in bad.text
    finally:
        client.__exit__(None, None, None)
    # each member holder sees its contribution value once the model is valued
    evaluation.register_suite(lite_space, actor="evaluator", name="ai4i-s", dataset=fed.sealed)
    valued = valuation.value_model(lite_space, actor="builder", model="ui-fed@1", suite="ai4i-s")
    holder, _ = _client(lite_space, "plant-a")
    try:
        mine = holder.get("/console/holder").text.split('id="my-value"')[1].split("</table>")[0]
        assert "ui-fed@1" in mine and "<td>plant-a</td>" in mine and "plant-b" not in mine
        assert f"{valued.members['plant-a']['shapley']:.4f}" in mine
    finally:
        holder.__exit__(None, None, None)


def test_a_holder_registers_a_regression_time_series_in_the_console(
    lite_space: Space, clients: dict[str, tuple[TestClient, str]], tmp_path: Path
) -> None:
    from resonance.domain.datasets import Task
    from resonance.services import catalog

    holder, hcsrf = clients["plant-a"]
    csv = tmp_path / "kwh.csv"
    rows = [f"2026-01-{d:02d},u{d % 3},{d * 1.5},{d * 2.0 + 1}" for d in range(1, 29)]
    csv.write_text("day,unit,load,kwh\n" + "\n".join(rows) + "\n")
    form = {
        "csrf": hcsrf, "dataset": "kwh-a", "industry": "steel", "kind": "common",
        "label": "kwh", "task": "regression", "group_key": "unit", "time_column": "day",
    }  # fmt: skip
    with csv.open("rb") as f:
        uploaded = holder.post(
            "/console/datasets/upload", data=form, files={"file": ("kwh.csv", f, "text/csv")}
        )
    assert uploaded.status_code == 200, uploaded.text[:500]
    with lite_space.work() as w:
        ds = catalog.require_dataset(w.tx, "kwh-a")
    assert ds.label is not None and ds.label.task is Task.REGRESSION
    assert (ds.group_key, ds.time_column) == ("unit", "day")
    with csv.open("rb") as f:  # an unknown task is a coded refusal; nothing stored
        bad = holder.post(
            "/console/datasets/upload",
            data={**form, "dataset": "kwh-b", "task": "ranking"},
            files={"file": ("kwh.csv", f, "text/csv")},
        )
    assert bad.status_code == 422 and "RES-100" in bad.text
    assert "kwh-b" not in [d.name for d, _ in catalog.list_datasets(lite_space)]
