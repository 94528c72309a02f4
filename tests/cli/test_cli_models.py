"""Model, suite and evaluation commands end to end; a builder never sees sealed rows."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.csv as pcsv
import pytest

from resonance.domain.policies import Purpose
from tests.cli.test_cli_foundation import Cli
from tests.conftest import STEEL_CSV, STEEL_LABELS
from tests.model_seed import assert_no_sealed_row, split_file

ONEHOT = ",".join(STEEL_LABELS)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Cli, Path]:
    """A space with steel training data, a sealed steel set, a trained model and two suites."""
    root = tmp_path_factory.mktemp("models")
    cli = Cli(root / "space")
    train_csv, eval_csv, _ = split_file(STEEL_CSV, root, eval_share=0.25)
    cli("init", "--operator", "operator", "--region", "Beijing")
    for org, role in [("plant-a", "data_holder"), ("lab", "model_builder"), ("judge", "evaluator")]:
        cli("org", "add", org, "--role", role, "--region", "Jiangsu", actor="operator")
    cli(
        "dataset", "ingest", str(train_csv), "--name", "steel-a", "--industry", "steel",
        "--label-onehot", ONEHOT, actor="plant-a",
    )  # fmt: skip
    cli(
        "dataset", "ingest", str(eval_csv), "--name", "steel-eval", "--kind", "evaluation",
        "--industry", "steel", "--label-onehot", ONEHOT, actor="judge",
    )  # fmt: skip
    cli("policy", "set", "steel-a", "--grant", "lab:train-pooled", actor="plant-a")
    model = cli.json(
        "model", "train", "--name", "steel-m", "--trainer", "lightgbm", "--dataset", "steel-a",
        "--param", "n_estimators=30", "--param", "n_jobs=1", "--seed", "1", actor="lab",
    )  # fmt: skip
    assert model["ref"] == "steel-m@1" and model["spec"]["params"]["n_estimators"] == 30
    for suite, budget in [("s", "3"), ("s2", "20")]:
        cli(
            "suite", "register", suite, "--dataset", "steel-eval", "--threshold", "macro_f1=0.6",
            "--metric", "accuracy", "--metric", "macro_f1", "--budget", budget, actor="judge",
        )  # fmt: skip
    return cli, eval_csv


def test_model_commands(trained: tuple[Cli, Path], tmp_path: Path) -> None:
    cli, _ = trained
    listed = cli.json("model", "list")
    assert [m["ref"] for m in listed] == ["steel-m@1"]
    shown = cli.json("model", "show", "steel-m@1")
    assert (
        shown["dataset_hashes"][0]
        == cli.json("dataset", "show", "steel-a")["versions"][0]["content_hash"]
    )
    assert "steel-m@1" in cli("model", "list").stdout
    assert "Holdout metrics" in cli("model", "show", "steel-m").stdout
    out = tmp_path / "card.md"
    written = cli.json("model", "card", "steel-m", "--out", str(out))
    assert written["out"] == str(out) and out.read_text().startswith("# Model card: steel-m@1")
    assert cli("model", "card", "steel-m").stdout == out.read_text()
    assert cli.error("model", "show", "nope")["code"] == "RES-101"
    train = ["model", "train", "--name", "x", "--dataset", "steel-a", "--trainer"]
    assert cli.error(*train, "lightgbm", "--param", "oops", actor="lab")["code"] == "RES-100"
    assert cli.error(*train, "sklearn-rf", actor="judge")["code"] == "RES-122"
    assert cli.error(*train, "nope", actor="lab")["code"] == "RES-100"


def test_suites_evaluation_diagnosis_and_budget(trained: tuple[Cli, Path]) -> None:
    cli, _ = trained
    suites = cli.json("suite", "list")
    assert [(s["name"], s["query_budget"], s["metrics"]) for s in suites] == [
        ("s", 3, ["accuracy", "macro_f1"]),
        ("s2", 20, ["accuracy", "macro_f1"]),
    ]
    assert "Evaluation suites" in cli("suite", "list").stdout
    run = cli.json("eval", "run", "steel-m", "--suite", "s", "--no-diagnose", actor="lab")
    assert run["diagnosis"] == {} and run["budget_left"] == 2 and set(run["passed"]) == {"macro_f1"}
    table = cli("eval", "diagnose", "steel-m", "--suite", "s", actor="lab").stdout
    # the same model again: the Ladder releases nothing new (no per-class figures either)
    for title in ("Metrics", "Not released", "Weak slices", "Suspected label errors", "Coverage"):
        assert title in table
    assert "Per class" not in table
    assert "1 queries left" in table
    diag = cli.json("eval", "diagnose", "steel-m@1", "--suite", "s", actor="lab")
    assert diag["budget_left"] == 0 and diag["diagnosis"]["slices"]
    error = cli.error("eval", "run", "steel-m", "--suite", "s", actor="lab")
    assert error["code"] == "RES-130" and error["details"]["budget"] == 3
    runs = cli.json("eval", "list", "--suite", "s")
    assert len(runs) == 3 and {r["model"] for r in runs} == {"steel-m@1"}
    assert "steel-m@1" in cli("eval", "list").stdout
    assert (
        cli.error("suite", "register", "s3", "--dataset", "steel-a", actor="judge")["code"]
        == "RES-100"
    )
    assert (
        cli.error("suite", "register", "s3", "--dataset", "steel-eval", actor="lab")["code"]
        == "RES-122"
    )
    assert "Evaluations on sealed suites" in cli("model", "card", "steel-m").stdout


def test_a_builder_never_reads_sealed_rows_through_the_cli(
    trained: tuple[Cli, Path], tmp_path: Path
) -> None:
    cli, eval_csv = trained
    sealed = pcsv.read_csv(eval_csv)
    before = len(cli.json("ledger", "show", "--action", "data.access_denied", "--limit", "1000"))
    for purpose in Purpose:
        out = tmp_path / f"{purpose.value}.csv"
        error = cli.error(
            "dataset", "read", "steel-eval", "--purpose", purpose.value, "-o", str(out), actor="lab"
        )
        assert error["code"] == "RES-120" and not out.exists()
    train = cli.error("model", "train", "--name", "leak", "--trainer", "sklearn-logreg",
                      "--dataset", "steel-eval", actor="lab")  # fmt: skip
    assert train["code"] == "RES-120"
    denied = cli.json("ledger", "show", "--action", "data.access_denied", "--limit", "1000")
    assert len(denied) == before + len(Purpose) + 1
    assert {e["actor"] for e in denied[before:]} == {"lab"}
    train_refs = {"steel-a@1"}
    outputs = [
        cli.json("eval", "diagnose", "steel-m", "--suite", "s2", actor="lab"),
        cli.json("eval", "list", actor="lab"),
        cli.json("model", "card", "steel-m", actor="lab"),
        cli.json("model", "show", "steel-m", actor="lab"),
        cli.json("suite", "list", actor="lab"),
        cli.json("ledger", "show", "--limit", "1000", actor="lab"),
        cli.json("dataset", "show", "steel-eval", actor="lab"),  # schema and profile only
        cli.json("dataset", "list", actor="lab"),
    ]
    for output in outputs:
        assert_no_sealed_row(output, sealed, train_refs=train_refs)
    issues = outputs[0]["diagnosis"]["label_issues"]
    # issue 9: the builder sees counts per member; the rows go to their owner (plant-a)
    assert issues["top"] == [] and issues["per_member"] == {"plant-a": issues["count"]}
    found = cli.json("ledger", "show", "--action", "diagnosis.label_issues", "--limit", "1000",
                     actor="plant-a")[-1]["payload"]  # fmt: skip
    assert found["owner"] == "plant-a" and {t["dataset"] for t in found["rows"]} == train_refs
    assert len(found["rows"]) == issues["count"]
    rows = cli.json("dataset", "show", "steel-a")["rows"]
    assert all(0 <= t["row"] < rows for t in found["rows"])
    text = cli("eval", "diagnose", "steel-m", "--suite", "s2", actor="lab").stdout
    assert_no_sealed_row({"text": text}, sealed, train_refs=train_refs)
    assert json.dumps(outputs[0]).count("steel-eval") == 0
