"""/app/dev/mail, the developers' page of sent mail (mounted only when the gateway runs with
`CRM_GATEWAY_DEV_MAILBOX_DIR`, as under `crm dev` and the test platform): an invitation sent by the
platform is listed, filtered by recipient and read (its link inside); a message with an HTML part,
an inline image and an attachment, sent over real SMTP to the local server, shows its HTML in a
sandboxed frame with the image and offers the attachment; in Chinese at 390 px. Without the
setting the paths do not exist (404); unknown and path-like keys are 404."""

from __future__ import annotations

import smtplib

import httpx
from playwright.sync_api import Browser, expect

from crm_dev.platform import Platform
from crm_platform.mail import Attachment, InlineImage, Mail, build_message, wire_bytes
from tests.conftest import TenantContext
from tests.e2e.in_process_gateway import in_process_gateway
from tests.e2e.test_login_security import admin_http
from tests.e2e.test_web_ui import _login, _shot, browser, pytestmark
from tests.mail import wait_for_mail

__all__ = ["browser", "pytestmark"]

# A 1x1 PNG.
PIXEL = bytes.fromhex("89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
                      "0000000d49444154789c6360f8cfc0f01f0005000201a3b2a1d50000000049454e44ae426082")


def _send_rich_mail(platform: Platform, to: str) -> None:
    mail = Mail(to=to, subject="周报 with a chart", text="The text version.",
                html='<h1 id="rich">Weekly report</h1><img alt="chart" src="cid:chart-1@crm">',
                inline_images=(InlineImage("chart-1@crm", PIXEL),),
                attachments=(Attachment("report.csv", b"a,b\n1,2\n", "text/csv"),))
    message = build_message(mail, "reports@crm.local")
    with smtplib.SMTP("127.0.0.1", platform.ports["smtp"], timeout=10) as smtp:
        smtp.sendmail("reports@crm.local", [to], wire_bytes(message))


def test_sent_mail_page(browser: Browser, platform: Platform, tenant: TenantContext) -> None:
    invitee = f"invitee@{tenant.slug}.example.com"
    with admin_http(tenant) as admin:
        assert admin.post("/v1/invitations", json={"email": invitee, "display_name": "Wang Fang",
                                                   "roles": ["sales_rep"]}).status_code == 201
    wait_for_mail(platform.mail_dir, invitee)
    rich_to = f"reader@{tenant.slug}.example.com"
    _send_rich_mail(platform, rich_to)
    wait_for_mail(platform.mail_dir, rich_to)

    context = browser.new_context(locale="en-US", viewport={"width": 1400, "height": 900})
    page = context.new_page()
    try:
        _login(page, platform, tenant)
        page.goto(f"{platform.gateway_url}/app/dev/mail")
        expect(page.locator("h1")).to_contain_text("Sent mail")
        page.fill("#dev-mail-to", invitee)
        page.locator("form.dev-mail-filter button[type=submit]").click()
        expect(page.locator("table.dev-mail-table tbody tr[data-key]")).to_have_count(1)
        _shot(page, "dev-mail-list-en")
        page.locator("table.dev-mail-table tbody a").first.click()
        expect(page.locator("#dev-mail-text")).to_contain_text(f"{platform.gateway_url}/invite/")
        _shot(page, "dev-mail-invitation-en")

        page.goto(f"{platform.gateway_url}/app/dev/mail?to={rich_to}")
        page.locator("table.dev-mail-table tbody a").first.click()
        expect(page.locator("#dev-mail-subject")).to_have_text("周报 with a chart")
        frame = page.frame_locator("iframe.dev-mail-html")
        expect(frame.locator("#rich")).to_have_text("Weekly report")
        assert frame.locator("img").evaluate("img => img.naturalWidth") == 1  # the inline image, resolved
        with page.expect_download() as download:
            page.locator("a.button", has_text="report.csv").click()
        assert download.value.path().read_bytes() == b"a,b\n1,2\n"
        _shot(page, "dev-mail-rich-en")
    finally:
        context.close()

    phone = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844})
    page = phone.new_page()
    try:
        page.goto(f"{platform.gateway_url}/lang/zh-CN?next=/app/dev/mail")  # no sign-in needed
        expect(page.locator("h1")).to_contain_text("已发送邮件")
        expect(page.locator("table.dev-mail-table")).to_contain_text("周报 with a chart")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        _shot(page, "dev-mail-list-zh-390")
    finally:
        phone.close()


def test_unknown_and_path_like_keys_are_404(platform: Platform) -> None:
    with httpx.Client(base_url=platform.gateway_url) as http:
        for key in ("no-such-message", "..%2F..%2Fetc%2Fpasswd", "x%00y"):
            assert http.get(f"/app/dev/mail/{key}").status_code == 404, key
            assert http.get(f"/app/dev/mail/{key}/html").status_code == 404, key
            assert http.get(f"/app/dev/mail/{key}/parts/1").status_code == 404, key


def test_only_in_dev_mode(platform: Platform) -> None:
    with in_process_gateway(platform, dev_mailbox_dir="") as production:
        for path in ("/app/dev/mail", "/app/dev/mail/anything", "/app/dev/mail/anything/html"):
            assert production.get(path, follow_redirects=False).status_code == 404, path
    with in_process_gateway(platform) as dev:  # the platform's settings: the Maildir is set
        assert dev.get("/app/dev/mail").status_code == 200
