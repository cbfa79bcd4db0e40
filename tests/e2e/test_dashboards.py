"""Dashboards and the funnel against the real processes (docs/reporting.md, "Dashboards"): for each
role (tenant admin: all; manager: team A; rep: own; customer service: all without money) every
panel is compared with the same figure computed here from what the OLTP API shows that role
(`GET /v1/customers`, `GET /v1/orders`), each point's list filter opens exactly its customers, and
another tenant, a token without `reports:read`, forged and expired tokens get nothing."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from crm_dev.api_client import ApiClient
from crm_dev.platform import Platform
from tests.conftest import TenantContext, new_tenant
from tests.e2e.test_access_enforcement import Org, build_org
from tests.e2e.test_isolation import _identity_signed
from tests.e2e.test_login_security import admin_http
from tests.e2e.test_orders import _eventually
from tests.e2e.test_report_scope import _with_claims

TODAY = datetime.now(UTC).date()
PANELS = ("kpis", "industry", "region", "value_trend", "new_by_source", "top_customers")
MONEY_PANELS = ("value_trend", "top_customers")
# (owner, industry, region) of the customers made on top of `org`'s one per owner.
EXTRA = [("a1", "制造业", "华北/北京"), ("a1", "制造业", "华北/天津"), ("a2", "零售", "华东/上海"),
         ("b1", "制造业", "西南/成都"), ("admin", "教育", "华北/北京")]
IMPORTED_FIRST_CONTACT = TODAY - timedelta(days=800)


def _all(http: httpx.Client, path: str, **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    token = ""
    while True:
        reply = http.get(path, params={**params, "page_size": 100, **({"page_token": token} if token else {})})
        assert reply.status_code == 200, reply.text
        body = reply.json()
        items += body["items"]
        token = body.get("next_page_token") or ""
        if not token:
            return items


def _panel(http: httpx.Client, panel: str, **params: Any) -> dict[str, Any]:
    reply = http.get(f"/v1/dashboards/panels/{panel}", params=params)
    assert reply.status_code == 200, reply.text
    return dict(reply.json())


def _counts(points: list[dict[str, Any]]) -> dict[str, int]:
    return {p["key"]: p["count"] for p in points}


def _quarter_start(day: date) -> date:
    return date(day.year, (day.month - 1) // 3 * 3 + 1, 1)


def _acquired(customer: dict[str, Any]) -> str:
    """The day a customer was acquired: its first contact, else the day it was created (UTC)."""
    return str(customer.get("first_contact_date") or customer["created_at"][:10])


def _expected(http: httpx.Client, money: bool) -> dict[str, Any]:
    """The panels' figures computed from what the OLTP API shows this caller."""
    customers = _all(http, "/v1/customers")
    ids = {c["id"] for c in customers}
    quarter = _quarter_start(TODAY)
    expected: dict[str, Any] = {
        "customers": len(ids),
        "new_this_month": sum(1 for c in customers if _acquired(c) >= TODAY.replace(day=1).isoformat()),
        "won_now": sum(1 for c in customers if c["status"] == "won"),
        "industry": dict(Counter(c.get("industry") or "" for c in customers)),
        "region": dict(Counter((c.get("region") or "").split("/")[0] for c in customers)),
        "won_this_quarter": sum(
            1 for c in customers if any(h["to_status"] == "won" and h["changed_at"][:10] >= quarter.isoformat()
                                        for h in http.get(f"/v1/customers/{c['id']}/status-history").json()["items"])
        ) if customers else 0,
    }
    if money:
        orders = [o for o in _all(http, "/v1/orders") if o["customer_id"] in ids and o["kind"] == "order"
                  and o["status"] in ("confirmed", "paid")]
        spend: Counter[tuple[str, str]] = Counter()
        for o in orders:
            if o["ordered_on"] >= quarter.isoformat():
                spend[o["currency"], "q"] += Decimal(o["amount"])  # type: ignore[assignment]
        expected["spend_this_quarter"] = {c: f"{v:.2f}" for (c, _), v in spend.items()}
        per_customer: Counter[str] = Counter()
        for o in orders:
            if o["currency"] == "CNY" and o["ordered_on"] > (TODAY - timedelta(days=365)).isoformat():
                per_customer[o["customer_id"]] += Decimal(o["amount"])  # type: ignore[assignment]
        expected["top"] = sorted(((k, f"{v:.2f}") for k, v in per_customer.items()), key=lambda kv: -Decimal(kv[1]))
    return expected


