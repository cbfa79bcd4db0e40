"""Outcome automation (docs/followups.md, "Outcome automation"): rules on follow-up results,
orders and tags that change the customer, e.g. a record with result "quote sent" adds the tag
"pending deal"; a contract recorded sets the status to won with the reason "contract signed".

Followups keeps the rules and matches events (`followups-automation` consumer); a match writes
`crm.automation_rule.fired` to the outbox, and the service owning the change applies it as the
actor `automation:<rule id>` (tagging: add_tag; customers: set_status, with the reason, in the
status history, the activity timeline and the audit-visible `updated_by`).

Loop guard: an event caused by a rule (its actor is `automation:<rule id>`) never fires that same
rule again; each (rule, event) fires at most once (`automation_runs`), so a redelivered event
fires nothing twice."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from crm_followups.automation.tables import automation_rules, automation_runs
from crm_followups.record import dictionaries
from crm_followups.task.service import SOURCE, clean_title, parse_id
from crm_platform import outbox
from crm_platform.errors import FieldError, InvalidInput, NotFound
from crm_platform.events import proto_data
from crm_platform.ids import new_id
from crm_proto.crm.followups.v1 import automation_pb2 as apb

TRIGGERS: Final = ("record_result", "order_recorded", "tag_applied")
ACTIONS: Final = ("add_tag", "set_status")
ORDER_KINDS: Final = ("order", "contract")
# The customers service's statuses (crm_customers/customer/cleaning.py); it also checks transitions.
CUSTOMER_STATUSES: Final = ("potential", "intent", "won", "lost")
MAX_REASON: Final = 500
FIELDS: Final = ("name", "trigger", "trigger_value", "action", "tag_id", "status", "reason", "enabled")
ACTOR_PREFIX: Final = "automation:"


def actor_of(rule_id: uuid.UUID | str) -> str:
    return f"{ACTOR_PREFIX}{rule_id}"


@dataclass(frozen=True)
class RuleInput:
    name: str = ""
    trigger: str = ""
    trigger_value: str = ""
    action: str = ""
    tag_id: str = ""
    status: str = ""
    reason: str = ""
    enabled: bool = True


@dataclass(frozen=True)
class Trigger:
    """What an event says, for matching: the kind, its value, the customer, who caused it."""

    trigger: str
    value: str
    customer_id: uuid.UUID
    actor: str
    event_id: str
    event_type: str


async def _clean(session: AsyncSession, given: RuleInput) -> dict[str, Any]:
    errors: list[FieldError] = []
    name_errors: list[FieldError] = []
    name = clean_title(given.name, name_errors)
    errors.extend(FieldError("name", e.code, e.message.replace("title", "name")) for e in name_errors)
    trigger = given.trigger.strip()
    value = given.trigger_value.strip()
    if trigger not in TRIGGERS:
        errors.append(FieldError("trigger", "invalid_choice", f"trigger is one of {', '.join(TRIGGERS)}"))
    elif trigger == "record_result":
        value = dictionaries.clean_code(await dictionaries.load(session, "result"), value, "trigger_value", errors,
                                        required=True)
    elif trigger == "order_recorded" and value not in ORDER_KINDS:
        errors.append(FieldError("trigger_value", "invalid_choice", "an order kind: order or contract"))
    elif trigger == "tag_applied":
        parsed = parse_id(value, "trigger_value", errors, required=True)
        value = str(parsed or "")
    action = given.action.strip()
    tag_id: uuid.UUID | None = None
    status, reason = "", ""
    if action not in ACTIONS:
        errors.append(FieldError("action", "invalid_choice", f"action is one of {', '.join(ACTIONS)}"))
    elif action == "add_tag":
        tag_id = parse_id(given.tag_id, "tag_id", errors, required=True)
    else:
        status = given.status.strip()
        reason = " ".join(given.reason.split())
        if status not in CUSTOMER_STATUSES:
            errors.append(FieldError("status", "invalid_choice", f"status is one of {', '.join(CUSTOMER_STATUSES)}"))
        if not reason:
            errors.append(FieldError("reason", "required", "a status change needs a reason"))
        elif len(reason) > MAX_REASON:
            errors.append(FieldError("reason", "too_long", f"at most {MAX_REASON} characters"))
    if errors:
        raise InvalidInput(errors)
    return {"name": name, "trigger": trigger, "trigger_value": value, "action": action, "tag_id": tag_id,
            "status": status, "reason": reason}


def _stats() -> Any:
    runs = automation_runs.c
    return (sa.select(runs.rule_id, sa.func.count().label("fired_count"),
                      sa.func.max(runs.fired_at).label("last_fired_at")).group_by(runs.rule_id).subquery())


async def _rows(session: AsyncSession, where: sa.ColumnElement[bool]) -> list[sa.Row[Any]]:
    stats = _stats()
    query = (sa.select(automation_rules, sa.func.coalesce(stats.c.fired_count, 0).label("fired_count"),
                       stats.c.last_fired_at)
             .select_from(automation_rules.outerjoin(stats, stats.c.rule_id == automation_rules.c.id))
             .where(where, automation_rules.c.deleted_at.is_(None))
             .order_by(automation_rules.c.created_at, automation_rules.c.id))
    return list((await session.execute(query)).all())


class AutomationService:
    async def list_rules(self, session: AsyncSession) -> list[sa.Row[Any]]:
        return await _rows(session, sa.true())

    async def get(self, session: AsyncSession, rule_id: str) -> sa.Row[Any]:
        errors: list[FieldError] = []
        parsed = parse_id(rule_id, "id", errors, required=True)
        if parsed is None:
            raise InvalidInput(errors)
        found = await _rows(session, automation_rules.c.id == parsed)
        if not found:
            raise NotFound("automation rule not found")
        return found[0]

    async def create(self, session: AsyncSession, actor: str, given: RuleInput) -> sa.Row[Any]:
        values = await _clean(session, given)
        rule_id = new_id()
        await session.execute(sa.insert(automation_rules).values(**values, id=rule_id, enabled=given.enabled,
                                                                 created_by=actor))
        return await self.get(session, str(rule_id))

    async def update(self, session: AsyncSession, rule_id: str, mask: Sequence[str], given: RuleInput) -> sa.Row[Any]:
        current = await self.get(session, rule_id)
        unknown = sorted(set(mask) - set(FIELDS))
        if unknown:
            raise InvalidInput([FieldError("update_mask", "unknown_field", f"cannot change {', '.join(unknown)}")])
        texts: dict[str, str] = {name: str(getattr(given if name in mask else current, name) or "")
                                 for name in FIELDS if name != "enabled"}
        merged = RuleInput(**texts, enabled=given.enabled if "enabled" in mask else bool(current.enabled))
        values = await _clean(session, merged)
        await session.execute(sa.update(automation_rules).where(automation_rules.c.id == current.id)
                              .values(**values, enabled=merged.enabled, updated_at=sa.func.now()))
        return await self.get(session, rule_id)

    async def delete(self, session: AsyncSession, rule_id: str) -> sa.Row[Any]:
        """Hides the rule (its runs stay); returns it as it was."""
        current = await self.get(session, rule_id)
        await session.execute(sa.update(automation_rules).where(automation_rules.c.id == current.id)
                              .values(deleted_at=datetime.now(UTC), enabled=False))
        return current

    async def handle(self, session: AsyncSession, tenant_id: uuid.UUID | str, seen: Trigger) -> list[uuid.UUID]:
        """Fires the enabled rules the event matches (never the rule that caused the event, never twice
        per event); returns the rules fired."""
        rules = (await session.execute(sa.select(automation_rules).where(
            automation_rules.c.trigger == seen.trigger, automation_rules.c.trigger_value == seen.value,
            automation_rules.c.enabled, automation_rules.c.deleted_at.is_(None),
        ).order_by(automation_rules.c.created_at))).all()
        fired = []
        for rule in rules:
            if seen.actor == actor_of(rule.id):  # the loop guard: a rule never re-triggers itself
                continue
            inserted = await session.execute(pg_insert(automation_runs).values(
                rule_id=rule.id, event_id=seen.event_id, customer_id=seen.customer_id,
            ).on_conflict_do_nothing().returning(automation_runs.c.rule_id))
            if inserted.first() is None:
                continue
            message = apb.AutomationRuleFired(
                rule_id=str(rule.id), rule_name=rule.name, customer_id=str(seen.customer_id), action=rule.action,
                tag_id=str(rule.tag_id or ""), status=rule.status, reason=rule.reason, actor=actor_of(rule.id),
                trigger_event_id=seen.event_id, trigger_event_type=seen.event_type)
            await outbox.add_event(session, source=SOURCE, tenant_id=tenant_id, aggregate="automation_rule",
                                   verb="fired", data=proto_data(message), subject_id=str(seen.customer_id))
            fired.append(rule.id)
        return fired
