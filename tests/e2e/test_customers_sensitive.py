"""Sensitive fields over the whole platform: the customers database never holds the plaintext (raw
SQL), reads and events are masked, lookups by blind index, the audited reveal (row + JetStream
event), scopes, tenants and tokens; and the detail page's Reveal button in headless Chromium."""

from __future__ import annotations

import asyncio
import base64
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import nats
import psycopg
import pytest
from playwright.sync_api import Browser, expect, sync_playwright

from crm_dev.platform import Platform
from crm_gateway.web.customer_detail import can_reveal
from crm_gateway.web.session import WebSession
from crm_platform import events
from crm_platform.ids import tenant_schema
from tests.conftest import ALL_SCOPES, TenantContext, wait_for
from tests.e2e.receiver import Receiver
from tests.e2e.test_isolation import _identity_signed
from tests.e2e.test_web_ui import _login, _shot

REVEAL = [*ALL_SCOPES, "customers:reveal"]
ID = "11010519491231002X"
CARD = "6222021234561236"
ID_MASKED = "110***********002X"
CARD_MASKED = "6222 **** **** 1236"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def _problem(reply: httpx.Response, status: int) -> dict[str, Any]:
    assert reply.status_code == status, reply.text
    assert reply.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = reply.json()
    return body


def _raw_customers_table(platform: Platform, tenant_id: str) -> str:
    """Every column of every customer row, as Postgres returns it, as one string (bytea as hex)."""
    url = platform.database_url("customers").replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url) as conn:
        rows = conn.execute(f'SELECT * FROM "{tenant_schema(tenant_id)}".customers').fetchall()
    return " ".join(repr(v) + (bytes(v).hex() if isinstance(v, bytes | memoryview) else "") for r in rows for v in r)


def _audit_rows(platform: Platform, tenant_id: str) -> list[tuple[Any, ...]]:
    url = platform.database_url("customers").replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url) as conn:
        return conn.execute(
            f'SELECT customer_id::text, fields, actor, client_id, ip, user_agent FROM "{tenant_schema(tenant_id)}"'
            ".reveal_audit ORDER BY revealed_at"
        ).fetchall()


async def _jetstream(nats_url: str, subject: str) -> list[dict[str, Any]]:
    client = await nats.connect(nats_url)
    try:
        sub = await client.jetstream().pull_subscribe(subject, stream=events.STREAM)
        try:
            messages = await sub.fetch(10, timeout=1)
        except TimeoutError:
            messages = []
        return [json.loads(m.data) for m in messages]
    finally:
        await client.close()


def test_plaintext_never_in_the_database_and_reads_and_events_are_masked(
    platform: Platform, tenant: TenantContext
) -> None:
    receiver = Receiver()
    http = tenant.http([*ALL_SCOPES, "webhooks:manage"])
    try:
        assert http.post("/v1/webhook-endpoints", json={"url": receiver.url, "event_types": []}).status_code == 201
        created = http.post("/v1/customers", json={"name": "张三", "mobile": "13800138000", "type": "individual",
                                                    "resident_id": "110105 19491231 002x",
                                                    "bank_card": "6222 0212 3456 1236"})
        assert created.status_code == 201, created.text
        c = created.json()
        assert (c["resident_id"], c["bank_card"]) == (ID_MASKED, CARD_MASKED)
        got = http.get(f"/v1/customers/{c['id']}").json()
        assert (got["resident_id"], got["bank_card"]) == (ID_MASKED, CARD_MASKED)
        [listed] = http.get("/v1/customers").json()["items"]
        assert (listed["resident_id"], listed["bank_card"]) == (ID_MASKED, CARD_MASKED)

        raw = _raw_customers_table(platform, tenant.tenant_id)
        assert "张三" in raw  # the query did read the row
        for secret in (ID, ID.lower(), CARD, ID[:-1], CARD[4:-4]):
            assert secret not in raw
            assert secret.encode().hex() not in raw

        updated = http.patch(f"/v1/customers/{c['id']}", json={"bank_card": "4111 1111 1111 1111"},
                             headers={"If-Match": 'W/"1"'})
        assert updated.status_code == 200, updated.text
        assert updated.json()["bank_card"] == "4111 **** **** 1111"
        for kind in ("created", "updated"):
            [delivery] = wait_for(lambda kind=kind: receiver.of_type(f"crm.customer.{kind}"))
            body = delivery.body.decode()
            assert ID not in body and CARD not in body and "4111111111111111" not in body
            assert delivery.event["data"]["customer"]["resident_id"] == ID_MASKED
        [updated_event] = receiver.of_type("crm.customer.updated")
        assert updated_event.event["data"]["changed_fields"] == ["bank_card"]
    finally:
        receiver.close()


