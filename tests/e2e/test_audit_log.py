"""The audit log over REST: sign-ins (failed and successful, with ip and user agent), API client
changes, a customer reveal arriving from customers' event, filters, paging (newest first), the CSV
export (itself audited), and isolation: another tenant sees none of it; scopes and tokens checked."""

from __future__ import annotations

import csv
import io
from typing import Any

import httpx

from crm_dev.platform import Platform
from tests.conftest import ALL_SCOPES, TenantContext, new_tenant, wait_for
from tests.e2e.oauth_flows import identity_keyring_token
from tests.e2e.test_login_security import Browser, admin_email, admin_http, forged_token

AUDIT = [*ALL_SCOPES, "audit:read"]
UA = "audit-test/2.0"


def events(http: httpx.Client, **params: Any) -> list[dict[str, Any]]:
    reply = http.get("/v1/audit-events", params=params)
    assert reply.status_code == 200, reply.text
    items: list[dict[str, Any]] = reply.json()["items"]
    return items


def sign_in(platform: Platform, tenant: TenantContext, password: str) -> httpx.Response:
    browser = Browser(platform.gateway_url)
    browser.http.headers.update({"User-Agent": UA, "X-Forwarded-For": "198.51.100.7"})
    return browser.sign_in(tenant.slug, admin_email(tenant), password)


def test_logins_clients_and_reveals_are_recorded(platform: Platform, tenant: TenantContext) -> None:
    assert "Wrong company, email or password." in sign_in(platform, tenant, "wrong-password-1").text
    assert sign_in(platform, tenant, "demo-password-1").status_code == 302
    http = admin_http(tenant)

    failed = events(http, action="login.failed")
    assert [(e["actor_kind"], e["target_type"]) for e in failed] == [("user", "user")]
    assert failed[0]["ip"].startswith("198.51.100.7") and failed[0]["user_agent"] == UA
    assert "password" not in str(failed[0]["details"]) or failed[0]["details"].get("email")
    succeeded = events(http, action="login.succeeded")
    assert succeeded and succeeded[0]["user_agent"] == UA and succeeded[0]["ip"].startswith("198.51.100.7")
    assert succeeded[0]["actor"] == failed[0]["actor"] == succeeded[0]["target_id"]

    created = http.post("/v1/api-clients", json={"name": "erp", "scopes": ["customers:read"]},
                        headers={"User-Agent": UA})
    assert created.status_code == 201, created.text
    client_id, secret = created.json()["client_id"], created.json()["client_secret"]
    assert http.post(f"/v1/api-clients/{client_id}:rotate-secret").status_code == 200
    assert http.post(f"/v1/api-clients/{client_id}:revoke").status_code == 200
    trail = events(http, target_id=client_id)
    assert [e["action"] for e in trail] == ["client.revoked", "client.secret_rotated", "client.created"]
    assert trail[-1]["user_agent"] == UA and trail[-1]["actor"] == succeeded[0]["actor"]
    assert secret not in str(trail)

    customer = tenant.http().post("/v1/customers", json={"name": "张三", "mobile": "13800138000",
                                                         "resident_id": "11010519491231002X"}).json()
    revealer = tenant.http([*ALL_SCOPES, "customers:reveal"])
    assert revealer.post(f"/v1/customers/{customer['id']}:reveal", json={"fields": ["resident_id"]}).status_code == 200
    [reveal] = wait_for(lambda: events(http, action="customer.revealed"))
    assert reveal["target_type"] == "customer" and reveal["target_id"] == customer["id"]
    assert reveal["actor_kind"] == "client" and reveal["actor"].startswith("client:")
    assert reveal["details"]["fields"] == ["resident_id"] and "11010519491231002X" not in str(reveal)


