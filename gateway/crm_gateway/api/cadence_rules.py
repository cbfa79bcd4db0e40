"""/v1/cadence-rules: "when tag X is applied, a task is due within N days" (one-shot) or "while a
customer carries tag X, a task every occurrence of an RRULE" (recurring, in the tenant's time zone),
with optional escalation to the team's manager (followups, docs/followups.md "Cadences").
Changing rules needs `followups:manage` (managers and admins); the tag must be one of the
tenant's (tagging says, so `tags:read` is needed too)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Response
from pydantic import Field

from crm_gateway.api.common import (
    WRITE_ERRORS,
    BackendsDep,
    CallerDep,
    Int32,
    ItemList,
    Name,
    RequestBody,
    Resource,
    operation,
    timestamp,
)
from crm_gateway.api.tags import check_tag_filter
from crm_gateway.clients import Caller
from crm_platform.auth import Scope
from crm_proto.crm.followups.v1 import automation_pb2 as apb
from crm_proto.crm.followups.v1 import followups_pb2 as pb
from crm_proto.crm.identity.v1 import identity_pb2

router = APIRouter(prefix="/v1/cadence-rules", tags=["follow-ups"])
RuleId = Path(description="The cadence rule's id", max_length=100)
RRULE_HELP = ("RFC 5545 RRULE for a recurring rule (e.g. `FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY=1;BYHOUR=9`), "
              "evaluated in the tenant's time zone; empty for one-shot. 400 `invalid_rrule`, `rrule_too_frequent`, "
              "`rrule_has_no_occurrence` on `rrule`.")


class CadenceRule(Resource):
    id: str
    tag_id: str
    due_in_days: int
    title: str
    kind: str = Field(description="`one_shot` or `recurring`")
    rrule: str
    time_zone: str
    enabled: bool
    escalate_after_days: int
    created_at: datetime | None
    updated_at: datetime | None


def cadence_rule_out(message: Any) -> CadenceRule:
    return CadenceRule(
        id=message.id, tag_id=message.tag_id, due_in_days=message.due_in_days, title=message.title,
        kind="recurring" if message.rrule else "one_shot", rrule=message.rrule, time_zone=message.time_zone,
        enabled=message.enabled, escalate_after_days=message.escalate_after_days,
        created_at=timestamp(message.created_at),
        updated_at=timestamp(message.updated_at) if message.HasField("updated_at") else None,
    )


class CadenceRuleCreate(RequestBody):
    tag_id: str = Field(max_length=100)
    # Bounded only to fit the proto's int32; the service decides what is sensible.
    due_in_days: Int32 = Field(description="One-shot: days after the tag was applied; recurring: days after "
                                           "each occurrence")
    title: Name
    rrule: str = Field("", max_length=500, description=RRULE_HELP)
    escalate_after_days: Int32 = Field(0, description="Days overdue after which the assignee's team managers "
                                                      "are notified (in-app and email); 0 = never")
    enabled: bool = True


class CadenceRulePatch(RequestBody):
    title: Name | None = None
    due_in_days: Int32 | None = None
    rrule: str | None = Field(None, max_length=500, description=RRULE_HELP)
    escalate_after_days: Int32 | None = None
    enabled: bool | None = None


async def tenant_zone(caller: Caller, services: Any) -> str:
    reply = await caller.call(services.identity.GetTenant, identity_pb2.GetTenantRequest())
    return str(reply.time_zone)


@router.get(
    "",
    response_model=ItemList[CadenceRule],
    **operation(operation_id="listCadenceRules", summary="List cadence rules", scopes=[Scope.FOLLOWUPS_READ]),
)
async def list_cadence_rules(caller: CallerDep, services: BackendsDep) -> ItemList[CadenceRule]:
    reply = await caller.call(services.followups.ListCadenceRules, pb.ListCadenceRulesRequest())
    return ItemList[CadenceRule](items=[cadence_rule_out(r) for r in reply.items])


@router.post(
    "",
    response_model=CadenceRule,
    **operation(operation_id="createCadenceRule", summary="Create a cadence rule",
                scopes=[Scope.FOLLOWUPS_MANAGE, Scope.TAGS_READ], errors=[*WRITE_ERRORS], status_code=201,
                description="`tag_id` must be one of your tenant's tags (400 `unknown_tag` otherwise). " + RRULE_HELP),
)
async def create_cadence_rule(body: CadenceRuleCreate, response: Response, caller: CallerDep,
                              services: BackendsDep) -> CadenceRule:
    if body.tag_id.strip():  # a blank one is the service's `required`
        await check_tag_filter(caller, services, [body.tag_id], "tag_id")
    zone = await tenant_zone(caller, services) if body.rrule.strip() else ""
    reply = await caller.call(
        services.followups.CreateCadenceRule,
        pb.CreateCadenceRuleRequest(tag_id=body.tag_id, due_in_days=body.due_in_days, title=body.title,
                                    rrule=body.rrule, time_zone=zone, escalate_after_days=body.escalate_after_days,
                                    disabled=not body.enabled),
    )
    response.headers["Location"] = f"{router.prefix}/{reply.id}"
    return cadence_rule_out(reply)


@router.patch(
    "/{cadence_rule_id}",
    response_model=CadenceRule,
    **operation(operation_id="updateCadenceRule", summary="Change, enable or disable a cadence rule",
                scopes=[Scope.FOLLOWUPS_MANAGE], errors=[*WRITE_ERRORS, 404],
                description="Only the fields sent change. `enabled: false` stops new tasks and recurring "
                            "schedules (open tasks stay). A one-shot rule cannot become recurring (400 "
                            "`kind_change`). " + RRULE_HELP),
)
async def update_cadence_rule(cadence_rule_id: Annotated[str, RuleId], body: CadenceRulePatch,
                              caller: CallerDep, services: BackendsDep) -> CadenceRule:
    sent = {k: v for k, v in body.model_dump(exclude_unset=True).items() if v is not None}
    request = apb.UpdateCadenceRuleRequest(id=cadence_rule_id, update_mask=sorted(sent), **sent)
    if "rrule" in sent:
        request.time_zone = await tenant_zone(caller, services)
    return cadence_rule_out(await caller.call(services.followup_automation.UpdateCadenceRule, request))


class CadenceRuleDeleted(Resource):
    cancelled_tasks: int


@router.delete(
    "/{cadence_rule_id}",
    response_model=CadenceRuleDeleted,
    **operation(operation_id="deleteCadenceRule", summary="Delete a cadence rule",
                scopes=[Scope.FOLLOWUPS_MANAGE], errors=[404],
                description="Cancels the rule's open tasks and recurring schedules; its done tasks keep counting "
                            "in the SLA report."),
)
async def delete_cadence_rule(cadence_rule_id: Annotated[str, RuleId], caller: CallerDep,
                              services: BackendsDep) -> CadenceRuleDeleted:
    reply = await caller.call(services.followup_automation.DeleteCadenceRule,
                              apb.DeleteCadenceRuleRequest(id=cadence_rule_id))
    return CadenceRuleDeleted(cancelled_tasks=reply.cancelled_tasks)
