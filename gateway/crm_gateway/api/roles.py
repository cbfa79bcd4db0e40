"""/v1/permissions and /v1/roles: the permission catalogue, built-in and custom roles with their
data scope and field policies (identity's roles/; docs/access.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Header, Path, Response
from pydantic import Field

from crm_gateway.api.common import (
    WRITE_ERRORS,
    BackendsDep,
    CallerDep,
    ItemList,
    Multiline,
    Name,
    RequestBody,
    Resource,
    expected_version,
    operation,
    timestamp,
)
from crm_gateway.problems import etag
from crm_platform.auth import Scope
from crm_proto.crm.identity.v1 import identity_pb2 as pb

router = APIRouter(tags=["roles"])

DataScope = Literal["own", "team", "all"]
FieldPolicy = Literal["hidden", "masked", "read_only", "read_write"]
RoleId = Path(description="A built-in role's name (`sales_rep`, ...) or a custom role's id", max_length=100)
READ_SCOPES = "Needs `roles:manage` or `users:manage`."


class Permission(Resource):
    scope: str = Field(description="The scope a token carries, e.g. `customers:read`")
    description: str = Field(description="In the request's language (Accept-Language)")


class Role(Resource):
    id: str
    name: str
    description: str
    builtin: bool = Field(description="Built-in roles are read-only")
    scopes: list[str]
    data_scope: str = Field(description="own, team (own team and sub-teams) or all")
    field_policies: dict[str, str] = Field(
        description="Customer field -> hidden | masked | read_only; fields not listed are read_write"
    )
    version: int
    created_at: datetime | None
    updated_at: datetime | None


class FieldPolicies(Resource):
    role_id: str
    field_policies: dict[str, str]
    version: int


def role_out(m: pb.Role) -> Role:
    return Role(
        id=m.id, name=m.name, description=m.description, builtin=m.builtin, scopes=list(m.scopes),
        data_scope=m.data_scope, field_policies=dict(m.field_policies), version=m.version,
        created_at=timestamp(m.created_at), updated_at=timestamp(m.updated_at),
    )


class RoleCreate(RequestBody):
    name: Name = Field(max_length=100, examples=["Regional sales"])
    description: Multiline = Field("", max_length=500)
    scopes: list[Annotated[str, Field(max_length=100)]] = Field(max_length=50, examples=[["customers:read"]])
    data_scope: DataScope = "own"


class RolePatch(RequestBody):
    name: Name | None = Field(None, max_length=100)
    description: Multiline | None = Field(None, max_length=500)
    scopes: list[Annotated[str, Field(max_length=100)]] | None = Field(None, max_length=50)
    data_scope: DataScope | None = None


class FieldPoliciesPut(RequestBody):
    field_policies: dict[Annotated[str, Field(max_length=70)], FieldPolicy] = Field(
        description="Customer field (`cf.<key>` for custom fields) -> policy; omitted fields are read_write",
        examples=[{"annual_revenue": "hidden", "mobile": "masked"}],
    )


def _single(response: Response, message: pb.Role) -> Role:
    if not message.builtin:
        response.headers["ETag"] = etag(message.version)
    return role_out(message)


@router.get(
    "/v1/permissions",
    response_model=ItemList[Permission],
    **operation(operation_id="listPermissions", summary="List the permission catalogue",
                scopes=[Scope.ROLES_MANAGE, Scope.USERS_MANAGE], any_scope=True,
                description=f"Every permission a role can grant. {READ_SCOPES}"),
)
async def list_permissions(caller: CallerDep, services: BackendsDep) -> ItemList[Permission]:
    reply = await caller.call(services.identity.ListPermissions, pb.ListPermissionsRequest())
    zh = caller.locale == "zh-CN"
    return ItemList[Permission](
        items=[Permission(scope=p.scope, description=p.description_zh if zh else p.description_en)
               for p in reply.items]
    )


@router.get(
    "/v1/roles",
    response_model=ItemList[Role],
    **operation(operation_id="listRoles", summary="List built-in and custom roles",
                scopes=[Scope.ROLES_MANAGE, Scope.USERS_MANAGE], any_scope=True, description=READ_SCOPES),
)
async def list_roles(caller: CallerDep, services: BackendsDep) -> ItemList[Role]:
    reply = await caller.call(services.identity.ListRoles, pb.ListRolesRequest())
    return ItemList[Role](items=[role_out(r) for r in reply.items])


@router.post(
    "/v1/roles",
    response_model=Role,
    **operation(operation_id="createRole", summary="Create a custom role", scopes=[Scope.ROLES_MANAGE],
                errors=[*WRITE_ERRORS, 409], status_code=201,
                description="Scopes come from `/v1/permissions`; a caller cannot grant scopes they lack (403)."),
)
async def create_role(body: RoleCreate, response: Response, caller: CallerDep, services: BackendsDep) -> Role:
    reply = await caller.call(
        services.identity.CreateRole,
        pb.CreateRoleRequest(name=body.name, description=body.description, scopes=body.scopes,
                             data_scope=body.data_scope),
    )
    response.headers["Location"] = f"/v1/roles/{reply.id}"
    return _single(response, reply)


@router.get(
    "/v1/roles/{role_id}",
    response_model=Role,
    **operation(operation_id="getRole", summary="Get a role", scopes=[Scope.ROLES_MANAGE, Scope.USERS_MANAGE],
                any_scope=True, errors=[404], description=READ_SCOPES),
)
async def get_role(role_id: Annotated[str, RoleId], response: Response, caller: CallerDep,
                   services: BackendsDep) -> Role:
    return _single(response, await caller.call(services.identity.GetRole, pb.GetRoleRequest(id=role_id)))


@router.patch(
    "/v1/roles/{role_id}",
    response_model=Role,
    **operation(operation_id="updateRole", summary="Change a custom role", scopes=[Scope.ROLES_MANAGE],
                errors=[*WRITE_ERRORS, 404, 409, 412],
                description="Built-in roles are read-only (409 `builtin_role_readonly`). `If-Match` is optional. "
                            "Users' tokens change at their next token refresh."),
)
async def update_role(
    role_id: Annotated[str, RoleId], body: RolePatch, response: Response, caller: CallerDep, services: BackendsDep,
    if_match: Annotated[str | None, Header(description="Optional ETag of the version you read")] = None,
) -> Role:
    sent = {k: v for k, v in body.model_dump(exclude_unset=True).items() if v is not None}
    request = pb.UpdateRoleRequest(id=role_id, update_mask=list(sent),
                                   expected_version=expected_version(if_match) if if_match else 0)
    for name in ("name", "description", "data_scope"):
        if name in sent:
            setattr(request, name, sent[name])
    if "scopes" in sent:
        request.scopes.extend(sent["scopes"])
    return _single(response, await caller.call(services.identity.UpdateRole, request))


@router.delete(
    "/v1/roles/{role_id}",
    response_model=Role,
    **operation(operation_id="deleteRole", summary="Delete a custom role", scopes=[Scope.ROLES_MANAGE],
                errors=[404, 409],
                description="Refused (409 `role_in_use`) while users hold the role; built-in roles are read-only."),
)
async def delete_role(role_id: Annotated[str, RoleId], caller: CallerDep, services: BackendsDep) -> Role:
    return role_out(await caller.call(services.identity.DeleteRole, pb.DeleteRoleRequest(id=role_id)))


def _policies(response: Response, message: pb.Role) -> FieldPolicies:
    if not message.builtin:
        response.headers["ETag"] = etag(message.version)
    return FieldPolicies(role_id=message.id, field_policies=dict(message.field_policies), version=message.version)


@router.get(
    "/v1/roles/{role_id}/field-policies",
    response_model=FieldPolicies,
    **operation(operation_id="getRoleFieldPolicies", summary="Get a role's field policies",
                scopes=[Scope.ROLES_MANAGE, Scope.USERS_MANAGE], any_scope=True, errors=[404],
                description=READ_SCOPES),
)
async def get_field_policies(role_id: Annotated[str, RoleId], response: Response, caller: CallerDep,
                             services: BackendsDep) -> FieldPolicies:
    return _policies(response, await caller.call(services.identity.GetRole, pb.GetRoleRequest(id=role_id)))


@router.put(
    "/v1/roles/{role_id}/field-policies",
    response_model=FieldPolicies,
    **operation(operation_id="setRoleFieldPolicies", summary="Replace a custom role's field policies",
                scopes=[Scope.ROLES_MANAGE], errors=[*WRITE_ERRORS, 404, 409, 412],
                description="The whole map is replaced. Across a user's roles the most permissive policy wins."),
)
async def set_field_policies(
    role_id: Annotated[str, RoleId], body: FieldPoliciesPut, response: Response, caller: CallerDep,
    services: BackendsDep,
    if_match: Annotated[str | None, Header(description="Optional ETag of the version you read")] = None,
) -> FieldPolicies:
    reply = await caller.call(
        services.identity.SetRoleFieldPolicies,
        pb.SetRoleFieldPoliciesRequest(id=role_id, field_policies=dict(body.field_policies),
                                       expected_version=expected_version(if_match) if if_match else 0),
    )
    return _policies(response, reply)
