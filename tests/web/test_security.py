"""The hardened console: escaping, CSP/XFO, CSRF, POST-only logout, server-side sessions."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from resonance.domain.orgs import Role
from resonance.server import create_app
from resonance.services import orgs, tokens
from resonance.services.space import Space
from tests.web.conftest import console_login, csrf_of

XSS = "<script>alert(1)</script>"


@pytest.fixture
def op_space(tmp_path: Path) -> Iterator[tuple[Space, str, str]]:
    space = Space.init(tmp_path / "sec")
    orgs.register_organization(
        space, actor=None, name="op", roles=frozenset({Role.OPERATOR}), region="Beijing"
    )
    orgs.register_organization(
        space, actor="op", name="gov", roles=frozenset({Role.AUTHORITY}), region="Jiangsu"
    )
    plain, stored = tokens.create_token(space, actor="op", organization="op")
    yield space, plain, stored.id
    space.close()


@pytest.fixture
def client(op_space: tuple[Space, str, str]) -> Iterator[TestClient]:
    with TestClient(create_app(op_space[0].root), base_url="http://testserver") as c:
        yield c


def test_reflected_xss_in_a_report_is_escaped(
    op_space: tuple[Space, str, str], client: TestClient
) -> None:
    console_login(client, op_space[1])
    resp = client.get("/console/reports/midterm", params={"province": XSS})
    # not a province (RES-190): the error page names the value, escaped
    assert resp.status_code == 422 and "RES-190" in resp.text
    assert XSS not in resp.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in resp.text
    api = client.get(
        "/reports/midterm",
        params={"province": XSS, "format": "html"},
        headers={"Authorization": f"Bearer {op_space[1]}"},
    )
    # the API refuses it as JSON (never HTML), so a browser never renders the value
    assert api.status_code == 422 and api.headers["content-type"].startswith("application/json")
    assert api.json()["error"]["code"] == "RES-190"


def test_console_pages_carry_csp_and_frame_headers(
    op_space: tuple[Space, str, str], client: TestClient
) -> None:
    for path in ("/console/login", "/console/static/console.js"):
        resp = client.get(path)
        assert resp.headers["X-Frame-Options"] == "DENY", path
        csp = resp.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
    console_login(client, op_space[1])
    home = client.get("/console/")
    assert home.headers["X-Frame-Options"] == "DENY"
    assert "Content-Security-Policy" in home.headers
    # no inline script on any page: every <script> has a src
    for path in ("/console/", "/console/ledger", "/console/reports/plan?province=Jiangsu"):
        text = client.get(path).text
        assert text.count("<script") == text.count("<script src="), path


def test_login_without_csrf_is_refused(
    op_space: tuple[Space, str, str], client: TestClient
) -> None:
    client.get("/console/login")  # sets the login CSRF cookie
    resp = client.post("/console/login", data={"token": op_space[1], "csrf": "forged"})
    assert resp.status_code == 403 and "RES-210" in resp.text
    assert "resonance_session" not in client.cookies
    # the right token from another origin is refused too
    form = client.get("/console/login")
    resp = client.post(
        "/console/login",
        data={"token": op_space[1], "csrf": csrf_of(form.text)},
        headers={"Origin": "http://evil.example"},
    )
    assert resp.status_code == 403 and "resonance_session" not in client.cookies


def test_forms_without_the_session_csrf_token_are_refused(
    op_space: tuple[Space, str, str], client: TestClient
) -> None:
    space = op_space[0]
    csrf = console_login(client, op_space[1])
    data = {"name": "newco", "region": "Hebei", "roles": ["data_holder"]}
    refused = client.post("/console/organizations", data=data, follow_redirects=False)
    assert refused.status_code == 403 and "RES-210" in refused.text
    wrong = client.post(
        "/console/organizations", data={**data, "csrf": "x" * 43}, follow_redirects=False
    )
    assert wrong.status_code == 403
    assert [o.name for o in orgs.list_organizations(space)] == ["gov", "op"]
    ok = client.post("/console/organizations", data={**data, "csrf": csrf}, follow_redirects=False)
    assert ok.status_code == 303, ok.text[:300]
    assert "newco" in [o.name for o in orgs.list_organizations(space)]


def test_logout_is_post_only_and_ends_the_session(
    op_space: tuple[Space, str, str], client: TestClient
) -> None:
    csrf = console_login(client, op_space[1])
    sid = client.cookies["resonance_session"]
    assert client.get("/console/logout", follow_redirects=False).status_code == 405
    assert client.get("/console/", follow_redirects=False).status_code == 200
    assert client.post("/console/logout", follow_redirects=False).status_code == 403
    out = client.post("/console/logout", data={"csrf": csrf}, follow_redirects=False)
    assert out.status_code == 303
    # the old session id no longer opens anything, even if the browser kept it
    client.cookies.set("resonance_session", sid, path="/console")
    again = client.get("/console/", follow_redirects=False)
    assert again.status_code == 303 and "/console/login" in again.headers["location"]


def test_the_cookie_holds_a_session_id_not_the_token(
    op_space: tuple[Space, str, str], client: TestClient
) -> None:
    space, plain, token_id = op_space
    form = client.get("/console/login")
    resp = client.post(
        "/console/login",
        data={"token": plain, "csrf": csrf_of(form.text)},
        follow_redirects=False,
    )
    assert resp.status_code == 303
    cookie = resp.headers["set-cookie"]
    assert "resonance_session=" in cookie
    assert "httponly" in cookie.lower() and "samesite=lax" in cookie.lower()
    assert plain not in cookie and plain.split("_", 2)[2] not in cookie  # the secret (may hold "_")
    sid = client.cookies["resonance_session"]
    # stored server-side as a hash only
    with space.store.transaction() as tx:
        stored = tx.get_console_session(hashlib.sha256(sid.encode()).hexdigest())
        assert stored is not None and stored.organization == "op"
        assert tx.get_console_session(sid) is None
    # revoking the token ends the session
    tokens.revoke_token(space, actor="op", token_id=token_id)
    assert client.get("/console/", follow_redirects=False).status_code == 303


def test_secure_cookie_over_https(op_space: tuple[Space, str, str]) -> None:
    with TestClient(create_app(op_space[0].root), base_url="https://console.test") as c:
        form = c.get("/console/login")
        assert "secure" in form.headers["set-cookie"].lower()
        resp = c.post(
            "/console/login",
            data={"token": op_space[1], "csrf": csrf_of(form.text)},
            follow_redirects=False,
        )
        cookie = resp.headers["set-cookie"]
        assert "resonance_session=" in cookie and "secure" in cookie.lower()


def test_api_errors_stay_json(client: TestClient) -> None:
    resp = client.get("/datasets/nope", headers={"Authorization": "Bearer res_0123456789abcdef_x"})
    assert resp.status_code == 401
    assert resp.json()["error"]["code"] == "RES-121"
