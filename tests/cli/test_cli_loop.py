"""``resonance loop run/list/show/report`` end to end on real steel data."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pcsv

from resonance.domain.loop_types import FAILED, LoopFailure, LoopRun
from resonance.services.space import Space
from tests.cli.test_cli_foundation import Cli
from tests.energy_seed import EXCLUDE, TARGET, energy_table
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
    # the acceptance test's options: a bad one is a coded error before any work
    bad = cli.error("loop", "run", "--name", "cli-loop", *args, "--budget", "40", "--suite",
                    seeded.suite, "--confidence", "1.5", actor="lab")  # fmt: skip
    assert bad["code"] == "RES-250"
    run = cli.json(
        "loop", "run", "--name", "cli-loop", *args, "--budget", "40", "--suite", seeded.suite,
        "--iterations", "1", "-p", "n_estimators=30", "-p", "n_jobs=1", "--confidence", "0.95",
        "--min-gain", "0.01", "--max-slice-drop", "0.1", "--queries-per-iteration", "1",
        actor="lab",
    )  # fmt: skip
    assert run["status"] == "finished" and len(run["iterations"]) == 2
    acceptance = run["config"]["acceptance"]
    assert (acceptance["confidence"], acceptance["min_gain"]) == (0.95, 0.01)
    assert (acceptance["max_slice_drop"], acceptance["queries_per_iteration"]) == (0.1, 1)
    assert run["iterations"][1]["queries"] == len(run["iterations"][1]["tried"]) <= 2
    assert "interval" in cli("loop", "show", "cli-loop").stdout  # each try's paired test
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


def test_a_regression_time_series_end_to_end_through_the_cli(tmp_path: Path) -> None:
    """A new user's path on steel-energy: ingest with --task regression, a group key and a
    time column; train with lag features, diagnose, run the loop, federate, value."""
    cli = Cli(tmp_path / "space")
    cli("init", "--operator", "operator", "--region", "Beijing")
    for org, role in [
        ("plant-a", "data_holder"),
        ("plant-b", "data_holder"),
        ("lab", "model_builder"),
        ("evaluator", "evaluator"),
    ]:
        cli("org", "add", org, "--role", role, "--region", "Jiangsu", actor="operator")
    table = energy_table(days=42)
    week = table["week"].to_numpy()
    (tmp_path / "data").mkdir()
    parts = {
        "energy-eval": ("evaluator", week == 3),
        "energy-a": ("plant-a", week == 1),
        "energy-b": ("plant-b", week >= 4),
        "energy-a-reserve": ("plant-a", week == 2),
    }
    for name, (owner, mask) in parts.items():
        path = tmp_path / "data" / f"{name}.csv"
        pcsv.write_csv(table.filter(pa.array(mask)), path)
        kind = "evaluation" if owner == "evaluator" else "common"
        cli(
            "dataset", "ingest", str(path), "--name", name, "--kind", kind, "--industry", "steel",
            "--label", TARGET, "--task", "regression", "--group-key", "day", "--time-column", "t",
            actor=owner,
        )  # fmt: skip
        if owner != "evaluator":
            cli("policy", "set", name, "--grant", "lab:train-pooled", "--grant",
                "lab:train-federated", actor=owner)  # fmt: skip
    assert cli.json("dataset", "show", "energy-a")["label"]["task"] == "regression"
    cli("suite", "register", "kwh", "--dataset", "energy-eval", "-m", "rmse", "-m", "mae",
        actor="evaluator")  # fmt: skip
    lag = ["--lag-column", TARGET, "--lag", "1", "--window", "4"]
    exclude = [f"--exclude={c}" for c in EXCLUDE]
    model = cli.json(
        "model", "train", "--name", "kwh", "--trainer", "lightgbm", "-d", "energy-a",
        "-d", "energy-b", "-p", "n_estimators=30", "-p", "n_jobs=1", *exclude, *lag, actor="lab",
    )  # fmt: skip
    assert model["spec"]["task"] == "regression" and f"{TARGET}__lag1" in model["feature_names"]
    diagnosis = cli.json("eval", "diagnose", "kwh", "--suite", "kwh", actor="lab")
    assert diagnosis["metrics"]["rmse"] > 0 and "per_class_recall" not in diagnosis["metrics"]
    assert diagnosis["diagnosis"]["label_issues"]["method"].startswith("out-of-fold residuals")
    shown = cli("eval", "diagnose", "kwh", "--suite", "kwh", actor="lab").stdout
    assert "Per class" not in shown and "Suspected target errors" in shown
    run = cli.json(
        "loop", "run", "--name", "kwh-loop", "-d", "energy-a", "-d", "energy-b",
        "-r", "energy-a-reserve", "--budget", "100", "--suite", "kwh", "--iterations", "1",
        "-p", "n_estimators=30", "-p", "n_jobs=1", *exclude, *lag, actor="lab",
    )  # fmt: skip
    assert run["status"] == "finished" and run["summary"]["direction"] == "lower"
    assert run["summary"]["primary_metric"] == "rmse" and run["summary"]["baseline"] > 0
    # -p task=... is not how a task is chosen: a coded error, not a trainer failure
    err = cli.error(
        "loop", "run", "--name", "x", "-d", "energy-a", "--budget", "5", "--suite", "kwh",
        "-p", "task=regression", actor="lab",
    )  # fmt: skip
    assert err["code"] == "RES-100" and "label spec" in err["message"]
    err = cli.error(
        "loop", "run", "--name", "x", "-d", "energy-a", "--budget", "5", "--suite", "kwh",
        "--task", "classification", actor="lab",
    )  # fmt: skip
    assert err["code"] == "RES-230" and "regression" in err["message"]
    fed = cli.json(
        "federate", "run", "--name", "kwh-fed", "-d", "energy-a", "-d", "energy-b",
        "--strategy", "fednewton", "--rounds", "3", *exclude, actor="lab",
    )  # fmt: skip
    assert fed["spec"]["task"] == "regression"
    value = cli.json("value", "kwh-fed", "--suite", "kwh", actor="lab")
    assert value["metric"].startswith("rmse reduction")
