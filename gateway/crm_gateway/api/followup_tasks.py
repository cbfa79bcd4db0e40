"""/v1/followup-tasks (followups). Data scope is the followups service's (docs/access.md,
"Enforcement"): a task or customer outside the caller's scope is a 404 like a missing one."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from google.protobuf.timestamp_pb2 import Timestamp
from pydantic import AwareDatetime, Field

from crm_gateway.api.common import (
    WRITE_ERRORS,
    BackendsDep,
    CallerDep,
    Name,
    Page,
    PageQuery,
    RequestBody,
    Resource,
    operation,
    page,
    timestamp,
)
from crm_platform.auth import Scope
from crm_proto.crm.followups.v1 import followups_pb2 as pb

router = APIRouter(prefix="/v1/followup-tasks", tags=["follow-ups"])


class FollowupTask(Resource):
    id: str
    customer_id: str
    title: str
    due_at: datetime | None
    status: str = Field(description='"open" or "done"')
    assignee_id: str
    cadence_rule_id: str = Field(description="Set when a cadence rule created the task")
    created_at: datetime | None
    created_by: str = Field(description='Who created it: a user id, "client:<client id>" for an API client, or '
                                        '"" for a cadence rule (and tasks made before this was recorded)')


def task_out(message: Any) -> FollowupTask:
    return FollowupTask(
        id=message.id, customer_id=message.customer_id, title=message.title, due_at=timestamp(message.due_at),
        status=message.status, assignee_id=message.assignee_id, cadence_rule_id=message.cadence_rule_id,
        created_at=timestamp(message.created_at), created_by=message.created_by,
    )


class FollowupTaskCreate(RequestBody):
    customer_id: str
    title: Name
    due_at: AwareDatetime = Field(description="RFC 3339 with an offset")
    assignee_id: str = ""


class FollowupTaskQuery(PageQuery):
    customer_id: str = Field("", description="Only this customer's tasks")


def _timestamp(value: datetime | None) -> Timestamp | None:
    if value is None:
        return None
    stamp = Timestamp()
    stamp.FromDatetime(value)
    return stamp


@router.get(
    "",
    response_model=Page[FollowupTask],
    **operation(operation_id="listFollowupTasks", summary="List follow-up tasks", scopes=[Scope.FOLLOWUPS_READ],
                errors=[400], description="Only tasks of customers in your data scope, soonest due first."),
)
async def list_tasks(
    query: Annotated[FollowupTaskQuery, Query()], caller: CallerDep, services: BackendsDep
) -> Page[FollowupTask]:
    reply = await caller.call(
        services.followups.ListTasks,
        pb.ListTasksRequest(customer_id=query.customer_id, page_size=query.size, page_token=query.page_token),
    )
    return page([task_out(t) for t in reply.items], reply.next_page_token)


@router.post(
    "",
    response_model=FollowupTask,
    **operation(operation_id="createFollowupTask", summary="Create a follow-up task",
                scopes=[Scope.FOLLOWUPS_WRITE], errors=[*WRITE_ERRORS, 404], status_code=201,
                description="`customer_id` must be a customer of your tenant in your data scope; otherwise 404 "
                            "`not_found`, as for a customer that does not exist."),
)
async def create_task(body: FollowupTaskCreate, response: Response, caller: CallerDep,
                      services: BackendsDep) -> FollowupTask:
    reply = await caller.call(
        services.followups.CreateTask,
        pb.CreateTaskRequest(customer_id=body.customer_id, title=body.title, due_at=_timestamp(body.due_at),
                             assignee_id=body.assignee_id),
    )
    response.headers["Location"] = f"{router.prefix}/{reply.id}"
    return task_out(reply)


@router.get(
    "/{task_id}",
    response_model=FollowupTask,
    **operation(operation_id="getFollowupTask", summary="Get a follow-up task", scopes=[Scope.FOLLOWUPS_READ],
                errors=[400, 404]),
)
async def get_task(task_id: str, caller: CallerDep, services: BackendsDep) -> FollowupTask:
    return task_out(await caller.call(services.followups.GetTask, pb.GetTaskRequest(id=task_id)))


@router.post(
    "/{task_id}:complete",
    response_model=FollowupTask,
    **operation(operation_id="completeFollowupTask", summary="Mark a follow-up task done",
                scopes=[Scope.FOLLOWUPS_WRITE], errors=[*WRITE_ERRORS, 404],
                description="Emits `crm.followup_task.completed` once; completing a done task returns it "
                            "unchanged."),
)
async def complete_task(task_id: str, caller: CallerDep, services: BackendsDep) -> FollowupTask:
    reply = await caller.call(services.followups.CompleteTask, pb.CompleteTaskRequest(id=task_id))
    return task_out(reply)
