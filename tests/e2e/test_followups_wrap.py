"""The last parts of follow-ups against the real processes (docs/followups.md): escalation to the
manager of the assignee's team (identity's `teams.manager_id` carried by its user events), the
tenant admins when the team has none, without the customer for a manager who may not see it; the
tenant-wide escalation setting (`/v1/followup-settings`) that a cadence rule's own days override;
outcome automation's changes in identity's audit log as `automation:<rule>` named by the rule;
merges moving follow-up records, feedback and surveys to the survivor and back on undo."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from crm_dev.platform import Platform
from crm_platform.ids import tenant_schema
from tests.conftest import TenantContext, wait_for
from tests.e2e.test_access_enforcement import Org, org  # noqa: F401 - the fixture
from tests.e2e.test_cadences import _schedules, _tag
from tests.e2e.test_login_security import admin_http, forged_token, web_session
from tests.e2e.test_roles_teams import created
from tests.mail import received


def _followups_rows(platform: Platform, tenant_id: str, sql: str, **params: Any) -> list[Any]:
    """Rows of the tenant's followups schema (`{schema}` in `sql`)."""
    import sqlalchemy as sa

    from crm_platform.db import create_engine

    async def read() -> list[Any]:
        engine = create_engine(platform.database_url("followups"), pool_size=1)
        try:
            async with engine.connect() as conn:
                query = sa.text(sql.format(schema=f'"{tenant_schema(uuid.UUID(tenant_id))}"'))
                return list((await conn.execute(query, params)).all())
        finally:
            await engine.dispose()

    return asyncio.run(read())


def _team_id(http: httpx.Client, name: str) -> str:
    return next(t["id"] for t in http.get("/v1/teams").json()["items"] if t["name"] == name)


def _set_manager(http: httpx.Client, team_id: str, manager_id: str) -> None:
    reply = http.patch(f"/v1/teams/{team_id}", json={"manager_id": manager_id})
    assert reply.status_code == 200, reply.text


def _wait_team_manager(platform: Platform, tenant: TenantContext, user_id: str, manager_id: str | None) -> None:
    """Until followups' users projection knows the user's team manager (identity's user events)."""
    def known() -> bool:
        rows = _followups_rows(platform, tenant.tenant_id, "SELECT team_manager_id, team_manager_known FROM "
                               "{schema}.user_teams WHERE user_id = :u", u=uuid.UUID(user_id))
        return bool(rows) and rows[0].team_manager_known and \
            (str(rows[0].team_manager_id) if rows[0].team_manager_id else None) == manager_id
    wait_for(known, timeout=30)


def _task(http: httpx.Client, customer_id: str, title: str, assignee_id: str, days_ago: float) -> dict[str, Any]:
    due = (datetime.now(UTC) - timedelta(days=days_ago)).isoformat()
    return created(http.post("/v1/followup-tasks", json={"customer_id": customer_id, "title": title, "due_at": due,
                                                         "assignee_id": assignee_id}))


def _escalations(http: httpx.Client) -> list[dict[str, Any]]:
    items = http.get("/v1/notifications", params={"page_size": 100}).json()["items"]
    return [n for n in items if n["kind"] == "task_escalated"]


