"""Orders and contracts over REST against the real processes (docs/customers.md, "Orders"): upsert
idempotent by external id, batches, lists, spend on the customer, the spend reports fed by
`crm.order.recorded` through NATS into chDB, isolation and authorisation; a customer-service user
never receives spend, in reads, lists, orders or reports."""

from __future__ import annotations

import time
from typing import Any

import httpx

from crm_dev.platform import Platform
from tests.conftest import TenantContext
from tests.e2e.test_access_enforcement import Org, _sign_in, org  # noqa: F401  (org is a fixture)
from tests.e2e.test_login_security import admin_http, create_user

WRITER = ["customers:read", "customers:write", "orders:read", "orders:write", "reports:read"]


def _eventually(probe: Any, seconds: float = 30.0) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        value = probe()
        if value:
            return value
        assert time.monotonic() < deadline, f"not consistent in time: {value!r}"
        time.sleep(0.3)


def _order(code: str, external_id: str = "ERP-1", **extra: Any) -> dict[str, Any]:
    return {"external_id": external_id, "customer_code": code, "amount": "1200.50", "currency": "CNY",
            "ordered_on": time.strftime("%Y-%m-%d"), "status": "paid", **extra}


def test_orders_api_end_to_end(platform: Platform, tenant: TenantContext, other_tenant: TenantContext) -> None:
    http = tenant.http(WRITER)
    customer = http.post("/v1/customers", json={"name": "北京订单科技有限公司", "mobile": "13900139000"}).json()
    code = customer["code"]

    created = http.post("/v1/orders", json=_order(code, items=[
        {"sku": "A-1", "name": "服务器", "quantity": 2, "unit_price": "500.25"},
        {"sku": "A-2", "name": "安装服务", "quantity": "1", "unit_price": "200"},
    ]))
    assert created.status_code == 201, created.text
    order = created.json()
    assert created.headers["location"] == f"/v1/orders/{order['id']}" and created.headers["etag"] == 'W/"1"'
    assert order["amount"] == "1200.50" and order["customer_id"] == customer["id"] and order["amount_hidden"] is False
    assert [i["quantity"] for i in order["items"]] == ["2", "1"]

    same = http.post("/v1/orders", json=_order(code, items=order["items"]))
    assert same.status_code == 200 and same.json()["id"] == order["id"] and same.json()["version"] == 1
    changed = http.post("/v1/orders", json=_order(code, status="refunded", items=order["items"]))
    assert changed.status_code == 200 and changed.json()["version"] == 2 and changed.json()["status"] == "refunded"

    # Bad input: each problem names its field; nothing is written.
    bad = http.post("/v1/orders", json=_order(code, "ERP-BAD", currency="RMB",
                                              items=[{"name": "x", "quantity": "0", "unit_price": "1"}]),
                    headers={"Accept-Language": "zh-CN"})
    assert bad.status_code == 400 and bad.headers["content-type"].startswith("application/problem+json")
    fields = {(e["field"], e["code"]) for e in bad.json()["errors"]}
    assert {("currency", "invalid_currency"), ("items[0].quantity", "not_positive")} <= fields
    assert any("币种" in e["message"] for e in bad.json()["errors"])
    as_number = http.post("/v1/orders", json={**_order(code, "ERP-NUM"), "amount": 12.5})
    assert as_number.status_code == 400 and as_number.json()["errors"][0]["field"] == "amount"
    unknown = http.post("/v1/orders", json={**_order(code, "ERP-TYPO"), "ammount": "1"})
    assert unknown.status_code == 400
    assert http.get("/v1/orders", params={"page_size": 50}).json()["items"][0]["external_id"] == "ERP-1"
    assert len(http.get("/v1/orders").json()["items"]) == 1

    batch = http.post("/v1/orders:batch-upsert", json={"orders": [
        _order(code, "B-1", amount="100.00"),
        _order("NO-SUCH-CODE", "B-2"),
        _order(code, "B-3", ordered_on="2026-02-30"),
        _order(code, "B-4", kind="contract", status="confirmed", amount="9000.00"),
        _order(code, "ERP-1", status="paid", items=order["items"]),
    ]})
    assert batch.status_code == 200, batch.text
    body = batch.json()
    assert [(r["index"], r["result"]) for r in body["results"]] == [
        (0, "created"), (1, "invalid"), (2, "invalid"), (3, "created"), (4, "updated")]
    assert body["results"][1]["errors"][0]["field"] == "customer_code" and body["results"][1]["order"] is None
    assert body["results"][2]["errors"][0] == {"field": "ordered_on", "code": "invalid_date",
                                               "message": "must be a date as YYYY-MM-DD"}
    assert (body["written"], body["invalid"]) == (3, 2)
    too_many = http.post("/v1/orders:batch-upsert", json={"orders": [_order(code, f"X-{i}") for i in range(1001)]})
    assert too_many.status_code == 400

    listed = http.get(f"/v1/customers/{customer['id']}/orders", params={"page_size": 2})
    assert listed.status_code == 200 and len(listed.json()["items"]) == 2 and listed.json()["next_page_token"]
    contracts = http.get("/v1/orders", params={"kind": "contract"}).json()["items"]
    assert [o["external_id"] for o in contracts] == ["B-4"]
    assert http.get("/v1/orders", params={"ordered_after": "yesterday"}).status_code == 400
    one = http.get(f"/v1/orders/{order['id']}")
    assert one.status_code == 200 and one.headers["etag"] == 'W/"3"'

    # Spend on the customer: paid/confirmed orders only, contracts not counted.
    got = http.get(f"/v1/customers/{customer['id']}").json()
    assert got["annual_spend"] == {"CNY": "1300.50"} and got["lifetime_value"] == {"CNY": "1300.50"}
    fresh = http.post("/v1/customers", json={"name": "无订单客户", "mobile": "13900139001"}).json()
    assert http.get(f"/v1/customers/{fresh['id']}").json()["annual_spend"] == {}

    # Reports, fed through NATS into chDB.
    month = time.strftime("%Y-%m")

    def spend() -> Any:
        rows = http.get("/v1/reports/spend").json()["rows"]
        return rows if rows and rows[-1]["amount"] == "1300.50" else None

    assert _eventually(spend) == [{"month": month, "currency": "CNY", "amount": "1300.50", "orders": 2}]
    value = http.get("/v1/reports/customer-value", params={"currency": "CNY"}).json()
    assert value["rows"][0]["customer_id"] == customer["id"] and value["rows"][0]["lifetime_value"] == "1300.50"
    assert http.get("/v1/reports/spend", params={"from_month": "2026-13"}).status_code == 400

    # Isolation and authorisation.
    stranger = other_tenant.http(WRITER)
    assert stranger.get(f"/v1/orders/{order['id']}").status_code == 404
    assert stranger.get(f"/v1/customers/{customer['id']}/orders").status_code == 404
    assert stranger.get("/v1/orders").json()["items"] == []
    assert stranger.post("/v1/orders", json=_order(code, "S-1")).json()["errors"][0]["code"] == "unknown_customer"
    reader = tenant.http(["customers:read", "orders:read"])
    refused = reader.post("/v1/orders", json=_order(code, "R-1"))
    assert refused.status_code == 403 and refused.json()["code"] == "permission_denied"
    assert tenant.http(["customers:read"]).get("/v1/orders").status_code == 403
    forged = httpx.get(f"{tenant.api.base_url}/v1/orders", headers={"Authorization": "Bearer a.b.c"})
    assert forged.status_code == 401
    spec = http.get("/openapi.json").json()
    assert spec["paths"]["/v1/orders:batch-upsert"]["post"]["x-required-scopes"] == ["orders:write"]
    assert spec["paths"]["/v1/reports/spend"]["get"]["operationId"] == "getSpendReport"


