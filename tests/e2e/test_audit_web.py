"""/app/audit in headless Chromium: a tenant admin sees the failed and successful sign-ins, filters
by action, switches to Chinese, downloads the CSV (which is itself audited); a user without
`audit:read` gets no entries."""

from __future__ import annotations

import csv
import io

from playwright.sync_api import Browser, expect

from crm_dev.platform import Platform
from tests.conftest import TenantContext
from tests.e2e.test_audit_log import AUDIT, events
from tests.e2e.test_web_ui import _login, _shot, browser, pytestmark

__all__ = ["browser", "pytestmark"]


def test_audit_page_filters_and_exports(browser: Browser, platform: Platform, tenant: TenantContext) -> None:
    context = browser.new_context(locale="en-US", viewport={"width": 1400, "height": 900}, accept_downloads=True)
    page = context.new_page()
    try:
        page.goto(f"{platform.gateway_url}/app/customers")
        page.fill("#company", tenant.slug)
        page.fill("#email", f"admin@{tenant.slug}.example.com")
        page.fill("#password", "wrong-password-1")
        page.locator("form button[type=submit]").click()
        expect(page.locator("[role=alert]")).to_be_visible()
        _login(page, platform, tenant)

        page.goto(f"{platform.gateway_url}/app/audit")
        expect(page.locator("h1")).to_have_text("Audit log")
        expect(page.locator("table.audit-table")).to_contain_text("login.failed")
        expect(page.locator("table.audit-table")).to_contain_text("login.succeeded")
        expect(page.locator("table.audit-table")).to_contain_text("HeadlessChrome")
        _shot(page, "audit-log-en")

        page.fill("#f-action", "login.failed")
        page.locator("form.audit-filters button[type=submit]").click()
        page.wait_for_url("**/app/audit?action=login.failed**")
        expect(page.locator("table.audit-table tbody tr")).to_have_count(1)

        with page.expect_download() as download:
            page.locator("#audit-export").click()
        text = download.value.path().read_text(encoding="utf-8-sig")
        rows = list(csv.DictReader(io.StringIO(text)))
        assert [r["action"] for r in rows] == ["login.failed"] and "HeadlessChrome" in rows[0]["user_agent"]
        exported = events(tenant.http(AUDIT), action="audit.exported")
        assert len(exported) == 1 and exported[0]["actor_kind"] == "user"
        assert "HeadlessChrome" in exported[0]["user_agent"]

        page.goto(f"{platform.gateway_url}/lang/zh-CN?next=/app/audit")
        expect(page.locator("h1")).to_have_text("审计日志")
        expect(page.locator("table.audit-table")).to_contain_text("audit.exported")
        _shot(page, "audit-log-zh")
    finally:
        context.close()
