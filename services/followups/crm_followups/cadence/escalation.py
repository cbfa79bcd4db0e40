"""Escalation of overdue cadence tasks (docs/followups.md, "Escalation"), fired by the platform
scheduler: `followups.escalate` / `task-escalate:<task>` at the task's due time plus the rule's
`escalate_after_days`. If the task is still open then, the sales managers of the assignee's team
(the customer owner's team for an unassigned task; users of that team with the built-in role
`sales_manager`, as identity's user events say) get an in-app notification (`task_escalated`) and
an email through the platform mailer, each as their channels allow; `escalated_at` makes it once
per task. A task rescheduled later moves its escalation along instead."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg
from sqlalchemy.ext.asyncio import AsyncSession

from crm_followups.access import customer_scope, user_teams
from crm_followups.cadence.service import ESCALATE_KIND
from crm_followups.cadence.texts import text
from crm_followups.reminders.service import preferences_of, user_zone
from crm_followups.reminders.tables import notifications
from crm_followups.reminders.visibility import recipient_sees_customer
from crm_followups.task.tables import tasks
from crm_platform import scheduler
from crm_platform.ids import new_id
from crm_platform.mail import Mail, Mailer
from crm_platform.scheduler import Firing

MANAGER_ROLE: Final = "sales_manager"


async def managers_of(session: AsyncSession, user_id: uuid.UUID | None, customer_id: uuid.UUID) -> list[Any]:
    """Enabled sales managers of the user's team who may see the customer, the user themself excepted."""
    if user_id is None:
        return []
    team = (await session.execute(sa.select(user_teams.c.team_id).where(user_teams.c.user_id == user_id))).scalar()
    if team is None:
        return []
    query = sa.select(user_teams).where(user_teams.c.team_id == team, user_teams.c.user_id != user_id,
                                        user_teams.c.disabled.is_(False), user_teams.c.roles.any(MANAGER_ROLE),
                                        recipient_sees_customer(user_teams.c.user_id,
                                                                sa.literal(customer_id, pg.UUID(as_uuid=True))))
    return list((await session.execute(query)).all())


class Escalations:
    def __init__(self, mailer: Mailer | None, public_url: str, default_zone: str):
        self.mailer = mailer
        self.public_url = public_url.rstrip("/")
        self.default_zone = default_zone

    async def fire(self, session: AsyncSession, firings: Sequence[Firing]) -> None:
        now = datetime.now(UTC)
        for firing in firings:
            days = int(firing.payload.get("days") or 0)
            task = (await session.execute(sa.select(tasks).where(
                tasks.c.id == uuid.UUID(firing.payload["task_id"])).with_for_update())).first()
            if task is None or task.status != "open" or task.escalated_at is not None:
                continue
            when = task.due_at + timedelta(days=days)
            if when > now + timedelta(seconds=1):  # rescheduled since: escalate later
                await scheduler.schedule(session, firing.tenant_id, ESCALATE_KIND, firing.key, at=when,
                                         payload=dict(firing.payload))
                continue
            await session.execute(sa.update(tasks).where(tasks.c.id == task.id).values(escalated_at=now))
            await self._tell(session, firing.tenant_id, task, days)

    async def _tell(self, session: AsyncSession, tenant_id: uuid.UUID, task: Any, days: int) -> None:
        responsible = task.assignee_id
        if responsible is None:
            responsible = (await session.execute(sa.select(customer_scope.c.owner_id).where(
                customer_scope.c.customer_id == task.customer_id))).scalar()
        managers = await managers_of(session, responsible, task.customer_id)
        if not managers:
            return
        prefs = await preferences_of(session, [m.user_id for m in managers])
        assignee = None
        if task.assignee_id is not None:
            assignee = (await session.execute(sa.select(user_teams).where(
                user_teams.c.user_id == task.assignee_id))).first()
        for manager in managers:
            chosen = prefs[manager.user_id]
            if chosen.in_app:
                await session.execute(sa.insert(notifications).values(
                    id=new_id(), user_id=manager.user_id, kind="task_escalated", task_id=task.id,
                    customer_id=task.customer_id, title=task.title, due_at=task.due_at))
            if chosen.email and manager.email and self.mailer is not None:
                zone = user_zone(manager, self.default_zone)
                name = (assignee.display_name or assignee.email) if assignee is not None else \
                    text(manager.locale, "nobody")
                await self.mailer.queue(session, Mail(
                    to=manager.email, subject=text(manager.locale, "escalated_subject", days=days, title=task.title),
                    text=text(manager.locale, "escalated_body", days=days, title=task.title, assignee=name,
                              when=task.due_at.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z"),
                              link=f"{self.public_url}/app/customers/{task.customer_id}#followups"),
                ), tenant_id=tenant_id, category="followups.task_escalated")