def test_spend_is_withheld_by_role(org: Org, platform: Platform, tenant: TenantContext) -> None:  # noqa: F811
    admin = org.http["admin"]
    for who, amount in (("a1", "100.00"), ("b1", "250.00")):
        reply = admin.post("/v1/orders", json=_order(org.customers[who]["code"], f"O-{who}", amount=amount))
        assert reply.status_code == 201, reply.text
    a1_order = admin.get("/v1/orders", params={"customer_id": org.customers["a1"]["id"]}).json()["items"][0]
    b1_order = admin.get("/v1/orders", params={"customer_id": org.customers["b1"]["id"]}).json()["items"][0]

    # A rep sees the orders of their own customers only.
    rep = org.http["a1"]
    assert [o["id"] for o in rep.get("/v1/orders").json()["items"]] == [a1_order["id"]]
    assert rep.get(f"/v1/orders/{b1_order['id']}").status_code == 404
    assert rep.get(f"/v1/customers/{org.customers['b1']['id']}/orders").status_code == 404
    assert rep.get(f"/v1/customers/{org.customers['a1']['id']}").json()["lifetime_value"] == {"CNY": "100.00"}
    assert rep.post("/v1/orders", json=_order(org.customers["a1"]["code"], "REP-1")).status_code == 403

    # Customer service: no spend in reads or lists, no orders, no reports.
    cs = org.http["cs"]
    one = cs.get(f"/v1/customers/{org.customers['a1']['id']}").json()
    assert one["annual_spend"] is None and one["lifetime_value"] is None
    listed = cs.get("/v1/customers")
    assert listed.status_code == 200 and all(
        c["annual_spend"] is None and c["lifetime_value"] is None for c in listed.json()["items"])
    assert "250.00" not in listed.text and "100.00" not in listed.text
    for path in ("/v1/orders", f"/v1/customers/{org.customers['a1']['id']}/orders", f"/v1/orders/{a1_order['id']}",
                 "/v1/reports/spend", "/v1/reports/customer-value"):
        reply = cs.get(path)
        assert reply.status_code == 403, (path, reply.text)
        assert "250.00" not in reply.text

    # A custom role that may read orders and reports but whose field policies hide spend: orders
    # come without amounts and spend reports are refused by reporting itself (`field_hidden`).
    role = admin.post("/v1/roles", json={"name": "Support lead", "data_scope": "all",
                                         "scopes": ["customers:read", "orders:read", "reports:read"]})
    assert role.status_code == 201, role.text
    policies = admin.put(f"/v1/roles/{role.json()['id']}/field-policies", json={"field_policies": {
        "annual_spend": "hidden", "lifetime_value": "hidden", "industry": "hidden"}})
    assert policies.status_code == 200, policies.text
    email = f"lead@{tenant.slug}.example.com"
    create_user(tenant, email, roles=[role.json()["id"]])
    lead = httpx.Client(base_url=platform.gateway_url, timeout=30,
                        headers={"Authorization": f"Bearer {_sign_in(platform, tenant, email)}"})
    orders = lead.get("/v1/orders").json()["items"]
    assert len(orders) == 2 and all(o["amount"] is None and o["amount_hidden"] for o in orders)
    for path, fields in (("/v1/reports/spend", ["annual_spend"]), ("/v1/reports/customer-value", ["lifetime_value"]),
                         ("/v1/reports/customers-by-industry", ["industry"])):
        reply = lead.get(path, headers={"Accept-Language": "zh-CN"})
        assert reply.status_code == 403 and reply.json()["code"] == "field_hidden", reply.text
        assert reply.json()["fields"] == fields and reply.json()["title"] == "您的角色不能查看该字段"
    with admin_http(tenant) as boss:
        assert boss.get("/v1/reports/customers-by-industry").status_code == 200
