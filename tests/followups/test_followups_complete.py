"""Completing a follow-up task through the real edge: done once, one `followup_task.completed`
event in the outbox (the customers timeline consumes it), scopes, bad and unknown ids."""

from __future__ import annotations

import json
import uuid

import grpc
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_platform.db import control_session
from crm_platform.events import subject_for
from crm_platform.tables import outbox
from crm_proto.crm.followups.v1 import followups_pb2 as pb
from crm_proto.crm.followups.v1 import followups_pb2_grpc
from tests.followups.test_followups_api import WRITE, TokenFor, field_errors, rejected, task_request


async def completed_events(engine: AsyncEngine, tenant_id: uuid.UUID) -> list[dict]:  # type: ignore[type-arg]
    async with control_session(engine) as session:
        rows = (await session.execute(sa.select(outbox.c.payload).where(
            outbox.c.tenant_id == tenant_id,
            outbox.c.subject == subject_for(tenant_id, "followup_task", "completed"),
        ))).scalars()
        return [json.loads(r) if isinstance(r, str) else r for r in rows]


async def test_complete_once_with_one_event(followups: followups_pb2_grpc.FollowupServiceStub, token_for: TokenFor,
                                            tenant_id: uuid.UUID, engine: AsyncEngine) -> None:
    meta = token_for(tenant_id, WRITE)
    task = await followups.CreateTask(task_request(), metadata=meta)
    done = await followups.CompleteTask(pb.CompleteTaskRequest(id=task.id), metadata=meta)
    assert done.status == "done" and done.id == task.id
    again = await followups.CompleteTask(pb.CompleteTaskRequest(id=task.id), metadata=meta)
    assert again.status == "done"
    events = await completed_events(engine, tenant_id)
    assert len(events) == 1
    assert events[0]["data"]["task"]["id"] == task.id and events[0]["data"]["completed_by"] == "client:test"
    assert events[0]["data"]["task"]["customer_id"] == task.customer_id
    listed = await followups.ListTasks(pb.ListTasksRequest(customer_id=task.customer_id), metadata=meta)
    assert [t.status for t in listed.items] == ["done"]


async def test_complete_needs_write_and_a_known_id(followups: followups_pb2_grpc.FollowupServiceStub,
                                                   token_for: TokenFor, tenant_id: uuid.UUID,
                                                   provision_tenant) -> None:  # type: ignore[no-untyped-def]
    meta = token_for(tenant_id, WRITE)
    task = await followups.CreateTask(task_request(), metadata=meta)
    denied = await rejected(followups.CompleteTask(pb.CompleteTaskRequest(id=task.id),
                                                   metadata=token_for(tenant_id, ["followups:read"])))
    assert denied.code() == grpc.StatusCode.PERMISSION_DENIED
    bad = await rejected(followups.CompleteTask(pb.CompleteTaskRequest(id="nope"), metadata=meta))
    assert bad.code() == grpc.StatusCode.INVALID_ARGUMENT and field_errors(bad) == [("id", "invalid_id")]
    missing = await rejected(followups.CompleteTask(pb.CompleteTaskRequest(id=str(uuid.uuid4())), metadata=meta))
    assert missing.code() == grpc.StatusCode.NOT_FOUND
    other = provision_tenant()
    elsewhere = await rejected(followups.CompleteTask(pb.CompleteTaskRequest(id=task.id),
                                                      metadata=token_for(other, WRITE)))
    assert elsewhere.code() == grpc.StatusCode.NOT_FOUND
