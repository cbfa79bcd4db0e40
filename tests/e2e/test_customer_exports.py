"""Customer exports over REST (docs/customers.md, "Export"): a job with progress, the file only for
its requester, data scope and field policies exactly as for reads (rep A's export never holds rep B's
customer; a service user's export lacks the hidden columns and shows masked ones masked; sensitive
fields always masked), `customers:export` required, bad input named, and an audit entry."""

from __future__ import annotations

import csv
import io
from typing import Any

import httpx
from openpyxl import load_workbook

from crm_dev.platform import Platform
from tests.conftest import TenantContext, wait_for
from tests.e2e.test_access_enforcement import _sign_in
from tests.e2e.test_audit_log import events
from tests.e2e.test_login_security import admin_http, create_user
from tests.e2e.test_roles_teams import created

RESIDENT_ID = "11010519491231002X"


def _user(platform: Platform, tenant: TenantContext, who: str, roles: list[str]) -> tuple[httpx.Client, str]:
    email = f"{who}@{tenant.slug}.example.com"
    user = create_user(tenant, email, roles=roles, display_name=f"Rep {who}")
    client = httpx.Client(base_url=platform.gateway_url, timeout=30,
                          headers={"Authorization": f"Bearer {_sign_in(platform, tenant, email)}"})
    return client, str(user["id"])


def _finished(http: httpx.Client, export: dict[str, Any]) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        reply = http.get(f"/v1/exports/{export['id']}")
        assert reply.status_code == 200, reply.text
        body: dict[str, Any] = reply.json()
        return body if body["status"] in ("succeeded", "failed") else None

    result: dict[str, Any] = wait_for(done, timeout=60)
    assert result["status"] == "succeeded", result
    return result


def _start(http: httpx.Client, headers: dict[str, str] | None = None, **body: Any) -> dict[str, Any]:
    reply = http.post("/v1/exports", json={"kind": "customers", **body}, headers=headers)
    assert reply.status_code == 202, reply.text
    assert reply.headers["Location"] == f"/v1/exports/{reply.json()['id']}"
    return dict(reply.json())


def _csv(http: httpx.Client, export: dict[str, Any]) -> list[dict[str, str]]:
    reply = http.get(export["file_url"])
    assert reply.status_code == 200, reply.text
    assert reply.headers["content-type"].startswith("text/csv")
    assert reply.content.startswith(b"\xef\xbb\xbf")  # BOM, so Excel reads UTF-8
    assert "attachment" in reply.headers["content-disposition"]
    return list(csv.DictReader(io.StringIO(reply.content.decode("utf-8-sig"))))


