"""verify, ledger verify --receipt, --receipt-out and admin migrate-models through the CLI."""

from __future__ import annotations

import json
import os
import sqlite3
import time
from pathlib import Path

from tests.cli.test_cli_foundation import Cli, setup_steel


def test_receipt_out_then_verify_detects_a_wiped_ledger(tmp_path: Path) -> None:
    cli = Cli(tmp_path / "sp")
    setup_steel(cli)
    receipt = tmp_path / "receipt.json"
    cli("--receipt-out", str(receipt), "policy", "set", "steel-a", "--grant",
        "lab:train-pooled", actor="plant-a")  # fmt: skip
    kept = json.loads(receipt.read_text())
    assert kept[-1]["organization"] == "plant-a" and kept[-1]["action"] == "policy.set"
    assert cli.json("ledger", "verify", "--receipt", str(receipt))["ok"]
    assert cli.json("verify")["ok"]

    db = sqlite3.connect(tmp_path / "sp" / "space.db")
    with db:
        db.execute("DELETE FROM ledger")
        db.execute("DELETE FROM ledger_head")
        db.execute("DELETE FROM space_meta WHERE key = 'ledger_head_signed'")
    db.close()
    out = cli.json("ledger", "verify", "--receipt", str(receipt), ok=False)
    assert not out["ok"] and out["entries"] == 0
    assert "the entry the statement saw is missing" in [p["problem"] for p in out["problems"]]
    assert cli("ledger", "verify", "--receipt", str(receipt), ok=False).exit_code == 1


def test_verify_state_and_artifacts_report_edits(tmp_path: Path) -> None:
    cli = Cli(tmp_path / "sp")
    setup_steel(cli)
    assert cli.json("verify", "--state", "--artifacts")["ok"]
    db = sqlite3.connect(tmp_path / "sp" / "space.db")
    with db:
        db.execute("UPDATE organizations SET roles = '[\"operator\"]' WHERE name = 'lab'")
    db.close()
    out = cli.json("verify", "--state", ok=False)
    assert not out["ok"] and "artifacts" not in out
    assert [(d["area"], d["key"]) for d in out["state"]["differences"]] == [("roles", "lab")]
    parquet = next((tmp_path / "sp" / "artifacts" / "sha256").glob("*/*.parquet"))
    parquet.write_bytes(parquet.read_bytes()[:100])
    out = cli.json("verify", "--artifacts", ok=False)
    assert out["artifacts"]["problems"][0]["problem"] == "bytes do not match the address"
    assert cli.json("admin", "migrate-models", actor="operator") == []


def test_admin_recover_removes_only_stale_temp_files(tmp_path: Path) -> None:
    cli = Cli(tmp_path / "sp")
    cli("init", "--operator", "operator", "--region", "Beijing")
    tmp = tmp_path / "sp" / "artifacts" / "tmp"
    stale, fresh = tmp / "stale.parquet", tmp / "fresh.parquet"
    stale.write_bytes(b"half a file")
    fresh.write_bytes(b"being written")
    os.utime(stale, (time.time() - 3600, time.time() - 3600))
    out = cli.json("admin", "recover", actor="operator")
    assert out == {
        "temp_files_removed": 1,
        "loop_runs_failed": [],
        "review_applies_completed": [],
    }
    assert not stale.exists() and fresh.exists()


def test_admin_upgrade_store_fills_the_verdicts_of_an_older_store(tmp_path: Path) -> None:
    """A store made before ``0020_verdict`` (column dropped, its revision un-stamped, as an
    older release left it) is upgraded in place; the quota view counts its verdicts."""
    cli = Cli(tmp_path / "sp")
    setup_steel(cli)
    db = sqlite3.connect(tmp_path / "sp" / "space.db")
    with db:
        db.execute("ALTER TABLE dataset_versions DROP COLUMN verdict")
        db.execute("DELETE FROM alembic_version WHERE version_num = '0020_verdict'")
    db.close()
    assert cli("admin", "upgrade-store", actor="lab", ok=False).exit_code != 0  # operator only
    out = cli.json("admin", "upgrade-store", actor="operator")
    assert out["changed"] and "0020_verdict" in out["after"]
    assert "0020_verdict" not in out["before"]
    assert cli.json("admin", "upgrade-store", actor="operator")["changed"] is False
    db = sqlite3.connect(tmp_path / "sp" / "space.db")
    (verdict,) = db.execute("SELECT verdict FROM dataset_versions").fetchone()
    db.close()
    assert verdict in {"passed", "warnings"}
    entries = cli.json("ledger", "show", "--action", "space.store_upgraded", actor="operator")
    assert len(entries) == 1
