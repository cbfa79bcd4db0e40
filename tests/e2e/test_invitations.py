"""Invitations end to end over HTTP (docs/identity.md#invitations): invite -> the mail the platform's
real local SMTP server received -> the accept page sets a password -> the invitee signs in with the code flow (no forced
change); used, expired, replaced and revoked links; isolation, missing scope, no escalation."""

from __future__ import annotations

import email.message
import re
import secrets
from typing import Any

import httpx
import psycopg
import pytest

from crm_dev.platform import Platform
from tests.conftest import TenantContext
from tests.e2e.test_login_security import admin_http
from tests.mail import wait_for_mail

PASSWORD = "Lantern-orchard-93"


def _db(platform: Platform) -> psycopg.Connection[tuple[Any, ...]]:
    url = platform.database_url("identity").replace("+asyncpg", "").replace("+psycopg", "")
    return psycopg.connect(url, autocommit=True)


def mail_to(
    platform: Platform, address: str, *, count: int = 1, timeout: float = 15.0
) -> list[email.message.EmailMessage]:
    """The messages the platform's SMTP server received for `address` (oldest first), once there are `count`."""
    return [m.message for m in wait_for_mail(platform.mail_dir, address, count=count, timeout=timeout)]


def link_in(message: email.message.EmailMessage, platform: Platform) -> str:
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    text = body.get_content()
    match = re.search(re.escape(platform.gateway_url) + r"/invite/(\S+)", text)
    assert match, text
    return match.group(0)


def invite(http: httpx.Client, **body: Any) -> httpx.Response:
    return http.post("/v1/invitations", json={"display_name": "Wang Fang", "roles": ["sales_rep"], **body})


def accept(platform: Platform, link: str, password: str = PASSWORD, confirm: str | None = None) -> httpx.Response:
    with httpx.Client(timeout=30) as browser:
        return browser.post(link, data={"password": password, "password_confirm": confirm or password})


def test_invite_accept_and_sign_in(platform: Platform, tenant: TenantContext) -> None:
    address = f"wang.fang.{secrets.token_hex(3)}@example.org"
    with admin_http(tenant) as http:
        reply = invite(http, email=address, roles=["sales_manager"])
        assert reply.status_code == 201, reply.text
        created = reply.json()
        assert reply.headers["location"] == f"/v1/invitations/{created['id']}"
        assert created["state"] == "pending" and created["roles"] == ["sales_manager"] and created["send_count"] == 1
        pending = http.get("/v1/invitations").json()["items"]
        assert [i["id"] for i in pending] == [created["id"]]

        (message,) = mail_to(platform, address)
        assert "Wang Fang" in message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
        link = link_in(message, platform)
        # Only the hash is stored.
        with _db(platform) as db:
            stored = db.execute(
                f'select token_hash from "t_{tenant.tenant_id.replace("-", "")}".invitations').fetchone()
        assert stored is not None and link.rsplit("/", 1)[1] not in stored[0]

        # Before accepting, the invited user cannot sign in with any password.
        with pytest.raises(RuntimeError):
            tenant.api.login_code_flow(tenant.slug, address, PASSWORD)

        with httpx.Client(timeout=30) as browser:
            page = browser.get(link)
            assert page.status_code == 200 and address in page.text and tenant.slug in page.text
            mismatch = browser.post(link, data={"password": PASSWORD, "password_confirm": PASSWORD + "x"})
            assert mismatch.status_code == 400
            weak = browser.post(link, data={"password": "short", "password_confirm": "short"})
            assert weak.status_code == 400 and "10" in weak.text
        done = accept(platform, link)
        assert done.status_code == 200 and tenant.slug in done.text

        # Active now; signing in needs no password change (they chose it themselves).
        token = tenant.api.login_code_flow(tenant.slug, address, PASSWORD)
        assert token["access_token"]
        assert http.get("/v1/invitations").json()["items"] == []
        accepted = http.get("/v1/invitations", params={"state": "accepted"}).json()["items"]
        assert accepted[0]["state"] == "accepted" and accepted[0]["accepted_at"]

        # The link is spent: a clear page, never a 500.
        again = accept(platform, link)
        assert again.status_code == 410 and "already" in again.text
        assert httpx.get(link).status_code == 410

        # The audit log has the story.
        actions = [e["action"] for e in http.get("/v1/audit-events", params={"action": "invitation."}).json()["items"]]
        assert sorted(actions) == ["invitation.accepted", "invitation.sent"]
        # Resending an accepted invitation is a conflict.
        assert http.post(f"/v1/invitations/{created['id']}:resend").status_code == 409


