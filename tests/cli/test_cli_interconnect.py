"""``resonance catalog export``, ``policy export-odrl|import-odrl``, ``peer`` and ``contract``
commands on one space (the two-space negotiation is tests/api/test_dsp_two_spaces.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.test_cli_foundation import Cli, setup_steel


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    c = Cli(tmp_path / "space")
    setup_steel(c)
    return c


def test_catalog_export_and_odrl_round_trip(cli: Cli, tmp_path: Path) -> None:
    cli("policy", "set", "steel-a", "--grant", "lab:evaluate:2099-12-31", actor="plant-a")
    doc = cli.json("catalog", "export", "--format", "dcat", actor="lab")
    assert doc["@type"] == "dcat:Catalog"
    assert [d["dct:identifier"] for d in doc["dcat:dataset"]] == ["steel-a"]
    assert doc["dcat:dataset"][0]["dcat:theme"]["@id"].endswith("/industry/steel")
    out = tmp_path / "cat.jsonld"
    cli("catalog", "export", "-o", str(out), actor="lab")
    assert json.loads(out.read_text())["dcat:dataset"][0]["rsn:rowCount"]["@value"] == 1941
    assert cli.error("catalog", "export", "--format", "csv", actor="lab")["code"] == "RES-100"

    odrl = cli.json("policy", "export-odrl", "steel-a")
    assert odrl["@type"] == "odrl:Set"
    odrl["odrl:permission"].append(
        {
            "odrl:action": {"@id": "rsn:train-pooled"},
            "odrl:assignee": {"@id": "urn:resonance:org:lab"},
        }
    )
    path = tmp_path / "policy.jsonld"
    path.write_text(json.dumps(odrl))
    policy = cli.json("policy", "import-odrl", "steel-a", str(path), actor="plant-a")
    assert policy["version"] == 2
    assert sorted(p for g in policy["grants"] for p in g["purposes"]) == [
        "evaluate",
        "train-pooled",
    ]
    odrl["odrl:permission"][0]["odrl:duty"] = [{"odrl:action": {"@id": "odrl:compensate"}}]
    path.write_text(json.dumps(odrl))
    err = cli.error("policy", "import-odrl", "steel-a", str(path), actor="plant-a")
    assert err["code"] == "RES-180" and err["details"]["term"] == "odrl:duty"
    assert cli.json("policy", "show", "steel-a")["version"] == 2


def test_peer_and_contract_commands(cli: Cli, tmp_path: Path) -> None:
    me = cli.json("peer", "identity", "--url", "http://127.0.0.1:9/dsp", actor="operator")
    assert me["url"] == "http://127.0.0.1:9/dsp" and "BEGIN PUBLIC KEY" in me["public_pem"]
    own = tmp_path / "own.pem"
    own.write_text(me["public_pem"])
    args = ("peer", "add", "self", "--url", "http://x:1/dsp", "--public-key", str(own))
    assert cli.error(*args, actor="operator")["code"] == "RES-100"  # its own key
    assert cli.json("peer", "list") == []
    assert cli.json("contract", "list") == []
    assert cli.error("contract", "show", "urn:uuid:nope")["code"] == "RES-101"
    err = cli.error(
        "contract", "request", "--peer", "nobody", "--dataset", "d", "-p", "evaluate",
        "--until", "2099-01-01", actor="lab",
    )  # fmt: skip
    assert err["code"] == "RES-101"
