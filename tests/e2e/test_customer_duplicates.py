"""Duplicates over HTTP against the running platform: possible duplicates on create and update,
the tenant's block policy with its admin override, the scan job run by the customers service's
worker (progress, groups, dismiss), isolation, scopes and bad input."""

from __future__ import annotations

import httpx

from tests.conftest import ALL_SCOPES, TenantContext, wait_for

ADMIN = [*ALL_SCOPES, "customers:admin"]
STAR = {"name": "北京星辰科技有限公司", "mobile": "13800138000", "email": "info@xingchen-tech.com",
        "contact_person": "李雷"}


def _problem(reply: httpx.Response, status: int) -> dict:  # type: ignore[type-arg]
    assert reply.status_code == status, reply.text
    assert reply.headers["content-type"].startswith("application/problem+json")
    return reply.json()  # type: ignore[no-any-return]


def _count(http: httpx.Client) -> int:
    return len(http.get("/v1/customers", params={"page_size": 500}).json()["items"])


def test_warn_reports_and_block_refuses(tenant: TenantContext) -> None:
    admin = tenant.http(ADMIN)
    writer = tenant.http()
    first = admin.post("/v1/customers", json=STAR)
    assert first.status_code == 201 and "possible_duplicates" not in first.json()  # none found: absent
    assert "possible_duplicates" not in admin.get(f"/v1/customers/{first.json()['id']}").json()
    # warn (the default): saved, with the duplicates named
    second = writer.post("/v1/customers", json={"name": "（北京）星辰科技股份有限公司", "mobile": "138-0013-8000"})
    assert second.status_code == 201, second.text
    [dup] = second.json()["possible_duplicates"]
    assert dup["id"] == first.json()["id"] and dup["code"] == first.json()["code"]
    assert dup["matched_on"] == ["phone", "name"] and 0.9 <= dup["confidence"] <= 1
    # an update into a duplicate is reported too, never against itself
    third = writer.post("/v1/customers", json={"name": "天津海河贸易有限公司", "mobile": "13900000001"}).json()
    assert "possible_duplicates" not in third
    patched = writer.patch(f"/v1/customers/{third['id']}", json={"email": "INFO@xingchen-tech.com"},
                           headers={"If-Match": 'W/"1"'})
    assert patched.status_code == 200
    assert [d["matched_on"] for d in patched.json()["possible_duplicates"]] == [["email"]]
    # block: 409 with the list, nothing written
    settings = admin.patch("/v1/customer-settings", json={"duplicate_policy": "block"})
    assert settings.status_code == 200 and settings.json()["duplicate_policy"] == "block"
    before = _count(admin)
    blocked = _problem(writer.post("/v1/customers", json={"name": "北京星辰科技", "mobile": "13700000001"}), 409)
    assert blocked["code"] == "duplicate_customer"
    assert {d["id"] for d in blocked["duplicates"]} >= {first.json()["id"]}
    assert all(d["matched_on"] == ["name"] for d in blocked["duplicates"])
    assert _count(admin) == before
    # the override: 403 without customers:admin (nothing written), 201 with it
    denied = _problem(writer.post("/v1/customers", json={"name": "北京星辰科技", "mobile": "13700000001",
                                                          "allow_duplicates": True}), 403)
    assert denied["code"] == "permission_denied" and _count(admin) == before
    allowed = admin.post("/v1/customers", json={"name": "北京星辰科技", "mobile": "13700000001",
                                                 "allow_duplicates": True})
    assert allowed.status_code == 201 and allowed.json()["possible_duplicates"]
    assert _count(admin) == before + 1
    zh = _problem(writer.post("/v1/customers", json={"name": "北京星辰科技", "mobile": "13700000002"},
                              headers={"Accept-Language": "zh-CN"}), 409)
    assert zh["title"] == "疑似重复客户"


def test_bad_input(tenant: TenantContext) -> None:
    admin = tenant.http(ADMIN)
    bad_policy = _problem(admin.patch("/v1/customer-settings", json={"duplicate_policy": "ignore"}), 400)
    assert bad_policy["errors"][0]["field"] == "duplicate_policy"
    assert admin.get("/v1/customer-settings").json()["duplicate_policy"] == "warn"
    bad_flag = _problem(admin.post("/v1/customers", json={"name": "甲", "mobile": "13800138000",
                                                          "allow_duplicates": "maybe"}), 400)
    assert bad_flag["errors"][0]["field"] == "allow_duplicates" and _count(admin) == 0
    bad_status = _problem(admin.get("/v1/duplicate-groups", params={"status": "closed"}), 400)
    assert bad_status["errors"][0]["field"] == "status"
    bad_token = _problem(admin.get("/v1/duplicate-groups", params={"page_token": "junk"}), 400)
    assert bad_token["errors"][0]["field"] == "page_token"
    assert admin.get("/v1/duplicate-groups/not-a-uuid").status_code in (400, 404)
    assert admin.get("/v1/duplicate-scans/not-a-uuid").status_code in (400, 404)


