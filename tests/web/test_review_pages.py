"""The data holder's console: the review queue (decide with forms) and its home."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from resonance.api.app import create_app
from resonance.services import review as rv
from resonance.services import tokens
from resonance.services.space import Space
from tests.api.test_reviews_api import _propose


def test_holder_reviews_rows_side_by_side_and_decides(lite_space: Space, tmp_path: Path) -> None:
    space = lite_space
    _propose(space, tmp_path)
    holder, _ = tokens.create_token(space, actor="operator", organization="plant-a")
    builder, _ = tokens.create_token(space, actor="operator", organization="builder")
    ids = [i.id for i in rv.list_items(space, actor="plant-a")]
    with TestClient(create_app(space.root)) as client:
        client.cookies.set("resonance_token", holder, path="/console")
        home = client.get("/console/")
        assert home.status_code == 200 and "What is done with the data of plant-a" in home.text
        page = client.get("/console/reviews")
        assert page.status_code == 200
        assert all(i in page.text for i in ids) and "<th>x</th>" in page.text
        resp = client.post(
            "/console/reviews",
            data={"ids": ids[:2], "decision": "accept"},
            follow_redirects=True,
        )
        assert resp.status_code == 200 and "new version rows@2" in resp.text
        bad = client.post("/console/reviews", data={"ids": [ids[2]], "decision": "reject"})
        assert bad.status_code == 422  # a rejection needs a reason
        ok = client.post(
            "/console/reviews",
            data={"ids": [ids[2]], "decision": "reject", "reason": "records agree"},
            follow_redirects=True,
        )
        assert "1 rejected" in ok.text
        assert "rows@2" in client.get("/console/datasets/rows").text
        assert "accepted" in client.get("/console/datasets/rows").text
        mine = client.get("/console/my-data").text
        assert 'id="my-uses"' in mine
        client.cookies.set("resonance_token", builder, path="/console")
        assert "Overview" in client.get("/console/").text  # a builder's home is the overview
        page = client.get("/console/reviews", params={"status": ""})
        assert not any(i in page.text for i in ids)  # never another owner's rows
        assert client.get("/console/reviews", params={"status": "bogus"}).status_code == 422
