"""Bulk import of scenarios, cases and models: per-row report, all or nothing per file."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from resonance.cli.app import app
from resonance.domain.errors import BulkRejected, MalformedFile
from resonance.services import bulk, ledger, registry
from resonance.services.space import Space
from tests.conftest import org_token
from tests.registry_seed import seed

FIELDS = ["name", "industry", "title", "problem", "value", "data_needed", "model_needed"]


def scenario_rows(n: int, industry: str = "steel") -> list[dict[str, str]]:
    return [
        {
            "name": f"{industry}-s{i}",
            "industry": industry,
            "title": f"Scenario {i}",
            "problem": "Unplanned stops",
            "value": "Fewer stops",
            "data_needed": "Sensor logs",
            "model_needed": "A classifier",
        }
        for i in range(n)
    ]


def as_csv(rows: list[dict[str, str]]) -> bytes:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(rows[0]))
    w.writeheader()
    w.writerows(rows)
    return buf.getvalue().encode()


def test_a_file_imports_whole_or_not_at_all(lite_space: Space) -> None:
    seed(lite_space, datasets=False)
    before = len(registry.snapshot(lite_space).scenarios)
    rows = scenario_rows(30)
    rows[4]["industry"] = "tea"  # unknown industry
    rows[7]["name"] = rows[2]["name"]  # duplicate within the file
    rows[9]["title"] = ""  # missing field
    entries = len(ledger.entries(lite_space, limit=None))
    with pytest.raises(BulkRejected) as err:
        bulk.bulk_import(
            lite_space, actor="apps", registry="scenarios", content=as_csv(rows), fmt="csv"
        )
    report = err.value.details["rows"]
    assert err.value.code == "RES-196" and len(report) == 30
    bad = {r["row"]: r["code"] for r in report if not r["ok"]}
    assert bad == {5: "RES-100", 8: "RES-102", 10: "RES-100"}
    assert len(registry.snapshot(lite_space).scenarios) == before  # nothing stored
    assert len(ledger.entries(lite_space, limit=None)) == entries  # nothing ledgered
    rows = scenario_rows(30)
    done = bulk.bulk_import(
        lite_space, actor="apps", registry="scenarios", content=as_csv(rows), fmt="csv"
    )
    assert len(done) == 30 and all(r.ok for r in done)
    assert len(registry.snapshot(lite_space).scenarios) == before + 30


def test_yaml_cases_and_models_and_cli(lite_space: Space, tmp_path: Path) -> None:
    seed(lite_space, datasets=False)
    models = [{"name": "m-yaml", "industry": "steel", "kind": "industry"}]
    bulk.bulk_import(
        lite_space,
        actor="builder",
        registry="models",
        content=yaml.safe_dump(models).encode(),
        fmt="yaml",
    )
    cases = [
        {
            "name": "y1",
            "model": "m-yaml",
            "adopter": "mill-0",
            "region": "Jiangsu",
            "description": "line 1",
            "evidence": "deployment:a",
        },
        {
            "name": "y2",
            "model": "m-yaml",
            "adopter": "mill-1",
            "region": "Mars",
            "description": "line 2",
            "evidence": "deployment:b",
        },
    ]
    f = tmp_path / "cases.yaml"
    f.write_text(yaml.safe_dump({"cases": cases}))
    runner = CliRunner()
    res = runner.invoke(
        app,
        [
            "--space",
            str(lite_space.root),
            "--as",
            "apps",
            "--format",
            "json",
            "registry",
            "import",
            "cases",
            str(f),
        ],
        env={"RESONANCE_ACTOR": "", "RESONANCE_TOKEN": org_token(lite_space.root, "apps") or ""},
    )
    assert res.exit_code == 1
    err = json.loads(res.stdout)["error"]
    assert err["code"] == "RES-196"
    assert [r["code"] for r in err["details"]["rows"]] == ["", "RES-190"]
    assert registry.list_cases(lite_space, model="m-yaml") == []
    cases[1]["region"] = "Jiangsu"
    f.write_text(yaml.safe_dump(cases))
    res = runner.invoke(
        app,
        [
            "--space",
            str(lite_space.root),
            "--as",
            "apps",
            "--format",
            "json",
            "registry",
            "import",
            "cases",
            str(f),
        ],
        env={"RESONANCE_ACTOR": "", "RESONANCE_TOKEN": org_token(lite_space.root, "apps") or ""},
    )
    assert res.exit_code == 0, res.output
    assert [c.name for c in registry.list_cases(lite_space, model="m-yaml")] == ["y1", "y2"]
    with pytest.raises(MalformedFile):
        bulk.bulk_import(
            lite_space, actor="apps", registry="cases", content=b"- 1\n- 2", fmt="yaml"
        )