def _observed(http: httpx.Client, money: bool) -> dict[str, Any]:
    kpis = {p["key"] + p["currency"]: p for p in _panel(http, "kpis")["points"]}
    observed: dict[str, Any] = {
        "customers": kpis["customers"]["count"], "new_this_month": kpis["new_this_month"]["count"],
        "won_now": kpis["conversion_rate"]["count"],
        "industry": _counts(_panel(http, "industry")["points"]),
        "region": _counts(_panel(http, "region")["points"]),
        "won_this_quarter": kpis["won_this_quarter"]["count"],
    }
    if money:
        observed["spend_this_quarter"] = {k.removeprefix("spend_this_quarter"): p["value"] for k, p in kpis.items()
                                          if k.startswith("spend_this_quarter")}
        observed["top"] = [(p["key"], p["value"]) for p in _panel(http, "top_customers", limit=50)["points"]]
    return observed


@dataclass
class Business(Org):
    tenant: TenantContext


@pytest.fixture(scope="module")
def business(platform: Platform, api: ApiClient) -> Business:
    """`build_org`'s people (module-wide: signing six users in is slow) plus customers with
    industries and regions, a status path to won, orders in two
    currencies (one cancelled) and a tag on two customers."""
    tenant = new_tenant(api)
    built = build_org(platform, tenant)
    org = Business(built.http, built.users, built.customers, tenant)
    admin = org.http["admin"]
    for n, (who, industry, region) in enumerate(EXTRA):
        # One was first met long before it was entered (as imported customers are): not new.
        first_contact = {"first_contact_date": IMPORTED_FIRST_CONTACT.isoformat()} if n == 1 else {}
        made = org.http[who].post("/v1/customers", json={
            "name": f"{industry}客户{n}", "mobile": f"1370014{n:04d}", "industry": industry, "region": region,
            **first_contact})
        assert made.status_code == 201, made.text
        org.customers[f"{who}-{n}"] = made.json()
    won = org.customers["a1-0"]
    for status in ("intent", "won"):
        changed = org.http["a1"].post(f"/v1/customers/{won['id']}:change-status",
                                      json={"status": status, "reason": "dashboard test"})
        assert changed.status_code == 200, changed.text
    for n, (key, amount, currency, status) in enumerate([
        ("a1-0", "1000.00", "CNY", "paid"), ("a1-0", "200.50", "CNY", "confirmed"),
        ("a1-1", "99.00", "CNY", "cancelled"),
        ("a2-2", "300.00", "CNY", "paid"), ("b1-3", "50.00", "USD", "paid"), ("admin-4", "5000.00", "CNY", "paid"),
    ]):
        reply = admin.post("/v1/orders", json={"external_id": f"D-{n}", "customer_code": org.customers[key]["code"],
                                               "amount": amount, "currency": currency, "status": status,
                                               "ordered_on": TODAY.isoformat()})
        assert reply.status_code == 201, reply.text
    tag = admin.post("/v1/tags", json={"name": "重点"}).json()
    for key in ("a1-0", "b1-3"):
        applied = admin.post(f"/v1/customers/{org.customers[key]['id']}/tags", json={"tag_id": tag["id"]})
        assert applied.status_code in (200, 201), applied.text
    org.customers["tag"] = tag
    # Everything has reached reporting when the admin's KPIs count every customer and order.
    _eventually(lambda: _observed(admin, True) == _expected(admin, True), seconds=60)
    return org


def test_each_role_sees_its_own_figures(business: Business, other_tenant: TenantContext) -> None:
    for who, money in (("admin", True), ("manager", True), ("a1", True), ("b1", True), ("cs", False)):
        http = business.http[who]
        _eventually(lambda http=http, money=money: _observed(http, money) == _expected(http, money), seconds=30)
    # The rep's figures are their own only; the manager's team A's.
    assert _observed(business.http["a1"], True)["customers"] == 3
    assert _observed(business.http["manager"], True)["customers"] == 5  # a1's 3 and a2's 2
    # Customer service sees counts, never money.
    cs = business.http["cs"]
    kpis = _panel(cs, "kpis")
    assert kpis["omitted_fields"] == ["annual_spend"] and not any(p["currency"] for p in kpis["points"])
    for panel in MONEY_PANELS:
        refused = cs.get(f"/v1/dashboards/panels/{panel}")
        assert refused.status_code == 403 and refused.json()["code"] == "field_hidden", refused.text
    catalogue = {p["id"]: p for p in cs.get("/v1/dashboards/panels").json()["panels"]}
    assert [p for p in PANELS if not catalogue[p]["available"]] == list(MONEY_PANELS)
    # Another tenant counts none of it.
    with admin_http(other_tenant) as stranger:
        assert _panel(stranger, "kpis")["points"][0] == {**_panel(stranger, "kpis")["points"][0], "count": 0}
        assert _panel(stranger, "industry")["points"] == []


