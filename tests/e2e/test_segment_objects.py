"""Segments as the object of dashboards and reports, and the value segment as a condition, against
the real processes (docs/reporting.md "Segments as the object", "Value segment changes";
docs/tagging.md "Segments"):

- per role (admin: all, manager: team A, reps: own, customer service: no money), a dashboard panel
  and a report whose object is a saved segment count exactly the customers the customers service
  counts for that segment and that role (`/v1/segments/{id}/count`, `/v1/customers?segment_id=`),
  and each point's / cell's list filter (with `segment_id`) opens exactly its customers;
- another user's private segment, another tenant's, a bad id, spend segments for a role that may
  not see spend, a report with both a view and a segment;
- an order that moves a customer into "high value" makes reporting publish the change: a rule
  `value_segment = high_value` tags the customer and a segment with that part counts them, within
  a short bounded wait; the value rules changing moves them out again."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from crm_dev.api_client import ApiClient
from crm_dev.platform import Platform
from tests.conftest import TenantContext, new_tenant, wait_for
from tests.e2e.test_access_enforcement import Org, build_org
from tests.e2e.test_dashboards import _all, _counts
from tests.e2e.test_login_security import admin_http
from tests.e2e.test_roles_teams import created

TODAY = datetime.now(UTC).date()
ROLES = ("admin", "manager", "a1", "a2", "b1")


@dataclass
class Segmented(Org):
    tenant: TenantContext
    segments: dict[str, dict[str, Any]]


def _field_errors(reply: httpx.Response) -> list[tuple[str, str]]:
    assert reply.status_code == 400, reply.text
    return sorted((e["field"], e["code"]) for e in reply.json()["errors"])


def _segment_count(http: httpx.Client, segment: dict[str, Any]) -> int:
    """The customers service's count of the segment for this caller, checked against its list.
    The list is read between two counts: when they differ, an event (a value segment recomputed)
    changed the segment in between, and the comparison is made again."""

    def count() -> int:
        reply = http.get(f"/v1/segments/{segment['id']}/count")
        assert reply.status_code == 200, reply.text
        return int(reply.json()["count"])

    for _ in range(5):
        before = count()
        listed = http.get("/v1/customers", params={"segment_id": segment["id"], "include_total": True})
        assert listed.status_code == 200, listed.text
        if count() == before:
            assert listed.json()["total_size"] == before
            return before
    raise AssertionError("the segment kept changing while it was counted")


def _kpi_customers(http: httpx.Client, segment: dict[str, Any]) -> int:
    reply = http.get("/v1/dashboards/panels/kpis", params={"object": f"segment:{segment['id']}"})
    assert reply.status_code == 200, reply.text
    return next(p["count"] for p in reply.json()["points"] if p["key"] == "customers")


def _report(http: httpx.Client, segment: dict[str, Any]) -> dict[str, Any]:
    reply = http.post("/v1/reports:run", json={"definition": {
        "object": "customers", "segment_id": segment["id"], "rows": [{"field": "industry"}]}})
    assert reply.status_code == 200, reply.text
    return dict(reply.json()["result"])


@pytest.fixture(scope="module")
def segmented(platform: Platform, api: ApiClient) -> Segmented:
    """`build_org`'s people and customers, plus customers by industry, two tags, orders in and out of
    the 12-month window, and three shared segments of the admin's."""
    tenant = new_tenant(api)
    built = build_org(platform, tenant)
    org = Segmented(built.http, built.users, built.customers, tenant, {})
    admin = org.http["admin"]
    vip = created(admin.post("/v1/tags", json={"name": "重点"}))
    churn = created(admin.post("/v1/tags", json={"name": "流失风险"}))
    made = {}
    for n, (who, industry) in enumerate([("a1", "制造"), ("a1", "零售"), ("a2", "制造"), ("b1", "制造"),
                                         ("admin", "制造")]):
        made[f"{who}-{n}"] = created(org.http[who].post("/v1/customers", json={
            "name": f"{industry}对象{n}", "mobile": f"1370015{n:04d}", "industry": industry}))
    tagged = [(k, vip) for k in made] + [("a2-2", churn)]
    for key, tag in [*tagged, ("a1", vip)]:
        customer = made.get(key) or org.customers[key]
        applied = admin.post(f"/v1/customers/{customer['id']}/tags", json={"tag_id": tag["id"]})
        assert applied.status_code in (200, 201), applied.text
    for n, (key, amount, days_ago) in enumerate([("a1-0", "150000.00", 10), ("b1-3", "120000.00", 5),
                                                  ("admin-4", "200000.00", 400), ("a1-1", "50000.00", 0),
                                                  ("a2-2", "130000.00", 3)]):
        reply = admin.post("/v1/orders", json={
            "external_id": f"SO-{n}", "customer_code": made[key]["code"], "amount": amount, "currency": "CNY",
            "status": "paid", "ordered_on": (TODAY - timedelta(days=days_ago)).isoformat()})
        assert reply.status_code == 201, reply.text
    shared = {"visibility": "shared"}
    org.segments = {
        # Tags all + none, a list filter, spend from: a1-0 and b1-3.
        "big": created(admin.post("/v1/segments", json={**shared, "name": "制造业大客户", "definition": {
            "tags": {"all": [vip["id"]], "none": [churn["id"]]}, "filters": {"industry": "制造"},
            "spend_12m": {"min": "100000"}}})),
        # Tags any, a spend range that includes 0 and orders in 30 days at most 1: a1's base
        # customer, a1-1, admin-4 (its order is older than 12 months).
        "small": created(admin.post("/v1/segments", json={**shared, "name": "小额", "definition": {
            "tags": {"any": [vip["id"], churn["id"]]}, "spend_12m": {"max": "60000"},
            "orders_30d": {"max": 1}}})),
        # Tags only: no money, customer service may use it.
        "vip": created(admin.post("/v1/segments", json={**shared, "name": "全部重点", "definition": {
            "tags": {"all": [vip["id"]]}}})),
    }
    org.customers.update(made)
    # Everything reached reporting when the admin's panel counts what customers counts.
    for segment in org.segments.values():
        wait_for(lambda s=segment: _kpi_customers(admin, s) == _segment_count(admin, s), timeout=60)
    return org


