"""/v1/users: the tenant's users (identity)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from pydantic import Field

from crm_gateway.api.common import (
    WRITE_ERRORS,
    BackendsDep,
    CallerDep,
    Page,
    PageQuery,
    RequestBody,
    Resource,
    operation,
    page,
    timestamp,
)
from crm_platform.auth import Scope
from crm_proto.crm.identity.v1 import identity_pb2 as pb

router = APIRouter(prefix="/v1/users", tags=["users"])


class User(Resource):
    id: str
    email: str
    display_name: str
    roles: list[str]
    created_at: datetime | None


def user_out(message: Any) -> User:
    return User(
        id=message.id, email=message.email, display_name=message.display_name, roles=list(message.roles),
        created_at=timestamp(message.created_at),
    )


class UserCreate(RequestBody):
    email: str
    password: str = Field(json_schema_extra={"format": "password", "writeOnly": True})
    display_name: str
    roles: list[str] = Field(
        default_factory=list, description="tenant_admin, sales_manager, sales_rep, customer_service"
    )


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
                             roles=body.roles),
    )
    response.headers["Location"] = f"{router.prefix}/{reply.id}"
    return user_out(reply)
