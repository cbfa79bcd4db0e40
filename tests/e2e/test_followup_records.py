"""Follow-up records and tasks through the gateway against the real processes, per role (docs/followups.md):
a rep logs what happened and schedules the next follow-up, the customer timeline shows the record's
method, result and content, a manager reassigns and reschedules in the team, customer service logs on
any customer, and outsiders (another rep, another tenant, a missing scope, a forged token) get 404/403/401."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.conftest import TenantContext, wait_for
from tests.e2e.test_access_enforcement import Org, org  # noqa: F401 - the fixture
from tests.e2e.test_login_security import admin_http, forged_token
from tests.e2e.test_roles_teams import created


def _record(http: httpx.Client, customer: dict[str, Any], **extra: Any) -> httpx.Response:
    return http.post("/v1/followup-records", json={"customer_id": customer["id"], "method": "phone",
                                                   "content": "谈了续约\n下周带方案拜访", "result": "needs_followup",
                                                   **extra})


def test_a_rep_logs_a_follow_up_schedules_the_next_and_the_timeline_shows_it(org: Org) -> None:  # noqa: F811
    rep, customer = org.http["a1"], org.customers["a1"]
    nxt = (datetime.now(UTC) + timedelta(days=7)).replace(microsecond=0)
    record = created(_record(rep, customer, next_followup_at=nxt.isoformat(), next_method="visit",
                             next_action="带方案拜访"))
    assert record["number"].startswith(datetime.now(UTC).strftime("%Y%m%d")) and len(record["number"]) == 11
    assert record["followed_by"] == org.users["a1"] and record["next_task_id"]
    mine = rep.get("/v1/followup-tasks", params={"assignee_id": "me", "status": "open"}).json()["items"]
    assert [(t["id"], t["title"], t["method"]) for t in mine] == [(record["next_task_id"], "带方案拜访", "visit")]

    def timeline_entry() -> dict[str, Any] | None:
        entries = rep.get(f"/v1/customers/{customer['id']}/timeline",
                          params={"kind": "followup_recorded"}).json()["items"]
        return entries[0] if entries else None

    entry = wait_for(timeline_entry, timeout=15)
    assert entry["actor"] == org.users["a1"]
    assert (entry["data"]["method_zh"], entry["data"]["result_zh"]) == ("电话", "需跟进")
    assert entry["data"]["content"] == "谈了续约\n下周带方案拜访"

    # Completing the task means logging its record.
    done = created(_record(rep, customer, task_id=record["next_task_id"], method="visit", result="interested"))
    task = rep.get(f"/v1/followup-tasks/{record['next_task_id']}").json()
    assert (task["status"], task["record_id"], task["overdue"]) == ("done", done["id"], False)
    listed = rep.get("/v1/followup-records", params={"customer_id": customer["id"]}).json()["items"]
    assert [r["id"] for r in listed] == [done["id"], record["id"]]


def test_managers_reassign_and_reschedule_in_their_team_and_others_cannot(org: Org) -> None:  # noqa: F811
    http, customers, users = org.http, org.customers, org.users
    task = created(http["a1"].post("/v1/followup-tasks", json={
        "customer_id": customers["a1"]["id"], "title": "回访", "due_at": "2030-03-01T09:00:00+08:00",
        "assignee_id": users["a1"], "method": "phone"}))
    moved = http["manager"].patch(f"/v1/followup-tasks/{task['id']}", json={
        "due_at": "2030-03-05T10:00:00+08:00", "assignee_id": users["manager"]})
    assert moved.status_code == 200, moved.text
    assert moved.json()["assignee_id"] == users["manager"]
    assert moved.json()["due_at"].startswith("2030-03-05T02:00:00")
    for outsider in ("b1", "a2"):
        hidden = http[outsider].patch(f"/v1/followup-tasks/{task['id']}", json={"due_at": "2030-04-01T09:00:00Z"})
        assert hidden.status_code == 404 and hidden.json()["code"] == "not_found"
    unknown = http["manager"].patch(f"/v1/followup-tasks/{task['id']}", json={"assignee_id": customers["a1"]["id"]})
    assert unknown.status_code == 400
    assert unknown.json()["errors"] == [{"field": "assignee_id", "code": "unknown_user",
                                         "message": unknown.json()["errors"][0]["message"]}]
    # A rep may not log a follow-up in someone else's name; a manager may, for their team.
    forged_name = _record(http["a1"], customers["a1"], followed_by=users["a2"])
    assert forged_name.status_code == 403
    assert created(_record(http["manager"], customers["a1"], followed_by=users["a1"]))["followed_by"] == users["a1"]


def test_records_follow_data_scope_per_role_tenant_and_token(
    org: Org, tenant: TenantContext, other_tenant: TenantContext, platform: Any,  # noqa: F811
) -> None:
    http, customers = org.http, org.customers
    a1 = created(_record(http["a1"], customers["a1"]))
    b1 = created(_record(http["cs"], customers["b1"]))  # customer service: data scope all

    def ids(who: str) -> set[str]:
        reply = http[who].get("/v1/followup-records", params={"page_size": 100})
        assert reply.status_code == 200, reply.text
        return {r["id"] for r in reply.json()["items"]}

    assert ids("a1") == {a1["id"]} and ids("b1") == {b1["id"]}
    wait_for(lambda: ids("manager") == {a1["id"]}, timeout=15)
    assert ids("admin") == ids("cs") == {a1["id"], b1["id"]}
    for who in ("b1", "a2"):
        assert http[who].get(f"/v1/followup-records/{a1['id']}").status_code == 404
        assert _record(http[who], customers["a1"]).status_code == 404
    with admin_http(other_tenant) as stranger:
        assert stranger.get(f"/v1/followup-records/{a1['id']}").status_code == 404
        assert _record(stranger, customers["a1"]).status_code == 404
        assert stranger.get("/v1/followup-records").json()["items"] == []
    with tenant.http(scopes=["customers:read"]) as narrow:
        denied = narrow.get("/v1/followup-records")
        assert denied.status_code == 403 and denied.json()["code"] == "permission_denied"
    forged = httpx.get(f"{platform.gateway_url}/v1/followup-records",
                       headers={"Authorization": f"Bearer {forged_token(platform, tenant)}"})
    assert forged.status_code == 401


def test_bad_records_are_problems_naming_the_field(org: Org) -> None:  # noqa: F811
    rep, customer = org.http["a1"], org.customers["a1"]
    reply = rep.post("/v1/followup-records", json={"customer_id": customer["id"], "method": "fax", "content": "",
                                                   "result": "interested",
                                                   "next_followup_at": "2020-01-01T00:00:00+08:00"})
    assert reply.status_code == 400 and reply.headers["content-type"].startswith("application/problem+json")
    assert sorted((e["field"], e["code"]) for e in reply.json()["errors"]) == [
        ("content", "required"), ("method", "unknown_code"), ("next_followup_at", "before_followed_at")]
    assert rep.get("/v1/followup-records", params={"customer_id": customer["id"]}).json()["items"] == []
    dictionary = rep.get("/v1/followup-dictionaries/result").json()["items"]
    assert [e["code"] for e in dictionary] == ["interested", "needs_followup", "not_interested"]
    assert rep.put("/v1/followup-dictionaries/result", json={"entries": []}).status_code == 403
