"""Follow-up records and richer tasks through the real edge (docs/followups.md): numbering from the
tenant's pattern, the next task a record schedules, completing a task by logging its record,
rescheduling and reassigning, the tenant's dictionaries, the events, the reminder schedules, and
data scope on records (the customer's, as for tasks)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_followups.record.tables import followup_settings
from crm_followups.task.service import DUE_KIND, due_key
from crm_platform import scheduler
from crm_platform.db import control_session, tenant_session
from crm_platform.events import subject_for
from crm_platform.tables import outbox
from crm_proto.crm.followups.v1 import followups_pb2 as pb
from crm_proto.crm.followups.v1 import followups_pb2_grpc
from tests.followups.test_followups_api import (
    MANAGE,
    WRITE,
    TokenFor,
    add_user,
    field_errors,
    rejected,
    stamp,
    task_request,
)
from tests.followups.test_followups_scope import World, world  # noqa: F401 - the fixture

Stub = followups_pb2_grpc.FollowupServiceStub


def record_request(customer_id: uuid.UUID | str | None = None, **overrides: Any) -> pb.CreateRecordRequest:
    fields: dict[str, Any] = {"customer_id": str(customer_id or uuid.uuid4()), "method": "phone",
                              "content": "聊了新报价\n客户要再想想", "result": "needs_followup", **overrides}
    return pb.CreateRecordRequest(**{k: v for k, v in fields.items() if v is not None})


async def events(engine: AsyncEngine, tenant_id: uuid.UUID, aggregate: str, verb: str) -> list[dict[str, Any]]:
    async with control_session(engine) as session:
        return list((await session.execute(sa.select(outbox.c.payload).where(
            outbox.c.tenant_id == tenant_id, outbox.c.subject == subject_for(tenant_id, aggregate, verb),
        ).order_by(outbox.c.seq))).scalars())


async def schedule_of(engine: AsyncEngine, tenant_id: uuid.UUID, task_id: str) -> sa.Row[Any] | None:
    async with control_session(engine) as session:
        return await scheduler.get(session, tenant_id, DUE_KIND, due_key(uuid.UUID(task_id)))


async def test_a_record_is_numbered_by_day_and_schedules_the_next_task(
    followups: Stub, engine: AsyncEngine, tenant_id: uuid.UUID, world: World,  # noqa: F811
) -> None:
    customer = await world.customer(world.rep_a)
    at = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    nxt = at + timedelta(days=3)
    first = await followups.CreateRecord(record_request(
        customer, followed_at=stamp(at), next_followup_at=stamp(nxt), next_action="  发合同  ",
        next_method="VISIT"), metadata=world.a)
    second = await followups.CreateRecord(record_request(customer, method="email", result="interested"),
                                          metadata=world.a)

    today = datetime.now(UTC).strftime("%Y%m%d")
    assert (first.number, second.number) == (f"{today}001", f"{today}002")
    assert (first.method, first.result, first.followed_by) == ("phone", "needs_followup", str(world.rep_a))
    assert first.content == "聊了新报价\n客户要再想想" and first.followed_at.ToDatetime(tzinfo=UTC) == at
    assert first.next_task_id and not second.next_task_id
    task = await followups.GetTask(pb.GetTaskRequest(id=first.next_task_id), metadata=world.a)
    assert (task.title, task.method, task.assignee_id, task.status, task.source_record_id) == (
        "发合同", "visit", str(world.rep_a), "open", first.id)
    assert task.due_at.ToDatetime(tzinfo=UTC) == nxt and not task.overdue
    # The reminder waits in the platform scheduler for the planned time.
    reminder = await schedule_of(engine, tenant_id, task.id)
    assert reminder is not None and reminder.due_at == nxt

    created, _ = await events(engine, tenant_id, "followup_record", "created")
    assert created["data"]["record"]["id"] == first.id
    assert (created["data"]["method_zh"], created["data"]["result_en"]) == ("电话", "Needs follow-up")
    assert len(await events(engine, tenant_id, "followup_task", "created")) == 1
    listed = await followups.ListRecords(pb.ListRecordsRequest(customer_id=str(customer)), metadata=world.a)
    assert [r.id for r in listed.items] == [second.id, first.id]  # newest first
    assert (await followups.GetRecord(pb.GetRecordRequest(id=first.id), metadata=world.a)).number == first.number


async def test_the_tenant_pattern_decides_the_number(
    followups: Stub, engine: AsyncEngine, tenant_id: uuid.UUID, token_for: TokenFor,
) -> None:
    async with tenant_session(engine, tenant_id) as session:
        await session.execute(sa.update(followup_settings).where(followup_settings.c.key == "record_number_pattern")
                              .values(value="GJ-{yy}{month}-{seq:05}"))
    record = await followups.CreateRecord(record_request(), metadata=token_for(tenant_id, WRITE))
    assert record.number == f"GJ-{datetime.now(UTC):%y%m}-00001"
    assert record.followed_by == "client:test"


async def test_logging_a_record_completes_its_task_once(
    followups: Stub, engine: AsyncEngine, tenant_id: uuid.UUID, world: World,  # noqa: F811
) -> None:
    customer = await world.customer(world.rep_a)
    task = await followups.CreateTask(task_request(customer_id=str(customer), assignee_id=str(world.rep_a)),
                                      metadata=world.a)
    assert await schedule_of(engine, tenant_id, task.id) is not None
    record = await followups.CreateRecord(record_request(customer, task_id=task.id, result="interested"),
                                          metadata=world.a)
    done = await followups.GetTask(pb.GetTaskRequest(id=task.id), metadata=world.a)
    assert (done.status, done.record_id, record.task_id) == ("done", record.id, task.id)
    assert done.completed_at.ToDatetime(tzinfo=UTC) == record.followed_at.ToDatetime(tzinfo=UTC)
    assert await schedule_of(engine, tenant_id, task.id) is None  # no reminder for a done task
    [completed] = await events(engine, tenant_id, "followup_task", "completed")
    assert completed["data"]["task"]["record_id"] == record.id

    again = await rejected(followups.CreateRecord(record_request(customer, task_id=task.id), metadata=world.a))
    assert field_errors(again) == [("task_id", "task_done")]
    other = await world.customer(world.rep_a)
    open_task = await followups.CreateTask(task_request(customer_id=str(other)), metadata=world.a)
    mismatch = await rejected(followups.CreateRecord(record_request(customer, task_id=open_task.id),
                                                     metadata=world.a))
    assert field_errors(mismatch) == [("task_id", "other_customer")]
    assert len(await events(engine, tenant_id, "followup_record", "created")) == 1


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"method": "", "result": "", "content": " "},
         [("content", "required"), ("method", "required"), ("result", "required")]),
        ({"method": "fax", "result": "maybe"}, [("method", "unknown_code"), ("result", "unknown_code")]),
        ({"content": "x" * 10_001}, [("content", "too_long")]),
        ({"followed_at": stamp(datetime.now(UTC) + timedelta(hours=2))}, [("followed_at", "in_future")]),
        ({"followed_at": stamp(datetime(2030, 1, 1, tzinfo=UTC) - timedelta(days=3650)),
          "next_followup_at": stamp(datetime(2019, 1, 1, tzinfo=UTC))},
         [("next_followup_at", "before_followed_at")]),
        ({"next_action": "call again"}, [("next_followup_at", "required")]),
        ({"next_followup_at": stamp(datetime(2031, 1, 1, tzinfo=UTC)), "next_assignee_id": str(uuid.uuid4()),
          "next_method": "fax"}, [("next_assignee_id", "unknown_user"), ("next_method", "unknown_code")]),
        ({"next_followup_at": stamp(datetime(2031, 1, 1, tzinfo=UTC)), "next_action": "y" * 201},
         [("next_action", "too_long")]),
        ({"customer_id": "nope", "task_id": "x"}, [("customer_id", "invalid_id")]),
    ],
)
async def test_bad_records_are_refused_and_write_nothing(
    followups: Stub, engine: AsyncEngine, tenant_id: uuid.UUID, token_for: TokenFor,
    overrides: dict[str, Any], expected: list[tuple[str, str]],
) -> None:
    md = token_for(tenant_id, WRITE)
    error = await rejected(followups.CreateRecord(record_request(**overrides), metadata=md))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field_errors(error) == expected
    assert list((await followups.ListRecords(pb.ListRecordsRequest(), metadata=md)).items) == []
    assert list((await followups.ListTasks(pb.ListTasksRequest(), metadata=md)).items) == []
    assert await events(engine, tenant_id, "followup_record", "created") == []


async def test_records_follow_the_customers_data_scope(
    followups: Stub, engine: AsyncEngine, tenant_id: uuid.UUID, world: World,  # noqa: F811
    token_for: TokenFor, provision_tenant: Any,
) -> None:
    a_customer, b_customer = await world.customer(world.rep_a), await world.customer(world.rep_b)
    mine = await followups.CreateRecord(record_request(a_customer), metadata=world.a)
    theirs = await followups.CreateRecord(record_request(b_customer), metadata=world.b)

    async def ids(md: Any, **request: Any) -> set[str]:
        reply = await followups.ListRecords(pb.ListRecordsRequest(page_size=100, **request), metadata=md)
        return {r.id for r in reply.items}

    assert await ids(world.a) == {mine.id}
    assert await ids(world.m) == {mine.id}  # manager of A's team
    assert await ids(world.admin) == {mine.id, theirs.id}
    assert await ids(world.b, customer_id=str(a_customer)) == set()
    assert await ids(world.admin, followed_by=str(world.rep_b)) == {theirs.id}
    assert await ids(world.a, followed_by="me") == {mine.id}
    for call in (followups.GetRecord(pb.GetRecordRequest(id=mine.id), metadata=world.b),
                 followups.CreateRecord(record_request(a_customer), metadata=world.b)):
        assert (await rejected(call)).code() == grpc.StatusCode.NOT_FOUND
    other = provision_tenant()
    elsewhere = await rejected(followups.GetRecord(pb.GetRecordRequest(id=mine.id),
                                                   metadata=token_for(other, WRITE)))
    assert elsewhere.code() == grpc.StatusCode.NOT_FOUND
    denied = await rejected(followups.CreateRecord(record_request(a_customer),
                                                   metadata=token_for(tenant_id, ["followups:read"])))
    assert denied.code() == grpc.StatusCode.PERMISSION_DENIED
    # Logging for someone else needs followups:manage.
    forged = await rejected(followups.CreateRecord(record_request(a_customer, followed_by=str(world.rep_b)),
                                                   metadata=world.a))
    assert forged.code() == grpc.StatusCode.PERMISSION_DENIED
    by_manager = await followups.CreateRecord(
        record_request(a_customer, followed_by=str(world.rep_a)),
        metadata=world.user(world.manager, "team", [world.team_1], scopes=[*WRITE, "followups:manage"]))
    assert by_manager.followed_by == str(world.rep_a) and by_manager.created_by == str(world.manager)


async def test_records_page_newest_first_within_a_range(
    followups: Stub, tenant_id: uuid.UUID, token_for: TokenFor,
) -> None:
    md = token_for(tenant_id, WRITE)
    base = datetime(2026, 3, 20, 9, tzinfo=UTC)
    customer = str(uuid.uuid4())
    for day in range(5):
        await followups.CreateRecord(record_request(customer, followed_at=stamp(base + timedelta(days=day))),
                                     metadata=md)
    request = pb.ListRecordsRequest(since=stamp(base + timedelta(days=1)), until=stamp(base + timedelta(days=4)),
                                    page_size=2)
    first = await followups.ListRecords(request, metadata=md)
    request.page_token = first.next_page_token
    second = await followups.ListRecords(request, metadata=md)
    days = [r.followed_at.ToDatetime(tzinfo=UTC).day for r in [*first.items, *second.items]]
    assert days == [23, 22, 21] and not second.next_page_token
    bad = await rejected(followups.ListRecords(pb.ListRecordsRequest(page_token=first.next_page_token), metadata=md))
    assert field_errors(bad) == [("page_token", "invalid_page_token")]


async def test_tasks_are_rescheduled_and_reassigned_until_done(
    followups: Stub, engine: AsyncEngine, tenant_id: uuid.UUID, token_for: TokenFor,
) -> None:
    md = token_for(tenant_id, WRITE)
    rep = await add_user(engine, tenant_id)
    task = await followups.CreateTask(task_request(method="phone", content="问预算"), metadata=md)
    later = datetime(2031, 5, 6, 7, 8, tzinfo=UTC)
    moved = await followups.UpdateTask(pb.UpdateTaskRequest(id=task.id, due_at=stamp(later), change_assignee=True,
                                                            assignee_id=str(rep)), metadata=md)
    assert (moved.due_at.ToDatetime(tzinfo=UTC), moved.assignee_id, moved.content) == (later, str(rep), "问预算")
    reminder = await schedule_of(engine, tenant_id, task.id)
    assert reminder is not None and reminder.due_at == later
    [updated] = await events(engine, tenant_id, "followup_task", "updated")
    assert updated["data"]["changed_fields"] == ["assignee_id", "due_at"]
    unchanged = await followups.UpdateTask(pb.UpdateTaskRequest(id=task.id, due_at=stamp(later)), metadata=md)
    assert unchanged.id == task.id and len(await events(engine, tenant_id, "followup_task", "updated")) == 1

    bad = await rejected(followups.UpdateTask(pb.UpdateTaskRequest(
        id=task.id, change_assignee=True, assignee_id=str(uuid.uuid4()), change_method=True, method="fax"),
        metadata=md))
    assert field_errors(bad) == [("assignee_id", "unknown_user"), ("method", "unknown_code")]
    await followups.CompleteTask(pb.CompleteTaskRequest(id=task.id), metadata=md)
    done = await rejected(followups.UpdateTask(pb.UpdateTaskRequest(id=task.id, due_at=stamp(later)), metadata=md))
    assert done.code() == grpc.StatusCode.ALREADY_EXISTS
    assert await schedule_of(engine, tenant_id, task.id) is None


async def test_task_lists_filter_by_assignee_status_and_overdue(
    followups: Stub, tenant_id: uuid.UUID, world: World,  # noqa: F811
) -> None:
    customer = await world.customer(world.rep_a)
    now = datetime.now(UTC)

    async def task(title: str, due: datetime, assignee: uuid.UUID | None) -> pb.Task:
        return await followups.CreateTask(task_request(customer_id=str(customer), title=title, due_at=stamp(due),
                                                       assignee_id=str(assignee or "")), metadata=world.a)

    late = await task("late", now - timedelta(hours=2), world.rep_a)
    await task("soon", now + timedelta(hours=2), world.rep_a)
    await task("manager's", now + timedelta(days=2), world.manager)
    done = await task("done", now - timedelta(days=1), world.rep_a)
    await followups.CompleteTask(pb.CompleteTaskRequest(id=done.id), metadata=world.a)

    async def titles(**request: Any) -> list[str]:
        reply = await followups.ListTasks(pb.ListTasksRequest(customer_id=str(customer), **request),
                                          metadata=world.a)
        return [t.title for t in reply.items]

    assert await titles(assignee_id="me", status="open") == ["late", "soon"]
    assert await titles(overdue=True) == ["late"]
    assert await titles(status="done") == ["done"]
    assert await titles(due_after=stamp(now), due_before=stamp(now + timedelta(days=1))) == ["soon"]
    assert await titles(assignee_id=str(world.manager)) == ["manager's"]
    got = await followups.GetTask(pb.GetTaskRequest(id=late.id), metadata=world.a)
    assert got.overdue
    bad = await rejected(followups.ListTasks(pb.ListTasksRequest(status="late", assignee_id="x"), metadata=world.a))
    assert field_errors(bad) == [("assignee_id", "invalid_id"), ("status", "invalid_choice")]


async def test_dictionaries_are_the_tenants_and_managed_by_managers(
    followups: Stub, tenant_id: uuid.UUID, token_for: TokenFor,
) -> None:
    read = token_for(tenant_id, ["followups:read"])
    methods = await followups.GetDictionary(pb.GetDictionaryRequest(name="method"), metadata=read)
    assert [(e.code, e.label_zh) for e in methods.entries] == [
        ("phone", "电话"), ("visit", "拜访"), ("email", "邮件"), ("online_meeting", "线上会议")]
    results = await followups.GetDictionary(pb.GetDictionaryRequest(name="result"), metadata=read)
    assert [e.label_en for e in results.entries] == ["Interested", "Needs follow-up", "Not interested"]
    unknown = await rejected(followups.GetDictionary(pb.GetDictionaryRequest(name="industry"), metadata=read))
    assert unknown.code() == grpc.StatusCode.NOT_FOUND

    entries = [pb.DictionaryEntry(code="quote_sent", label_en="Quote sent", label_zh="已报价")]
    denied = await rejected(followups.ReplaceDictionary(pb.ReplaceDictionaryRequest(name="result", entries=entries),
                                                        metadata=token_for(tenant_id, WRITE)))
    assert denied.code() == grpc.StatusCode.PERMISSION_DENIED
    replaced = await followups.ReplaceDictionary(pb.ReplaceDictionaryRequest(name="result", entries=entries),
                                                 metadata=token_for(tenant_id, MANAGE))
    assert [e.code for e in replaced.entries] == ["quote_sent"]
    record = await followups.CreateRecord(record_request(result="quote_sent"),
                                          metadata=token_for(tenant_id, WRITE))
    assert record.result == "quote_sent"
    bad = await rejected(followups.ReplaceDictionary(pb.ReplaceDictionaryRequest(name="result", entries=[
        pb.DictionaryEntry(code="Bad Code", label_en="", label_zh="x"),
        pb.DictionaryEntry(code="ok", label_en="a", label_zh="b"), pb.DictionaryEntry(code="ok", label_en="a",
                                                                                       label_zh="b")]),
        metadata=token_for(tenant_id, MANAGE)))
    assert field_errors(bad) == [("entries[0].code", "invalid_code"), ("entries[0].label_en", "required"),
                                 ("entries[2].code", "duplicate")]
