"""Cadences, escalation, the cadence SLA report and outcome automation against the real processes
(docs/followups.md, "Cadences", "Escalation", "SLA", "Outcome automation"): recurring rules fired by
followups' scheduler at real (minute) occurrences, tasks cancelled when the tag goes, the team
manager's escalation mail on the tests' real SMTP server, the SLA per rep and team in each viewer's
data scope, rules acting as `automation:<rule>` and never re-triggering themselves; per role, another
tenant, a missing scope, forged and expired tokens."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from crm_dev.platform import Platform
from tests.conftest import TenantContext, wait_for
from tests.e2e.oauth_flows import identity_keyring_token
from tests.e2e.test_access_enforcement import Org, org  # noqa: F401 - the fixture
from tests.e2e.test_login_security import admin_http, forged_token
from tests.e2e.test_roles_teams import created
from tests.mail import received, wait_for_mail


def _tasks(http: httpx.Client, customer_id: str, **params: Any) -> list[dict[str, Any]]:
    reply = http.get("/v1/followup-tasks", params={"customer_id": customer_id, "page_size": 100, **params})
    assert reply.status_code == 200, reply.text
    return list(reply.json()["items"])


def _error(reply: httpx.Response, status: int) -> dict[str, Any]:
    assert reply.status_code == status, reply.text
    body = dict(reply.json())
    return dict(body["errors"][0]) if body.get("errors") else body


def _make_due_now(platform: Platform, kind: str, key_prefix: str) -> None:
    """The active schedules of a kind whose key starts so become due now (their next occurrence kept)."""
    import sqlalchemy as sa

    from crm_platform.db import create_engine

    async def update() -> None:
        engine = create_engine(platform.database_url("followups"), pool_size=1)
        try:
            async with engine.begin() as conn:
                await conn.execute(sa.text(
                    "UPDATE control.schedules SET due_at = now() WHERE kind = :kind AND key LIKE :prefix "
                    "AND status = 'active' AND due_at > now()"), {"kind": kind, "prefix": f"{key_prefix}%"})
        finally:
            await engine.dispose()

    asyncio.run(update())


def _schedules(platform: Platform, kind: str, key_prefix: str) -> list[Any]:
    """The platform scheduler's rows (control.schedules) of a kind whose key starts so."""
    import sqlalchemy as sa

    from crm_platform.db import create_engine

    async def read() -> list[Any]:
        engine = create_engine(platform.database_url("followups"), pool_size=1)
        try:
            async with engine.connect() as conn:
                rows = await conn.execute(sa.text(
                    "SELECT key, occurrence_at, rrule, time_zone, fired_count FROM control.schedules "
                    "WHERE kind = :kind AND key LIKE :prefix"), {"kind": kind, "prefix": f"{key_prefix}%"})
                return list(rows.all())
        finally:
            await engine.dispose()

    return asyncio.run(read())


def _tag(http: httpx.Client, name: str) -> dict[str, Any]:
    return created(http.post("/v1/tags", json={"name": name}))


def _apply(http: httpx.Client, customer_id: str, tag_id: str) -> None:
    reply = http.post(f"/v1/customers/{customer_id}/tags", json={"tag_id": tag_id})
    assert reply.status_code in (200, 201), reply.text


