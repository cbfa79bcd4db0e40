"""Email into the timeline (docs/followups.md#email-into-the-timeline) against the real processes:
real mail sent with smtplib to followups' inbound SMTP server, BCC'd to the tenant's inbound
address, becomes follow-up records of method email on the customers whose addresses it names, by
the tenant user who sent it; sensitive numbers masked, quotes and signatures cut; recorded once;
unknown, rotated and other tenants' addresses refused at RCPT; the address API per role."""

from __future__ import annotations

import smtplib
import time
import uuid
from email.message import EmailMessage
from typing import Any

import httpx
import pytest

from crm_dev.platform import INBOUND_DOMAIN, Platform
from tests.conftest import ALL_SCOPES, TenantContext, wait_for
from tests.e2e.oauth_flows import identity_keyring_token
from tests.e2e.test_access_enforcement import _sign_in
from tests.e2e.test_customers_sensitive import ID as RESIDENT_ID
from tests.e2e.test_login_security import admin_email, admin_http, create_user, forged_token

ADDRESS = "/v1/followup-inbound-address"


def _mail(sender: str, to: list[str], subject: str, body: str, *, cc: list[str] | None = None,
          html: str | None = None, message_id: str | None = None) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = ", ".join(to)
    if cc:
        message["Cc"] = ", ".join(cc)
    message["Subject"] = subject
    message["Message-ID"] = message_id or f"<{uuid.uuid4()}@test.example.com>"
    message.set_content(body)
    if html is not None:
        message.add_alternative(html, subtype="html")
    return message


def _send(platform: Platform, message: EmailMessage, envelope_to: list[str]) -> None:
    with smtplib.SMTP("127.0.0.1", platform.ports["inbound_smtp"], timeout=30) as smtp:
        smtp.send_message(message, to_addrs=envelope_to)


def _records(http: httpx.Client, customer_id: str) -> list[dict[str, Any]]:
    reply = http.get("/v1/followup-records", params={"customer_id": customer_id, "page_size": 100})
    assert reply.status_code == 200, reply.text
    return list(reply.json()["items"])


def _recorded(platform: Platform, http: httpx.Client, message: EmailMessage, bcc: str, customer_id: str,
              count: int = 1) -> list[dict[str, Any]]:
    """Sends the mail and, while followups has not learnt the customer's address yet (its events are
    a moment away), sends it again as a mail server retries; returns the customer's records."""
    deadline = time.monotonic() + 30
    while True:
        try:
            _send(platform, message, [bcc])
        except smtplib.SMTPDataError as refused:  # 451: not recordable yet, as a mail server is told
            if refused.smtp_code != 451 or time.monotonic() > deadline:
                raise
        found = _records(http, customer_id)
        if len(found) >= count or time.monotonic() > deadline:
            return found
        time.sleep(0.5)


def _admin_id(admin: httpx.Client, tenant: TenantContext) -> str:
    users = admin.get("/v1/users").json()["items"]
    return str(next(u["id"] for u in users if u["email"] == admin_email(tenant)))


def _customer(http: httpx.Client, name: str, email: str) -> dict[str, Any]:
    reply = http.post("/v1/customers", json={"name": name, "mobile": f"139{uuid.uuid4().int % 10**8:08d}",
                                             "email": email})
    assert reply.status_code == 201, reply.text
    return dict(reply.json())


def test_a_bcc_becomes_a_follow_up_record(platform: Platform, tenant: TenantContext) -> None:
    admin = admin_http(tenant)
    me = _admin_id(admin, tenant)
    # The CC'd customer first: followups learns addresses from customer events in stream order, so
    # once the mail is recorded for the buyer it cannot have missed the other (CI saw exactly that race).
    other = _customer(admin, "抄送客户", "cc@other-customer.example")
    buyer = _customer(admin, "邮件客户有限公司", "Buyer@Customer.example")
    bcc = admin.get(ADDRESS).json()["address"]
    assert bcc.startswith(f"{tenant.slug}+") and bcc.endswith(f"@{INBOUND_DOMAIN}")
    assert admin.get(ADDRESS).json()["address"] == bcc  # stable until rotated

    body = (f"您好，报价见附件。\n身份证 {RESIDENT_ID} 已核对。\n\n> 上次的邮件\n> 引用内容\n-- \n销售 张三\n")
    message = _mail(f"Admin <{admin_email(tenant)}>", ["buyer@customer.example"], "关于续约的报价", body,
                    cc=["cc@other-customer.example", "nobody@elsewhere.example"])
    [record] = _recorded(platform, admin, message, bcc, buyer["id"])
    assert record["method"] == "email" and record["followed_by"] == me
    assert record["content"].startswith("关于续约的报价\n\n您好，报价见附件。")
    assert RESIDENT_ID not in record["content"] and RESIDENT_ID[-4:] in record["content"]
    assert "引用内容" not in record["content"] and "张三" not in record["content"]
    assert len(_records(admin, other["id"])) == 1  # every customer the mail names
    # Sent again (a retry, or a colleague's BCC of the same mail): recorded once.
    _send(platform, message, [bcc])
    time.sleep(1)
    assert len(_records(admin, buyer["id"])) == 1
    # The customer's timeline shows it as a follow-up record.
    wait_for(lambda: any(i["kind"] == "followup_recorded" for i in admin.get(
        f"/v1/customers/{buyer['id']}/timeline").json()["items"]), timeout=30)


