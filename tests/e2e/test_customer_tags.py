"""Tags on customers over REST against the real processes (docs/customers.md, "Tags"): apply and
remove by hand, the customer list's tag filter (customers' projection of tagging's events, so
eventually consistent: polled), all-of for several tags, merges and their undo moving tags and the
filter following, erasure, saved views, exports and mass changes with a tag filter, and
authorisation and isolation for every new operation."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from crm_dev.platform import Platform
from tests.conftest import TenantContext, wait_for
from tests.e2e.test_customer_exports import _csv, _finished, _start, _user
from tests.e2e.test_isolation import _identity_signed
from tests.e2e.test_login_security import admin_http, forged_token
from tests.e2e.test_roles_teams import created


def _tag(http: httpx.Client, name: str, color: str = "#e11d48") -> dict[str, Any]:
    return created(http.post("/v1/tags", json={"name": name, "color": color}))


def _customer(http: httpx.Client, name: str, mobile: str) -> dict[str, Any]:
    return created(http.post("/v1/customers", json={"name": name, "mobile": mobile}))


def _apply(http: httpx.Client, customer: dict[str, Any], tag: dict[str, Any]) -> httpx.Response:
    return http.post(f"/v1/customers/{customer['id']}/tags", json={"tag_id": tag["id"]})


def _names(http: httpx.Client, *tags: dict[str, Any], **params: Any) -> set[str] | None:
    reply = http.get("/v1/customers", params={"tag_id": [t["id"] for t in tags], **params})
    assert reply.status_code == 200, reply.text
    return {c["name"] for c in reply.json()["items"]}


def _settles(http: httpx.Client, expected: set[str], *tags: dict[str, Any]) -> None:
    """The projection follows tagging's events within seconds."""
    wait_for(lambda: _names(http, *tags) == expected, timeout=30)


def _problem(reply: httpx.Response, status: int) -> dict[str, Any]:
    assert reply.status_code == status, reply.text
    assert reply.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = reply.json()
    return body


def _field_errors(reply: httpx.Response) -> list[tuple[str, str]]:
    return sorted((e["field"], e["code"]) for e in _problem(reply, 400)["errors"])


def test_apply_filter_all_of_and_remove(tenant: TenantContext) -> None:
    http = admin_http(tenant)
    vip, tech = _tag(http, "VIP"), _tag(http, "科技", "#2563eb")
    a, b, c = (_customer(http, name, mobile) for name, mobile in (
        ("甲科技有限公司", "13700000101"), ("乙贸易有限公司", "13700000102"), ("丙咨询有限公司", "13700000103")))

    first = _apply(http, a, vip)
    assert first.status_code == 201, first.text
    assert first.headers["Location"] == f"/v1/customers/{a['id']}/tags/{vip['id']}"
    body = first.json()
    assert (body["tag_id"], body["tag_name"], body["tag_color"], body["source"]) == (vip["id"], "VIP", "#e11d48",
                                                                                     "manual")
    assert body["applied_by"]
    again = _apply(http, a, vip)
    assert again.status_code == 200 and again.json() == body  # idempotent: the tag as it is
    assert _apply(http, b, vip).status_code == 201
    assert _apply(http, a, tech).status_code == 201

    _settles(http, {"甲科技有限公司", "乙贸易有限公司"}, vip)
    _settles(http, {"甲科技有限公司"}, vip, tech)  # every tag given
    assert _names(http, tag_id=f"{vip['id']},{tech['id']}") == {"甲科技有限公司"}  # a view's encoding
    assert _names(http, vip, q="乙") == {"乙贸易有限公司"}  # combines with other filters
    assert len(_names(http) or ()) == 3
    assert [t["tag_id"] for t in http.get(f"/v1/customers/{a['id']}/tags").json()["items"]] == [vip["id"], tech["id"]]

    removed = http.delete(f"/v1/customers/{b['id']}/tags/{vip['id']}")
    assert removed.status_code == 200, removed.text
    assert removed.json()["tag_id"] == vip["id"]
    _settles(http, {"甲科技有限公司"}, vip)
    assert _problem(http.delete(f"/v1/customers/{b['id']}/tags/{vip['id']}"), 404)["code"] == "not_found"
    assert _problem(http.delete(f"/v1/customers/{c['id']}/tags/{tech['id']}"), 404)["code"] == "not_found"
    assert http.get(f"/v1/customers/{b['id']}/tags").json()["items"] == []

    # The timeline shows the removal (customers' activity consumer reads tag.removed).
    def removal() -> list[dict[str, Any]]:
        items = http.get(f"/v1/customers/{b['id']}/timeline").json()["items"]
        return [e for e in items if e["kind"] == "tag_removed"]

    [entry] = wait_for(removal, timeout=30)
    assert entry["data"]["tag_name"] == "VIP"


