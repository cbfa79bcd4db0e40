"""`GET/PATCH /v1/tenant` (API.md): the tenant's settings — display name, default locale (zh-CN or
en) and time zone (IANA). Identity checks and audits the change (`tenant.updated`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Security
from pydantic import Field

from crm_gateway.api.common import (
    PARAMETER_TEXT,
    WRITE_ERRORS,
    BackendsDep,
    CallerDep,
    Name,
    RequestBody,
    Resource,
    operation,
    timestamp,
)
from crm_gateway.auth import authenticate
from crm_platform.auth import Scope
from crm_proto.crm.identity.v1 import identity_pb2 as pb

router = APIRouter(tags=["tenant"])

TENANT_PATH = "/v1/tenant"
STATUSES = {pb.TENANT_STATUS_ACTIVE: "active", pb.TENANT_STATUS_SUSPENDED: "suspended"}


class Tenant(Resource):
    id: str
    slug: str = Field(description="The company identifier used at sign-in; never changes")
    name: str = Field(description="Display name")
    status: str
    default_locale: Literal["zh-CN", "en"] = Field(description="Language for users without a preference")
    time_zone: str = Field(description="IANA time zone, e.g. Asia/Shanghai")
    created_at: datetime | None


class TenantUpdate(RequestBody):
    name: Name | None = Field(None, min_length=1, max_length=200)
    default_locale: Literal["zh-CN", "en"] | None = None
    time_zone: str | None = Field(None, max_length=64, description="IANA time zone, e.g. Asia/Shanghai")


def tenant_out(message: Any) -> Tenant:
    return Tenant(
        id=message.id, slug=message.slug, name=message.name, status=STATUSES.get(message.status, "other"),
        default_locale=message.default_locale, time_zone=message.time_zone,
        created_at=timestamp(message.created_at),
    )


@router.get(
    TENANT_PATH,
    response_model=Tenant,
    **{
        **operation(operation_id="getTenant", summary="Get the tenant's settings", scopes=[],
                    errors=[401, 403],
                    description="Any token of the tenant (its members see its name, language and time zone); "
                                "changing them needs `users:manage`."),
        "dependencies": [Security(authenticate, scopes=[]), PARAMETER_TEXT],
    },
)
async def get_tenant(caller: CallerDep, services: BackendsDep) -> Tenant:
    return tenant_out(await caller.call(services.identity.GetTenant, pb.GetTenantRequest()))


@router.patch(
    TENANT_PATH,
    response_model=Tenant,
    **operation(
        operation_id="updateTenant", summary="Change the tenant's settings", scopes=[Scope.USERS_MANAGE],
        errors=[*WRITE_ERRORS],
        description="Only the fields sent change. An unknown time zone is a 400 `invalid_time_zone` on "
                    "`time_zone`. Audited as `tenant.updated` with old and new values.",
    ),
)
async def update_tenant(body: TenantUpdate, caller: CallerDep, services: BackendsDep) -> Tenant:
    sent = body.model_dump(exclude_unset=True, exclude_none=True)
    reply = await caller.call(services.identity.UpdateTenant, pb.UpdateTenantRequest(update_mask=sorted(sent), **sent))
    return tenant_out(reply)