def test_panels_and_reports_count_the_segment_per_role(segmented: Segmented) -> None:
    expected = {"big": {"admin": 2, "manager": 1, "a1": 1, "a2": 0, "b1": 1},
                "small": {"admin": 3, "manager": 2, "a1": 2, "a2": 0, "b1": 0}}
    for who in ROLES:
        http = segmented.http[who]
        for name, segment in segmented.segments.items():
            count = _segment_count(http, segment)
            if name in expected:
                assert count == expected[name][who], (who, name)
            wait_for(lambda http=http, segment=segment, count=count: _kpi_customers(http, segment) == count)
            industry = http.get("/v1/dashboards/panels/industry", params={"object": f"segment:{segment['id']}"})
            assert industry.status_code == 200, industry.text
            points = industry.json()["points"]
            members = _all(http, "/v1/customers", segment_id=segment["id"])
            assert _counts(points) == dict(Counter(c.get("industry") or "" for c in members)), (who, name)
            for point in points:
                if point["filter"]:
                    assert point["filter"]["segment_id"] == segment["id"]
                    assert len(_all(http, "/v1/customers", **point["filter"])) == point["count"], (who, name, point)
            result = _report(http, segment)
            total = next(c for c in result["cells"] if c["rows"] == [None] and c["column"] is None)
            assert total["values"][0] == count, (who, name)
            for cell in result["cells"]:
                if cell["filter"]:
                    # A cell the list's parameters can express narrows by the segment; others (an
                    # empty industry) carry the report's cell, whose token holds the segment too.
                    assert cell["filter"].get("segment_id") == segment["id"] or "report_cell" in cell["filter"]
                    params = dict(cell["filter"])
                    if "report_cell" in params:
                        params["report"] = result["cell_report"]
                    assert len(_all(http, "/v1/customers", **params)) == cell["values"][0], (who, cell)


def test_money_segments_and_access(segmented: Segmented, other_tenant: TenantContext) -> None:
    admin, cs, a1 = segmented.http["admin"], segmented.http["cs"], segmented.http["a1"]
    big, vip = segmented.segments["big"], segmented.segments["vip"]
    # Customer service may not see spend: a segment judged by spend is refused, a tag segment counts.
    refused = cs.get("/v1/dashboards/panels/kpis", params={"object": f"segment:{big['id']}"})
    assert refused.status_code == 403 and refused.json()["code"] == "field_hidden", refused.text
    refused = cs.post("/v1/reports:run", json={"definition": {"object": "customers", "segment_id": big["id"]}})
    assert refused.status_code == 403 and refused.json()["code"] == "field_hidden", refused.text
    assert _kpi_customers(cs, vip) == _segment_count(cs, vip) == 6
    # The funnel takes the object too.
    funnel = admin.get("/v1/reports/funnel", params={"object": f"segment:{vip['id']}"})
    assert funnel.status_code == 200 and funnel.json()["cohort"] == 6, funnel.text
    # Another user's private segment is 404, as reading it; another tenant's too.
    private = created(a1.post("/v1/segments", json={"name": "我的", "definition": {}}))
    for http in (admin, admin_http(other_tenant)):
        reply = http.get("/v1/dashboards/panels/kpis", params={"object": f"segment:{private['id']}"})
        assert reply.status_code == 404, reply.text
        reply = http.post("/v1/reports:run", json={"definition": {"object": "customers", "segment_id": private["id"]}})
        assert reply.status_code == 404, reply.text
    assert _kpi_customers(a1, private) == _segment_count(a1, private) == 3
    # Bad input: the field at fault.
    assert _field_errors(admin.get("/v1/dashboards/panels/kpis", params={"object": "segment:nope"})) == [
        ("object", "invalid_id")]
    view = created(admin.post("/v1/customer-views", json={"name": "制造", "filters": {"industry": "制造"}}))
    both = admin.post("/v1/reports:run", json={"definition": {"object": "customers", "segment_id": vip["id"],
                                                              "view_id": view["id"]}})
    assert _field_errors(both) == [("definition.segment_id", "not_allowed")]
    # A share link keeps the segment as the sharer read it (tests/e2e/test_segment_deliveries.py).
    share = admin.post("/v1/share-links", json={"target": {"kind": "dashboard", "panels": ["kpis"],
                                                           "object": f"segment:{vip['id']}"}})
    assert share.status_code == 201, share.text


