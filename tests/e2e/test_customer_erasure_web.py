"""The "Permanently delete" flow in headless Chromium: offered on the detail page only to holders of
`customers:delete`, a confirmation page listing what goes and what is kept, the typed code and the
reason checked by the service with errors inline, then the customer is gone (404)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from crm_dev.platform import Platform
from tests.conftest import TenantContext
from tests.e2e.test_access_enforcement import _sign_in
from tests.e2e.test_login_security import NEW_PASSWORD, admin_http, create_user
from tests.e2e.test_roles_teams import created
from tests.e2e.test_web_ui import _login

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SHOTS = Path(os.environ.get("CRM_SHOTS", "/tmp/shots"))
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
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_permanently_delete_from_the_detail_page(chromium: Browser, platform: Platform,
                                                 tenant: TenantContext) -> None:
    customer = created(admin_http(tenant).post("/v1/customers", json={
        "name": "杭州西湖茶业有限公司", "mobile": "13800138071", "email": "tea@example.com"}))
    context = chromium.new_context(locale="zh-CN", viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    try:
        _login(page, platform, tenant)
        page.goto(f"{platform.gateway_url}/app/customers/{customer['id']}")
        expect(page.locator("#danger-zone")).to_contain_text("危险操作")
        _shot(page, "erase-detail-danger-zone-zh")
        page.locator("#erase-link").click()
        page.wait_for_url(f"**/app/customers/{customer['id']}/erase")
        expect(page.locator("h1")).to_have_text("永久删除客户")
        expect(page.locator(".erase-list.goes")).to_contain_text("客户标签与跟进任务")
        expect(page.locator(".erase-list.kept")).to_contain_text("不含个人信息")
        expect(page.locator("label[for=erase-confirm]")).to_contain_text(customer["code"])
        _shot(page, "erase-confirm-zh")
        # A wrong confirmation and no reason: refused by the service, shown inline, nothing deleted.
        page.fill("#erase-confirm", "杭州")
        page.locator("#erase-submit").click()
        expect(page.locator("#erase-confirm-error")).to_contain_text("编号或名称")
        expect(page.locator("#erase-reason-error")).to_be_visible()
        page.fill("#erase-confirm", customer["code"])
        page.locator("#erase-submit").click()  # still no reason
        expect(page.locator("#erase-reason-error")).to_be_visible()
        expect(page.locator("#erase-confirm-error")).to_have_count(0)
        expect(page.locator("#erase-confirm")).to_have_value(customer["code"])
        _shot(page, "erase-confirm-error-zh")
        assert admin_http(tenant).get(f"/v1/customers/{customer['id']}").status_code == 200

        page.fill("#erase-reason", "客户来函要求删除全部个人信息")
        page.locator("#erase-submit").click()
        expect(page.locator("h1")).to_have_text("客户已永久删除")
        _shot(page, "erase-done-zh")
        reply = admin_http(tenant).get(f"/v1/customers/{customer['id']}")
        assert reply.status_code == 404 and reply.json()["code"] == "customer_erased"
        page.goto(f"{platform.gateway_url}/app/customers/{customer['id']}")
        expect(page.locator("h1")).to_have_text("客户不存在")
    finally:
        context.close()


def test_no_delete_offered_without_the_permission(chromium: Browser, platform: Platform,
                                                  tenant: TenantContext) -> None:
    email = f"manager@{tenant.slug}.example.com"
    create_user(tenant, email, roles=["sales_manager"])
    token = _sign_in(platform, tenant, email)  # first sign-in: the password is now NEW_PASSWORD
    manager = httpx.Client(base_url=platform.gateway_url, timeout=30, headers={"Authorization": f"Bearer {token}"})
    customer = created(manager.post("/v1/customers", json={"name": "Lakeside Trading", "mobile": "13800138072"}))
    context = chromium.new_context(locale="en-US", viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    try:
        page.goto(f"{platform.gateway_url}/app/customers")
        page.fill("#company", tenant.slug)
        page.fill("#email", email)
        page.fill("#password", NEW_PASSWORD)
        page.locator("form button[type=submit]").click()
        page.wait_for_url("**/app/customers**")
        page.goto(f"{platform.gateway_url}/app/customers/{customer['id']}")
        expect(page.locator("h1")).to_contain_text("Lakeside Trading")
        expect(page.locator("#danger-zone")).to_have_count(0)
        # Going to the page directly explains, and the service refuses anyway.
        page.goto(f"{platform.gateway_url}/app/customers/{customer['id']}/erase")
        expect(page.locator("[role=status]")).to_contain_text("cannot permanently delete")
        expect(page.locator("#erase-submit")).to_be_disabled()
        _shot(page, "erase-no-permission-en")
    finally:
        context.close()
    assert manager.post(f"/v1/customers/{customer['id']}:erase",
                        json={"confirm": customer["code"], "reason": "x"}).status_code == 403
