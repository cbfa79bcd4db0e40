"""Report exports through the real processes (docs/reporting.md, "Report exports"): per role the
exported file carries the same numbers as running the report (each viewer's own data scope and
field policies), the XLSX opens with its PivotTable and the PDF is a PDF; only the requester sees
an export (another rep, another tenant, another report's path: 404); a missing scope is 403,
forged and expired tokens 401, a bad format 400 on the field."""

from __future__ import annotations

import csv
import io
import zipfile
from decimal import Decimal
from typing import Any

import httpx
import openpyxl

from crm_dev.platform import Platform
from tests.conftest import TenantContext, wait_for
from tests.e2e.test_audit_log import events
from tests.e2e.test_dashboards import Business, _all, business  # noqa: F401  (the module's fixture)
from tests.e2e.test_isolation import _identity_signed
from tests.e2e.test_login_security import admin_http
from tests.e2e.test_orders import _eventually
from tests.e2e.test_report_scope import _with_claims

PIVOT = {"object": "customers", "rows": [{"field": "industry"}], "column": {"field": "status"},
         "measures": [{"agg": "count"}, {"agg": "sum", "field": "lifetime_value"}], "chart": "bar"}


def _export(http: httpx.Client, report_id: str, fmt: str) -> tuple[dict[str, Any], httpx.Response]:
    created = http.post(f"/v1/reports/{report_id}/exports", json={"format": fmt})
    assert created.status_code == 202, created.text
    location = created.headers["location"]
    assert location == f"/v1/reports/{report_id}/exports/{created.json()['id']}"

    def finished() -> dict[str, Any] | None:
        state = http.get(location).json()
        return state if state["status"] in ("succeeded", "failed") else None

    state = _eventually(finished, seconds=120)
    assert state["status"] == "succeeded", state
    assert state["file_url"] == f"{location}/file"
    file = http.get(state["file_url"])
    assert file.status_code == 200, file.text
    assert file.headers["cache-control"] == "no-store"
    return state, file


