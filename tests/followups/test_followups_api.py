"""The follow-ups gRPC API through the real edge: validation, events, scopes, pagination."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
import pytest
import sqlalchemy as sa
from google.protobuf.timestamp_pb2 import Timestamp
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_followups import access
from crm_platform.db import control_session, tenant_session
from crm_platform.errors import decode_rpc_error
from crm_platform.events import subject_for
from crm_platform.tables import outbox
from crm_proto.crm.followups.v1 import followups_pb2 as pb
from crm_proto.crm.followups.v1 import followups_pb2_grpc

# Builds call metadata with an access token for (tenant, scopes); see conftest.token_for.
TokenFor = Callable[[uuid.UUID, list[str]], tuple[tuple[str, str], ...]]
WRITE = ["followups:write", "followups:read"]
MANAGE = ["followups:manage", "followups:read"]


def field_errors(error: grpc.aio.AioRpcError) -> list[tuple[str, str]]:
    return sorted((e["field"], e["code"]) for e in decode_rpc_error(error).errors)


async def rejected(call: Any) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    return caught.value


def stamp(value: datetime) -> Timestamp:
    result = Timestamp()
    result.FromDatetime(value)
    return result


def task_request(**overrides: Any) -> pb.CreateTaskRequest:
    fields: dict[str, Any] = {"customer_id": str(uuid.uuid4()), "title": "Call back",
                              "due_at": stamp(datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)), **overrides}
    if fields["due_at"] is None:
        del fields["due_at"]
    return pb.CreateTaskRequest(**fields)


async def add_user(engine: AsyncEngine, tenant_id: uuid.UUID, team_id: uuid.UUID | None = None) -> uuid.UUID:
    """A user of the tenant as followups learns them from identity's events (`user_teams`)."""
    user_id = uuid.uuid4()
    async with tenant_session(engine, tenant_id) as session:
        await session.execute(sa.insert(access.user_teams).values(user_id=user_id, team_id=team_id, version=1))
    return user_id


async def task_events(engine: AsyncEngine, tenant_id: uuid.UUID) -> list[dict[str, Any]]:
    async with control_session(engine) as session:
        rows = (await session.execute(
            sa.select(outbox.c.payload).where(
                outbox.c.tenant_id == tenant_id,
                outbox.c.subject == subject_for(tenant_id, "followup_task", "created"),
            ).order_by(outbox.c.seq)
        )).scalars()
        return list(rows)


async def test_create_task_stores_it_and_announces_it(
    followups: followups_pb2_grpc.FollowupServiceStub, engine: AsyncEngine, tenant_id: uuid.UUID,
    token_for: TokenFor,
) -> None:
    assignee = str(await add_user(engine, tenant_id))
    request = task_request(title="  回访客户  ", assignee_id=assignee)

    task = await followups.CreateTask(request, metadata=token_for(tenant_id, WRITE))

    assert (task.customer_id, task.title, task.status, task.assignee_id, task.cadence_rule_id) == (
        request.customer_id, "回访客户", "open", assignee, "")
    assert task.due_at.ToDatetime(tzinfo=UTC) == datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
    [event] = await task_events(engine, tenant_id)
    assert event["type"] == "crm.followup_task.created"
    assert event["data"]["task"]["id"] == task.id
    assert event["data"]["task"]["title"] == "回访客户"


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"customer_id": ""}, [("customer_id", "required")]),
        ({"customer_id": "CUS-2024-000001"}, [("customer_id", "invalid_id")]),
        ({"title": " "}, [("title", "required")]),
        ({"title": "t" * 201}, [("title", "too_long")]),
        ({"due_at": None}, [("due_at", "required")]),
        ({"assignee_id": "me"}, [("assignee_id", "invalid_id")]),
        ({"assignee_id": str(uuid.uuid4())}, [("assignee_id", "unknown_user")]),
        ({"method": "fax"}, [("method", "unknown_code")]),
        ({"customer_id": "x", "title": "", "due_at": None},
         [("customer_id", "invalid_id"), ("due_at", "required"), ("title", "required")]),
    ],
)
async def test_create_task_rejects_bad_input_and_writes_nothing(
    followups: followups_pb2_grpc.FollowupServiceStub, engine: AsyncEngine, tenant_id: uuid.UUID,
    token_for: TokenFor, overrides: dict[str, Any], expected: list[tuple[str, str]],
) -> None:
    md = token_for(tenant_id, WRITE)

    error = await rejected(followups.CreateTask(task_request(**overrides), metadata=md))

    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field_errors(error) == expected
    assert list((await followups.ListTasks(pb.ListTasksRequest(), metadata=md)).items) == []
    assert await task_events(engine, tenant_id) == []


