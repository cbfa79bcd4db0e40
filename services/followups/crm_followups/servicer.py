"""gRPC transport for follow-ups: translation only."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from crm_followups.cadence.schemas import rule_to_proto
from crm_followups.cadence.service import CadenceService
from crm_followups.task.schemas import sent_datetime, task_to_proto
from crm_followups.task.service import TaskService
from crm_platform.auth import Scope
from crm_platform.grpc_server import Call, rpc
from crm_proto.crm.followups.v1 import followups_pb2 as pb
from crm_proto.crm.followups.v1 import followups_pb2_grpc

SERVICE_NAME = "crm.followups.v1.FollowupService"


class FollowupServicer(followups_pb2_grpc.FollowupServiceServicer):
    def __init__(self, engine: AsyncEngine, tasks: TaskService, cadences: CadenceService):
        self.engine = engine
        self.tasks = tasks
        self.cadences = cadences

    @rpc(Scope.FOLLOWUPS_WRITE)
    async def CreateTask(self, request: pb.CreateTaskRequest, call: Call) -> pb.Task:
        row = await self.tasks.create(
            call.session, call.principal, customer_id=request.customer_id, title=request.title,
            due_at=sent_datetime(request, "due_at"), assignee_id=request.assignee_id,
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
        rows, next_token = await self.tasks.list_page(call.session, call.principal, customer_id=request.customer_id,
                                                      size=request.page_size, token=request.page_token)
        return pb.ListTasksResponse(items=[task_to_proto(r) for r in rows], next_page_token=next_token)

    @rpc(Scope.FOLLOWUPS_MANAGE)
    async def CreateCadenceRule(self, request: pb.CreateCadenceRuleRequest, call: Call) -> pb.CadenceRule:
        row = await self.cadences.create_rule(call.session, tag_id=request.tag_id, due_in_days=request.due_in_days,
                                              title=request.title)
        return rule_to_proto(row)

    @rpc(Scope.FOLLOWUPS_READ)
    async def ListCadenceRules(self, request: pb.ListCadenceRulesRequest,
                               call: Call) -> pb.ListCadenceRulesResponse:
        rows = await self.cadences.list_rules(call.session)
        return pb.ListCadenceRulesResponse(items=[rule_to_proto(r) for r in rows])
