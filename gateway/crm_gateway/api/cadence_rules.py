"""/v1/cadence-rules: "when tag X is applied, a task is due within N days" (followups). Creating one
needs `followups:manage` (managers and admins); the tag must be one of the tenant's (tagging says,
so `tags:read` is needed too)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Response

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
from crm_platform.auth import Scope
from crm_proto.crm.followups.v1 import followups_pb2 as pb

router = APIRouter(prefix="/v1/cadence-rules", tags=["follow-ups"])


class CadenceRule(Resource):
    id: str
    tag_id: str
    due_in_days: int
    title: str
    created_at: datetime | None


def cadence_rule_out(message: Any) -> CadenceRule:
    return CadenceRule(
        id=message.id, tag_id=message.tag_id, due_in_days=message.due_in_days, title=message.title,
        created_at=timestamp(message.created_at),
    )


class CadenceRuleCreate(RequestBody):
    tag_id: str
    # Bounded only to fit the proto's int32; the service decides what is sensible.
    due_in_days: Int32
    title: Name


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
                description="`tag_id` must be one of your tenant's tags (400 `unknown_tag` otherwise)."),
)
async def create_cadence_rule(body: CadenceRuleCreate, response: Response, caller: CallerDep,
                              services: BackendsDep) -> CadenceRule:
    if body.tag_id.strip():  # a blank one is the service's `required`
        await check_tag_filter(caller, services, [body.tag_id], "tag_id")
    reply = await caller.call(
        services.followups.CreateCadenceRule,
        pb.CreateCadenceRuleRequest(tag_id=body.tag_id, due_in_days=body.due_in_days, title=body.title),
    )
    response.headers["Location"] = f"{router.prefix}/{reply.id}"
    return cadence_rule_out(reply)