def test_lookup_by_blind_index(tenant: TenantContext) -> None:
    http = tenant.http()
    a = http.post("/v1/customers", json={"name": "甲", "mobile": "13800138000", "resident_id": ID}).json()
    b = http.post("/v1/customers", json={"name": "乙", "mobile": "13800138001", "bank_card": CARD}).json()
    found = http.get("/v1/customers", params={"resident_id": ID.lower()}).json()["items"]
    assert [x["id"] for x in found] == [a["id"]]
    found = http.get("/v1/customers", params={"bank_card": "6222-0212-3456-1236"}).json()["items"]
    assert [x["id"] for x in found] == [b["id"]]
    assert http.get("/v1/customers", params={"resident_id": "110105194912310011"}).json()["items"] == []


def test_invalid_values_are_400_with_fields(tenant: TenantContext) -> None:
    body = {"name": "x", "mobile": "13800138000", "resident_id": "110105194912310021", "bank_card": "12345"}
    zh = _problem(tenant.http().post("/v1/customers", json=body, headers={"Accept-Language": "zh-CN"}), 400)
    assert {(e["field"], e["code"]) for e in zh["errors"]} == {("resident_id", "resident_id_checksum"),
                                                                ("bank_card", "invalid_bank_card")}
    assert any("银行卡" in e["message"] for e in zh["errors"])


def test_reveal_needs_the_scope_and_is_audited(platform: Platform, tenant: TenantContext) -> None:
    c = tenant.http().post("/v1/customers", json={"name": "张三", "mobile": "13800138000", "resident_id": ID,
                                                  "bank_card": CARD}).json()
    path = f"/v1/customers/{c['id']}:reveal"
    _problem(tenant.http().post(path, json={"fields": ["resident_id"]}), 403)
    assert _audit_rows(platform, tenant.tenant_id) == []

    revealer = tenant.http(REVEAL)
    reply = revealer.post(path, json={"fields": ["resident_id", "bank_card"]},
                          headers={"User-Agent": "sensitive-test/1.0", "X-Forwarded-For": "203.0.113.9"})
    assert reply.status_code == 200, reply.text
    assert reply.json() == {"customer_id": c["id"], "values": {"resident_id": ID, "bank_card": CARD}}
    assert reply.headers["cache-control"] == "no-store"
    # Normal reads stay masked even for a caller holding customers:reveal.
    assert revealer.get(f"/v1/customers/{c['id']}").json()["resident_id"] == ID_MASKED

    [(customer_id, fields, actor, client_id, ip, user_agent)] = _audit_rows(platform, tenant.tenant_id)
    assert customer_id == c["id"] and fields == ["resident_id", "bank_card"]
    assert actor and client_id and ip.startswith("203.0.113.9") and user_agent == "sensitive-test/1.0"

    subject = f"crm.{tenant.tenant_id}.customer.revealed"
    [event] = wait_for(lambda: asyncio.run(_jetstream(platform.nats.url, subject)))
    assert event["type"] == "crm.customer.revealed" and event["tenantid"] == tenant.tenant_id
    assert event["data"] == {"customer_id": c["id"], "fields": ["resident_id", "bank_card"], "actor": actor,
                             "client_id": client_id, "ip": ip, "user_agent": "sensitive-test/1.0"}
    assert ID not in json.dumps(event) and CARD not in json.dumps(event)


