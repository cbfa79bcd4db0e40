"""Tag rules over REST against the real processes (docs/tagging.md, "Rules"): preview, a field rule
and an order rule applied from customers' events (the tag and its trigger on the customer within
seconds), re-run as a job, delete taking its tags back; per role, another tenant, missing scope,
forged and expired tokens."""

from __future__ import annotations

import time
from typing import Any

import httpx

from crm_dev.platform import Platform
from tests.conftest import TenantContext, wait_for
from tests.e2e.test_customer_exports import _user
from tests.e2e.test_customer_tags import _customer, _problem, _tag
from tests.e2e.test_isolation import _identity_signed
from tests.e2e.test_login_security import admin_http, forged_token
from tests.e2e.test_roles_teams import created


def _tags_of(http: httpx.Client, customer: dict[str, Any]) -> dict[str, dict[str, Any]]:
    reply = http.get(f"/v1/customers/{customer['id']}/tags")
    assert reply.status_code == 200, reply.text
    return {t["tag_name"]: t for t in reply.json()["items"]}


def test_rules_tag_customers_from_events_and_preview_counts(tenant: TenantContext) -> None:
    http = admin_http(tenant)
    before = created(http.post("/v1/customers", json={"name": "早期制造有限公司", "mobile": "13700002001",
                                                      "industry": "制造"}))
    maker = _tag(http, "制造业")
    big = _tag(http, "高价值")
    conditions = {"field": "industry", "op": "equals", "value": "制造"}
    wait_for(lambda: http.post("/v1/tag-rules:preview", json={"conditions": conditions}).json()["count"] == 1,
             timeout=30)
    preview = http.post("/v1/tag-rules:preview", json={"conditions": conditions}).json()
    assert preview["sample_customer_ids"] == [before["id"]] and preview["time_based"] is False
    bad = http.post("/v1/tag-rules:preview", json={"conditions": {"field": "industry", "op": "like", "value": "x"}})
    assert [(e["field"], e["code"]) for e in _problem(bad, 400)["errors"]] == [("conditions.all[0].op",
                                                                                 "invalid_choice")]

    rule = http.post("/v1/tag-rules", json={"tag_id": maker["id"], "name": "制造业客户", "conditions": conditions})
    assert rule.status_code == 201, rule.text
    order_rule = created(http.post("/v1/tag-rules", json={
        "tag_id": big["id"], "conditions": {"metric": "order_amount", "op": "gte", "value": "100000"}}))
    new = _customer(http, "新制造有限公司", "13700002002")
    assert http.patch(f"/v1/customers/{new['id']}", json={"industry": "制造"},
                      headers={"If-Match": 'W/"1"'}).status_code == 200
    started = time.monotonic()
    wait_for(lambda: "制造业" in _tags_of(http, new), timeout=30)
    assert time.monotonic() - started < 10
    tag = _tags_of(http, new)["制造业"]
    assert (tag["source"], tag["rule_id"], tag["rule_name"]) == ("rule", rule.json()["id"], "制造业客户")
    assert tag["trigger"].startswith("crm.customer.updated ")
    assert "制造业" not in _tags_of(http, before)  # existing customers: a re-run

    order = http.post("/v1/orders", json={"external_id": "BIG-1", "customer_code": new["code"], "amount": "120000.00",
                                          "currency": "CNY", "ordered_on": "2026-12-01", "status": "paid"})
    assert order.status_code in (200, 201), order.text
    wait_for(lambda: "高价值" in _tags_of(http, new), timeout=30)
    assert _tags_of(http, new)["高价值"]["trigger"].startswith("crm.order.recorded ")

    job = http.post(f"/v1/tag-rules/{rule.json()['id']}:rerun")
    assert job.status_code == 202, job.text
    wait_for(lambda: http.get(job.headers["Location"]).json()["status"] == "succeeded", timeout=30)
    assert http.get(job.headers["Location"]).json()["result"]["applied"] == 1
    assert _tags_of(http, before)["制造业"]["trigger"] == "rerun"

    assert http.post(f"/v1/tag-rules/{order_rule['id']}:disable").json()["enabled"] is False
    deleted = http.delete(f"/v1/tag-rules/{rule.json()['id']}", params={"take_back": "true"})
    assert deleted.status_code == 200 and deleted.json()["tags_taken_back"] == 2
    assert "制造业" not in _tags_of(http, before) and "制造业" not in _tags_of(http, new)


def test_rule_roles_tenants_scopes_and_tokens(platform: Platform, tenant: TenantContext,
                                              other_tenant: TenantContext) -> None:
    http = admin_http(tenant)
    tag = _tag(http, "VIP")
    rule = created(http.post("/v1/tag-rules", json={"tag_id": tag["id"], "conditions": {
        "field": "name", "op": "contains", "value": "集团"}}))
    rep, _ = _user(platform, tenant, "rep", ["sales_rep"])
    assert rep.get(f"/v1/tag-rules/{rule['id']}").status_code == 200
    assert rep.post("/v1/tag-rules:preview", json={"conditions": {"field": "name", "op": "empty"}}).status_code == 200
    writes: list[tuple[str, str, Any]] = [
        ("PATCH", f"/v1/tag-rules/{rule['id']}", {"name": "x"}), ("DELETE", f"/v1/tag-rules/{rule['id']}", None),
        ("POST", f"/v1/tag-rules/{rule['id']}:disable", None), ("POST", f"/v1/tag-rules/{rule['id']}:rerun", None),
    ]
    for method, path, body in writes:
        assert _problem(rep.request(method, path, json=body), 403)["code"] == "permission_denied", path
    theirs = admin_http(other_tenant)
    for method, path, body in [("GET", f"/v1/tag-rules/{rule['id']}", None), *writes]:
        assert _problem(theirs.request(method, path, json=body), 404)["code"] == "not_found", path
    assert rule["id"] not in theirs.get("/v1/tag-rules").text
    assert _problem(tenant.http(["customers:read"]).post("/v1/tag-rules:preview",
                                                         json={"conditions": {"field": "name", "op": "empty"}}), 403)
    expired = _identity_signed(platform, tenant.tenant_id, ttl=-120)
    for headers in ({}, {"Authorization": f"Bearer {forged_token(platform, tenant)}"},
                    {"Authorization": f"Bearer {expired}"}):
        for method, path, body in [("GET", f"/v1/tag-rules/{rule['id']}", None), *writes]:
            _problem(httpx.request(method, f"{platform.gateway_url}{path}", json=body, headers=headers), 401)
    assert http.get(f"/v1/tag-rules/{rule['id']}").json()["enabled"] is True
