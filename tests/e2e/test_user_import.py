"""Batch user import over HTTP (docs/identity.md#user-import): the template round trip (download the
xlsx, fill it with openpyxl, dry run clean, import as a job, users exist with roles and teams and
are invited); a file with bad rows lists each row's errors and writes nothing; CSV in GBK; too many
rows; a non-spreadsheet; isolation and scope."""

from __future__ import annotations

import io
import secrets

import httpx
from openpyxl import load_workbook

from crm_dev.platform import Platform
from tests.conftest import TenantContext, wait_for
from tests.e2e.test_invitations import link_in, mail_to
from tests.e2e.test_login_security import admin_http

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def upload(http: httpx.Client, name: str, content: bytes, *, dry_run: bool, **headers: str) -> httpx.Response:
    return http.post("/v1/imports", params={"kind": "users", "dry_run": str(dry_run).lower()},
                     files={"file": (name, content, "application/octet-stream")}, headers=headers)


def user_count(http: httpx.Client) -> int:
    return len(http.get("/v1/users", params={"page_size": 500}).json()["items"])


def make_teams(http: httpx.Client) -> dict[str, str]:
    sales = http.post("/v1/teams", json={"name": "销售部"}).json()
    north = http.post("/v1/teams", json={"name": "华北组", "parent_id": sales["id"]}).json()
    return {"sales": sales["id"], "north": north["id"]}


def test_template_round_trip(platform: Platform, tenant: TenantContext) -> None:
    tag = secrets.token_hex(3)
    with admin_http(tenant) as http:
        teams = make_teams(http)
        role = http.post("/v1/roles", json={"name": "大客户专员", "scopes": ["customers:read"],
                                            "data_scope": "own"}).json()
        template = http.get("/v1/import-templates/users", params={"format": "xlsx"},
                            headers={"Accept-Language": "zh-CN"})
        assert template.status_code == 200 and template.headers["content-type"] == XLSX
        assert "filename*=UTF-8''" in template.headers["content-disposition"]
        book = load_workbook(io.BytesIO(template.content))
        sheet = book.worksheets[0]
        assert [c.value for c in sheet[1]] == ["邮箱", "姓名", "角色", "团队"]
        reference = [c.value for c in book.worksheets[1]["A"]]
        assert "销售经理" in reference and "大客户专员" in reference
        assert "销售部/华北组" in [c.value for c in book.worksheets[1]["B"]]
        assert sheet.data_validations.dataValidation  # the roles drop-down
        rows = [
            (f"chen.{tag}@example.cn", "陈静", "销售经理", "销售部/华北组"),
            (f"liu.{tag}@example.cn", "刘洋", "销售代表、大客户专员", "销售部"),
            (f"sun.{tag}@example.cn", "孙悦", "", ""),
        ]
        for offset, values in enumerate(rows):  # row 2 is the example row; it is ignored on upload
            for column, value in enumerate(values, start=1):
                sheet.cell(row=3 + offset, column=column, value=value)
        filled = io.BytesIO()
        book.save(filled)
        before = user_count(http)

        check = upload(http, "用户.xlsx", filled.getvalue(), dry_run=True)
        assert check.status_code == 200, check.text
        assert check.json() == {"dry_run": True, "total_rows": 3, "valid": True, "errors": [], "import": None}
        assert user_count(http) == before

        started = upload(http, "用户.xlsx", filled.getvalue(), dry_run=False)
        assert started.status_code == 201, started.text
        job = started.json()["import"]
        assert started.headers["location"] == f"/v1/imports/{job['id']}" and job["total"] == 3

        done = wait_for(lambda: (r := http.get(f"/v1/imports/{job['id']}").json())["status"] == "succeeded"
                        and r)
        assert (done["processed"], done["created"], done["percent"]) == (3, 3, 100)
        users = {u["email"]: u for u in http.get("/v1/users", params={"page_size": 500}).json()["items"]}
        assert users[f"chen.{tag}@example.cn"]["roles"] == ["sales_manager"]
        assert users[f"chen.{tag}@example.cn"]["team_id"] == teams["north"]
        assert users[f"liu.{tag}@example.cn"]["roles"] == ["sales_rep", role["id"]]
        assert users[f"liu.{tag}@example.cn"]["team_id"] == teams["sales"]
        sun = users[f"sun.{tag}@example.cn"]
        assert sun["roles"] == ["sales_rep"] and sun["team_id"] is None
        pending = {i["email"]: i for i in http.get("/v1/invitations").json()["items"]}
        assert {e for e, i in pending.items() if i["import_id"] == job["id"]} == {r[0] for r in rows}

    # Each got an invitation email that works.
    link = link_in(mail_to(platform, f"sun.{tag}@example.cn")[0], platform)
    with httpx.Client(timeout=30) as browser:
        assert browser.post(link, data={"password": "Maple-river-stone-5",
                                        "password_confirm": "Maple-river-stone-5"}).status_code == 200
    assert tenant.api.login_code_flow(tenant.slug, f"sun.{tag}@example.cn", "Maple-river-stone-5")["access_token"]