def test_filters_paging_and_export(platform: Platform, tenant: TenantContext) -> None:
    for _ in range(3):
        sign_in(platform, tenant, "wrong-password-1")
    http = tenant.http(AUDIT)
    everything = events(http, page_size=100)
    assert len(everything) >= 3
    stamps = [e["occurred_at"] for e in everything]
    assert stamps == sorted(stamps, reverse=True)  # newest first

    # Paging: two at a time, the same entries in the same order.
    seen: list[str] = []
    token = ""
    while True:
        reply = http.get("/v1/audit-events", params={"page_size": 2, **({"page_token": token} if token else {})})
        assert reply.status_code == 200, reply.text
        seen += [e["id"] for e in reply.json()["items"]]
        token = reply.json().get("next_page_token", "")
        if not token:
            break
    assert seen == [e["id"] for e in everything]

    failed = events(http, action="login.f")
    assert len(failed) == 3 and {e["action"] for e in failed} == {"login.failed"}
    actor = failed[0]["actor"]
    assert {e["actor"] for e in events(http, actor=actor)} == {actor}
    middle = failed[1]["occurred_at"]
    assert [e["id"] for e in events(http, action="login.failed", occurred_before=middle)] == [failed[2]["id"]]
    assert [e["id"] for e in events(http, action="login.failed", occurred_after=middle)] == [failed[0]["id"]]

    exported = http.get("/v1/audit-events:export", params={"action": "login.failed"})
    assert exported.status_code == 200, exported.text
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text.lstrip("\ufeff"))))
    assert [r["id"] for r in rows] == [e["id"] for e in failed]
    assert rows[0]["action"] == "login.failed" and rows[0]["ip"]
    [audited] = events(http, action="audit.exported")
    assert audited["details"] == {"action": "login.failed"} and audited["actor"].startswith("client:")


def test_bad_input_is_400_with_the_field(tenant: TenantContext) -> None:
    http = tenant.http(AUDIT)
    for params, field in (({"page_token": "forged"}, "page_token"),  # the export is never paged: unknown
                          ({"occurred_after": "2026-11-02T00:00:00Z", "occurred_before": "2026-11-01T00:00:00Z"},
                           "occurred_before"),
                          ({"occurred_after": "yesterday"}, "occurred_after")):
        for path in ("/v1/audit-events", "/v1/audit-events:export"):
            reply = http.get(path, params=params)
            assert reply.status_code == 400, (path, params, reply.text)
            assert reply.headers["content-type"].startswith("application/problem+json")
            assert field in {e["field"] for e in reply.json()["errors"]}, reply.text


def test_another_tenant_sees_nothing_and_scopes_and_tokens_are_checked(
    platform: Platform, tenant: TenantContext,
) -> None:
    sign_in(platform, tenant, "wrong-password-1")
    mine = events(tenant.http(AUDIT), action="login.failed")
    assert mine
    other = new_tenant(tenant.api)
    theirs = other.http(AUDIT)
    assert events(theirs, action="login.failed") == []
    assert events(theirs, target_id=mine[0]["target_id"]) == []
    assert mine[0]["id"] not in {e["id"] for e in events(theirs, page_size=500)}
    assert mine[0]["id"] not in theirs.get("/v1/audit-events:export").text

    for path in ("/v1/audit-events", "/v1/audit-events:export"):
        reply = tenant.http(ALL_SCOPES).get(path)
        assert reply.status_code == 403, reply.text
        expired = identity_keyring_token(platform, tenant.tenant_id, ttl=-120, scopes=["audit:read"])
        for headers in ({}, {"Authorization": f"Bearer {forged_token(platform, tenant)}"},
                        {"Authorization": f"Bearer {expired}"}):
            assert httpx.get(f"{platform.gateway_url}{path}", headers=headers).status_code == 401


def test_no_route_changes_or_deletes_entries(platform: Platform, tenant: TenantContext) -> None:
    sign_in(platform, tenant, "wrong-password-1")
    http = tenant.http(AUDIT)
    [entry] = events(http, action="login.failed")
    for method in ("PUT", "PATCH", "DELETE", "POST"):
        for path in ("/v1/audit-events", f"/v1/audit-events/{entry['id']}"):
            assert http.request(method, path, json={}).status_code in (404, 405), (method, path)
    spec = httpx.get(f"{platform.gateway_url}/openapi.json").json()["paths"]
    audit_paths = {p: set(ops) for p, ops in spec.items() if p.startswith("/v1/audit-events")}
    assert audit_paths == {"/v1/audit-events": {"get"}, "/v1/audit-events:export": {"get"}}
    assert events(http, action="login.failed") == [entry]