def test_exports_follow_data_scope_field_policies_and_are_audited(
    platform: Platform, tenant: TenantContext, other_tenant: TenantContext
) -> None:
    with admin_http(tenant) as admin:
        exporting_rep = created(admin.post("/v1/roles", json={
            "name": "Exporting rep", "scopes": ["customers:read", "customers:write", "customers:export"],
            "data_scope": "own"}))
        service_exporter = created(admin.post("/v1/roles", json={
            "name": "Service exporter", "scopes": ["customers:read", "customers:export"], "data_scope": "all"}))
        policies = admin.put(f"/v1/roles/{service_exporter['id']}/field-policies", json={
            "field_policies": {"annual_revenue": "hidden", "employees": "hidden", "mobile": "masked"}})
        assert policies.status_code == 200, policies.text
        rep_a, rep_a_id = _user(platform, tenant, "repa", [exporting_rep["id"]])
        rep_a_name = "Rep repa"
        rep_b, _ = _user(platform, tenant, "repb", ["sales_rep"])
        service, _ = _user(platform, tenant, "cs", [service_exporter["id"]])
        with rep_a, rep_b, service:
            mine = rep_a.post("/v1/customers", json={"name": "北京科技有限公司", "mobile": "13700000001",
                                                     "annual_revenue": "1250000.00", "employees": 40,
                                                     "resident_id": RESIDENT_ID})
            assert mine.status_code == 201, mine.text
            theirs = rep_b.post("/v1/customers", json={"name": "上海贸易有限公司", "mobile": "13700000002",
                                                       "annual_revenue": "99.00"})
            assert theirs.status_code == 201, theirs.text

            # Rep A: only their own customer, whatever the filters say.
            export = _start(rep_a, filters={"q": "有限公司"}, format="csv")
            assert export["status"] in ("queued", "running", "succeeded") and export["rows_total"] >= 0
            done = _finished(rep_a, export)
            assert done["rows_done"] == done["rows_total"] == 1
            rows = _csv(rep_a, done)
            # Headers, owners and codes in words (the requester's language: en here), never keys or ids.
            assert [r["Name"] for r in rows] == ["北京科技有限公司"]
            assert rows[0]["Annual revenue"] == "1250000.00" and rows[0]["Mobile"] == "+8613700000001"
            assert rows[0]["Resident ID number"] == "110***********002X"  # sensitive fields always masked
            assert rows[0]["Owner"] == rep_a_name and rows[0]["Status"] in ("Potential", "Intent", "Won", "Lost")
            assert RESIDENT_ID not in str(rows)
            chinese = _start(rep_a, format="csv", filters={"q": "有限公司"}, headers={"Accept-Language": "zh-CN"})
            [zh_row] = _csv(rep_a, _finished(rep_a, chinese))
            assert zh_row["名称"] == "北京科技有限公司" and zh_row["负责人"] == rep_a_name

            # The service user: every customer, hidden columns absent, masked ones masked (XLSX).
            xlsx = _finished(service, _start(service, format="xlsx", order_by="name asc"))
            reply = service.get(xlsx["file_url"])
            assert reply.status_code == 200 and reply.headers["content-type"].endswith("spreadsheetml.sheet")
            table = [list(r) for r in load_workbook(io.BytesIO(reply.content), read_only=True)["customers"]
                     .iter_rows(values_only=True)]
            header = table[0]
            assert "Annual revenue" not in header and "Employees" not in header and "Mobile" in header
            assert "annual_revenue" not in xlsx["columns"]
            assert sorted(r[header.index("Name")] for r in table[1:]) == ["上海贸易有限公司", "北京科技有限公司"]
            assert {r[header.index("Mobile")] for r in table[1:]} == {"****"}
            asked_hidden = service.post("/v1/exports",
                                        json={"kind": "customers", "columns": ["name", "annual_revenue"]})
            assert asked_hidden.status_code == 400
            assert asked_hidden.json()["errors"][0]["code"] == "field_hidden"

            # Only its requester sees an export or its file.
            for path in (f"/v1/exports/{done['id']}", done["file_url"]):
                assert service.get(path).status_code == 404
                with other_tenant.http(["customers:read", "customers:export"]) as stranger:
                    assert stranger.get(path).status_code == 404
            # No customers:export: 403, for REST and in the service.
            denied = rep_b.post("/v1/exports", json={"kind": "customers", "format": "csv"})
            assert denied.status_code == 403 and denied.json()["code"] == "permission_denied"
            assert rep_b.get(f"/v1/exports/{done['id']}").status_code == 403

            # Bad input names the field; a missing file part is not served early.
            bad = rep_a.post("/v1/exports",
                             json={"kind": "customers", "filters": {"colour": "red", "status": "asleep"}})
            assert bad.status_code == 400
            assert sorted((e["field"], e["code"]) for e in bad.json()["errors"]) == [
                ("filters.colour", "unknown_filter")]
            wrong_format = rep_a.post("/v1/exports", json={"kind": "customers", "format": "pdf"})
            assert wrong_format.status_code == 400 and wrong_format.json()["errors"][0]["field"] == "format"

    # The audit log has the export: who, how many rows, which filters, which format.
    with tenant.http(["audit:read"]) as auditor:
        entries = wait_for(lambda: [e for e in events(auditor, action="customer.exported")
                                    if e["target_id"] == done["id"]])
    [entry] = entries
    assert entry["actor"] == rep_a_id and entry["actor_kind"] == "user"
    assert entry["details"]["rows"] == 1 and entry["details"]["format"] == "csv"
    assert entry["details"]["filters"] == {"q": "有限公司"}
