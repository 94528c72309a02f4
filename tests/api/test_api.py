"""The REST API: bearer tokens, roles and policies through the services, one error shape."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from resonance.api.errors import status_of
from resonance.server import create_app
from resonance.services.space import Space
from tests.api.conftest import Api
from tests.conftest import STEEL_CSV, STEEL_LABELS
from tests.web.conftest import console_login

# Owner-only actions: the foundation reports them as a missing role (earlier: invalid input).
OWNER_ONLY = ("RES-122", "RES-100")


def assert_error(resp: Any, code: str | tuple[str, ...]) -> dict[str, Any]:
    """The response is the single JSON error shape with ``code`` and its catalog status."""
    body = resp.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "details"}, body
    codes = (code,) if isinstance(code, str) else code
    assert body["error"]["code"] in codes, body
    assert resp.status_code == status_of(body["error"]["code"]), body
    assert body["error"]["message"]
    return body["error"]


def test_health_and_openapi_need_no_token(api: Api) -> None:
    assert api.get("/health", org=None).json() == {"status": "ok"}
    spec = api.get("/openapi.json", org=None).json()
    assert "/datasets" in spec["paths"] and "/registries" in spec["paths"]
    assert spec["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"


@pytest.mark.parametrize(
    "path", ["/datasets", "/registries", "/quotas?province=Jiangsu", "/ledger", "/organizations"]
)
def test_every_resource_needs_a_token(api: Api, path: str) -> None:
    resp = api.get(path, org=None)
    assert_error(resp, "RES-121")
    assert resp.headers["www-authenticate"] == "Bearer"
    bad = api.client.get(path, headers={"Authorization": "Bearer res_0123456789abcdef_nope"})
    assert_error(bad, "RES-121")
    assert_error(api.client.get(path, headers={"Authorization": "Bearer junk"}), "RES-121")


def test_whoami_is_the_token_owner(api: Api) -> None:
    assert api.get("/organizations/me", org="builder").json()["name"] == "builder"


def test_catalog_and_lineage(api: Api) -> None:
    items = {d["name"]: d for d in api.get("/datasets").json()}
    assert items["steel-a"]["rows"] == 1941 and items["steel-a"]["latest"] == "steel-a@1"
    assert [d["name"] for d in api.get("/datasets?kind=specialized").json()] == ["steel-surface"]
    shown = api.get("/datasets/steel-a").json()
    assert shown["versions"][0]["schema"][0]["name"]
    assert api.get("/datasets/steel-a@1/lineage").json()[0]["ref"] == "steel-a@1"
    assert_error(api.get("/datasets/nope"), "RES-101")
    assert_error(api.get("/datasets/steel-a@x/lineage"), "RES-100")


def test_reads_go_through_the_usage_policy(api: Api) -> None:
    denied = api.get("/datasets/steel-a/rows?purpose=download", org="builder")
    err = assert_error(denied, "RES-120")
    assert err["details"]["rule"] == "default-deny"
    put = api.put(
        "/policies/steel-a", org="plant-a", json={"grants": ["builder:train-pooled,download"]}
    )
    assert put.status_code == 200 and put.json()["version"] == 2
    in_space = api.get("/datasets/steel-a/rows?purpose=train-pooled", org="builder")
    err = assert_error(in_space, "RES-120")  # train-pooled is work inside the space, not rows
    assert err["details"]["rule"] == "rows-leave-only-under-download"
    ok = api.get("/datasets/steel-a/rows?purpose=download&limit=3", org="builder").json()
    assert ok["returned"] == 3 and ok["rows"] == 1941
    csv = api.get("/datasets/steel-a/rows?purpose=download&limit=2&format=csv", org="builder")
    assert csv.headers["content-type"].startswith("text/csv") and len(csv.text.splitlines()) == 3
    assert_error(api.get("/datasets/steel-a/rows?purpose=fly", org="builder"), "RES-100")
    entries = api.get("/ledger?action=data.access_denied").json()
    assert entries and entries[0]["actor"] == "builder"
    check = api.get("/policies/steel-a/check?organization=builder&purpose=evaluate").json()
    assert check["effect"] == "deny"


def test_only_the_owner_sets_a_policy(api: Api) -> None:
    resp = api.put("/policies/steel-a", org="builder", json={"grants": []})
    assert_error(resp, OWNER_ONLY)


def test_role_denials(api: Api) -> None:
    body = {"name": "x-c", "industry": "steel", "members": []}
    err = assert_error(api.post("/consortia", org="builder", json=body), "RES-122")
    assert err["details"]["roles"] == ["operator"]
    assert api.post("/consortia", json=body).status_code == 201
    org = {"name": "newco", "roles": ["data_holder"], "region": "Hebei"}
    assert_error(api.post("/organizations", org="plant-a", json=org), "RES-122")
    assert api.post("/organizations", json=org).json()["name"] == "newco"
    city = {"province": "Hebei", "city": "Tangshan"}
    assert_error(api.post("/registries/key-cities", org="builder", json=city), "RES-122")
    # Jiangsu's authority acts only for Jiangsu
    assert_error(api.post("/registries/key-cities", org="authority", json=city), "RES-191")
    assert api.post("/registries/key-cities", json=city).status_code == 201
    city = {"province": "Jiangsu", "city": "Nanjing"}
    assert api.post("/registries/key-cities", org="authority", json=city).status_code == 201


def test_validation_errors_use_the_same_shape(api: Api) -> None:
    err = assert_error(api.post("/consortia", json={"name": 3}), "RES-100")
    assert err["details"]["errors"]
    assert_error(api.get("/ledger?limit=0"), "RES-100")
    assert_error(api.get("/no-such-route"), "RES-101")
    assert_error(api.post("/registries/key-industries", json={"holder_kind": "planet"}), "RES-100")


def test_ingest_by_upload(api: Api) -> None:
    form = {
        "industry": "steel",
        "kind": "common",
        "label_onehot": ",".join(STEEL_LABELS),
    }
    with STEEL_CSV.open("rb") as fh:
        resp = api.post(
            "/datasets/steel-b/versions",
            org="plant-b",
            data=form,
            files={"file": ("plates.csv", fh, "text/csv")},
        )
    assert resp.status_code == 201, resp.text
    assert resp.json()["ref"] == "steel-b@1" and resp.json()["rows"] == 1941
    with STEEL_CSV.open("rb") as fh:
        again = api.post(
            "/datasets/steel-b/versions",
            org="plant-a",
            files={"file": ("plates.csv", fh, "text/csv")},
        )
    assert_error(again, OWNER_ONLY)  # only the owner adds versions
    bad = api.post(
        "/datasets/steel-c/versions",
        org="builder",
        data={"industry": "steel"},
        files={"file": ("x.csv", b"a,b\n1,2\n", "text/csv")},
    )
    assert_error(bad, "RES-122")  # a model builder holds no data


def test_registries_quotas_and_reports(api: Api) -> None:
    regs = api.get("/registries").json()
    assert regs["common_datasets"][0]["name"] == "steel-a"
    assert api.get("/registries/cases").json()[0]["model"] == "surface-agent"
    assert_error(api.get("/registries/nope"), "RES-101")
    scenario = {
        "name": "ladle-life",
        "industry": "steel",
        "title": "Ladle lining life",
        "problem": "Unplanned relining",
        "value": "Fewer stoppages",
        "data_needed": "Thermal images",
        "model_needed": "Remaining-life regressor",
    }
    assert_error(api.post("/registries/scenarios", org="plant-a", json=scenario), "RES-122")
    made = api.post("/registries/scenarios", org="apps", json=scenario).json()
    assert made["owner"] == "apps" and made["status"] == "proposed"
    jump = api.put("/registries/scenarios/ladle-life/status", org="apps", json={"status": "landed"})
    assert_error(jump, "RES-193")  # no jump from proposed to landed
    for org, status in [
        ("authority", "approved"),
        ("apps", "in_progress"),
        ("authority", "landed"),
    ]:
        moved = api.put("/registries/scenario/ladle-life/status", org=org, json={"status": status})
        assert moved.status_code == 200, moved.text
    assert moved.json()["status"] == "landed"
    fixed = api.client.patch(
        "/registries/scenario/ladle-life",
        headers=api.headers["apps"],
        json={"changes": {"title": "Ladle lining remaining life"}},
    )
    assert fixed.json()["title"] == "Ladle lining remaining life"
    hist = api.get("/registries/scenario/ladle-life/history").json()
    assert [h["action"] for h in hist] == ["status"] * 3 + ["corrected"]
    case = {
        "name": "case-9",
        "model": "steel-fm",
        "adopter": "builder",
        "region": "Jiangsu",
        "description": "x",
        "evidence": "deployment:x",
    }
    assert_error(api.post("/registries/cases", org="apps", json=case), "RES-192")
    assert_error(
        api.post("/registries/cases", org="apps", json={**case, "region": "Mars"}), "RES-190"
    )
    quota = api.get("/quotas?province=Jiangsu").json()
    assert (
        quota["met"] is False
        and "province Jiangsu: 1 more resonance spaces (have 2)" in (quota["missing"])
    )
    assert_error(api.get("/quotas"), "RES-100")
    report = api.get("/reports/midterm?province=Jiangsu&as_of=2026-09-01").json()
    assert [d["state"] for d in report["deadlines"]] == ["overdue", "overdue", "upcoming"]
    md = api.get("/reports/plan?province=Jiangsu&format=md")
    assert md.text.startswith("# Implementation plan — province Jiangsu")
    html = api.get("/reports/summary?enterprise=sinosteel&format=html")
    assert "Summary report — enterprise sinosteel" in html.text
    body = {"province": "Jiangsu", "as_of": "2026-05-29"}
    assert_error(api.post("/reports/plan/submit", org="apps", json=body), "RES-122")
    # a back-dated submission is refused: submissions are stamped with the real time
    assert_error(api.post("/reports/plan/submit", org="authority", json=body), "RES-195")
    sub = api.post("/reports/plan/submit", org="authority", json={"province": "Jiangsu"}).json()
    assert sub["submitted_on"] == date.today().isoformat() and len(sub["content_hash"]) == 64
    assert sub["late"] is (date.today() > date(2026, 5, 30))
    later = api.get("/reports/midterm?province=Jiangsu&as_of=2026-06-01").json()
    assert later["preview"] is True
    assert [d["state"] for d in later["deadlines"]] == ["overdue", "upcoming", "upcoming"]
    assert api.get("/reports/submissions?subject=Jiangsu").json()[0]["kind"] == "plan"
    assert api.get("/ledger/verify").json()["ok"] is True


@pytest.mark.parametrize("filename", ["..", "../../x.csv", "", ".hidden.csv", "a b/ü.csv"])
def test_upload_names_cannot_escape(api: Api, filename: str) -> None:
    resp = api.post(
        "/datasets/odd/versions",
        org="plant-b",
        data={"industry": "steel"},
        files={"file": (filename, b"a,b\n1,2\n3,4\n", "text/csv")},
    )
    assert resp.status_code in (201, 422), resp.text
    if resp.status_code == 422:
        assert resp.json()["error"]["code"] in ("RES-100", "RES-110")


def test_tampering_shows_in_the_api_and_the_console(api: Api, seeded: Space) -> None:
    token = api.headers["authority"]["Authorization"].removeprefix("Bearer ")
    console_login(api.client, token)  # a server-side session, never the token in a cookie
    assert "intact" in api.client.get("/console/ledger").text
    with seeded.store.engine.begin() as conn:
        conn.execute(sa.text("UPDATE ledger SET actor = 'mallory' WHERE seq = 3"))
    report = api.get("/ledger/verify").json()
    assert report["ok"] is False and report["problems"][0]["seq"] == 3
    page = api.client.get("/console/ledger")
    assert page.status_code == 200 and "Chain tampered" in page.text
    assert "tampered" in api.client.get("/console/").text


def test_an_unreachable_store_answers_503(seeded: Space, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RESONANCE_DB_URL", "postgresql://nobody@127.0.0.1:9/nothing")
    with TestClient(create_app(seeded.root)) as client:
        resp = client.get("/datasets", headers={"Authorization": "Bearer res_0123456789abcdef_x"})
        assert client.get("/health").status_code == 200
    assert_error(resp, "RES-160")


def test_tokens_over_the_api(api: Api) -> None:
    made = api.post("/tokens", org="plant-a", json={"label": "etl"})
    assert made.status_code == 201 and made.json()["token"].startswith("res_")
    plain, token_id = made.json()["token"], made.json()["id"]
    mine = api.get("/tokens", org="plant-a").json()
    assert {t["organization"] for t in mine} == {"plant-a"} and all("token" not in t for t in mine)
    assert len(api.get("/tokens").json()) > len(mine)  # an operator sees every token
    other = api.post("/tokens", org="plant-a", json={"organization": "builder"})
    assert_error(other, "RES-122")
    header = {"Authorization": f"Bearer {plain}"}
    assert api.client.get("/organizations/me", headers=header).json()["name"] == "plant-a"
    assert_error(
        api.client.delete(f"/tokens/{token_id}", headers=api.headers["builder"]), "RES-122"
    )
    assert api.client.delete(f"/tokens/{token_id}", headers=header).json()["active"] is False
    assert_error(api.client.get("/organizations/me", headers=header), "RES-121")


def test_validate_and_industries(api: Api) -> None:
    with STEEL_CSV.open("rb") as fh:
        resp = api.post(
            "/datasets/validate",
            org="plant-a",
            data={"label_onehot": ",".join(STEEL_LABELS)},
            files={"file": ("plates.csv", fh, "text/csv")},
        )
    assert resp.status_code == 200 and resp.json()["ok"] is True and resp.json()["rows"] == 1941
    bad = api.post("/datasets/validate", files={"file": ("x.csv", b"a,b\n1\n", "text/csv")})
    assert_error(bad, "RES-110")
    assert len(api.get("/industries").json()) == 20
    assert len(api.get("/datasets").json()) == 2  # nothing was stored
