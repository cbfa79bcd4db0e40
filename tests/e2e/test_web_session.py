"""The web session outlives its 15-minute access token: an expiring token is refreshed (and the
refresh token rotated) as pages are used; logout revokes the refresh token's family."""

from __future__ import annotations

import time
from typing import Any

import httpx

from crm_dev.api_client import _FormParser
from crm_dev.platform import Platform
from crm_gateway.signing import Signer
from crm_gateway.web.session import SESSION_COOKIE
from tests.conftest import TenantContext


def _web_login(platform: Platform, tenant: TenantContext) -> httpx.Client:
    browser = httpx.Client(base_url=platform.gateway_url, timeout=30, follow_redirects=True)
    page = browser.get("/app/customers")  # -> /login -> /oauth/authorize (login page)
    form = _FormParser()
    form.feed(page.text)
    fields = {**form.inputs, "company": tenant.slug, "email": f"admin@{tenant.slug}.example.com",
              "password": "demo-password-1"}
    landed = browser.post(str(page.url.copy_with(query=None)), data=fields)
    assert landed.status_code == 200 and landed.url.path == "/app/customers", landed.text[:300]
    return browser


def _session(platform: Platform, browser: httpx.Client) -> dict[str, Any]:
    data = Signer(platform.secrets["session_secret"], "session").verify(browser.cookies[SESSION_COOKIE])
    assert data is not None
    return data


def _expire(platform: Platform, browser: httpx.Client) -> dict[str, Any]:
    """Rewrites the session cookie as it will look 15 minutes later: access token expired."""
    data = {**_session(platform, browser), "expires_at": int(time.time()) - 5}
    browser.cookies.set(SESSION_COOKIE, Signer(platform.secrets["session_secret"], "session").sign(data, 3600),
                        domain="127.0.0.1")
    return data


def test_expired_access_token_is_refreshed_and_rotated(platform: Platform, tenant: TenantContext) -> None:
    browser = _web_login(platform, tenant)
    try:
        first = _session(platform, browser)
        assert first["refresh_token"]
        stale = _expire(platform, browser)
        page = browser.get("/app/customers")
        assert page.status_code == 200 and page.url.path == "/app/customers"
        renewed = _session(platform, browser)
        assert renewed["token"] != first["token"] and renewed["expires_at"] > time.time() + 600
        assert renewed["refresh_token"] != first["refresh_token"]  # rotated
        assert renewed["csrf"] == first["csrf"]  # forms already open still post

        # The rotated-away refresh token is dead: reusing it (a stolen copy) revokes the family,
        # which ends this session too at its next refresh.
        browser.cookies.set(SESSION_COOKIE, Signer(platform.secrets["session_secret"], "session").sign(stale, 3600),
                            domain="127.0.0.1")
        assert browser.get("/app/customers").url.path != "/app/customers"
    finally:
        browser.close()


def test_logout_revokes_the_refresh_token(platform: Platform, tenant: TenantContext) -> None:
    browser = _web_login(platform, tenant)
    try:
        kept = _expire(platform, browser)  # what a copied cookie would hold
        browser.post("/logout")
        browser.cookies.set(SESSION_COOKIE, Signer(platform.secrets["session_secret"], "session").sign(kept, 3600),
                            domain="127.0.0.1")
        assert browser.get("/app/customers").url.path != "/app/customers"  # sent to sign in
    finally:
        browser.close()