def test_every_point_opens_exactly_its_customers(business: Business) -> None:
    for who in ("admin", "manager", "a1"):
        http = business.http[who]
        for panel in ("industry", "region", "new_by_source", "kpis"):
            for point in _panel(http, panel)["points"]:
                if point.get("filter") and not point["currency"]:
                    listed = _all(http, "/v1/customers", **point["filter"])
                    assert len(listed) == point["count"], (who, panel, point)
        new = {p["key"]: p for p in _panel(http, "kpis")["points"]}["new_this_month"]
        assert new["filter"] == {"acquired_after": TODAY.replace(day=1).isoformat()}
        tag_id = business.customers["tag"]["id"]
        tagged = _panel(http, "industry", object=f"tag:{tag_id}")
        expected = Counter(c.get("industry") or "" for c in _all(http, "/v1/customers", tag_id=tag_id))
        assert _counts(tagged["points"]) == dict(expected)
        for point in tagged["points"]:
            assert point["filter"]["tag_id"] == tag_id
            assert len(_all(http, "/v1/customers", **point["filter"])) == point["count"]
    admin = business.http["admin"]
    view = admin.post("/v1/customer-views",
                      json={"name": "华北制造", "filters": {"region": "华北", "industry": "制造业"}})
    assert view.status_code == 201, view.text
    viewed = _panel(admin, "region", object=f"view:{view.json()['id']}")
    assert _counts(viewed["points"]) == {"华北": 2}
    assert len(_all(admin, "/v1/customers", **viewed["points"][0]["filter"])) == 2
    # A view is the caller's own: another user's is 404; a view with a filter panels cannot count is 400.
    assert business.http["a1"].get("/v1/dashboards/panels/kpis",
                                   params={"object": f"view:{view.json()['id']}"}).status_code == 404
    searching = admin.post("/v1/customer-views", json={"name": "search", "filters": {"q": "客户"}}).json()
    refused = admin.get("/v1/dashboards/panels/kpis", params={"object": f"view:{searching['id']}"})
    assert refused.status_code == 400 and refused.json()["errors"][0]["code"] == "unsupported_filter", refused.text


def test_funnel_counts_the_cohort_by_status_history(business: Business) -> None:
    for who in ("admin", "a1", "b1"):
        http = business.http[who]
        # The cohort: first contact today, else created today (the imported customer is not in it).
        customers = [c for c in _all(http, "/v1/customers") if _acquired(c) == TODAY.isoformat()]
        reply = http.get("/v1/reports/funnel", params={"from": TODAY.isoformat(), "to": TODAY.isoformat()})
        assert reply.status_code == 200, reply.text
        funnel = reply.json()
        # Its click-through lists exactly those customers (it used to select by first contact date only).
        assert {c["id"] for c in _all(http, "/v1/customers", **funnel["filter"])} == {c["id"] for c in customers}
        reached = {c["id"]: {h["to_status"] for h in _all(http, f"/v1/customers/{c['id']}/status-history")}
                   for c in customers}
        assert funnel["cohort"] == len(customers)
        assert [s["customers"] for s in funnel["stages"]] == [
            len(customers), sum(1 for s in reached.values() if s & {"intent", "won"}),
            sum(1 for s in reached.values() if "won" in s)]
    bad = business.http["admin"].get("/v1/reports/funnel", params={"from": "2026-13-01"})
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "from"


def test_layouts_personal_and_tenant_default(business: Business) -> None:
    a1, a2, admin = business.http["a1"], business.http["a2"], business.http["admin"]
    first = a1.get("/v1/dashboards/me")
    assert first.status_code == 200 and first.json()["origin"] == "builtin", first.text
    mine = {"items": [{"panel": "industry", "options": {"object": "all"}}, {"panel": "kpis", "options": {}}]}
    saved = a1.put("/v1/dashboards/me", json=mine)
    assert saved.status_code == 200 and saved.json()["origin"] == "user" and saved.json()["version"] == 1
    assert a1.get("/v1/dashboards/me").json()["items"] == mine["items"]
    # Publishing the tenant default needs reports:manage (admins): a rep is refused.
    assert a1.put("/v1/dashboards/default", json=mine).status_code == 403
    published = admin.put("/v1/dashboards/default", json={"items": [{"panel": "funnel_x", "options": {}}]})
    assert published.status_code == 400 and published.json()["errors"][0]["field"] == "items[0].panel"
    assert admin.put("/v1/dashboards/default", json={"items": [{"panel": "region", "options": {}}]}).status_code == 200
    assert a2.get("/v1/dashboards/me").json() == {"items": [{"panel": "region", "options": {}}], "origin": "tenant",
                                                   "version": 1}
    assert a1.get("/v1/dashboards/me").json()["origin"] == "user"