def test_bad_input_is_named_and_writes_nothing(tenant: TenantContext, other_tenant: TenantContext) -> None:
    http = admin_http(tenant)
    vip = _tag(http, "VIP")
    theirs = _tag(admin_http(other_tenant), "Theirs")
    a = _customer(http, "甲公司", "13700000201")

    assert _field_errors(http.get("/v1/customers", params={"tag_id": "nope"})) == [("tag_id", "invalid_id")]
    assert _field_errors(http.get("/v1/customers", params={"tag_id": theirs["id"]})) == [("tag_id", "unknown_tag")]
    assert _field_errors(http.get("/v1/customers", params={"tag_id": [vip["id"], a["id"]]})) == [
        ("tag_id", "unknown_tag")]
    eleven = http.get("/v1/customers", params={"tag_id": [vip["id"]] * 11})
    assert ("tag_id", "too_many") in _field_errors(eleven)
    zh = http.get("/v1/customers", params={"tag_id": theirs["id"]}, headers={"Accept-Language": "zh-CN"})
    assert _problem(zh, 400)["errors"][0]["message"] == "标签不存在。"

    assert _field_errors(_apply(http, a, theirs)) == [("tag_id", "unknown_tag")]
    assert _field_errors(http.post(f"/v1/customers/{a['id']}/tags", json={"tag_id": "x"})) == [
        ("tag_id", "invalid_id")]
    assert _field_errors(http.post(f"/v1/customers/{a['id']}/tags", json={})) == [("tag_id", "required")]
    assert _field_errors(http.post(f"/v1/customers/{a['id']}/tags", json={"tag_id": vip["id"], "colour": "x"})) == [
        ("colour", "unknown_field")]
    assert _problem(http.delete(f"/v1/customers/{a['id']}/tags/not-an-id"), 404)["code"] == "not_found"
    assert http.get(f"/v1/customers/{a['id']}/tags").json()["items"] == []


def test_other_tenants_customers_and_missing_scopes(platform: Platform, tenant: TenantContext,
                                                   other_tenant: TenantContext) -> None:
    http = admin_http(tenant)
    vip = _tag(http, "VIP")
    mine = _customer(http, "甲公司", "13700000301")
    theirs = _customer(admin_http(other_tenant), "别家公司", "13700000302")
    their_vip = _tag(admin_http(other_tenant), "VIP")
    assert _apply(admin_http(other_tenant), theirs, their_vip).status_code == 201

    # Another tenant's customer is not found, with their tag or ours; their tag stays on it.
    for tag in (vip, their_vip):
        assert _problem(_apply(http, theirs, tag), 404)["code"] == "not_found"
        assert _problem(http.delete(f"/v1/customers/{theirs['id']}/tags/{tag['id']}"), 404)["code"] == "not_found"
    assert _problem(http.get(f"/v1/customers/{theirs['id']}/tags"), 404)["code"] == "not_found"
    their_tags = admin_http(other_tenant).get(f"/v1/customers/{theirs['id']}/tags").json()["items"]
    assert [t["tag_id"] for t in their_tags] == [their_vip["id"]]

    # Scopes: writing needs customers:write, customers:read and tags:read; filtering needs tags:read.
    for scopes in (["customers:read", "tags:read"], ["customers:read", "customers:write"],
                   ["customers:write", "tags:read"]):
        limited = tenant.http(scopes)
        assert _problem(_apply(limited, mine, vip), 403)["code"] == "permission_denied", scopes
        assert _problem(limited.delete(f"/v1/customers/{mine['id']}/tags/{vip['id']}"), 403)["code"] == \
            "permission_denied"
    assert _problem(tenant.http(["customers:read"]).get("/v1/customers", params={"tag_id": vip["id"]}), 403)
    assert tenant.http(["customers:read", "tags:read"]).get(
        "/v1/customers", params={"tag_id": vip["id"]}).status_code == 200

    # No token, a forged one, an expired one: 401 on every new operation.
    expired = _identity_signed(platform, tenant.tenant_id, ttl=-120)
    for headers in ({}, {"Authorization": f"Bearer {forged_token(platform, tenant)}"},
                    {"Authorization": f"Bearer {expired}"}):
        for method, path, body in (("POST", f"/v1/customers/{mine['id']}/tags", {"tag_id": vip["id"]}),
                                   ("DELETE", f"/v1/customers/{mine['id']}/tags/{vip['id']}", None),
                                   ("GET", "/v1/customers?tag_id=" + vip["id"], None)):
            reply = httpx.request(method, f"{platform.gateway_url}{path}", json=body, headers=headers)
            _problem(reply, 401)
    assert http.get(f"/v1/customers/{mine['id']}/tags").json()["items"] == []