def test_cadence_rules_per_role_validation_and_isolation(
    org: Org, tenant: TenantContext, other_tenant: TenantContext, platform: Platform,  # noqa: F811
) -> None:
    http = org.http
    tag = _tag(http["admin"], "高价值")
    base = {"tag_id": tag["id"], "due_in_days": 7, "title": "季度拜访"}
    quarterly = created(http["manager"].post("/v1/cadence-rules", json={
        **base, "rrule": "FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY=1;BYHOUR=9;BYMINUTE=0", "escalate_after_days": 3}))
    assert quarterly["kind"] == "recurring" and quarterly["enabled"] is True
    assert quarterly["time_zone"] == http["admin"].get("/v1/tenant").json()["time_zone"]  # the tenant's zone
    one_shot = created(http["admin"].post("/v1/cadence-rules", json={**base, "title": "流失风险：30天内联系",
                                                                     "due_in_days": 30}))
    assert one_shot["kind"] == "one_shot" and one_shot["rrule"] == "" and one_shot["escalate_after_days"] == 0

    # The scheduler's refusals, on the field.
    for rule, code in (("FREQ=SOMETIMES", "invalid_rrule"), ("FREQ=SECONDLY", "rrule_too_frequent"),
                       ("FREQ=DAILY;DTSTART=20200101T000000Z", "invalid_rrule"),
                       ("FREQ=DAILY;UNTIL=20200101T000000Z", "rrule_has_no_occurrence")):
        error = _error(http["manager"].post("/v1/cadence-rules", json={**base, "rrule": rule}), 400)
        assert (error["field"], error["code"]) == ("rrule", code), rule
    assert _error(http["manager"].post("/v1/cadence-rules", json={**base, "escalate_after_days": 400}),
                  400)["field"] == "escalate_after_days"
    assert _error(http["manager"].patch(f"/v1/cadence-rules/{one_shot['id']}", json={"rrule": "FREQ=WEEKLY"}),
                  400)["code"] == "kind_change"
    assert _error(http["manager"].patch(f"/v1/cadence-rules/{quarterly['id']}", json={"rrule": "FREQ=SECONDLY"}),
                  400)["code"] == "rrule_too_frequent"

    # followups:manage for changes; reading stays followups:read.
    for who in ("a1", "cs"):
        for reply in (http[who].patch(f"/v1/cadence-rules/{quarterly['id']}", json={"enabled": False}),
                      http[who].delete(f"/v1/cadence-rules/{quarterly['id']}")):
            assert reply.status_code == 403 and "followups:manage" in reply.json()["missing_scopes"]
    disabled = http["manager"].patch(f"/v1/cadence-rules/{quarterly['id']}", json={"enabled": False})
    assert disabled.status_code == 200 and disabled.json()["enabled"] is False
    assert {r["id"]: r["enabled"] for r in http["a1"].get("/v1/cadence-rules").json()["items"]} == {
        quarterly["id"]: False, one_shot["id"]: True}

    with admin_http(other_tenant) as stranger:  # another tenant's admin: nothing of ours
        assert stranger.get("/v1/cadence-rules").json()["items"] == []
        assert stranger.patch(f"/v1/cadence-rules/{quarterly['id']}", json={"enabled": True}).status_code == 404
        assert stranger.delete(f"/v1/cadence-rules/{quarterly['id']}").status_code == 404
    with tenant.http(scopes=["customers:read"]) as narrow:
        assert narrow.get("/v1/cadence-rules").status_code == 403
        assert narrow.patch(f"/v1/cadence-rules/{quarterly['id']}", json={"enabled": True}).status_code == 403
    expired = identity_keyring_token(platform, tenant.tenant_id, ttl=-120, scopes=["followups:read",
                                                                                   "followups:manage"])
    for token in (forged_token(platform, tenant), expired):
        headers = {"Authorization": f"Bearer {token}"}
        assert httpx.patch(f"{platform.gateway_url}/v1/cadence-rules/{quarterly['id']}", json={"enabled": True},
                           headers=headers).status_code == 401
        assert httpx.get(f"{platform.gateway_url}/v1/followup-sla", headers=headers).status_code == 401
        assert httpx.get(f"{platform.gateway_url}/v1/automation-rules", headers=headers).status_code == 401
    assert _error(http["manager"].delete("/v1/cadence-rules/not-an-id"), 400)["code"] == "invalid_id"

    deleted = http["admin"].delete(f"/v1/cadence-rules/{quarterly['id']}")
    assert deleted.status_code == 200 and deleted.json() == {"cancelled_tasks": 0}
    assert [r["id"] for r in http["admin"].get("/v1/cadence-rules").json()["items"]] == [one_shot["id"]]
    assert http["admin"].delete(f"/v1/cadence-rules/{quarterly['id']}").status_code == 404


