"""/v1/users: the tenant's users (identity)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query, Response
from pydantic import Field

from crm_gateway.api.common import (
    WRITE_ERRORS,
    BackendsDep,
    CallerDep,
    Name,
    Page,
    PageQuery,
    RequestBody,
    Resource,
    expected_version,
    operation,
    page,
    timestamp,
)
from crm_gateway.problems import etag
from crm_platform.auth import Scope
from crm_proto.crm.identity.v1 import identity_pb2 as pb

router = APIRouter(prefix="/v1/users", tags=["users"])


class User(Resource):
    id: str
    email: str
    display_name: str
    roles: list[str]
    created_at: datetime | None
    team_id: str | None = Field(None, description="The user's team; null when in none")
    version: int = 0
    disabled: bool = Field(False, description="A disabled user cannot sign in")


def user_out(message: Any) -> User:
    return User(
        id=message.id, email=message.email, display_name=message.display_name, roles=list(message.roles),
        created_at=timestamp(message.created_at), team_id=message.team_id or None, version=message.version,
        disabled=message.disabled,
    )


class UserCreate(RequestBody):
    email: str
    password: str = Field(json_schema_extra={"format": "password", "writeOnly": True})
    display_name: Name
    roles: list[str] = Field(
        default_factory=list,
        description="Built-in (tenant_admin, sales_manager, sales_rep, customer_service) or custom role ids",
    )
    team_id: str | None = Field(None, max_length=100)


class UserPatch(RequestBody):
    display_name: Name | None = Field(None, max_length=100)
    roles: list[Annotated[str, Field(max_length=100)]] | None = Field(None, max_length=20)
    team_id: str | None = Field(None, max_length=100, description="null takes the user out of their team")
    disabled: bool | None = Field(None, description="true: the user cannot sign in and their sessions end at once")


@router.get(
    "",
    response_model=Page[User],
    **operation(operation_id="listUsers", summary="List users", scopes=[Scope.USERS_MANAGE], errors=[400]),
)
async def list_users(query: Annotated[PageQuery, Query()], caller: CallerDep, services: BackendsDep) -> Page[User]:
    reply = await caller.call(
        services.identity.ListUsers, pb.ListUsersRequest(page_size=query.size, page_token=query.page_token)
    )
    return page([user_out(u) for u in reply.items], reply.next_page_token)


@router.post(
    "",
    response_model=User,
    **operation(operation_id="createUser", summary="Create a user", scopes=[Scope.USERS_MANAGE],
                errors=[*WRITE_ERRORS, 409], status_code=201),
)
async def create_user(body: UserCreate, response: Response, caller: CallerDep, services: BackendsDep) -> User:
    reply = await caller.call(
        services.identity.CreateUser,
        pb.CreateUserRequest(email=body.email, password=body.password, display_name=body.display_name,
                             roles=body.roles, team_id=body.team_id or ""),
    )
    response.headers["Location"] = f"{router.prefix}/{reply.id}"
    return user_out(reply)


UserId = Path(description="The user's id", max_length=100)


@router.get(
    "/{user_id}",
    response_model=User,
    **operation(operation_id="getUser", summary="Get a user", scopes=[Scope.USERS_MANAGE], errors=[404]),
)
async def get_user(user_id: Annotated[str, UserId], response: Response, caller: CallerDep,
                   services: BackendsDep) -> User:
    reply = await caller.call(services.identity.GetUser, pb.GetUserRequest(id=user_id))
    response.headers["ETag"] = etag(reply.version)
    return user_out(reply)


@router.patch(
    "/{user_id}",
    response_model=User,
    **operation(operation_id="updateUser", summary="Change a user's name, roles or team, or disable them",
                scopes=[Scope.USERS_MANAGE], errors=[*WRITE_ERRORS, 404, 409, 412, 428],
                description="`If-Match` is required. Roles must exist and grant nothing the caller lacks (403 "
                            "`grant_exceeds_own`); the user's tokens change at their next refresh. Disabling "
                            "revokes the user's sessions. The last active tenant admin can be neither disabled "
                            "nor lose `tenant_admin` (409 `last_tenant_admin`)."),
)
async def update_user(
    user_id: Annotated[str, UserId], body: UserPatch, response: Response, caller: CallerDep, services: BackendsDep,
    if_match: Annotated[str | None, Header(description="ETag of the version you read")] = None,
) -> User:
    version = expected_version(if_match)
    sent = body.model_dump(exclude_unset=True)
    if sent.get("display_name", "") is None:
        sent.pop("display_name")
    if sent.get("roles", []) is None:
        sent.pop("roles")
    if sent.get("disabled", False) is None:
        sent.pop("disabled")
    request = pb.UpdateUserRequest(id=user_id, update_mask=list(sent), expected_version=version,
                                   display_name=sent.get("display_name", ""), team_id=sent.get("team_id") or "",
                                   disabled=bool(sent.get("disabled", False)))
    request.roles.extend(sent.get("roles", []))
    reply = await caller.call(services.identity.UpdateUser, request)
    response.headers["ETag"] = etag(reply.version)
    return user_out(reply)
