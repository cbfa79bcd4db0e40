"""Rate limits against the real services: the figures on every /v1 response of the suite's
gateway (configured far above what the suite sends), and 429 on an in-process replica with tiny
buckets: per client, per tenant across its clients, bad tokens never charged, and a rate-limited
POST leaves its Idempotency-Key free."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient

from crm_dev.platform import Platform
from tests.conftest import SUITE_RATE_LIMITS, TenantContext
from tests.e2e.in_process_gateway import in_process_gateway
from tests.e2e.test_isolation import _identity_signed
from tests.gateway.gateway_testkit import assert_problem

READ = ["customers:read"]
RATE_HEADERS = ("RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset")
# One token per 100 s: nothing refills during a test, however slow the machine.
TINY = {
    "rate_limit_client_per_second": 0.01, "rate_limit_client_burst": 3,
    "rate_limit_tenant_per_second": 0.01, "rate_limit_tenant_burst": 5,
}


@pytest.fixture
def tiny(platform: Platform) -> Iterator[TestClient]:
    with in_process_gateway(platform, **TINY) as client:
        yield client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_every_api_response_carries_the_figures(tenant: TenantContext, platform: Platform) -> None:
    http = tenant.http()
    replies = [
        http.get("/v1/customers"),
        http.post("/v1/customers", json={"name": "Rate Co.", "email": "rate@example.com"}),
        http.get("/v1/customers/0190b3c4-0000-7000-8000-000000000000"),  # a problem (404)
        http.post("/v1/customers", json={"name": ""}),  # a problem (400)
    ]
    assert [r.status_code for r in replies] == [200, 201, 404, 400]
    for reply in replies:
        assert all(reply.headers[h].isdigit() for h in RATE_HEADERS), reply.headers
    # The suite's gateway runs with huge buckets (refilled faster than the suite can drain them),
    # split between its worker processes (each holds its share).
    burst = int(SUITE_RATE_LIMITS["CRM_GATEWAY_RATE_LIMIT_CLIENT_BURST"]) // platform.gateway_workers
    assert replies[0].headers["RateLimit-Limit"] == str(burst)
    # Not the public API: the OAuth endpoints and pages carry none.
    assert "RateLimit-Limit" not in httpx.get(f"{tenant.api.base_url}/.well-known/oauth-authorization-server").headers


def test_a_client_over_its_burst_gets_429(tiny: TestClient, tenant: TenantContext) -> None:
    auth = bearer(tenant.token(READ))
    replies = [tiny.get("/v1/customers", headers=auth) for _ in range(4)]
    assert [r.status_code for r in replies[:3]] == [200, 200, 200]
    assert [r.headers["RateLimit-Remaining"] for r in replies[:3]] == ["2", "1", "0"]
    assert replies[0].headers["RateLimit-Limit"] == "3"
    problem = assert_problem(replies[3], 429, "rate_limited")
    assert 90 <= int(replies[3].headers["Retry-After"]) <= 100  # a token per 100 s, minus time spent
    assert replies[3].headers["RateLimit-Remaining"] == "0"
    assert problem["instance"] == "/v1/customers"
    zh = tiny.get("/v1/customers", headers={**auth, "Accept-Language": "zh-CN"})
    assert zh.status_code == 429 and "Retry-After" in zh.json()["detail"] and "请求" in zh.json()["detail"]


def test_the_tenant_bucket_is_shared_by_its_clients(
    tiny: TestClient, tenant: TenantContext, other_tenant: TenantContext
) -> None:
    first, second = bearer(tenant.token(READ)), bearer(tenant.token(["customers:read", "tags:read"]))
    assert [tiny.get("/v1/customers", headers=first).status_code for _ in range(3)] == [200] * 3
    assert [tiny.get("/v1/tags", headers=second).status_code for _ in range(2)] == [200] * 2
    # The second client has one token of its own left, but the tenant has none.
    refused = tiny.get("/v1/tags", headers=second)
    assert_problem(refused, 429, "rate_limited")
    assert refused.headers["RateLimit-Limit"] == "5"
    # The admin's user token is another caller of the same tenant: refused as well.
    assert tiny.get("/v1/customers", headers=bearer(tenant.admin_token)).status_code == 429
    # Another tenant is untouched.
    assert tiny.get("/v1/customers", headers=bearer(other_tenant.token(READ))).status_code == 200


def test_bad_tokens_are_not_charged(tiny: TestClient, platform: Platform, tenant: TenantContext) -> None:
    good = tenant.token(READ)
    head, payload, signature = good.split(".")
    tampered = f"{head}.{payload}.{signature[::-1]}"
    expired = _identity_signed(platform, tenant.tenant_id, ttl=-120)
    for bad in (tampered, expired):
        for _ in range(4):
            reply = tiny.get("/v1/customers", headers=bearer(bad))
            assert_problem(reply, 401, "invalid_token")
            assert "RateLimit-Limit" not in reply.headers
    assert tiny.get("/v1/customers", headers=bearer(good)).headers["RateLimit-Remaining"] == "2"


def test_a_rate_limited_post_leaves_its_key_free(tiny: TestClient, tenant: TenantContext) -> None:
    token = tenant.token()
    auth = bearer(token)
    for _ in range(3):
        tiny.get("/v1/customers", headers=auth)
    marker = secrets.token_hex(6)
    body = {"name": f"Limited {marker}", "email": f"l-{marker}@example.com"}
    headers = {**auth, "Idempotency-Key": f"limited-{marker}"}
    assert_problem(tiny.post("/v1/customers", json=body, headers=headers), 429, "rate_limited")
    # The suite's gateway (another replica, generous limits) runs it: nothing was recorded.
    ran = tenant.http().post("/v1/customers", json=body, headers={"Idempotency-Key": f"limited-{marker}"})
    assert ran.status_code == 201 and "Idempotent-Replayed" not in ran.headers