def test_recurring_cadence_fires_on_the_scheduler_and_stops_when_the_tag_goes(
    org: Org, platform: Platform,  # noqa: F811
) -> None:
    http = org.http
    tag = _tag(http["admin"], "每分钟")
    every_minute = created(http["manager"].post("/v1/cadence-rules", json={
        "tag_id": tag["id"], "due_in_days": 2, "title": "定期回访", "rrule": "FREQ=MINUTELY;INTERVAL=1"}))
    once = created(http["manager"].post("/v1/cadence-rules", json={
        "tag_id": tag["id"], "due_in_days": 30, "title": "流失风险：30天内联系"}))
    customer = org.customers["a1"]["id"]
    _apply(http["a1"], customer, tag["id"])

    def of_rule(rule: dict[str, Any], status: str = "open") -> list[dict[str, Any]]:
        return [t for t in _tasks(http["a1"], customer, status=status) if t["cadence_rule_id"] == rule["id"]]

    first_once = wait_for(lambda: of_rule(once), timeout=30)
    assert first_once[0]["assignee_id"] == org.users["a1"]  # the customer's owner
    schedule = wait_for(lambda: _schedules(platform, "followups.cadence", f"cadence:{every_minute['id']}:"),
                        timeout=15)
    assert schedule[0].rrule == "FREQ=MINUTELY;INTERVAL=1" and schedule[0].time_zone  # the tenant's zone
    # Two occurrences, a minute apart by the RRULE, each one task due two days after its occurrence.
    # The test does not wait for the wall clock: it makes each next occurrence due now (the schedule's
    # `due_at`), as if that minute had come; `occurrence_at` and the RRULE stay the scheduler's own.
    def two_occurrences() -> list[dict[str, Any]] | None:
        found = of_rule(every_minute)
        if len(found) < 2:
            _make_due_now(platform, "followups.cadence", f"cadence:{every_minute['id']}:")
        return found if len(found) >= 2 else None

    recurring = wait_for(two_occurrences, timeout=30, interval=0.5)
    dues = sorted(datetime.fromisoformat(t["due_at"]) for t in recurring)
    assert timedelta(seconds=50) <= dues[1] - dues[0] <= timedelta(seconds=70)
    assert all(t["assignee_id"] == org.users["a1"] and t["title"] == "定期回访" for t in recurring)
    # The other reps never see them.
    assert _tasks(http["b1"], customer) == [] and _tasks(http["a2"], customer) == []

    removed = http["a1"].delete(f"/v1/customers/{customer}/tags/{tag['id']}")
    assert removed.status_code in (200, 204), removed.text
    wait_for(lambda: not of_rule(every_minute) and not of_rule(once), timeout=30)
    cancelled = of_rule(every_minute, "cancelled") + of_rule(once, "cancelled")
    assert len(cancelled) >= 3 and all(t["status"] == "cancelled" for t in cancelled)
    assert _schedules(platform, "followups.cadence", f"cadence:{every_minute['id']}:") == []
    assert _schedules(platform, "followups.task_due", f"task:{first_once[0]['id']}") == []


def test_overdue_cadence_task_escalates_to_the_team_manager_once(
    org: Org, tenant: TenantContext, platform: Platform,  # noqa: F811
) -> None:
    http = org.http
    # Team A's manager (identity's teams.manager_id, told to followups by the members' user events).
    from tests.e2e.test_followups_wrap import _set_manager, _team_id, _wait_team_manager

    _set_manager(http["admin"], _team_id(http["admin"], "Team A"), org.users["manager"])
    _wait_team_manager(platform, tenant, org.users["a1"], org.users["manager"])
    tag = _tag(http["admin"], "升级测试")
    rule = created(http["manager"].post("/v1/cadence-rules", json={
        "tag_id": tag["id"], "due_in_days": 1, "title": "重点客户回访", "escalate_after_days": 2}))
    customer = org.customers["a1"]["id"]
    _apply(http["a1"], customer, tag["id"])
    task = wait_for(lambda: [t for t in _tasks(http["a1"], customer) if t["cadence_rule_id"] == rule["id"]],
                    timeout=30)[0]
    key = f"task-escalate:{task['id']}"
    due = datetime.fromisoformat(task["due_at"])
    planned = _schedules(platform, "followups.escalate", key)
    assert planned and abs(planned[0].occurrence_at - (due + timedelta(days=2))) < timedelta(seconds=2)

    # The rep lets it slip: planned three days ago, so two days overdue now.
    late = (datetime.now(UTC) - timedelta(days=2, seconds=5)).isoformat()
    moved = http["a1"].patch(f"/v1/followup-tasks/{task['id']}", json={"due_at": late})
    assert moved.status_code == 200, moved.text

    def escalations(who: str) -> list[dict[str, Any]]:
        items = http[who].get("/v1/notifications", params={"page_size": 100}).json()["items"]
        return [n for n in items if n["kind"] == "task_escalated" and n["task_id"] == task["id"]]

    assert len(wait_for(lambda: escalations("manager"), timeout=30)) == 1
    manager_email = f"manager@{tenant.slug}.example.com"
    mail = wait_for_mail(platform.mail_dir, manager_email, timeout=30)
    assert "重点客户回访" in mail[0].message["Subject"]
    for other in ("a1", "a2", "b1", "cs"):
        assert escalations(other) == []
    # Once per task: moving it again does not tell the manager twice.
    again = (datetime.now(UTC) - timedelta(days=5)).isoformat()
    assert http["a1"].patch(f"/v1/followup-tasks/{task['id']}", json={"due_at": again}).status_code == 200
    assert _schedules(platform, "followups.escalate", key) == []
    assert len(escalations("manager")) == 1
    assert len([m for m in received(platform.mail_dir, manager_email) if "重点客户回访" in m.message["Subject"]]) == 1


