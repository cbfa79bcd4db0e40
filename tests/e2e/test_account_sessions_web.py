"""The account security page's sessions list and TOTP management, and the users page's "sign out
everywhere", in headless Chromium (en and zh-CN): a second sign-in (a phone) appears with its device
in plain words, this browser's row is marked, signing the phone out stops its refresh token; the
audit entry of that web action carries this browser's user agent; new recovery codes and turning
TOTP off with real codes; disabling and enabling a user. Screenshots go to /tmp/shots/."""

from __future__ import annotations

import time
from pathlib import Path

import pyotp
from playwright.sync_api import Browser, Page, expect

from crm_dev.platform import Platform
from tests.conftest import TenantContext
from tests.e2e import test_web_ui
from tests.e2e.test_login_security import NEW_PASSWORD, admin_email, create_user
from tests.e2e.test_mfa_management import audit
from tests.e2e.test_sessions import PHONE, refresh, sign_in

browser = test_web_ui.browser
pytestmark = test_web_ui.pytestmark
SHOTS = Path("/tmp/shots")
DESKTOP = ("Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/537.36 (KHTML, like Gecko) "
           "Chrome/131.0.0.0 Safari/537.36 crm-web-test")


def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def web_sign_in(page: Page, platform: Platform, tenant: TenantContext, path: str) -> None:
    page.goto(f"{platform.gateway_url}{path}")
    page.fill("#company", tenant.slug)
    page.fill("#email", admin_email(tenant))
    page.fill("#password", "demo-password-1")
    page.locator("form button[type=submit]").click()
    page.wait_for_url(f"**{path}")


