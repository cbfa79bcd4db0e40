"""The account security page and the TOTP sign-in step in headless Chromium: set up two-step
verification from the QR page with a real code, see the recovery codes, sign out, sign in again
with a code; and the first-login "choose a new password" step in Chinese. Screenshots go to
test-artifacts/."""

from __future__ import annotations

import time

import httpx
import pyotp
from playwright.sync_api import Browser, expect

from crm_dev.platform import Platform
from tests.conftest import TenantContext
from tests.e2e import test_web_ui

# The module-scoped Chromium fixture, the skip marker and the screenshot helper of test_web_ui.
browser = test_web_ui.browser
pytestmark = test_web_ui.pytestmark
_shot = test_web_ui._shot


def test_account_security_page_and_mfa_login(browser: Browser, platform: Platform, tenant: TenantContext) -> None:
    context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 860})
    page = context.new_page()
    email = f"admin@{tenant.slug}.example.com"
    try:
        page.goto(f"{platform.gateway_url}/app/account/security")
        page.fill("#company", tenant.slug)
        page.fill("#email", email)
        page.fill("#password", "demo-password-1")
        page.locator("form button[type=submit]").click()
        page.wait_for_url("**/app/account/security")
        expect(page.locator("h1")).to_have_text("Account security")
        expect(page.locator("#mfa .badge")).to_have_text("Off")
        _shot(page, "security-account-en")

        # Password change: mismatched confirmation is caught inline.
        page.fill("#current_password", "demo-password-1")
        page.fill("#new_password", "Brand-new-lantern-8")
        page.fill("#confirm_password", "Brand-new-lantern-9")
        page.locator("#password button[type=submit]").click()
        expect(page.locator("#confirm_password-error")).to_be_visible()

        page.locator("#mfa button[type=submit]").click()
        expect(page.locator("img.qr")).to_be_visible()
        secret = page.locator("#totp-secret").inner_text().strip()
        _shot(page, "security-mfa-setup-en")
        page.fill("#code", "000000" if pyotp.TOTP(secret).now() != "000000" else "111111")
        page.locator("#mfa button[type=submit]").click()
        expect(page.locator("#code-error")).to_be_visible()
        _shot(page, "security-mfa-wrong-code-en")
        page.fill("#code", pyotp.TOTP(secret).now())
        page.locator("#mfa button[type=submit]").click()
        expect(page.locator(".recovery-codes li")).to_have_count(10)
        _shot(page, "security-mfa-recovery-codes-en")
        page.locator("#mfa a.button").click()
        expect(page.locator("#mfa .badge")).to_have_text("On")

        page.locator("form[action='/logout'] button").click()
        page.goto(f"{platform.gateway_url}/app/customers")
        page.fill("#company", tenant.slug)
        page.fill("#email", email)
        page.fill("#password", "demo-password-1")
        page.locator("form button[type=submit]").click()
        expect(page.locator("h1")).to_have_text("Two-step verification")
        _shot(page, "security-login-mfa-step-en")
        page.fill("#code", pyotp.TOTP(secret).at(time.time() + 30))  # newer than the enrollment's code
        page.locator("form button[type=submit]").click()
        page.wait_for_url("**/app/customers**")
        expect(page.locator("h1")).to_have_text("Customers")
    finally:
        context.close()


def test_first_login_password_step_in_chinese(browser: Browser, platform: Platform, tenant: TenantContext) -> None:
    email = f"rep@{tenant.slug}.example.com"
    created = httpx.post(f"{platform.gateway_url}/v1/users", headers={"Authorization": f"Bearer {tenant.admin_token}"},
                         json={"email": email, "password": "Temporary-pass-42", "display_name": "王磊",
                               "roles": ["sales_rep"]})
    assert created.status_code == 201, created.text
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 860})
    page = context.new_page()
    try:
        page.goto(f"{platform.gateway_url}/app/customers")
        page.fill("#company", tenant.slug)
        page.fill("#email", email)
        page.fill("#password", "Temporary-pass-42")
        page.locator("form button[type=submit]").click()
        expect(page.locator("h1")).to_have_text("设置新密码")
        page.fill("#new_password", "1234567890")
        page.fill("#confirm_password", "1234567890")
        page.locator("form button[type=submit]").click()
        expect(page.locator("#new_password-error")).to_have_text("这是最常见的密码之一，请换一个。")
        _shot(page, "security-first-login-zh")
        page.fill("#new_password", "Brand-new-lantern-8")
        page.fill("#confirm_password", "Brand-new-lantern-8")
        page.locator("form button[type=submit]").click()
        page.wait_for_url("**/app/customers**")
        expect(page.locator("h1")).to_have_text("客户")
        _shot(page, "security-after-first-login-zh")
    finally:
        context.close()