def test_escalation_goes_to_the_team_manager_else_the_admins_and_hides_what_they_may_not_see(
    org: Org, tenant: TenantContext, platform: Platform,  # noqa: F811
) -> None:
    http, users = org.http, org.users
    # Team A is managed by the sales manager; team B by A2, a rep of team A who sees only her own
    # customers; customer service is in no team.
    _set_manager(http["admin"], _team_id(http["admin"], "Team A"), users["manager"])
    _set_manager(http["admin"], _team_id(http["admin"], "Team B"), users["a2"])
    _wait_team_manager(platform, tenant, users["a1"], users["manager"])
    _wait_team_manager(platform, tenant, users["b1"], users["a2"])
    _wait_team_manager(platform, tenant, users["cs"], None)

    t1 = _task(http["a1"], org.customers["a1"]["id"], "A1 回访", users["a1"], 2)
    t2 = _task(http["b1"], org.customers["b1"]["id"], "B1 回访华东机械", users["b1"], 2)
    t3 = _task(http["admin"], org.customers["admin"]["id"], "客服回访", users["cs"], 2)
    # No escalation while the tenant has none and no rule asks for one.
    assert _schedules(platform, "followups.escalate", f"task-escalate:{t1['id']}") == []

    # The tenant-wide setting: every open task two days overdue is past one day: all escalate now.
    saved = http["manager"].put("/v1/followup-settings", json={"escalate_after_days": 1})
    assert saved.status_code == 200, saved.text
    assert saved.json()["escalate_after_days"] == 1 and saved.json()["updated_by"] == users["manager"]

    told = wait_for(lambda: _escalations(http["manager"]), timeout=30)
    assert [(n["task_id"], n["customer_id"], n["title"]) for n in told] == \
        [(t1["id"], org.customers["a1"]["id"], "A1 回访")]
    # Team B's manager may not see B1's customer: told of the overdue task, not of the customer.
    hidden = wait_for(lambda: _escalations(http["a2"]), timeout=30)
    assert [(n["task_id"], n["customer_id"], n["title"]) for n in hidden] == [("", "", "")]
    # Customer service has no team (so no manager): the tenant admins are told.
    fallback = wait_for(lambda: _escalations(http["admin"]), timeout=30)
    assert [n["task_id"] for n in fallback] == [t3["id"]]
    for who in ("a1", "b1", "cs"):
        assert _escalations(http[who]) == []

    a2_mail = wait_for(lambda: [m for m in received(platform.mail_dir, f"a2@{tenant.slug}.example.com")
                                if "1" in str(m.message["Subject"])], timeout=30)
    body = a2_mail[0].message.get_body(preferencelist=("plain",)).get_content()
    assert "华东机械" not in str(a2_mail[0].message["Subject"]) + body
    assert org.customers["b1"]["id"] not in body
    manager_mail = wait_for(lambda: received(platform.mail_dir, f"manager@{tenant.slug}.example.com"), timeout=30)
    assert "A1 回访" in str(manager_mail[0].message["Subject"])
    assert t2["id"] not in str([n["task_id"] for n in _escalations(http["admin"])])

    # Once per task: a new setting does not escalate them again.
    assert http["manager"].put("/v1/followup-settings", json={"escalate_after_days": 2}).status_code == 200
    assert len(_escalations(http["manager"])) == 1

    # A cadence rule's own days override the tenant's.
    tag = _tag(http["admin"], "升级覆盖")
    rule = created(http["manager"].post("/v1/cadence-rules", json={
        "tag_id": tag["id"], "due_in_days": 1, "title": "规则升级", "escalate_after_days": 5}))
    customer = org.customers["a1"]["id"]
    assert http["a1"].post(f"/v1/customers/{customer}/tags", json={"tag_id": tag["id"]}).status_code in (200, 201)
    task = wait_for(lambda: [t for t in http["a1"].get("/v1/followup-tasks", params={"customer_id": customer})
                             .json()["items"] if t["cadence_rule_id"] == rule["id"]], timeout=30)[0]
    planned = _schedules(platform, "followups.escalate", f"task-escalate:{task['id']}")
    due = datetime.fromisoformat(task["due_at"])
    assert planned and abs(planned[0].occurrence_at - (due + timedelta(days=5))) < timedelta(seconds=2)
    # An ordinary task takes the tenant's days (2 now).
    plain = _task(http["a1"], customer, "普通任务", users["a1"], -1)
    planned = _schedules(platform, "followups.escalate", f"task-escalate:{plain['id']}")
    due = datetime.fromisoformat(plain["due_at"])
    assert planned and abs(planned[0].occurrence_at - (due + timedelta(days=2))) < timedelta(seconds=2)


