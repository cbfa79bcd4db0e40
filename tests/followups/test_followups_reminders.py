"""Reminders of follow-up tasks through the real platform scheduler, mail outbox and SMTP server
(docs/followups.md, "Reminders"): a task coming due notifies its assignee in the app and by email
and announces `crm.followup_task.due`; a day later, still open, `crm.followup_task.overdue`; each
user's channels decide; a done task reminds nobody; the morning digest lists today's and overdue
tasks in the user's language; the notification centre is each user's own."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_followups.reminders.service import DIGEST_KIND, Reminders
from crm_followups.reminders.tables import notifications
from crm_followups.task.repository import get_many
from crm_followups.task.schemas import task_event_data, task_to_proto
from crm_followups.task.service import DUE_KIND, due_key, overdue_key
from crm_platform import scheduler
from crm_platform.db import control_session, tenant_session
from crm_platform.events import CloudEvent, event_type, proto_data
from crm_platform.mail import Mailer, MailSender, SmtpTransport
from crm_platform.scheduler import Scheduler
from crm_platform.tables import schedules
from crm_proto.crm.followups.v1 import followups_pb2 as pb
from tests.followups.test_followups_api import WRITE, TokenFor, field_errors, rejected, stamp, task_request
from tests.followups.test_followups_records import Stub, events
from tests.followups.test_followups_scope import World, world  # noqa: F401 - the fixture
from tests.mail import received, wait_for_mail
from tests.support import SmtpServer


def reminders() -> Reminders:
    return Reminders(Mailer("no-reply@crm.local", "CRM"), "https://crm.example.cn", "Asia/Shanghai")


async def announce_user(world: World, user_id: uuid.UUID, email: str, *,  # noqa: F811
                        locale: str = "", time_zone: str = "", version: int = 2, team_id: uuid.UUID | None = None,
                        access: dict[str, Any] | None = None) -> None:
    """identity's `user.updated` with what reminders need (and the user's access, when given),
    through the real consumer wrapper."""
    event = CloudEvent.new(source="crm/identity", type=event_type("user", "updated"), tenant_id=world.tenant_id,
                           data={"user_id": str(user_id), "team_id": str(team_id or world.team_1),
                                 "version": str(version), "display_name": "王芳", "email": email, "locale": locale,
                                 "time_zone": time_zone, **(access or {})})
    assert await world.users_consumer.apply(event)


async def fire(engine: AsyncEngine, kind: str, handler: Any) -> None:
    worker = Scheduler(engine, {kind: handler})
    while await worker.run_batch():
        pass


async def send_mail(engine: AsyncEngine, smtp_server: SmtpServer) -> None:
    sender = MailSender(engine, SmtpTransport("127.0.0.1", smtp_server.port, security="none", timeout=5))
    while await sender.send_batch():
        pass


async def notices(engine: AsyncEngine, tenant_id: uuid.UUID) -> list[Any]:
    async with tenant_session(engine, tenant_id) as session:
        return list((await session.execute(sa.select(notifications).order_by(notifications.c.created_at))).all())


async def test_a_due_task_reminds_its_assignee_in_the_app_by_mail_and_by_event(
    followups: Stub, engine: AsyncEngine, world: World, smtp_server: SmtpServer,  # noqa: F811
) -> None:
    email = f"rep-{uuid.uuid4().hex[:8]}@example.cn"
    await announce_user(world, world.rep_a, email)
    customer = await world.customer(world.rep_a)
    due = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=5)
    task = await followups.CreateTask(task_request(customer_id=str(customer), title="回访张总", due_at=stamp(due),
                                                   assignee_id=str(world.rep_a)), metadata=world.a)

    await fire(engine, DUE_KIND, reminders().fire_due)

    [notice] = await notices(engine, world.tenant_id)
    assert (notice.user_id, notice.kind, str(notice.task_id), notice.title) == (
        world.rep_a, "task_due", task.id, "回访张总")
    [announced] = await events(engine, world.tenant_id, "followup_task", "due")
    assert announced["data"]["task"]["id"] == task.id and announced["data"]["user_id"] == str(world.rep_a)
    async with control_session(engine) as session:
        overdue = await scheduler.get(session, world.tenant_id, DUE_KIND, overdue_key(uuid.UUID(task.id)))
        assert await scheduler.get(session, world.tenant_id, DUE_KIND, due_key(uuid.UUID(task.id))) is None
    assert overdue is not None and overdue.due_at == due + timedelta(days=1)

    await send_mail(engine, smtp_server)
    [mail] = await asyncio.to_thread(wait_for_mail, smtp_server.maildir, email)
    assert mail.subject == "跟进提醒：回访张总"
    assert f"https://crm.example.cn/app/customers/{customer}#followups" in mail.text

    # A day later, still open: overdue, the same way.
    async with control_session(engine) as session:
        await session.execute(sa.update(schedules).where(schedules.c.id == overdue.id).values(due_at=sa.func.now()))
    await fire(engine, DUE_KIND, reminders().fire_due)
    kinds = [n.kind for n in await notices(engine, world.tenant_id)]
    assert kinds == ["task_due", "task_overdue"]
    assert len(await events(engine, world.tenant_id, "followup_task", "overdue")) == 1
    await send_mail(engine, smtp_server)
    mails = await asyncio.to_thread(wait_for_mail, smtp_server.maildir, email, count=2)
    assert mails[1].subject == "跟进已逾期：回访张总"


async def test_preferences_decide_the_channels_and_done_tasks_remind_nobody(
    followups: Stub, engine: AsyncEngine, world: World, smtp_server: SmtpServer,  # noqa: F811
) -> None:
    email = f"quiet-{uuid.uuid4().hex[:8]}@example.cn"
    await announce_user(world, world.rep_b, email, locale="en")
    await followups.UpdateNotificationPreferences(pb.NotificationPreferences(in_app=False, email=False, digest=True),
                                                  metadata=world.b)
    prefs = await followups.GetNotificationPreferences(pb.GetNotificationPreferencesRequest(), metadata=world.b)
    assert (prefs.in_app, prefs.email, prefs.digest) == (False, False, True)
    customer = await world.customer(world.rep_b)
    past = stamp(datetime.now(UTC) - timedelta(minutes=1))
    quiet = await followups.CreateTask(task_request(customer_id=str(customer), due_at=past,
                                                    assignee_id=str(world.rep_b)), metadata=world.b)
    done = await followups.CreateTask(task_request(customer_id=str(customer), due_at=past,
                                                   assignee_id=str(world.rep_b)), metadata=world.b)
    await followups.CompleteTask(pb.CompleteTaskRequest(id=done.id), metadata=world.b)

    await fire(engine, DUE_KIND, reminders().fire_due)
    await send_mail(engine, smtp_server)

    assert await notices(engine, world.tenant_id) == []
    assert received(smtp_server.maildir, email) == []
    # The event still goes out (webhooks), for the open task only.
    assert [e["data"]["task"]["id"] for e in await events(engine, world.tenant_id, "followup_task", "due")] == [
        quiet.id]


async def test_a_team_scoped_recipient_is_reminded_only_of_customers_of_their_teams(
    followups: Stub, engine: AsyncEngine, world: World,  # noqa: F811
) -> None:
    """Reps A (team 1) and B (team 2), both of data scope `team`, each get a task on the customer of
    a team-2 colleague, due together (one scheduler batch, one statement for the tenant): B sees
    that customer and is reminded; A does not and is not, although the same statement reminds B
    (the team rule is asked of each task's own recipient; it once held for all of a batch's
    recipients when any of them was of the owner's team). Both tasks' webhook events go out."""
    for rep, team in ((world.rep_a, world.team_1), (world.rep_b, world.team_2)):
        await announce_user(world, rep, "", team_id=team, access={
            "access_known": True, "data_scope": "team", "team_ids": [str(team)]})
    colleague = uuid.uuid4()
    await announce_user(world, colleague, "", team_id=world.team_2, version=1)
    customer = await world.customer(colleague)
    due = stamp(datetime.now(UTC) - timedelta(seconds=5))
    hidden = await followups.CreateTask(task_request(customer_id=str(customer), title="not A's", due_at=due,
                                                     assignee_id=str(world.rep_a)), metadata=world.admin)
    shown = await followups.CreateTask(task_request(customer_id=str(customer), title="B's team", due_at=due,
                                                    assignee_id=str(world.rep_b)), metadata=world.admin)

    await fire(engine, DUE_KIND, Reminders(None, "").fire_due)

    assert [(n.user_id, str(n.task_id)) for n in await notices(engine, world.tenant_id)] == [
        (world.rep_b, shown.id)]
    announced = await events(engine, world.tenant_id, "followup_task", "due")
    assert sorted(e["data"]["task"]["id"] for e in announced) == sorted([hidden.id, shown.id])


async def test_the_morning_digest_lists_todays_and_overdue_tasks_in_the_users_language(
    followups: Stub, engine: AsyncEngine, world: World, smtp_server: SmtpServer,  # noqa: F811
) -> None:
    email = f"digest-{uuid.uuid4().hex[:8]}@example.cn"
    await announce_user(world, world.rep_a, email, locale="en", time_zone="Europe/Berlin")
    async with control_session(engine) as session:
        digest = await scheduler.get(session, world.tenant_id, DIGEST_KIND, f"user:{world.rep_a}")
    assert digest is not None and digest.time_zone == "Europe/Berlin" and "BYHOUR=8" in digest.rrule
    customer = await world.customer(world.rep_a)
    now = datetime.now(UTC)
    for title, due in (("Overdue call", now - timedelta(days=2)), ("Next month", now + timedelta(days=40))):
        await followups.CreateTask(task_request(customer_id=str(customer), title=title, due_at=stamp(due),
                                                assignee_id=str(world.rep_a)), metadata=world.a)
    async with control_session(engine) as session:
        await session.execute(sa.update(schedules).where(schedules.c.id == digest.id).values(due_at=sa.func.now()))
    await fire(engine, DIGEST_KIND, reminders().fire_digest)
    await send_mail(engine, smtp_server)

    [mail] = await asyncio.to_thread(wait_for_mail, smtp_server.maildir, email)
    assert mail.subject == "Today's follow-ups: 0 due today, 1 overdue"
    assert "Overdue call" in mail.text and "Next month" not in mail.text
    async with control_session(engine) as session:
        again = await scheduler.get(session, world.tenant_id, DIGEST_KIND, f"user:{world.rep_a}")
    assert again is not None and again.due_at > now  # the next morning


async def test_the_notification_centre_is_each_users_own(
    followups: Stub, engine: AsyncEngine, world: World, token_for: TokenFor,  # noqa: F811
) -> None:
    await announce_user(world, world.rep_a, f"a-{uuid.uuid4().hex[:8]}@example.cn")
    customer = await world.customer(world.rep_a)
    await followups.CreateTask(task_request(customer_id=str(customer), due_at=stamp(datetime.now(UTC)),
                                            assignee_id=str(world.rep_a)), metadata=world.a)
    await fire(engine, DUE_KIND, Reminders(None, "").fire_due)

    mine = await followups.ListNotifications(pb.ListNotificationsRequest(), metadata=world.a)
    assert mine.unread_count == 1 and [n.kind for n in mine.items] == ["task_due"]
    theirs = await followups.ListNotifications(pb.ListNotificationsRequest(), metadata=world.b)
    assert list(theirs.items) == [] and theirs.unread_count == 0
    notice_id = mine.items[0].id
    stolen = await followups.MarkNotificationsRead(pb.MarkNotificationsReadRequest(ids=[notice_id]), metadata=world.b)
    assert stolen.marked == 0
    read = await followups.MarkNotificationsRead(pb.MarkNotificationsReadRequest(ids=[notice_id]), metadata=world.a)
    assert (read.marked, read.unread_count) == (1, 0)
    unread = await followups.ListNotifications(pb.ListNotificationsRequest(unread_only=True), metadata=world.a)
    assert list(unread.items) == []

    client = token_for(world.tenant_id, WRITE)
    assert list((await followups.ListNotifications(pb.ListNotificationsRequest(), metadata=client)).items) == []
    refused = await rejected(followups.MarkNotificationsRead(pb.MarkNotificationsReadRequest(all=True),
                                                             metadata=client))
    assert refused.code() == grpc.StatusCode.INVALID_ARGUMENT and field_errors(refused) == [("token", "not_a_user")]
    bad = await rejected(followups.MarkNotificationsRead(pb.MarkNotificationsReadRequest(ids=["x"]), metadata=world.a))
    assert field_errors(bad) == [("ids[0]", "invalid_id")]
    denied = await rejected(followups.ListNotifications(pb.ListNotificationsRequest(), metadata=world.user(
        world.rep_a, "own", scopes=["customers:read"])))
    assert denied.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_the_fast_event_data_is_the_proto_mapping(
    followups: Stub, engine: AsyncEngine, world: World,  # noqa: F811
) -> None:
    """task_event_data (what the reminder handler writes 100,000 times a minute) agrees with the one
    mapping, proto_data(task_to_proto(row)), for open, overdue and done tasks with every field."""
    customer = await world.customer(world.rep_a)
    now = datetime.now(UTC)
    open_task = await followups.CreateTask(task_request(
        customer_id=str(customer), due_at=stamp(now + timedelta(days=1, microseconds=123456)), method="phone",
        content="问预算", assignee_id=str(world.rep_a)), metadata=world.a)
    late = await followups.CreateTask(task_request(customer_id=str(customer), due_at=stamp(now - timedelta(
        hours=1, microseconds=5000))), metadata=world.a)
    record = await followups.CreateRecord(pb.CreateRecordRequest(
        customer_id=str(customer), method="visit", content="x", result="interested", task_id=late.id,
        next_followup_at=stamp(now + timedelta(days=3))), metadata=world.a)
    async with tenant_session(engine, world.tenant_id) as session:
        rows = await get_many(session, [uuid.UUID(i) for i in (open_task.id, late.id, record.next_task_id)])
    assert len(rows) == 3
    for row in rows:
        assert task_event_data(row, now) == proto_data(task_to_proto(row, now))