def test_bad_rows_are_all_listed_and_nothing_is_written(tenant: TenantContext) -> None:
    with admin_http(tenant) as http:
        make_teams(http)
        lines = [
            "Email,Display name,Roles,Team",
            "ok.one@example.cn,OK One,Sales rep,销售部",
            "broken-address,Bad Email,,",
            "ok.one@example.cn,Duplicate,,",
            f"admin@{tenant.slug}.example.com,Exists,,",
            "no.name@example.cn,,Wizard,Nowhere",
            "x" * 250 + "@example.cn,Long,,",
            "ok.two@example.cn,OK Two,,华北组",
        ]
        content = ("\n".join(lines) + "\n").encode()
        before = user_count(http)
        for dry_run in (True, False):
            reply = upload(http, "users.csv", content, dry_run=dry_run)
            if dry_run:
                assert reply.status_code == 200 and reply.json()["valid"] is False
                errors = {(e["row"], e["column"], e["code"]) for e in reply.json()["errors"]}
            else:
                assert reply.status_code == 400 and reply.json()["code"] == "invalid_input"
                errors = {(int(e["field"][5:e["field"].index("]")]), e["field"].rsplit(".", 1)[1], e["code"])
                          for e in reply.json()["errors"]}
            assert errors == {
                (3, "email", "invalid_email"), (4, "email", "duplicate_email_in_file"), (5, "email", "email_exists"),
                (6, "display_name", "required"), (6, "roles", "unknown_role"), (6, "team", "unknown_team"),
                (7, "email", "too_long"),
            }
        assert user_count(http) == before
        assert http.get("/v1/invitations").json()["items"] == []
        # Messages follow Accept-Language.
        zh = upload(http, "users.csv", content, dry_run=True, **{"Accept-Language": "zh-CN"}).json()["errors"]
        assert {e["message"] for e in zh if e["row"] == 4} == {"该邮箱与文件第 2 行重复。"}
        en = upload(http, "users.csv", content, dry_run=True).json()["errors"]
        assert {e["message"] for e in en if e["row"] == 6 and e["column"] == "roles"} == {'No role is named "Wizard".'}


def test_csv_in_gbk_and_the_limits(tenant: TenantContext) -> None:
    tag = secrets.token_hex(3)
    with admin_http(tenant) as http:
        gbk = f"邮箱,姓名,角色\r\nzhou.{tag}@example.cn,周杰,客服\r\n".encode("gbk")
        reply = upload(http, "用户.csv", gbk, dry_run=True)
        assert reply.status_code == 200 and reply.json()["valid"] is True, reply.text
        started = upload(http, "用户.csv", gbk, dry_run=False)
        assert started.status_code == 201
        wait_for(lambda: http.get(started.headers["location"]).json()["status"] == "succeeded")
        users = {u["email"]: u for u in http.get("/v1/users").json()["items"]}
        assert users[f"zhou.{tag}@example.cn"]["display_name"] == "周杰"
        assert users[f"zhou.{tag}@example.cn"]["roles"] == ["customer_service"]

        many = ("email,display_name\n" + "".join(f"u{i}@example.cn,U{i}\n" for i in range(5001))).encode()
        too_many = upload(http, "many.csv", many, dry_run=True)
        assert too_many.status_code == 400
        assert too_many.json()["errors"][0]["field"] == "file"
        assert too_many.json()["errors"][0]["code"] == "too_many_rows"
        assert "5000" in too_many.json()["errors"][0]["message"]

        png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(200)
        for name, content in (("photo.png", png), ("fake.xlsx", b"PK\x03\x04 not really a zip")):
            refused = upload(http, name, content, dry_run=True)
            assert refused.status_code == 400 and refused.json()["errors"][0]["code"] == "unsupported_file", name
        missing = upload(http, "x.csv", b"name,phone\nA,1\n", dry_run=True)
        assert missing.status_code == 400 and missing.json()["errors"][0]["code"] == "missing_column"
        assert http.post("/v1/imports", params={"kind": "users", "dry_run": "true"}, json={"x": 1}).status_code == 400
        big = http.post("/v1/imports?kind=users", files={"file": ("big.csv", b"a" * (1024 * 1024 + 10))})
        assert big.status_code == 413


def test_import_isolation_and_scope(tenant: TenantContext, other_tenant: TenantContext) -> None:
    content = f"email,display_name,roles\nboss.{secrets.token_hex(3)}@example.cn,Boss,tenant_admin\n".encode()
    with admin_http(tenant) as http:
        started = upload(http, "u.csv", content, dry_run=False)
        assert started.status_code == 201
        location = started.headers["location"]
        assert http.get("/v1/imports/not-a-uuid").status_code == 404
    with admin_http(other_tenant) as theirs:
        assert theirs.get(location).status_code == 404
    with tenant.http() as client:  # no users:manage
        assert client.get(location).status_code == 403
        assert client.get("/v1/import-templates/users").status_code == 403
        assert upload(client, "u.csv", content, dry_run=True).status_code == 403
    # users:manage alone cannot hand out the tenant admin role: a row error, nothing written.
    with tenant.http(["users:manage"]) as limited:
        other = f"email,display_name,roles\nboss2.{secrets.token_hex(3)}@example.cn,Boss,tenant_admin\n".encode()
        reply = upload(limited, "u.csv", other, dry_run=True)
        assert reply.status_code == 200
        errors = [(e["row"], e["column"], e["code"]) for e in reply.json()["errors"]]
        assert errors == [(2, "roles", "grant_exceeds_own")]
