"""Invitations and user import in headless Chromium: the users page's "Invite user" form and pending
list, the public accept page (en and zh-CN; used link), and /app/users/import (dry-run errors table,
then an import whose progress bar reaches 100%). Screenshots go to /tmp/shots."""

from __future__ import annotations

import secrets
from pathlib import Path

from playwright.sync_api import Browser, Page, expect

from crm_dev.platform import Platform
from tests.conftest import TenantContext
from tests.e2e.test_invitations import link_in, mail_to
from tests.e2e.test_web_ui import _login, browser, pytestmark

__all__ = ["browser", "pytestmark"]
SHOTS = Path("/tmp/shots")
PASSWORD = "Copper-kettle-river-4"


def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def invite_through_page(page: Page, platform: Platform, address: str, name: str) -> None:
    page.goto(f"{platform.gateway_url}/app/users")
    page.fill("#invite-email", address)
    page.fill("#invite-name", name)
    page.locator("#invite button[type=submit]").click()
    page.wait_for_url("**/app/users")


def test_invite_from_users_page_and_accept(browser: Browser, platform: Platform, tenant: TenantContext) -> None:
    admin = browser.new_context(locale="en-US", viewport={"width": 1400, "height": 1000})
    page = admin.new_page()
    tag = secrets.token_hex(3)
    english, chinese = f"amy.{tag}@example.org", f"li.ming.{tag}@example.org"
    try:
        _login(page, platform, tenant)
        page.goto(f"{platform.gateway_url}/app/users")
        page.fill("#invite-email", "not-an-email")
        page.fill("#invite-name", "Amy")
        page.locator("#invite button[type=submit]").click()
        expect(page.locator("#invite .field.invalid .error")).to_contain_text("valid email")
        invite_through_page(page, platform, english, "Amy Zhang")
        expect(page.locator("[role=status]")).to_contain_text(f"Invitation sent to {english}")
        expect(page.locator("table.invitations-table")).to_contain_text(english)
        expect(page.locator("tr", has_text=english).locator(".badge-invited")).to_have_text("Invited")
        invite_through_page(page, platform, chinese, "李明")
        shot(page, "users-invitations-en")
    finally:
        admin.close()

    invitee = browser.new_context(locale="en-US", viewport={"width": 1000, "height": 800})
    page = invitee.new_page()
    link = link_in(mail_to(platform, english)[0], platform)
    try:
        page.goto(link)
        expect(page.locator("h1")).to_have_text("Activate your account")
        expect(page.locator("#invite-email")).to_have_text(english)
        page.fill("#password", PASSWORD)
        page.fill("#password_confirm", PASSWORD + "!")
        page.locator("form button[type=submit]").click()
        expect(page.locator(".field.invalid .error")).to_have_text("The two passwords differ.")
        shot(page, "invite-accept-en")
        page.fill("#password", PASSWORD)
        page.fill("#password_confirm", PASSWORD)
        page.locator("form button[type=submit]").click()
        expect(page.locator("h1")).to_have_text("Your account is ready")
        expect(page.locator("#done-company")).to_have_text(tenant.slug)
        shot(page, "invite-done-en")
        page.goto(link)
        expect(page.locator("h1")).to_have_text("Invitation already used")
        shot(page, "invite-used-en")
    finally:
        invitee.close()
    assert tenant.api.login_code_flow(tenant.slug, english, PASSWORD)["access_token"]

    zh = browser.new_context(locale="zh-CN", extra_http_headers={"Accept-Language": "zh-CN"},
                             viewport={"width": 1000, "height": 800})
    page = zh.new_page()
    try:
        page.goto(link_in(mail_to(platform, chinese)[0], platform))
        expect(page.locator("h1")).to_have_text("激活您的账户")
        expect(page.locator(".invite-facts")).to_contain_text("李明")
        page.fill("#password", "short")
        page.fill("#password_confirm", "short")
        page.locator("form button[type=submit]").click()
        expect(page.locator(".field.invalid .error")).to_have_text("密码太短。")
        shot(page, "invite-accept-zh")
    finally:
        zh.close()


BAD_CSV = (
    b"Email,Display name,Roles,Team\n"
    b"ok.one@example.cn,OK One,Sales rep,\n"
    b"broken-address,Bad Email,,\n"
    b"ok.one@example.cn,Duplicate,,\n"
    b"no.name@example.cn,,Wizard,Nowhere\n"
)


def test_import_page_dry_run_then_progress(browser: Browser, platform: Platform, tenant: TenantContext) -> None:
    context = browser.new_context(locale="en-US", viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    page = context.new_page()
    tag = secrets.token_hex(3)
    good = ("email,display_name,roles\n" + "".join(f"p{i}.{tag}@example.cn,Person {i},Sales rep\n"
                                                    for i in range(40))).encode()
    try:
        _login(page, platform, tenant)
        page.goto(f"{platform.gateway_url}/app/users")
        page.locator("#import-users").click()
        expect(page.locator("h1")).to_have_text("Import users")
        with page.expect_download() as download:
            page.locator("#template-xlsx").click()
        assert download.value.suggested_filename.endswith(".xlsx")

        page.set_input_files("#import-file", files=[{"name": "users.csv", "mimeType": "text/csv", "buffer": BAD_CSV}])
        page.locator("#dry-run").click()
        table = page.locator("table.import-errors")
        expect(table).to_be_visible()
        expect(table.locator("tbody tr")).to_have_count(5)
        expect(table).to_contain_text("Not a valid email address.")
        expect(table).to_contain_text("This email is already in row 2 of the file.")
        expect(table).to_contain_text('No role is named "Wizard".')
        expect(page.locator("#import-report .badge-error")).to_have_text("5 problem(s)")
        shot(page, "user-import-errors-en")

        page.set_input_files("#import-file", files=[{"name": "team.csv", "mimeType": "text/csv", "buffer": good}])
        page.locator("#dry-run").click()
        expect(page.locator("#import-report .badge-ok")).to_have_text("All 40 rows are valid")
        page.locator("#import-confirm").click()
        page.wait_for_url("**/app/user-imports/*")
        expect(page.locator("#import-percent")).to_have_text("100%", timeout=60_000)
        expect(page.locator("#import-done")).to_contain_text("40 users were created")
        assert page.locator("#import-bar").get_attribute("value") == "100"
        shot(page, "user-import-progress-en")

        page.goto(f"{platform.gateway_url}/lang/zh-CN?next=/app/users/import")
        expect(page.locator("h1")).to_have_text("批量导入用户")
        page.set_input_files("#import-file", files=[{"name": "用户.csv", "mimeType": "text/csv", "buffer": BAD_CSV}])
        page.locator("#dry-run").click()
        expect(page.locator("table.import-errors")).to_contain_text("该邮箱与文件第 2 行重复。")
        shot(page, "user-import-errors-zh")
        # Importing a file with errors directly is refused with the same table; nothing is written.
        page.set_input_files("#import-file", files=[{"name": "用户.csv", "mimeType": "text/csv", "buffer": BAD_CSV}])
        page.locator("#import-now").click()
        expect(page.locator("#import-error")).to_have_text("文件有错误，未导入任何数据。")
        expect(page.locator("table.import-errors tbody tr")).to_have_count(5)
    finally:
        context.close()