def test_reveal_bad_input_other_tenant_and_tokens(platform: Platform, tenant: TenantContext,
                                                  other_tenant: TenantContext) -> None:
    c = tenant.http().post("/v1/customers", json={"name": "张三", "mobile": "13800138000", "resident_id": ID}).json()
    path = f"/v1/customers/{c['id']}:reveal"
    revealer = tenant.http(REVEAL)
    for body in ({"fields": []}, {"fields": ["name"]}, {}):
        problem = _problem(revealer.post(path, json=body), 400)
        assert any(e["field"].startswith("fields") for e in problem["errors"]), problem
    _problem(other_tenant.http(REVEAL).post(path, json={"fields": ["resident_id"]}), 404)
    _problem(revealer.post("/v1/customers/00000000-0000-0000-0000-000000000000:reveal",
                           json={"fields": ["resident_id"]}), 404)
    expired = _identity_signed(platform, tenant.tenant_id, ttl=-120)
    for headers in ({}, {"Authorization": "Bearer forged.token.value"}, {"Authorization": f"Bearer {expired}"}):
        _problem(httpx.post(tenant.api.base_url + path, json={"fields": ["resident_id"]}, headers=headers), 401)
    assert _audit_rows(platform, tenant.tenant_id) == []


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run"],
        )
        yield browser
        browser.close()


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium package is not installed")
def test_detail_page_masks_and_reveals_once(chromium: Browser, platform: Platform, tenant: TenantContext) -> None:
    c = tenant.http().post("/v1/customers", json={"name": "王五", "mobile": "13800138000", "resident_id": ID,
                                                  "bank_card": CARD}).json()
    context = chromium.new_context(locale="zh-CN", viewport={"width": 1400, "height": 1100})
    page = context.new_page()
    try:
        _login(page, platform, tenant)  # the tenant admin: holds customers:reveal
        page.goto(f"{platform.gateway_url}/app/customers/{c['id']}")
        expect(page.locator("#masked-resident_id")).to_have_text(ID_MASKED)
        expect(page.locator("#masked-bank_card")).to_have_text(CARD_MASKED)
        assert ID not in page.content() and CARD not in page.content()
        expect(page.locator("#e-resident_id")).to_have_value("")
        _shot(page, "customer-sensitive-masked-zh")
        page.locator("#reveal-resident_id").click()
        expect(page.locator("#revealed-resident_id")).to_have_text(ID)
        expect(page.locator("#masked-bank_card")).to_have_text(CARD_MASKED)  # only the asked field
        _shot(page, "customer-sensitive-revealed-zh")
        assert len(_audit_rows(platform, tenant.tenant_id)) == 1
        page.goto(f"{platform.gateway_url}/app/customers/{c['id']}")  # shown once: a reload masks again
        expect(page.locator("#masked-resident_id")).to_have_text(ID_MASKED)

        # Edit: a bad card number is an inline error; a good one replaces the value.
        page.fill("#e-bank_card", "4111111111111112")
        page.get_by_role("button", name="保存修改").click()
        expect(page.locator("#e-bank_card-error")).to_contain_text("校验位")
        page.fill("#e-bank_card", "4111 1111 1111 1111")
        page.get_by_role("button", name="保存修改").click()
        expect(page.locator("#masked-bank_card")).to_have_text("4111 **** **** 1111")
        expect(page.locator("#masked-resident_id")).to_have_text(ID_MASKED)  # empty input kept the value
    finally:
        context.close()

    # The same page in English.
    context = chromium.new_context(locale="en", viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    try:
        _login(page, platform, tenant)
        page.goto(f"{platform.gateway_url}/app/customers/{c['id']}")
        expect(page.locator("#reveal-resident_id")).to_have_count(1)
        _shot(page, "customer-sensitive-masked-en")
    finally:
        context.close()


def _session_with_scopes(scope: str) -> WebSession:
    payload = base64.urlsafe_b64encode(json.dumps({"scope": scope}).encode()).decode().rstrip("=")
    return WebSession(token=f"e30.{payload}.sig", expires_at=0)


def test_reveal_button_only_with_the_scope() -> None:
    assert can_reveal(_session_with_scopes("customers:read customers:reveal"))
    assert not can_reveal(_session_with_scopes("customers:read customers:write customers:admin"))
    assert not can_reveal(WebSession(token="not-a-jwt", expires_at=0))
