"""Reminders of follow-up tasks (docs/followups.md, "Reminders"), fired by the platform scheduler.

- `followups.task_due` (one schedule per open task, at its planned time, crm_followups/task/service.py):
  for each still-open task, the event `crm.followup_task.due` (webhooks deliver it to endpoints
  subscribed to it), an in-app notification for the assignee (the creator when nobody is assigned)
  and an email, each if the user's preferences want it; then a second schedule a day later whose
  firing says `crm.followup_task.overdue` the same way if the task is still open.
- `followups.digest` (one recurring schedule per user with an email, 08:00 in the user's zone,
  crm_followups/reminders/users.py): one email with the user's open tasks due today and overdue.

Handlers only write rows in the scheduler's transaction (notifications, outbox events, the mail
outbox, schedules). `fire_due` costs one statement per tenant group (the tasks, with the in-app
notifications written by a data-modifying CTE of that statement); its outbox events and overdue
schedules are written once per scheduler batch for all its tenants (`scheduler.defer`)."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from html import escape
from typing import Any, Final
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from crm_followups.access import user_teams
from crm_followups.reminders.tables import notification_preferences, notifications
from crm_followups.reminders.texts import text
from crm_followups.reminders.visibility import recipient_sees_customer
from crm_followups.task.schemas import task_event_data
from crm_followups.task.service import DUE_KIND, OVERDUE_AFTER, SOURCE, overdue_key
from crm_followups.task.tables import tasks
from crm_platform import outbox, scheduler
from crm_platform.db import json_rows, json_rows_param
from crm_platform.ids import new_id
from crm_platform.mail import Mail, Mailer, QueuedMail, insert_queued
from crm_platform.scheduler import Firing

DIGEST_KIND: Final = "followups.digest"
DIGEST_RULE: Final = "FREQ=DAILY;BYHOUR=8;BYMINUTE=0;BYSECOND=0"
DIGEST_LIMIT: Final = 50
DEFAULT_ZONE: Final = "Asia/Shanghai"


@dataclass(frozen=True)
class Preferences:
    in_app: bool = True
    email: bool = True
    digest: bool = True


async def preferences_of(session: AsyncSession, user_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Preferences]:
    """Every user's channels (the defaults for one who never chose)."""
    rows = (await session.execute(sa.select(notification_preferences)
                                  .where(notification_preferences.c.user_id.in_(list(user_ids))))).all()
    chosen = {r.user_id: Preferences(r.in_app, r.email, r.digest) for r in rows}
    return {u: chosen.get(u, Preferences()) for u in user_ids}


async def users_of(session: AsyncSession, user_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Any]:
    rows = (await session.execute(sa.select(user_teams).where(user_teams.c.user_id.in_(list(user_ids))))).all()
    return {r.user_id: r for r in rows}


# A user id in `tasks.created_by` (else "client:<id>" or "" for a rule).
_USER_ID_PATTERN: Final = "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"

_WANTED_COLUMNS: Final = (("task_id", pg.UUID(as_uuid=True)), ("phase", sa.Text),
                          ("notice_id", pg.UUID(as_uuid=True)))


@functools.cache
def _remind_statement() -> sa.Select[Any]:
    """One statement per tenant group (built once; the firings are sent as one JSON parameter, `json_rows`):
    the open ones of the wanted tasks, each with who is reminded (`recipient_id`: the assignee, else
    the user who created it; nobody for a rule's or an API client's unassigned task), whether that
    user may see the task's customer, what followups knows of them and their channels (NULL: never
    chosen); and, as a data-modifying CTE of the same statement, the in-app notifications of those
    whose recipient is a known, enabled user who sees the customer and did not turn in-app off
    (with the ids `notice_id` sent along)."""
    wanted = json_rows("wanted", _WANTED_COLUMNS)
    recipient_id = sa.func.coalesce(tasks.c.assignee_id, sa.case(
        (tasks.c.created_by.op("~")(_USER_ID_PATTERN), sa.cast(tasks.c.created_by, pg.UUID(as_uuid=True))),
        else_=sa.null())).label("recipient_id")
    inner = (sa.select(tasks, wanted.c.phase, wanted.c.notice_id, recipient_id)
             .join_from(tasks, wanted, wanted.c.task_id == tasks.c.id)
             .where(tasks.c.status == "open").subquery("open_task"))
    p = notification_preferences.c
    visible = recipient_sees_customer(inner.c.recipient_id, inner.c.customer_id).label("recipient_sees_customer")
    found = (sa.select(inner, visible, user_teams.c.email, user_teams.c.locale, user_teams.c.time_zone,
                       user_teams.c.disabled, p.in_app.label("pref_in_app"), p.email.label("pref_email"),
                       p.digest.label("pref_digest"))
             .select_from(inner.outerjoin(user_teams, user_teams.c.user_id == inner.c.recipient_id)
                          .outerjoin(notification_preferences, p.user_id == inner.c.recipient_id))
             .cte("found"))
    in_app = sa.and_(found.c.recipient_id.is_not(None), found.c.disabled.is_(False), found.c.recipient_sees_customer,
                     sa.func.coalesce(found.c.pref_in_app, sa.true()))
    notified = sa.insert(notifications).from_select(
        ["id", "user_id", "kind", "task_id", "customer_id", "title", "due_at"],
        sa.select(found.c.notice_id, found.c.recipient_id, sa.literal("task_") + found.c.phase, found.c.id,
                  found.c.customer_id, found.c.title, found.c.due_at).where(in_app),
    ).cte("notified")
    return sa.select(found).add_cte(notified)


