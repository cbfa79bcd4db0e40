"""The tag library over REST against the real processes (docs/tagging.md): categories, PATCH /
DELETE / merge of tags, the per-customer limit as problem+json in both languages, and per role:
a sales rep reads but cannot manage, another tenant sees nothing, missing scopes, forged and
expired tokens."""

from __future__ import annotations

from typing import Any

import httpx

from crm_dev.platform import Platform
from tests.conftest import TenantContext, wait_for
from tests.e2e.test_customer_exports import _user
from tests.e2e.test_customer_tags import _apply, _customer, _names, _problem, _tag
from tests.e2e.test_isolation import _identity_signed
from tests.e2e.test_login_security import admin_http, forged_token
from tests.e2e.test_roles_teams import created


def test_categories_patch_merge_and_delete(tenant: TenantContext) -> None:
    http = admin_http(tenant)
    categories = http.get("/v1/tag-categories").json()["items"]
    assert [c["key"] for c in categories] == ["basic", "behaviour", "value", "preference"]
    value = categories[2]
    vip = created(http.post("/v1/tags", json={"name": "VIP", "category_id": value["id"], "exclusive_group": "tier",
                                              "description": "年度消费额高"}))
    assert (vip["category_id"], vip["exclusive_group"], vip["customer_count"]) == (value["id"], "tier", 0)
    big = _tag(http, "大客户")
    a, b = _customer(http, "甲公司", "13700001401"), _customer(http, "乙公司", "13700001402")
    for customer in (a, b):
        assert _apply(http, customer, vip).status_code == 201
    assert _apply(http, b, big).status_code == 201

    got = http.get(f"/v1/tags/{vip['id']}")
    assert got.status_code == 200 and got.json()["customer_count"] == 2
    stale = http.patch(f"/v1/tags/{vip['id']}", json={"name": "X"}, headers={"If-Match": 'W/"9"'})
    assert _problem(stale, 412)["code"] == "precondition_failed"
    renamed = http.patch(f"/v1/tags/{vip['id']}", json={"name": "高价值"}, headers={"If-Match": got.headers["ETag"]})
    assert renamed.status_code == 200, renamed.text
    assert (renamed.json()["name"], renamed.json()["version"]) == ("高价值", 2)
    unknown = http.patch(f"/v1/tags/{vip['id']}", json={"colour": "#000000"})
    assert _problem(unknown, 400)["code"] == "invalid_input"

    merged = http.post(f"/v1/tags/{vip['id']}:merge", json={"into_tag_id": big["id"]})
    assert merged.status_code == 200, merged.text
    assert {k: merged.json()[k] for k in ("moved_customers", "already_tagged")} == {"moved_customers": 1,
                                                                                    "already_tagged": 1}
    assert _problem(http.get(f"/v1/tags/{vip['id']}"), 404)["code"] == "not_found"
    wait_for(lambda: _names(http, big) == {"甲公司", "乙公司"}, timeout=30)

    deleted = http.delete(f"/v1/tags/{big['id']}")
    assert deleted.status_code == 200, deleted.text
    assert (deleted.json()["removed_from_customers"], deleted.json()["tag"]["name"]) == (2, "大客户")
    assert http.get(f"/v1/customers/{a['id']}/tags").json()["items"] == []

    own = created(http.post("/v1/tag-categories", json={"name": "渠道"}))
    assert _problem(http.post("/v1/tag-categories", json={"name": "渠道"}), 409)["code"] == "category_name_taken"
    assert _problem(http.delete(f"/v1/tag-categories/{value['id']}"), 409)["code"] == "builtin_category"
    assert http.delete(f"/v1/tag-categories/{own['id']}").status_code == 200


