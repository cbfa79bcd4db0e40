"""Saved dynamic segments over REST against the real processes (docs/tagging.md, "Segments"): tags
(all / any / none), list filters and value metrics; the count, the members, the customer list's
`segment_id`, exports and batch tagging taking it; validation errors with stable codes and fields;
per role (a rep's count is computed under their data scope and checked independently), another
tenant, another user's private segment, a missing scope, forged and expired tokens."""

from __future__ import annotations

import csv
import io
import time
from datetime import date, timedelta
from typing import Any

import httpx

from crm_dev.platform import Platform
from tests.conftest import TenantContext, wait_for
from tests.e2e.test_access_enforcement import _sign_in
from tests.e2e.test_customer_exports import _finished, _start, _user
from tests.e2e.test_customer_tags import _apply, _customer, _field_errors, _problem, _settles, _tag
from tests.e2e.test_isolation import _identity_signed
from tests.e2e.test_login_security import admin_http, create_user, forged_token
from tests.e2e.test_roles_teams import created


def _order(http: httpx.Client, customer: dict[str, Any], external_id: str, amount: str, days_ago: int,
           status: str = "paid") -> None:
    reply = http.post("/v1/orders", json={
        "external_id": external_id, "customer_code": customer["code"], "amount": amount, "currency": "CNY",
        "ordered_on": (date.today() - timedelta(days=days_ago)).isoformat(), "status": status})
    assert reply.status_code in (200, 201), reply.text


def _count(http: httpx.Client, segment: dict[str, Any]) -> int:
    reply = http.get(f"/v1/segments/{segment['id']}/count")
    assert reply.status_code == 200, reply.text
    return int(reply.json()["count"])


def _member_names(http: httpx.Client, segment: dict[str, Any]) -> set[str]:
    reply = http.get(f"/v1/segments/{segment['id']}/members")
    assert reply.status_code == 200, reply.text
    return {c["name"] for c in reply.json()["items"]}