def test_value_segment_condition_in_rules_and_segments(tenant: TenantContext) -> None:
    http = admin_http(tenant)
    high = created(http.post("/v1/tags", json={"name": "高价值客户"}))
    bad = http.post("/v1/tag-rules", json={"tag_id": high["id"], "conditions": {
        "field": "value_segment", "op": "equals", "value": "high"}})
    assert _field_errors(bad) == [("conditions.all[0].value", "invalid_choice")]
    rule = http.post("/v1/tag-rules", json={"tag_id": high["id"], "name": "价值分层为高价值", "conditions": {
        "field": "value_segment", "op": "equals", "value": "high_value"}})
    assert rule.status_code == 201, rule.text
    bad = http.post("/v1/segments", json={"name": "x", "definition": {"value_segments": ["vip"]}})
    assert _field_errors(bad) == [("definition.value_segments", "invalid_choice")]
    segment = created(http.post("/v1/segments", json={"name": "高价值", "definition": {
        "value_segments": ["high_value"]}}))
    assert segment["definition"]["value_segments"] == ["high_value"]
    customer = created(http.post("/v1/customers", json={"name": "高价值测试", "mobile": "13700159001"}))
    other = created(http.post("/v1/customers", json={"name": "普通测试", "mobile": "13700159002"}))
    for n, (who, amount) in enumerate(((customer, "60000.00"), (other, "3000.00"))):
        reply = http.post("/v1/orders", json={"external_id": f"VS-{n}", "customer_code": who["code"],
                                              "amount": amount, "currency": "CNY", "status": "paid",
                                              "ordered_on": TODAY.isoformat()})
        assert reply.status_code == 201, reply.text

    def tags_of(c: dict[str, Any]) -> list[str]:
        return [t["tag_id"] for t in http.get(f"/v1/customers/{c['id']}/tags").json()["items"]]

    # 60,000 in 12 months is not high value (100,000 by default): nothing yet.
    wait_for(lambda: http.get("/v1/reports/value-analysis").json()["total_size"] == 2)
    assert _segment_count(http, segment) == 0 and tags_of(customer) == []
    # The order that moves the customer into high value: tag and segment follow within seconds.
    reply = http.post("/v1/orders", json={"external_id": "VS-2", "customer_code": customer["code"],
                                          "amount": "50000.00", "currency": "CNY", "status": "paid",
                                          "ordered_on": TODAY.isoformat()})
    assert reply.status_code == 201, reply.text
    wait_for(lambda: tags_of(customer) == [high["id"]], timeout=15)
    wait_for(lambda: _segment_count(http, segment) == 1, timeout=15)
    assert [c["id"] for c in _all(http, "/v1/customers", segment_id=segment["id"])] == [customer["id"]]
    tag = http.get(f"/v1/customers/{customer['id']}/tags").json()["items"][0]
    assert tag["rule_name"] == "价值分层为高价值" and tag["trigger"].startswith("crm.value_segment.changed ")
    assert tags_of(other) == []
    # Reporting counts the same customers with the segment as the object.
    wait_for(lambda: _kpi_customers(http, segment) == 1, timeout=15)
    # New rules recompute every customer: above the bar no more, out of the segment (the tag stays:
    # rules never take a tag off because they stopped matching).
    rules = http.get("/v1/reports/value-rules").json()
    rules.pop("version", None)
    assert http.put("/v1/reports/value-rules", json={**rules, "high_value_annual_spend": "1000000"}).status_code == 200
    wait_for(lambda: _segment_count(http, segment) == 0, timeout=30)
    wait_for(lambda: _kpi_customers(http, segment) == 0, timeout=15)
    assert tags_of(customer) == [high["id"]]
