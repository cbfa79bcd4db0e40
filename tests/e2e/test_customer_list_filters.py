"""The customer list's filters on every standard field over REST, against the real processes
(docs/customers.md, "List filters"): exact and range filters as query parameters, a bad value as
problem+json naming the parameter, a saved view, an export and a mass change with the new filters,
the OpenAPI document, and isolation and authorisation."""

from __future__ import annotations

from typing import Any

import httpx

from crm_dev.platform import Platform
from tests.conftest import TenantContext, wait_for
from tests.e2e.test_access_enforcement import _sign_in
from tests.e2e.test_customer_exports import _csv, _finished, _start
from tests.e2e.test_isolation import _identity_signed
from tests.e2e.test_login_security import admin_http, create_user, forged_token
from tests.e2e.test_roles_teams import created

NEW_PARAMETERS = (
    "code", "contact_person", "mobile", "phone", "email", "credit_code", "updated_after", "updated_before",
    "employees_min", "employees_max", "annual_revenue_min", "annual_revenue_max", "annual_revenue_currency",
)


def _customer(http: httpx.Client, name: str, mobile: str, **extra: Any) -> dict[str, Any]:
    return created(http.post("/v1/customers", json={"name": name, "mobile": mobile, **extra}))


def _names(http: httpx.Client, **params: Any) -> set[str]:
    reply = http.get("/v1/customers", params=params)
    assert reply.status_code == 200, reply.text
    return {c["name"] for c in reply.json()["items"]}


def _field_errors(reply: httpx.Response) -> list[tuple[str, str]]:
    assert reply.status_code == 400, reply.text
    assert reply.headers["content-type"].startswith("application/problem+json")
    return [(e["field"], e["code"]) for e in reply.json()["errors"]]


def test_filters_views_exports_and_mass_changes(tenant: TenantContext) -> None:
    http = admin_http(tenant)
    field = http.post("/v1/customer-fields", json={"key": "budget", "label": "预算", "type": "number"})
    assert field.status_code == 201, field.text
    _customer(http, "甲公司", "13800138000", email="Info@Acme.CN", employees=50, annual_revenue="1000000",
              custom_fields={"budget": 100}, contact_person="张伟")
    _customer(http, "乙公司", "13900139000", email="sales@beta.com", employees=500, annual_revenue="5000000",
              annual_revenue_currency="USD", custom_fields={"budget": 2500}, contact_person="张伟明")
    _customer(http, "丙公司", "13700137000")

    assert _names(http, mobile="138 0013 8000") == {"甲公司"}
    assert _names(http, email="INFO@acme.cn") == {"甲公司"}
    assert _names(http, contact_person="张伟") == {"甲公司"}
    assert _names(http, employees_min="100", employees_max="1000") == {"乙公司"}
    assert _names(http, annual_revenue_min="2000000", annual_revenue_currency="USD") == {"乙公司"}
    assert _names(http, **{"cf.budget_min": "100", "cf.budget_max": "100"}) == {"甲公司"}
    assert _names(http, updated_before="2000-01-01") == set()

    # A bad value: problem+json naming the parameter with the cleaning's code, in the caller's language.
    bad = http.get("/v1/customers", params={"mobile": "12345", "employees_min": "many"},
                   headers={"Accept-Language": "zh-CN"})
    assert sorted(_field_errors(bad)) == [("employees_min", "invalid_number"), ("mobile", "invalid_phone")]
    assert {e["field"]: e["message"] for e in bad.json()["errors"]}["mobile"] == "手机号码无效。"
    assert _field_errors(http.get("/v1/customers", params={"annual_revenue_max": "1"})) == [
        ("annual_revenue_currency", "required")]
    assert _field_errors(http.get("/v1/customers", params={"cf.budget_minimum": "1"})) == [
        ("cf.budget_minimum", "unknown_custom_field")]

    # Saved views hold the new filters; applying one is listing with them.
    view = created(http.post("/v1/customer-views", json={
        "name": "大客户", "filters": {"employees_min": "100", "annual_revenue_currency": "USD"}}))
    assert _names(http, **view["filters"]) == {"乙公司"}
    assert _field_errors(http.post("/v1/customer-views", json={"name": "坏", "filters": {"email": "nope"}})) == [
        ("filters.email", "invalid_email")]

    export = _finished(http, _start(http, format="csv", filters={"mobile": "13900139000"}, columns=["name"]))
    assert [row["Name"] for row in _csv(http, export)] == ["乙公司"]  # headers in words (en)

    change = http.post("/v1/customer-bulk-changes", json={
        "filter": {"email": "info@ACME.cn"}, "set": {"status": "intent", "reason": "按邮箱筛选"}})
    assert change.status_code == 202, change.text
    assert change.json()["filter"] == {"email": "info@ACME.cn"}

    def statuses() -> dict[str, str] | None:
        found = {c["name"]: c["status"] for c in http.get("/v1/customers").json()["items"]}
        return found if found["甲公司"] == "intent" else None

    assert wait_for(statuses, timeout=60) == {"甲公司": "intent", "乙公司": "potential", "丙公司": "potential"}

    # The OpenAPI document describes every new parameter.
    spec = http.get("/openapi.json").json()
    described = {p["name"]: p for p in spec["paths"]["/v1/customers"]["get"]["parameters"]}
    for name in NEW_PARAMETERS:
        assert described[name]["description"], name


def test_isolation_and_authorisation(platform: Platform, tenant: TenantContext,
                                     other_tenant: TenantContext) -> None:
    http = admin_http(tenant)
    _customer(http, "甲公司", "13800138000")
    _customer(admin_http(other_tenant), "别家公司", "13800138000")
    assert _names(http, mobile="13800138000") == {"甲公司"}
    assert _names(admin_http(other_tenant), mobile="13800138000") == {"别家公司"}

    # Another user's customer (a rep sees their own only): not found by its exact mobile.
    email = f"rep@{tenant.slug}.example.com"
    create_user(tenant, email, roles=["sales_rep"])
    with httpx.Client(base_url=platform.gateway_url, timeout=30,
                      headers={"Authorization": f"Bearer {_sign_in(platform, tenant, email)}"}) as rep:
        assert _names(rep, mobile="13800138000") == set()
        _customer(rep, "自己的公司", "13800138000")
        assert _names(rep, mobile="138-0013-8000") == {"自己的公司"}
    assert _names(http, mobile="13800138000") == {"甲公司", "自己的公司"}

    denied = tenant.http(["tags:read"]).get("/v1/customers", params={"mobile": "13800138000"})
    assert denied.status_code == 403 and denied.json()["code"] == "permission_denied"
    expired = _identity_signed(platform, tenant.tenant_id, ttl=-120)
    for headers in ({}, {"Authorization": f"Bearer {forged_token(platform, tenant)}"},
                    {"Authorization": f"Bearer {expired}"}):
        reply = httpx.get(f"{platform.gateway_url}/v1/customers", params={"mobile": "13800138000"}, headers=headers)
        assert reply.status_code == 401, reply.text
