"""/app/webhooks in headless Chromium against the real platform and a real receiver: a tenant admin
finds the page in the menu, is told what is wrong with a bad URL, creates an endpoint (the secret
is shown once and verifies what the receiver gets), sends a test event and reads it in the delivery
log, rotates the secret, edits the endpoint, sees a failing delivery become a dead letter, replays
it and a time range (with its progress page), disables and re-enables, and deletes after
confirming. Then in Chinese at 390 px. A sales rep has no menu entry and is refused the page.
The platform's retry schedule is "1,1,2" (tests/conftest.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from playwright.sync_api import Browser, Page, expect
from standardwebhooks.webhooks import Webhook

from crm_dev.platform import Platform
from tests.conftest import TenantContext, wait_for
from tests.e2e.receiver import Receiver
from tests.e2e.test_login_security import create_user
from tests.e2e.test_web_ui import _login, _shot, browser, pytestmark

__all__ = ["browser", "pytestmark"]

FAILING_FOREVER = 10**9


def _delivery_status(page: Page, status: str) -> None:
    """Reloads the endpoint page until its newest delivery has `status` (the log is read per request)."""
    def newest() -> str | None:
        page.reload()
        first = page.locator("li.delivery").first
        return first.get_attribute("data-status") if first.count() else None

    wait_for(lambda: newest() == status, timeout=40, interval=0.5)


def test_webhooks_page_end_to_end(browser: Browser, platform: Platform, tenant: TenantContext) -> None:
    receiver = Receiver()
    context = browser.new_context(locale="en-US", viewport={"width": 1400, "height": 900})
    page = context.new_page()
    try:
        _login(page, platform, tenant)
        page.locator("[data-nav=webhooks]").first.click()
        page.wait_for_url("**/app/webhooks")
        expect(page.locator("h1")).to_have_text("Webhooks")
        expect(page.locator("table.hooks-table")).to_contain_text("No webhook endpoints yet")

        # A URL that is not one: the field says so, nothing is created.
        page.fill("#hook-url", "ftp://erp.example.com/hooks")
        page.locator("#hook-create button[type=submit]").click()
        expect(page.locator("#hook-url-error")).to_contain_text("http")
        expect(page.locator("table.hooks-table tbody tr[data-endpoint]")).to_have_count(0)

        page.fill("#hook-url", receiver.url)
        page.fill("#hook-description", "ERP order sync")
        page.locator("label.check", has_text="Customer created").click()
        page.locator("label.check", has_text="Order recorded or changed").click()
        page.locator("#hook-create button[type=submit]").click()
        expect(page.locator("#hook-secret")).to_be_visible()
        secret = page.locator("#hook-secret").input_value()
        assert secret.startswith("whsec_")
        expect(page.locator("h1")).to_contain_text("ERP order sync")
        expect(page.locator("[data-health=active]")).to_be_visible()
        _shot(page, "webhooks-created-en")
        # The secret is not shown again.
        page.locator(".crumbs a").click()
        expect(page.locator("table.hooks-table")).to_contain_text("ERP order sync")
        expect(page.locator("table.hooks-table")).to_contain_text("Customer created")
        _shot(page, "webhooks-list-en")
        page.locator("table.hooks-table a", has_text="ERP order sync").click()
        expect(page.locator("#hook-secret")).to_have_count(0)
        endpoint_url = page.url
        endpoint_id = endpoint_url.rstrip("/").rsplit("/", 1)[1]

        # A test event: in the log, at the receiver, signed with the secret shown.
        page.locator("#hook-test").click()
        expect(page.locator("#hook-banner")).to_contain_text("Test event sent")
        [arrived] = wait_for(lambda: receiver.of_type("crm.webhook.test"), timeout=30)
        assert Webhook(secret).verify(arrived.body, arrived.headers)["data"]["endpoint_id"] == endpoint_id
        _delivery_status(page, "succeeded")
        page.locator("li.delivery summary").first.click()
        expect(page.locator("li.delivery .delivery-body").first).to_contain_text("HTTP 204")
        expect(page.locator("li.delivery pre.excerpt").first).to_contain_text('"type":"crm.webhook.test"')
        _shot(page, "webhooks-endpoint-log-en")

        # Rotate: a new secret, shown once, used from now on.
        page.locator("#hook-rotate").click()
        expect(page.locator("#secret-title")).to_have_text("New signing secret")
        rotated = page.locator("#hook-secret").input_value()
        assert rotated.startswith("whsec_") and rotated != secret

        # Edit: description and events.
        page.goto(endpoint_url)
        page.fill("#hook-edit #hook-description", "ERP order sync (prod)")
        page.locator("#hook-edit label.check", has_text="Customer changed").click()
        page.locator("#hook-edit button[type=submit]").click()
        expect(page.locator("#hook-banner")).to_have_text("Changes saved.")
        expect(page.locator("h1")).to_contain_text("ERP order sync (prod)")
        expect(page.locator("#hook-edit input[value='crm.customer.updated']")).to_be_checked()

        # The receiver breaks: a test event is retried and becomes a dead letter.
        receiver.fail_first = FAILING_FOREVER
        page.locator("#hook-test").click()
        _delivery_status(page, "dead")
        expect(page.locator("#hook-failing")).to_be_visible()
        page.locator("[data-filter=dead]").click()
        expect(page.locator("li.delivery")).to_have_count(1)
        page.locator("li.delivery summary").first.click()
        expect(page.locator("li.delivery .attempt")).to_have_count(4)
        expect(page.locator("li.delivery .delivery-body").first).to_contain_text("HTTP 503")
        _shot(page, "webhooks-dead-letter-en")

        # Fixed: replay the dead letter; it arrives with its webhook-id and the new secret.
        receiver.fail_first = receiver.attempts
        dead_id = page.locator("li.delivery").first.get_attribute("data-delivery")
        page.locator("li.delivery .delivery-replay button").first.click()
        expect(page.locator("#hook-banner")).to_contain_text("queued to be sent again")
        delivered = wait_for(lambda: [d for d in receiver.of_type("crm.webhook.test") if d is not arrived], timeout=30)
        Webhook(rotated).verify(delivered[-1].body, delivered[-1].headers)
        page.goto(f"{endpoint_url}?status=succeeded")
        wait_for(lambda: (page.reload(), page.locator(f"li.delivery[data-delivery='{dead_id}']").count())[1],
                 timeout=30, interval=0.5)

        # A time range: the job's progress page until it is done.
        page.goto(endpoint_url)
        # An hour ago in UTC: earlier still as a wall-clock time in the viewer's zone (east of UTC).
        since = (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
        page.fill("#replay-since", since)
        page.locator("#replay-range button[type=submit]").click()
        page.wait_for_url("**/replays/**")
        expect(page.locator("#replay-finished")).to_be_visible(timeout=30_000)
        expect(page.locator("#replay-total")).to_have_text("2")
        _shot(page, "webhooks-replay-en")

        # Disable by hand, then enable.
        page.goto(endpoint_url)
        page.locator("#hook-disable").click()
        expect(page.locator("#hook-disabled-why")).to_contain_text("Disabled by an administrator")
        expect(page.locator("[data-health=disabled]")).to_be_visible()
        expect(page.locator("#hook-test")).to_have_count(0)
        page.locator("#hook-enable").click()
        expect(page.locator("[data-health=active], [data-health=failing]")).to_be_visible()

        # Delete, after a confirmation page.
        page.locator("#hook-delete").click()
        expect(page.locator("h1")).to_have_text("Delete webhook endpoint")
        _shot(page, "webhooks-delete-en")
        page.locator("#hook-delete-confirm").click()
        page.wait_for_url("**/app/webhooks")
        expect(page.locator("[role=status]")).to_contain_text("Endpoint deleted")
        expect(page.locator("table.hooks-table tbody tr[data-endpoint]")).to_have_count(0)
        assert page.goto(endpoint_url).status == 404
    finally:
        context.close()
        receiver.close()


def test_webhooks_page_in_chinese_on_a_phone(browser: Browser, platform: Platform, tenant: TenantContext,
                                             other_tenant: TenantContext) -> None:
    receiver = Receiver()
    http = tenant.http()
    created = http.post("/v1/webhook-endpoints", json={"url": receiver.url, "description": "订单同步",
                                                      "event_types": ["crm.customer.created"]}).json()
    http.post(f"/v1/webhook-endpoints/{created['id']}:send-test-event")
    context = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844})
    page = context.new_page()
    try:
        _login(page, platform, tenant)
        page.goto(f"{platform.gateway_url}/lang/zh-CN?next=/app/webhooks")
        expect(page.locator("h1")).to_have_text("Webhook")
        expect(page.locator("table.hooks-table")).to_contain_text("订单同步")
        expect(page.locator("table.hooks-table")).to_contain_text("客户已创建")
        _shot(page, "webhooks-list-zh-390")
        page.locator("table.hooks-table a", has_text="订单同步").click()
        _delivery_status(page, "succeeded")
        expect(page.locator("li.delivery .badge").first).to_have_text("已送达")
        page.locator("li.delivery summary").first.click()
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        _shot(page, "webhooks-endpoint-zh-390")

        # Another tenant's endpoint does not exist here; a form without the session's CSRF token changes nothing.
        with other_tenant.http() as theirs:
            foreign = theirs.post("/v1/webhook-endpoints", json={"url": receiver.url}).json()["id"]
        for path in (f"/app/webhooks/{foreign}", f"/app/webhooks/{foreign}/delete",
                     f"/app/webhooks/{foreign}/replays/{foreign}"):
            response = page.goto(f"{platform.gateway_url}{path}")
            assert response is not None and response.status == 404, path
        forged = page.request.post(f"{platform.gateway_url}/app/webhooks/{created['id']}/disable",
                                   form={"csrf_token": "forged"})
        assert forged.status == 403
        assert http.get(f"/v1/webhook-endpoints/{created['id']}").json()["enabled"] is True
        page.goto(f"{platform.gateway_url}/app/webhooks/{created['id']}")
        csrf = page.locator("input[name=csrf_token]").first.input_value()
        for action in ("rotate-secret", "disable", "test", "delete"):
            refused = page.request.post(f"{platform.gateway_url}/app/webhooks/{foreign}/{action}",
                                        form={"csrf_token": csrf, "confirm": "delete"})
            assert refused.status == 404, action
        with other_tenant.http() as theirs:
            assert theirs.get(f"/v1/webhook-endpoints/{foreign}").json()["enabled"] is True
    finally:
        context.close()
        http.close()
        receiver.close()


def test_a_sales_rep_has_no_webhooks_page(browser: Browser, platform: Platform, tenant: TenantContext) -> None:
    email = f"rep@{tenant.slug}.example.com"
    create_user(tenant, email)
    context = browser.new_context(locale="en-US", viewport={"width": 1400, "height": 900})
    page = context.new_page()
    try:
        page.goto(f"{platform.gateway_url}/app/customers")
        page.fill("#company", tenant.slug)
        page.fill("#email", email)
        page.fill("#password", "Temporary-pass-42")
        page.locator("form button[type=submit]").click()
        page.fill("#new_password", "Brand-new-lantern-8")  # set by an admin: chosen at first sign-in
        page.fill("#confirm_password", "Brand-new-lantern-8")
        page.locator("form button[type=submit]").click()
        page.wait_for_url("**/app/customers**")
        expect(page.locator("[data-nav=customers]")).to_be_visible()
        expect(page.locator("[data-nav=webhooks]")).to_have_count(0)
        response = page.goto(f"{platform.gateway_url}/app/webhooks")
        assert response is not None and response.status == 403
        expect(page.locator("[role=alert]")).to_contain_text("Your role does not allow this")
        with httpx.Client(base_url=platform.gateway_url) as anonymous:
            assert anonymous.get("/app/webhooks").status_code in (302, 303, 307)
    finally:
        context.close()
