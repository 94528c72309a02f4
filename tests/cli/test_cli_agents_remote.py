"""``resonance --remote URL agent ...``: the agent commands against a served space's API."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

import pytest

from tests.agent_seed import seed_agent
from tests.cli.test_cli_remote import Served, error, ok
from tests.conftest import make_space, org_token
from tests.servers import RESONANCE, free_port, serve_space


def test_agent_commands_remotely(tmp_path: Path) -> None:
    if RESONANCE is None:
        pytest.skip("the resonance command is not on PATH")
    space = make_space(tmp_path / "space")
    seeded = seed_agent(space, tmp_path / "data", tune=False, episodes=4)
    space.close()
    for org in ("builder", "evaluator"):
        org_token(tmp_path / "space", org)
    (tmp_path / "client").mkdir()
    port = free_port()
    proc = serve_space(tmp_path / "space", port, tmp_path / "serve.log")
    try:
        s = Served(tmp_path / "space", f"http://127.0.0.1:{port}", tmp_path / "client", "", "")
        assert [a["ref"] for a in ok(s.remote("agent", "list", actor="builder"))] == ["kwh-watch@1"]
        assert ok(s.remote("agent", "show", "kwh-watch", actor="builder"))["ref"] == "kwh-watch@1"
        made = ok(
            s.remote(
                "agent", "create", "two", "--scenario", "energy-alerts", "--template",
                "energy-anomaly", "-m", seeded.model, "--observe", seeded.observe,
                actor="builder",
            )
        )  # fmt: skip
        assert made["ref"] == "two@1"
        ran = ok(s.remote("agent", "run", "two", "--window", "12", actor="builder"))
        assert ran["status"] == "finished" and ran["result"]["steps"] == 12
        ev = ok(
            s.remote("agent", "evaluate", "two", "--episodes", seeded.episodes, actor="builder")
        )
        assert ev["metrics"]["episodes"] == 4
        assert ok(s.remote("agent", "stop", "two", actor="builder")) == {"stopped": []}
        sets = ok(s.remote("agent", "episodes", "list", actor="builder"))
        assert sets[0]["name"] == seeded.episodes
        assert error(s.remote("agent", "show", "nope", actor="builder"))["code"] == "RES-101"
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