def test_sla_report_follows_each_viewers_scope(
    org: Org, tenant: TenantContext, other_tenant: TenantContext, platform: Platform,  # noqa: F811
) -> None:
    http = org.http
    tag = _tag(http["admin"], "SLA")
    rule = created(http["manager"].post("/v1/cadence-rules", json={
        "tag_id": tag["id"], "due_in_days": 3, "title": "SLA回访"}))
    tasks = {}
    for who in ("a1", "a2", "b1"):
        customer = org.customers[who]["id"]
        _apply(http[who], customer, tag["id"])
        tasks[who] = wait_for(lambda c=customer, w=who: [t for t in _tasks(http[w], c)
                                                          if t["cadence_rule_id"] == rule["id"]], timeout=30)[0]
    past = (datetime.now(UTC) - timedelta(hours=2)).isoformat()
    # a1: done on time; a2: open and overdue; b1: done late.
    assert http["a1"].post(f"/v1/followup-tasks/{tasks['a1']['id']}:complete").status_code == 200
    for who in ("a2", "b1"):
        assert http[who].patch(f"/v1/followup-tasks/{tasks[who]['id']}", json={"due_at": past}).status_code == 200
    assert http["b1"].post(f"/v1/followup-tasks/{tasks['b1']['id']}:complete").status_code == 200
    window = {"since": (datetime.now(UTC) - timedelta(days=1)).isoformat(),
              "until": (datetime.now(UTC) + timedelta(days=10)).isoformat()}

    def sla(who: str) -> dict[str, Any]:
        reply = http[who].get("/v1/followup-sla", params=window)
        assert reply.status_code == 200, reply.text
        return dict(reply.json())

    def reps(report: dict[str, Any]) -> dict[str, tuple[int, int, int, int]]:
        return {line["id"]: (line["total"], line["on_time"], line["late"], line["overdue_open"])
                for line in report["reps"]}

    everyone = sla("admin")
    assert reps(everyone) == {org.users["a1"]: (1, 1, 0, 0), org.users["a2"]: (1, 0, 0, 1),
                              org.users["b1"]: (1, 0, 1, 0)}
    assert everyone["overall"]["total"] == 3 and everyone["overall"]["on_time_share"] == round(1 / 3, 4)
    assert len(everyone["teams"]) == 2
    team = sla("manager")  # team A only
    assert reps(team) == {org.users["a1"]: (1, 1, 0, 0), org.users["a2"]: (1, 0, 0, 1)}
    assert [t["total"] for t in team["teams"]] == [2] and team["overall"]["on_time_share"] == 0.5
    assert reps(sla("a1")) == {org.users["a1"]: (1, 1, 0, 0)}  # a rep: themselves
    assert reps(sla("b1")) == {org.users["b1"]: (1, 0, 1, 0)}
    with admin_http(other_tenant) as stranger:
        assert stranger.get("/v1/followup-sla", params=window).json()["overall"]["total"] == 0
    with tenant.http(scopes=["customers:read"]) as narrow:
        assert narrow.get("/v1/followup-sla").status_code == 403
    bad = http["admin"].get("/v1/followup-sla", params={"since": window["until"], "until": window["since"]})
    assert _error(bad, 400)["field"] == "until"


