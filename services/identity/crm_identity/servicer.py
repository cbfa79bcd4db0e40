"""gRPC transport for identity: translation only."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

import grpc
import sqlalchemy as sa
from google.protobuf.timestamp_pb2 import Timestamp

from crm_identity.keys.service import KeyRing
from crm_identity.oauth.service import OAuthService, TokenGrant
from crm_identity.tenants.service import TenantService
from crm_identity.users import service as users
from crm_platform.auth import Scope
from crm_platform.grpc_server import Call, rpc
from crm_platform.ids import parse_uuid
from crm_proto.crm.identity.v1 import identity_pb2 as pb
from crm_proto.crm.identity.v1 import identity_pb2_grpc

SERVICE_NAME = "crm.identity.v1.IdentityService"
PUBLIC_METHODS = frozenset(
    f"/{SERVICE_NAME}/{m}"
    for m in ("GetJwks", "CreateTenant", "GetClient", "AuthorizeUser", "ExchangeAuthorizationCode", "IssueClientToken")
)
TENANT_STATUS = {
    "provisioning": pb.TENANT_STATUS_PROVISIONING,
    "active": pb.TENANT_STATUS_ACTIVE,
    "suspended": pb.TENANT_STATUS_SUSPENDED,
}


def _ts(value: datetime | None) -> Timestamp:
    stamp = Timestamp()
    if value is not None:
        stamp.FromDatetime(value)
    return stamp


def tenant_pb(row: sa.Row[Any]) -> pb.Tenant:
    return pb.Tenant(
        id=str(row.id),
        slug=row.slug,
        name=row.name,
        status=TENANT_STATUS[row.status],
        default_locale=row.default_locale,
        created_at=_ts(row.created_at),
    )


def user_pb(row: sa.Row[Any]) -> pb.User:
    return pb.User(
        id=str(row.id),
        email=row.email,
        display_name=row.display_name,
        roles=list(row.roles),
        created_at=_ts(row.created_at),
    )


def client_pb(row: sa.Row[Any]) -> pb.OAuthClient:
    return pb.OAuthClient(
        client_id=row.client_id,
        tenant_id=str(row.tenant_id or ""),
        name=row.name,
        kind=row.kind,
        grant_types=list(row.grant_types),
        redirect_uris=list(row.redirect_uris),
        scopes=list(row.scopes),
        created_at=_ts(row.created_at),
    )


def token_pb(grant: TokenGrant) -> pb.TokenResponse:
    return pb.TokenResponse(
        access_token=grant.access_token, token_type="Bearer", expires_in=grant.expires_in, scope=grant.scope
    )


class IdentityServicer(identity_pb2_grpc.IdentityServiceServicer):
    def __init__(self, engine: Any, keys: KeyRing, tenants: TenantService, oauth: OAuthService):
        self.engine = engine
        self.keys = keys
        self.tenants = tenants
        self.oauth = oauth

    async def GetJwks(self, request: pb.GetJwksRequest, context: grpc.aio.ServicerContext) -> pb.GetJwksResponse:
        return pb.GetJwksResponse(jwks_json=json.dumps(self.keys.jwks()))

    async def CreateTenant(
        self, request: pb.CreateTenantRequest, context: grpc.aio.ServicerContext
    ) -> pb.CreateTenantResponse:
        tenant, admin = await self.tenants.create(
            name=request.name,
            slug=request.slug,
            admin_email=request.admin_email,
            admin_password=request.admin_password,
            admin_display_name=request.admin_display_name,
            default_locale=request.default_locale,
        )
        return pb.CreateTenantResponse(tenant=tenant_pb(tenant), admin=user_pb(admin))

    @rpc()
    async def GetTenant(self, request: pb.GetTenantRequest, call: Call) -> pb.Tenant:
        return tenant_pb(await self.tenants.get(call.principal.tenant_id))

    @rpc(Scope.USERS_MANAGE)
    async def CreateUser(self, request: pb.CreateUserRequest, call: Call) -> pb.User:
        row = await users.create_user(
            call.session, request.email, request.password, request.display_name, list(request.roles)
        )
        return user_pb(row)

    @rpc(Scope.USERS_MANAGE)
    async def ListUsers(self, request: pb.ListUsersRequest, call: Call) -> pb.ListUsersResponse:
        size = min(request.page_size or 50, 500)
        after = parse_uuid(request.page_token, "page_token") if request.page_token else None
        rows = await users.list_users(call.session, size + 1, after)
        next_token = str(rows[size - 1].id) if len(rows) > size else ""
        return pb.ListUsersResponse(items=[user_pb(r) for r in rows[:size]], next_page_token=next_token)

    async def GetClient(self, request: pb.GetClientRequest, context: grpc.aio.ServicerContext) -> pb.OAuthClient:
        return client_pb(await self.oauth.get_client(request.client_id))

    @rpc(Scope.CLIENTS_MANAGE)
    async def CreateClient(self, request: pb.CreateClientRequest, call: Call) -> pb.CreateClientResponse:
        row, secret = await self.oauth.create_client(
            call.principal.tenant_id,
            request.name,
            request.kind,
            list(request.grant_types),
            list(request.redirect_uris),
            list(request.scopes),
        )
        return pb.CreateClientResponse(client=client_pb(row), client_secret=secret or "")

    @rpc(Scope.CLIENTS_MANAGE)
    async def ListClients(self, request: pb.ListClientsRequest, call: Call) -> pb.ListClientsResponse:
        return pb.ListClientsResponse(
            items=[client_pb(r) for r in await self.oauth.list_clients(call.principal.tenant_id)]
        )

    async def AuthorizeUser(
        self, request: pb.AuthorizeUserRequest, context: grpc.aio.ServicerContext
    ) -> pb.AuthorizeUserResponse:
        code, scope = await self.oauth.authorize_user(
            tenant_slug=request.tenant_slug,
            email=request.email,
            password=request.password,
            client_id=request.client_id,
            redirect_uri=request.redirect_uri,
            scope=request.scope,
            code_challenge=request.code_challenge,
            code_challenge_method=request.code_challenge_method,
        )
        return pb.AuthorizeUserResponse(code=code, scope=scope)

    async def ExchangeAuthorizationCode(
        self, request: pb.ExchangeAuthorizationCodeRequest, context: grpc.aio.ServicerContext
    ) -> pb.TokenResponse:
        return token_pb(
            await self.oauth.exchange_code(
                code=request.code,
                client_id=request.client_id,
                client_secret=request.client_secret,
                redirect_uri=request.redirect_uri,
                code_verifier=request.code_verifier,
            )
        )

    async def IssueClientToken(
        self, request: pb.IssueClientTokenRequest, context: grpc.aio.ServicerContext
    ) -> pb.TokenResponse:
        return token_pb(
            await self.oauth.client_token(
                client_id=request.client_id,
                client_secret=request.client_secret,
                scope=request.scope,
            )
        )


__all__ = ["PUBLIC_METHODS", "IdentityServicer", "uuid"]
