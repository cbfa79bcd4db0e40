"""Reminders end to end against the real processes (docs/followups.md, "Reminders"): a task that
comes due is fired by followups' scheduler, lands in its assignee's notification centre (and nobody
else's), and reaches a webhook endpoint subscribed to `crm.followup_task.due`; the centre answers
each user about their own only, an API client has none, and a missing scope, another tenant or a
forged token get nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.conftest import TenantContext, wait_for
from tests.e2e.receiver import Receiver
from tests.e2e.test_access_enforcement import Org, org  # noqa: F401 - the fixture
from tests.e2e.test_login_security import admin_http, forged_token
from tests.e2e.test_roles_teams import created


def _unread(http: httpx.Client) -> dict[str, Any]:
    reply = http.get("/v1/notifications", params={"unread_only": "true"})
    assert reply.status_code == 200, reply.text
    return dict(reply.json())


def test_a_due_task_reaches_its_assignee_and_the_webhook(
    org: Org, tenant: TenantContext, other_tenant: TenantContext, platform: Any,  # noqa: F811
) -> None:
    receiver = Receiver()
    try:
        with tenant.http() as client:
            endpoint = client.post("/v1/webhook-endpoints", json={"url": receiver.url,
                                                                   "event_types": ["crm.followup_task.due"]})
            assert endpoint.status_code == 201, endpoint.text
        wait_for(lambda: org.http["a1"].post("/v1/followup-tasks", json={
            "customer_id": org.customers["a1"]["id"], "title": "x", "due_at": "2031-01-01T00:00:00Z",
            "assignee_id": org.users["a1"]}).status_code == 201, timeout=15)  # a1 is known to followups
        due = (datetime.now(UTC) - timedelta(seconds=1)).isoformat()
        task = created(org.http["a1"].post("/v1/followup-tasks", json={
            "customer_id": org.customers["a1"]["id"], "title": "回访：确认交期", "due_at": due,
            "assignee_id": org.users["a1"]}))

        mine = wait_for(lambda: [n for n in _unread(org.http["a1"])["items"] if n["task_id"] == task["id"]],
                        timeout=20)
        assert mine[0]["kind"] == "task_due" and mine[0]["title"] == task["title"] == "回访:确认交期"  # NFKC
        assert _unread(org.http["a1"])["unread_count"] >= 1
        for other in ("a2", "b1", "manager", "cs", "admin"):
            assert all(n["task_id"] != task["id"] for n in _unread(org.http[other])["items"])
        delivered = wait_for(lambda: [d.event for d in receiver.deliveries
                                      if d.event["data"]["task"]["id"] == task["id"]], timeout=20)
        assert delivered[0]["type"] == "crm.followup_task.due" and delivered[0]["data"]["user_id"] == org.users["a1"]

        # Marking: others' ids change nothing; one's own are read.
        stolen = org.http["b1"].post("/v1/notifications:mark-read", json={"ids": [mine[0]["id"]]})
        assert stolen.status_code == 200 and stolen.json()["marked"] == 0
        read = org.http["a1"].post("/v1/notifications:mark-read", json={"ids": [mine[0]["id"]]})
        assert read.json()["marked"] == 1
        assert all(n["id"] != mine[0]["id"] for n in _unread(org.http["a1"])["items"])

        prefs = org.http["a1"].put("/v1/notification-preferences", json={"in_app": True, "email": False,
                                                                          "digest": False})
        assert prefs.status_code == 200 and prefs.json() == {"in_app": True, "email": False, "digest": False}
        assert org.http["a1"].get("/v1/notification-preferences").json()["email"] is False
        assert org.http["b1"].get("/v1/notification-preferences").json()["email"] is True  # b1's own, unchanged

        with tenant.http() as client:  # an API client: no notifications of its own
            assert client.get("/v1/notifications").json() == {"items": [], "next_page_token": "", "unread_count": 0}
            refused = client.post("/v1/notifications:mark-read", json={"all": True})
            assert refused.status_code == 400 and refused.json()["errors"][0]["code"] == "not_a_user"
        with admin_http(other_tenant) as stranger:
            assert stranger.get("/v1/notifications").json()["items"] == []
            assert stranger.post("/v1/notifications:mark-read", json={"ids": [mine[0]["id"]]}).json()["marked"] == 0
        with tenant.http(scopes=["customers:read"]) as narrow:
            assert narrow.get("/v1/notifications").status_code == 403
        forged = httpx.get(f"{platform.gateway_url}/v1/notifications",
                           headers={"Authorization": f"Bearer {forged_token(platform, tenant)}"})
        assert forged.status_code == 401
    finally:
        receiver.close()


def test_a_reminder_never_names_a_customer_its_recipient_may_not_see(org: Org) -> None:  # noqa: F811
    """The manager gives rep A1 (data scope own) a task on A2's customer: A1 cannot open that task,
    so the reminder must not bring its title either (crm_followups/reminders/visibility.py). The
    same manager's task for A1 on A1's own customer, due a moment later (the scheduler fires in due
    order, so the hidden one has been handled by then), does reach A1."""
    wait_for(lambda: org.http["manager"].post("/v1/followup-tasks", json={
        "customer_id": org.customers["a1"]["id"], "title": "x", "due_at": "2031-01-01T00:00:00Z",
        "assignee_id": org.users["a1"]}).status_code == 201, timeout=15)  # a1 and their access are known
    now = datetime.now(UTC)
    hidden = created(org.http["manager"].post("/v1/followup-tasks", json={
        "customer_id": org.customers["a2"]["id"], "title": "同事客户的回访", "assignee_id": org.users["a1"],
        "due_at": (now - timedelta(seconds=2)).isoformat()}))
    assert org.http["a1"].get(f"/v1/followup-tasks/{hidden['id']}").status_code == 404  # as the API says
    shown = created(org.http["manager"].post("/v1/followup-tasks", json={
        "customer_id": org.customers["a1"]["id"], "title": "自己客户的回访", "assignee_id": org.users["a1"],
        "due_at": (now - timedelta(seconds=1)).isoformat()}))

    wait_for(lambda: any(n["task_id"] == shown["id"] for n in _unread(org.http["a1"])["items"]), timeout=20)
    items = _unread(org.http["a1"])["items"]
    assert all(n["task_id"] != hidden["id"] and n["title"] != hidden["title"] for n in items)
