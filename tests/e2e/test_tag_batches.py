"""Batch tagging over REST against the real processes: by filter and by ids, progress, undo; a
rep's batch reaches only the rep's customers; another tenant, missing scope, bad tokens."""

from __future__ import annotations

from typing import Any

import httpx

from crm_dev.platform import Platform
from tests.conftest import TenantContext, wait_for
from tests.e2e.test_customer_exports import _user
from tests.e2e.test_customer_tags import _customer, _problem, _tag
from tests.e2e.test_isolation import _identity_signed
from tests.e2e.test_login_security import admin_http, forged_token


def _finished(http: httpx.Client, batch: dict[str, Any], status: str = "succeeded") -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        body: dict[str, Any] = http.get(f"/v1/tag-batches/{batch['id']}").json()
        return body if body["status"] == status else None

    result: dict[str, Any] = wait_for(done, timeout=30)
    return result


def _names(http: httpx.Client, customer: dict[str, Any]) -> list[str]:
    return sorted(t["tag_name"] for t in http.get(f"/v1/customers/{customer['id']}/tags").json()["items"])


def test_batch_by_filter_and_undo(platform: Platform, tenant: TenantContext, other_tenant: TenantContext) -> None:
    http = admin_http(tenant)
    vip = _tag(http, "批量VIP")
    a = _customer(http, "批量甲科技", "13700003001")
    b = _customer(http, "批量乙科技", "13700003002")
    c = _customer(http, "丙贸易", "13700003003")
    wait_for(lambda: http.get("/v1/customers", params={"q": "批量"}).json()["items"].__len__() == 2, timeout=30)

    started = http.post("/v1/tag-batches", json={"action": "add", "tag_ids": [vip["id"]], "filter": {"q": "批量"}})
    assert started.status_code == 202, started.text
    batch = _finished(http, started.json())
    assert (batch["total"], batch["applied"], batch["skipped"]) == (2, 2, 0)
    assert _names(http, a) == ["批量VIP"] and _names(http, b) == ["批量VIP"] and _names(http, c) == []

    assert _problem(admin_http(other_tenant).post(f"/v1/tag-batches/{batch['id']}:undo"), 404)
    assert _problem(admin_http(other_tenant).get(f"/v1/tag-batches/{batch['id']}"), 404)
    undo = http.post(f"/v1/tag-batches/{batch['id']}:undo")
    assert undo.status_code == 202, undo.text
    _finished(http, batch, "undone")
    assert _names(http, a) == [] and _names(http, b) == []
    assert _problem(http.post(f"/v1/tag-batches/{batch['id']}:undo"), 409)["code"] == "batch_not_undoable"

    both = http.post("/v1/tag-batches", json={"action": "add", "tag_ids": [vip["id"]], "filter": {"q": "x"},
                                             "customer_ids": [a["id"]]})
    assert [e["code"] for e in _problem(both, 400)["errors"]] == ["one_of_required"]
    unknown = http.post("/v1/tag-batches", json={"action": "add", "tag_ids": [vip["id"]], "filter": {"colour": "x"}})
    assert [e["field"] for e in _problem(unknown, 400)["errors"]] == ["filter.colour"]


def test_batch_roles_scopes_and_tokens(platform: Platform, tenant: TenantContext) -> None:
    http = admin_http(tenant)
    vip = _tag(http, "VIP")
    rep, _ = _user(platform, tenant, "rep", ["sales_rep"])
    theirs = _customer(http, "管理员的客户", "13700003011")
    mine = _customer(rep, "代表的客户", "13700003012")

    def tagged_mine() -> dict[str, Any] | None:
        # Tagging learns of a new customer from its event: a batch started before that counts it
        # as outside the rep's scope (skipped), so the batch is asked again until it is known.
        started = rep.post("/v1/tag-batches", json={"action": "add", "tag_ids": [vip["id"]],
                                                    "customer_ids": [mine["id"], theirs["id"]]})
        assert started.status_code == 202, started.text
        done: dict[str, Any] = _finished(rep, started.json())
        return done if done["total"] == 1 else None

    batch: dict[str, Any] = wait_for(tagged_mine, timeout=15)
    assert (batch["total"], batch["applied"]) == (1, 1)
    assert _names(http, mine) == ["VIP"] and _names(http, theirs) == []

    service = _user(platform, tenant, "cs", ["customer_service"])[0]  # no customers:write
    assert _problem(service.post("/v1/tag-batches", json={"action": "add", "tag_ids": [vip["id"]],
                                                          "customer_ids": [mine["id"]]}), 403)
    expired = _identity_signed(platform, tenant.tenant_id, ttl=-120)
    for headers in ({}, {"Authorization": f"Bearer {forged_token(platform, tenant)}"},
                    {"Authorization": f"Bearer {expired}"}):
        for method, path in (("POST", "/v1/tag-batches"), ("GET", f"/v1/tag-batches/{batch['id']}"),
                             ("POST", f"/v1/tag-batches/{batch['id']}:undo")):
            _problem(httpx.request(method, f"{platform.gateway_url}{path}", headers=headers,
                                   json={"action": "add", "tag_ids": [vip["id"]], "customer_ids": [mine["id"]]}), 401)