def test_resend_voids_the_old_link_and_revoke_ends_it(platform: Platform, tenant: TenantContext) -> None:
    address = f"li.na.{secrets.token_hex(3)}@example.org"
    with admin_http(tenant) as http:
        created = invite(http, email=address).json()
        first = link_in(mail_to(platform, address)[0], platform)
        resent = http.post(f"/v1/invitations/{created['id']}:resend")
        assert resent.status_code == 200 and resent.json()["send_count"] == 2
        second = link_in(mail_to(platform, address, count=2)[1], platform)
        assert first != second
        replaced = httpx.get(first)
        assert replaced.status_code == 410 and "not valid" in replaced.text

        revoked = http.post(f"/v1/invitations/{created['id']}:revoke")
        assert revoked.status_code == 200 and revoked.json()["state"] == "revoked"
        gone = httpx.get(second)
        assert gone.status_code == 410 and "revoked" in gone.text
        assert accept(platform, second).status_code == 410
        assert http.get("/v1/invitations").json()["items"] == []

        # A resend re-opens it with a fresh link, which works.
        assert http.post(f"/v1/invitations/{created['id']}:resend").json()["state"] == "pending"
        third = link_in(mail_to(platform, address, count=3)[2], platform)
        assert accept(platform, third).status_code == 200
        assert tenant.api.login_code_flow(tenant.slug, address, PASSWORD)["access_token"]
        actions = {e["action"] for e in http.get("/v1/audit-events", params={"action": "invitation."}).json()["items"]}
        assert actions == {"invitation.sent", "invitation.resent", "invitation.revoked", "invitation.accepted"}


def test_expired_link(platform: Platform, tenant: TenantContext) -> None:
    address = f"zhao.lei.{secrets.token_hex(3)}@example.org"
    with admin_http(tenant) as http:
        created = invite(http, email=address).json()
        link = link_in(mail_to(platform, address)[0], platform)
        with _db(platform) as db:
            db.execute(f'update "t_{tenant.tenant_id.replace("-", "")}".invitations '
                       "set expires_at = now() - interval '1 minute' where id = %s", (created["id"],))
        listed = http.get("/v1/invitations").json()["items"]
        assert listed[0]["state"] == "expired"
        page = httpx.get(link)
        assert page.status_code == 410 and "older than 7 days" in page.text
        assert accept(platform, link).status_code == 410
        zh = httpx.get(link, headers={"Accept-Language": "zh-CN"})
        assert "邀请已过期" in zh.text
    # Garbage tokens: a clear page too.
    for junk in ("nothing", "0" * 32 + ".x", "zz.yy"):
        assert httpx.get(f"{platform.gateway_url}/invite/{junk}").status_code == 410


def test_invitation_validation_isolation_and_scope(platform: Platform, tenant: TenantContext,
                                                   other_tenant: TenantContext) -> None:
    address = f"qian.jun.{secrets.token_hex(3)}@example.org"
    with admin_http(tenant) as http:
        bad = invite(http, email="not-an-email", display_name="", roles=["no_such_role"])
        assert bad.status_code == 400
        fields = {e["field"]: e["code"] for e in bad.json()["errors"]}
        assert fields == {"email": "invalid_email", "display_name": "required", "roles": "unknown_role"}
        zh = http.post("/v1/invitations", json={"email": "x", "display_name": "A"},
                       headers={"Accept-Language": "zh-CN"})
        assert zh.json()["errors"][0]["message"] == "邮箱地址无效。"
        assert http.post("/v1/invitations", json={"email": address, "display_name": "A", "extra": 1}).status_code == 400
        created = invite(http, email=address).json()
        taken = invite(http, email=address.upper())
        assert taken.status_code == 409 and taken.json()["code"] == "email_taken"
        assert len(mail_to(platform, address)) == 1  # nothing sent for the refused ones

    # Another tenant's admin: 404 for this invitation id, and it is not in their list.
    with admin_http(other_tenant) as theirs:
        assert theirs.post(f"/v1/invitations/{created['id']}:resend").status_code == 404
        assert theirs.post(f"/v1/invitations/{created['id']}:revoke").status_code == 404
        assert theirs.get("/v1/invitations").json()["items"] == []
    with admin_http(tenant) as http:
        assert http.post("/v1/invitations/not-a-uuid:resend").status_code == 404

    # Missing scope: a client without users:manage.
    with tenant.http() as client:
        assert client.post("/v1/invitations", json={"email": "a@b.cn", "display_name": "A"}).status_code == 403
        assert client.get("/v1/invitations").status_code == 403
        assert client.post(f"/v1/invitations/{created['id']}:revoke").status_code == 403

    # No escalation: a users:manage client may not invite a tenant admin.
    with tenant.http(["users:manage"]) as limited:
        refused = invite(limited, email=f"boss.{secrets.token_hex(3)}@example.org", roles=["tenant_admin"])
        assert refused.status_code == 403 and refused.json()["code"] == "grant_exceeds_own"
        assert invite(limited, email=f"rep.{secrets.token_hex(3)}@example.org", roles=[]).status_code == 403
