"""Follow-ups in analytics through the gateway against the real processes (docs/reporting.md,
"Follow-ups"): the home dashboard's follow-up cards and the report builder's `followup_records` and
`feedback` objects, per role (rep: own; manager: team A; admin and customer service: all), each
compared with the same figures computed here from what followups' own API shows that role; another
tenant sees none of them; a token without reports:read is refused."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.conftest import TenantContext, wait_for
from tests.e2e.test_access_enforcement import Org, org  # noqa: F401 - the fixture
from tests.e2e.test_feedback import _all, _feedback
from tests.e2e.test_login_security import admin_http
from tests.e2e.test_roles_teams import created

ROLES = ("a1", "a2", "b1", "manager", "admin", "cs")
# Who logs follow-ups on whose customer: a1 twice and a2 once on their own, b1 on theirs, the admin
# on its own customer.
RECORDS = (("a1", "a1", "phone"), ("a1", "a1", "visit"), ("a2", "a2", "phone"), ("b1", "b1", "email"),
           ("admin", "admin", "phone"))


def _kpis(http: httpx.Client) -> dict[str, int]:
    reply = http.get("/v1/dashboards/panels/kpis")
    assert reply.status_code == 200, reply.text
    return {p["key"]: p["count"] for p in reply.json()["points"] if not p["currency"]}


def _run(http: httpx.Client, definition: dict[str, Any]) -> dict[tuple[Any, ...], list[Any]]:
    reply = http.post("/v1/reports:run", json={"definition": definition})
    assert reply.status_code == 200, reply.text
    result = reply.json()["result"]
    return {(*cell["keys"], cell.get("column_key")): cell["values"] for cell in result["cells"]}


def _expected(http: httpx.Client) -> dict[str, Any]:
    """The figures from followups' API as this role sees it."""
    month = datetime.now(UTC).date().replace(day=1)
    records = _all(http, "/v1/followup-records")
    this_month = [r for r in records if datetime.fromisoformat(r["followed_at"]).astimezone(UTC).date() >= month]
    overdue = _all(http, "/v1/followup-tasks", status="open", overdue="true")
    feedback = _all(http, "/v1/feedback")
    by_rep = Counter(r["followed_by"] for r in records)
    return {"this_month": len(this_month), "overdue": len(overdue), "by_rep": dict(by_rep),
            "customers": len({r["customer_id"] for r in records}),
            "feedback": Counter(f["channel"] for f in feedback)}


def _computed(http: httpx.Client) -> dict[str, Any]:
    kpis = _kpis(http)
    by_rep = _run(http, {"object": "followup_records", "rows": [{"field": "followed_by"}],
                         "measures": [{"agg": "count"}, {"agg": "distinct_customers"}]})
    feedback = _run(http, {"object": "feedback", "rows": [{"field": "channel"}], "measures": [{"agg": "count"}]})
    total = by_rep.get((None, None), [0, 0])
    return {"this_month": kpis["followups_this_month"], "overdue": kpis["overdue_tasks"],
            "by_rep": {k[0]: int(v[0]) for k, v in by_rep.items() if k[0] is not None},
            "customers": int(total[1]),
            "feedback": Counter({k[0]: int(v[0]) for k, v in feedback.items() if k[0] is not None})}


def test_followup_figures_match_what_each_role_sees(org: Org, tenant: TenantContext,  # noqa: F811
                                                    other_tenant: TenantContext) -> None:
    http, customers = org.http, org.customers
    for who, owner, method in RECORDS:
        created(http[who].post("/v1/followup-records", json={
            "customer_id": customers[owner]["id"], "method": method, "content": "电话沟通需求",
            "result": "interested"}))
    # Overdue: a1's and b1's tasks moved into the past; a2's is due tomorrow.
    past = (datetime.now(UTC) - timedelta(hours=3)).isoformat()
    later = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    for who, due in (("a1", later), ("b1", later), ("a2", later)):
        task = created(http[who].post("/v1/followup-tasks", json={
            "customer_id": customers[who]["id"], "title": "回访", "due_at": due}))
        if who != "a2":
            assert http[who].patch(f"/v1/followup-tasks/{task['id']}", json={"due_at": past}).status_code == 200
    created(_feedback(http["a1"], customers["a1"], rating=5))
    created(_feedback(http["cs"], customers["b1"], channel="email", rating=2))

    wait_for(lambda: _kpis(http["admin"]).get("followups_this_month") == len(RECORDS)
             and _kpis(http["admin"]).get("overdue_tasks") == 2, timeout=60)
    for who in ROLES:
        expected = _expected(http[who])
        wait_for(lambda who=who, expected=expected: _computed(http[who]) == expected, timeout=30)
    # a1: its two records and one overdue task; the manager (team A): a1's and a2's three records.
    assert _computed(http["a1"])["this_month"] == 2 and _computed(http["a1"])["overdue"] == 1
    assert _computed(http["manager"])["this_month"] == 3 and _computed(http["b1"])["overdue"] == 1
    assert _computed(http["admin"])["by_rep"][org.users["a1"]] == 2
    with admin_http(other_tenant) as stranger:
        kpis = _kpis(stranger)
        assert (kpis["followups_this_month"], kpis["overdue_tasks"]) == (0, 0)
        assert _run(stranger, {"object": "followup_records", "rows": [{"field": "followed_by"}],
                               "measures": [{"agg": "count"}]}).get((None, None), [0])[0] == 0
    with tenant.http(scopes=["customers:read"]) as narrow:
        assert narrow.post("/v1/reports:run", json={"definition": {"object": "followup_records"}}).status_code == 403
    bad = http["a1"].post("/v1/reports:run", json={"definition": {"object": "orders", "measures": [{"agg": "csat"}]}})
    assert bad.status_code == 400 and bad.json()["errors"][0]["code"] == "not_available"