async def test_an_out_of_range_due_at_is_invalid_input_not_a_crash(
    followups: followups_pb2_grpc.FollowupServiceStub, tenant_id: uuid.UUID, token_for: TokenFor,
) -> None:
    request = task_request(due_at=Timestamp(seconds=10**12))

    error = await rejected(followups.CreateTask(request, metadata=token_for(tenant_id, WRITE)))

    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field_errors(error) == [("due_at", "invalid_timestamp")]


async def test_scopes_are_enforced(
    followups: followups_pb2_grpc.FollowupServiceStub, tenant_id: uuid.UUID, token_for: TokenFor,
) -> None:
    reader = token_for(tenant_id, ["followups:read"])

    denied = await rejected(followups.CreateTask(task_request(), metadata=reader))
    wrong_service = await rejected(followups.ListTasks(pb.ListTasksRequest(),
                                                       metadata=token_for(tenant_id, ["tags:read"])))

    assert denied.code() == grpc.StatusCode.PERMISSION_DENIED
    assert wrong_service.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_list_tasks_pages_soonest_due_first_and_filters_by_customer(
    followups: followups_pb2_grpc.FollowupServiceStub, tenant_id: uuid.UUID, token_for: TokenFor,
) -> None:
    md = token_for(tenant_id, WRITE)
    mine, theirs = str(uuid.uuid4()), str(uuid.uuid4())
    start = datetime(2030, 1, 1, tzinfo=UTC)
    created = [
        await followups.CreateTask(task_request(customer_id=mine, due_at=stamp(start + timedelta(days=d))),
                                   metadata=md)
        for d in (3, 1, 2, 5, 4)
    ]
    await followups.CreateTask(task_request(customer_id=theirs), metadata=md)

    seen: list[str] = []
    token = ""
    while True:
        page = await followups.ListTasks(pb.ListTasksRequest(customer_id=mine, page_size=2, page_token=token),
                                         metadata=md)
        seen += [t.id for t in page.items]
        token = page.next_page_token
        if not token:
            break
        last_token = token

    by_due = sorted(created, key=lambda t: t.due_at.ToDatetime())
    assert seen == [t.id for t in by_due]
    everyone = await followups.ListTasks(pb.ListTasksRequest(), metadata=md)
    assert len(everyone.items) == 6
    # A token is bound to its query: reusing it for another customer's list is refused.
    mixed = await rejected(followups.ListTasks(pb.ListTasksRequest(customer_id=theirs, page_token=last_token),
                                               metadata=md))
    assert field_errors(mixed) == [("page_token", "invalid_page_token")]
    malformed = await rejected(followups.ListTasks(pb.ListTasksRequest(customer_id="42"), metadata=md))
    assert field_errors(malformed) == [("customer_id", "invalid_id")]


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"tag_id": ""}, [("tag_id", "required")]),
        ({"tag_id": "vip"}, [("tag_id", "invalid_id")]),
        ({"due_in_days": 0}, [("due_in_days", "out_of_range")]),
        ({"due_in_days": 366}, [("due_in_days", "out_of_range")]),
        ({"due_in_days": -5}, [("due_in_days", "out_of_range")]),
        ({"title": ""}, [("title", "required")]),
        ({"title": "t" * 201}, [("title", "too_long")]),
    ],
)
async def test_create_cadence_rule_rejects_bad_input_and_writes_nothing(
    followups: followups_pb2_grpc.FollowupServiceStub, tenant_id: uuid.UUID, token_for: TokenFor,
    overrides: dict[str, Any], expected: list[tuple[str, str]],
) -> None:
    md = token_for(tenant_id, MANAGE)
    request = {"tag_id": str(uuid.uuid4()), "due_in_days": 3, "title": "Welcome call", **overrides}

    error = await rejected(followups.CreateCadenceRule(pb.CreateCadenceRuleRequest(**request), metadata=md))

    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field_errors(error) == expected
    assert list((await followups.ListCadenceRules(pb.ListCadenceRulesRequest(), metadata=md)).items) == []


async def test_create_and_list_cadence_rules(
    followups: followups_pb2_grpc.FollowupServiceStub, tenant_id: uuid.UUID, token_for: TokenFor,
) -> None:
    md = token_for(tenant_id, MANAGE)
    tag_id = str(uuid.uuid4())

    first = await followups.CreateCadenceRule(
        pb.CreateCadenceRuleRequest(tag_id=tag_id, due_in_days=1, title="Welcome call"), metadata=md)
    last = await followups.CreateCadenceRule(
        pb.CreateCadenceRuleRequest(tag_id=tag_id, due_in_days=365, title="Anniversary"), metadata=md)
    listed = await followups.ListCadenceRules(pb.ListCadenceRulesRequest(), metadata=md)

    assert [(r.id, r.tag_id, r.due_in_days, r.title) for r in listed.items] == [
        (first.id, tag_id, 1, "Welcome call"), (last.id, tag_id, 365, "Anniversary")]
