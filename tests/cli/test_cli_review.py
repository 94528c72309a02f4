"""``resonance review ...`` and ``resonance my-data`` end to end through Typer's CliRunner."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pcsv

from resonance.domain.datasets import DatasetKind, LabelKind, LabelSpec
from resonance.domain.review import Evidence, Proposal, ProposalKind
from resonance.services import catalog
from resonance.services import review as rv
from tests.cli.test_cli_foundation import Cli
from tests.conftest import make_space


def _space(tmp_path: Path) -> Path:
    root = tmp_path / "space"
    space = make_space(root)
    path = tmp_path / "rows.csv"
    pcsv.write_csv(pa.table({"x": [1.0, 2.0, 3.0, 4.0], "y": ["a", "b", "a", "b"]}), path)
    catalog.ingest(
        space,
        actor="plant-a",
        path=path,
        dataset="rows",
        new=catalog.NewDataset(
            "plant-a", DatasetKind.COMMON, "steel", label=LabelSpec(LabelKind.COLUMN, ("y",))
        ),
    )
    rv.propose(
        space,
        actor="builder",
        proposals=[
            Proposal("plant-a", "rows", 1, r, ProposalKind.RELABEL, cur, new,
                     Evidence("steel-loop", 1, given_proba=p, suggested_proba=0.8))
            for r, cur, new, p in [(0, "a", "b", 0.05), (1, "b", "a", 0.3), (2, "a", "b", 0.1)]
        ],
    )  # fmt: skip
    space.close()
    return root


def test_review_list_show_accept_reject_and_file(tmp_path: Path) -> None:
    cli = Cli(_space(tmp_path))
    items = cli.json("review", "list", actor="plant-a")
    assert [i["row"] for i in items] == [0, 1, 2]
    assert cli.json("review", "list", actor="builder") == []
    assert cli.error("review", "list", "--owner", "plant-a", actor="builder")["code"] == "RES-220"
    assert cli.json("review", "counts", actor="builder") == {"plant-a": {"open": 3}}
    shown = cli.json("review", "show", items[0]["id"], actor="plant-a")
    assert shown["values"] == {"x": 1.0, "y": "a"} and shown["evidence"][0]["loop"] == "steel-loop"
    assert "steel-loop" in cli("review", "show", items[0]["id"], actor="plant-a").stdout
    # bulk by filter: the most suspicious ones
    out = cli.json("review", "accept", "--max-given-proba", "0.2", actor="plant-a")
    assert out["accepted"] == 2 and out["versions"] == ["rows@2"]
    err = cli.error("review", "reject", items[0]["id"], "--reason", "no", actor="plant-a")
    assert err["code"] == "RES-221"
    decisions = tmp_path / "d.csv"
    decisions.write_text(f"id,decision,reason\n{items[1]['id']},reject,records say b\n")
    out = cli.json("review", "decide", str(decisions), actor="plant-a")
    assert out["rejected"] == 1 and out["versions"] == []
    assert cli.json("review", "list", actor="plant-a") == []
    rejected = cli.json("review", "list", "--status", "rejected", actor="plant-a")
    assert rejected[0]["reason"] == "records say b"
    table = cli("review", "list", "--status", "accepted", actor="plant-a").stdout
    assert "rows@1" in table and "p=0.05" in table
    shown = cli.json("dataset", "show", "rows", actor="plant-a")
    assert shown is not None
    mine = cli.json("my-data", actor="plant-a")
    assert mine["datasets"][0]["latest"] == "rows@2"
    assert mine["reviews"] == {"accepted": 2, "rejected": 1}
    assert "review queue" in cli("my-data", actor="plant-a").stdout
    assert cli.error("my-data", "--owner", "plant-a", actor="builder")["code"] == "RES-122"


def test_delegate_and_bad_input(tmp_path: Path) -> None:
    cli = Cli(_space(tmp_path))
    first = cli.json("review", "list", actor="plant-a")[0]["id"]
    assert cli.error("review", "accept", first, actor="plant-b")["code"] == "RES-220"
    cli("review", "delegate", "plant-b", actor="plant-a")
    out = cli.json("review", "accept", first, "--value", "b", "--no-apply", actor="plant-b")
    assert out["decided"][0]["decided_by"] == "plant-b" and out["versions"] == []
    assert cli.json("review", "apply", "rows", actor="plant-a") == {"version": "rows@2"}
    assert cli.json("review", "apply", "rows", actor="plant-a") == {"version": None}
    assert cli.json("review", "delegate", "plant-b", "--revoke", actor="plant-a") == {
        "revoked": True
    }
    assert cli.error("review", "list", "--status", "bogus", actor="plant-a")["code"] == "RES-100"
    assert cli.error("review", "accept", actor="plant-a")["code"] == "RES-100"
    bad = tmp_path / "bad.csv"
    bad.write_text("id,verdict\nx,y\n")
    assert cli.error("review", "decide", str(bad), actor="plant-a")["code"] == "RES-222"
