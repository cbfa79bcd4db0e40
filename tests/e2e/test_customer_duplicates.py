"""Duplicates over HTTP against the running platform: possible duplicates on create and update,
the tenant's block policy with its admin override, the scan job run by the customers service's
worker (progress, groups, dismiss), isolation, scopes and bad input."""

from __future__ import annotations

import httpx

from crm_dev.platform import Platform
from tests.conftest import ALL_SCOPES, TenantContext, wait_for
from tests.e2e.test_access_enforcement import _sign_in
from tests.e2e.test_isolation import _identity_signed
from tests.e2e.test_login_security import create_user, forged_token

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
    # warn (the default): an exact copy is saved, with the duplicate named, likely
    copy = writer.post("/v1/customers", json={"name": STAR["name"], "mobile": STAR["mobile"]})
    assert copy.status_code == 201, copy.text
    [dup] = copy.json()["possible_duplicates"]
    assert dup["id"] == first.json()["id"] and dup["code"] == first.json()["code"] and dup["name"] == STAR["name"]
    assert dup["matched_on"] == ["phone", "name"] and dup["likely"] is True and 0.9 <= dup["confidence"] <= 1
    assert "conflicts" not in dup
    # a company named alike with nothing else in common is only possible
    namesake = writer.post("/v1/customers", json={"name": "（北京）星辰科技股份有限公司", "mobile": "13900000009"})
    assert [(d["matched_on"], d["likely"]) for d in namesake.json()["possible_duplicates"]] == \
        [(["name"], False), (["name"], False)]
    # an update into a duplicate is reported too, never against itself
    third = writer.post("/v1/customers", json={"name": "天津海河贸易有限公司", "mobile": "13900000001"}).json()
    assert "possible_duplicates" not in third
    patched = writer.patch(f"/v1/customers/{third['id']}", json={"email": "INFO@xingchen-tech.com"},
                           headers={"If-Match": 'W/"1"'})
    assert patched.status_code == 200
    assert [(d["matched_on"], d["likely"]) for d in patched.json()["possible_duplicates"]] == [(["email"], False)]
    # block: 409 with the list, nothing written
    settings = admin.patch("/v1/customer-settings", json={"duplicate_policy": "block"})
    assert settings.status_code == 200 and settings.json()["duplicate_policy"] == "block"
    before = _count(admin)
    blocked = _problem(writer.post("/v1/customers", json={"name": "北京星辰科技", "mobile": "13800138000"}), 409)
    assert blocked["code"] == "duplicate_customer"
    likely = [d for d in blocked["duplicates"] if d["likely"]]
    assert {d["id"] for d in likely} == {first.json()["id"], copy.json()["id"]}
    assert all(d["matched_on"] == ["phone", "name"] for d in likely)
    assert [d["id"] for d in blocked["duplicates"] if not d["likely"]] == [namesake.json()["id"]]
    assert _count(admin) == before
    # a possible duplicate is saved under block too (and named)
    possible = writer.post("/v1/customers", json={"name": "北京星辰科技", "mobile": "13700000009"})
    assert possible.status_code == 201 and not any(d["likely"] for d in possible.json()["possible_duplicates"])
    before = _count(admin)
    # the override: 403 without customers:admin (nothing written), 201 with it
    denied = _problem(writer.post("/v1/customers", json={"name": "北京星辰科技", "mobile": "13800138000",
                                                          "allow_duplicates": True}), 403)
    assert denied["code"] == "permission_denied" and _count(admin) == before
    allowed = admin.post("/v1/customers", json={"name": "北京星辰科技", "mobile": "13800138000",
                                                 "allow_duplicates": True})
    assert allowed.status_code == 201 and allowed.json()["possible_duplicates"]
    assert _count(admin) == before + 1
    zh = _problem(writer.post("/v1/customers", json={"name": "北京星辰科技", "mobile": "13800138000"},
                              headers={"Accept-Language": "zh-CN"}), 409)
    assert zh["title"] == "疑似重复客户"


def test_possible_duplicates_of_a_customer(platform: Platform, tenant: TenantContext,
                                           other_tenant: TenantContext) -> None:
    """GET /v1/customers/{id}/possible-duplicates: what the check reports now, in the caller's scope."""
    admin = tenant.http(ADMIN)
    first = admin.post("/v1/customers", json=STAR).json()
    second = admin.post("/v1/customers", json={"name": "星辰科技有限公司", "mobile": "138-0013-8000"}).json()
    admin.post("/v1/customers", json={"name": "张伟", "type": "individual", "mobile": "13900000001"})
    lonely = admin.post("/v1/customers", json={"name": "张伟", "type": "individual", "mobile": "13900000002"}).json()
    reply = tenant.http(["customers:read"]).get(f"/v1/customers/{first['id']}/possible-duplicates")
    assert reply.status_code == 200, reply.text
    [dup] = reply.json()["items"]
    assert (dup["id"], dup["matched_on"], dup["likely"]) == (second["id"], ["phone", "name_similar"], True)
    # a person's name alone links nobody; different credit codes veto a name, phone and email
    assert admin.get(f"/v1/customers/{lonely['id']}/possible-duplicates").json()["items"] == []
    sunrise = {"name": "Sunrise Trading Ltd", "mobile": "13700000001", "email": "info@sunrise.example"}
    admin.post("/v1/customers", json={**sunrise, "credit_code": "91350100M000100Y43"})
    namesake = admin.post("/v1/customers", json={**sunrise, "credit_code": "91110000100000000R"})
    assert namesake.status_code == 201 and "possible_duplicates" not in namesake.json()
    # another tenant, a bad id, a missing scope, no token, a forged and an expired one
    other = other_tenant.http(ADMIN)
    assert _problem(other.get(f"/v1/customers/{first['id']}/possible-duplicates"), 404)["code"] == "not_found"
    assert admin.get("/v1/customers/not-a-uuid/possible-duplicates").status_code in (400, 404)
    _problem(tenant.http(["tags:read"]).get(f"/v1/customers/{first['id']}/possible-duplicates"), 403)
    expired = _identity_signed(platform, tenant.tenant_id, ttl=-120)
    for headers in ({}, {"Authorization": f"Bearer {forged_token(platform, tenant)}"},
                    {"Authorization": f"Bearer {expired}"}):
        reply = httpx.get(f"{platform.gateway_url}/v1/customers/{first['id']}/possible-duplicates", headers=headers)
        assert reply.status_code == 401, reply.text
    # a rep (data scope: own) cannot ask about another's customer; about their own, the others are
    # one entry without id, code or name
    email = f"rep@{tenant.slug}.example.com"
    create_user(tenant, email, roles=["sales_rep"])
    with httpx.Client(base_url=platform.gateway_url, timeout=30,
                      headers={"Authorization": f"Bearer {_sign_in(platform, tenant, email)}"}) as rep:
        _problem(rep.get(f"/v1/customers/{first['id']}/possible-duplicates"), 404)
        mine = rep.post("/v1/customers", json={"name": "北京星辰科技", "mobile": "13800138000"})
        assert mine.status_code == 201, mine.text
        [hidden] = mine.json()["possible_duplicates"]
        assert hidden["outside_scope"] is True and "id" not in hidden and "name" not in hidden
        [again] = rep.get(f"/v1/customers/{mine.json()['id']}/possible-duplicates").json()["items"]
        assert again == hidden


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
    assert (first["size"], first["too_large"]) == (2, False)
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
