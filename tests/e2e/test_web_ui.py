"""The web UI in a real browser (Debian's headless Chromium driven by Playwright): log in through
the OAuth code flow, see the customer list, get inline field errors, create a customer."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from crm_dev.platform import Platform
from tests.conftest import TenantContext

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(os.environ.get("CRM_TEST_ARTIFACTS", Path(__file__).resolve().parents[2] / "test-artifacts"))

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium package is not installed")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run"],
        )
        yield browser
        browser.close()


def _login(page: Page, platform: Platform, tenant: TenantContext) -> None:
    page.goto(f"{platform.gateway_url}/app/customers")
    page.fill("#company", tenant.slug)
    page.fill("#email", f"admin@{tenant.slug}.example.com")
    page.fill("#password", "demo-password-1")
    page.locator("form button[type=submit]").click()
    page.wait_for_url("**/app/customers**")


def _shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_login_list_and_create_with_inline_errors(browser: Browser, platform: Platform,
                                                  tenant: TenantContext) -> None:
    context = browser.new_context(locale="en-US", viewport={"width": 1400, "height": 900})
    page = context.new_page()
    try:
        page.goto(f"{platform.gateway_url}/app/customers")
        expect(page.locator("#password")).to_be_visible()  # not signed in: the login page
        page.fill("#company", tenant.slug)
        page.fill("#email", f"admin@{tenant.slug}.example.com")
        page.fill("#password", "wrong-password-1")
        page.locator("form button[type=submit]").click()
        expect(page.locator("[role=alert]")).to_be_visible()
        expect(page.locator("#company")).to_have_value(tenant.slug)

        _login(page, platform, tenant)
        expect(page.locator("h1")).to_have_text("Customers")
        expect(page.locator("tr.empty")).to_be_visible()

        page.locator("#new-customer").click()
        page.wait_for_url("**/app/customers/new")
        page.fill("#name", "Northwind Traders")
        page.fill("#mobile", "12345")
        page.fill("#email", "not-an-email")
        page.locator("section.create button[type=submit]").click()
        expect(page.locator("#mobile-error")).to_be_visible()
        expect(page.locator("#email-error")).to_be_visible()
        expect(page.locator("#name")).to_have_value("Northwind Traders")  # what was typed is kept
        _shot(page, "ui-create-errors-en")

        page.fill("#mobile", "+44 20 7946 0958")
        page.fill("#email", "orders@northwind.example.com")
        page.locator("section.create button[type=submit]").click()
        expect(page.locator("tbody")).to_contain_text("Northwind Traders")
        expect(page.locator("tbody")).to_contain_text("+442079460958")
        _shot(page, "ui-list-en")
    finally:
        context.close()


def test_chinese_locale_and_search(browser: Browser, platform: Platform, tenant: TenantContext) -> None:
    http = tenant.http()
    for name, mobile in (("北京云帆科技有限公司", "13800138000"), ("上海锦程贸易有限公司", "13900139000")):
        assert http.post("/v1/customers", json={"name": name, "mobile": mobile, "industry": "IT"}).status_code == 201
    context = browser.new_context(locale="zh-CN", viewport={"width": 1400, "height": 900})
    page = context.new_page()
    try:
        _login(page, platform, tenant)
        expect(page.locator("h1")).to_have_text("客户")
        expect(page.locator("tbody tr")).to_have_count(2)
        page.fill("form.filters input[name=q]", "云帆")
        page.locator("form.filters input[name=q]").press("Enter")
        expect(page.locator("tbody tr")).to_have_count(1)
        expect(page.locator("tbody")).to_contain_text("北京云帆科技有限公司")
        _shot(page, "ui-search-zh")
    finally:
        context.close()
