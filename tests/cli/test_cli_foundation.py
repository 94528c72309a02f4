"""The foundation commands end to end through Typer's CliRunner."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pyarrow.csv as pcsv
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner, Result

from resonance.cli.app import app
from tests.conftest import STEEL_CSV, STEEL_LABELS, org_token

runner = CliRunner()


class Cli:
    """Runs ``resonance --space ROOT ...`` and parses ``--format json`` output."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def __call__(self, *args: str, actor: str | None = None, ok: bool = True) -> Result:
        """Run as ``actor`` with its token (RESONANCE_TOKEN); without an actor, as whoever
        is logged in to the space (``init`` logs the operator in)."""
        prefix = ["--space", str(self.root)] + (["--as", actor] if actor else [])
        token = (org_token(self.root, actor) if actor else None) or ""
        env = {"RESONANCE_ACTOR": "", "RESONANCE_TOKEN": token}
        result = runner.invoke(app, [*prefix, *args], env=env)
        if ok:
            assert result.exit_code == 0, result.output
        return result

    def json(self, *args: str, actor: str | None = None, ok: bool = True) -> Any:
        result = self("--format", "json", *args, actor=actor, ok=ok)
        return json.loads(result.stdout)

    def error(self, *args: str, actor: str | None = None) -> dict[str, Any]:
        result = self("--format", "json", *args, actor=actor, ok=False)
        assert result.exit_code == 1, result.output
        body = json.loads(result.stdout)
        assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}
        return body["error"]


def setup_steel(cli: Cli, db_url: str | None = None) -> None:
    cli("init", "--operator", "operator", "--region", "Beijing", *_db(db_url))
    cli("org", "add", "plant-a", "--role", "data_holder", "--region", "Jiangsu", actor="operator")
    cli("org", "add", "lab", "--role", "model-builder", "--region", "Shanghai", actor="operator")
    org_token(cli.root, "lab")  # its token, issued before the walkthrough's ledger entries
    cli(
        "consortium", "create", "steel-c", "--industry", "steel",
        "-m", "plant-a:data", "-m", "lab:model", actor="operator",
    )  # fmt: skip
    cli(
        "dataset", "ingest", str(STEEL_CSV), "--name", "steel-a", "--industry", "steel",
        "--label-onehot", ",".join(STEEL_LABELS), actor="plant-a",
    )  # fmt: skip


def _db(db_url: str | None) -> list[str]:
    return ["--db-url", db_url] if db_url else []


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return Cli(tmp_path / "space")


def test_the_readme_walkthrough(cli: Cli, tmp_path: Path, db_url: str) -> None:
    setup_steel(cli, db_url)
    cli(
        "policy",
        "set",
        "steel-a",
        "--grant",
        "lab:train-pooled,evaluate:2099-12-31",
        actor="plant-a",
    )

    policy = cli.json("policy", "show", "steel-a")
    assert policy["version"] == 1 and policy["set_by"] == "plant-a"
    assert policy["grants"] == [
        {"organization": "lab", "purposes": ["evaluate", "train-pooled"], "until": "2099-12-31"}
    ]
    assert "lab" in cli("policy", "show", "steel-a").stdout
    decision = cli.json("policy", "check", "steel-a", "--org", "lab", "--purpose", "download")
    assert decision["effect"] == "deny" and decision["rule"] == "default-deny"
    denied = cli.error(
        "dataset", "read", "steel-a", "--purpose", "download", "-o", str(tmp_path / "x.csv"),
        actor="lab",
    )  # fmt: skip
    assert denied["code"] == "RES-120" and denied["details"]["ref"] == "steel-a@1"
    assert not (tmp_path / "x.csv").exists()
    out = str(tmp_path / "x.parquet")
    in_space = cli.error(
        "dataset", "read", "steel-a", "--purpose", "train-pooled", "-o", out, actor="lab"
    )  # issue 9: train-pooled runs the platform's work inside the space; it releases no rows
    assert in_space["code"] == "RES-120" and not Path(out).exists()
    assert in_space["details"]["rule"] == "rows-leave-only-under-download"
    cli("policy", "set", "steel-a", "--grant", "lab:train-pooled,evaluate,download:2099-12-31",
        actor="plant-a")  # fmt: skip
    read = cli.json("dataset", "read", "steel-a", "-o", out, actor="lab")
    assert read == {"ref": "steel-a@1", "rows": 1941, "out": out}
    assert pq.read_table(tmp_path / "x.parquet").num_rows == 1941

    actions = [e["action"] for e in cli.json("ledger", "show", "--limit", "100")]
    assert actions[-5:] == [
        "policy.set", "data.access_denied", "data.access_denied", "policy.set", "data.accessed"
    ]  # fmt: skip
    assert cli.json("ledger", "verify") == {"ok": True, "entries": len(actions), "problems": []}
    assert "ledger intact" in cli("ledger", "verify").stdout
    newest = [e["seq"] for e in cli.json("ledger", "show", "--limit", "2")]
    assert newest == [len(actions) - 1, len(actions)]  # the most recent, in chain order
    assert [e["seq"] for e in cli.json("ledger", "show", "--first", "--limit", "2")] == [1, 2]
    assert "steel-a" in cli("dataset", "list").stdout


