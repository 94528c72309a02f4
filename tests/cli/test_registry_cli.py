"""The registry, quota, report and token commands through Typer's CliRunner."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import httpx
from typer.testing import CliRunner, Result

from resonance.cli.app import app
from resonance.services import tokens
from resonance.services.space import Space
from tests.cli.test_cli_federation_deploy import RESONANCE, _stop, _wait_for_port
from tests.conftest import make_space, org_token
from tests.registry_seed import seed
from tests.servers import free_port

runner = CliRunner()


def run(root: Path, *args: str, actor: str = "operator", code: int = 0) -> Result:
    env = {"RESONANCE_ACTOR": "", "RESONANCE_TOKEN": org_token(root, actor) or ""}
    result = runner.invoke(app, ["--space", str(root), "--as", actor, *args], env=env)
    assert result.exit_code == code, result.output
    return result


def run_json(root: Path, *args: str, actor: str = "operator", code: int = 0) -> Any:
    return json.loads(run(root, "--format", "json", *args, actor=actor, code=code).stdout)


def test_token_create_prints_the_token_once(lite_space: Space) -> None:
    root = lite_space.root
    out = run(root, "token", "create", "builder", "--label", "ci").stdout.strip()
    assert out.startswith("res_")
    assert tokens.authenticate(lite_space, out).name == "builder"
    listed = run_json(root, "token", "list")
    ci = [t for t in listed if t["label"] == "ci"]
    assert [t["organization"] for t in ci] == ["builder"] and "token" not in ci[0]
    assert out not in json.dumps(listed)
    err = run_json(root, "token", "create", "builder", actor="plant-a", code=1)
    assert err["error"]["code"] == "RES-122"
    run(root, "token", "revoke", ci[0]["id"], actor="builder")


def test_registry_commands_and_quota_check(lite_space: Space) -> None:
    root = lite_space.root
    seed(lite_space, datasets=False)
    run(
        root,
        "registry",
        "scenario-add",
        "ladle-life",
        "--industry",
        "steel",
        "--title",
        "Ladle lining life",
        "--problem",
        "Unplanned relining",
        "--value",
        "Fewer stoppages",
        "--data-needed",
        "Thermal images",
        "--model-needed",
        "Regressor",
        actor="apps",
    )
    err = run_json(
        root, "registry", "scenario-status", "ladle-life", "approved", actor="apps", code=1
    )
    assert err["error"]["code"] == "RES-193"  # approving is for a curator
    run(root, "registry", "scenario-status", "ladle-life", "approved", actor="authority")
    run(root, "registry", "space-add", "js-space-9", "--industry", "ships", "--province", "Jiangsu")
    run(root, "registry", "city-add", "Nanjing", "--province", "Jiangsu", actor="authority")
    err = run_json(root, "registry", "city-add", "Nantong", "--province", "Jiangsu", code=1)
    assert err["error"]["code"] == "RES-150"
    run(root, "registry", "model-add", "steel-fm2", "--industry", "steel", actor="builder")
    run(
        root,
        "registry",
        "case-add",
        "case-x",
        "--model",
        "steel-fm2",
        "--adopter",
        "mill-1",
        "--region",
        "Jiangsu",
        "--description",
        "Deployed on line 2",
        "--evidence",
        "deployment:mes-line-2",
        actor="apps",
    )
    run(root, "registry", "status", "case", "case-x", "confirmed", actor="mill-1")
    run(root, "registry", "correct", "case", "case-x", "--set", "description=Line 2 and 3")
    hist = run_json(root, "registry", "history", "case", "case-x")
    assert [h["action"] for h in hist] == ["status", "corrected"]
    cases = {c["name"]: c for c in run_json(root, "registry", "show", "cases")}
    assert cases["case-x"]["status"] == "confirmed"
    assert cases["case-x"]["description"] == "Line 2 and 3"
    scenarios = run_json(root, "registry", "show", "scenarios")
    assert {s["name"]: s["status"] for s in scenarios}["ladle-life"] == "approved"
    quota = run_json(root, "quota", "check", "--province", "Jiangsu", code=2)
    assert {i["key"]: i["met"] for i in quota["items"]}["resonance_spaces"] is True
    assert run_json(root, "quota", "check", "--scenario", "surface-defects", code=2)["met"] is False
    assert "not met" in run(root, "quota", "check", "--industry", "steel", code=2).stdout


def test_reports_are_written_and_submitted(lite_space: Space, tmp_path: Path) -> None:
    root = lite_space.root
    seed(lite_space, datasets=False)
    md = tmp_path / "plan.md"
    # a back-dated submission is refused before anything is written
    err = run_json(
        root,
        "report",
        "plan",
        "--province",
        "Jiangsu",
        "--out",
        str(md),
        "--as-of",
        "2026-05-01",
        "--submit",
        actor="authority",
        code=1,
    )
    assert err["error"]["code"] == "RES-195" and not md.exists()
    # a data holder may not submit: RES-122, and no file
    err = run_json(
        root,
        "report",
        "plan",
        "--province",
        "Jiangsu",
        "--out",
        str(md),
        "--submit",
        actor="plant-a",
        code=1,
    )
    assert err["error"]["code"] == "RES-122" and not md.exists()
    res = run_json(
        root,
        "report",
        "plan",
        "--province",
        "Jiangsu",
        "--format",
        "md",
        "--out",
        str(md),
        "--submit",
        actor="authority",
    )
    today = lite_space.today()
    assert res["submission"]["submitted_on"] == today.isoformat()
    assert res["submission"]["late"] is (today.isoformat() > "2026-05-30")
    assert md.read_text().startswith("# Implementation plan — province Jiangsu")
    assert list(tmp_path.glob(".*.tmp")) == []
    html = tmp_path / "summary.html"
    res = run_json(
        root,
        "report",
        "summary",
        "--enterprise",
        "sinosteel",
        "--format",
        "html",
        "--out",
        str(html),
    )
    assert res["preview"] is False
    assert [d["state"] for d in res["deadlines"]] == ["overdue", "overdue", "overdue"]
    # sinosteel was registered today: on December 1st it was no central enterprise here
    err = run_json(
        root,
        "report",
        "summary",
        "--enterprise",
        "sinosteel",
        "--out",
        str(html),
        "--as-of",
        "2026-12-01",
        code=1,
    )
    assert err["error"]["code"] == "RES-101"
    text = html.read_text()
    assert "Summary report — enterprise sinosteel" in text and "Plotly.newPlot" in text
    mid = tmp_path / "mid.md"
    res = run_json(
        root,
        "report",
        "midterm",
        "--province",
        "Jiangsu",
        "--out",
        str(mid),
        "--as-of",
        "2026-06-01",
    )
    # the plan submitted today did not exist on June 1st
    assert [d["state"] for d in res["deadlines"]] == ["overdue", "upcoming", "upcoming"]
    err = run_json(root, "report", "plan", "--out", str(md), code=1)
    assert err["error"]["code"] == "RES-100"
    note = run_json(
        root,
        "report",
        "note",
        "midterm",
        "--province",
        "Jiangsu",
        "--task",
        "spaces",
        "--problems",
        "Operators for a third space still missing",
        "--next-steps",
        "Tender by October",
        actor="authority",
    )
    assert note["version"] == 1
    run(root, "report", "midterm", "--province", "Jiangsu", "--out", str(mid))
    assert "Operators for a third space still missing" in mid.read_text()


def test_serve_answers_over_http(tmp_path: Path) -> None:
    """``resonance serve`` really serves the space's API and console (own process, stopped)."""
    root = tmp_path / "space"
    make_space(root).close()
    port = free_port()
    log = (tmp_path / "serve.log").open("wb")
    proc = subprocess.Popen(
        [RESONANCE, "--space", str(root), "serve", "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        _wait_for_port(port, proc)
        base = f"http://127.0.0.1:{port}"
        assert httpx.get(f"{base}/health", timeout=10).json() == {"status": "ok"}
        assert "/datasets" in httpx.get(f"{base}/openapi.json", timeout=10).json()["paths"]
        denied = httpx.get(f"{base}/datasets", timeout=10)
        assert denied.status_code == 401 and denied.json()["error"]["code"] == "RES-121"
        assert httpx.get(f"{base}/console/login", timeout=10).status_code == 200
    finally:
        _stop(proc)
