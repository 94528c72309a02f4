"""The data holder's console: the review queue (decide with forms) and its home."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from resonance.domain.review import ReviewStatus
from resonance.server import create_app
from resonance.services import review as rv
from resonance.services import tokens
from resonance.services.space import Space
from tests.api.test_reviews_api import _propose
from tests.web.conftest import console_login


def test_holder_reviews_rows_side_by_side_and_decides(lite_space: Space, tmp_path: Path) -> None:
    space = lite_space
    _propose(space, tmp_path)
    holder, _ = tokens.create_token(space, actor="operator", organization="plant-a")
    builder, _ = tokens.create_token(space, actor="operator", organization="builder")
    ids = [i.id for i in rv.list_items(space, actor="plant-a")]
    with TestClient(create_app(space.root)) as client:
        csrf = console_login(client, holder)
        home = client.get("/console/")
        assert home.status_code == 200 and "What is done with the data of plant-a" in home.text
        assert 'href="/console/holder"' in home.text and 'href="/console/reviews"' in home.text
        workspace = client.get("/console/holder").text
        queue = workspace.split('id="review-queue"')[1].split("</table>")[0]
        assert "rows@1" in queue and "<td>3</td>" in queue  # three open items, one version
        assert 'href="/console/my-data"' in workspace and 'href="/console/reviews"' in workspace
        page = client.get("/console/reviews")
        assert page.status_code == 200
        assert all(i in page.text for i in ids) and "<th>x</th>" in page.text
        assert f'name="csrf" value="{csrf}"' in page.text.split('id="review-form"')[1]
        # a decision without the session's CSRF token (or from another site) changes nothing
        forged = client.post("/console/reviews", data={"ids": ids[:2], "decision": "accept"})
        assert forged.status_code == 403 and "RES-210" in forged.text
        foreign = client.post(
            "/console/reviews",
            data={"ids": ids[:2], "decision": "accept", "csrf": csrf},
            headers={"Origin": "https://evil.example"},
        )
        assert foreign.status_code == 403 and "RES-210" in foreign.text
        assert {i.status for i in rv.list_items(space, actor="plant-a")} == {ReviewStatus.OPEN}
        resp = client.post(
            "/console/reviews",
            data={"ids": ids[:2], "decision": "accept", "csrf": csrf},
            follow_redirects=True,
        )
        assert resp.status_code == 200 and "new version rows@2" in resp.text
        bad = client.post(
            "/console/reviews", data={"ids": [ids[2]], "decision": "reject", "csrf": csrf}
        )
        assert bad.status_code == 422  # a rejection needs a reason
        ok = client.post(
            "/console/reviews",
            data={"ids": [ids[2]], "decision": "reject", "reason": "records agree", "csrf": csrf},
            follow_redirects=True,
        )
        assert "1 rejected" in ok.text
        assert "rows@2" in client.get("/console/datasets/rows").text
        assert "accepted" in client.get("/console/datasets/rows").text
        mine = client.get("/console/my-data").text
        assert 'id="my-uses"' in mine
        assert "No proposals yet" in client.get("/console/holder").text  # all decided
    with TestClient(create_app(space.root)) as other:
        console_login(other, builder)
        assert "Overview" in other.get("/console/").text  # a builder's home is the overview
        page = other.get("/console/reviews", params={"status": ""})
        assert not any(i in page.text for i in ids)  # never another owner's rows
        assert other.get("/console/reviews", params={"status": "bogus"}).status_code == 422