def test_data_scope_decides_which_customers_can_be_tagged(platform: Platform, tenant: TenantContext) -> None:
    http = admin_http(tenant)
    vip = _tag(http, "VIP")
    rep, _ = _user(platform, tenant, "rep", ["sales_rep"])
    not_hers = _customer(http, "管理员的客户", "13700000401")
    hers = _customer(rep, "销售的客户", "13700000402")
    assert _apply(http, not_hers, vip).status_code == 201

    assert _problem(_apply(rep, not_hers, vip), 404)["code"] == "not_found"
    assert _problem(rep.delete(f"/v1/customers/{not_hers['id']}/tags/{vip['id']}"), 404)["code"] == "not_found"
    assert _problem(rep.get(f"/v1/customers/{not_hers['id']}/tags"), 404)["code"] == "not_found"
    assert _apply(rep, hers, vip).status_code == 201
    # The filter keeps the rep's data scope: only her own tagged customer.
    _settles(http, {"管理员的客户", "销售的客户"}, vip)
    assert _names(rep, vip) == {"销售的客户"}
    assert [t["tag_id"] for t in http.get(f"/v1/customers/{not_hers['id']}/tags").json()["items"]] == [vip["id"]]


def test_merge_moves_tags_the_filter_follows_and_undo_gives_them_back(tenant: TenantContext) -> None:
    http = admin_http(tenant)
    vip, tech = _tag(http, "VIP"), _tag(http, "科技")
    survivor = _customer(http, "星辰科技有限公司", "13700000501")
    merged = _customer(http, "星辰科技", "13700000502")
    for customer, tag in ((merged, vip), (merged, tech), (survivor, tech)):
        assert _apply(http, customer, tag).status_code == 201
    _settles(http, {"星辰科技"}, vip)
    _settles(http, {"星辰科技有限公司", "星辰科技"}, tech)

    merge = created(http.post("/v1/customers:merge", json={"survivor_id": survivor["id"], "merged_ids": [merged["id"]]},
                              headers={"If-Match": f'W/"{survivor["version"]}"'}))
    _settles(http, {"星辰科技有限公司"}, vip)
    _settles(http, {"星辰科技有限公司"}, tech)
    carried = {t["tag_id"] for t in http.get(f"/v1/customers/{survivor['id']}/tags").json()["items"]}
    assert carried == {vip["id"], tech["id"]}

    undone = http.post(f"/v1/merges/{merge['id']}:undo")
    assert undone.status_code == 200, undone.text
    _settles(http, {"星辰科技"}, vip)
    _settles(http, {"星辰科技有限公司", "星辰科技"}, tech)


