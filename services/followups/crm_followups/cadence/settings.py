"""The tenant's follow-up settings (docs/followups.md, "Escalation"): `escalate_after_days`, the
default escalation of every open task (0: none), kept in `followup_settings` (key/value, fu0110).
A cadence rule's own `escalate_after_days` (> 0) overrides it for the rule's tasks.

Each open task has one escalation schedule (`followups.escalate`, `task-escalate:<task>`) at its
planned time plus its effective days; the firing reads the effective days again
(crm_followups/cadence/escalation.py), so a setting turned off or raised since is obeyed. Changing
the setting moves the schedules of every open, not yet escalated task in one statement."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg
from sqlalchemy.ext.asyncio import AsyncSession

from crm_followups.cadence.tables import cadence_rules
from crm_followups.record.tables import followup_settings
from crm_followups.task.tables import tasks
from crm_platform import scheduler
from crm_platform.errors import FieldError, InvalidInput

ESCALATE_KIND: Final = "followups.escalate"
ESCALATE_DAYS_KEY: Final = "escalate_after_days"
UPDATED_KEY: Final = "settings_updated"  # "<iso time> <actor>"
MAX_ESCALATE_DAYS: Final = 365
FIELDS: Final = frozenset({"escalate_after_days"})


def escalate_key(task_id: uuid.UUID) -> str:
    return f"task-escalate:{task_id}"


@dataclass(frozen=True)
class Settings:
    escalate_after_days: int = 0
    updated_at: datetime | None = None
    updated_by: str = ""


async def read(session: AsyncSession) -> Settings:
    rows = dict((await session.execute(sa.select(followup_settings.c.key, followup_settings.c.value).where(
        followup_settings.c.key.in_([ESCALATE_DAYS_KEY, UPDATED_KEY])))).tuples().all())
    days = int(rows.get(ESCALATE_DAYS_KEY) or 0)
    stamp, _, actor = (rows.get(UPDATED_KEY) or "").partition(" ")
    return Settings(days, datetime.fromisoformat(stamp) if stamp else None, actor)


def effective_days() -> sa.ColumnElement[int]:
    """The escalation days of the task row in `tasks` (to be selected with it): its rule's when
    above 0, else the tenant's default."""
    rule_days = (sa.select(cadence_rules.c.escalate_after_days).where(cadence_rules.c.id == tasks.c.cadence_rule_id)
                 .scalar_subquery())
    default = (sa.select(sa.cast(followup_settings.c.value, sa.Integer))
               .where(followup_settings.c.key == ESCALATE_DAYS_KEY).scalar_subquery())
    return sa.func.coalesce(sa.func.nullif(rule_days, 0), default, 0)


async def days_for(session: AsyncSession, task_id: uuid.UUID) -> int:
    found = (await session.execute(sa.select(effective_days()).where(tasks.c.id == task_id))).scalar()
    return int(found or 0)


async def schedule_escalation(session: AsyncSession, tenant_id: uuid.UUID, row: Any) -> None:
    """The open task's escalation at its planned time plus its effective days (none when 0 or
    escalated already; a schedule left behind fires and does nothing)."""
    if row.escalated_at is not None or row.status != "open":
        return
    days = await days_for(session, row.id)
    if days > 0:
        await scheduler.schedule(session, tenant_id, ESCALATE_KIND, escalate_key(row.id),
                                 at=row.due_at + timedelta(days=days), payload={"task_id": str(row.id)})


async def update(session: AsyncSession, tenant_id: uuid.UUID, actor: str, mask: list[str],
                 values: dict[str, Any], now: datetime) -> Settings:
    errors = [FieldError("update_mask", "unknown_field", f"{name} cannot be changed")
              for name in mask if name not in FIELDS]
    if not mask:
        errors.append(FieldError("update_mask", "required", "name the settings to change"))
    days = int(values.get("escalate_after_days") or 0)
    if "escalate_after_days" in mask and not 0 <= days <= MAX_ESCALATE_DAYS:
        errors.append(FieldError("escalate_after_days", "out_of_range", f"0 to {MAX_ESCALATE_DAYS} days"))
    if errors:
        raise InvalidInput(errors)
    entries = [{"key": UPDATED_KEY, "value": f"{now.isoformat()} {actor}"}]
    if "escalate_after_days" in mask:
        entries.append({"key": ESCALATE_DAYS_KEY, "value": str(days)})
    statement = pg.insert(followup_settings).values(entries)
    await session.execute(statement.on_conflict_do_update(index_elements=[followup_settings.c.key],
                                                          set_={"value": statement.excluded.value}))
    if "escalate_after_days" in mask:
        await reschedule_open(session, tenant_id)
    return await read(session)


async def reschedule_open(session: AsyncSession, tenant_id: uuid.UUID, rule_id: uuid.UUID | None = None) -> int:
    """Every open, not yet escalated task (of the rule, when given) with effective days above 0
    gets its escalation at its planned time plus them (those at 0 keep theirs: the firing skips
    them)."""
    days = effective_days().label("days")
    query = sa.select(tasks.c.id, tasks.c.due_at, days).where(tasks.c.status == "open",
                                                              tasks.c.escalated_at.is_(None))
    if rule_id is not None:
        query = query.where(tasks.c.cadence_rule_id == rule_id)
    rows = (await session.execute(query)).all()
    items = [(escalate_key(r.id), r.due_at + timedelta(days=int(r.days)), {"task_id": str(r.id)})
             for r in rows if r.days and r.days > 0]
    await scheduler.schedule_many(session, tenant_id, ESCALATE_KIND, items)
    return len(items)
