"""An endpoint disabled for failing (docs/webhooks.md#automatic-disable): every active tenant admin
gets one email on the platform's real SMTP server, in their own language with a link to the
endpoint's page; a sales rep, a disabled admin and another tenant's admin get none; the page shows
the endpoint as disabled after failing, with when and why.

The platform disables after 5 days of failures, so the test makes the endpoint fail for real (a
receiver answering 503), then runs the webhooks service's own `EndpointService.note_failure` on the
platform's database with a threshold of zero: the same transaction the dispatcher runs after a
failed attempt, writing the `crm.webhook_endpoint.disabled` event into the outbox, from where the
running services carry it (relay, NATS, identity's consumer, mail outbox, SMTP)."""

from __future__ import annotations

import asyncio
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from playwright.sync_api import Browser, expect

from crm_dev.platform import Platform
from crm_platform.db import create_engine, tenant_session
from crm_webhooks.endpoint.secrets import SecretCipher, parse_service_key
from crm_webhooks.endpoint.service import EndpointService
from tests.conftest import TenantContext, wait_for
from tests.e2e.receiver import Receiver
from tests.e2e.test_login_security import admin_http, create_user
from tests.e2e.test_web_ui import _login, _shot, browser, pytestmark
from tests.mail import received, wait_for_mail

__all__ = ["browser", "pytestmark"]


def disable_for_failing(platform: Platform, tenant_id: str, endpoint_id: str) -> bool:
    """The webhooks service's own rule, with "failing for 0 s" as the threshold."""
    async def run() -> bool:
        engine = create_engine(platform.database_url("webhooks"), pool_size=1)
        try:
            service = EndpointService(SecretCipher(parse_service_key(platform.secrets["webhook_secret_key"])),
                                      allow_private_targets=True, disable_failing_after=timedelta(0))
            async with tenant_session(engine, tenant_id) as session:
                return await service.note_failure(session, uuid.UUID(tenant_id), uuid.UUID(endpoint_id), 503,
                                                  "HTTP 503")
        finally:
            await engine.dispose()

    # In a thread of its own: Playwright's sync API keeps an event loop running in this one.
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, run()).result()


def test_admins_are_emailed_and_the_page_says_why(browser: Browser, platform: Platform, tenant: TenantContext,
                                                  other_tenant: TenantContext) -> None:
    slug = tenant.slug
    admin_email, second_admin, former_admin, rep = (f"{who}@{slug}.example.com"
                                                    for who in ("admin", "admin2", "admin3", "rep"))
    create_user(tenant, second_admin, roles=["tenant_admin"], display_name="二号管理员")
    former = create_user(tenant, former_admin, roles=["tenant_admin"], display_name="Former")
    create_user(tenant, rep)
    with admin_http(tenant) as admin:
        etag = admin.get(f"/v1/users/{former['id']}").headers["etag"]
        assert admin.patch(f"/v1/users/{former['id']}", json={"disabled": True},
                           headers={"If-Match": etag}).status_code == 200
        # The first admin reads English in Berlin; the second keeps the tenant's zh-CN and Shanghai.
        assert admin.patch("/v1/users/me/preferences", json={"locale": "en", "time_zone": "Europe/Berlin"}
                           ).status_code == 200

    receiver = Receiver(fail_first=10**9)
    http = tenant.http()
    try:
        endpoint = http.post("/v1/webhook-endpoints", json={"url": receiver.url, "description": "ERP"}).json()
        http.post(f"/v1/webhook-endpoints/{endpoint['id']}:send-test-event")
        wait_for(lambda: http.get(f"/v1/webhook-endpoints/{endpoint['id']}").json()["failing_since"], timeout=30)
        assert disable_for_failing(platform, tenant.tenant_id, endpoint["id"])
        state = http.get(f"/v1/webhook-endpoints/{endpoint['id']}").json()
        assert (state["enabled"], state["disabled_reason"]) == (False, "failing")
        link = f"{platform.gateway_url}/app/webhooks/{endpoint['id']}"

        [english] = wait_for_mail(platform.mail_dir, admin_email, timeout=30)
        assert english.subject == f"Webhook endpoint disabled: {receiver.url}"
        assert "disabled automatically" in english.text and link in english.text
        assert "Last error: HTTP 503" in english.text and "(Europe/Berlin)" in english.text
        [chinese] = wait_for_mail(platform.mail_dir, second_admin, timeout=30)
        assert chinese.subject == f"Webhook 端点已停用：{receiver.url}"
        assert "二号管理员，您好" in chinese.text and "被自动停用" in chinese.text and link in chinese.text
        assert "(Asia/Shanghai)" in chinese.text
        assert received(platform.mail_dir, rep) == [] and received(platform.mail_dir, former_admin) == []
        assert received(platform.mail_dir, f"admin@{other_tenant.slug}.example.com") == []
        # Disabled once: a second failure changes nothing and sends nothing more.
        assert not disable_for_failing(platform, tenant.tenant_id, endpoint["id"])

        context = browser.new_context(locale="en-US", viewport={"width": 1400, "height": 900})
        page = context.new_page()
        try:
            _login(page, platform, tenant)
            page.goto(f"{platform.gateway_url}/app/webhooks")
            expect(page.locator(f"tr[data-endpoint='{endpoint['id']}'] [data-health=auto_disabled]")).to_have_text(
                "Disabled after failing")
            page.goto(link)
            expect(page.locator("#hook-disabled-why")).to_contain_text("Disabled automatically on")
            expect(page.locator("#hook-disabled-why")).to_contain_text("Last error: HTTP 503")
            expect(page.locator("#hook-enable")).to_be_visible()
            _shot(page, "webhooks-auto-disabled-en")
        finally:
            context.close()
        # Only one mail each, however often the event is delivered.
        assert len(received(platform.mail_dir, admin_email)) == 1
        assert len(received(platform.mail_dir, second_admin)) == 1
    finally:
        http.close()
        receiver.close()
