"""``resonance loop run/list/show/report`` end to end on real steel data."""

from __future__ import annotations

from pathlib import Path

from resonance.domain.loop_types import FAILED, LoopFailure, LoopRun
from resonance.services.space import Space
from tests.cli.test_cli_foundation import Cli
from tests.loop_seed import seed_loop


def test_loop_commands(tmp_path: Path) -> None:
    cli = Cli(tmp_path / "space")
    cli("init", "--operator", "operator", "--region", "Beijing")
    for org, role in [
        ("plant-a", "data_holder"),
        ("plant-b", "data_holder"),
        ("plant-c", "data_holder"),
        ("lab", "model_builder"),
        ("evaluator", "evaluator"),
    ]:
        cli("org", "add", org, "--role", role, "--region", "Jiangsu", actor="operator")
    space = Space.open(tmp_path / "space")
    seeded = seed_loop(space, tmp_path / "data", builder="lab")
    space.close()
    args = [f"--dataset={d}" for d in seeded.datasets] + [f"--reserve={r}" for r in seeded.reserves]
    run = cli.json(
        "loop", "run", "--name", "cli-loop", *args, "--budget", "40", "--suite", seeded.suite,
        "--iterations", "1", "-p", "n_estimators=30", "-p", "n_jobs=1", actor="lab",
    )  # fmt: skip
    assert run["status"] == "finished" and len(run["iterations"]) == 2
    assert run["summary"]["final_model"].startswith("cli-loop@")
    assert [r["name"] for r in cli.json("loop", "list")] == ["cli-loop"]
    assert "Iterations" in cli("loop", "show", "cli-loop").stdout
    shown = cli("dataset", "show", "cli-loop-data", actor="plant-a").stdout
    assert "registered by lab" in shown and "derived from steel-plant-" in shown
    derivation = cli.json("dataset", "show", "cli-loop-data")["derivation"]
    assert {s["ref"] for s in derivation["sources"]} >= {f"{d}@1" for d in seeded.datasets}
    assert cli.error("dataset", "read", "cli-loop-data", "-o", str(tmp_path / "y.csv"),
                     actor="lab")["code"] == "RES-120"  # fmt: skip
    out = tmp_path / "report.html"
    cli("loop", "report", "cli-loop", "--out", str(out))
    html = out.read_text()
    assert "loop-metric" in html and "loop-slices" in html
    assert "<script src=" not in html and len(html) > 1_000_000  # plotly.js embedded: offline
    # a data holder is no model builder; an unknown run is a stable error
    assert cli.error("loop", "run", "--name", "x", *args, "--budget", "5", "--suite",
                     seeded.suite, actor="plant-a")["code"].startswith("RES-")  # fmt: skip
    assert cli.error("loop", "show", "nope")["code"].startswith("RES-")


def test_loop_show_says_why_a_run_failed(tmp_path: Path) -> None:
    cli = Cli(tmp_path / "space")
    cli("init", "--operator", "operator", "--region", "Beijing")
    space = Space.open(tmp_path / "space")
    with space.work() as w:
        w.tx.add_loop_run(
            LoopRun(
                name="dead",
                created_by="operator",
                created_at=w.now,
                status=FAILED,
                suite="s",
                model="dead",
                dataset="dead-data",
                failure=LoopFailure("the process running the loop died", 0),
            )
        )
    space.close()
    out = cli("loop", "show", "dead").stdout
    assert "failed: the process running the loop died (last completed iteration: 0)" in out
    shown = cli.json("loop", "show", "dead")
    assert shown["config"]["failure"] == {
        "error": "the process running the loop died",
        "last_completed_iteration": 0,
    }
