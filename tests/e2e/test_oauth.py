"""OAuth 2.0 at the gateway: discovery, code + PKCE (S256 only, exact redirect, one-time codes),
client credentials, and RFC 6749 error responses."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import httpx

from crm_dev.api_client import WEB_CLIENT_ID, _FormParser, pkce_pair
from crm_dev.platform import Platform
from tests.conftest import TenantContext
from tests.e2e.test_oauth_revoke_introspect import introspector


def _authorize(http: httpx.Client, tenant: TenantContext, challenge: str, *, redirect_uri: str,
               method: str = "S256") -> httpx.Response:
    """Opens the login page and submits the admin's credentials; returns the form response."""
    params = {"response_type": "code", "client_id": WEB_CLIENT_ID, "redirect_uri": redirect_uri,
              "code_challenge": challenge, "code_challenge_method": method, "state": "s1"}
    page = http.get("/oauth/authorize", params=params)
    if page.status_code != 200:
        return page
    form = _FormParser()
    form.feed(page.text)
    fields = dict(form.inputs)
    for name in fields:
        if "password" in name:
            fields[name] = "demo-password-1"
        elif "email" in name:
            fields[name] = f"admin@{tenant.slug}.example.com"
        elif name in ("tenant", "tenant_slug", "slug", "company"):
            fields[name] = tenant.slug
    return http.post(form.action or "/oauth/authorize", data=fields)


def _code(reply: httpx.Response) -> str:
    assert reply.status_code in (302, 303), reply.text
    query = parse_qs(urlparse(reply.headers["location"]).query)
    assert query["state"] == ["s1"]
    return query["code"][0]


def test_discovery_metadata(platform: Platform) -> None:
    meta = httpx.get(f"{platform.gateway_url}/.well-known/oauth-authorization-server").json()
    assert meta["issuer"] == platform.gateway_url
    assert meta["code_challenge_methods_supported"] == ["S256"]
    assert set(meta["grant_types_supported"]) == {"authorization_code", "refresh_token", "client_credentials"}
    jwks = httpx.get(meta["jwks_uri"]).json()
    assert jwks["keys"] and all("d" not in key for key in jwks["keys"])  # never a private part


def test_code_flow_checks_verifier_redirect_and_reuse(platform: Platform, tenant: TenantContext) -> None:
    redirect = f"{platform.gateway_url}/auth/callback"
    with httpx.Client(base_url=platform.gateway_url, timeout=30) as http:
        verifier, challenge = pkce_pair()
        code = _code(_authorize(http, tenant, challenge, redirect_uri=redirect))
        token_request = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect,
                         "client_id": WEB_CLIENT_ID}
        wrong = http.post("/oauth/token", data={**token_request, "code_verifier": pkce_pair()[0]})
        assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"
        # The failed attempt consumed the code: a code is good for one exchange at most.
        replay = http.post("/oauth/token", data={**token_request, "code_verifier": verifier})
        assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"

        verifier, challenge = pkce_pair()
        code = _code(_authorize(http, tenant, challenge, redirect_uri=redirect))
        good = http.post("/oauth/token", data={**token_request, "code": code, "code_verifier": verifier})
        assert good.status_code == 200, good.text
        assert good.json()["token_type"].lower() == "bearer"
        assert good.headers["cache-control"] == "no-store"
        again = http.post("/oauth/token", data={**token_request, "code": code, "code_verifier": verifier})
        assert again.status_code == 400 and again.json()["error"] == "invalid_grant"

        verifier, challenge = pkce_pair()
        code = _code(_authorize(http, tenant, challenge, redirect_uri=redirect))
        moved = http.post("/oauth/token", data={**token_request, "code": code, "code_verifier": verifier,
                                                "redirect_uri": redirect + "/other"})
        assert moved.status_code == 400 and moved.json()["error"] == "invalid_grant"


