"""A user's own language and time zone: /v1/users/me/preferences, checked by identity, carried by
the next tokens as the OpenID Connect claims `name`, `locale` and `zoneinfo` (what the web UI
formats every time with: docs/web.md "Formatting")."""

from __future__ import annotations

import httpx

from crm_dev.platform import Platform
from crm_platform.auth import unverified_segment
from tests.conftest import TenantContext
from tests.e2e.test_login_security import admin_http


def test_preferences_are_checked_saved_and_carried_by_the_next_token(platform: Platform,
                                                                       tenant: TenantContext) -> None:
    with admin_http(tenant) as admin:
        mine = admin.get("/v1/users/me/preferences")
        assert mine.status_code == 200, mine.text
        assert mine.json()["locale"] == "" and mine.json()["time_zone"] == ""
        claims = unverified_segment(tenant.admin_token, 1)
        assert claims["name"] == mine.json()["display_name"] and "zoneinfo" not in claims

        bad = admin.patch("/v1/users/me/preferences", json={"time_zone": "Mars/Olympus", "locale": "en"})
        assert bad.status_code == 400
        assert [(e["field"], e["code"]) for e in bad.json()["errors"]] == [("time_zone", "invalid_time_zone")]
        french = admin.patch("/v1/users/me/preferences", json={"locale": "fr"})
        assert french.status_code == 400 and french.json()["errors"][0]["field"] == "locale"
        assert admin.get("/v1/users/me/preferences").json()["time_zone"] == ""  # nothing half-written

        saved = admin.patch("/v1/users/me/preferences", json={"time_zone": "Europe/Berlin", "locale": "en"})
        assert saved.status_code == 200, saved.text
        assert saved.json()["time_zone"] == "Europe/Berlin" and saved.json()["locale"] == "en"
        # Only what is sent changes; "" goes back to the tenant's.
        again = admin.patch("/v1/users/me/preferences", json={"locale": ""}).json()
        assert again["locale"] == "" and again["time_zone"] == "Europe/Berlin"

    me = tenant.api.login_code_flow(tenant.slug, f"admin@{tenant.slug}.example.com", "demo-password-1")
    claims = unverified_segment(me["access_token"], 1)
    assert claims["zoneinfo"] == "Europe/Berlin" and "locale" not in claims and claims["name"]


def test_preferences_need_a_user_token(platform: Platform, tenant: TenantContext) -> None:
    url = f"{platform.gateway_url}/v1/users/me/preferences"
    assert httpx.get(url).status_code == 401
    assert httpx.get(url, headers={"Authorization": "Bearer forged.token.here"}).status_code == 401
    with tenant.http(["customers:read"]) as client:  # a client has no account
        assert client.get("/v1/users/me/preferences").status_code == 403
        assert client.patch("/v1/users/me/preferences", json={"time_zone": "UTC"}).status_code == 403
