"""The follow-up settings page in headless Chromium (web/followup_settings.py): the tenant admin
sets the default escalation, copies the inbound address with the copy button, replaces it only
after confirming; a rep sees both read-only, without the rotate button; zh-CN and en, desktop and
390 px. Screenshots go to the test artifacts."""

from __future__ import annotations

from playwright.sync_api import Browser, expect

from crm_dev.platform import Platform
from tests.conftest import TenantContext
from tests.e2e.test_access_enforcement import _sign_in
from tests.e2e.test_customer_detail_web import chromium, pytestmark  # noqa: F401  (fixture, skip marker)
from tests.e2e.test_login_security import NEW_PASSWORD, admin_http, create_user
from tests.e2e.test_web_ui import _login, _shot


def test_settings_page_escalation_and_inbound_address(chromium: Browser, platform: Platform,  # noqa: F811
                                                       tenant: TenantContext) -> None:
    base = platform.gateway_url
    with admin_http(tenant) as http:
        first = http.get("/v1/followup-inbound-address").json()["address"]
    context = chromium.new_context(locale="zh-CN", viewport={"width": 1400, "height": 1000})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)
    page = context.new_page()
    try:
        _login(page, platform, tenant)
        page.goto(f"{base}/app/settings")
        page.locator("a[href='/app/followups/settings']").first.click()
        page.wait_for_url("**/app/followups/settings")
        expect(page.locator("h1")).to_have_text("跟进设置")
        expect(page.locator(".fu-tabs [data-tab=settings]")).to_have_attribute("aria-current", "page")
        expect(page.locator("#fs-address")).to_have_text(first)
        page.locator("#fs-copy").click()
        expect(page.locator("#fs-copy")).to_have_text("已复制")
        assert page.evaluate("navigator.clipboard.readText()") == first
        # Escalation: a bad value is refused by the browser's own check, a good one saved.
        page.fill("#fs-escalate", "3")
        page.locator("#escalation-form button[type=submit]").click()
        expect(page.locator("#settings-flash")).to_be_visible()
        expect(page.locator("#fs-escalate")).to_have_value("3")
        with admin_http(tenant) as http:
            assert http.get("/v1/followup-settings").json()["escalate_after_days"] == 3
        _shot(page, "followup-settings-zh")
        # Rotating needs the confirmation step.
        expect(page.locator("#rotate-confirm")).to_be_hidden()
        page.locator("#rotate summary").click()
        expect(page.locator("#rotate-confirm")).to_be_visible()
        _shot(page, "followup-settings-rotate-zh")
        page.locator("#rotate-confirm").click()
        expect(page.locator("#settings-flash")).to_be_visible()
        second = page.locator("#fs-address").inner_text().strip()
        assert second != first and second.split("+")[0] == first.split("+")[0]
    finally:
        context.close()

    # A rep, in English, on a phone: the address and the setting, nothing to change.
    create_user(tenant, f"rep@{tenant.slug}.example.com", roles=["sales_rep"])
    _sign_in(platform, tenant, f"rep@{tenant.slug}.example.com")
    phone = chromium.new_context(locale="en-US", viewport={"width": 390, "height": 844}, is_mobile=True)
    page = phone.new_page()
    try:
        page.goto(f"{base}/app/followups/settings")
        page.fill("#company", tenant.slug)
        page.fill("#email", f"rep@{tenant.slug}.example.com")
        page.fill("#password", NEW_PASSWORD)
        page.locator("form button[type=submit]").click()
        page.wait_for_url("**/app/followups/settings")
        expect(page.locator("h1")).to_have_text("Follow-up settings")
        expect(page.locator("#fs-address")).to_have_text(second)
        expect(page.locator(".fu-tabs [data-tab=settings]")).to_be_in_viewport()
        expect(page.locator("#escalation-value")).to_have_text("After 3 days overdue")
        expect(page.locator("#escalation-form")).to_have_count(0)
        expect(page.locator("#rotate")).to_have_count(0)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"the page scrolls sideways at 390 px ({width})"
        _shot(page, "followup-settings-en-390")
    finally:
        phone.close()
