"""/v1/notifications and /v1/notification-preferences (followups): the caller's own reminders of
follow-up tasks and the channels they come by. A user's own only; an API client has none."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import Field

from crm_gateway.api.common import (
    WRITE_ERRORS,
    BackendsDep,
    CallerDep,
    PageQuery,
    RequestBody,
    Resource,
    operation,
    timestamp,
)
from crm_platform.auth import Scope
from crm_proto.crm.followups.v1 import followups_pb2 as pb

router = APIRouter(prefix="/v1", tags=["follow-ups"])


class NotificationOut(Resource):
    id: str
    kind: str = Field(description='"task_due", "task_overdue" or "task_escalated" (a task of your team; '
                      'without task, customer and title when the customer is outside your data scope)')
    task_id: str
    customer_id: str
    title: str
    due_at: datetime | None
    created_at: datetime | None
    read_at: datetime | None


class NotificationPage(Resource):
    items: list[NotificationOut]
    next_page_token: str
    unread_count: int


class NotificationQuery(PageQuery):
    unread_only: bool = Field(False, description="Only unread ones")


class MarkRead(RequestBody):
    ids: list[str] = Field(default_factory=list, description="Notifications to mark read (yours)")
    all: bool = Field(False, description="Mark every unread notification of yours read")


class MarkReadResult(Resource):
    marked: int
    unread_count: int


class NotificationPreferencesBody(RequestBody):
    in_app: bool = Field(description="Reminders in the app (the bell)")
    email: bool = Field(description="Reminders by email")
    digest: bool = Field(description="The morning digest email (08:00 in your time zone)")


class NotificationPreferencesOut(Resource):
    in_app: bool
    email: bool
    digest: bool


def _optional(message: Any, name: str) -> datetime | None:
    return timestamp(getattr(message, name)) if message.HasField(name) else None


def notification_out(message: Any) -> NotificationOut:
    return NotificationOut(id=message.id, kind=message.kind, task_id=message.task_id, customer_id=message.customer_id,
                           title=message.title, due_at=_optional(message, "due_at"),
                           created_at=timestamp(message.created_at), read_at=_optional(message, "read_at"))


@router.get(
    "/notifications",
    response_model=NotificationPage,
    **operation(operation_id="listNotifications", summary="Your notifications, newest first",
                scopes=[Scope.FOLLOWUPS_READ], errors=[400],
                description="Reminders of your follow-up tasks, with your unread count. An API client has none."),
)
async def list_notifications(query: Annotated[NotificationQuery, Query()], caller: CallerDep,
                             services: BackendsDep) -> NotificationPage:
    reply = await caller.call(services.followups.ListNotifications, pb.ListNotificationsRequest(
        unread_only=query.unread_only, page_size=query.size, page_token=query.page_token))
    return NotificationPage(items=[notification_out(n) for n in reply.items], next_page_token=reply.next_page_token,
                            unread_count=reply.unread_count)


@router.post(
    "/notifications:mark-read",
    response_model=MarkReadResult,
    **operation(operation_id="markNotificationsRead", summary="Mark notifications read",
                scopes=[Scope.FOLLOWUPS_READ], errors=WRITE_ERRORS,
                description="Only your own notifications change; ids of others' change nothing."),
)
async def mark_read(body: MarkRead, caller: CallerDep, services: BackendsDep) -> MarkReadResult:
    reply = await caller.call(services.followups.MarkNotificationsRead,
                              pb.MarkNotificationsReadRequest(ids=body.ids, all=body.all))
    return MarkReadResult(marked=reply.marked, unread_count=reply.unread_count)


@router.get(
    "/notification-preferences",
    response_model=NotificationPreferencesOut,
    **operation(operation_id="getNotificationPreferences", summary="Your reminder channels",
                scopes=[Scope.FOLLOWUPS_READ], errors=[400]),
)
async def get_preferences(caller: CallerDep, services: BackendsDep) -> NotificationPreferencesOut:
    reply = await caller.call(services.followups.GetNotificationPreferences, pb.GetNotificationPreferencesRequest())
    return NotificationPreferencesOut(in_app=reply.in_app, email=reply.email, digest=reply.digest)


@router.put(
    "/notification-preferences",
    response_model=NotificationPreferencesOut,
    **operation(operation_id="setNotificationPreferences", summary="Choose your reminder channels",
                scopes=[Scope.FOLLOWUPS_READ], errors=WRITE_ERRORS),
)
async def set_preferences(body: NotificationPreferencesBody, caller: CallerDep,
                          services: BackendsDep) -> NotificationPreferencesOut:
    reply = await caller.call(services.followups.UpdateNotificationPreferences, pb.NotificationPreferences(
        in_app=body.in_app, email=body.email, digest=body.digest))
    return NotificationPreferencesOut(in_app=reply.in_app, email=reply.email, digest=reply.digest)
