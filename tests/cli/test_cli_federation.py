"""``resonance federate run`` and ``resonance value`` end to end on the embedded space."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pcsv

from resonance.training.features import label_values
from tests.cli.test_cli_foundation import Cli
from tests.conftest import STEEL_CSV, STEEL_LABELS
from tests.federation_seed import non_iid_parts
from tests.model_seed import split_file, steel_label

ONEHOT = ",".join(STEEL_LABELS)


def test_federate_then_value_with_a_statement(tmp_path: Path) -> None:
    cli = Cli(tmp_path / "space")
    train_csv, eval_csv, _ = split_file(STEEL_CSV, tmp_path, eval_share=0.25)
    cli("init", "--operator", "operator", "--region", "Beijing")
    for org, role in [("plant-a", "data_holder"), ("plant-b", "data_holder"),
                      ("lab", "model_builder"), ("judge", "evaluator")]:  # fmt: skip
        cli("org", "add", org, "--role", role, "--region", "Jiangsu", actor="operator")
    table = pcsv.read_csv(train_csv)
    parts = non_iid_parts(label_values(table, steel_label()).astype(str), 2)
    for org, idx in zip(["plant-a", "plant-b"], parts, strict=True):
        path = tmp_path / f"{org}.csv"
        pcsv.write_csv(table.take(pa.array(idx)), path)
        cli(
            "dataset", "ingest", str(path), "--name", f"steel-{org}", "--industry", "steel",
            "--label-onehot", ONEHOT, actor=org,
        )  # fmt: skip
    cli(
        "dataset", "ingest", str(eval_csv), "--name", "steel-eval", "--kind", "evaluation",
        "--industry", "steel", "--label-onehot", ONEHOT, actor="judge",
    )  # fmt: skip
    cli("suite", "register", "s", "--dataset", "steel-eval", actor="judge")
    model = cli.json(
        "federate", "run", "--name", "fed", "-d", "steel-plant-a", "-d", "steel-plant-b",
        "--strategy", "fedprox", "--rounds", "3", "--dp-noise", "0.5", "--dp-clip", "10",
        actor="lab",
    )  # fmt: skip
    assert model["ref"] == "fed@1"
    assert model["details"]["federated"]["differential_privacy"]["epsilon"] > 0
    human = cli("federate", "run", "--name", "fed", "-d", "steel-plant-a", "-d",
                "steel-plant-b", "--rounds", "2", actor="lab").stdout  # fmt: skip
    assert "fed@2" in human and "plant-b" in human
    secure = cli.json(
        "federate", "run", "--name", "fed", "-d", "steel-plant-a", "-d", "steel-plant-b",
        "--rounds", "1", "--secure-aggregation", actor="lab",
    )  # fmt: skip
    assert "SecAgg+" in secure["details"]["federated"]["secure_aggregation"]
    out = tmp_path / "statement.html"
    values = cli.json("value", "fed@1", "--suite", "s", "--statement", str(out), actor="lab")
    assert set(values["members"]) == {"plant-a", "plant-b"}
    assert "<td>plant-a</td>" in out.read_text()
    text = cli("value", "fed@1", "--suite", "s", actor="lab").stdout
    assert "Contributions" in text and "higher = more valuable" in text
    error = cli.error("federate", "run", "--name", "x", "-d", "steel-plant-a", actor="lab")
    assert error["code"].startswith("RES-")
