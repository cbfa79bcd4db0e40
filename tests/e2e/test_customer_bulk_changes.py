"""Mass changes end to end: a manager hands rep A1's customers to rep A2 as a job, with progress,
failures and cancel; bad input, scopes, other users and other tenants."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import TenantContext, wait_for
from tests.e2e.test_access_enforcement import Org, org  # noqa: F401  (fixture)


def finished(http: httpx.Client, location: str) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        body: dict[str, Any] = http.get(location).json()
        return body if body["status"] in ("succeeded", "cancelled") else None

    result: dict[str, Any] = wait_for(done, timeout=60)
    return result


def test_hand_a_reps_customers_to_another(org: Org, tenant: TenantContext, other_tenant: TenantContext) -> None:  # noqa: F811
    a1, a2 = org.users["a1"], org.users["a2"]
    rep = org.http["a1"]
    mine = [org.customers["a1"]["id"]]
    for n in range(24):
        reply = rep.post("/v1/customers", json={"name": f"A1 客户 {n}", "mobile": f"1370020{n:04d}"})
        assert reply.status_code == 201, reply.text
        mine.append(reply.json()["id"])
    manager = org.http["manager"]
    started = manager.post("/v1/customer-bulk-changes", json={"filter": {"owner_id": a1},
                                                              "set": {"owner_id": a2}})
    assert started.status_code == 202, started.text
    assert started.json()["status"] == "queued" and started.headers["location"].endswith(started.json()["id"])
    result = finished(manager, started.headers["location"])
    assert (result["status"], result["total"], result["changed"], result["failed"]) == ("succeeded", 25, 25, 0)
    for customer_id in mine[:3] + mine[-2:]:
        body = manager.get(f"/v1/customers/{customer_id}").json()
        assert body["owner_id"] == a2 and body["version"] == 2
        timeline = manager.get(f"/v1/customers/{customer_id}/timeline", params={"kind": "owner_changed"}).json()
        assert [e["data"]["changes"][0]["to"] for e in timeline["items"]] == [a2]
    assert rep.get(f"/v1/customers/{mine[0]}").status_code == 404  # no longer A1's
    # Rep B1's customer (another team) was never touched.
    assert org.http["admin"].get(f"/v1/customers/{org.customers['b1']['id']}").json()["version"] == 1
    # Others cannot see the manager's mass change; another tenant neither.
    assert org.http["a2"].get(started.headers["location"]).status_code == 404
    with other_tenant.http() as stranger:
        assert stranger.get(started.headers["location"]).status_code == 404


def test_status_change_lists_failures(org: Org) -> None:  # noqa: F811
    admin = org.http["admin"]
    won = org.customers["a2"]["id"]
    assert admin.post(f"/v1/customers/{won}:change-status", json={"status": "won", "reason": "签约"}).status_code == 200
    started = admin.post("/v1/customer-bulk-changes", json={"filter": {"status": ""},
                                                            "set": {"status": "intent", "reason": "活动跟进"}})
    assert started.status_code == 202, started.text
    result = finished(admin, started.headers["location"])
    assert result["status"] == "succeeded" and result["total"] == 4
    assert result["failures"] == [{"customer_id": won, "code": "transition_not_allowed"}]
    assert (result["changed"], result["failed"]) == (3, 1)
    assert admin.get(f"/v1/customers/{won}").json()["status"] == "won"
    assert admin.get(f"/v1/customers/{org.customers['b1']['id']}").json()["status"] == "intent"


def test_bad_input_scopes_and_cancel(org: Org, tenant: TenantContext) -> None:  # noqa: F811
    rep = org.http["a1"]
    cases = [
        ({"filter": {}, "set": {"owner_id": org.users["b1"]}}, "set.owner_id", "owner_out_of_scope"),
        ({"filter": {"bogus": "1"}, "set": {"status": "won", "reason": "x"}}, "filter.bogus", "unknown_field"),
        ({"filter": {"cf.nope": "1"}, "set": {"status": "won", "reason": "x"}}, "filter.cf.nope",
         "unknown_custom_field"),
        ({"filter": {}, "set": {"status": "won"}}, "set.reason", "required"),
        ({"filter": {}, "set": {}}, "set", "required"),
    ]
    for body, field, code in cases:
        reply = rep.post("/v1/customer-bulk-changes", json=body)
        assert reply.status_code == 400, (body, reply.text)
        assert (field, code) in [(e["field"], e["code"]) for e in reply.json()["errors"]], reply.text
    unknown = rep.post("/v1/customer-bulk-changes", json={"filter": {}, "set": {"owner_id": org.users["a1"]},
                                                          "extra": 1})
    assert unknown.status_code == 400
    with tenant.http(["customers:read"]) as reader:
        denied = reader.post("/v1/customer-bulk-changes", json={"filter": {}, "set": {"status": "lost",
                                                                                      "reason": "x"}})
        assert denied.status_code == 403
    assert org.http["admin"].get("/v1/customer-bulk-changes/not-an-id").status_code in (400, 404)
    # Cancel: a finished change is returned as it is; the rep's own change only.
    started = rep.post("/v1/customer-bulk-changes", json={"filter": {}, "set": {"status": "lost", "reason": "x"}})
    assert started.status_code == 202
    location = started.headers["location"]
    assert org.http["a2"].post(f"{location}:cancel").status_code == 404
    cancelled = rep.post(f"{location}:cancel")
    assert cancelled.status_code == 200 and cancelled.json()["status"] in ("cancelling", "succeeded")
    result = finished(rep, location)
    assert result["status"] in ("cancelled", "succeeded")


def test_status_change_of_chosen_ids(org: Org) -> None:  # noqa: F811
    """`ids` joined by commas (as the list's selection and a saved view hold them) narrows the mass
    change to exactly those customers (it answered 400 `invalid_type` before)."""
    admin = org.http["admin"]
    chosen = [org.customers["a1"]["id"], org.customers["b1"]["id"]]
    started = admin.post("/v1/customer-bulk-changes", json={"filter": {"ids": ",".join(chosen)},
                                                            "set": {"status": "intent", "reason": "展会回访"}})
    assert started.status_code == 202, started.text
    result = finished(admin, started.headers["location"])
    assert (result["status"], result["total"], result["changed"]) == ("succeeded", 2, 2)
    statuses = {who: admin.get(f"/v1/customers/{c['id']}").json()["status"] for who, c in org.customers.items()}
    assert statuses == {"a1": "intent", "b1": "intent", "a2": "potential", "admin": "potential"}