def test_segment_tags_filters_metrics_and_every_list_that_takes_it(tenant: TenantContext) -> None:
    http = admin_http(tenant)
    vip, churn = _tag(http, "重点客户"), _tag(http, "流失风险")
    a = created(http.post("/v1/customers", json={"name": "甲制造", "mobile": "13700001801", "industry": "制造"}))
    b = created(http.post("/v1/customers", json={"name": "乙制造", "mobile": "13700001802", "industry": "制造"}))
    c = created(http.post("/v1/customers", json={"name": "丙零售", "mobile": "13700001803", "industry": "零售"}))
    d = created(http.post("/v1/customers", json={"name": "丁制造", "mobile": "13700001804", "industry": "制造"}))
    for customer, tag in ((a, vip), (b, vip), (b, churn), (c, vip), (d, vip)):
        assert _apply(http, customer, tag).status_code == 201
    _settles(http, {"甲制造", "乙制造", "丙零售", "丁制造"}, vip)
    _order(http, a, "SEG-A1", "80000.00", 10)
    _order(http, a, "SEG-A2", "40000.00", 200)
    _order(http, d, "SEG-D1", "150000.00", 400)  # older than 12 months: no spend now
    _order(http, c, "SEG-C1", "500000.00", 5, status="cancelled")  # not counted

    body = {"name": "制造业重点客户", "visibility": "shared", "definition": {
        "tags": {"all": [vip["id"]], "none": [churn["id"]]}, "filters": {"industry": "制造"},
        "spend_12m": {"min": "100000"}}}
    segment = created(http.post("/v1/segments", json=body))
    assert segment["definition"]["spend_12m"] == {"min": "100000", "max": None, "currency": "CNY"}
    assert _count(http, segment) == 1 and _member_names(http, segment) == {"甲制造"}
    listed = http.get("/v1/customers", params={"segment_id": segment["id"], "include_total": True}).json()
    assert [x["name"] for x in listed["items"]] == ["甲制造"] and listed["total_size"] == 1
    # With another filter of the list: ANDed.
    assert http.get("/v1/customers", params={"segment_id": segment["id"], "q": "乙"}).json()["items"] == []

    # Without the spend part: every manufacturer tagged VIP and not at churn risk.
    patched = http.patch(f"/v1/segments/{segment['id']}", json={"definition": {
        "tags": {"all": [vip["id"]], "none": [churn["id"]]}, "filters": {"industry": "制造"}}},
        headers={"If-Match": 'W/"1"'})
    assert patched.status_code == 200 and patched.json()["version"] == 2, patched.text
    assert _member_names(http, segment) == {"甲制造", "丁制造"}
    stale = http.patch(f"/v1/segments/{segment['id']}", json={"name": "x"}, headers={"If-Match": 'W/"1"'})
    assert _problem(stale, 412)["code"] == "stale_version"

    # Preview (the builder): any of the tags, orders in 30 days, spend at most.
    preview = http.post("/v1/segments:preview", json={"definition": {"tags": {"any": [vip["id"], churn["id"]]}}})
    assert preview.status_code == 200, preview.text
    assert preview.json()["count"] == 4 and len(preview.json()["sample"]) == 4
    recent = http.post("/v1/segments:preview", json={"definition": {"orders_30d": {"min": 1}}}).json()
    assert recent["count"] == 1 and recent["sample"][0]["name"] == "甲制造"
    low = http.post("/v1/segments:preview", json={"definition": {"tags": {"all": [vip["id"]]},
                                                                 "spend_12m": {"max": "1000"}}}).json()
    assert {s["name"] for s in low["sample"]} == {"乙制造", "丙零售", "丁制造"}

    # Exports and batch tagging take the segment as their list filter.
    export = _finished(http, _start(http, filters={"segment_id": segment["id"]}, format="csv"))
    rows = list(csv.DictReader(io.StringIO(http.get(export["file_url"]).content.decode("utf-8-sig"))))
    assert len(rows) == 2
    marked = _tag(http, "本季跟进")
    batch = http.post("/v1/tag-batches", json={"action": "add", "tag_ids": [marked["id"]],
                                               "filter": {"segment_id": segment["id"]}})
    assert batch.status_code == 202, batch.text
    _settles(http, {"甲制造", "丁制造"}, marked)

    # Validation: stable codes, the field at fault.
    bad = http.post("/v1/segments", json={"name": "坏", "definition": {
        "tags": {"all": ["nope"]}}})
    assert _field_errors(bad) == [("definition.tags.all", "invalid_id")]
    bad = http.post("/v1/segments", json={"name": "坏", "definition": {
        "spend_12m": {"min": "abc", "currency": "CN"}, "orders_30d": {"min": 5, "max": 2},
        "filters": {"nope": "x", "status": "unknown"}}})
    assert _field_errors(bad) == [("definition.filters.nope", "unknown_filter"),
                                  ("definition.orders_30d.max", "out_of_range"),
                                  ("definition.spend_12m.currency", "invalid_currency"),
                                  ("definition.spend_12m.min", "invalid_number")]
    bad = http.post("/v1/segments", json={"name": "坏", "definition": {"filters": {"status": "unknown"}}})
    assert _field_errors(bad) == [("definition.filters.status", "invalid_choice")]
    bad = http.post("/v1/segments", json={"name": "坏", "visibility": "public", "definition": {
        "tags": {"all": [vip["id"]], "none": [vip["id"]]}}})
    assert _field_errors(bad) == [("definition.tags.none", "contradictory"), ("visibility", "invalid_choice")]
    assert _field_errors(http.post("/v1/segments", json={"name": " "})) == [("name", "required")]
    taken = http.post("/v1/segments", json={"name": "制造业重点客户"})
    assert _problem(taken, 409)["code"] == "segment_name_taken"
    assert _field_errors(http.get("/v1/customers", params={"segment_id": "nope"})) == [
        ("segment_id", "unknown_segment")]

    assert http.delete(f"/v1/segments/{segment['id']}").status_code == 200
    assert _problem(http.get(f"/v1/segments/{segment['id']}"), 404)["code"] == "not_found"


