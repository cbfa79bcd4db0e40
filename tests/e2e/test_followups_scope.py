"""Data scope on follow-up tasks against the real processes (docs/access.md, "Enforcement";
docs/followups.md): team A (manager, reps A1 and A2), team B (rep B1), a customer-service user and
the admin, each with the built-in role, signed in through the code flow. Followups learns owners
and teams from events, and asks customers about a customer it has not seen yet, so a task on a
customer created a moment ago is accepted at once (read-your-writes)."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import TenantContext, wait_for
from tests.e2e.test_access_enforcement import Org, org  # noqa: F401 - the fixture
from tests.e2e.test_login_security import admin_http
from tests.e2e.test_roles_teams import created

DUE = "2030-03-01T09:00:00+08:00"


def _task(http: httpx.Client, customer: dict[str, Any], title: str) -> dict[str, Any]:
    return created(http.post("/v1/followup-tasks", json={"customer_id": customer["id"], "title": title,
                                                          "due_at": DUE}))


def _titles(http: httpx.Client, **params: Any) -> set[str]:
    reply = http.get("/v1/followup-tasks", params={"page_size": 500, **params})
    assert reply.status_code == 200, reply.text
    return {t["title"] for t in reply.json()["items"]}


def _not_found(reply: httpx.Response) -> None:
    assert reply.status_code == 404, reply.text
    assert reply.json()["code"] == "not_found"


def test_each_role_sees_and_changes_only_tasks_of_customers_in_its_scope(
    org: Org, tenant: TenantContext,  # noqa: F811
) -> None:
    http, customers = org.http, org.customers
    tasks = {who: _task(http[who], customers[who], f"task of {who}") for who in ("a1", "a2", "b1", "admin")}
    everything = {f"task of {who}" for who in tasks}

    assert _titles(http["a1"]) == {"task of a1"}
    assert _titles(http["b1"]) == {"task of b1"}
    # The manager's team lists A1 and A2: owners' teams come from identity's events.
    wait_for(lambda: _titles(http["manager"]) == {"task of a1", "task of a2"}, timeout=15)
    assert _titles(http["admin"]) == _titles(http["cs"]) == everything  # data scope all
    with tenant.http() as client:  # an API client acts for the tenant
        assert _titles(client) == everything
    assert _titles(http["b1"], customer_id=customers["a1"]["id"]) == set()

    a1_task = tasks["a1"]["id"]
    for outsider in ("b1", "a2"):
        _not_found(http[outsider].get(f"/v1/followup-tasks/{a1_task}"))
        _not_found(http[outsider].post(f"/v1/followup-tasks/{a1_task}:complete"))
    assert http["a1"].get(f"/v1/followup-tasks/{a1_task}").json()["status"] == "open"
    # Customer service (data scope all) completes anyone's task; the manager their team's.
    assert http["cs"].post(f"/v1/followup-tasks/{tasks['b1']['id']}:complete").json()["status"] == "done"
    assert http["manager"].post(f"/v1/followup-tasks/{tasks['a2']['id']}:complete").json()["status"] == "done"
    _not_found(http["manager"].post(f"/v1/followup-tasks/{tasks['b1']['id']}:complete"))


def test_a_task_names_a_customer_the_caller_sees_in_its_tenant(
    org: Org, tenant: TenantContext, other_tenant: TenantContext,  # noqa: F811
) -> None:
    http, customers = org.http, org.customers
    mine = _task(http["a1"], customers["a1"], "a1")
    with admin_http(other_tenant) as stranger:
        foreign = created(stranger.post("/v1/customers", json={"name": "别家客户", "mobile": "13700150001"}))
        _not_found(stranger.post("/v1/followup-tasks", json={
            "customer_id": customers["a1"]["id"], "title": "x", "due_at": DUE}))
        _not_found(stranger.get(f"/v1/followup-tasks/{mine['id']}"))
        _not_found(stranger.post(f"/v1/followup-tasks/{mine['id']}:complete"))
        assert _titles(stranger) == set()
    for who, customer in (("a1", customers["a2"]), ("a1", customers["b1"]), ("a1", foreign), ("admin", foreign),
                          ("manager", customers["b1"])):
        _not_found(http[who].post("/v1/followup-tasks", json={"customer_id": customer["id"], "title": "x",
                                                              "due_at": DUE}))
    missing = http["admin"].post("/v1/followup-tasks", json={
        "customer_id": "0190a0c2-0000-7000-8000-000000000000", "title": "x", "due_at": DUE})
    _not_found(missing)
    assert _titles(http["admin"]) == {"a1"}

    # Read-your-writes: a customer created a moment ago takes a task at once.
    fresh = created(http["a2"].post("/v1/customers", json={"name": "刚建的客户", "mobile": "13700150002"}))
    _task(http["a2"], fresh, "right away")
    assert "right away" in _titles(http["a2"])


def test_tasks_follow_their_customer_to_a_new_owner_and_leave_with_its_deletion(org: Org) -> None:  # noqa: F811
    http, customers = org.http, org.customers
    _task(http["a1"], customers["a1"], "handed over")
    moved = http["manager"].patch(f"/v1/customers/{customers['a1']['id']}", json={"owner_id": org.users["a2"]},
                                  headers={"If-Match": f'W/"{customers["a1"]["version"]}"'})
    assert moved.status_code == 200, moved.text
    wait_for(lambda: "handed over" in _titles(http["a2"]) and "handed over" not in _titles(http["a1"]), timeout=15)

    deleted = http["admin"].delete(f"/v1/customers/{customers['a1']['id']}",
                                   headers={"If-Match": f'W/"{moved.json()["version"]}"'})
    assert deleted.status_code == 200, deleted.text
    wait_for(lambda: "handed over" not in _titles(http["admin"]), timeout=15)


def test_cadence_rules_are_for_managers_and_admins(org: Org) -> None:  # noqa: F811
    http = org.http
    tag = created(http["admin"].post("/v1/tags", json={"name": "VIP"}))
    rule = {"tag_id": tag["id"], "due_in_days": 3, "title": "首次回访"}
    for who in ("a1", "cs"):
        denied = http[who].post("/v1/cadence-rules", json=rule)
        assert denied.status_code == 403, denied.text
        assert "followups:manage" in denied.json()["missing_scopes"]
    assert created(http["manager"].post("/v1/cadence-rules", json=rule))["tag_id"] == tag["id"]
    assert created(http["admin"].post("/v1/cadence-rules", json={**rule, "due_in_days": 7}))
    unknown = http["manager"].post("/v1/cadence-rules", json={**rule, "tag_id": org.customers["a1"]["id"]})
    assert unknown.status_code == 400 and unknown.json()["errors"][0]["code"] == "unknown_tag"
    assert len(http["a1"].get("/v1/cadence-rules").json()["items"]) == 2  # reading stays followups:read