async def remind_open_tasks(session: AsyncSession, wanted: dict[uuid.UUID, str]) -> list[Any]:
    """Runs `_remind_statement` for these tasks (id: phase "due" or "overdue"): writes the in-app
    notifications and returns the open tasks with their recipients, in one round trip."""
    rows = [{"task_id": task_id, "phase": phase, "notice_id": new_id()} for task_id, phase in wanted.items()]
    return list((await session.execute(_remind_statement(), json_rows_param("wanted", rows))).all())


def user_zone(user: Any, default: str) -> ZoneInfo:
    try:
        return ZoneInfo(user.time_zone or default)
    except (ValueError, KeyError):
        return ZoneInfo(default)


class Reminders:
    def __init__(self, mailer: Mailer | None, public_url: str, default_zone: str = DEFAULT_ZONE):
        self.mailer = mailer
        self.public_url = public_url.rstrip("/")
        self.default_zone = default_zone

    def link(self, path: str) -> str:
        return f"{self.public_url}{path}"

    async def fire_due(self, session: AsyncSession, firings: Sequence[Firing]) -> None:
        """A batch of one tenant's `followups.task_due` firings (phase "due" or "overdue"): one
        statement here (the open tasks, and their in-app notifications written by it); the events,
        the overdue schedules and the rendered mails go to the scheduler's end of batch
        (`scheduler.defer`: one INSERT each for every tenant of the batch)."""
        tenant_id = firings[0].tenant_id
        wanted = {uuid.UUID(f.payload["task_id"]): str(f.payload.get("phase") or "due") for f in firings}
        found = await remind_open_tasks(session, wanted)
        if not found:
            return
        now = datetime.now(UTC)
        events: dict[str, list[tuple[dict[str, Any], str | None]]] = {"due": [], "overdue": []}
        follow_ups: list[scheduler.OneShot] = []
        mails: list[QueuedMail] = []
        for task in found:
            phase = task.phase
            user_id = task.recipient_id
            # FollowupTaskDue in proto3 JSON (task_event_data: the fast form of proto_data(task_to_proto(...))).
            data: dict[str, Any] = {"task": task_event_data(task, now)}
            if user_id is not None:
                data["user_id"] = str(user_id)
            events[phase].append((data, str(task.id)))
            if phase == "due":
                follow_ups.append(scheduler.OneShot(tenant_id, DUE_KIND, overdue_key(task.id),
                                                    task.due_at + OVERDUE_AFTER,
                                                    {"task_id": str(task.id), "phase": "overdue"}))
            # The in-app notification is written by the statement above, on the same conditions.
            if (user_id is None or task.disabled is not False  # unknown to followups, or disabled
                    or not task.recipient_sees_customer):  # the webhook event is the tenant's, not the user's
                continue
            wants_email = True if task.pref_email is None else task.pref_email
            if wants_email and task.email and self.mailer is not None:
                mails.append(self._task_mail(tenant_id, task, task, phase))
        await scheduler.defer(session, outbox.insert_events, [
            event for phase, items in events.items()
            for event in outbox.new_events(source=SOURCE, tenant_id=tenant_id, aggregate="followup_task",
                                           verb=phase, items=items)])
        await scheduler.defer(session, scheduler.schedule_rows, follow_ups)
        await scheduler.defer(session, insert_queued, mails)

    def _task_mail(self, tenant_id: uuid.UUID, user: Any, task: Any, phase: str) -> QueuedMail:
        assert self.mailer is not None
        zone = user_zone(user, self.default_zone)
        when = task.due_at.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")
        link = self.link(f"/app/customers/{task.customer_id}#followups")
        return self.mailer.render(Mail(
            to=user.email, subject=text(user.locale, f"{phase}_subject", title=task.title),
            text=text(user.locale, f"{phase}_body", title=task.title, when=when, link=link),
        ), tenant_id=tenant_id, category=f"followups.task_{phase}")

    async def fire_digest(self, session: AsyncSession, firings: Sequence[Firing]) -> None:
        """Each user's morning email: open tasks assigned to them, overdue and due today in their zone."""
        tenant_id = firings[0].tenant_id
        user_ids = [uuid.UUID(f.payload["user_id"]) for f in firings]
        prefs, users = await preferences_of(session, user_ids), await users_of(session, user_ids)
        for user_id in user_ids:
            user = users.get(user_id)
            if user is None or user.disabled or not user.email or not prefs[user_id].digest or self.mailer is None:
                continue
            zone = user_zone(user, self.default_zone)
            now = datetime.now(zone)
            start = datetime.combine(now.date(), time(), zone)
            end = start + timedelta(days=1)
            rows = (await session.execute(
                sa.select(tasks).where(tasks.c.assignee_id == user_id, tasks.c.status == "open",
                                       tasks.c.due_at < end,
                                       recipient_sees_customer(sa.literal(user_id, pg.UUID(as_uuid=True)),
                                                               tasks.c.customer_id))
                .order_by(tasks.c.due_at).limit(DIGEST_LIMIT + 1)
            )).all()
            overdue = [r for r in rows if r.due_at < start]
            today = [r for r in rows if r.due_at >= start]
            if not rows:
                continue  # nothing to say: no mail
            await self.mailer.queue(session, self._digest_mail(user, zone, overdue, today), tenant_id=tenant_id,
                                    category="followups.digest")

    def _digest_mail(self, user: Any, zone: ZoneInfo, overdue: list[Any], today: list[Any]) -> Mail:
        locale = user.locale
        lines = [text(locale, "digest_intro", name=user.display_name or user.email), ""]
        html = [f"<p>{escape(lines[0])}</p>"]
        for heading, rows in ((text(locale, "digest_overdue"), overdue), (text(locale, "digest_today"), today)):
            if not rows:
                continue
            lines.append(f"{heading} ({len(rows)})")
            html.append(f"<h3>{escape(heading)} ({len(rows)})</h3><ul>")
            for row in rows:
                when = row.due_at.astimezone(zone).strftime("%m-%d %H:%M")
                link = self.link(f"/app/customers/{row.customer_id}#followups")
                lines.append(f"- {when}  {row.title}  {link}")
                html.append(f'<li>{escape(when)} <a href="{escape(link)}">{escape(row.title)}</a></li>')
            lines.append("")
            html.append("</ul>")
        footer = text(locale, "digest_footer", link=self.link("/app/followups"))
        lines.append(footer)
        html.append(f"<p>{escape(footer)}</p>")
        return Mail(to=user.email, subject=text(locale, "digest_subject", today=len(today), overdue=len(overdue)),
                    text="\n".join(lines), html="".join(html))


