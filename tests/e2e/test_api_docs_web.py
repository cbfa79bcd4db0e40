"""/docs in headless Chromium: Swagger UI from the platform's own files renders the OpenAPI 3.1
schema's operations, with no request to another origin and no CSP violation."""

from __future__ import annotations

from urllib.parse import urlsplit

from playwright.sync_api import Browser, expect

from crm_dev.platform import Platform
from tests.e2e.test_customer_detail_web import chromium, pytestmark  # noqa: F401  (fixture, skip marker)
from tests.e2e.test_web_ui import ARTIFACTS


def test_docs_render_the_operations_from_same_origin_files(chromium: Browser, platform: Platform) -> None:  # noqa: F811
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    origins: set[str] = set()
    errors: list[str] = []
    page.on("request", lambda r: origins.add(f"{urlsplit(r.url).scheme}://{urlsplit(r.url).netloc}"))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    try:
        page.goto(f"{platform.gateway_url}/docs")
        expect(page.locator(".info .title")).to_contain_text("CRM API")
        expect(page.locator(".info .title")).to_contain_text("OAS 3.1")
        expect(page.locator(".opblock").first).to_be_visible(timeout=30_000)
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "api-docs.png"))
        # Swagger UI renders the sections near the viewport: scroll through and collect the paths.
        paths: set[str] = set()
        for _ in range(60):
            paths |= set(page.locator(".opblock-summary-path").all_inner_texts())
            page.mouse.wheel(0, 1500)
            page.wait_for_timeout(150)
        assert {"/v1/customers", "/v1/tenant", "/oauth/token"} <= {p.replace("\u200b", "") for p in paths}
        assert len(paths) > 50
        assert origins <= {platform.gateway_url.rstrip("/")}, origins
        assert not [e for e in errors if "Content Security Policy" in e], errors
    finally:
        context.close()
