"""gRPC transport of FollowupAutomationService (automation.proto): cadence rule changes, the
cadence SLA report and outcome automation rules. Translation only."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import grpc
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_followups.automation.service import AutomationService, RuleInput
from crm_followups.cadence import settings as followup_settings
from crm_followups.cadence import sla
from crm_followups.cadence.schemas import rule_to_proto
from crm_followups.cadence.service import CadenceService
from crm_followups.task.schemas import optional_timestamp, sent_datetime, timestamp
from crm_followups.task.service import TaskService
from crm_platform.auth import Scope
from crm_platform.grpc_server import Call, rpc
from crm_proto.crm.followups.v1 import automation_pb2 as apb
from crm_proto.crm.followups.v1 import automation_pb2_grpc

SERVICE_NAME = "crm.followups.v1.FollowupAutomationService"


def automation_rule_to_proto(row: sa.Row[Any]) -> apb.AutomationRule:
    return apb.AutomationRule(
        id=str(row.id), name=row.name, trigger=row.trigger, trigger_value=row.trigger_value, action=row.action,
        tag_id=str(row.tag_id or ""), status=row.status, reason=row.reason, enabled=row.enabled,
        fired_count=int(row.fired_count or 0), last_fired_at=optional_timestamp(row.last_fired_at),
        created_at=timestamp(row.created_at), updated_at=optional_timestamp(row.updated_at),
    )


def _input(message: apb.AutomationRuleInput, enabled: bool) -> RuleInput:
    return RuleInput(name=message.name, trigger=message.trigger, trigger_value=message.trigger_value,
                     action=message.action, tag_id=message.tag_id, status=message.status, reason=message.reason,
                     enabled=enabled)


def _line(line: sla.SlaLine) -> apb.SlaLine:
    return apb.SlaLine(id=line.id, total=line.total, on_time=line.on_time, late=line.late,
                       overdue_open=line.overdue_open, on_time_share=line.share)


class FollowupAutomationServicer(automation_pb2_grpc.FollowupAutomationServiceServicer):
    def __init__(self, engine: AsyncEngine, tasks: TaskService, cadences: CadenceService,
                 automation: AutomationService):
        self.engine = engine
        self.tasks = tasks
        self.cadences = cadences
        self.automation = automation

    @rpc(Scope.FOLLOWUPS_MANAGE)
    async def UpdateCadenceRule(self, request: apb.UpdateCadenceRuleRequest, call: Call) -> Any:
        row = await self.cadences.update_rule(
            call.session, call.principal.tenant_id, request.id, list(request.update_mask), title=request.title,
            due_in_days=request.due_in_days, rrule=request.rrule, escalate_after_days=request.escalate_after_days,
            enabled=request.enabled, time_zone=request.time_zone)
        return rule_to_proto(row)

    @rpc(Scope.FOLLOWUPS_MANAGE)
    async def DeleteCadenceRule(self, request: apb.DeleteCadenceRuleRequest,
                                call: Call) -> apb.DeleteCadenceRuleResponse:
        cancelled = await self.cadences.delete_rule(call.session, call.principal.tenant_id, request.id)
        return apb.DeleteCadenceRuleResponse(cancelled_tasks=cancelled)

    @rpc(Scope.FOLLOWUPS_READ)
    async def GetCadenceSla(self, request: apb.GetCadenceSlaRequest, call: Call) -> apb.CadenceSla:
        found = await sla.report(call.session, call.principal, self.tasks.access,
                                 since=sent_datetime(request, "since"), until=sent_datetime(request, "until"))
        return apb.CadenceSla(since=timestamp(found.since), until=timestamp(found.until),
                              reps=[_line(x) for x in found.reps], teams=[_line(x) for x in found.teams],
                              overall=_line(found.overall))

    @rpc(Scope.FOLLOWUPS_READ)
    async def ListAutomationRules(self, request: apb.ListAutomationRulesRequest,
                                  call: Call) -> apb.ListAutomationRulesResponse:
        rows = await self.automation.list_rules(call.session)
        return apb.ListAutomationRulesResponse(items=[automation_rule_to_proto(r) for r in rows])

    @rpc(Scope.FOLLOWUPS_MANAGE)
    async def CreateAutomationRule(self, request: apb.AutomationRuleInput, call: Call) -> apb.AutomationRule:
        row = await self.automation.create(call.session, call.principal.actor, _input(request, not request.disabled))
        return automation_rule_to_proto(row)

    @rpc(Scope.FOLLOWUPS_MANAGE)
    async def UpdateAutomationRule(self, request: apb.UpdateAutomationRuleRequest,
                                   call: Call) -> apb.AutomationRule:
        row = await self.automation.update(call.session, request.id, list(request.update_mask),
                                           _input(request.rule, request.enabled))
        return automation_rule_to_proto(row)

    @rpc(Scope.FOLLOWUPS_MANAGE)
    async def DeleteAutomationRule(self, request: apb.DeleteAutomationRuleRequest,
                                   call: Call) -> apb.AutomationRule:
        return automation_rule_to_proto(await self.automation.delete(call.session, request.id))

    @rpc(Scope.FOLLOWUPS_READ)
    async def GetFollowupSettings(self, request: apb.GetFollowupSettingsRequest,
                                  call: Call) -> apb.FollowupSettings:
        return _settings(await followup_settings.read(call.session))

    @rpc(Scope.FOLLOWUPS_MANAGE)
    async def UpdateFollowupSettings(self, request: apb.UpdateFollowupSettingsRequest,
                                     call: Call) -> apb.FollowupSettings:
        found = await followup_settings.update(
            call.session, call.principal.tenant_id, call.principal.actor, list(request.update_mask),
            {"escalate_after_days": request.settings.escalate_after_days}, datetime.now(UTC))
        return _settings(found)


def _settings(found: followup_settings.Settings) -> apb.FollowupSettings:
    return apb.FollowupSettings(escalate_after_days=found.escalate_after_days,
                                updated_at=optional_timestamp(found.updated_at), updated_by=found.updated_by)


def add_to_server(server: grpc.aio.Server, engine: AsyncEngine, tasks: TaskService, cadences: CadenceService,
                  automation: AutomationService) -> str:
    automation_pb2_grpc.add_FollowupAutomationServiceServicer_to_server(
        FollowupAutomationServicer(engine, tasks, cadences, automation), server)
    return SERVICE_NAME
