"""Revocation (RFC 7009), introspection (RFC 7662) and signing-key rotation, end to end."""

from __future__ import annotations

import subprocess
import sys
import time

import httpx
from joserfc import jws

from crm_dev.api_client import WEB_CLIENT_ID
from crm_dev.platform import Platform
from tests.conftest import TenantContext, wait_for
from tests.e2e.oauth_flows import code_tokens, identity_keyring_token


def introspector(tenant: TenantContext) -> tuple[str, str]:
    client = tenant.api.create_api_client(tenant.admin_token, "resource server", ["customers:read"])
    return client["client_id"], client["client_secret"]


def test_introspect_then_revoke_access_token(platform: Platform, tenant: TenantContext) -> None:
    creds = introspector(tenant)
    redirect = f"{platform.gateway_url}/auth/callback"
    with httpx.Client(base_url=platform.gateway_url, timeout=30) as http:
        tokens = code_tokens(http, tenant, WEB_CLIENT_ID, redirect)
        access = tokens["access_token"]
        active = http.post("/oauth/introspect", data={"token": access}, auth=creds)
        assert active.status_code == 200 and active.headers["cache-control"] == "no-store"
        body = active.json()
        assert body["active"] is True and body["tid"] == tenant.tenant_id and body["client_id"] == WEB_CLIENT_ID
        assert body["token_type"] == "Bearer" and body["exp"] - body["iat"] == 900
        assert {"scope", "sub"} <= set(body)

        revoked = http.post("/oauth/revoke", data={"token": access, "token_type_hint": "access_token",
                                                   "client_id": WEB_CLIENT_ID})
        assert revoked.status_code == 200
        assert http.post("/oauth/introspect", data={"token": access}, auth=creds).json() == {"active": False}
        # The documented limit: services verify signatures only, so until it expires (15 min) the
        # revoked access token is still accepted by the API. Introspection is the check that knows.
        still = http.get("/v1/api-clients", headers={"Authorization": f"Bearer {access}"})
        assert still.status_code == 200


def test_revoke_refresh_token_revokes_the_family(platform: Platform, tenant: TenantContext) -> None:
    creds = introspector(tenant)
    redirect = f"{platform.gateway_url}/auth/callback"
    with httpx.Client(base_url=platform.gateway_url, timeout=30) as http:
        tokens = code_tokens(http, tenant, WEB_CLIENT_ID, redirect)
        rotated = http.post("/oauth/token", data={"grant_type": "refresh_token", "client_id": WEB_CLIENT_ID,
                                                  "refresh_token": tokens["refresh_token"]}).json()
        refresh = rotated["refresh_token"]
        info = http.post("/oauth/introspect", data={"token": refresh, "token_type_hint": "refresh_token"},
                         auth=creds).json()
        assert info["active"] is True and info["token_type"] == "refresh_token"
        assert http.post("/oauth/revoke", data={"token": refresh, "client_id": WEB_CLIENT_ID}).status_code == 200
        assert http.post("/oauth/introspect", data={"token": refresh}, auth=creds).json() == {"active": False}
        again = http.post("/oauth/token", data={"grant_type": "refresh_token", "client_id": WEB_CLIENT_ID,
                                                "refresh_token": refresh})
        assert again.status_code == 400 and again.json()["error"] == "invalid_grant"


def test_revoke_request_errors(platform: Platform, tenant: TenantContext) -> None:
    client_id, secret = introspector(tenant)
    with httpx.Client(base_url=platform.gateway_url, timeout=30) as http:
        unknown = http.post("/oauth/revoke", data={"token": "never-issued"}, auth=(client_id, secret))
        assert unknown.status_code == 200  # RFC 7009 §2.2: unknown tokens are not an error
        anonymous = http.post("/oauth/revoke", data={"token": "x"})
        assert anonymous.status_code == 401 and anonymous.json()["error"] == "invalid_client"
        wrong = http.post("/oauth/revoke", data={"token": "x"}, auth=(client_id, "wrong"))
        assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"
        assert "basic" in wrong.headers["www-authenticate"].lower()
        missing = http.post("/oauth/revoke", data={}, auth=(client_id, secret))
        assert missing.status_code == 400 and missing.json()["error"] == "invalid_request"
        as_json = http.post("/oauth/revoke", json={"token": "x"}, auth=(client_id, secret))
        assert as_json.status_code == 400 and as_json.json()["error"] == "invalid_request"


def test_introspection_access_rules(platform: Platform, tenant: TenantContext, other_tenant: TenantContext) -> None:
    creds = introspector(tenant)
    foreign = introspector(other_tenant)
    with httpx.Client(base_url=platform.gateway_url, timeout=30) as http:
        token = tenant.token(["customers:read"])
        assert http.post("/oauth/introspect", data={"token": token}, auth=creds).json()["active"] is True
        # Another tenant's client learns nothing about this tenant's tokens.
        assert http.post("/oauth/introspect", data={"token": token}, auth=foreign).json() == {"active": False}
        # Public clients may not introspect.
        public = http.post("/oauth/introspect", data={"token": token, "client_id": WEB_CLIENT_ID})
        assert public.status_code == 401 and public.json()["error"] == "invalid_client"
        nobody = http.post("/oauth/introspect", data={"token": token})
        assert nobody.status_code == 401
        # Forged, expired and malformed tokens are simply inactive.
        head, payload, _ = token.split(".")
        forged = f"{head}.{payload}.{'A' * 86}"
        expired = identity_keyring_token(platform, tenant.tenant_id, ttl=-120, scopes=["customers:read"])
        for bad in (forged, expired, "garbage"):
            assert http.post("/oauth/introspect", data={"token": bad}, auth=creds).json() == {"active": False}
        # The API refuses them too.
        for bad in (forged, expired):
            assert http.get("/v1/customers", headers={"Authorization": f"Bearer {bad}"}).status_code == 401


def _kid(token: str) -> str:
    return str(jws.extract_compact(token.encode()).protected["kid"])


def test_key_rotation_keeps_old_tokens_and_signs_new_ones_with_the_new_key(platform: Platform,
                                                                           tenant: TenantContext) -> None:
    client = tenant.api.create_api_client(tenant.admin_token, "rotation", ["customers:read"])
    before = tenant.api.client_credentials(client["client_id"], client["client_secret"])
    old_kid = _kid(before)
    rotated = subprocess.run(
        # Published 6 s before it signs (the default 15 s would only slow the test down).
        [sys.executable, "-m", "crm_dev", "rotate-keys", "--data-dir", str(platform.data_dir), "--publish-ahead", "6"],
        capture_output=True, text=True, timeout=60,
    )
    assert rotated.returncode == 0, rotated.stderr
    new_kid = rotated.stdout.split("new signing key:")[1].split()[0]
    assert new_kid != old_kid

    def fresh_kid() -> str | None:
        token = tenant.api.client_credentials(client["client_id"], client["client_secret"])
        return token if _kid(token) == new_kid else None

    after = wait_for(fresh_kid, timeout=30)  # identity reloads its keys every few seconds
    jwks = {k["kid"] for k in httpx.get(f"{platform.gateway_url}/oauth/jwks").json()["keys"]}
    assert {old_kid, new_kid} <= jwks
    with httpx.Client(base_url=platform.gateway_url, timeout=30) as http:
        for token in (before, after):  # services refetch the JWKS on the unknown kid
            deadline = time.monotonic() + 15
            while True:
                reply = http.get("/v1/customers", headers={"Authorization": f"Bearer {token}"})
                if reply.status_code == 200 or time.monotonic() > deadline:
                    break
                time.sleep(0.5)
            assert reply.status_code == 200, reply.text
