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
    Multiline,
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
    status: str = Field(description='"open", "done" or "cancelled" (its cadence tag was removed)')
    assignee_id: str
    cadence_rule_id: str = Field(description="Set when a cadence rule created the task")
    created_at: datetime | None
    created_by: str = Field(description='Who created it: a user id, "client:<client id>" for an API client, or '
                                        '"" for a cadence rule (and tasks made before this was recorded)')
    method: str = Field(description="A code of the tenant's follow-up method dictionary, or empty")
    content: str = Field(description="What to do")
    completed_at: datetime | None
    record_id: str = Field(description="The follow-up record that completed it")
    source_record_id: str = Field(description="The follow-up record whose next follow-up time created it")
    overdue: bool = Field(description="Open and past its planned time when read")


def task_out(message: Any) -> FollowupTask:
    return FollowupTask(
        id=message.id, customer_id=message.customer_id, title=message.title, due_at=timestamp(message.due_at),
        status=message.status, assignee_id=message.assignee_id, cadence_rule_id=message.cadence_rule_id,
        created_at=timestamp(message.created_at), created_by=message.created_by, method=message.method,
        content=message.content, completed_at=timestamp(message.completed_at) if message.HasField("completed_at")
        else None, record_id=message.record_id, source_record_id=message.source_record_id, overdue=message.overdue,
    )


class FollowupTaskCreate(RequestBody):
    customer_id: str
    title: Name
    due_at: AwareDatetime = Field(description="The planned time, RFC 3339 with an offset")
    assignee_id: str = Field("", description="A user of the tenant (400 `unknown_user` otherwise)")
    method: str = Field("", description="A code of the method dictionary (`GET /v1/followup-dictionaries/method`)")
    content: Multiline = ""


class FollowupTaskUpdate(RequestBody):
    due_at: AwareDatetime | None = Field(None, description="Reschedule")
    assignee_id: str | None = Field(None, description='Reassign to this user; "" for nobody')
    content: Multiline | None = None
    method: str | None = None


class FollowupTaskQuery(PageQuery):
    customer_id: str = Field("", description="Only this customer's tasks")
    assignee_id: str = Field("", description='Only tasks assigned to this user; "me" for yourself')
    status: str = Field("", description='"open", "done", "cancelled" or empty for all')
    due_after: AwareDatetime | None = Field(None, description="Planned at or after this time")
    due_before: AwareDatetime | None = Field(None, description="Planned before this time")
    overdue: bool = Field(False, description="Only open tasks past their planned time")


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
        pb.ListTasksRequest(customer_id=query.customer_id, page_size=query.size, page_token=query.page_token,
                            assignee_id=query.assignee_id, status=query.status, due_after=_timestamp(query.due_after),
                            due_before=_timestamp(query.due_before), overdue=query.overdue),
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
                             assignee_id=body.assignee_id, method=body.method, content=body.content),
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


@router.patch(
    "/{task_id}",
    response_model=FollowupTask,
    **operation(operation_id="updateFollowupTask", summary="Reschedule, reassign or rewrite a follow-up task",
                scopes=[Scope.FOLLOWUPS_WRITE], errors=[*WRITE_ERRORS, 404],
                description="Only the fields sent change. An open task only (409 `task_done`); emits "
                            "`crm.followup_task.updated` with the changed fields and moves its reminder."),
)
async def update_task(task_id: str, body: FollowupTaskUpdate, caller: CallerDep,
                      services: BackendsDep) -> FollowupTask:
    reply = await caller.call(services.followups.UpdateTask, pb.UpdateTaskRequest(
        id=task_id, due_at=_timestamp(body.due_at), change_assignee=body.assignee_id is not None,
        assignee_id=body.assignee_id or "", change_content=body.content is not None, content=body.content or "",
        change_method=body.method is not None, method=body.method or "",
    ))
    return task_out(reply)


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