def test_a_customer_known_later_gets_the_mail_when_it_is_delivered_again(platform: Platform,
                                                                          tenant: TenantContext) -> None:
    """Once per customer, not per mail: the same mail delivered again (a colleague's BCC, a resend)
    after a named address became a customer's records it for that customer, and for no one twice."""
    admin = admin_http(tenant)
    buyer = _customer(admin, "先到客户", "first@customer.example")
    later = _customer(admin, "后到客户", "old-address@customer.example")
    bcc = admin.get(ADDRESS).json()["address"]
    message = _mail(admin_email(tenant), ["first@customer.example", "late@customer.example"], "报价", "正文")
    [first] = _recorded(platform, admin, message, bcc, buyer["id"])
    assert _records(admin, later["id"]) == []  # its address was not named then
    reply = admin.patch(f"/v1/customers/{later['id']}", json={"email": "late@customer.example"},
                        headers={"If-Match": f'W/"{later["version"]}"'})
    assert reply.status_code == 200, reply.text
    [record] = _recorded(platform, admin, message, bcc, later["id"])
    assert record["content"].startswith("报价\n\n正文")
    assert [r["id"] for r in _records(admin, buyer["id"])] == [first["id"]]
    _send(platform, message, [bcc])
    time.sleep(1)
    assert len(_records(admin, later["id"])) == 1 and len(_records(admin, buyer["id"])) == 1


def test_html_mail_from_the_customer_and_a_long_body(platform: Platform, tenant: TenantContext) -> None:
    admin = admin_http(tenant)
    buyer = _customer(admin, "HTML 客户", "html@customer.example")
    bcc = admin.get(ADDRESS).json()["address"]
    # The customer wrote to the admin; the admin forwards it (the customer is the sender).
    long_text = "长文本 " * 2000
    message = _mail("html@customer.example", [admin_email(tenant)], "Re: offer", long_text,
                    html=f"<p>Hello <b>there</b></p><script>x()</script><p>{long_text}</p>")
    [record] = _recorded(platform, admin, message, bcc, buyer["id"])
    assert record["content"].startswith("Re: offer\n\n长文本") and record["content"].endswith("…")
    assert len(record["content"]) <= 4000
    me = _admin_id(admin, tenant)
    assert record["followed_by"] == me  # the tenant user among the recipients


def test_unknown_rotated_and_other_tenants_addresses_are_refused(platform: Platform, tenant: TenantContext,
                                                                 other_tenant: TenantContext) -> None:
    admin, theirs = admin_http(tenant), admin_http(other_tenant)
    mine = admin.get(ADDRESS).json()["address"]
    their_address = theirs.get(ADDRESS).json()["address"]
    _customer(theirs, "别家客户", "shared@customer.example")
    local, _, domain = mine.partition("@")
    their_tenant_hex = their_address.split("+")[1].split(".")[0]
    forged = [f"{local[:-1]}{'0' if local[-1] != '0' else '1'}@{domain}",  # wrong token
              f"{tenant.slug}+{their_tenant_hex}.{local.split('.')[-1]}@{domain}",  # my token, their tenant
              f"{local}@elsewhere.example", "postmaster@" + domain]
    for address in forged:
        with pytest.raises(smtplib.SMTPRecipientsRefused):
            _send(platform, _mail(admin_email(tenant), ["shared@customer.example"], "x", "y"), [address])

    rotated = admin.post(f"{ADDRESS}:rotate")
    assert rotated.status_code == 200 and rotated.json()["address"] != mine
    with pytest.raises(smtplib.SMTPRecipientsRefused):
        _send(platform, _mail(admin_email(tenant), ["a@b.example"], "x", "y"), [mine])
    # Mail to tenant A about a customer of tenant B records nothing in B.
    _send(platform, _mail(admin_email(tenant), ["shared@customer.example"], "x", "y"), [rotated.json()["address"]])
    time.sleep(1)
    shared = theirs.get("/v1/customers", params={"email": "shared@customer.example"}).json()["items"]
    assert _records(theirs, shared[0]["id"]) == []


def test_the_address_api_per_role(platform: Platform, tenant: TenantContext) -> None:
    create_user(tenant, f"rep@{tenant.slug}.example.com")
    rep = httpx.Client(base_url=platform.gateway_url, timeout=30, headers={
        "Authorization": f"Bearer {_sign_in(platform, tenant, f'rep@{tenant.slug}.example.com')}"})
    assert rep.get(ADDRESS).status_code == 200  # reps BCC it
    refused = rep.post(f"{ADDRESS}:rotate")
    assert refused.status_code == 403 and refused.json()["code"] == "permission_denied"
    no_followups = tenant.http(["customers:read"])
    assert no_followups.get(ADDRESS).status_code == 403
    assert tenant.http(ALL_SCOPES).post(f"{ADDRESS}:rotate").status_code == 200  # followups:manage
    expired = identity_keyring_token(platform, tenant.tenant_id, ttl=-120, scopes=["followups:read"])
    for headers in ({}, {"Authorization": f"Bearer {forged_token(platform, tenant)}"},
                    {"Authorization": f"Bearer {expired}"}):
        for method, path in (("GET", ADDRESS), ("POST", f"{ADDRESS}:rotate")):
            assert httpx.request(method, f"{platform.gateway_url}{path}", headers=headers).status_code == 401
