"""Escalation of overdue tasks (docs/followups.md, "Escalation"), fired by the platform scheduler:
`followups.escalate` / `task-escalate:<task>` at the task's planned time plus its effective days (its
cadence rule's `escalate_after_days`, else the tenant's default: crm_followups/cadence/settings.py).
If the task is still open then, the **manager of the responsible user's team** (the assignee, or the
customer's owner for an unassigned task; identity's `teams.manager_id`, carried by its user events
as `team_manager_id`) is told; when that team has no manager (or the manager is the responsible
user, or disabled, or the user has no team), the tenant's admins are. Each recipient gets an in-app
notification (`task_escalated`) and an email through the platform mailer, as their channels allow;
`escalated_at` makes it once per task. A task rescheduled later moves its escalation along instead.

**Data scope**: a recipient who may not see the customer (crm_followups/reminders/visibility.py) is
still told that the user's follow-up is overdue, but without the task's title, customer or link.
A user whose team manager identity has not announced yet (`team_manager_known` false: an older
identity) is escalated as before: to the `sales_manager`s of the same team."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg
from sqlalchemy.ext.asyncio import AsyncSession

from crm_followups.access import customer_scope, user_teams
from crm_followups.cadence.settings import ESCALATE_KIND, days_for
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
ADMIN_ROLE: Final = "tenant_admin"


async def recipients_of(session: AsyncSession, responsible_id: uuid.UUID | None,
                        customer_id: uuid.UUID) -> list[Any]:
    """Who is told, each row of `user_teams` with `sees` (may see the customer): the team's
    manager, else the tenant admins; enabled users other than the responsible one."""
    sees = recipient_sees_customer(user_teams.c.user_id, sa.literal(customer_id, pg.UUID(as_uuid=True))).label("sees")
    enabled: list[sa.ColumnElement[bool]] = [user_teams.c.disabled.is_(False)]
    if responsible_id is not None:
        enabled.append(user_teams.c.user_id != responsible_id)
    responsible = None
    if responsible_id is not None:
        responsible = (await session.execute(sa.select(user_teams).where(
            user_teams.c.user_id == responsible_id))).first()
    found: list[Any] = []
    if responsible is not None and responsible.team_manager_known:
        if responsible.team_manager_id is not None:
            found = list((await session.execute(sa.select(user_teams, sees).where(
                user_teams.c.user_id == responsible.team_manager_id, *enabled))).all())
    elif responsible is not None and responsible.team_id is not None:  # an identity not telling managers
        found = list((await session.execute(sa.select(user_teams, sees).where(
            user_teams.c.team_id == responsible.team_id, user_teams.c.roles.any(MANAGER_ROLE),
            *enabled).order_by(user_teams.c.user_id))).all())
    if found:
        return found
    return list((await session.execute(sa.select(user_teams, sees).where(
        user_teams.c.roles.any(ADMIN_ROLE), *enabled).order_by(user_teams.c.user_id))).all())


class Escalations:
    def __init__(self, mailer: Mailer | None, public_url: str, default_zone: str):
        self.mailer = mailer
        self.public_url = public_url.rstrip("/")
        self.default_zone = default_zone

    async def fire(self, session: AsyncSession, firings: Sequence[Firing]) -> None:
        now = datetime.now(UTC)
        for firing in firings:
            task = (await session.execute(sa.select(tasks).where(
                tasks.c.id == uuid.UUID(firing.payload["task_id"])).with_for_update())).first()
            if task is None or task.status != "open" or task.escalated_at is not None:
                continue
            days = await days_for(session, task.id)  # the rule's or the tenant's, as they are now
            if days <= 0:
                continue
            when = task.due_at + timedelta(days=days)
            if when > now + timedelta(seconds=1):  # rescheduled or raised since: escalate later
                await scheduler.schedule(session, firing.tenant_id, ESCALATE_KIND, firing.key, at=when,
                                         payload={"task_id": str(task.id)})
                continue
            await session.execute(sa.update(tasks).where(tasks.c.id == task.id).values(escalated_at=now))
            await self._tell(session, firing.tenant_id, task, days)

    async def _tell(self, session: AsyncSession, tenant_id: uuid.UUID, task: Any, days: int) -> None:
        responsible = task.assignee_id
        if responsible is None:
            responsible = (await session.execute(sa.select(customer_scope.c.owner_id).where(
                customer_scope.c.customer_id == task.customer_id))).scalar()
        recipients = await recipients_of(session, responsible, task.customer_id)
        if not recipients:
            return
        prefs = await preferences_of(session, [m.user_id for m in recipients])
        person = None
        if responsible is not None:
            person = (await session.execute(sa.select(user_teams).where(user_teams.c.user_id == responsible))).first()
        for recipient in recipients:
            chosen = prefs[recipient.user_id]
            sees = bool(recipient.sees)
            if chosen.in_app:
                await session.execute(sa.insert(notifications).values(
                    id=new_id(), user_id=recipient.user_id, kind="task_escalated",
                    task_id=task.id if sees else None, customer_id=task.customer_id if sees else None,
                    title=task.title if sees else "", due_at=task.due_at))
            if chosen.email and recipient.email and self.mailer is not None:
                zone = user_zone(recipient, self.default_zone)
                name = (person.display_name or person.email) if person is not None else \
                    text(recipient.locale, "nobody")
                when = task.due_at.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")
                if sees:
                    subject = text(recipient.locale, "escalated_subject", days=days, title=task.title)
                    body = text(recipient.locale, "escalated_body", days=days, title=task.title, assignee=name,
                                when=when, link=f"{self.public_url}/app/customers/{task.customer_id}#followups")
                else:
                    subject = text(recipient.locale, "escalated_subject_hidden", days=days, assignee=name)
                    body = text(recipient.locale, "escalated_body_hidden", days=days, assignee=name, when=when)
                await self.mailer.queue(session, Mail(to=recipient.email, subject=subject, text=body),
                                        tenant_id=tenant_id, category="followups.task_escalated")
