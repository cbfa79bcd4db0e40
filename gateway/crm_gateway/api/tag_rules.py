"""/v1/tag-rules: auto-tag rules with conditions on fields, orders and inactivity, their preview,
re-runs and jobs (tagging; docs/tagging.md, "Rules")."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Response
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
    expected_version,
    operation,
    timestamp,
)
from crm_gateway.problems import etag
from crm_platform.auth import Scope
from crm_proto.crm.tagging.v1 import tagging_pb2 as pb

router = APIRouter(prefix="/v1/tag-rules", tags=["tags"])

CONDITIONS_DESCRIPTION = (
    'A tree: {"all": [...]} / {"any": [...]} of leaves. Field leaf: {"field": "industry" | ... | "cf.<key>", '
    '"op": "equals" | "not_equals" | "in" | "contains" | "gte" | "lte" | "between" | "empty" | "not_empty", '
    '"value" | "values" | "min"/"max"}. Metric leaf: {"metric": "order_amount" | "orders_in_days" | '
    '"days_since_last_interaction" | "spend_12m" | "orders_30d", "op": "gte" | "lte" | "between", '
    '"value" | "min"/"max", "days" (orders_in_days), "currency" (spend_12m, default CNY)}. '
    'Value segment leaf: {"field": "value_segment", "op": "equals" | '
    '"not_equals" | "in" | "empty" | "not_empty", "value" | "values": "high_value" | "potential" | "normal" | '
    '"low_value"} (reporting\'s value segment). See docs/tagging.md.'
)


class TagRule(Resource):
    id: str
    tag_id: str
    tag_name: str
    name: str
    conditions: dict[str, Any] = Field(description=CONDITIONS_DESCRIPTION)
    action: str = Field(description='"add" or "remove" the tag')
    priority: int = Field(description="Lower runs first and wins under the per-customer tag limit")
    enabled: bool
    time_based: bool = Field(description="Depends on time alone; the daily sweep evaluates it too")
    field: str = Field(description="First version's single condition (empty for newer rules)")
    operator: str
    value: str
    version: int
    created_at: datetime | None
    updated_at: datetime | None = None
    last_run_at: datetime | None = None


def tag_rule_out(message: Any) -> TagRule:
    return TagRule(
        id=message.id, tag_id=message.tag_id, tag_name=message.tag_name, name=message.name,
        conditions=json.loads(message.conditions_json or "{}"), action=message.action or "add",
        priority=message.priority, enabled=message.enabled, time_based=message.time_based, field=message.field,
        operator=message.operator, value=message.value, version=message.version,
        created_at=timestamp(message.created_at), updated_at=timestamp(message.updated_at),
        last_run_at=timestamp(message.last_run_at),
    )


def _single(response: Response, message: Any) -> TagRule:
    response.headers["ETag"] = etag(message.version)
    return tag_rule_out(message)


class TagRuleCreate(RequestBody):
    tag_id: str
    name: Name = Field("", max_length=100)
    conditions: dict[str, Any] | None = Field(None, description=CONDITIONS_DESCRIPTION)
    action: str = Field("add", description='"add" or "remove"')
    priority: Int32 | None = Field(None, ge=0, le=10_000)
    field: str = Field("", description="First version: one condition (field, operator, value) instead of conditions")
    operator: str = ""
    value: str = ""


class TagRulePatch(RequestBody):
    tag_id: str | None = None
    name: Name | None = Field(None, max_length=100)
    conditions: dict[str, Any] | None = Field(None, description=CONDITIONS_DESCRIPTION)
    action: str | None = None
    priority: Int32 | None = Field(None, ge=0, le=10_000)
    enabled: bool | None = None


class TagRulePreviewIn(RequestBody):
    conditions: dict[str, Any] = Field(description=CONDITIONS_DESCRIPTION)


class TagRulePreview(Resource):
    count: int = Field(description="Customers matching now, among those you may see")
    sample_customer_ids: list[str] = Field(description="Up to 20 of them")
    time_based: bool


class TagRuleDeletion(Resource):
    rule: TagRule = Field(description="The rule as it was")
    tags_taken_back: int


class TagJob(Resource):
    id: str
    kind: str
    status: str = Field(description="queued, running, succeeded or dead")
    done: int
    total: int
    result: dict[str, Any] | None = None
    last_error: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None


def job_out(message: Any) -> TagJob:
    return TagJob(id=message.id, kind=message.kind, status=message.status, done=message.done, total=message.total,
                  result=json.loads(message.result_json) if message.result_json else None,
                  last_error=message.last_error or None, created_at=timestamp(message.created_at),
                  updated_at=timestamp(message.updated_at))


def _conditions(value: dict[str, Any] | None) -> str:
    return json.dumps(value, ensure_ascii=False) if value is not None else ""


@router.get(
    "",
    response_model=ItemList[TagRule],
    **operation(operation_id="listTagRules", summary="List auto-tag rules (in priority order)",
                scopes=[Scope.TAGS_READ]),
)
async def list_tag_rules(caller: CallerDep, services: BackendsDep) -> ItemList[TagRule]:
    reply = await caller.call(services.tagging.ListTagRules, pb.ListTagRulesRequest())
    return ItemList[TagRule](items=[tag_rule_out(r) for r in reply.items])


@router.post(
    "",
    response_model=TagRule,
    **operation(operation_id="createTagRule", summary="Create an auto-tag rule", scopes=[Scope.TAGS_MANAGE],
                errors=[*WRITE_ERRORS, 404, 409], status_code=201,
                description="Preview first with `POST /v1/tag-rules:preview`. The rule runs on customers' events "
                            "from now on; `:rerun` applies it to existing customers."),
)
async def create_tag_rule(body: TagRuleCreate, response: Response, caller: CallerDep,
                          services: BackendsDep) -> TagRule:
    request = pb.CreateTagRuleRequest(tag_id=body.tag_id, field=body.field, operator=body.operator, value=body.value,
                                      name=body.name, conditions_json=_conditions(body.conditions), action=body.action)
    if body.priority is not None:
        request.priority = body.priority
    reply = await caller.call(services.tagging.CreateTagRule, request)
    response.headers["Location"] = f"{router.prefix}/{reply.id}"
    return _single(response, reply)


@router.post(
    ":preview",
    response_model=TagRulePreview,
    **operation(operation_id="previewTagRule", summary="Count and sample the customers matching conditions",
                scopes=[Scope.TAGS_READ], errors=[*WRITE_ERRORS]),
)
async def preview_tag_rule(body: TagRulePreviewIn, caller: CallerDep, services: BackendsDep) -> TagRulePreview:
    reply = await caller.call(services.tagging.PreviewTagRule,
                              pb.PreviewTagRuleRequest(conditions_json=_conditions(body.conditions)))
    return TagRulePreview(count=reply.count, sample_customer_ids=list(reply.sample_customer_ids),
                          time_based=reply.time_based)


@router.get(
    "/{rule_id}",
    response_model=TagRule,
    **operation(operation_id="getTagRule", summary="Get an auto-tag rule", scopes=[Scope.TAGS_READ], errors=[404]),
)
async def get_tag_rule(rule_id: str, response: Response, caller: CallerDep, services: BackendsDep) -> TagRule:
    return _single(response, await caller.call(services.tagging.GetTagRule, pb.GetTagRuleRequest(id=rule_id)))


@router.patch(
    "/{rule_id}",
    response_model=TagRule,
    **operation(operation_id="updateTagRule", summary="Change an auto-tag rule", scopes=[Scope.TAGS_MANAGE],
                errors=[*WRITE_ERRORS, 404, 412], description="Only the fields sent change; `If-Match` is optional."),
)
async def update_tag_rule(
    rule_id: str, body: TagRulePatch, response: Response, caller: CallerDep, services: BackendsDep,
    if_match: Annotated[str | None, Header(description="Optional ETag of the version you read")] = None,
) -> TagRule:
    request = pb.UpdateTagRuleRequest(id=rule_id, expected_version=expected_version(if_match) if if_match else 0)
    for name, value in body.model_dump(exclude_unset=True).items():
        if value is None:
            continue
        if name == "conditions":
            request.conditions_json = _conditions(value)
        else:
            setattr(request, name, value)
    return _single(response, await caller.call(services.tagging.UpdateTagRule, request))


async def _set_enabled(rule_id: str, enabled: bool, caller: Any, services: Any) -> TagRule:
    reply = await caller.call(services.tagging.UpdateTagRule, pb.UpdateTagRuleRequest(id=rule_id, enabled=enabled))
    return tag_rule_out(reply)


@router.post(
    "/{rule_id}:enable",
    response_model=TagRule,
    **operation(operation_id="enableTagRule", summary="Enable an auto-tag rule", scopes=[Scope.TAGS_MANAGE],
                errors=[*WRITE_ERRORS, 404]),
)
async def enable_tag_rule(rule_id: str, caller: CallerDep, services: BackendsDep) -> TagRule:
    return await _set_enabled(rule_id, True, caller, services)


@router.post(
    "/{rule_id}:disable",
    response_model=TagRule,
    **operation(operation_id="disableTagRule", summary="Disable an auto-tag rule (its tags stay)",
                scopes=[Scope.TAGS_MANAGE], errors=[*WRITE_ERRORS, 404]),
)
async def disable_tag_rule(rule_id: str, caller: CallerDep, services: BackendsDep) -> TagRule:
    return await _set_enabled(rule_id, False, caller, services)


@router.delete(
    "/{rule_id}",
    response_model=TagRuleDeletion,
    **operation(operation_id="deleteTagRule", summary="Delete an auto-tag rule", scopes=[Scope.TAGS_MANAGE],
                errors=[404],
                description="`take_back=true` first takes off the tags this rule applied that are still credited "
                            "to it (announced as `tag.removed`); otherwise they stay."),
)
async def delete_tag_rule(rule_id: str, caller: CallerDep, services: BackendsDep,
                          take_back: Annotated[bool, Query()] = False) -> TagRuleDeletion:
    reply = await caller.call(services.tagging.DeleteTagRule, pb.DeleteTagRuleRequest(id=rule_id, take_back=take_back))
    return TagRuleDeletion(rule=tag_rule_out(reply.rule), tags_taken_back=reply.tags_taken_back)


@router.post(
    "/{rule_id}:rerun",
    response_model=TagJob,
    **operation(operation_id="rerunTagRule", summary="Run a rule over every existing customer (a job)",
                scopes=[Scope.TAGS_MANAGE], errors=[*WRITE_ERRORS, 404], status_code=202),
)
async def rerun_tag_rule(rule_id: str, response: Response, caller: CallerDep, services: BackendsDep) -> TagJob:
    reply = await caller.call(services.tagging.RerunTagRule, pb.RerunTagRuleRequest(id=rule_id))
    response.headers["Location"] = f"/v1/tag-jobs/{reply.id}"
    return job_out(reply)


jobs_router = APIRouter(prefix="/v1/tag-jobs", tags=["tags"])


@jobs_router.get(
    "/{job_id}",
    response_model=TagJob,
    **operation(operation_id="getTagJob", summary="A tagging job's status and progress", scopes=[Scope.TAGS_READ],
                errors=[404]),
)
async def get_tag_job(job_id: str, caller: CallerDep, services: BackendsDep) -> TagJob:
    return job_out(await caller.call(services.tagging.GetTagJob, pb.GetTagJobRequest(id=job_id)))
