"""Customer import over HTTP (docs/customers.md "Customer import") against the real platform: the
template (XLSX drop-downs from the tenant's dictionaries, notes, custom fields; CSV), a messy
2,000-row GBK file (missing names, bad and full-width mobiles, duplicate rows, a customer that
exists) whose dry run lists every problem in the caller's language and gives the error file in
GBK, the mapping corrected, the import job (codes, owner, events that reporting and tagging
follow), undo, and per role: a rep imports customers as their owner and sees only their own
imports; another tenant sees none."""

from __future__ import annotations

import csv
import io
import secrets

import httpx
from openpyxl import load_workbook

from crm_dev.platform import Platform
from tests.conftest import TenantContext, new_tenant, wait_for
from tests.e2e.test_access_enforcement import _sign_in
from tests.e2e.test_login_security import admin_http, create_user

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ROWS = 2000
REQUIRED_ZH = "此字段为必填项。"


def upload(http: httpx.Client, name: str, content: bytes, **form: str) -> httpx.Response:
    return http.post("/v1/imports", params={"kind": "customers"}, data=form,
                     files={"file": (name, content, "application/octet-stream")})


def settled(http: httpx.Client, import_id: str, *statuses: str) -> dict[str, object]:
    def probe() -> dict[str, object] | None:
        body: dict[str, object] = http.get(f"/v1/imports/{import_id}").json()
        return body if body["status"] in statuses else None

    found: dict[str, object] = wait_for(probe, timeout=120)
    return found