def test_segment_counts_follow_the_readers_scope_and_access(platform: Platform, tenant: TenantContext,
                                                           other_tenant: TenantContext) -> None:
    http = admin_http(tenant)
    vip = _tag(http, "年度重点")
    rep, rep_id = _user(platform, tenant, "segrep", ["sales_rep"])
    mine = [created(rep.post("/v1/customers", json={"name": f"代表客户{i}", "mobile": f"1370000190{i}"}))
            for i in range(2)]
    others = [_customer(http, f"公司客户{i}", f"1370000191{i}") for i in range(3)]
    for customer in [*mine, *others]:
        assert _apply(http, customer, vip).status_code == 201
    _settles(http, {c["name"] for c in [*mine, *others]}, vip)
    shared = created(http.post("/v1/segments", json={"name": "全部重点", "visibility": "shared",
                                                     "definition": {"tags": {"all": [vip["id"]]}}}))
    private = created(http.post("/v1/segments", json={"name": "我的重点",
                                                      "definition": {"tags": {"all": [vip["id"]]}}}))
    assert _count(http, shared) == 5
    # Value metrics under the rep's scope (computed per customer for a rep, set-based for the admin).
    _order(http, mine[0], "SCOPE-1", "120000.00", 3)
    _order(http, others[0], "SCOPE-2", "130000.00", 3)
    spenders = created(http.post("/v1/segments", json={"name": "大额", "visibility": "shared", "definition": {
        "tags": {"all": [vip["id"]]}, "spend_12m": {"min": "100000"}, "orders_30d": {"min": 1, "max": 3}}}))
    quiet = created(http.post("/v1/segments", json={"name": "无订单", "visibility": "shared", "definition": {
        "tags": {"all": [vip["id"]]}, "spend_12m": {"max": "0"}}}))
    assert (_count(http, spenders), _count(http, quiet)) == (2, 3)
    assert _member_names(rep, spenders) == {"代表客户0"} and _member_names(rep, quiet) == {"代表客户1"}
    # The rep's count is their customers only, computed independently from their own list.
    own = rep.get("/v1/customers", params={"tag_id": vip["id"], "include_total": True}).json()
    assert own["total_size"] == 2 == _count(rep, shared)
    assert _member_names(rep, shared) == {"代表客户0", "代表客户1"}
    assert {s["id"] for s in rep.get("/v1/segments").json()["items"]} == {shared["id"], spenders["id"], quiet["id"]}
    # Another user's private segment does not exist for the rep; their shared one is read-only.
    assert _problem(rep.get(f"/v1/segments/{private['id']}"), 404)["code"] == "not_found"
    assert _problem(rep.get(f"/v1/segments/{private['id']}/count"), 404)["code"] == "not_found"
    assert _field_errors(rep.get("/v1/customers", params={"segment_id": private["id"]})) == [
        ("segment_id", "unknown_segment")]
    assert _problem(rep.patch(f"/v1/segments/{shared['id']}", json={"name": "x"}, headers={"If-Match": 'W/"1"'}),
                    403)["code"] == "not_segment_owner"
    assert _problem(rep.delete(f"/v1/segments/{shared['id']}"), 403)["code"] == "not_segment_owner"
    theirs = created(rep.post("/v1/segments", json={"name": "我的", "definition": {}}))
    assert theirs["owner"] == rep_id and _count(rep, theirs) == 2

    # Another tenant: not found, unchanged.
    other = admin_http(other_tenant)
    paths: list[tuple[str, str, Any]] = [
        ("GET", f"/v1/segments/{shared['id']}", None), ("GET", f"/v1/segments/{shared['id']}/count", None),
        ("GET", f"/v1/segments/{shared['id']}/members", None),
        ("PATCH", f"/v1/segments/{shared['id']}", {"name": "x"}), ("DELETE", f"/v1/segments/{shared['id']}", None),
    ]
    for method, path, body in paths:
        reply = other.request(method, path, json=body, headers={"If-Match": 'W/"1"'})
        assert _problem(reply, 404)["code"] == "not_found", path
    assert other.get("/v1/segments").json()["items"] == []
    assert http.get(f"/v1/segments/{shared['id']}").json()["name"] == "全部重点"

    # Missing scope; no token, a forged one, an expired one.
    assert _problem(tenant.http(["tags:read"]).get("/v1/segments"), 403)
    assert _problem(tenant.http(["tags:read"]).get(f"/v1/segments/{shared['id']}/count"), 403)
    expired = _identity_signed(platform, tenant.tenant_id, ttl=-120)
    for headers in ({}, {"Authorization": f"Bearer {forged_token(platform, tenant)}"},
                    {"Authorization": f"Bearer {expired}"}):
        for method, path, body in [*paths, ("POST", "/v1/segments", {"name": "x"})]:
            _problem(httpx.request(method, f"{platform.gateway_url}{path}", json=body, headers=headers), 401)