async def schedule_digest(session: AsyncSession, tenant_id: uuid.UUID, user: Any, default_zone: str) -> None:
    """The user's daily digest at 08:00 in their zone (replacing an earlier one); none for a
    disabled user or one without an email."""
    key = f"user:{user.user_id}"
    if user.disabled or not user.email:
        await scheduler.cancel(session, tenant_id, DIGEST_KIND, key)
        return
    zone_name = user.time_zone or default_zone
    try:
        ZoneInfo(zone_name)
    except (ValueError, KeyError):
        zone_name = default_zone
    await scheduler.schedule(session, tenant_id, DIGEST_KIND, key, rrule=DIGEST_RULE, time_zone=zone_name,
                             payload={"user_id": str(user.user_id)})


# -- the notification centre's queries --------------------------------------------------------

async def unread_count(session: AsyncSession, user_id: uuid.UUID) -> int:
    return int((await session.execute(sa.select(sa.func.count()).select_from(notifications).where(
        notifications.c.user_id == user_id, notifications.c.read_at.is_(None)))).scalar_one())


async def list_page(session: AsyncSession, user_id: uuid.UUID, *, unread_only: bool, limit: int,
                    before: tuple[datetime, uuid.UUID] | None) -> list[Any]:
    query = (sa.select(notifications).where(notifications.c.user_id == user_id)
             .order_by(notifications.c.created_at.desc(), notifications.c.id.desc()).limit(limit))
    if unread_only:
        query = query.where(notifications.c.read_at.is_(None))
    if before is not None:
        query = query.where(sa.tuple_(notifications.c.created_at, notifications.c.id) < sa.tuple_(*before))
    return list((await session.execute(query)).all())


async def mark_read(session: AsyncSession, user_id: uuid.UUID, ids: list[uuid.UUID] | None) -> int:
    """The user's own notifications only (another user's ids change nothing)."""
    statement = sa.update(notifications).where(notifications.c.user_id == user_id,
                                               notifications.c.read_at.is_(None))
    if ids is not None:
        statement = statement.where(notifications.c.id.in_(ids))
    result = await session.execute(statement.values(read_at=sa.func.now()).returning(notifications.c.id))
    return len(result.all())


async def save_preferences(session: AsyncSession, user_id: uuid.UUID, chosen: Preferences) -> None:
    statement = pg_insert(notification_preferences).values(user_id=user_id, in_app=chosen.in_app,
                                                           email=chosen.email, digest=chosen.digest)
    await session.execute(statement.on_conflict_do_update(
        index_elements=[notification_preferences.c.user_id],
        set_={"in_app": chosen.in_app, "email": chosen.email, "digest": chosen.digest, "updated_at": sa.func.now()},
    ))
