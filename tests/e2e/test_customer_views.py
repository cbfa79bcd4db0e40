"""Saved customer views (docs/customers.md, "Saved views"): CRUD over REST, applying a view's
filters to the list, validation with the list's own rules (400 naming the filter, nothing
written), and isolation: another user's view, another tenant's, and a token without the scope."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from crm_dev.platform import Platform
from tests.conftest import TenantContext
from tests.e2e.test_access_enforcement import _sign_in
from tests.e2e.test_login_security import admin_http, create_user


def _customer(http: httpx.Client, name: str, mobile: str, **extra: Any) -> dict[str, Any]:
    reply = http.post("/v1/customers", json={"name": name, "mobile": mobile, **extra})
    assert reply.status_code == 201, reply.text
    return dict(reply.json())


def _names(reply: httpx.Response) -> list[str]:
    assert reply.status_code == 200, reply.text
    return [c["name"] for c in reply.json()["items"]]


def test_view_crud_and_applying_it(tenant: TenantContext) -> None:
    with admin_http(tenant) as admin:
        _customer(admin, "北京科技有限公司", "13700000001", industry="IT")
        _customer(admin, "北京贸易有限公司", "13700000002")
        _customer(admin, "上海科技有限公司", "13700000003", industry="IT")
        made = admin.post("/v1/customer-views", json={
            "name": "北京的客户", "filters": {"q": "bj"}, "order_by": "name asc",
            "columns": ["code", "name", "mobile", "status"],
        })
        assert made.status_code == 201, made.text
        view = made.json()
        assert made.headers["Location"] == f"/v1/customer-views/{view['id']}"
        assert made.headers["ETag"] == 'W/"1"'
        assert view["filters"] == {"q": "bj"} and view["order_by"] == "name asc"
        assert view["columns"] == ["code", "name", "mobile", "status"]

        # Applying a view = the list with its filters and sort.
        applied = admin.get("/v1/customers", params={**view["filters"], "order_by": view["order_by"]})
        assert _names(applied) == ["北京科技有限公司", "北京贸易有限公司"]

        listed = admin.get("/v1/customer-views")
        assert [v["id"] for v in listed.json()["items"]] == [view["id"]]
        assert admin.get(f"/v1/customer-views/{view['id']}").json()["name"] == "北京的客户"

        changed = admin.patch(f"/v1/customer-views/{view['id']}", headers={"If-Match": 'W/"1"'},
                              json={"filters": {"q": "keji", "industry": "IT"}})
        assert changed.status_code == 200, changed.text
        assert changed.json()["version"] == 2 and changed.json()["name"] == "北京的客户"
        assert changed.json()["columns"] == ["code", "name", "mobile", "status"]  # not sent: kept
        applied = admin.get("/v1/customers", params={**changed.json()["filters"], "order_by": "name asc"})
        assert _names(applied) == ["上海科技有限公司", "北京科技有限公司"]

        stale = admin.patch(f"/v1/customer-views/{view['id']}", headers={"If-Match": 'W/"1"'}, json={"name": "x"})
        assert stale.status_code == 412 and stale.json()["code"] == "stale_version"
        assert admin.patch(f"/v1/customer-views/{view['id']}", json={"name": "x"}).status_code == 428

        again = admin.post("/v1/customer-views", json={"name": "北京的客户"})
        assert again.status_code == 409 and again.json()["code"] == "view_name_taken"

        deleted = admin.delete(f"/v1/customer-views/{view['id']}")
        assert deleted.status_code == 200 and deleted.json()["id"] == view["id"]
        assert admin.get(f"/v1/customer-views/{view['id']}").status_code == 404
        assert admin.get("/v1/customer-views").json()["items"] == []


@pytest.mark.parametrize(("body", "field", "code"), [
    ({"filters": {"colour": "red"}}, "filters.colour", "unknown_filter"),
    ({"filters": {"status": "sleeping"}}, "filters.status", "invalid_choice"),
    ({"filters": {"created_after": "yesterday"}}, "filters.created_after", "invalid_date"),
    ({"filters": {"cf.nope": "1"}}, "filters.cf.nope", "unknown_custom_field"),
    ({"filters": {"owner_id": "not-an-id"}}, "filters.owner_id", "invalid_id"),
    ({"order_by": "colour desc"}, "order_by", "invalid_order_by"),
    ({"columns": ["name", "shoe_size"]}, "columns[1]", "unknown_column"),
    ({"name": ""}, "name", "too_short"),
])
def test_bad_view_is_400_naming_the_field_and_nothing_is_saved(
    tenant: TenantContext, body: dict[str, Any], field: str, code: str
) -> None:
    with admin_http(tenant) as admin:
        reply = admin.post("/v1/customer-views", json={"name": "Broken", **body})
        assert reply.status_code == 400, reply.text
        problem = reply.json()
        assert problem["code"] == "invalid_input"
        assert [(e["field"], e["code"]) for e in problem["errors"]] == [(field, code)]
        assert admin.get("/v1/customer-views").json()["items"] == []


def test_views_belong_to_their_user_and_tenant(
    platform: Platform, tenant: TenantContext, other_tenant: TenantContext
) -> None:
    email = f"rep@{tenant.slug}.example.com"
    create_user(tenant, email, roles=["sales_rep"])
    rep = httpx.Client(base_url=platform.gateway_url, timeout=30,
                       headers={"Authorization": f"Bearer {_sign_in(platform, tenant, email)}"})
    with admin_http(tenant) as admin, rep:
        mine = admin.post("/v1/customer-views", json={"name": "Mine", "filters": {"q": "x"}}).json()
        path = f"/v1/customer-views/{mine['id']}"
        # Another user: not found, not listed, cannot change or delete it; their own name space.
        for reply in (rep.get(path), rep.patch(path, json={"name": "Taken"}, headers={"If-Match": 'W/"1"'}),
                      rep.delete(path)):
            assert reply.status_code == 404 and reply.json()["code"] == "not_found", reply.text
        assert rep.get("/v1/customer-views").json()["items"] == []
        assert rep.post("/v1/customer-views", json={"name": "Mine"}).status_code == 201
        assert admin.get(path).json()["name"] == "Mine"
        with other_tenant.http() as stranger:
            assert stranger.get(path).status_code == 404
            assert stranger.delete(path).status_code == 404
        with tenant.http(["tags:read"]) as no_scope:
            denied = no_scope.get("/v1/customer-views")
            assert denied.status_code == 403 and denied.json()["code"] == "permission_denied"
            assert no_scope.post("/v1/customer-views", json={"name": "x"}).status_code == 403
        assert admin.get(path).status_code == 200
