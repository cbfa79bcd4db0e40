"""/v1/automation-rules: outcome automation (followups, docs/followups.md "Outcome automation"):
when a follow-up record has a result, an order of a kind is recorded, or a tag is applied, add a
tag or set the customer's status (with a reason). Changes made carry the actor
`automation:<rule id>`; a rule never re-triggers itself. Managing needs `followups:manage` (and
`tags:read` when a tag is named: it must be one of the tenant's)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Response
from pydantic import Field

from crm_gateway.api.common import (
    WRITE_ERRORS,
    BackendsDep,
    CallerDep,
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

router = APIRouter(prefix="/v1/automation-rules", tags=["follow-ups"])
RuleId = Path(description="The automation rule's id", max_length=100)
Trigger = Literal["record_result", "order_recorded", "tag_applied"]
Action = Literal["add_tag", "set_status"]


class AutomationRule(Resource):
    id: str
    name: str
    trigger: str
    trigger_value: str
    action: str
    tag_id: str
    status: str
    reason: str
    enabled: bool
    fired_count: int
    last_fired_at: datetime | None
    created_at: datetime | None
    updated_at: datetime | None


def automation_rule_out(m: Any) -> AutomationRule:
    return AutomationRule(
        id=m.id, name=m.name, trigger=m.trigger, trigger_value=m.trigger_value, action=m.action, tag_id=m.tag_id,
        status=m.status, reason=m.reason, enabled=m.enabled, fired_count=m.fired_count,
        last_fired_at=timestamp(m.last_fired_at) if m.HasField("last_fired_at") else None,
        created_at=timestamp(m.created_at), updated_at=timestamp(m.updated_at) if m.HasField("updated_at") else None,
    )


class AutomationRuleCreate(RequestBody):
    name: Name = Field(max_length=200)
    trigger: Trigger
    trigger_value: str = Field(max_length=100, description="record_result: a result code (`quote_sent`); "
                               "order_recorded: `order` or `contract`; tag_applied: a tag id")
    action: Action
    tag_id: str = Field("", max_length=100, description="add_tag: one of the tenant's tags")
    status: str = Field("", max_length=40, description="set_status: potential, intent, won or lost")
    reason: str = Field("", max_length=500, description="set_status: the reason written to the status history")
    enabled: bool = True


class AutomationRulePatch(RequestBody):
    name: Name | None = Field(None, max_length=200)
    trigger: Trigger | None = None
    trigger_value: str | None = Field(None, max_length=100)
    action: Action | None = None
    tag_id: str | None = Field(None, max_length=100)
    status: str | None = Field(None, max_length=40)
    reason: str | None = Field(None, max_length=500)
    enabled: bool | None = None


async def _check_tags(caller: Caller, services: Any, trigger: str | None, trigger_value: str | None,
                      tag_id: str | None) -> None:
    if tag_id and tag_id.strip():
        await check_tag_filter(caller, services, [tag_id], "tag_id")
    if trigger == "tag_applied" and trigger_value and trigger_value.strip():
        await check_tag_filter(caller, services, [trigger_value], "trigger_value")


@router.get(
    "",
    response_model=ItemList[AutomationRule],
    **operation(operation_id="listAutomationRules", summary="List automation rules", scopes=[Scope.FOLLOWUPS_READ]),
)
async def list_automation_rules(caller: CallerDep, services: BackendsDep) -> ItemList[AutomationRule]:
    reply = await caller.call(services.followup_automation.ListAutomationRules, apb.ListAutomationRulesRequest())
    return ItemList[AutomationRule](items=[automation_rule_out(r) for r in reply.items])


@router.post(
    "",
    response_model=AutomationRule,
    **operation(operation_id="createAutomationRule", summary="Create an automation rule",
                scopes=[Scope.FOLLOWUPS_MANAGE, Scope.TAGS_READ], errors=[*WRITE_ERRORS], status_code=201,
                description="400 `unknown_tag` for a tag that is not the tenant's, `unknown_code` for a result "
                            "not in the tenant's result dictionary, `invalid_choice` for a status or order kind."),
)
async def create_automation_rule(body: AutomationRuleCreate, response: Response, caller: CallerDep,
                                 services: BackendsDep) -> AutomationRule:
    await _check_tags(caller, services, body.trigger, body.trigger_value, body.tag_id if body.action == "add_tag"
                      else None)
    reply = await caller.call(services.followup_automation.CreateAutomationRule, apb.AutomationRuleInput(
        name=body.name, trigger=body.trigger, trigger_value=body.trigger_value, action=body.action,
        tag_id=body.tag_id, status=body.status, reason=body.reason, disabled=not body.enabled))
    response.headers["Location"] = f"{router.prefix}/{reply.id}"
    return automation_rule_out(reply)


@router.patch(
    "/{automation_rule_id}",
    response_model=AutomationRule,
    **operation(operation_id="updateAutomationRule", summary="Change, enable or disable an automation rule",
                scopes=[Scope.FOLLOWUPS_MANAGE, Scope.TAGS_READ], errors=[*WRITE_ERRORS, 404],
                description="Only the fields sent change."),
)
async def update_automation_rule(automation_rule_id: Annotated[str, RuleId], body: AutomationRulePatch,
                                 caller: CallerDep, services: BackendsDep) -> AutomationRule:
    sent = {k: v for k, v in body.model_dump(exclude_unset=True).items() if v is not None}
    trigger = sent.get("trigger")
    if trigger is None and "trigger_value" in sent:  # the rule's own trigger says what the value is
        rules = await caller.call(services.followup_automation.ListAutomationRules, apb.ListAutomationRulesRequest())
        trigger = next((r.trigger for r in rules.items if r.id == automation_rule_id.strip()), None)
    await _check_tags(caller, services, trigger, sent.get("trigger_value"), sent.get("tag_id"))
    enabled = bool(sent.pop("enabled", False))
    mask = sorted(sent) + (["enabled"] if body.enabled is not None else [])
    request = apb.UpdateAutomationRuleRequest(id=automation_rule_id, update_mask=mask,
                                              rule=apb.AutomationRuleInput(**sent), enabled=enabled)
    return automation_rule_out(await caller.call(services.followup_automation.UpdateAutomationRule, request))


@router.delete(
    "/{automation_rule_id}",
    response_model=AutomationRule,
    **operation(operation_id="deleteAutomationRule", summary="Delete an automation rule",
                scopes=[Scope.FOLLOWUPS_MANAGE], errors=[404], description="Returns the rule as it was."),
)
async def delete_automation_rule(automation_rule_id: Annotated[str, RuleId], caller: CallerDep,
                                 services: BackendsDep) -> AutomationRule:
    return automation_rule_out(await caller.call(services.followup_automation.DeleteAutomationRule,
                                                 apb.DeleteAutomationRuleRequest(id=automation_rule_id)))