def test_value_metric_rules_tag_on_orders(tenant: TenantContext) -> None:
    """Tag rules on spend in the last 12 months and orders in the last 30 days, evaluated when an
    order arrives (docs/tagging.md, "Conditions")."""
    http = admin_http(tenant)
    high = _tag(http, "高价值")
    rule = http.post("/v1/tag-rules", json={"tag_id": high["id"], "name": "近12个月消费满10万", "conditions": {
        "all": [{"metric": "spend_12m", "op": "gte", "value": "100000"},
                {"metric": "orders_30d", "op": "gte", "value": 1}]}})
    assert rule.status_code == 201, rule.text
    bad = http.post("/v1/tag-rules", json={"tag_id": high["id"], "conditions": {
        "metric": "orders_30d", "op": "gte", "value": 1, "currency": "CNY"}})
    assert _field_errors(bad) == [("conditions.all[0].currency", "invalid_currency")]
    customer = _customer(http, "戊集团", "13700001905")
    _order(http, customer, "RULE-1", "60000.00", 100)
    _order(http, customer, "RULE-0", "90000.00", 3, status="pending")  # not counted yet
    time.sleep(1)
    assert http.get(f"/v1/customers/{customer['id']}/tags").json()["items"] == []
    _order(http, customer, "RULE-2", "50000.00", 3)
    wait_for(lambda: [t["tag_id"] for t in http.get(f"/v1/customers/{customer['id']}/tags").json()["items"]]
             == [high["id"]], timeout=30)
    preview = http.post("/v1/tag-rules:preview", json={"conditions": {
        "metric": "spend_12m", "op": "between", "min": "100000", "max": "120000"}}).json()
    assert preview["count"] == 1


def test_a_role_that_may_not_see_spend_may_not_segment_by_it(platform: Platform, tenant: TenantContext) -> None:
    admin = admin_http(tenant)
    role = created(admin.post("/v1/roles", json={"name": "No spend", "data_scope": "all",
                                                  "scopes": ["customers:read", "tags:read"]}))
    assert admin.put(f"/v1/roles/{role['id']}/field-policies",
                     json={"field_policies": {"annual_spend": "hidden"}}).status_code == 200
    email = f"nospend@{tenant.slug}.example.com"
    create_user(tenant, email, roles=[role["id"]])
    lead = httpx.Client(base_url=platform.gateway_url, timeout=30,
                        headers={"Authorization": f"Bearer {_sign_in(platform, tenant, email)}"})
    spend = created(admin.post("/v1/segments", json={"name": "消费高", "visibility": "shared",
                                                     "definition": {"spend_12m": {"min": "1"}}}))
    plain = created(admin.post("/v1/segments", json={"name": "全部", "visibility": "shared", "definition": {}}))
    assert _field_errors(lead.post("/v1/segments", json={"name": "x", "definition": {"spend_12m": {"min": "1"}}})) \
        == [("definition", "field_hidden")]
    assert _field_errors(lead.get(f"/v1/segments/{spend['id']}/count")) == [("segment_id", "field_hidden")]
    assert _field_errors(lead.get("/v1/customers", params={"segment_id": spend["id"]})) == [
        ("segment_id", "field_hidden")]
    assert lead.get(f"/v1/segments/{plain['id']}/count").status_code == 200
    assert _problem(lead.patch(f"/v1/segments/{plain['id']}", json={"name": "y"}, headers={"If-Match": 'W/"1"'}),
                    403)["code"] == "not_segment_owner"
