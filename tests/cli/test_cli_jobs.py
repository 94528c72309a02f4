"""``resonance job …`` and ``--detach`` through Typer's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from resonance.cli.app import app
from resonance.services.space import Space
from tests.conftest import org_token
from tests.model_seed import seed

runner = CliRunner()


def cli(space: Space, actor: str, *args: str, code: int = 0) -> Any:
    result = runner.invoke(
        app,
        ["--space", str(space.root), "--as", actor, "--format", "json", *args],
        env={"RESONANCE_ACTOR": "", "RESONANCE_TOKEN": org_token(space.root, actor) or ""},
    )
    assert result.exit_code == code, result.output
    return json.loads(result.stdout)


def test_jobs_from_the_cli(lite_space: Space, tmp_path: Path) -> None:
    train = seed(lite_space, tmp_path / "data").train
    base = ["model", "train", "-n", "m", "-t", "lightgbm", "-d", train, "-p", "n_estimators=5"]
    queued = cli(lite_space, "builder", *base, "--detach")
    assert queued["status"] == "queued" and queued["kind"] == "train"
    assert queued["params"]["params"] == {"n_estimators": 5}
    assert [j["id"] for j in cli(lite_space, "builder", "job", "list")] == [queued["id"]]
    assert cli(lite_space, "plant-b", "job", "list") == []
    hidden = cli(lite_space, "plant-b", "job", "show", queued["id"], code=1)
    assert hidden["error"]["code"] == "RES-101"
    assert cli(lite_space, "operator", "job", "show", queued["id"])["id"] == queued["id"]
    cancelled = cli(lite_space, "builder", "job", "cancel", queued["id"])
    assert cancelled["status"] == "cancelled"
    watched = cli(lite_space, "builder", "job", "watch", queued["id"], code=1)
    assert watched["error"]["code"] == "RES-204"  # the job's recorded error, exit status 1
    again = cli(lite_space, "builder", "job", "cancel", queued["id"], code=1)
    assert again["error"]["code"] == "RES-201"

    model = cli(lite_space, "builder", *base)  # waits: runs the job here
    assert model["ref"] == "m@1" and model["created_by"] == "builder"
    (done,) = cli(lite_space, "builder", "job", "list", "--status", "succeeded")
    assert done["result"] == {"model": "m@1"} and done["progress"] == 1.0

    assert cli(lite_space, "operator", "job", "limit", "1", "--org", "builder")["limit"] == 1
    params = json.dumps({"name": "m", "datasets": [train], "params": {"n_estimators": 5}})
    cli(lite_space, "builder", "job", "submit", "train", "--params", params, "--detach")
    over = cli(lite_space, "builder", "job", "submit", "train", "--params", params, code=1)
    assert over["error"]["code"] == "RES-200"
    bad = cli(lite_space, "builder", "job", "submit", "train", "--params", "[1]", code=1)
    assert bad["error"]["code"] == "RES-100"
    denied = cli(lite_space, "builder", "job", "limit", "9", code=1)
    assert denied["error"]["code"] == "RES-122"