def test_the_eleventh_tag_is_a_clear_problem(tenant: TenantContext) -> None:
    http = admin_http(tenant)
    customer = _customer(http, "丙公司", "13700001403")
    tags = [_tag(http, f"标签{i}") for i in range(11)]
    for tag in tags[:10]:
        assert _apply(http, customer, tag).status_code == 201
    refused = _problem(_apply(http, customer, tags[10]), 409)
    assert (refused["code"], refused["limit"], refused["errors"][0]["field"]) == ("tag_limit_reached", 10, "tag_id")
    zh = _problem(http.post(f"/v1/customers/{customer['id']}/tags", json={"tag_id": tags[10]["id"]},
                            headers={"Accept-Language": "zh-CN"}), 409)
    assert zh["title"] != refused["title"]  # translated

    assert http.patch("/v1/tag-settings", json={"max_tags_per_customer": 11}).json()["max_tags_per_customer"] == 11
    assert _apply(http, customer, tags[10]).status_code == 201
    assert _problem(http.patch("/v1/tag-settings", json={"max_tags_per_customer": 0}), 400)["code"] == \
        "invalid_input"

    archived = http.patch(f"/v1/tags/{tags[0]['id']}", json={"archived": True}).json()
    assert archived["archived"] is True
    other = _customer(http, "丁公司", "13700001404")
    assert [e["code"] for e in _problem(_apply(http, other, tags[0]), 400)["errors"]] == ["tag_archived"]


def test_roles_tenants_scopes_and_tokens(platform: Platform, tenant: TenantContext,
                                         other_tenant: TenantContext) -> None:
    http = admin_http(tenant)
    vip = _tag(http, "VIP")
    category = created(http.post("/v1/tag-categories", json={"name": "自定义"}))
    rep, _ = _user(platform, tenant, "rep", ["sales_rep"])
    manager, _ = _user(platform, tenant, "mgr", ["sales_manager"])

    # A rep reads the library but cannot change it; a sales manager can.
    assert rep.get(f"/v1/tags/{vip['id']}").status_code == 200
    assert rep.get("/v1/tag-categories").status_code == 200
    writes: list[tuple[str, str, Any]] = [
        ("PATCH", f"/v1/tags/{vip['id']}", {"name": "x"}), ("DELETE", f"/v1/tags/{vip['id']}", None),
        ("POST", f"/v1/tags/{vip['id']}:merge", {"into_tag_id": vip["id"]}),
        ("POST", "/v1/tag-categories", {"name": "y"}), ("PATCH", f"/v1/tag-categories/{category['id']}", {"name": "z"}),
        ("DELETE", f"/v1/tag-categories/{category['id']}", None), ("PATCH", "/v1/tag-settings",
                                                                   {"max_tags_per_customer": 3}),
    ]
    for method, path, body in writes:
        assert _problem(rep.request(method, path, json=body), 403)["code"] == "permission_denied", path
    assert manager.patch(f"/v1/tags/{vip['id']}", json={"description": "经理改"}).status_code == 200

    # Another tenant: not found, and unchanged.
    theirs = admin_http(other_tenant)
    for method, path, body in [*writes[:3], ("GET", f"/v1/tags/{vip['id']}", None), *writes[4:6]]:
        assert _problem(theirs.request(method, path, json=body), 404)["code"] == "not_found", path
    assert http.get(f"/v1/tags/{vip['id']}").json()["description"] == "经理改"
    assert category["id"] not in theirs.get("/v1/tag-categories").text

    # Missing scope; no token, a forged one, an expired one.
    assert _problem(tenant.http(["customers:read"]).get("/v1/tag-categories"), 403)
    assert _problem(tenant.http(["tags:read"]).patch(f"/v1/tags/{vip['id']}", json={"name": "x"}), 403)
    expired = _identity_signed(platform, tenant.tenant_id, ttl=-120)
    for headers in ({}, {"Authorization": f"Bearer {forged_token(platform, tenant)}"},
                    {"Authorization": f"Bearer {expired}"}):
        for method, path, body in [("GET", f"/v1/tags/{vip['id']}", None), *writes]:
            reply = httpx.request(method, f"{platform.gateway_url}{path}", json=body, headers=headers)
            _problem(reply, 401)
    assert http.get(f"/v1/tags/{vip['id']}").status_code == 200
