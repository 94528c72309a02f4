"""Input hygiene through the API: bounded refs, formula cells neutralised in CSV."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from resonance.domain.datasets import DatasetKind
from resonance.domain.errors import InvalidInput
from resonance.services import catalog
from resonance.services.space import Space
from tests.api.conftest import Api, open_api

HUGE = "99999999999999999999"


@pytest.mark.parametrize(
    "path",
    [
        f"/models/m@{HUGE}",
        f"/datasets/steel-a@{HUGE}/lineage",
        f"/datasets/steel-a@{HUGE}/rows?purpose=download",
        "/datasets/steel-a@0/lineage",
        f"/reviews?dataset=steel-a&version={HUGE}",
    ],
)
def test_out_of_range_refs_are_422_not_500(api: Api, path: str) -> None:
    response = api.get(path, org="plant-a")
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "RES-100"


def test_formula_cells_are_neutralised_on_csv_export(space: Space, tmp_path: Path) -> None:
    src = tmp_path / "evil.csv"
    src.write_text(
        "id,note,value\n"
        "1,=cmd|' /C calc'!A0,1.5\n"
        "2,+SUM(A1:A9),2.5\n"
        "3,-2+3,3.5\n"
        "4,@HYPERLINK(x),4.5\n"
        "5,plain text,-5.5\n"
    )
    catalog.ingest(
        space,
        actor="plant-a",
        path=src,
        dataset="notes",
        new=catalog.NewDataset("plant-a", DatasetKind.COMMON, "steel"),
    )
    with open_api(space, ("plant-a",)) as api:
        response = api.get("/datasets/notes/rows?purpose=download&format=csv", org="plant-a")
        assert response.status_code == 200
        lines = response.text.splitlines()
        as_json = api.get("/datasets/notes/rows?purpose=download", org="plant-a").json()
    assert lines[1].startswith("1,\"'=cmd")
    assert lines[2].startswith("2,\"'+SUM") and lines[3].startswith("3,\"'-2+3")
    assert lines[4].startswith("4,\"'@HYPERLINK") and lines[5] == '5,"plain text",-5.5'
    assert "=cmd|' /C calc'!A0" in str(as_json)  # stored and JSON rows are unchanged


def test_parse_ref_bounds() -> None:
    from resonance.domain.refs import MAX_VERSION_NUMBER, parse_ref

    assert parse_ref(f"x@{MAX_VERSION_NUMBER}") == ("x", MAX_VERSION_NUMBER)
    for bad in (f"x@{HUGE}", f"x@{MAX_VERSION_NUMBER + 1}", "x@0", "x@-1", "x@1e3", "x@٣"):
        with pytest.raises(InvalidInput):
            parse_ref(bad)


def test_actions_return_a_signed_receipt_the_ledger_verifies(api: Api, seeded: Space) -> None:
    from resonance.api.receipts import HEADER, decode
    from resonance.services import ledger

    response = api.put(
        "/policies/steel-a", org="plant-a", json={"grants": ["builder:train-pooled"]}
    )
    assert response.status_code == 200, response.text
    receipts = decode(response.headers[HEADER])
    assert [r["organization"] for r in receipts] == ["plant-a"]
    assert receipts[0]["action"] == "policy.set"
    receipt = ledger.parse_receipt(json.dumps(receipts))
    assert ledger.verify_receipt(seeded, receipt).ok
    denied = api.get("/datasets/steel-a/rows?purpose=download", org="builder")
    assert denied.status_code == 403
    assert decode(denied.headers[HEADER])[0]["action"] == "data.access_denied"
    assert HEADER not in api.get("/datasets", org="builder").headers