def test_scopes_and_tokens(business: Business, platform: Platform) -> None:
    tenant = business.tenant
    paths = ["/v1/dashboards/panels", "/v1/dashboards/panels/kpis", "/v1/dashboards/me", "/v1/reports/funnel",
             "/v1/reports/value-analysis", "/v1/reports/value-rules"]
    without = tenant.http(["customers:read", "orders:read"])
    for path in paths:
        refused = without.get(path)
        assert refused.status_code == 403 and refused.json()["code"] == "permission_denied", refused.text
    token = str(business.http["a1"].headers["authorization"]).removeprefix("Bearer ")
    for bad in (_with_claims(token, ds="all"), _identity_signed(platform, tenant.tenant_id, ttl=-120)):
        for path in paths:
            reply = httpx.get(f"{platform.gateway_url}{path}", headers={"Authorization": f"Bearer {bad}"})
            assert reply.status_code == 401, reply.text
    started = time.monotonic()
    assert business.http["admin"].get("/v1/dashboards/panels/nope").status_code == 404
    assert time.monotonic() - started < 5


def test_customer_value_per_role_and_on_the_record(business: Business) -> None:
    for who in ("admin", "manager", "a1"):
        http = business.http[who]
        visible = {c["id"] for c in _all(http, "/v1/customers")}
        per_customer: dict[str, list[dict[str, Any]]] = {}
        for o in _all(http, "/v1/orders"):
            if o["customer_id"] in visible and o["kind"] == "order" and o["status"] in ("confirmed", "paid") \
                    and o["currency"] == "CNY":
                per_customer.setdefault(o["customer_id"], []).append(o)
        expected = {cid: (f"{sum(Decimal(o['amount']) for o in orders):.2f}", len(orders))
                    for cid, orders in per_customer.items()}

        def observed(http: httpx.Client = http) -> dict[str, tuple[str, int]]:
            reply = http.get("/v1/reports/value-analysis", params={"page_size": 200})
            assert reply.status_code == 200, reply.text
            return {v["customer_id"]: (v["lifetime_value"], v["orders"]) for v in reply.json()["items"]}

        _eventually(lambda observed=observed, expected=expected: observed() == expected, seconds=30)
    admin = business.http["admin"]
    big = business.customers["admin-4"]
    record = admin.get(f"/v1/customers/{big['id']}").json()
    assert record["value"]["lifetime_value"] == "5000.00" and record["value"]["segment"] in (
        "normal", "potential", "high_value")
    assert record["value"]["reason_zh"].startswith("近12个月消费 ¥5,000.00")
    # Customer service: no money anywhere.
    cs = business.http["cs"]
    assert "value" not in cs.get(f"/v1/customers/{big['id']}").json()
    refused = cs.get("/v1/reports/value-analysis")
    assert refused.status_code == 403 and refused.json()["code"] == "field_hidden", refused.text
    # The rep does not reach another rep's customer's value (the record itself is 404).
    assert business.http["a1"].get(f"/v1/customers/{business.customers['b1-3']['id']}").status_code == 404
    high = admin.get("/v1/reports/value-analysis", params={"segment": "high_value"}).json()
    assert high["items"] == []
    bad = admin.get("/v1/reports/value-analysis", params={"order_by": "name desc"})
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "order_by"


def test_value_rules(business: Business) -> None:
    admin, a1 = business.http["admin"], business.http["a1"]
    assert admin.get("/v1/reports/value-rules").json()["version"] == 0
    assert a1.put("/v1/reports/value-rules", json={"high_value_annual_spend": "1000"}).status_code == 403
    bad = admin.put("/v1/reports/value-rules", json={"recency_days": [90, 30, 180, 365]})
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "recency_days", bad.text
    # Beyond the int32 the rules are kept in, and unknown fields: a 400 naming the field (was a 500).
    huge = admin.put("/v1/reports/value-rules", json={"low_value_inactive_days": -25302916790})
    assert huge.status_code == 400 and huge.json()["errors"][0]["field"] == "low_value_inactive_days", huge.text
    unknown = admin.put("/v1/reports/value-rules", json={"colour": "red"})
    assert unknown.status_code == 400 and unknown.json()["errors"][0]["field"] == "colour", unknown.text
    changed = admin.put("/v1/reports/value-rules", json={"high_value_annual_spend": "1000"})
    assert changed.status_code == 200 and changed.json()["version"] == 1, changed.text
    big = business.customers["admin-4"]["id"]
    assert admin.get(f"/v1/customers/{big}").json()["value"]["segment"] == "high_value"
    high = admin.get("/v1/reports/value-analysis", params={"segment": "high_value"}).json()
    assert big in {v["customer_id"] for v in high["items"]}
    admin.put("/v1/reports/value-rules", json={})  # back to the defaults for the other tests