def test_followup_settings_per_role_bad_input_and_isolation(
    org: Org, tenant: TenantContext, other_tenant: TenantContext, platform: Platform,  # noqa: F811
) -> None:
    http = org.http
    first = http["a1"].get("/v1/followup-settings")
    assert first.status_code == 200 and first.json() == {"escalate_after_days": 0, "updated_at": None,
                                                        "updated_by": ""}
    refused = http["a1"].put("/v1/followup-settings", json={"escalate_after_days": 3})
    assert refused.status_code == 403 and refused.json()["code"] == "permission_denied"
    for bad in (366, -1, "soon"):
        reply = http["admin"].put("/v1/followup-settings", json={"escalate_after_days": bad})
        assert reply.status_code == 400, reply.text
        assert reply.json()["errors"][0]["field"] == "escalate_after_days"
    unknown = http["admin"].put("/v1/followup-settings", json={"escalate_after_days": 3, "extra": 1})
    assert unknown.status_code == 400
    assert http["admin"].put("/v1/followup-settings", json={"escalate_after_days": 3}).json()[
        "escalate_after_days"] == 3
    assert http["cs"].get("/v1/followup-settings").json()["escalate_after_days"] == 3
    with admin_http(other_tenant) as stranger:
        assert stranger.get("/v1/followup-settings").json()["escalate_after_days"] == 0
    with tenant.http(scopes=["customers:read"]) as narrow:
        assert narrow.get("/v1/followup-settings").status_code == 403
    with httpx.Client(base_url=platform.gateway_url, timeout=30,
                      headers={"Authorization": f"Bearer {forged_token(platform, tenant)}"}) as forged:
        assert forged.get("/v1/followup-settings").status_code == 401
        assert forged.put("/v1/followup-settings", json={"escalate_after_days": 1}).status_code == 401
    assert http["admin"].get("/v1/followup-settings").json()["escalate_after_days"] == 3


def test_automatic_changes_reach_the_audit_log_named_by_their_rule(
    org: Org, tenant: TenantContext, platform: Platform,  # noqa: F811
) -> None:
    http = org.http
    results = [{k: e[k] for k in ("code", "label_en", "label_zh")}
               for e in http["admin"].get("/v1/followup-dictionaries/result").json()["items"]]
    assert http["admin"].put("/v1/followup-dictionaries/result", json={"entries": [
        *results, {"code": "quote_sent", "label_en": "Quote sent", "label_zh": "已报价"}]}).status_code == 200
    pending = _tag(http["admin"], "待成交")
    quote = created(http["manager"].post("/v1/automation-rules", json={
        "name": "报价后标记待成交", "trigger": "record_result", "trigger_value": "quote_sent",
        "action": "add_tag", "tag_id": pending["id"]}))
    contract = created(http["manager"].post("/v1/automation-rules", json={
        "name": "合同签订即成交", "trigger": "order_recorded", "trigger_value": "contract",
        "action": "set_status", "status": "won", "reason": "contract signed"}))
    customer = org.customers["a1"]
    assert http["a1"].post("/v1/followup-records", json={
        "customer_id": customer["id"], "method": "phone", "content": "已发报价单",
        "result": "quote_sent"}).status_code == 201
    assert http["admin"].post("/v1/orders", json={
        "external_id": "AUDIT-CONTRACT-1", "customer_id": customer["id"], "kind": "contract", "amount": "1.00",
        "currency": "CNY", "ordered_on": datetime.now(UTC).date().isoformat(),
        "status": "confirmed"}).status_code in (200, 201)

    def entries() -> list[dict[str, Any]]:
        reply = http["admin"].get("/v1/audit-events", params={"action": "automation."})
        assert reply.status_code == 200, reply.text
        return list(reply.json()["items"])

    found = wait_for(lambda: (lambda e: e if len(e) == 2 else None)(entries()), timeout=30)
    by_action = {e["action"]: e for e in found}
    tagged, won = by_action["automation.tag_applied"], by_action["automation.status_changed"]
    assert (tagged["actor"], tagged["actor_kind"], tagged["target_id"]) == \
        (f"automation:{quote['id']}", "automation", customer["id"])
    assert tagged["details"]["rule_name"] == "报价后标记待成交" and tagged["details"]["tag_id"] == pending["id"]
    assert (won["actor"], won["details"]["status"], won["details"]["rule_name"]) == \
        (f"automation:{contract['id']}", "won", "合同签订即成交")
    # Reading the log needs audit:read; the filter by actor finds the rule's entries.
    assert http["manager"].get("/v1/audit-events").status_code == 403
    only = http["admin"].get("/v1/audit-events", params={"actor": f"automation:{quote['id']}"}).json()["items"]
    assert [e["action"] for e in only] == ["automation.tag_applied"]

    # The audit page names the rule, not its id, even after the rule is deleted.
    assert http["manager"].delete(f"/v1/automation-rules/{contract['id']}").status_code == 200
    web = web_session(platform, tenant.slug, f"admin@{tenant.slug}.example.com", "demo-password-1")
    try:
        page = web.get("/app/audit", params={"action": "automation."})
        assert page.status_code == 200
        assert "报价后标记待成交" in page.text and "合同签订即成交" in page.text
        assert f"({contract['id']})" not in page.text and f"({quote['id']})" not in page.text
    finally:
        web.close()


