"""User security over REST (identity's users/ and tenants/password_policy.py):

- `GET/PATCH /v1/tenant/password-policy`: the tenant's password policy and MFA requirement;
- `POST /v1/users/me:change-password`: the signed-in user changes their own password;
- `POST /v1/users/{id}:reset-password`: an admin sets a temporary password the user must change."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Response, Security
from pydantic import Field

from crm_gateway.api.common import (
    PARAMETER_TEXT,
    WRITE_ERRORS,
    BackendsDep,
    CallerDep,
    RequestBody,
    Resource,
    expected_version,
    operation,
    timestamp,
)
from crm_gateway.api.users import User, user_out
from crm_gateway.auth import authenticate
from crm_gateway.problems import etag
from crm_platform.auth import Scope
from crm_proto.crm.identity.v1 import identity_pb2 as pb

router = APIRouter(tags=["user security"])

POLICY_PATH = "/v1/tenant/password-policy"


class PasswordPolicy(Resource):
    min_length: int = Field(description="Minimum number of characters (8-128; default 10)")
    reject_common_passwords: bool = Field(description="Refuse the 30,000 most common passwords (default true)")
    mfa_required_for_admins: bool = Field(
        description="Tenant admins without TOTP must set it up at their next sign-in (default false)"
    )
    version: int = Field(description="Increases with every change; the ETag carries it")
    updated_at: datetime | None


class PasswordPolicyUpdate(RequestBody):
    min_length: int | None = Field(None, ge=8, le=128)
    reject_common_passwords: bool | None = None
    mfa_required_for_admins: bool | None = None


class PasswordChange(RequestBody):
    current_password: str = Field(json_schema_extra={"format": "password", "writeOnly": True})
    new_password: str = Field(json_schema_extra={"format": "password", "writeOnly": True})


class PasswordReset(RequestBody):
    new_password: str = Field(
        json_schema_extra={"format": "password", "writeOnly": True},
        description="A temporary password; the user must choose their own at next sign-in",
    )


class MySecurity(Resource):
    mfa_enabled: bool
    recovery_codes_remaining: int
    must_change_password: bool
    password_changed_at: datetime | None
    min_password_length: int


def policy_out(message: Any, response: Response) -> PasswordPolicy:
    response.headers["ETag"] = etag(message.version)
    return PasswordPolicy(
        min_length=message.min_length, reject_common_passwords=message.reject_common_passwords,
        mfa_required_for_admins=message.mfa_required_for_admins, version=message.version,
        updated_at=timestamp(message.updated_at),
    )


@router.get(
    POLICY_PATH,
    response_model=PasswordPolicy,
    **operation(operation_id="getPasswordPolicy", summary="Get the tenant's password policy",
                scopes=[Scope.USERS_MANAGE]),
)
async def get_policy(response: Response, caller: CallerDep, services: BackendsDep) -> PasswordPolicy:
    return policy_out(await caller.call(services.identity.GetPasswordPolicy, pb.GetPasswordPolicyRequest()), response)


@router.patch(
    POLICY_PATH,
    response_model=PasswordPolicy,
    **operation(
        operation_id="updatePasswordPolicy", summary="Change the tenant's password policy",
        scopes=[Scope.USERS_MANAGE], errors=[*WRITE_ERRORS, 412, 428],
        description="Only the fields sent change. Send the ETag you read in `If-Match`; a stale one gets 412. "
                    "New rules apply to passwords set from now on.",
    ),
)
async def update_policy(
    body: PasswordPolicyUpdate,
    response: Response,
    caller: CallerDep,
    services: BackendsDep,
    if_match: Annotated[str | None, Header(description='ETag of the version you read, e.g. W/"3"')] = None,
) -> PasswordPolicy:
    version = expected_version(if_match)
    sent = body.model_dump(exclude_unset=True, exclude_none=True)
    reply = await caller.call(services.identity.UpdatePasswordPolicy, pb.UpdatePasswordPolicyRequest(
        policy=pb.PasswordPolicy(**sent), update_mask=sorted(sent), expected_version=version,
    ))
    return policy_out(reply, response)


@router.post(
    "/v1/users/me:change-password",
    response_model=MySecurity,
    **{
        **operation(
            operation_id="changeMyPassword", summary="Change your own password", scopes=[],
            errors=[*WRITE_ERRORS, 401, 403, 429],
            description="Needs a user's token (any scope); a client's token gets 403. A wrong "
                        "`current_password` counts towards the sign-in lockout.",
        ),
        "dependencies": [Security(authenticate, scopes=[]), PARAMETER_TEXT],
    },
)
async def change_my_password(body: PasswordChange, caller: CallerDep, services: BackendsDep) -> MySecurity:
    reply = await caller.call(services.identity.ChangeMyPassword, pb.ChangeMyPasswordRequest(
        current_password=body.current_password, new_password=body.new_password,
    ))
    return MySecurity(
        mfa_enabled=reply.mfa_enabled, recovery_codes_remaining=reply.recovery_codes_remaining,
        must_change_password=reply.must_change_password, password_changed_at=timestamp(reply.password_changed_at),
        min_password_length=reply.min_password_length,
    )


@router.post(
    "/v1/users/{user_id}:reset-password",
    response_model=User,
    **operation(
        operation_id="resetUserPassword", summary="Set a temporary password for a user",
        scopes=[Scope.USERS_MANAGE], errors=[*WRITE_ERRORS, 404],
        description="The user must choose a new password at their next sign-in; a lockout is lifted.",
    ),
)
async def reset_password(user_id: str, body: PasswordReset, caller: CallerDep, services: BackendsDep) -> User:
    reply = await caller.call(services.identity.ResetUserPassword, pb.ResetUserPasswordRequest(
        user_id=user_id, new_password=body.new_password,
    ))
    return user_out(reply)


PREFERENCES_PATH = "/v1/users/me/preferences"


class MyPreferences(Resource):
    display_name: str
    locale: Literal["zh-CN", "en", ""] = Field(description='Your language; "" = the browser\'s / tenant\'s')
    time_zone: str = Field(description='An IANA time zone; "" = the tenant\'s')


class MyPreferencesUpdate(RequestBody):
    locale: Literal["zh-CN", "en", ""] | None = None
    time_zone: str | None = Field(None, max_length=64, description='IANA time zone, or "" for the tenant\'s')


def preferences_out(message: Any) -> MyPreferences:
    return MyPreferences(display_name=message.display_name, locale=message.locale or "",
                         time_zone=message.time_zone)


_USER_TOKEN = "Needs a user's token (any scope); a client's token gets 403."


@router.get(
    PREFERENCES_PATH,
    response_model=MyPreferences,
    **{
        **operation(operation_id="getMyPreferences", summary="Get your language and time zone", scopes=[],
                    errors=[401, 403], description=_USER_TOKEN),
        "dependencies": [Security(authenticate, scopes=[])],
    },
)
async def get_my_preferences(caller: CallerDep, services: BackendsDep) -> MyPreferences:
    return preferences_out(await caller.call(services.identity.GetMyPreferences, pb.GetMyPreferencesRequest()))


@router.patch(
    PREFERENCES_PATH,
    response_model=MyPreferences,
    **{
        **operation(
            operation_id="updateMyPreferences", summary="Change your language and time zone", scopes=[],
            errors=[*WRITE_ERRORS, 401, 403],
            description=f"{_USER_TOKEN} Only the fields sent change; \"\" goes back to the tenant's. Tokens "
                        "issued afterwards carry them as the `locale` and `zoneinfo` claims. An unknown time "
                        "zone is a 400 `invalid_time_zone` on `time_zone`.",
        ),
        "dependencies": [Security(authenticate, scopes=[])],
    },
)
async def update_my_preferences(body: MyPreferencesUpdate, caller: CallerDep,
                                services: BackendsDep) -> MyPreferences:
    sent = body.model_dump(exclude_unset=True, exclude_none=True)
    return preferences_out(await caller.call(services.identity.UpdateMyPreferences,
                                             pb.UpdateMyPreferencesRequest(**sent)))
