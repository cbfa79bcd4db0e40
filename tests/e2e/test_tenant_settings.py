"""Tenant settings over REST (`GET/PATCH /v1/tenant`): display name, default locale and time zone,
checked (field errors in the caller's language, nothing written), audited with old -> new values,
isolated per tenant; reading takes any token of the tenant, changing takes `users:manage`."""

from __future__ import annotations

import httpx

from crm_dev.platform import Platform
from tests.conftest import TenantContext
from tests.e2e.test_audit_completeness import audit


def test_settings_read_change_and_audit(platform: Platform, tenant: TenantContext) -> None:
    http = tenant.http(["users:manage"])
    before = http.get("/v1/tenant").json()
    assert before["slug"] == tenant.slug and before["status"] == "active"
    assert before["time_zone"] in ("Asia/Shanghai", "UTC")

    changed = http.patch("/v1/tenant", json={"name": "星辰科技", "time_zone": "Europe/Berlin", "default_locale": "en"})
    assert changed.status_code == 200, changed.text
    assert {k: changed.json()[k] for k in ("name", "time_zone", "default_locale")} == {
        "name": "星辰科技", "time_zone": "Europe/Berlin", "default_locale": "en"}
    assert http.get("/v1/tenant").json()["time_zone"] == "Europe/Berlin"

    [entry] = audit(tenant, action="tenant.updated")
    assert entry["target_id"] == tenant.tenant_id
    assert entry["details"]["changes"]["time_zone"] == {"old": before["time_zone"], "new": "Europe/Berlin"}

    # Sending the same values again changes nothing and records nothing.
    assert http.patch("/v1/tenant", json={"time_zone": "Europe/Berlin"}).status_code == 200
    assert len(audit(tenant, action="tenant.updated")) == 1


def test_bad_settings_are_field_errors_and_write_nothing(platform: Platform, tenant: TenantContext) -> None:
    http = tenant.http(["users:manage"])
    before = http.get("/v1/tenant").json()
    bad = http.patch("/v1/tenant", json={"name": "ok", "time_zone": "Mars/Olympus"},
                     headers={"Accept-Language": "zh-CN"})
    assert bad.status_code == 400 and bad.headers["content-type"].startswith("application/problem+json")
    [error] = bad.json()["errors"]
    assert error["field"] == "time_zone" and error["code"] == "invalid_time_zone" and "时区" in error["message"]
    assert http.patch("/v1/tenant", json={"default_locale": "fr"}).status_code == 400
    assert http.patch("/v1/tenant", json={"name": ""}).status_code == 400
    assert http.patch("/v1/tenant", json={"slug": "taken"}).json()["errors"][0]["code"] == "unknown_field"
    assert http.get("/v1/tenant").json() == before


def test_isolation_and_authorisation(platform: Platform, tenant: TenantContext, other_tenant: TenantContext) -> None:
    tenant.http(["users:manage"]).patch("/v1/tenant", json={"name": "Tenant A"})
    assert other_tenant.http(["users:manage"]).get("/v1/tenant").json()["name"] != "Tenant A"
    no_scope = tenant.http(["customers:read"])
    assert no_scope.get("/v1/tenant").json()["slug"] == tenant.slug  # members may read the settings
    assert no_scope.patch("/v1/tenant", json={"name": "x"}).json()["code"] == "permission_denied"
    anonymous = httpx.patch(f"{platform.gateway_url}/v1/tenant", json={"name": "x"})
    assert anonymous.status_code == 401
    forged = httpx.get(f"{platform.gateway_url}/v1/tenant", headers={"Authorization": "Bearer abc.def.ghi"})
    assert forged.status_code == 401
