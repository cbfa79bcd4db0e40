"""The activity timeline end to end: the customers service's own changes, a tag applied by the
tagging service's rule, a follow-up task from followups (by a cadence rule and by hand), all on
`GET /v1/customers/{id}/timeline` in order; data scope, field policies, scopes and tenants."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import TenantContext, wait_for
from tests.e2e.test_access_enforcement import Org, org  # noqa: F401  (fixture)
from tests.e2e.test_login_security import admin_http
from tests.e2e.test_roles_teams import created


def kinds(http: httpx.Client, customer_id: str, **params: Any) -> list[str]:
    reply = http.get(f"/v1/customers/{customer_id}/timeline", params=params)
    assert reply.status_code == 200, reply.text
    return [e["kind"] for e in reply.json()["items"]]


def test_timeline_shows_changes_tags_and_tasks_in_order(tenant: TenantContext, other_tenant: TenantContext) -> None:
    admin = admin_http(tenant)
    tag = created(admin.post("/v1/tags", json={"name": "教育客户"}))
    created(admin.post("/v1/tag-rules", json={"tag_id": tag["id"], "field": "industry", "operator": "equals",
                                              "value": "教育"}))
    created(admin.post("/v1/cadence-rules", json={"tag_id": tag["id"], "due_in_days": 3, "title": "首次回访"}))
    customer = created(admin.post("/v1/customers", json={"name": "育才学校", "mobile": "13800138031",
                                                         "resident_id": "11010519491231002X"}))
    cid = customer["id"]
    patched = admin.patch(f"/v1/customers/{cid}", json={"industry": "教育", "notes": "重点客户",
                                                        "resident_id": "110105194912310011"},
                          headers={"If-Match": f'W/"{customer["version"]}"'})
    assert patched.status_code == 200, patched.text
    changed = admin.post(f"/v1/customers/{cid}:change-status", json={"status": "intent", "reason": "参观后有意向"})
    assert changed.status_code == 200, changed.text
    # The tag rule reacts to the update, the cadence rule to the tag: both arrive through events.
    wait_for(lambda: {"tag_applied", "task_created"} <= set(kinds(admin, cid)), timeout=30)
    task = created(admin.post("/v1/followup-tasks", json={"customer_id": cid, "title": "寄送资料",
                                                          "due_at": "2030-01-01T08:00:00Z"}))
    wait_for(lambda: kinds(admin, cid).count("task_created") == 2, timeout=30)
    done = admin.post(f"/v1/followup-tasks/{task['id']}:complete")
    assert done.status_code == 200 and done.json()["status"] == "done", done.text
    wait_for(lambda: kinds(admin, cid)[0] == "task_completed", timeout=30)

    reply = admin.get(f"/v1/customers/{cid}/timeline")
    entries = reply.json()["items"]
    order = [e["kind"] for e in entries]
    assert order[:2] == ["task_completed", "task_created"] and order[-1] == "created"
    assert order.index("task_created", 2) < order.index("tag_applied") < order.index("updated")
    assert order.index("status_changed") < order.index("updated")
    by_kind = {e["kind"]: e for e in reversed(entries)}  # the oldest of each kind
    updated = by_kind["updated"]["data"]["changes"]
    assert {"field": "industry", "from": "", "to": "教育"} in updated
    assert {"field": "resident_id", "changed": True} in updated
    assert "110105" not in reply.text and "002X" not in reply.text
    assert by_kind["status_changed"]["data"]["reason"] == "参观后有意向"
    assert by_kind["tag_applied"]["data"]["tag_name"] == "教育客户"
    assert by_kind["tag_applied"]["actor"] is None  # a rule, not a person
    titles = {e["data"]["title"] for e in entries if e["kind"] == "task_created"}
    assert titles == {"首次回访", "寄送资料"}
    assert entries[0]["data"]["title"] == "寄送资料" and entries[0]["actor"] == customer["created_by"]
    assert {e["actor"] for e in entries if e["kind"] in ("created", "updated", "status_changed")} == {
        customer["created_by"]}

    # Kind filter and cursor paging.
    assert set(kinds(admin, cid, kind="created,status_changed")) == {"created", "status_changed"}
    first = admin.get(f"/v1/customers/{cid}/timeline", params={"page_size": 2}).json()
    second = admin.get(f"/v1/customers/{cid}/timeline", params={"page_size": 2,
                                                                "page_token": first["next_page_token"]}).json()
    assert [e["id"] for e in first["items"] + second["items"]] == [e["id"] for e in entries[:4]]
    bad = admin.get(f"/v1/customers/{cid}/timeline", params={"kind": "nonsense"})
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "kind"
    # Missing scope: 403; another tenant: 404.
    with tenant.http(["tags:read"]) as no_scope:
        assert no_scope.get(f"/v1/customers/{cid}/timeline").status_code == 403
    with other_tenant.http() as stranger:
        reply = stranger.get(f"/v1/customers/{cid}/timeline")
        assert reply.status_code == 404 and reply.json()["code"] == "not_found"


def test_timeline_follows_data_scope_and_field_policies(org: Org) -> None:  # noqa: F811
    a1, a2 = org.customers["a1"], org.customers["a2"]
    # A rep reads their own customer's timeline, not another rep's.
    assert kinds(org.http["a1"], a1["id"]) == ["created"]
    hidden = org.http["a1"].get(f"/v1/customers/{a2['id']}/timeline")
    assert hidden.status_code == 404 and hidden.json()["code"] == "not_found"
    # The admin changes revenue (hidden for customer_service) and, separately, revenue with notes.
    admin = org.http["admin"]
    current = admin.get(f"/v1/customers/{a1['id']}")
    first = admin.patch(f"/v1/customers/{a1['id']}", json={"annual_revenue": "2000000.00"},
                        headers={"If-Match": current.headers["etag"]})
    assert first.status_code == 200, first.text
    second = admin.patch(f"/v1/customers/{a1['id']}", json={"annual_revenue": "3000000.00", "notes": "扩产"},
                         headers={"If-Match": first.headers["etag"]})
    assert second.status_code == 200, second.text
    assert kinds(admin, a1["id"]) == ["updated", "updated", "created"]
    seen = org.http["cs"].get(f"/v1/customers/{a1['id']}/timeline")
    assert seen.status_code == 200, seen.text
    entries = seen.json()["items"]
    assert [e["kind"] for e in entries] == ["updated", "created"]
    assert entries[0]["data"]["changes"] == [{"field": "notes", "from": "", "to": "扩产"}]
    assert "annual_revenue" not in seen.text and "3000000" not in seen.text
    # An order from an outside system arrives through `order.recorded`; its amount is spend, which
    # the customer_service role never receives.
    order = admin.post("/v1/orders", json={"external_id": "ERP-77", "customer_code": a1["code"], "amount": "1200.50",
                                           "currency": "CNY", "ordered_on": "2026-01-05", "status": "paid"})
    assert order.status_code in (200, 201), order.text
    wait_for(lambda: kinds(admin, a1["id"])[0] == "order_recorded", timeout=30)
    recorded = admin.get(f"/v1/customers/{a1['id']}/timeline", params={"kind": "order_recorded"}).json()["items"]
    assert recorded[0]["data"]["external_id"] == "ERP-77" and recorded[0]["data"]["amount"] == "1200.50"
    hidden_spend = org.http["cs"].get(f"/v1/customers/{a1['id']}/timeline", params={"kind": "order_recorded"})
    assert hidden_spend.json()["items"][0]["data"]["external_id"] == "ERP-77"
    assert "1200.50" not in hidden_spend.text