def test_erased_customers_leave_the_filter(tenant: TenantContext) -> None:
    http = admin_http(tenant)
    vip = _tag(http, "VIP")
    gone, kept = _customer(http, "将被删除", "13700000601"), _customer(http, "保留客户", "13700000602")
    for customer in (gone, kept):
        assert _apply(http, customer, vip).status_code == 201
    _settles(http, {"将被删除", "保留客户"}, vip)
    erased = http.post(f"/v1/customers/{gone['id']}:erase", json={"confirm": gone["code"], "reason": "本人申请删除"})
    assert erased.status_code == 200, erased.text
    assert _names(http, vip) == {"保留客户"}
    # A late apply for the erased customer (tagging erases on its own event) never brings it back.
    _problem(_apply(http, gone, vip), 404)
    assert _names(http, vip) == {"保留客户"}


def test_saved_views_exports_and_mass_changes_reuse_the_tag_filter(tenant: TenantContext) -> None:
    http = admin_http(tenant)
    vip, tech = _tag(http, "VIP"), _tag(http, "科技")
    both = _customer(http, "两个标签", "13700000701")
    one = _customer(http, "一个标签", "13700000702")
    _customer(http, "没有标签", "13700000703")
    for customer, tag in ((both, vip), (both, tech), (one, vip)):
        assert _apply(http, customer, tag).status_code == 201
    # The projection follows tagging's events one at a time: "both tags" can hold while the third
    # apply (一个标签 + VIP) is still on its way, so wait for every filter the test relies on below.
    _settles(http, {"两个标签"}, vip, tech)
    _settles(http, {"两个标签", "一个标签"}, vip)

    view = created(http.post("/v1/customer-views", json={"name": "VIP 科技",
                                                         "filters": {"tag_id": f"{vip['id']},{tech['id']}"}}))
    assert view["filters"] == {"tag_id": f"{vip['id']},{tech['id']}"}
    # Applying a view: its filters as the list's query parameters.
    assert _names(http, **view["filters"]) == {"两个标签"}
    bad_view = http.post("/v1/customer-views", json={"name": "x", "filters": {"tag_id": f"{vip['id']},nope"}})
    assert _field_errors(bad_view) == [("filters.tag_id", "invalid_id")]
    unknown = http.patch(f"/v1/customer-views/{view['id']}", json={"filters": {"tag_id": view["id"]}},
                         headers={"If-Match": 'W/"1"'})
    assert _field_errors(unknown) == [("filters.tag_id", "unknown_tag")]

    export = _finished(http, _start(http, format="csv", filters={"tag_id": vip["id"]}, columns=["name"]))
    assert sorted(row["Name"] for row in _csv(http, export)) == ["一个标签", "两个标签"]
    assert _field_errors(http.post("/v1/exports", json={"kind": "customers", "format": "csv",
                                                        "filters": {"tag_id": view["id"]}})) == [
        ("filters.tag_id", "unknown_tag")]

    change = http.post("/v1/customer-bulk-changes", json={
        "filter": {"tag_id": f"{vip['id']},{tech['id']}"}, "set": {"status": "intent", "reason": "VIP 科技客户"}})
    assert change.status_code == 202, change.text

    def statuses() -> dict[str, str] | None:
        items = http.get("/v1/customers").json()["items"]
        found = {c["name"]: c["status"] for c in items}
        return found if found["两个标签"] == "intent" else None

    assert wait_for(statuses, timeout=60) == {"两个标签": "intent", "一个标签": "potential", "没有标签": "potential"}
    unknown_bulk = http.post("/v1/customer-bulk-changes", json={
        "filter": {"tag_id": view["id"]}, "set": {"status": "won", "reason": "x"}})
    assert _field_errors(unknown_bulk) == [("filter.tag_id", "unknown_tag")]


@pytest.mark.parametrize("verb", ["POST", "DELETE"])
def test_unknown_customer_is_not_found(tenant: TenantContext, verb: str) -> None:
    http = admin_http(tenant)
    vip = _tag(http, "VIP")
    path = "/v1/customers/0190a0c2-0000-7000-8000-000000000000/tags"
    reply = http.post(path, json={"tag_id": vip["id"]}) if verb == "POST" else http.delete(f"{path}/{vip['id']}")
    assert _problem(reply, 404)["code"] == "not_found"
