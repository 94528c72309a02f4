"""Each role's main flow in headless Chromium (Debian's chromium driven by Playwright):
log in, act through the role's forms, see the result; every result page is
screenshotted and checked (not blank, key text present); nothing the CSP blocks,
no request leaves 127.0.0.1.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import STEEL_CSV, STEEL_LABELS
from tests.web.conftest import Server
from tests.web.test_console import ARGS, CHROMIUM, _not_blank


def _login(page: Any, url: str, token: str) -> None:
    page.goto(url + "/console/login")
    page.fill("#token", token)
    page.click("#login")
    page.wait_for_url("**/console/")


def holder_flow(page: Any, url: str) -> str:
    """Upload a dataset (check first, then store), grant the builder training, then accept
    one of the fixes proposed for its rows in the review queue."""
    page.click("nav.work >> text=My datasets")
    page.set_input_files("#upload-file", str(STEEL_CSV))
    page.fill("#upload-onehot", ",".join(STEEL_LABELS))
    page.click("#validate-submit")
    assert "Passes" in page.inner_text("#validation-result")
    page.go_back()
    page.set_input_files("#upload-file", str(STEEL_CSV))
    page.fill("#upload-name", "plates-ui")
    page.select_option("#upload-industry", "steel")
    page.fill("#upload-onehot", ",".join(STEEL_LABELS))
    page.click("#upload-submit")
    page.wait_for_selector("#ingested")
    assert "plates-ui@1" in page.inner_text("#ingested")
    page.fill("#policy-form textarea", "builder:train-pooled,evaluate")
    page.click("#save-policy")
    page.wait_for_url("**/console/datasets/plates-ui")
    assert page.input_value("#policy-form textarea") == "builder:evaluate,train-pooled"
    # live search in the catalog (htmx swaps the table in place, and the URL follows)
    page.click("header >> text=Catalog")
    page.fill("#catalog-search input[name=q]", "plates")
    page.wait_for_url("**/console/catalog?q=plates*")
    page.wait_for_function("document.querySelectorAll('#catalog tr').length === 2")
    assert "plates-ui" in page.inner_text("#catalog")
    page.click("nav.work >> text=My datasets")
    page.click("#review-link")
    page.wait_for_selector("#review-items")
    assert page.locator("#review-items input[name=ids]").count() == 3
    page.locator("#review-items input[name=ids]").first.check()
    page.click("#accept-ticked")
    page.wait_for_selector("#review-done")
    assert "1 accepted" in page.inner_text("#review-done")
    assert page.locator("#review-items input[name=ids]").count() == 2
    return "new version rows@2"


def builder_flow(page: Any, url: str) -> str:
    """Train a model on granted data, then score it on the sealed suite with diagnosis."""
    page.click("text=Build models")
    page.fill("#train-name", "ui-model")
    page.fill("#train-datasets", "steel-a")
    page.click("#train-submit")
    page.wait_for_selector("#trained", timeout=120_000)
    assert "ui-model@1" in page.inner_text("#trained")
    assert "ui-model@1" in page.inner_text("#model-card")
    page.click("#evaluate")
    page.wait_for_selector("#run-weak-slices", timeout=120_000)
    weak = page.inner_text("#run-weak-slices")
    assert weak.isdigit() and int(weak) > 0, weak
    return "steel-suite"


def evaluator_flow(page: Any, url: str) -> str:
    """Register a second sealed suite with its own query budget."""
    page.click("text=My suites")
    page.fill("#suite-name", "ui-suite")
    page.select_option("#suite-dataset", "steel-eval")
    page.fill("#suite-budget", "7")
    page.click("#suite-submit")
    page.wait_for_url("**/console/evaluator")
    assert "ui-suite" in page.inner_text("#my-suites")
    assert "steel-fm" in page.inner_text("#budgets")  # the seeded run spent a query
    return "ui-suite"


def apps_flow(page: Any, url: str) -> str:
    """File a high-value scenario."""
    page.click("text=Scenarios & cases")
    page.fill("#scenario-name", "coil-grading")
    page.select_option("#scenario-industry", "steel")
    page.fill("#scenario-title", "Grade coils before shipping")
    for field in ("problem", "value", "data_needed", "model_needed"):
        page.fill(f"#scenario-form textarea[name={field}]", f"the {field}")
    page.click("#scenario-submit")
    page.wait_for_url("**/console/scenarios/coil-grading")
    return "Grade coils before shipping"


def authority_flow(page: Any, url: str) -> str:
    """Preview the mid-term report (charts drawn), then submit the plan."""
    page.click("header >> text=Reports")
    page.click('#reports a[href$="/reports/midterm?province=Jiangsu"]')
    page.wait_for_selector(".plot-container .main-svg", timeout=30_000)
    assert "Jiangsu" in page.inner_text("h1")
    page.go_back()
    page.select_option("#submit-kind", "plan")
    page.select_option("#submit-province", "Jiangsu")
    page.click("#submit-report")
    page.wait_for_selector("#submitted")
    assert "plan" in page.inner_text("#submissions")
    return "Submitted the plan report"


def operator_flow(page: Any, url: str) -> str:
    """Register an organization and issue it a token."""
    page.click("text=Operate")
    page.fill("#org-name", "ui-org")
    page.fill("#org-region", "Hebei")
    page.check("#org-role-evaluator")
    page.click("#org-submit")
    page.wait_for_url("**/console/operator")
    page.select_option("#token-org", "ui-org")
    page.fill("#token-label", "first")
    page.click("#token-submit")
    page.wait_for_selector("#new-token")
    assert page.inner_text("#new-token").startswith("res_")
    return "Token issued to ui-org"


def _note_outside(requested: str, url: str, outside: list[str]) -> None:
    if not requested.startswith((url, "data:", "about:")):
        outside.append(requested)


FLOWS: list[tuple[str, Callable[[Any, str], str]]] = [
    ("data holder", holder_flow),
    ("model builder", builder_flow),
    ("evaluator", evaluator_flow),
    ("application developer", apps_flow),
    ("authority", authority_flow),
    ("operator", operator_flow),
]


@pytest.mark.slow
def test_each_role_main_flow_in_chromium(role_server: Server, tmp_path: Path) -> None:
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed")
    from playwright.sync_api import sync_playwright

    shots = Path(os.environ.get("RESONANCE_SCREENSHOTS", tmp_path / "screenshots"))
    shots.mkdir(parents=True, exist_ok=True)
    url = role_server.url
    outside: list[str] = []
    blocked: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        try:
            probe = browser.new_page()
            for role, flow in FLOWS:
                context = browser.new_context(viewport={"width": 1280, "height": 900})
                page = context.new_page()
                page.on("request", lambda r: _note_outside(r.url, url, outside))
                page.on(
                    "console",
                    lambda m: blocked.append(m.text) if "Content Security" in m.text else None,
                )
                _login(page, url, role_server.tokens[role])
                key = flow(page, url)
                assert key in page.inner_text("body"), (role, key)
                png = page.screenshot(full_page=True, path=str(shots / f"role-{role}.png"))
                _not_blank(probe, png)
                # log out (a POST form with the session's CSRF token) and stay out
                page.click("#logout")
                page.wait_for_url("**/console/login")
                page.goto(url + "/console/")
                assert "/console/login" in page.url, role
                context.close()
        finally:
            browser.close()
    assert not outside, f"requests left 127.0.0.1: {outside}"
    assert not blocked, f"the CSP blocked something the console needs: {blocked}"
