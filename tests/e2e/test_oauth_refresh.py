"""Refresh tokens end to end: the code flow returns one, /oauth/token rotates it, a reused token
revokes its whole family, scope narrows but never widens; third-party clients pass the consent
screen (deny -> access_denied, allow -> asked once)."""

from __future__ import annotations

import httpx

from crm_dev.api_client import WEB_CLIENT_ID
from crm_dev.platform import Platform
from tests.conftest import TenantContext
from tests.e2e.oauth_flows import answer_consent, code_tokens, sign_in

APP_REDIRECT = "https://app.example.net/cb"


def refresh(http: httpx.Client, token: str, client_id: str = WEB_CLIENT_ID, scope: str = "") -> httpx.Response:
    data = {"grant_type": "refresh_token", "refresh_token": token, "client_id": client_id}
    if scope:
        data["scope"] = scope
    return http.post("/oauth/token", data=data)


def test_discovery_lists_refresh_revocation_and_introspection(platform: Platform) -> None:
    meta = httpx.get(f"{platform.gateway_url}/.well-known/oauth-authorization-server").json()
    assert "refresh_token" in meta["grant_types_supported"]
    assert meta["revocation_endpoint"] == f"{platform.gateway_url}/oauth/revoke"
    assert meta["introspection_endpoint"] == f"{platform.gateway_url}/oauth/introspect"
    assert "none" not in meta["introspection_endpoint_auth_methods_supported"]


def test_code_flow_with_refresh_rotation_and_reuse_detection(platform: Platform, tenant: TenantContext) -> None:
    redirect = f"{platform.gateway_url}/auth/callback"
    with httpx.Client(base_url=platform.gateway_url, timeout=30) as http:
        first = code_tokens(http, tenant, WEB_CLIENT_ID, redirect)
        assert first["expires_in"] == 900 and first["refresh_token"]

        rotated = refresh(http, first["refresh_token"])
        assert rotated.status_code == 200, rotated.text
        assert rotated.headers["cache-control"] == "no-store"
        second = rotated.json()
        assert second["refresh_token"] != first["refresh_token"] and second["scope"] == first["scope"]
        api = http.get("/v1/api-clients", headers={"Authorization": f"Bearer {second['access_token']}"})
        assert api.status_code == 200, api.text

        # The first token is spent: presenting it again is a reuse, which revokes the family...
        reused = refresh(http, first["refresh_token"])
        assert reused.status_code == 400 and reused.json()["error"] == "invalid_grant"
        # ...so the newest token, held by the legitimate client, stops working too.
        newest = refresh(http, second["refresh_token"])
        assert newest.status_code == 400 and newest.json()["error"] == "invalid_grant"


def test_scope_narrows_never_widens(platform: Platform, tenant: TenantContext) -> None:
    redirect = f"{platform.gateway_url}/auth/callback"
    with httpx.Client(base_url=platform.gateway_url, timeout=30) as http:
        tokens = code_tokens(http, tenant, WEB_CLIENT_ID, redirect, scope="customers:read customers:write")
        wider = refresh(http, tokens["refresh_token"], scope="customers:read clients:manage")
        assert wider.status_code == 400 and wider.json()["error"] == "invalid_scope"
        narrow = refresh(http, tokens["refresh_token"], scope="customers:read")
        assert narrow.status_code == 200, narrow.text
        assert narrow.json()["scope"] == "customers:read"


def test_refresh_errors(platform: Platform, tenant: TenantContext) -> None:
    with httpx.Client(base_url=platform.gateway_url, timeout=30) as http:
        missing = http.post("/oauth/token", data={"grant_type": "refresh_token", "client_id": WEB_CLIENT_ID})
        assert missing.status_code == 400 and missing.json()["error"] == "invalid_request"
        forged = refresh(http, "rt_forged")
        assert forged.status_code == 400 and forged.json()["error"] == "invalid_grant"
        nobody = http.post("/oauth/token", data={"grant_type": "refresh_token", "refresh_token": "rt_x"})
        assert nobody.status_code == 400 and nobody.json()["error"] == "invalid_request"
        # client_credentials never yields a refresh token.
        client = tenant.api.create_api_client(tenant.admin_token, "erp", ["customers:read"])
        machine = http.post("/oauth/token", data={"grant_type": "client_credentials"},
                            auth=(client["client_id"], client["client_secret"]))
        assert machine.status_code == 200 and "refresh_token" not in machine.json()


def test_third_party_consent_deny_allow_and_remembered(platform: Platform, tenant: TenantContext) -> None:
    admin = {"Authorization": f"Bearer {tenant.admin_token}"}
    with httpx.Client(base_url=platform.gateway_url, timeout=30) as http:
        created = http.post("/v1/api-clients", headers=admin, json={
            "name": "Partner mobile app", "kind": "public", "grant_types": ["authorization_code"],
            "redirect_uris": [APP_REDIRECT], "scopes": ["customers:read", "tags:read"],
        })
        assert created.status_code == 201, created.text
        client_id = created.json()["client_id"]

        asked = sign_in(http, tenant, client_id, APP_REDIRECT, scope="customers:read")
        assert asked.is_consent
        assert "Read customers" in asked.response.text or "查看客户" in asked.response.text
        denied = answer_consent(http, asked, "deny")
        assert denied.response.status_code == 302
        assert denied.response.headers["location"].startswith(APP_REDIRECT)
        assert denied.query["error"] == ["access_denied"] and denied.query["state"] == [asked.state]
        assert "code" not in denied.query
        # The ticket answered once; answering again is refused on our own page.
        replay = http.post("/oauth/authorize/consent", data={**asked.form(), "decision": "allow"})
        assert replay.status_code == 400 and "location" not in replay.headers

        # A public client: code + PKCE, then refresh, with client_id alone.
        tokens = code_tokens(http, tenant, client_id, APP_REDIRECT, scope="customers:read")
        assert tokens["scope"] == "customers:read" and tokens["refresh_token"]
        assert refresh(http, tokens["refresh_token"], client_id=client_id).status_code == 200

        # Asked once: the next sign-in for the same scopes goes straight back with a code.
        again = sign_in(http, tenant, client_id, APP_REDIRECT, scope="customers:read")
        assert again.response.status_code == 302 and "code" in again.query
        # A scope not yet approved asks again.
        assert sign_in(http, tenant, client_id, APP_REDIRECT, scope="customers:read tags:read").is_consent


def test_consent_form_needs_its_csrf_token(platform: Platform, tenant: TenantContext) -> None:
    admin = {"Authorization": f"Bearer {tenant.admin_token}"}
    with httpx.Client(base_url=platform.gateway_url, timeout=30) as http:
        client_id = http.post("/v1/api-clients", headers=admin, json={
            "name": "Partner", "kind": "public", "grant_types": ["authorization_code"],
            "redirect_uris": [APP_REDIRECT], "scopes": ["customers:read"],
        }).json()["client_id"]
        asked = sign_in(http, tenant, client_id, APP_REDIRECT)
        # A cross-site post lacks the cookie-bound CSRF token.
        with httpx.Client(base_url=platform.gateway_url, timeout=30) as stranger:
            forged = stranger.post("/oauth/authorize/consent", data={**asked.form(), "decision": "allow"})
        assert forged.status_code == 400 and "location" not in forged.headers
        assert answer_consent(http, asked, "allow").response.status_code == 302
