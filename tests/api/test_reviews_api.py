"""``/reviews`` and ``/my-data`` over HTTP."""

from __future__ import annotations

from pathlib import Path

from resonance.domain.review import Evidence, Proposal, ProposalKind
from resonance.services import review as rv
from resonance.services.space import Space
from tests.api.conftest import Api


def _propose(space: Space, tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.csv as pcsv

    from resonance.domain.datasets import DatasetKind, LabelKind, LabelSpec
    from resonance.services import catalog

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
                     Evidence("steel-loop", 2, given_proba=p))
            for r, cur, new, p in [(0, "a", "b", 0.05), (1, "b", "a", 0.3), (2, "a", "b", 0.1)]
        ],
    )  # fmt: skip


def test_reviews_over_http(seeded: Space, api: Api, tmp_path: Path) -> None:
    _propose(seeded, tmp_path)
    items = api.get("/reviews", "plant-a").json()
    assert [i["row"] for i in items] == [0, 1, 2]
    assert api.get("/reviews", "builder").json() == []
    strong = api.get("/reviews", "plant-a", params={"strongest_first": True}).json()
    assert [i["row"] for i in strong] == [0, 2, 1]  # lowest p(current) first
    denied = api.get("/reviews", "builder", params={"owner": "plant-a"})
    assert denied.status_code == 403 and denied.json()["error"]["code"] == "RES-220"
    assert api.get("/reviews/counts", "builder").json() == {"plant-a": {"open": 3}}
    one = api.get(f"/reviews/{items[0]['id']}", "plant-a").json()
    assert one["values"] == {"x": 1.0, "y": "a"}
    assert api.get(f"/reviews/{items[0]['id']}", "plant-b").status_code == 403
    assert api.get("/reviews/nope", "plant-a").status_code == 422
    r = api.post(
        "/reviews/decisions",
        "plant-a",
        json={"decisions": [
            {"id": items[0]["id"], "decision": "accept"},
            {"id": items[1]["id"], "decision": "reject", "reason": "records say b"},
        ]},
    )  # fmt: skip
    assert r.status_code == 200, r.text
    assert r.json()["versions"] == ["rows@2"]
    again = api.post(
        "/reviews/decisions",
        "plant-a",
        json={"decisions": [{"id": items[0]["id"], "decision": "accept"}]},
    )
    assert again.status_code == 409 and again.json()["error"]["code"] == "RES-221"
    assert api.post("/reviews/delegations", "plant-a", json={"to": "plant-b"}).status_code == 200
    bulk = api.post(
        "/reviews/decisions",
        "plant-b",
        json={"where": {"loop": "steel-loop"}, "decision": "accept"},
    )
    assert bulk.status_code == 200 and bulk.json()["accepted"] == 1
    assert bulk.json()["versions"] == ["rows@3"]
    assert api.post("/reviews/apply/rows", "plant-a").json() == {"version": None}
    assert api.post("/reviews/apply/rows", "builder").status_code == 403
    shown = api.get("/datasets/rows", "plant-a").json()
    assert shown["latest"] == "rows@3"
    assert [v["status"] for v in shown["versions"]] == [None, "accepted", "accepted"]
    mine = api.get("/my-data", "plant-a").json()
    assert mine["reviews"] == {"accepted": 2, "rejected": 1}
    assert api.get("/my-data", "builder", params={"owner": "plant-a"}).status_code == 403
