"""POST /v1/signup: public self-service sign-up (identity.CreateTenant)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Final

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from crm_gateway.api.common import WRITE_ERRORS, AnonymousDep, BackendsDep, Name, RequestBody, operation
from crm_gateway.api.tenant import Tenant, tenant_out
from crm_gateway.api.users import User, user_out
from crm_gateway.problems import rename_fields
from crm_proto.crm.identity.v1 import identity_pb2 as pb

router = APIRouter(prefix="/v1", tags=["tenant"])

# Identity names fields after CreateTenantRequest or after the user it creates; the REST body
# has its own names.
signup_fields = rename_fields({
    "name": "company_name", "admin_display_name": "admin_name", "default_locale": "locale",
    "email": "admin_email", "password": "admin_password", "display_name": "admin_name",
})


SIGNUP_DEADLINE: Final = 60.0


class Signup(RequestBody):
    company_name: Name = Field(description="The company's display name")
    slug: str = Field(description="Short unique name users type to sign in (the 'company' field)")
    admin_email: str
    admin_password: str = Field(json_schema_extra={"format": "password", "writeOnly": True})
    admin_name: Name
    locale: str = Field("zh-CN", description='"zh-CN" or "en"')


class SignupResult(BaseModel):
    tenant: Tenant
    admin: User


def signup_request(body: Signup) -> Any:
    return pb.CreateTenantRequest(
        name=body.company_name, slug=body.slug, admin_email=body.admin_email, admin_password=body.admin_password,
        admin_display_name=body.admin_name, default_locale=body.locale,
    )


@router.post(
    "/signup",
    response_model=SignupResult,
    **operation(
        operation_id="signup", summary="Sign up a company and its first admin", scopes=[],
        errors=[*WRITE_ERRORS, 409, 429], status_code=201,
        description="Public. Returns when the tenant is usable; the admin then signs in with OAuth.",
    ),
)
async def signup(body: Signup, response: Response, caller: AnonymousDep, services: BackendsDep) -> SignupResult:
    # Sign-up provisions the tenant in every service before it answers: seconds, not the
    # milliseconds of other calls, and more on a busy machine. Identity bounds each service's
    # provisioning itself; the gateway only must not give up first.
    provisioning = replace(caller, deadline=SIGNUP_DEADLINE)
    reply = await provisioning.call(services.identity.CreateTenant, signup_request(body), rename=signup_fields)
    response.headers["Location"] = "/v1/tenant"
    return SignupResult(tenant=tenant_out(reply.tenant), admin=user_out(reply.admin))