def test_json_output_of_the_catalog(cli: Cli) -> None:
    setup_steel(cli)

    listing = cli.json("dataset", "list")
    shown = cli.json("dataset", "show", "steel-a")
    lineage = cli.json("dataset", "lineage", "steel-a@1")
    orgs = cli.json("org", "list")
    consortia = cli.json("consortium", "list", "--industry", "steel")
    industries = cli.json("industry", "list")

    assert [(d["name"], d["owner"], d["latest"], d["rows"]) for d in listing] == [
        ("steel-a", "plant-a", "steel-a@1", 1941)
    ]
    assert shown["label"] == {
        "kind": "one_hot",
        "columns": STEEL_LABELS,
        "task": "classification",
    }
    (version,) = shown["versions"]
    assert version["schema"][0] == {"name": "X_Minimum", "type": "int64", "nullable": True}
    assert version["validation"]["ok"] and version["profile"]["label_distribution"]
    assert [v["ref"] for v in lineage] == ["steel-a@1"]
    assert [o["name"] for o in orgs] == ["lab", "operator", "plant-a"]
    assert len(industries) == 20 and {"id": "steel", "name": "Steel"} in industries
    assert consortia[0]["members"] == [
        {"organization": "lab", "roles": ["model"]},
        {"organization": "plant-a", "roles": ["data"]},
    ]
    policy = cli.json("policy", "show", "steel-a")
    assert policy is None
    assert "no policy set" in cli("policy", "show", "steel-a").stdout


def test_reingest_reports_unchanged(cli: Cli) -> None:
    setup_steel(cli)
    again = cli.json("dataset", "ingest", str(STEEL_CSV), "--name", "steel-a", actor="plant-a")
    assert again["created"] is False and again["ref"] == "steel-a@1"
    assert (
        "unchanged"
        in cli("dataset", "ingest", str(STEEL_CSV), "-n", "steel-a", actor="plant-a").stdout
    )


