"""The customer detail page in headless Chromium: dictionary selects on the create form, every
field, status change with a reason and its history, inline edit errors, the stale-edit message."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect, sync_playwright

from crm_dev.platform import Platform
from tests.conftest import TenantContext
from tests.e2e.test_web_ui import _login, _shot

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
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


def test_create_with_selects_then_detail_status_and_edit(chromium: Browser, platform: Platform,
                                                          tenant: TenantContext) -> None:
    context = chromium.new_context(locale="zh-CN", viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    try:
        _login(page, platform, tenant)
        page.goto(f"{platform.gateway_url}/app/customers/new")
        page.fill("#name", "北京云帆科技有限公司")
        page.fill("#contact_person", "张伟")
        page.select_option("#industry", "IT")
        page.select_option("#region", "华北/北京")
        page.select_option("#source", "trade_show")
        page.fill("#mobile", "13800138000")
        page.fill("#phone", "010-62345678")
        _shot(page, "customer-create-selects-zh")
        page.locator("section.create button[type=submit]").click()
        page.wait_for_url("**/app/customers")
        page.get_by_role("link", name="北京云帆科技有限公司").click()
        page.wait_for_url("**/app/customers/*")
        detail_url = page.url
        customer_id = detail_url.rsplit("/", 1)[1]
        expect(page.locator("h1")).to_contain_text("北京云帆科技有限公司")
        expect(page.locator(".facts")).to_contain_text("+861062345678")
        expect(page.locator(".facts")).to_contain_text("华北 › 北京")
        expect(page.locator(".facts")).to_contain_text("展会")

        # Change status with a reason; the history shows it.
        page.select_option("#new-status", "intent")
        page.fill("#reason", "演示后有兴趣")
        page.get_by_role("button", name="变更状态").click()
        expect(page.locator("[role=status]")).to_contain_text("状态已变更")
        expect(page.locator(".timeline")).to_contain_text("演示后有兴趣")
        expect(page.locator("h1 .badge")).to_have_text("意向")

        # Inline errors on the edit form.
        page.fill("#e-credit_code", "91350100M000100Y44")
        page.fill("#e-mobile", "12345")
        page.get_by_role("button", name="保存修改").click()
        expect(page.locator("#e-credit_code-error")).to_contain_text("校验位")
        expect(page.locator("#e-mobile-error")).to_be_visible()
        _shot(page, "customer-detail-inline-errors-zh")

        # A stale edit: someone saves first (over the API), then this form is submitted.
        page.goto(detail_url)
        http = tenant.http()
        current = http.get(f"/v1/customers/{customer_id}")
        assert http.patch(f"/v1/customers/{customer_id}", json={"needs": "别人先改了"},
                          headers={"If-Match": current.headers["etag"]}).status_code == 200
        page.fill("#e-notes", "我的修改")
        page.get_by_role("button", name="保存修改").click()
        expect(page.locator("[role=alert]")).to_contain_text("已被他人修改")
        expect(page.locator("#e-needs")).to_have_value("别人先改了")
        _shot(page, "customer-detail-conflict-zh")

        page.fill("#e-credit_code", "91350100M000100Y43")
        page.get_by_role("button", name="保存修改").click()
        expect(page.locator("[role=status]")).to_contain_text("修改已保存")
        expect(page.locator(".facts")).to_contain_text("91350100M000100Y43")
        _shot(page, "customer-detail-zh")
    finally:
        context.close()


def test_unknown_customer_is_a_404_page(chromium: Browser, platform: Platform, tenant: TenantContext) -> None:
    context = chromium.new_context(locale="en-US")
    page = context.new_page()
    try:
        _login(page, platform, tenant)
        reply = page.goto(f"{platform.gateway_url}/app/customers/00000000-0000-0000-0000-000000000000")
        assert reply is not None and reply.status == 404
        expect(page.locator("body")).to_contain_text("Customer not found")
    finally:
        context.close()
