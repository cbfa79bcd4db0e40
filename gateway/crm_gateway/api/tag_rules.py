"""/v1/tag-rules: auto-tag rules (tagging)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Response
from pydantic import Field

from crm_gateway.api.common import (
    WRITE_ERRORS,
    BackendsDep,
    CallerDep,
    ItemList,
    RequestBody,
    Resource,
    operation,
    timestamp,
)
from crm_platform.auth import Scope
from crm_proto.crm.tagging.v1 import tagging_pb2 as pb

router = APIRouter(prefix="/v1/tag-rules", tags=["tags"])


class TagRule(Resource):
    id: str
    tag_id: str
    field: str = Field(description="Customer field: industry, region, status, type, name, email, mobile")
    operator: str = Field(description='"equals" or "contains"')
    value: str
    enabled: bool
    created_at: datetime | None


def tag_rule_out(message: Any) -> TagRule:
    return TagRule(
        id=message.id, tag_id=message.tag_id, field=message.field, operator=message.operator, value=message.value,
        enabled=message.enabled, created_at=timestamp(message.created_at),
    )


class TagRuleCreate(RequestBody):
    tag_id: str
    field: str
    operator: str
    value: str


@router.get(
    "",
    response_model=ItemList[TagRule],
    **operation(operation_id="listTagRules", summary="List auto-tag rules", scopes=[Scope.TAGS_READ]),
)
async def list_tag_rules(caller: CallerDep, services: BackendsDep) -> ItemList[TagRule]:
    reply = await caller.call(services.tagging.ListTagRules, pb.ListTagRulesRequest())
    return ItemList[TagRule](items=[tag_rule_out(r) for r in reply.items])


@router.post(
    "",
    response_model=TagRule,
    **operation(operation_id="createTagRule", summary="Create an auto-tag rule", scopes=[Scope.TAGS_MANAGE],
                errors=[*WRITE_ERRORS, 404, 409], status_code=201),
)
async def create_tag_rule(body: TagRuleCreate, response: Response, caller: CallerDep,
                          services: BackendsDep) -> TagRule:
    reply = await caller.call(
        services.tagging.CreateTagRule,
        pb.CreateTagRuleRequest(tag_id=body.tag_id, field=body.field, operator=body.operator, value=body.value),
    )
    response.headers["Location"] = f"{router.prefix}/{reply.id}"
    return tag_rule_out(reply)