def test_sessions_listed_and_signed_out_from_the_page(browser: Browser, platform: Platform,
                                                      tenant: TenantContext) -> None:
    phone = sign_in(platform, tenant.slug, admin_email(tenant), "demo-password-1", PHONE, ip="198.51.100.9")
    context = browser.new_context(locale="en-US", user_agent=DESKTOP, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    try:
        web_sign_in(page, platform, tenant, "/app/account/security")
        rows = page.locator("#sessions tbody tr")
        expect(rows.filter(has_text="Chrome on macOS")).to_have_count(1)
        expect(rows.filter(has_text="Safari on iPhone")).to_have_count(1)
        current = page.locator("#sessions tr.current")
        expect(current).to_have_count(1)
        expect(current).to_contain_text("Chrome on macOS")
        expect(current.locator(".badge")).to_have_text("This device")
        expect(current.locator("button")).to_have_count(0)  # this device signs out with the top bar
        expect(rows.filter(has_text="Safari on iPhone")).to_contain_text("198.51.100.9")
        shot(page, "account-sessions-en")

        rows.filter(has_text="Safari on iPhone").locator("button").click()
        expect(page.locator(".alert-success")).to_have_text("That device was signed out.")
        expect(rows.filter(has_text="Safari on iPhone")).to_have_count(0)
        assert refresh(platform, phone["refresh_token"]).json()["error"] == "invalid_grant"
        [entry] = audit(tenant, "session.revoked")
        assert entry["user_agent"] == DESKTOP  # the web page's call carried the browser's user agent

        page.goto(f"{platform.gateway_url}/lang/zh-CN?next=/app/account/security")
        expect(page.locator("#sessions h2")).to_have_text("登录设备")
        expect(page.locator("#sessions tr.current")).to_contain_text("macOS 上的 Chrome")
        expect(page.locator("#sessions tr.current .badge")).to_have_text("当前设备")
        shot(page, "account-sessions-zh")
    finally:
        context.close()


def test_totp_management_on_the_page(browser: Browser, platform: Platform, tenant: TenantContext) -> None:
    context = browser.new_context(locale="en-US", user_agent=DESKTOP, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    try:
        web_sign_in(page, platform, tenant, "/app/account/security")
        page.locator("#mfa button[type=submit]").click()
        secret = page.locator("#totp-secret").inner_text().strip()
        page.fill("#code", pyotp.TOTP(secret).now())
        page.locator("#mfa button[type=submit]").click()
        old = page.locator(".recovery-codes li").all_inner_texts()
        assert len(old) == 10
        page.locator("#mfa a.button").click()
        expect(page.locator("#regenerate_code")).to_be_visible()

        page.fill("#regenerate_code", "000000" if pyotp.TOTP(secret).now() != "000000" else "111111")
        page.locator("form[action$='recovery-codes'] button").click()
        expect(page.locator("#regenerate_code + .error")).to_be_visible()
        shot(page, "account-mfa-manage-wrong-en")
        page.fill("#regenerate_code", pyotp.TOTP(secret).at(time.time() + 30))
        page.locator("form[action$='recovery-codes'] button").click()
        expect(page.locator("#mfa .alert-success")).to_have_text(
            "New recovery codes are ready; the old ones no longer work.")
        new = page.locator(".recovery-codes li").all_inner_texts()
        assert len(new) == 10 and not set(new) & set(old)
        shot(page, "account-mfa-new-codes-en")
        page.locator("#mfa a.button").click()

        page.goto(f"{platform.gateway_url}/lang/zh-CN?next=/app/account/security")
        expect(page.locator("label[for=disable_code]")).to_have_text("关闭两步验证")
        shot(page, "account-mfa-manage-zh")
        page.fill("#disable_code", old[0])  # an old recovery code no longer works
        page.locator("form[action$='mfa/disable'] button").click()
        expect(page.locator("#disable_code + .error")).to_be_visible()
        page.fill("#disable_code", new[0])
        page.locator("form[action$='mfa/disable'] button").click()
        expect(page.locator(".alert-success")).to_have_text("两步验证已关闭。")
        expect(page.locator("#mfa .badge")).to_have_text("未开启")
    finally:
        context.close()


def test_admin_signs_a_user_out_everywhere(browser: Browser, platform: Platform, tenant: TenantContext) -> None:
    rep_email = f"rep@{tenant.slug}.example.com"
    create_user(tenant, rep_email)
    rep = sign_in(platform, tenant.slug, rep_email, "Temporary-pass-42", PHONE, new_password=NEW_PASSWORD)
    context = browser.new_context(locale="en-US", user_agent=DESKTOP, viewport={"width": 1400, "height": 900})
    page = context.new_page()
    try:
        web_sign_in(page, platform, tenant, "/app/users")
        row = page.locator("tbody tr", has_text=rep_email)
        shot(page, "users-sign-out-everywhere-en")
        row.locator("button", has_text="Sign out everywhere").click()
        expect(page.locator(".alert-success")).to_have_text(f"{rep_email} was signed out on every device (1).")
        assert refresh(platform, rep["refresh_token"]).json()["error"] == "invalid_grant"
        page.goto(f"{platform.gateway_url}/lang/zh-CN?next=/app/users")
        expect(page.locator("tbody tr", has_text=rep_email).locator("button", has_text="全部退出登录")).to_be_visible()
        shot(page, "users-sign-out-everywhere-zh")
    finally:
        context.close()


def test_admin_disables_and_enables_a_user(browser: Browser, platform: Platform, tenant: TenantContext) -> None:
    """Disable from the users page: the badge shows and the user's refresh token stops at once; enable
    lets them sign in again. Disabling yourself, the last admin, is refused."""
    rep_email = f"rep2@{tenant.slug}.example.com"
    create_user(tenant, rep_email)
    rep = sign_in(platform, tenant.slug, rep_email, "Temporary-pass-42", PHONE, new_password=NEW_PASSWORD)
    context = browser.new_context(locale="en-US", user_agent=DESKTOP, viewport={"width": 1400, "height": 900})
    page = context.new_page()
    try:
        web_sign_in(page, platform, tenant, "/app/users")
        row = page.locator("tbody tr", has_text=rep_email)
        row.locator("button", has_text="Disable").click()
        expect(page.locator(".alert-success")).to_have_text(
            f"{rep_email} is disabled: they cannot sign in and their sessions have ended.")
        row = page.locator("tbody tr", has_text=rep_email)
        expect(row.locator(".badge-disabled")).to_have_text("Disabled")
        assert refresh(platform, rep["refresh_token"]).json()["error"] == "invalid_grant"
        shot(page, "users-disabled-en")

        admin_row = page.locator("tbody tr", has_text=admin_email(tenant))
        admin_row.locator("button", has_text="Disable").click()
        expect(page.locator(".alert-error")).to_be_visible()
        expect(page.locator("tbody tr", has_text=admin_email(tenant)).locator(".badge-disabled")).to_have_count(0)

        page.locator("tbody tr", has_text=rep_email).locator("button", has_text="Enable").click()
        expect(page.locator(".alert-success")).to_have_text(f"{rep_email} can sign in again.")
        expect(page.locator("tbody tr", has_text=rep_email).locator(".badge-disabled")).to_have_count(0)
        again = sign_in(platform, tenant.slug, rep_email, NEW_PASSWORD, PHONE)
        assert refresh(platform, again["refresh_token"]).status_code == 200
    finally:
        context.close()