def test_each_role_exports_what_it_may_see(business: Business) -> None:  # noqa: F811
    admin = business.http["admin"]
    shared = admin.post("/v1/reports", json={"name": "行业报表", "definition": PIVOT, "visibility": "tenant"})
    assert shared.status_code == 201, shared.text
    report_id = shared.json()["id"]
    for who in ("admin", "manager", "a1", "b1", "cs"):
        http = business.http[who]
        ran = http.post(f"/v1/reports/{report_id}:run").json()["result"]
        grand = next(c for c in ran["cells"] if c["rows"] == [None] and c["column"] is None)
        _, file = _export(http, report_id, "csv")
        assert file.headers["content-type"].startswith("text/csv")
        assert file.content.startswith(b"\xef\xbb\xbf")
        rows = list(csv.reader(io.StringIO(file.content.decode("utf-8-sig"))))
        assert rows[-1][0] == "Grand total"
        total_columns = len(ran["measures"])
        assert rows[-1][-total_columns] == str(grand["values"][0]), (who, rows[-1], grand)
        if who == "cs":  # customer service may not see money: the measure is not in the file either
            assert ran["omitted_fields"] == ["lifetime_value"]
            assert not any("Lifetime value" in h for h in rows[0])

    state, file = _export(admin, report_id, "xlsx")
    assert state["file_name"].endswith(".xlsx") and state["size_bytes"] == len(file.content)
    book = openpyxl.load_workbook(io.BytesIO(file.content))
    assert book.sheetnames[:3] == ["行业报表", "Data", "Pivot table"]
    with zipfile.ZipFile(io.BytesIO(file.content)) as package:
        assert b'refreshOnLoad="1"' in package.read("xl/pivotCache/pivotCacheDefinition1.xml")
    _, pdf = _export(business.http["a1"], report_id, "pdf")
    assert pdf.headers["content-type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    zh = admin.post(f"/v1/reports/{report_id}/exports", json={"format": "csv"}, headers={"Accept-Language": "zh-CN"})
    assert zh.status_code == 202


def test_only_the_requester_sees_an_export(business: Business, platform: Platform,  # noqa: F811
                                           other_tenant: TenantContext) -> None:
    a1, b1, admin = business.http["a1"], business.http["b1"], business.http["admin"]
    private = a1.post("/v1/reports", json={"name": "我的", "definition": PIVOT})
    assert private.status_code == 201, private.text
    report_id = private.json()["id"]
    state, _ = _export(a1, report_id, "csv")
    path = f"/v1/reports/{report_id}/exports/{state['id']}"
    # The audit log has the export: who, which report, format and rows; never the data.
    with business.tenant.http(["audit:read"]) as auditor:
        [entry] = wait_for(lambda: [e for e in events(auditor, action="report.exported")
                                    if e["target_id"] == state["id"]])
    assert entry["actor_kind"] == "user" and entry["details"]["report_id"] == report_id
    assert entry["details"]["format"] == "csv" and entry["details"]["rows"] == state["rows_done"]
    # Another rep, the admin, another tenant: the export (and the private report) do not exist for them.
    for http in (b1, admin):
        assert http.get(path).status_code == 404
        assert http.get(f"{path}/file").status_code == 404
        assert http.post(f"/v1/reports/{report_id}/exports", json={"format": "csv"}).status_code == 404
    with admin_http(other_tenant) as stranger:
        assert stranger.get(path).status_code == 404
        assert stranger.get(f"{path}/file").status_code == 404
    # The export under another report's path is not found either.
    other = a1.post("/v1/reports", json={"name": "另一个", "definition": PIVOT}).json()["id"]
    assert a1.get(f"/v1/reports/{other}/exports/{state['id']}").status_code == 404
    assert a1.get(f"/v1/reports/{report_id}/exports/not-an-id").status_code == 404
    # A bad format is 400 on the field; a missing scope 403; forged and expired tokens 401.
    bad = a1.post(f"/v1/reports/{report_id}/exports", json={"format": "docx"})
    assert bad.status_code == 400 and bad.headers["content-type"].startswith("application/problem+json")
    assert any(e["field"] == "format" for e in bad.json()["errors"]), bad.text
    without = business.tenant.http(["customers:read"])
    for reply in (without.post(f"/v1/reports/{report_id}/exports", json={"format": "csv"}), without.get(path),
                  without.get(f"{path}/file")):
        assert reply.status_code == 403 and reply.json()["code"] == "permission_denied", reply.text
    token = str(a1.headers["authorization"]).removeprefix("Bearer ")
    for bad_token in (_with_claims(token, ds="all"), _identity_signed(platform, business.tenant.tenant_id, ttl=-120)):
        reply = httpx.get(f"{platform.gateway_url}{path}", headers={"Authorization": f"Bearer {bad_token}"})
        assert reply.status_code == 401, reply.text


def _data_sheet(content: bytes) -> tuple[list[str], list[list[Any]]]:
    book = openpyxl.load_workbook(io.BytesIO(content))
    rows = [[c.value for c in row] for row in book["Data"].iter_rows()]
    return [str(h) for h in rows[0]], rows[1:]


def test_the_xlsx_data_sheet_holds_each_viewers_raw_records(business: Business) -> None:  # noqa: F811
    """One row per customer the viewer may see (not one per grouping), with the viewer's field
    policies: each role's rows are compared with the customers `/v1/customers` lists for them and
    the lifetime value computed from `/v1/orders`; the PivotTable's cache spans every row."""
    admin = business.http["admin"]
    made = admin.post("/v1/reports", json={"name": "Raw", "definition": PIVOT, "visibility": "tenant"})
    assert made.status_code == 201, made.text
    report_id = made.json()["id"]
    orders = _all(admin, "/v1/orders")
    spend: dict[str, Decimal] = {}
    for o in orders:
        if o["kind"] == "order" and o["status"] in ("paid", "confirmed") and o["currency"] == "CNY":
            spend[o["customer_id"]] = spend.get(o["customer_id"], Decimal(0)) + Decimal(o["amount"])
    for who in ("admin", "manager", "a1", "cs"):
        http = business.http[who]
        listed = {c["id"]: c for c in _all(http, "/v1/customers")}
        state, file = _export(http, report_id, "xlsx")
        header, records = _data_sheet(file.content)
        assert state["rows_done"] == len(records) == len(listed), (who, len(records), len(listed))
        assert {r[0] for r in records} == set(listed), who
        for record in records:
            customer = listed[record[0]]
            assert record[1] == customer["name"] and record[2] == (customer["industry"] or "(empty)")
        if who == "cs":  # customer service: no money column at all
            assert header == ["Customer", "Customer name", "Industry", "Status"], header
        else:
            assert header == ["Customer", "Customer name", "Industry", "Status", "Lifetime value"], header
            for record in records:
                assert Decimal(str(record[4])) == spend.get(record[0], Decimal(0)), (who, record)
        with zipfile.ZipFile(io.BytesIO(file.content)) as package:
            cache = package.read("xl/pivotCache/pivotCacheDefinition1.xml").decode()
        assert f':{"E" if who != "cs" else "D"}{len(records) + 1}"' in cache, cache[:600]
    # Filters and the time range narrow the records as they narrow the pivot.
    narrowed = admin.post("/v1/reports", json={"name": "Raw 制造业", "visibility": "tenant", "definition": {
        **PIVOT, "filters": [{"field": "industry", "op": "eq", "values": ["制造业"]}],
        "time_range": {"range": "12m"}}})
    assert narrowed.status_code == 201, narrowed.text
    _, file = _export(business.http["a1"], narrowed.json()["id"], "xlsx")
    _, records = _data_sheet(file.content)
    expected = {c["id"] for c in _all(business.http["a1"], "/v1/customers", industry="制造业")}
    assert {r[0] for r in records} == expected and len(expected) >= 2
