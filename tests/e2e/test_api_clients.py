"""/v1/api-clients management (get, rotate secret, revoke) and the /app/api-clients page."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from crm_dev.platform import Platform
from tests.conftest import TenantContext
from tests.e2e.oauth_flows import code_tokens, identity_keyring_token

APP_REDIRECT = "https://app.example.net/cb"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(os.environ.get("CRM_TEST_ARTIFACTS", Path(__file__).resolve().parents[2] / "test-artifacts"))


def admin(platform: Platform, tenant: TenantContext) -> httpx.Client:
    return httpx.Client(base_url=platform.gateway_url, timeout=30,
                        headers={"Authorization": f"Bearer {tenant.admin_token}"})


def create(http: httpx.Client, **body: Any) -> dict[str, Any]:
    reply = http.post("/v1/api-clients", json={"name": "erp", "scopes": ["customers:read"], **body})
    assert reply.status_code == 201, reply.text
    created: dict[str, Any] = reply.json()
    return created


def token_status(platform: Platform, client_id: str, secret: str) -> int:
    return httpx.post(f"{platform.gateway_url}/oauth/token", data={"grant_type": "client_credentials"},
                      auth=(client_id, secret)).status_code


def test_a_new_client_holds_no_scope_unless_listed(platform: Platform, tenant: TenantContext) -> None:
    """Least privilege by default: a client created without `scopes` gets tokens that can do nothing,
    and asking for a scope it does not hold is refused."""
    with admin(platform, tenant) as http:
        reply = http.post("/v1/api-clients", json={"name": "bare"})
        assert reply.status_code == 201, reply.text
        bare = reply.json()
        assert bare["scopes"] == []
        assert http.get(f"/v1/api-clients/{bare['client_id']}").json()["scopes"] == []
        token = httpx.post(f"{platform.gateway_url}/oauth/token", data={"grant_type": "client_credentials"},
                           auth=(bare["client_id"], bare["client_secret"]))
        assert token.status_code == 200 and token.json()["scope"] == ""
        calls = {"Authorization": f"Bearer {token.json()['access_token']}"}
        assert httpx.get(f"{platform.gateway_url}/v1/customers", headers=calls).status_code == 403
        asked = httpx.post(f"{platform.gateway_url}/oauth/token",
                           data={"grant_type": "client_credentials", "scope": "customers:read"},
                           auth=(bare["client_id"], bare["client_secret"]))
        assert asked.status_code == 400 and asked.json()["error"] == "invalid_scope"
        # Listed scopes are held exactly.
        assert create(http, scopes=["customers:read", "tags:read"])["scopes"] == ["customers:read", "tags:read"]


def test_get_rotate_and_revoke(platform: Platform, tenant: TenantContext) -> None:
    with admin(platform, tenant) as http:
        created = create(http)
        client_id, old_secret = created["client_id"], created["client_secret"]
        got = http.get(f"/v1/api-clients/{client_id}")
        assert got.status_code == 200, got.text
        assert got.json()["client_id"] == client_id and got.json()["revoked_at"] is None
        assert "client_secret" not in got.json()

        rotated = http.post(f"/v1/api-clients/{client_id}:rotate-secret")
        assert rotated.status_code == 200, rotated.text
        assert rotated.headers["cache-control"] == "no-store"
        new_secret = rotated.json()["client_secret"]
        assert new_secret and new_secret != old_secret and rotated.json()["secret_rotated_at"]
        assert token_status(platform, client_id, old_secret) == 401  # the old secret stopped working
        assert token_status(platform, client_id, new_secret) == 200

        revoked = http.post(f"/v1/api-clients/{client_id}:revoke")
        assert revoked.status_code == 200 and revoked.json()["revoked_at"]
        assert token_status(platform, client_id, new_secret) == 401
        assert http.post(f"/v1/api-clients/{client_id}:revoke").status_code == 200  # idempotent
        again = http.post(f"/v1/api-clients/{client_id}:rotate-secret")
        assert again.status_code == 409 and again.json()["code"] == "client_revoked"
        listed = {c["client_id"]: c for c in http.get("/v1/api-clients").json()["items"]}
        assert listed[client_id]["revoked_at"]


def test_revoking_a_client_revokes_its_refresh_tokens(platform: Platform, tenant: TenantContext) -> None:
    with admin(platform, tenant) as http:
        client = create(http, name="web app", kind="confidential", grant_types=["authorization_code"],
                        redirect_uris=[APP_REDIRECT])
    with httpx.Client(base_url=platform.gateway_url, timeout=30) as browser:
        tokens = code_tokens(browser, tenant, client["client_id"], APP_REDIRECT, secret=client["client_secret"],
                             scope="customers:read")
    assert tokens["refresh_token"]
    with admin(platform, tenant) as http:
        assert http.post(f"/v1/api-clients/{client['client_id']}:revoke").status_code == 200
    refresh = httpx.post(f"{platform.gateway_url}/oauth/token",
                         data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
                         auth=(client["client_id"], client["client_secret"]))
    assert refresh.status_code in (400, 401) and refresh.json()["error"] in ("invalid_grant", "invalid_client")


def test_public_client_has_no_secret_to_rotate(platform: Platform, tenant: TenantContext) -> None:
    with admin(platform, tenant) as http:
        public = create(http, kind="public", grant_types=["authorization_code"], redirect_uris=[APP_REDIRECT])
        assert public["client_secret"] is None
        reply = http.post(f"/v1/api-clients/{public['client_id']}:rotate-secret")
        assert reply.status_code == 409 and reply.json()["code"] == "client_has_no_secret"


def test_other_tenant_gets_404(platform: Platform, tenant: TenantContext, other_tenant: TenantContext) -> None:
    with admin(platform, tenant) as http:
        client = create(http)
    with admin(platform, other_tenant) as foreign:
        for reply in (
            foreign.get(f"/v1/api-clients/{client['client_id']}"),
            foreign.post(f"/v1/api-clients/{client['client_id']}:rotate-secret"),
            foreign.post(f"/v1/api-clients/{client['client_id']}:revoke"),
            foreign.get("/v1/api-clients/crm-web"),  # the platform's own client is nobody's to manage
        ):
            assert reply.status_code == 404, reply.text
            assert reply.headers["content-type"].startswith("application/problem+json")
    assert token_status(platform, client["client_id"], client["client_secret"]) == 200  # untouched


def test_missing_scope_gets_403(platform: Platform, tenant: TenantContext) -> None:
    with admin(platform, tenant) as http:
        client = create(http)
    with tenant.http(["customers:read"]) as http:  # a token without clients:manage
        for reply in (
            http.get(f"/v1/api-clients/{client['client_id']}"),
            http.post(f"/v1/api-clients/{client['client_id']}:rotate-secret"),
            http.post(f"/v1/api-clients/{client['client_id']}:revoke"),
        ):
            assert reply.status_code == 403 and reply.json()["code"] == "permission_denied"


def test_no_forged_or_expired_token_gets_401(platform: Platform, tenant: TenantContext) -> None:
    with admin(platform, tenant) as http:
        client_id = create(http)["client_id"]
    head, payload, _ = tenant.admin_token.split(".")
    expired = identity_keyring_token(platform, tenant.tenant_id, ttl=-120, scopes=["clients:manage"])
    for headers in ({}, {"Authorization": f"Bearer {head}.{payload}.{'A' * 86}"},
                    {"Authorization": f"Bearer {expired}"}):
        with httpx.Client(base_url=platform.gateway_url, timeout=30, headers=headers) as http:
            for reply in (http.get(f"/v1/api-clients/{client_id}"),
                          http.post(f"/v1/api-clients/{client_id}:rotate-secret"),
                          http.post(f"/v1/api-clients/{client_id}:revoke")):
                assert reply.status_code == 401, reply.text


def test_bad_input_gets_400_with_field(platform: Platform, tenant: TenantContext) -> None:
    with admin(platform, tenant) as http:
        too_long = http.get(f"/v1/api-clients/{'x' * 300}")
        assert too_long.status_code == 400
        assert [e["field"] for e in too_long.json()["errors"]] == ["client_id"]
        bad_kind = http.post("/v1/api-clients", json={"name": "x", "kind": "secretive"})
        assert bad_kind.status_code == 400
        assert "kind" in [e["field"] for e in bad_kind.json()["errors"]]


# -- the web page -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium package is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run"],
        )
        yield browser
        browser.close()


def _shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def _sign_in(page: Any, platform: Platform, tenant: TenantContext, path: str) -> None:
    page.goto(f"{platform.gateway_url}{path}")
    page.fill("#company", tenant.slug)
    page.fill("#email", f"admin@{tenant.slug}.example.com")
    page.fill("#password", "demo-password-1")
    page.locator("form button[type=submit]").click()


def test_api_clients_page_create_rotate_revoke(browser: Any, platform: Platform, tenant: TenantContext) -> None:
    from playwright.sync_api import expect

    context = browser.new_context(locale="en-US", viewport={"width": 1400, "height": 900})
    page = context.new_page()
    try:
        _sign_in(page, platform, tenant, "/app/api-clients")
        page.wait_for_url("**/app/api-clients")
        expect(page.locator("h1")).to_have_text("API clients")
        # Bad input stays on the page with the field marked.
        page.locator("form[action='/app/api-clients'] button[type=submit]").click()
        expect(page.locator(".field.invalid #client-name")).to_be_visible()

        page.fill("#client-name", "ERP sync")
        page.check("input[name=scopes][value='customers:read']")
        page.check("input[name=scopes][value='customers:write']")
        page.locator("form[action='/app/api-clients'] button[type=submit]").click()
        secret = page.locator("#client-secret").input_value()
        client_id = page.locator("#shown-client-id").input_value()
        assert secret.startswith("cs_") and client_id.startswith("cli_")
        expect(page.locator("table")).to_contain_text("ERP sync")
        _shot(page, "api-clients-created")
        assert token_status(platform, client_id, secret) == 200

        page.locator(f"form[action='/app/api-clients/{client_id}/rotate-secret'] button").click()
        new_secret = page.locator("#client-secret").input_value()
        assert new_secret != secret
        assert token_status(platform, client_id, secret) == 401
        assert token_status(platform, client_id, new_secret) == 200

        page.locator(f"form[action='/app/api-clients/{client_id}/revoke'] button").click()
        page.wait_for_url("**/app/api-clients")
        expect(page.locator("[role=status]")).to_contain_text("revoked")
        assert page.locator("#client-secret").count() == 0  # the secret is never shown again
        assert token_status(platform, client_id, new_secret) == 401
        _shot(page, "api-clients-revoked")

        page.goto(f"{platform.gateway_url}/lang/zh-CN?next=/app/api-clients")
        expect(page.locator("h1")).to_have_text("API 客户端")
        _shot(page, "api-clients-zh")
    finally:
        context.close()


def test_consent_screen_in_the_browser(browser: Any, platform: Platform, tenant: TenantContext) -> None:
    from playwright.sync_api import expect

    with admin(platform, tenant) as http:
        client = create(http, name="Partner analytics", kind="public", grant_types=["authorization_code"],
                        redirect_uris=[f"{platform.gateway_url}/healthz"], scopes=["customers:read", "reports:read"])
    context = browser.new_context(locale="zh-CN", viewport={"width": 1200, "height": 900})
    page = context.new_page()
    try:
        query = (f"response_type=code&client_id={client['client_id']}&state=xyz&code_challenge_method=S256"
                 f"&code_challenge={'a' * 43}&scope=customers:read%20reports:read")
        _sign_in(page, platform, tenant, f"/oauth/authorize?{query}")
        expect(page.locator("h1")).to_have_text("是否允许访问？")
        expect(page.locator(".consent-scopes")).to_contain_text("查看客户")
        expect(page.locator(".consent-scopes")).to_contain_text("查看报表")
        _shot(page, "consent-zh")
        page.locator("button[value=deny]").click()
        page.wait_for_url("**/healthz?**")
        assert "error=access_denied" in page.url and "state=xyz" in page.url
    finally:
        context.close()
