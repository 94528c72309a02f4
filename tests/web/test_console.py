"""The web console in headless Chromium (Debian's chromium driven by Playwright).

Logs in with a token, loads every page, checks its content, takes a screenshot
and checks it is not blank (several colours, more than a few KB). Every request
must stay on 127.0.0.1: the console works with no internet.
"""

from __future__ import annotations

import base64
import os
from pathlib import Path
from typing import Any

import pytest

from tests.web.conftest import Server

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

if not CHROMIUM.exists() and not os.environ.get("CI"):
    pytest.skip(
        "Debian's chromium is not installed (apt-get install -y chromium); "
        "in CI (CI set) this test runs and fails instead of skipping",
        allow_module_level=True,
    )

# (path, selector that must exist, text it must contain)
PAGES = [
    ("/console/", "#verify", "intact"),
    ("/console/catalog", "#catalog", "steel-a"),
    ("/console/datasets/steel-a", "#versions", "steel-a@1"),
    ("/console/policies", "#policies", "steel-surface"),
    ("/console/ledger", "#ledger", "registry.entry_added"),
    ("/console/registries", "#reg-scenarios", "surface-defects"),
    ("/console/quotas", "#quota-1", "Jiangsu"),
    ("/console/reports", "#reports", "Jiangsu"),
    ("/console/reports/midterm?province=Jiangsu&as_of=2026-09-01", "#deadlines", "overdue"),
    ("/console/models", "#model-versions", "steel-fm@1"),
    ("/console/evaluations", "#runs", "steel-suite"),
    ("/console/loop", "h1", "Loop runs"),
]
CHARTS = {
    "/console/registries",
    "/console/quotas",
    "/console/ledger",
    "/console/reports/midterm",
    "/console/models",
    "/console/evaluations",
}

COLOURS_JS = """async (b64) => {
  const img = new Image();
  img.src = "data:image/png;base64," + b64;
  await img.decode();
  const c = document.createElement("canvas");
  c.width = img.width; c.height = img.height;
  const ctx = c.getContext("2d");
  ctx.drawImage(img, 0, 0);
  const d = ctx.getImageData(0, 0, c.width, c.height).data;
  const seen = new Set();
  for (let i = 0; i < d.length; i += 4 * 31) {
    seen.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
  }
  return {width: c.width, height: c.height, colours: seen.size};
}"""


def _not_blank(probe: Any, png: bytes) -> dict[str, int]:
    stats: dict[str, int] = probe.evaluate(COLOURS_JS, base64.b64encode(png).decode())
    assert len(png) > 10_000, f"screenshot only {len(png)} bytes"
    assert stats["colours"] >= 5, stats
    return stats


@pytest.mark.slow
def test_console_pages_render_in_chromium(server: Server, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    shots = Path(os.environ.get("RESONANCE_SCREENSHOTS", tmp_path / "screenshots"))
    shots.mkdir(parents=True, exist_ok=True)
    outside: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            blocked: list[str] = []
            page.on(
                "console",
                lambda m: blocked.append(m.text) if "Content Security Policy" in m.text else None,
            )
            page.on(
                "request",
                lambda r: (
                    None
                    if r.url.startswith((server.url, "data:", "about:"))
                    else outside.append(r.url)
                ),
            )
            page.goto(server.url + "/console/catalog")
            assert "/console/login" in page.url and "next=%2Fconsole%2Fcatalog" in page.url
            page.fill("#token", "res_0123456789abcdef_wrong")
            page.click("#login")
            assert "invalid API token" in page.inner_text("#login-error")
            page.fill("#token", server.token)
            page.click("#login")
            page.wait_for_url("**/console/catalog")
            probe = browser.new_page()
            for path, selector, text in PAGES:
                resp = page.goto(server.url + path)
                assert resp is not None and resp.status == 200, path
                page.wait_for_selector(selector)
                assert text in page.inner_text("body"), (path, text)
                if path.split("?")[0] in CHARTS:
                    page.wait_for_selector(".plot-container .main-svg", timeout=30_000)
                name = path.strip("/").replace("/", "_").split("?")[0] or "home"
                png = page.screenshot(full_page=True, path=str(shots / f"{name}.png"))
                _not_blank(probe, png)
            page.goto(server.url + "/console/models")
            linked = page.inner_text("#registered-models")
            assert "steel-fm@1 by builder" in linked  # the registry links the trained version
            missing = page.goto(server.url + "/console/datasets/nope")
            assert missing is not None and missing.status == 404
            assert "RES-101" in page.inner_text("body")
            assert not blocked, f"the CSP blocked something the console needs: {blocked}"
        finally:
            browser.close()
    assert not outside, f"requests left 127.0.0.1: {outside}"
