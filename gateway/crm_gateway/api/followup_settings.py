"""/v1/followup-settings: the tenant's follow-up settings (followups, docs/followups.md
"Escalation"): `escalate_after_days`, after how many days overdue any open task is escalated to the
manager of its assignee's team (0: never); a cadence rule's own value overrides it. Reading needs
`followups:read`, changing `followups:manage`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter
from pydantic import Field

from crm_gateway.api.common import WRITE_ERRORS, BackendsDep, CallerDep, RequestBody, Resource, operation, timestamp
from crm_platform.auth import Scope
from crm_proto.crm.followups.v1 import automation_pb2 as apb

router = APIRouter(prefix="/v1", tags=["follow-ups"])


class FollowupSettingsOut(Resource):
    escalate_after_days: int = Field(description="Days overdue after which an open task is escalated to the manager "
                                     "of its assignee's team (tenant admins when the team has none); 0: never. "
                                     "A cadence rule's own `escalate_after_days` above 0 overrides it")
    updated_at: datetime | None
    updated_by: str = Field(description="Who changed the settings last (a user id or `client:<id>`)")


class FollowupSettingsBody(RequestBody):
    escalate_after_days: int = Field(ge=0, le=365)


def settings_out(message: Any) -> FollowupSettingsOut:
    return FollowupSettingsOut(
        escalate_after_days=message.escalate_after_days, updated_by=message.updated_by,
        updated_at=timestamp(message.updated_at) if message.HasField("updated_at") else None)


@router.get("/followup-settings", response_model=FollowupSettingsOut, **operation(
    operation_id="getFollowupSettings", summary="The tenant's follow-up settings (default escalation)",
    scopes=[Scope.FOLLOWUPS_READ], errors=[400]))
async def get_settings(caller: CallerDep, services: BackendsDep) -> FollowupSettingsOut:
    reply = await caller.call(services.followup_automation.GetFollowupSettings, apb.GetFollowupSettingsRequest())
    return settings_out(reply)


@router.put("/followup-settings", response_model=FollowupSettingsOut, **operation(
    operation_id="setFollowupSettings", summary="Change the tenant's follow-up settings",
    scopes=[Scope.FOLLOWUPS_MANAGE], errors=WRITE_ERRORS,
    description="Every open task's escalation moves to its planned time plus the new days at once."))
async def set_settings(body: FollowupSettingsBody, caller: CallerDep, services: BackendsDep) -> FollowupSettingsOut:
    reply = await caller.call(services.followup_automation.UpdateFollowupSettings, apb.UpdateFollowupSettingsRequest(
        update_mask=["escalate_after_days"],
        settings=apb.FollowupSettings(escalate_after_days=body.escalate_after_days)))
    return settings_out(reply)
