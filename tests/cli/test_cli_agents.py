"""``resonance agent ...`` end to end on a seeded space, acting with organizations' tokens."""

from __future__ import annotations

from pathlib import Path

from tests.agent_seed import seed_agent
from tests.cli.test_cli_foundation import Cli
from tests.conftest import make_space


def test_agent_commands(tmp_path: Path) -> None:
    space = make_space(tmp_path / "space")
    seeded = seed_agent(space, tmp_path / "energy", tune=False, episodes=6)
    space.close()
    cli = Cli(tmp_path / "space")
    listed = cli.json("agent", "list", actor="builder")
    assert [a["ref"] for a in listed] == ["kwh-watch@1"]
    card = cli("agent", "show", "kwh-watch", "--card", actor="builder").stdout
    assert card.startswith("# Agent card: kwh-watch@1") and "energy-plant-a" in card
    created = cli.json(
        "agent", "create", "blind", "--scenario", "energy-alerts", "--template",
        "energy-anomaly", "-m", seeded.model, "--observe", seeded.observe,
        "--tool", "predict", "--tool", "act", actor="builder",
    )  # fmt: skip
    assert created["ref"] == "blind@1" and created["tools"] == ["act", "predict"]
    err = cli.error(
        "agent", "create", "asks", "--scenario", "energy-alerts", "--template",
        "energy-anomaly", "-m", seeded.model, "--planner", "llm", actor="builder",
    )  # fmt: skip
    assert err["code"] == "RES-246" and "[llm]" in err["message"]  # no endpoint configured
    err = cli.error("agent", "run", "blind", actor="builder")
    assert err["code"] == "RES-240"
    ran = cli.json("agent", "run", "kwh-watch", "--window", "30", actor="builder")
    assert ran["status"] == "finished" and ran["result"]["steps"] == 30
    shown = cli.json("agent", "show", "kwh-watch", actor="builder")
    assert [r["id"] for r in shown["runs"]] == [ran["run"]]
    assert cli.json("agent", "stop", "kwh-watch", actor="builder") == {"stopped": []}
    sets = cli.json("agent", "episodes", "list", actor="builder")
    assert sets[0]["episodes"] == 6 and "seed" not in sets[0]
    ev = cli.json("agent", "evaluate", "kwh-watch", "--episodes", "kwh-sealed", actor="builder")
    assert ev["metrics"]["episodes"] == 6 and "mean_delay_hours" in ev["metrics"]
    assert cli.error("agent", "show", "nope", actor="builder")["code"] == "RES-101"
    err = cli.error(
        "agent", "episodes", "register", "mine", "--dataset", "energy-plant-a", "--seed", "1",
        actor="builder",
    )  # fmt: skip
    assert err["code"] == "RES-122"
