"""gRPC transport for follow-ups: translation only."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from crm_followups.cadence.schemas import rule_to_proto
from crm_followups.cadence.service import CadenceService
from crm_followups.record import dictionaries
from crm_followups.record.schemas import dictionary_to_proto, entries_from_proto, record_to_proto
from crm_followups.record.service import RecordService
from crm_followups.reminders.notifications import NotificationService
from crm_followups.reminders.service import Preferences
from crm_followups.task.schemas import optional_timestamp, sent_datetime, task_to_proto, timestamp
from crm_followups.task.service import TaskService
from crm_platform.auth import Scope
from crm_platform.grpc_server import Call, rpc
from crm_proto.crm.followups.v1 import followups_pb2 as pb
from crm_proto.crm.followups.v1 import followups_pb2_grpc

SERVICE_NAME = "crm.followups.v1.FollowupService"


class FollowupServicer(followups_pb2_grpc.FollowupServiceServicer):
    def __init__(self, engine: AsyncEngine, tasks: TaskService, cadences: CadenceService,
                 records: RecordService | None = None):
        self.engine = engine
        self.tasks = tasks
        self.cadences = cadences
        self.records = records or RecordService(tasks)
        self.notifications = NotificationService(tasks.page_tokens)

    @rpc(Scope.FOLLOWUPS_WRITE)
    async def CreateTask(self, request: pb.CreateTaskRequest, call: Call) -> pb.Task:
        row = await self.tasks.create(
            call.session, call.principal, customer_id=request.customer_id, title=request.title,
            due_at=sent_datetime(request, "due_at"), assignee_id=request.assignee_id, method=request.method,
            content=request.content,
        )
        return task_to_proto(row)

    @rpc(Scope.FOLLOWUPS_READ)
    async def GetTask(self, request: pb.GetTaskRequest, call: Call) -> pb.Task:
        return task_to_proto(await self.tasks.get(call.session, call.principal, request.id))

    @rpc(Scope.FOLLOWUPS_WRITE)
    async def CompleteTask(self, request: pb.CompleteTaskRequest, call: Call) -> pb.Task:
        return task_to_proto(await self.tasks.complete(call.session, call.principal, request.id))

    @rpc(Scope.FOLLOWUPS_READ)
    async def ListTasks(self, request: pb.ListTasksRequest, call: Call) -> pb.ListTasksResponse:
        rows, next_token = await self.tasks.list_page(
            call.session, call.principal, customer_id=request.customer_id, size=request.page_size,
            token=request.page_token, assignee_id=request.assignee_id, status=request.status,
            due_after=sent_datetime(request, "due_after"), due_before=sent_datetime(request, "due_before"),
            overdue=request.overdue)
        return pb.ListTasksResponse(items=[task_to_proto(r) for r in rows], next_page_token=next_token)

    @rpc(Scope.FOLLOWUPS_MANAGE)
    async def CreateCadenceRule(self, request: pb.CreateCadenceRuleRequest, call: Call) -> pb.CadenceRule:
        row = await self.cadences.create_rule(call.session, tag_id=request.tag_id, due_in_days=request.due_in_days,
                                              title=request.title, rrule=request.rrule, time_zone=request.time_zone,
                                              escalate_after_days=request.escalate_after_days,
                                              enabled=not request.disabled)
        return rule_to_proto(row)

    @rpc(Scope.FOLLOWUPS_READ)
    async def ListCadenceRules(self, request: pb.ListCadenceRulesRequest,
                               call: Call) -> pb.ListCadenceRulesResponse:
        rows = await self.cadences.list_rules(call.session)
        return pb.ListCadenceRulesResponse(items=[rule_to_proto(r) for r in rows])

    @rpc(Scope.FOLLOWUPS_WRITE)
    async def UpdateTask(self, request: pb.UpdateTaskRequest, call: Call) -> pb.Task:
        row = await self.tasks.update(
            call.session, call.principal, request.id, due_at=sent_datetime(request, "due_at"),
            assignee_id=request.assignee_id if request.change_assignee else None,
            content=request.content if request.change_content else None,
            method=request.method if request.change_method else None,
        )
        return task_to_proto(row)

    @rpc(Scope.FOLLOWUPS_WRITE)
    async def CreateRecord(self, request: pb.CreateRecordRequest, call: Call) -> pb.Record:
        row = await self.records.create(
            call.session, call.principal, customer_id=request.customer_id,
            followed_at=sent_datetime(request, "followed_at"), method=request.method, content=request.content,
            result=request.result, next_followup_at=sent_datetime(request, "next_followup_at"),
            next_method=request.next_method, next_action=request.next_action,
            next_assignee_id=request.next_assignee_id, task_id=request.task_id, followed_by=request.followed_by,
        )
        return record_to_proto(row)

    @rpc(Scope.FOLLOWUPS_READ)
    async def GetRecord(self, request: pb.GetRecordRequest, call: Call) -> pb.Record:
        return record_to_proto(await self.records.get(call.session, call.principal, request.id))

    @rpc(Scope.FOLLOWUPS_READ)
    async def ListRecords(self, request: pb.ListRecordsRequest, call: Call) -> pb.ListRecordsResponse:
        rows, next_token = await self.records.list_page(
            call.session, call.principal, customer_id=request.customer_id, followed_by=request.followed_by,
            since=sent_datetime(request, "since"), until=sent_datetime(request, "until"), size=request.page_size,
            token=request.page_token)
        return pb.ListRecordsResponse(items=[record_to_proto(r) for r in rows], next_page_token=next_token)

    @rpc(Scope.FOLLOWUPS_READ)
    async def GetDictionary(self, request: pb.GetDictionaryRequest, call: Call) -> pb.Dictionary:
        return dictionary_to_proto(await dictionaries.load(call.session, request.name))

    @rpc(Scope.FOLLOWUPS_MANAGE)
    async def ReplaceDictionary(self, request: pb.ReplaceDictionaryRequest, call: Call) -> pb.Dictionary:
        return dictionary_to_proto(await dictionaries.replace(call.session, request.name,
                                                              entries_from_proto(request)))

    @rpc(Scope.FOLLOWUPS_READ)
    async def ListNotifications(self, request: pb.ListNotificationsRequest,
                                call: Call) -> pb.ListNotificationsResponse:
        rows, next_token, unread = await self.notifications.list_page(
            call.session, call.principal, unread_only=request.unread_only, size=request.page_size,
            token=request.page_token)
        return pb.ListNotificationsResponse(items=[
            pb.Notification(id=str(r.id), kind=r.kind, task_id=str(r.task_id or ""),
                            customer_id=str(r.customer_id or ""), title=r.title, due_at=optional_timestamp(r.due_at),
                            created_at=timestamp(r.created_at), read_at=optional_timestamp(r.read_at))
            for r in rows
        ], next_page_token=next_token, unread_count=unread)

    @rpc(Scope.FOLLOWUPS_READ)
    async def MarkNotificationsRead(self, request: pb.MarkNotificationsReadRequest,
                                    call: Call) -> pb.MarkNotificationsReadResponse:
        marked, unread = await self.notifications.mark_read(call.session, call.principal, list(request.ids),
                                                            request.all)
        return pb.MarkNotificationsReadResponse(marked=marked, unread_count=unread)

    @rpc(Scope.FOLLOWUPS_READ)
    async def GetNotificationPreferences(self, request: pb.GetNotificationPreferencesRequest,
                                         call: Call) -> pb.NotificationPreferences:
        chosen = await self.notifications.preferences(call.session, call.principal)
        return pb.NotificationPreferences(in_app=chosen.in_app, email=chosen.email, digest=chosen.digest)

    @rpc(Scope.FOLLOWUPS_READ)
    async def UpdateNotificationPreferences(self, request: pb.NotificationPreferences,
                                            call: Call) -> pb.NotificationPreferences:
        chosen = await self.notifications.set_preferences(call.session, call.principal, Preferences(
            in_app=request.in_app, email=request.email, digest=request.digest))
        return pb.NotificationPreferences(in_app=chosen.in_app, email=chosen.email, digest=chosen.digest)