def messy_file(tag: str) -> tuple[bytes, dict[str, str]]:
    """2,000 rows in GBK with a header as people write it; returns (bytes, expected codes by row)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["名称", "联系人", "手机", "邮箱", "首次接触日期", "行业", "备注", "随便一列"])
    expected: dict[str, str] = {}
    for n in range(ROWS):
        row = n + 2
        name, mobile = f"{tag}导入公司{n}有限公司", f"139{n:08d}"
        if n % 100 == 1:
            name = ""
            expected[str(row)] = "required"
        elif n % 100 == 2:
            mobile = "12345"
            expected[str(row)] = "invalid_phone"
        elif n % 100 == 3:
            mobile = "".join(chr(ord(c) + 0xFEE0) for c in mobile)  # full width: accepted
        elif n % 100 == 4:
            mobile = f"139{n - 4:08d}"  # the mobile of 4 rows earlier
            expected[str(row)] = "duplicate_in_file"
        writer.writerow([name, "张三", mobile, "", "2024/1/15", "IT", f"第{n}行", "x"])
    return out.getvalue().encode("gb18030"), expected


def test_template_has_dictionaries_custom_fields_and_notes(platform: Platform, tenant: TenantContext) -> None:
    with admin_http(tenant) as http:
        field = {"key": "budget_level", "label": "预算等级", "type": "single_select", "options": ["高", "中", "低"]}
        assert http.post("/v1/customer-fields", json=field).status_code == 201
        reply = http.get("/v1/import-templates/customers", headers={"Accept-Language": "zh-CN"})
        assert reply.status_code == 200 and reply.headers["content-type"] == XLSX
        book = load_workbook(io.BytesIO(reply.content))
        header = [c.value for c in book.worksheets[0][1]]
        assert header[:3] == ["客户编号", "客户名称 *", "客户类型"] and "手机号码" in header and "预算等级" in header
        assert book.worksheets[0].data_validations.dataValidation
        lists = [c.value for column in book.worksheets[1].iter_cols() for c in column]
        assert "制造业" in lists and "高" in lists and "潜在客户" in lists
        assert book.worksheets[2]["A1"].value == "填写说明"
        english = http.get("/v1/import-templates/customers", params={"format": "csv"})
        assert english.status_code == 200 and english.content.startswith(b"\xef\xbb\xbf")
        assert english.content.decode("utf-8-sig").splitlines()[0].startswith("Customer code,Customer name *")


def test_messy_file_dry_run_error_file_import_events_and_undo(platform: Platform, tenant: TenantContext) -> None:
    tag = secrets.token_hex(2)
    content, expected = messy_file(tag)
    with admin_http(tenant) as http:
        rule_tag = http.post("/v1/tags", json={"name": f"导入{tag}"}).json()
        assert http.post("/v1/tag-rules", json={"tag_id": rule_tag["id"], "field": "name", "operator": "contains",
                                                "value": f"{tag}导入公司1999"}).status_code == 201
        existing = http.post("/v1/customers", json={"name": "已有客户", "mobile": f"139{10:08d}"}).json()
        started = upload(http, "客户.csv", content)
        assert started.status_code == 201, started.text
        body = started.json()
        assert started.headers["location"] == f"/v1/imports/{body['id']}"
        assert body["encoding"] == "gb18030" and body["missing"] == []
        assert body["mapping"] == {"0": "name", "1": "contact_person", "2": "mobile", "3": "email",
                                   "4": "first_contact_date", "5": "industry", "6": "notes"}
        done = settled(http, body["id"], "validated")
        assert (done["total_rows"], done["error_rows"], done["percent"]) == (ROWS, 40, 100)
        assert done["duplicate_rows"] == 21  # 20 within the file, 1 matching 已有客户's mobile

        problems, token = [], ""
        while True:
            page = http.get(f"/v1/imports/{body['id']}/problems", params={"page_size": 500, "page_token": token},
                            headers={"Accept-Language": "zh-CN"}).json()
            problems += page["items"]
            token = page.get("next_page_token") or ""
            if not token:
                break
        by_row = {str(p["row"]): p for p in problems}
        for row, code in expected.items():
            assert by_row[row]["code"] == code, (row, by_row.get(row))
        assert (by_row["3"]["column"], by_row["3"]["field"], by_row["3"]["message"]) == ("名称", "name", REQUIRED_ZH)
        assert by_row["12"]["code"] == "duplicate_existing" and by_row["12"]["level"] == "duplicate"

        errors = http.get(f"/v1/imports/{body['id']}/errors", headers={"Accept-Language": "zh-CN"})
        assert errors.status_code == 200 and "gb18030" in errors.headers["content-type"]
        lines = list(csv.reader(io.StringIO(errors.content.decode("gb18030"))))
        assert lines[0][-1] == "错误" and len(lines) == 1 + 40 + 21
        assert any("手机: " in line[-1] for line in lines[1:])

        # Correct the mapping: the odd column was ignored; now leave notes out too.
        remapped = http.post(f"/v1/imports/{body['id']}:validate", json={"mapping": {
            "0": "name", "1": "contact_person", "2": "mobile", "4": "first_contact_date", "5": "industry"}})
        assert remapped.status_code == 200 and remapped.json()["status"] == "validating"
        bad_map = http.post(f"/v1/imports/{body['id']}:validate", json={"mapping": {"0": "name", "1": "name"}})
        assert bad_map.status_code == 400 and bad_map.json()["errors"][0]["code"] == "duplicate_column"
        settled(http, body["id"], "validated")
        running = http.post(f"/v1/imports/{body['id']}:start", json={"duplicate_mode": "skip"})
        assert running.status_code == 200 and running.json()["status"] == "importing"
        finished = settled(http, body["id"], "succeeded")
        assert (finished["created"], finished["updated"]) == (ROWS - 40 - 21, 0)
        assert finished["undo_until"]

        listed = http.get("/v1/customers", params={"q": f"{tag}导入公司1999有限公司"}).json()["items"]
        assert len(listed) == 1 and listed[0]["code"] and listed[0]["notes"] == ""
        # Reporting and tagging saw every imported customer (one event per batch).
        wait_for(lambda: sum(r["customers"] for r in http.get("/v1/reports/customers-by-industry").json()["rows"])
                 == ROWS - 61 + 1, timeout=60)
        wait_for(lambda: [t["tag_id"] for t in http.get(f"/v1/customers/{listed[0]['id']}/tags").json()["items"]]
                 == [rule_tag["id"]], timeout=60)

        assert http.post(f"/v1/imports/{body['id']}:undo").json()["status"] == "undoing"
        settled(http, body["id"], "undone")
        assert http.get("/v1/customers", params={"q": f"{tag}导入公司"}).json()["items"] == []
        assert http.get(f"/v1/customers/{existing['id']}").status_code == 200
        wait_for(lambda: sum(r["customers"] for r in http.get("/v1/reports/customers-by-industry").json()["rows"])
                 == 1, timeout=60)
        def audited() -> set[str]:
            items = http.get("/v1/audit-events", params={"page_size": 500}).json()["items"]
            found = {e["action"] for e in items if e["target_id"] == body["id"]}
            return found if found >= {"customer.imported", "customer.import_undone"} else set()

        wait_for(audited, timeout=30)


def test_bad_files_are_refused_with_a_code(platform: Platform, tenant: TenantContext) -> None:
    with admin_http(tenant) as http:
        for content, code in ((b"\x00\x01binary\x00", "unsupported_file"), (b"PK\x03\x04broken", "unsupported_file"),
                              ("名称\n".encode("utf-16"), "unsupported_file")):
            reply = upload(http, "x.csv", content)
            assert reply.status_code == 400 and reply.json()["errors"][0]["code"] in (code, "invalid_encoding"), \
                reply.text
        reply = upload(http, "x.csv", b"name\nA\n", mapping="{not json")
        assert reply.status_code == 400 and reply.json()["errors"][0]["field"] == "mapping"
        no_name = upload(http, "x.csv", "联系人,手机\n张三,13800138000\n".encode())
        assert no_name.status_code == 201 and no_name.json()["missing"] == ["name"]
        settled(http, no_name.json()["id"], "validated")
        refused = http.post(f"/v1/imports/{no_name.json()['id']}:start", json={})
        assert refused.status_code == 400 and refused.json()["errors"][0]["code"] == "missing_column"


def test_a_rep_imports_as_owner_and_imports_are_private(platform: Platform, tenant: TenantContext,
                                                         api: object) -> None:
    with admin_http(tenant) as http:
        role = http.post("/v1/roles", json={"name": "导入代表", "scopes": ["customers:read", "customers:write"],
                                            "data_scope": "own"}).json()
    emails = [f"rep{n}-{secrets.token_hex(2)}@{tenant.slug}.example.com" for n in range(2)]
    users = [create_user(tenant, e, roles=[role["id"]], display_name=f"导入代表{n}") for n, e in enumerate(emails)]
    reps = [httpx.Client(base_url=platform.gateway_url, timeout=30,
                         headers={"Authorization": f"Bearer {_sign_in(platform, tenant, e)}"}) for e in emails]
    try:
        content = ("客户名称,手机号码,负责人\n代表导入公司,13700001111,\n他人客户公司,13700001112,导入代表1\n"
                   "查无此人公司,13700001113,查无此人\n").encode()
        body = upload(reps[0], "mine.csv", content).json()
        assert body["mapping"]["2"] == "owner"
        done = settled(reps[0], body["id"], "validated")
        # A rep cannot give customers to someone else (docs/customers.md: reps import as owner).
        codes = {p["row"]: p["code"] for p in reps[0].get(f"/v1/imports/{body['id']}/problems").json()["items"]}
        assert (done["error_rows"], codes) == (2, {3: "owner_out_of_scope", 4: "unknown_owner"})
        # Not theirs: customers does not know it for them, and identity refuses a rep (no users:manage).
        assert reps[1].get(f"/v1/imports/{body['id']}").status_code == 403
        assert reps[1].post(f"/v1/imports/{body['id']}:start", json={}).status_code == 404
        assert [i["id"] for i in reps[1].get("/v1/customer-imports").json()] == []
        reps[0].post(f"/v1/imports/{body['id']}:start", json={})
        settled(reps[0], body["id"], "succeeded")
        mine = reps[0].get("/v1/customers", params={"q": "代表导入公司"}).json()["items"]
        assert [c["owner_id"] for c in mine] == [users[0]["id"]]
        other = new_tenant(tenant.api)
        with admin_http(other) as stranger:
            assert stranger.get(f"/v1/imports/{body['id']}").status_code == 404
            assert stranger.get(f"/v1/imports/{body['id']}/errors").status_code == 404
            assert stranger.post(f"/v1/imports/{body['id']}:undo").status_code == 404
    finally:
        for client in reps:
            client.close()
