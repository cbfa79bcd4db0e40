"""Tenant isolation and authorisation at the public API."""

from __future__ import annotations

import asyncio
import time
import uuid

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import ECKey

from crm_dev.platform import Platform
from crm_identity.keys.service import KeyRing
from crm_platform.db import create_engine
from tests.conftest import TenantContext


def _identity_signed(platform: Platform, tenant_id: str, **kwargs: object) -> str:
    """A token signed with identity's real key (as an operator could), for expiry/audience cases."""

    async def issue() -> str:
        engine = create_engine(platform.database_url("identity"), pool_size=1)
        try:
            ring = KeyRing(
                engine,
                platform.secrets["master_key"],
                str(kwargs.pop("issuer", platform.gateway_url)),
                str(kwargs.pop("audience", "crm-api")),
            )
            await ring.load()
            return ring.issue(
                subject="client:x",
                tenant_id=tenant_id,
                client_id="x",
                scopes=["customers:read", "customers:write"],
                ttl=int(str(kwargs.pop("ttl", 300))),
            )
        finally:
            await engine.dispose()

    return asyncio.run(issue())


@pytest.fixture
def customer_of_a(tenant: TenantContext) -> str:
    reply = tenant.http().post("/v1/customers", json={"name": "Tenant A Co.", "mobile": "13700137000"})
    assert reply.status_code == 201, reply.text
    return str(reply.json()["id"])


def test_another_tenant_gets_404(customer_of_a: str, tenant: TenantContext, other_tenant: TenantContext) -> None:
    b = other_tenant.http()
    for response in (
        b.get(f"/v1/customers/{customer_of_a}"),
        b.patch(f"/v1/customers/{customer_of_a}", json={"name": "hijack"}, headers={"If-Match": 'W/"1"'}),
        b.get(f"/v1/customers/{customer_of_a}/tags"),
    ):
        assert response.status_code == 404, response.text
        assert response.json()["code"] == "not_found"
    assert b.get("/v1/customers").json()["items"] == []
    assert tenant.http().get(f"/v1/customers/{customer_of_a}").status_code == 200


@pytest.mark.parametrize(
    "header",
    [
        None,
        "Bearer",
        "Bearer not-a-jwt",
        "Basic dXNlcjpwYXNz",
    ],
)
def test_missing_or_malformed_token_is_401(platform: Platform, header: str | None) -> None:
    headers = {"Authorization": header} if header else {}
    reply = httpx.get(f"{platform.gateway_url}/v1/customers", headers=headers)
    assert reply.status_code == 401
    assert reply.headers["content-type"].startswith("application/problem+json")
    assert "www-authenticate" in reply.headers


def test_forged_expired_and_wrong_audience_tokens_are_401(
    platform: Platform, tenant: TenantContext, customer_of_a: str
) -> None:
    forger = ECKey.generate_key("P-256", private=True)
    now = int(time.time())
    forged = jwt.encode(
        {"alg": "ES256", "typ": "at+jwt", "kid": "made-up"},
        {
            "iss": platform.gateway_url,
            "aud": "crm-api",
            "sub": "x",
            "client_id": "x",
            "tid": tenant.tenant_id,
            "scope": "customers:read",
            "iat": now,
            "exp": now + 300,
        },
        forger,
        algorithms=["ES256"],
    )
    expired = _identity_signed(platform, tenant.tenant_id, ttl=-120)
    wrong_audience = _identity_signed(platform, tenant.tenant_id, audience="another-api")
    wrong_issuer = _identity_signed(platform, tenant.tenant_id, issuer="http://evil.example")
    valid = _identity_signed(platform, tenant.tenant_id)
    url = f"{platform.gateway_url}/v1/customers/{customer_of_a}"
    for token in (forged, expired, wrong_audience, wrong_issuer):
        assert httpx.get(url, headers={"Authorization": f"Bearer {token}"}).status_code == 401
    # The same machinery with a good token works, so the 401s above are about the tokens.
    assert httpx.get(url, headers={"Authorization": f"Bearer {valid}"}).status_code == 200


def test_token_without_the_scope_is_403(tenant: TenantContext, customer_of_a: str) -> None:
    reader = tenant.http(["customers:read"])
    assert reader.get(f"/v1/customers/{customer_of_a}").status_code == 200
    denied = reader.post("/v1/customers", json={"name": "x", "mobile": "13700137001"})
    assert denied.status_code == 403
    assert denied.json()["code"] == "permission_denied"
    assert reader.get("/v1/reports/customers-by-industry").status_code == 403
    assert reader.post("/v1/tags", json={"name": "x"}).status_code == 403
    assert reader.get("/v1/webhook-endpoints").status_code == 403


def test_unknown_id_shapes_are_404_not_500(tenant: TenantContext) -> None:
    http = tenant.http()
    for customer_id in ("not-a-uuid", str(uuid.uuid4()), "1' OR '1'='1"):
        assert http.get(f"/v1/customers/{customer_id}").status_code == 404
    # A NUL is refused by the text rule before any lookup (docs/api.md, "Text input"): 400, not 500.
    reply = http.get("/v1/customers/%00")
    assert reply.status_code == 400
    assert [e["code"] for e in reply.json()["errors"]] == ["invalid_characters"]
