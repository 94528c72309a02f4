"""/national through the API: export, import (verified), the merged view."""

from __future__ import annotations

import copy

from tests.api.conftest import Api
from tests.api.test_api import assert_error


def test_export_import_and_view(api: Api) -> None:
    assert_error(api.get("/national/export", org="authority"), "RES-122")
    bundle = api.get("/national/export").json()
    assert bundle["manifest"]["space"] and bundle["signature"]
    tampered = copy.deepcopy(bundle)
    tampered["manifest"]["ledger_head"]["seq"] += 1
    assert_error(api.post("/national/bundles", org="authority", json=tampered), "RES-194")
    assert_error(api.post("/national/bundles", org="apps", json=bundle), "RES-122")
    made = api.post("/national/bundles", org="authority", json=bundle)
    assert made.status_code == 201 and made.json()["achievements"] > 0
    view = api.get("/national").json()
    assert view["totals"]["key_cities"] == 2 and view["by_province"]["Jiangsu"]["key_cities"] == 2
    html = api.get("/national?format=html").text
    assert "National overview" in html and "Suzhou" in html
