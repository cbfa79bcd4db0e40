"""The customer list's saved views bar and export in headless Chromium (zh-CN and en): save the
current search as a view, switch views, export the view with a live progress page and download
the file, delete the view."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from crm_dev.platform import Platform
from tests.conftest import TenantContext
from tests.e2e.test_login_security import admin_http
from tests.e2e.test_web_ui import _login

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SHOTS = Path("/tmp/shots")
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium package is not installed")


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run"],
        )
        yield browser
        browser.close()


def _shot(page: Page, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def _names(page: Page) -> list[str]:
    return sorted(page.locator("table tbody td.strong a").all_inner_texts())


def test_views_bar_and_export_in_the_browser(chromium: Browser, platform: Platform, tenant: TenantContext,
                                             tmp_path: Path) -> None:
    with admin_http(tenant) as admin:
        for name, mobile in (("北京科技有限公司", "13700000011"), ("北京贸易有限公司", "13700000012"),
                             ("上海贸易有限公司", "13700000013")):
            assert admin.post("/v1/customers", json={"name": name, "mobile": mobile,
                                                     "annual_revenue": "100.00"}).status_code == 201
    context = chromium.new_context(locale="zh-CN", viewport={"width": 1400, "height": 900}, accept_downloads=True)
    page = context.new_page()
    try:
        _login(page, platform, tenant)
        expect(page.locator("#views-bar")).to_contain_text("全部客户")
        # Pinyin initials in the search box, then save the search as a view.
        page.fill("form.filters input[name=q]", "bj")
        page.locator("form.filters button[type=submit]").click()
        page.wait_for_url("**q=bj**")
        assert _names(page) == ["北京科技有限公司", "北京贸易有限公司"]
        page.locator("#view-save-open").click()
        page.fill("#view-name", "北京客户")
        page.locator("#view-save").click()
        page.wait_for_load_state()
        assert "view=" in page.url, (page.url, page.content()[:3000])
        expect(page.locator(".view-chip.active")).to_have_text("北京客户")
        assert _names(page) == ["北京科技有限公司", "北京贸易有限公司"]
        _shot(page, "customer-views-zh")

        # Switching: all customers, then the view again.
        page.locator(".view-chip", has_text="全部客户").click()
        page.wait_for_url("**/app/customers")
        assert len(_names(page)) == 3
        page.locator(".view-chip", has_text="北京客户").click()
        page.wait_for_url("**view=**")
        assert _names(page) == ["北京科技有限公司", "北京贸易有限公司"]

        # Export the view: the progress page refreshes until the download link appears.
        page.select_option("select[name=format]", "csv")
        page.locator("#export-start").click()
        page.wait_for_url("**/app/customer-exports/*")
        expect(page.locator("#export-download")).to_be_visible(timeout=60_000)
        expect(page.locator("#export-progress")).to_have_attribute("data-status", "succeeded")
        expect(page.locator("#export-percent")).to_have_text("100%")
        _shot(page, "customer-export-zh")
        with page.expect_download() as download:
            page.locator("#export-download").click()
        saved = tmp_path / "export.csv"
        download.value.save_as(saved)
        text = saved.read_bytes().decode("utf-8-sig")
        assert "北京科技有限公司" in text and "北京贸易有限公司" in text and "上海贸易有限公司" not in text

        # Delete the view: back to all customers, the chip is gone.
        page.goto(f"{platform.gateway_url}/app/customers")
        page.locator(".view-chip", has_text="北京客户").click()
        page.wait_for_url("**view=**")
        page.locator("#view-delete").click()
        page.wait_for_url("**/app/customers")
        expect(page.locator("#views-bar")).not_to_contain_text("北京客户")
        assert len(_names(page)) == 3

        # The English page.
        english = chromium.new_context(locale="en-US", viewport={"width": 1400, "height": 900})
        en_page = english.new_page()
        try:
            _login(en_page, platform, tenant)
            expect(en_page.locator("#views-bar")).to_contain_text("All customers")
            expect(en_page.locator("#export-start")).to_have_text("Export")
            en_page.locator("#view-save-open").click()
            expect(en_page.locator("#view-name")).to_be_visible()
            _shot(en_page, "customer-views-en")
        finally:
            english.close()
    finally:
        context.close()