def test_scan_groups_dismiss_isolation_and_scopes(tenant: TenantContext, other_tenant: TenantContext) -> None:
    admin = tenant.http(ADMIN)
    ids = [admin.post("/v1/customers", json=body).json()["id"] for body in (
        STAR,
        {"name": "星辰科技（北京）有限公司", "mobile": "138 0013 8000"},
        {"name": "Star Tech Co., Ltd.", "email": "info@star.example"},
        {"name": "Sttar Tech Inc", "email": "sales@star.example"},
        {"name": "天津海河贸易有限公司", "mobile": "13900000001"},
    )]
    started = admin.post("/v1/duplicate-scans")
    assert started.status_code == 202, started.text
    scan_url = started.headers["location"]
    assert scan_url == f"/v1/duplicate-scans/{started.json()['id']}"

    def finished() -> dict | None:  # type: ignore[type-arg]
        body = admin.get(scan_url).json()
        return body if body["status"] in ("succeeded", "failed") else None

    scan = wait_for(finished, timeout=60)
    assert scan["status"] == "succeeded" and scan["groups_found"] == 2 and scan["processed"] == scan["total"] > 0
    assert [s["id"] for s in admin.get("/v1/duplicate-scans").json()["items"]] == [scan["id"]]
    groups = admin.get("/v1/duplicate-groups").json()
    assert "next_page_token" not in groups
    first, second = groups["items"]
    assert first["confidence"] >= second["confidence"]
    assert sorted(m["id"] for m in first["members"]) == sorted(ids[:2]) and first["reasons"] == ["phone", "name"]
    assert sorted(m["id"] for m in second["members"]) == sorted(ids[2:4])
    assert first["members"][0]["mobile"] == "+8613800138000" and first["hidden_members"] == 0
    paged = admin.get("/v1/duplicate-groups", params={"page_size": 1}).json()
    assert [g["id"] for g in paged["items"]] == [first["id"]] and paged["next_page_token"]

    # another tenant: nothing exists
    other = other_tenant.http(ADMIN)
    assert _problem(other.get(f"/v1/duplicate-groups/{first['id']}"), 404)["code"] == "not_found"
    _problem(other.post(f"/v1/duplicate-groups/{first['id']}:dismiss"), 404)
    _problem(other.get(scan_url), 404)
    assert other.get("/v1/duplicate-groups").json()["items"] == []
    # missing scopes
    writer = tenant.http()
    assert _problem(writer.post("/v1/duplicate-scans"), 403)["code"] == "permission_denied"
    _problem(writer.get(scan_url), 403)
    _problem(writer.post(f"/v1/duplicate-groups/{second['id']}:dismiss"), 403)
    _problem(tenant.http(["tags:read"]).get("/v1/duplicate-groups"), 403)
    assert writer.get(f"/v1/duplicate-groups/{first['id']}").status_code == 200  # customers:read

    # dismiss: gone from the open list, kept as dismissed, not brought back by a later scan
    dismissed = admin.post(f"/v1/duplicate-groups/{second['id']}:dismiss")
    assert dismissed.status_code == 200 and dismissed.json()["status"] == "dismissed"
    assert _problem(admin.post(f"/v1/duplicate-groups/{second['id']}:dismiss"), 409)["code"] == \
        "group_not_open"
    again = admin.post("/v1/duplicate-scans").json()
    wait_for(lambda: admin.get(f"/v1/duplicate-scans/{again['id']}").json()["status"] == "succeeded",
             timeout=60)
    open_groups = admin.get("/v1/duplicate-groups").json()["items"]
    assert [sorted(m["id"] for m in g["members"]) for g in open_groups] == [sorted(ids[:2])]
    old = admin.get("/v1/duplicate-groups", params={"status": "dismissed"}).json()["items"]
    assert [g["id"] for g in old] == [second["id"]]


def test_openapi_describes_the_endpoints(tenant: TenantContext) -> None:
    spec = tenant.http().get("/openapi.json").json()
    paths = spec["paths"]
    start = paths["/v1/duplicate-scans"]["post"]
    assert start["operationId"] == "startCustomerDuplicateScan" and start["x-required-scopes"] == ["customers:admin"]
    assert {"202", "403"} <= set(start["responses"])
    dismiss = paths["/v1/duplicate-groups/{group_id}:dismiss"]["post"]
    assert {"404", "409"} <= set(dismiss["responses"])
    assert "allow_duplicates" in spec["components"]["schemas"]["CustomerCreate"]["properties"]