def test_plain_pkce_and_foreign_redirect_are_refused_without_redirecting(platform: Platform,
                                                                         tenant: TenantContext) -> None:
    with httpx.Client(base_url=platform.gateway_url, timeout=30) as http:
        verifier, challenge = pkce_pair()
        plain = _authorize(http, tenant, verifier, redirect_uri=f"{platform.gateway_url}/auth/callback",
                           method="plain")
        assert plain.status_code == 400 or "error=invalid_request" in plain.headers.get("location", "")
        evil = _authorize(http, tenant, challenge, redirect_uri="https://evil.example/cb")
        assert evil.status_code == 400
        assert "location" not in evil.headers


def test_wrong_password_gets_no_code(platform: Platform, tenant: TenantContext) -> None:
    with httpx.Client(base_url=platform.gateway_url, timeout=30) as http:
        _, challenge = pkce_pair()
        params = {"response_type": "code", "client_id": WEB_CLIENT_ID, "code_challenge": challenge,
                  "redirect_uri": f"{platform.gateway_url}/auth/callback", "code_challenge_method": "S256"}
        page = http.get("/oauth/authorize", params=params)
        form = _FormParser()
        form.feed(page.text)
        fields = dict(form.inputs)
        for name in fields:
            if "password" in name:
                fields[name] = "wrong-password-123"
            elif "email" in name:
                fields[name] = f"admin@{tenant.slug}.example.com"
            elif name in ("tenant", "tenant_slug", "slug", "company"):
                fields[name] = tenant.slug
        reply = http.post(form.action or "/oauth/authorize", data=fields)
        assert reply.status_code in (400, 401, 200)
        assert "location" not in reply.headers


def test_client_credentials_errors(platform: Platform, tenant: TenantContext) -> None:
    client = tenant.api.create_api_client(tenant.admin_token, "erp", ["customers:read"])
    url = f"{platform.gateway_url}/oauth/token"
    bad_secret = httpx.post(url, data={"grant_type": "client_credentials"}, auth=(client["client_id"], "nope"))
    assert bad_secret.status_code == 401 and bad_secret.json()["error"] == "invalid_client"
    too_much = httpx.post(url, data={"grant_type": "client_credentials", "scope": "customers:write"},
                          auth=(client["client_id"], client["client_secret"]))
    assert too_much.status_code == 400 and too_much.json()["error"] == "invalid_scope"
    unsupported = httpx.post(url, data={"grant_type": "password", "username": "a", "password": "b"},
                             auth=(client["client_id"], client["client_secret"]))
    assert unsupported.status_code == 400 and unsupported.json()["error"] == "unsupported_grant_type"
    ok = httpx.post(url, data={"grant_type": "client_credentials"}, auth=(client["client_id"], client["client_secret"]))
    assert ok.status_code == 200 and ok.json()["scope"] == "customers:read"


def test_a_reused_code_revokes_the_tokens_of_its_first_exchange(platform: Platform, tenant: TenantContext) -> None:
    """RFC 6749 §4.1.2: the second redemption fails, and the refresh token and access token the
    first one returned stop being usable (introspection: inactive; refresh: invalid_grant). The
    access token still verifies at the resource servers until it expires (docs/oauth.md)."""
    creds = introspector(tenant)
    redirect = f"{platform.gateway_url}/auth/callback"
    with httpx.Client(base_url=platform.gateway_url, timeout=30) as http:
        verifier, challenge = pkce_pair()
        code = _code(_authorize(http, tenant, challenge, redirect_uri=redirect))
        exchange = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect,
                    "client_id": WEB_CLIENT_ID, "code_verifier": verifier}
        first = http.post("/oauth/token", data=exchange).json()
        assert http.post("/oauth/introspect", data={"token": first["access_token"]}, auth=creds).json()["active"]

        replay = http.post("/oauth/token", data=exchange)

        assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
        for token in (first["access_token"], first["refresh_token"]):
            assert http.post("/oauth/introspect", data={"token": token}, auth=creds).json() == {"active": False}
        refreshed = http.post("/oauth/token", data={"grant_type": "refresh_token", "client_id": WEB_CLIENT_ID,
                                                    "refresh_token": first["refresh_token"]})
        assert refreshed.status_code == 400 and refreshed.json()["error"] == "invalid_grant"