def test_outcome_automation_acts_as_the_rule_and_never_retriggers_itself(
    org: Org, tenant: TenantContext, other_tenant: TenantContext, platform: Platform,  # noqa: F811
) -> None:
    http = org.http
    results = [{k: e[k] for k in ("code", "label_en", "label_zh")}
               for e in http["admin"].get("/v1/followup-dictionaries/result").json()["items"]]
    replaced = http["admin"].put("/v1/followup-dictionaries/result", json={"entries": [
        *results, {"code": "quote_sent", "label_en": "Quote sent", "label_zh": "已报价"}]})
    assert replaced.status_code == 200, replaced.text
    pending = _tag(http["admin"], "待成交")
    quote = created(http["manager"].post("/v1/automation-rules", json={
        "name": "报价后标记待成交", "trigger": "record_result", "trigger_value": "quote_sent",
        "action": "add_tag", "tag_id": pending["id"]}))
    contract = created(http["manager"].post("/v1/automation-rules", json={
        "name": "合同签订即成交", "trigger": "order_recorded", "trigger_value": "contract",
        "action": "set_status", "status": "won", "reason": "contract signed"}))
    # A cycle of rules on tags, and one whose action is its own trigger: each fires once, never again.
    echo = created(http["manager"].post("/v1/automation-rules", json={
        "name": "回声", "trigger": "tag_applied", "trigger_value": pending["id"], "action": "add_tag",
        "tag_id": pending["id"]}))

    # Validation and permissions.
    for body, field, code in (
        ({"trigger": "record_result", "trigger_value": "no_such_result"}, "trigger_value", "unknown_code"),
        ({"trigger": "order_recorded", "trigger_value": "invoice"}, "trigger_value", "invalid_choice"),
        ({"action": "set_status", "status": "famous", "reason": "x"}, "status", "invalid_choice"),
        ({"action": "set_status", "status": "won", "reason": " "}, "reason", "required"),
        ({"tag_id": org.customers["a1"]["id"]}, "tag_id", "unknown_tag"),
    ):
        sent = {"name": "x", "trigger": "record_result", "trigger_value": "quote_sent", "action": "add_tag",
                "tag_id": pending["id"], **body}
        error = _error(http["manager"].post("/v1/automation-rules", json=sent), 400)
        assert (error["field"], error["code"]) == (field, code), body
    for who in ("a1", "cs"):
        assert http[who].post("/v1/automation-rules", json={}).status_code in (403, 422, 400)
        assert http[who].patch(f"/v1/automation-rules/{quote['id']}", json={"enabled": False}).status_code == 403
        assert http[who].delete(f"/v1/automation-rules/{quote['id']}").status_code == 403
    assert len(http["a1"].get("/v1/automation-rules").json()["items"]) == 3  # reading: followups:read
    with admin_http(other_tenant) as stranger:
        assert stranger.get("/v1/automation-rules").json()["items"] == []
        assert stranger.patch(f"/v1/automation-rules/{quote['id']}", json={"enabled": False}).status_code == 404
        assert stranger.delete(f"/v1/automation-rules/{quote['id']}").status_code == 404
    with tenant.http(scopes=["customers:read"]) as narrow:
        assert narrow.get("/v1/automation-rules").status_code == 403

    # A record with result "quote sent" adds the tag, as the rule.
    customer = org.customers["a1"]
    record = http["a1"].post("/v1/followup-records", json={
        "customer_id": customer["id"], "method": "phone", "content": "已发报价单", "result": "quote_sent"})
    assert record.status_code == 201, record.text

    def tag_on() -> list[dict[str, Any]]:
        items = http["a1"].get(f"/v1/customers/{customer['id']}/tags").json()["items"]
        return [t for t in items if t["tag_id"] == pending["id"]]

    applied = wait_for(tag_on, timeout=30)
    assert applied[0]["applied_by"] == f"automation:{quote['id']}"

    # A signed contract sets the status to won with the reason.
    order = http["admin"].post("/v1/orders", json={
        "external_id": "CONTRACT-1", "customer_id": customer["id"], "kind": "contract", "amount": "50000.00",
        "currency": "CNY", "ordered_on": datetime.now(UTC).date().isoformat(), "status": "confirmed"})
    assert order.status_code in (200, 201), order.text

    def won() -> list[dict[str, Any]]:
        history = http["a1"].get(f"/v1/customers/{customer['id']}/status-history").json()["items"]
        return [h for h in history if h["to_status"] == "won"] if history and "to_status" in history[0] else \
            [h for h in history if h.get("status") == "won" or h.get("new_status") == "won"]

    change = wait_for(won, timeout=30)[0]
    assert change["changed_by"] == f"automation:{contract['id']}" and change["reason"] == "contract signed"
    assert http["a1"].get(f"/v1/customers/{customer['id']}").json()["status"] == "won"

    # The loop guard: the echo rule fired for the tag its sibling applied, never for its own.
    def counts() -> dict[str, int]:
        return {r["id"]: r["fired_count"] for r in http["admin"].get("/v1/automation-rules").json()["items"]}

    wait_for(lambda: counts()[echo["id"]] >= 1, timeout=30)
    assert counts() == {quote["id"]: 1, contract["id"]: 1, echo["id"]: 1}
    # Disabled rules fire nothing; deleted ones are gone.
    assert http["manager"].patch(f"/v1/automation-rules/{quote['id']}", json={"enabled": False}).json()[
        "enabled"] is False
    other = org.customers["a2"]
    assert http["a2"].post("/v1/followup-records", json={
        "customer_id": other["id"], "method": "phone", "content": "报价", "result": "quote_sent"}).status_code == 201
    assert http["admin"].delete(f"/v1/automation-rules/{echo['id']}").status_code == 200
    import time

    time.sleep(3)
    assert all(t["tag_id"] != pending["id"] for t in http["a2"].get(f"/v1/customers/{other['id']}/tags")
               .json()["items"])
    assert set(counts()) == {quote["id"], contract["id"]}
