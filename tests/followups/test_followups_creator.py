"""Who created a follow-up task (`created_by`): the user, "client:<id>" for an API client, empty for
a cadence rule; on the reply, in reads and in `followup_task.created` (the customer timeline names
the creator from it)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from joserfc.jwk import ECKey
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_followups.task.service import TaskService
from crm_platform.db import tenant_session
from crm_platform.grpc_client import call_metadata
from crm_proto.crm.followups.v1 import followups_pb2 as pb
from crm_proto.crm.followups.v1 import followups_pb2_grpc
from tests.followups.test_followups_api import WRITE, task_events, task_request
from tests.support import access_token


async def test_created_by_names_the_user_or_the_client(
    followups: followups_pb2_grpc.FollowupServiceStub, engine: AsyncEngine, tenant_id: uuid.UUID,
    signing_key: ECKey, task_service: TaskService,
) -> None:
    user = uuid.uuid4()
    as_user = call_metadata(access_token(signing_key, tenant_id, WRITE, uid=str(user), sub=f"user:{user}",
                                         client_id="crm-web", ds="all"))
    as_admin = call_metadata(access_token(signing_key, tenant_id, [*WRITE, "followups:manage"]))
    as_client = call_metadata(access_token(signing_key, tenant_id, WRITE, client_id="erp-sync", sub="client:erp-sync"))

    by_user = await followups.CreateTask(task_request(title="回访"), metadata=as_user)
    by_client = await followups.CreateTask(task_request(title="同步"), metadata=as_client)
    rule = await followups.CreateCadenceRule(pb.CreateCadenceRuleRequest(
        tag_id=str(uuid.uuid4()), due_in_days=1, title="首次回访"), metadata=as_admin)
    async with tenant_session(engine, tenant_id) as session:
        by_rule = await task_service.create_for_event(
            session, tenant_id, customer_id=uuid.uuid4(), title="首次回访", due_at=datetime(2030, 1, 1, tzinfo=UTC),
            cadence_rule_id=uuid.UUID(rule.id), source_event_id=str(uuid.uuid4()))
    assert by_rule is not None

    assert (by_user.created_by, by_client.created_by) == (str(user), "client:erp-sync")
    listed = await followups.ListTasks(pb.ListTasksRequest(), metadata=as_user)
    assert {t.title: t.created_by for t in listed.items} == {
        "回访": str(user), "同步": "client:erp-sync", "首次回访": ""}
    events = {e["data"]["task"]["title"]: e["data"]["task"].get("created_by", "")
              for e in await task_events(engine, tenant_id)}
    assert events == {"回访": str(user), "同步": "client:erp-sync", "首次回访": ""}