def test_errors_have_stable_codes_and_exit_status_1(cli: Cli, tmp_path: Path) -> None:
    setup_steel(cli)
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("a,b\n1,2\n3\n")
    other = tmp_path / "other.csv"
    pcsv.write_csv(pcsv.read_csv(STEEL_CSV).drop_columns(["Edges_Index"]), other)
    cases = {
        "RES-101": (("dataset", "show", "nope"), None),
        "RES-110": (
            ("dataset", "ingest", str(ragged), "-n", "bad", "--industry", "steel"),
            "plant-a",
        ),
        "RES-112": (("dataset", "ingest", str(other), "-n", "steel-a"), "plant-a"),
        "RES-100": (("consortium", "create", "c2", "--industry", "textiles"), "operator"),
        "RES-102": (("org", "add", "lab", "-r", "evaluator", "--region", "Hubei"), "operator"),
        "RES-122": (("org", "add", "x", "-r", "evaluator", "--region", "Hubei"), "plant-a"),
        "RES-190": (("org", "add", "y", "-r", "evaluator", "--region", "Mars"), "operator"),
    }
    for code, (args, actor) in cases.items():
        error = cli.error(*args, actor=actor)
        assert error["code"] == code, error
    human = cli("dataset", "show", "nope", ok=False)
    assert human.exit_code == 1 and "RES-101" in human.stderr
    assert cli.json("ledger", "verify")["ok"]


def test_read_into_a_missing_folder_fails_before_anything_is_recorded(
    cli: Cli, tmp_path: Path
) -> None:
    setup_steel(cli)
    length = len(cli.json("ledger", "show", "--limit", "1000"))
    for out in (tmp_path / "missing" / "x.csv", tmp_path / "x.txt"):
        error = cli.error("dataset", "read", "steel-a", "-o", str(out), actor="plant-a")
        assert error["code"] == "RES-100"
    assert len(cli.json("ledger", "show", "--limit", "1000")) == length


def test_commands_without_a_space_say_so(cli: Cli) -> None:
    error = cli.error("dataset", "list")
    assert error["code"] == "RES-160" and "resonance init" in error["message"]


def test_init_refuses_an_existing_space_and_a_bad_operator(cli: Cli, tmp_path: Path) -> None:
    cli("init")
    assert cli.error("init")["code"] == "RES-102"
    bad = Cli(tmp_path / "other")
    assert bad.error("init", "--operator", "Not A Slug")["code"] == "RES-100"
    assert not (tmp_path / "other" / "resonance.toml").exists()


def test_default_actor_is_the_operator(cli: Cli) -> None:
    cli("init", "--operator", "op")
    added = cli.json("org", "add", "plant", "-r", "data_holder", "--region", "Hebei")
    assert added["name"] == "plant"
    entry = cli.json("ledger", "show", "--action", "organization.registered")[-1]
    assert entry["actor"] == "op"


@pytest.fixture
def tampered(cli: Cli) -> Cli:
    setup_steel(cli)
    assert cli.json("ledger", "verify")["ok"]
    return cli


def _sqlite(cli: Cli, sql: str) -> None:
    with sqlite3.connect(cli.root / "space.db") as conn:
        conn.execute(sql)


def test_ledger_verify_fails_after_an_entry_is_edited(tampered: Cli) -> None:
    _sqlite(tampered, "UPDATE ledger SET actor = 'mallory' WHERE seq = 2")

    report = tampered.json("ledger", "verify", ok=False)
    result = tampered("ledger", "verify", ok=False)

    assert result.exit_code == 1 and "ledger tampered" in result.stdout
    assert not report["ok"]
    assert report["problems"] == [{"seq": 2, "problem": "content edited (hash mismatch)"}]


def test_ledger_verify_fails_after_an_entry_is_deleted(tampered: Cli) -> None:
    _sqlite(tampered, "DELETE FROM ledger WHERE seq = 3")

    report = tampered.json("ledger", "verify", ok=False)

    assert tampered("ledger", "verify", ok=False).exit_code == 1
    assert {p["problem"] for p in report["problems"]} == {
        "sequence gap or reorder",
        "broken back-link",
    }


def test_ledger_verify_fails_after_the_last_entry_is_deleted(tampered: Cli) -> None:
    last = tampered.json("ledger", "show", "--limit", "1000")[-1]["seq"]
    _sqlite(tampered, f"DELETE FROM ledger WHERE seq = {last}")

    report = tampered.json("ledger", "verify", ok=False)

    assert report["problems"][0]["problem"] == "entries missing at the tail"