def test_merge_moves_records_feedback_and_surveys_and_undo_gives_them_back(
    tenant: TenantContext, platform: Platform,
) -> None:
    with admin_http(tenant) as http:
        survivor = created(http.post("/v1/customers", json={"name": "合并保留方", "mobile": "13700138801"}))
        merged = created(http.post("/v1/customers", json={"name": "合并被并方", "mobile": "13700138802",
                                                          "email": "merged@buyer.example"}))
        record = created(http.post("/v1/followup-records", json={
            "customer_id": merged["id"], "method": "phone", "content": "被并方的通话", "result": "interested"}))
        feedback = created(http.post("/v1/feedback", json={
            "customer_id": merged["id"], "channel": "phone", "category": "price", "rating": 2, "text": "太贵了"}))
        survey = created(http.post("/v1/surveys", json={"customer_id": merged["id"], "kind": "csat",
                                                        "language": "zh-CN"}))

        def ids(path: str, customer_id: str) -> set[str]:
            reply = http.get(path, params={"customer_id": customer_id, "page_size": 100})
            assert reply.status_code == 200, reply.text
            return {item["id"] for item in reply.json()["items"]}

        def everything(customer_id: str) -> tuple[set[str], set[str], set[str]]:
            return (ids("/v1/followup-records", customer_id), ids("/v1/feedback", customer_id),
                    ids("/v1/surveys", customer_id))

        mine = ({record["id"]}, {feedback["id"]}, {survey["id"]})
        assert everything(merged["id"]) == mine and everything(survivor["id"]) == (set(), set(), set())

        def rated_and_customers() -> tuple[int, int]:
            """The CSAT panel's rated feedback and the customers card, as reporting counts them:
            a merged-away customer is deleted there, so its feedback counts only once it moved."""
            csat = {p["key"]: p for p in http.get("/v1/dashboards/panels/csat").json()["points"]}
            kpis = {p["key"]: p for p in http.get("/v1/dashboards/panels/kpis").json()["points"]}
            return int(csat["csat"]["count"]), int(kpis["customers"]["count"])

        wait_for(lambda: rated_and_customers() == (1, 2), timeout=30)
        reply = http.post("/v1/customers:merge", json={"survivor_id": survivor["id"], "merged_ids": [merged["id"]]},
                          headers={"If-Match": f'W/"{survivor["version"]}"'})
        merge = created(reply)
        wait_for(lambda: everything(survivor["id"]) == mine, timeout=30)
        assert http.get(f"/v1/followup-records/{record['id']}").json()["customer_id"] == survivor["id"]
        assert http.get(f"/v1/feedback/{feedback['id']}").json()["customer_id"] == survivor["id"]
        # Reporting deleted the merged-away customer and still counts the feedback (under the survivor).
        wait_for(lambda: rated_and_customers() == (1, 1), timeout=30)

        undone = http.post(f"/v1/merges/{merge['id']}:undo")
        assert undone.status_code == 200, undone.text
        wait_for(lambda: everything(merged["id"]) == mine and everything(survivor["id"]) == (set(), set(), set()),
                 timeout=30)
        assert http.get(f"/v1/surveys/{survey['id']}").json()["customer_id"] == merged["id"]
        wait_for(lambda: rated_and_customers() == (1, 2), timeout=30)
