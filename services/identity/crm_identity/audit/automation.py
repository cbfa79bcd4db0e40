"""The `identity-automation-audit` consumer: outcome automation's changes in the tenant's audit log
(docs/followups.md, "Outcome automation"; docs/identity.md#audit-log).

Followups decides that a rule fires (`crm.automation_rule.fired`, with the rule's name); customers
and tagging apply it as the actor `automation:<rule id>` in their own transaction, or refuse it. So
the log records what was *applied*, read from their events:

- `customer.updated` whose `changed_fields` holds `status` and whose `updated_by` is an automation
  -> `automation.status_changed` (target the customer; details: the new status);
- `tag.applied` whose `actor` is an automation -> `automation.tag_applied` (the tag's id and name).

The actor is `automation:<rule id>` with actor_kind `automation`; details carry `rule_id` and
`rule_name`, the name the rule had when it fired (kept from `automation_rule.fired` in
`automation_rule_names`, it0080: one durable consumer reads the three subjects in stream order, and a
rule always fires before its change is applied). The inbox makes a redelivered event a no-op."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg
from sqlalchemy.ext.asyncio import AsyncSession

from crm_identity.audit import log as audit
from crm_identity.tables import automation_rule_names
from crm_platform.consumer import Subscription
from crm_platform.events import CloudEvent

DURABLE_NAME: Final = "identity-automation-audit"
SUBJECTS: Final = ["crm.*.automation_rule.fired", "crm.*.customer.updated", "crm.*.tag.applied"]
PREFIX: Final = "automation:"
STATUS_CHANGED: Final = "automation.status_changed"
TAG_APPLIED: Final = "automation.tag_applied"


def _rule_id(actor: str) -> uuid.UUID | None:
    if not actor.startswith(PREFIX):
        return None
    try:
        return uuid.UUID(actor[len(PREFIX):])
    except ValueError:
        return None


def _at(event: CloudEvent) -> datetime | None:
    try:
        return datetime.fromisoformat(event.time)
    except (TypeError, ValueError):
        return None


async def _remember(session: AsyncSession, data: dict[str, Any]) -> None:
    rule = _rule_id(str(data.get("actor") or ""))
    name = str(data.get("rule_name") or "").strip()
    if rule is None or not name:
        return
    statement = pg.insert(automation_rule_names).values(rule_id=rule, name=name)
    await session.execute(statement.on_conflict_do_update(
        index_elements=[automation_rule_names.c.rule_id], set_={"name": name, "updated_at": sa.func.now()}))


async def _record(session: AsyncSession, event: CloudEvent, action: str, actor: str, rule: uuid.UUID,
                  customer_id: str, details: dict[str, Any]) -> None:
    name = (await session.execute(sa.select(automation_rule_names.c.name)
                                  .where(automation_rule_names.c.rule_id == rule))).scalar() or ""
    await audit.record(session, action, actor=actor, actor_kind="automation", target_type="customer",
                       target_id=customer_id, at=_at(event),
                       details={**details, "rule_id": str(rule), "rule_name": name, "event_id": event.id})


async def record_automation(event: CloudEvent, session: AsyncSession) -> None:
    data = event.data or {}
    if event.type.endswith(".automation_rule.fired"):
        await _remember(session, data)
        return
    if event.type.endswith(".customer.updated"):
        customer = data.get("customer") or {}
        actor = str(customer.get("updated_by") or "")
        rule = _rule_id(actor)
        if rule is not None and "status" in (data.get("changed_fields") or []):
            await _record(session, event, STATUS_CHANGED, actor, rule, str(customer.get("id") or ""),
                          {"status": str(customer.get("status") or "")})
        return
    if event.type.endswith(".tag.applied"):
        actor = str(data.get("actor") or "")
        rule = _rule_id(actor)
        if rule is not None:
            await _record(session, event, TAG_APPLIED, actor, rule, str(data.get("customer_id") or ""),
                          {"tag_id": str(data.get("tag_id") or ""), "tag_name": str(data.get("tag_name") or "")})


def automation_audit_subscription() -> Subscription:
    return Subscription(durable=DURABLE_NAME, filter_subjects=SUBJECTS, handler=record_automation)
