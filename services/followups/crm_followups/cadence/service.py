"""Cadence rules (docs/followups.md, "Cadences"): "when tag X is applied to a customer, ...".

- one-shot (no `rrule`): a task due `due_in_days` after the tag was applied;
- recurring (`rrule`, RFC 5545, evaluated by the platform scheduler in the tenant's zone): the
  customer is enrolled and a schedule `followups.cadence` / `cadence:<rule>:<customer>` creates a
  task due `due_in_days` after each occurrence, as long as the customer carries the tag.

Tasks a rule makes are assigned to the customer's owner (as followups' projection knows it) and,
with `escalate_after_days`, get an escalation schedule (crm_followups/cadence/escalation.py).
When the tag is removed, the customer's open tasks of the tag's rules are `cancelled` and its
recurring schedules removed. Disabling a rule stops new tasks and the recurring schedules (open
tasks stay); deleting it also cancels its open tasks (the rule is kept, hidden, so its tasks keep
counting in the SLA report).

The tag id is checked for form only here; the gateway asks tagging that it is the tenant's."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from crm_followups.access import customer_scope
from crm_followups.cadence import repository
from crm_followups.cadence.settings import ESCALATE_KIND, MAX_ESCALATE_DAYS, escalate_key, reschedule_open
from crm_followups.task.schemas import task_to_proto
from crm_followups.task.service import (
    DUE_KIND,
    SOURCE,
    TaskService,
    clean_title,
    due_key,
    overdue_key,
    parse_id,
)
from crm_platform import outbox, scheduler
from crm_platform.errors import FieldError, InvalidInput, NotFound
from crm_platform.events import proto_data
from crm_platform.ids import new_id
from crm_platform.scheduler import Firing
from crm_proto.crm.events.v1 import events_pb2

MIN_DAYS, MAX_DAYS = 1, 365
CADENCE_KIND: Final = "followups.cadence"
RULE_FIELDS: Final = ("title", "due_in_days", "rrule", "escalate_after_days", "enabled")


def cadence_key(rule_id: uuid.UUID, customer_id: uuid.UUID) -> str:
    return f"cadence:{rule_id}:{customer_id}"


def _check_days(value: int, errors: list[FieldError]) -> None:
    if not MIN_DAYS <= value <= MAX_DAYS:
        errors.append(FieldError("due_in_days", "out_of_range",
                                 f"due_in_days must be between {MIN_DAYS} and {MAX_DAYS}"))


def _check_escalation(value: int, errors: list[FieldError]) -> None:
    if not 0 <= value <= MAX_ESCALATE_DAYS:
        errors.append(FieldError("escalate_after_days", "out_of_range",
                                 f"escalate_after_days must be between 0 and {MAX_ESCALATE_DAYS}"))


def _check_rrule(rule: str, zone: str, errors: list[FieldError]) -> str:
    text = rule.strip()
    if text.upper().startswith("RRULE:"):
        text = text[len("RRULE:"):]
    if not text:
        return ""
    try:
        scheduler.check_rrule(text, zone)
    except InvalidInput as exc:
        errors.extend(exc.errors)
    return text


class CadenceService:
    def __init__(self, tasks: TaskService, default_zone: str = "Asia/Shanghai"):
        self.tasks = tasks
        self.default_zone = default_zone

    async def create_rule(self, session: AsyncSession, *, tag_id: str, due_in_days: int, title: str,
                          rrule: str = "", time_zone: str = "", escalate_after_days: int = 0,
                          enabled: bool = True) -> sa.Row[Any]:
        errors: list[FieldError] = []
        zone = time_zone.strip() or self.default_zone
        values = {
            "tag_id": parse_id(tag_id, "tag_id", errors, required=True),
            "due_in_days": due_in_days,
            "title": clean_title(title, errors),
            "rrule": _check_rrule(rrule, zone, errors),
            "time_zone": zone,
            "escalate_after_days": escalate_after_days,
            "enabled": enabled,
        }
        _check_days(due_in_days, errors)
        _check_escalation(escalate_after_days, errors)
        if errors:
            raise InvalidInput(errors)
        return await repository.insert(session, {**values, "id": new_id()})

    async def list_rules(self, session: AsyncSession) -> list[sa.Row[Any]]:
        return await repository.list_all(session)

    async def _rule(self, session: AsyncSession, rule_id: str) -> sa.Row[Any]:
        errors: list[FieldError] = []
        parsed = parse_id(rule_id, "id", errors, required=True)
        if parsed is None:
            raise InvalidInput(errors)
        row = await repository.get(session, parsed, lock=True)
        if row is None:
            raise NotFound("cadence rule not found")
        return row

    async def update_rule(self, session: AsyncSession, tenant_id: uuid.UUID, rule_id: str, mask: Sequence[str], *,
                          title: str, due_in_days: int, rrule: str, escalate_after_days: int, enabled: bool,
                          time_zone: str) -> sa.Row[Any]:
        """Changes the named fields. A one-shot rule stays one-shot and a recurring one recurring
        (`kind_change` on `rrule`); a new rule or zone reschedules every enrolled customer;
        disabling removes the recurring schedules, enabling puts them back."""
        current = await self._rule(session, rule_id)
        errors: list[FieldError] = []
        unknown = sorted(set(mask) - set(RULE_FIELDS))
        if unknown:
            errors.append(FieldError("update_mask", "unknown_field", f"cannot change {', '.join(unknown)}"))
        changes: dict[str, Any] = {}
        if "title" in mask:
            changes["title"] = clean_title(title, errors)
        if "due_in_days" in mask:
            _check_days(due_in_days, errors)
            changes["due_in_days"] = due_in_days
        if "escalate_after_days" in mask:
            _check_escalation(escalate_after_days, errors)
            changes["escalate_after_days"] = escalate_after_days
        if "enabled" in mask:
            changes["enabled"] = enabled
        zone = time_zone.strip() or current.time_zone or self.default_zone
        if "rrule" in mask:
            text = _check_rrule(rrule, zone, errors)
            if bool(text) != bool(current.rrule):
                errors.append(FieldError("rrule", "kind_change",
                                         "a one-shot rule cannot become recurring or the other way round"))
            changes["rrule"] = text
            changes["time_zone"] = zone
        if errors:
            raise InvalidInput(errors)
        row = await repository.update(session, current.id, changes)
        if row.rrule and ({"rrule", "enabled"} & set(changes)):
            await self._reschedule_all(session, tenant_id, row)
        if "escalate_after_days" in changes:  # its open tasks' escalations move along
            await reschedule_open(session, tenant_id, rule_id=row.id)
        return row

    async def delete_rule(self, session: AsyncSession, tenant_id: uuid.UUID, rule_id: str) -> int:
        """Hides the rule, cancels its open tasks and recurring schedules; returns the tasks cancelled."""
        current = await self._rule(session, rule_id)
        await repository.update(session, current.id, {"deleted_at": datetime.now(UTC), "enabled": False})
        for _, customer_id in await repository.unenroll(session, [current.id], None):
            await scheduler.cancel(session, tenant_id, CADENCE_KIND, cadence_key(current.id, customer_id))
        cancelled = await repository.cancel_open_tasks(session, [current.id], None)
        await self._announce_cancelled(session, tenant_id, cancelled)
        return len(cancelled)

    async def _reschedule_all(self, session: AsyncSession, tenant_id: uuid.UUID, rule: sa.Row[Any]) -> None:
        for customer_id in await repository.enrollments(session, rule.id):
            if rule.enabled:
                await self._schedule_recurring(session, tenant_id, rule, customer_id, datetime.now(UTC))
            else:
                await scheduler.cancel(session, tenant_id, CADENCE_KIND, cadence_key(rule.id, customer_id))

    async def _schedule_recurring(self, session: AsyncSession, tenant_id: uuid.UUID, rule: sa.Row[Any],
                                  customer_id: uuid.UUID, start: datetime) -> None:
        try:
            await scheduler.schedule(session, tenant_id, CADENCE_KIND, cadence_key(rule.id, customer_id),
                                     rrule=rule.rrule, time_zone=rule.time_zone or self.default_zone, dtstart=start,
                                     payload={"rule_id": str(rule.id), "customer_id": str(customer_id)})
        except InvalidInput:  # the rule has no occurrence left (UNTIL/COUNT passed): nothing to schedule
            await scheduler.cancel(session, tenant_id, CADENCE_KIND, cadence_key(rule.id, customer_id))

    async def _owner(self, session: AsyncSession, customer_id: uuid.UUID) -> uuid.UUID | None:
        found = (await session.execute(sa.select(customer_scope.c.owner_id)
                                       .where(customer_scope.c.customer_id == customer_id))).first()
        return found.owner_id if found is not None else None

    async def make_task(self, session: AsyncSession, tenant_id: uuid.UUID, rule: sa.Row[Any], customer_id: uuid.UUID,
                        start: datetime, cause: str) -> sa.Row[Any] | None:
        """A task of the rule for the customer, due `due_in_days` after `start`, assigned to the
        customer's owner; once per `cause` (an event id or an occurrence)."""
        task = await self.tasks.create_for_event(
            session, tenant_id, customer_id=customer_id, title=rule.title,
            due_at=start + timedelta(days=rule.due_in_days), cadence_rule_id=rule.id, source_event_id=cause,
            assignee_id=await self._owner(session, customer_id),
        )
        return task  # with its escalation (TaskService._schedule_reminder)

    async def tag_applied(self, session: AsyncSession, tenant_id: uuid.UUID | str, *, customer_id: uuid.UUID,
                          tag_id: uuid.UUID, applied_at: datetime, event_id: str) -> list[sa.Row[Any]]:
        """One-shot rules of the tag: one task each, due N days after the tag was applied (none when
        this event was already handled). Recurring rules: the customer is enrolled and scheduled.
        Returns the tasks created now."""
        tenant = uuid.UUID(str(tenant_id))
        created = []
        for rule in await repository.for_tag(session, tag_id):
            if rule.rrule:
                await repository.enroll(session, rule.id, customer_id)
                await self._schedule_recurring(session, tenant, rule, customer_id, applied_at)
                continue
            task = await self.make_task(session, tenant, rule, customer_id, applied_at, event_id)
            if task is not None:
                created.append(task)
        return created

    async def tag_removed(self, session: AsyncSession, tenant_id: uuid.UUID | str, *, customer_id: uuid.UUID,
                          tag_id: uuid.UUID) -> list[sa.Row[Any]]:
        """The tag's rules stop for this customer: open tasks cancelled, recurring schedules removed."""
        tenant = uuid.UUID(str(tenant_id))
        rule_ids = [r.id for r in await repository.for_tag(session, tag_id, enabled_only=False)]
        if not rule_ids:
            return []
        for rule_id, _ in await repository.unenroll(session, rule_ids, customer_id):
            await scheduler.cancel(session, tenant, CADENCE_KIND, cadence_key(rule_id, customer_id))
        cancelled = await repository.cancel_open_tasks(session, rule_ids, customer_id)
        await self._announce_cancelled(session, tenant, cancelled)
        return cancelled

    async def _announce_cancelled(self, session: AsyncSession, tenant_id: uuid.UUID,
                                  cancelled: Sequence[sa.Row[Any]]) -> None:
        for task in cancelled:
            for kind, key in ((DUE_KIND, due_key(task.id)), (DUE_KIND, overdue_key(task.id)),
                              (ESCALATE_KIND, escalate_key(task.id))):
                await scheduler.cancel(session, tenant_id, kind, key)
            updated = events_pb2.FollowupTaskUpdated(task=task_to_proto(task), actor="",
                                                     changed_fields=["status"])
            await outbox.add_event(session, source=SOURCE, tenant_id=tenant_id, aggregate="followup_task",
                                   verb="updated", data=proto_data(updated), subject_id=str(task.id))

    async def fire_recurring(self, session: AsyncSession, firings: Sequence[Firing]) -> None:
        """A recurring rule's occurrence: a task for the enrolled customer (once per occurrence)."""
        for firing in firings:
            rule = await repository.get(session, uuid.UUID(firing.payload["rule_id"]))
            customer_id = uuid.UUID(firing.payload["customer_id"])
            if rule is None or not rule.enabled or not await repository.is_enrolled(session, rule.id, customer_id):
                continue
            await self.make_task(session, firing.tenant_id, rule, customer_id, firing.occurrence_at,
                                 f"{firing.key}@{firing.occurrence_at.isoformat()}")
