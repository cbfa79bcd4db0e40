"""/v1/api-clients: the tenant's OAuth clients (identity): create, list, read, rotate the secret,
revoke. Everything needs `clients:manage`; another tenant's client is a 404."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Path, Response
from pydantic import Field

from crm_gateway.api.common import (
    WRITE_ERRORS,
    BackendsDep,
    CallerDep,
    ItemList,
    Name,
    RequestBody,
    Resource,
    operation,
    timestamp,
)
from crm_platform.auth import Scope
from crm_proto.crm.identity.v1 import identity_pb2 as pb

router = APIRouter(prefix="/v1/api-clients", tags=["api clients"])


class ApiClient(Resource):
    client_id: str
    name: str
    kind: str = Field(description='"confidential" (has a secret) or "public" (code + PKCE only)')
    grant_types: list[str]
    redirect_uris: list[str]
    scopes: list[str]
    created_at: datetime | None
    revoked_at: datetime | None = Field(None, description="Set once revoked: the client gets no more tokens")
    secret_rotated_at: datetime | None = Field(None, description="When the secret was last replaced")


class ApiClientCreated(ApiClient):
    client_secret: str | None = Field(description="Shown once; store it now. Absent for public clients.")


class ApiClientSecret(ApiClient):
    client_secret: str = Field(description="The new secret, shown once; the previous one no longer works.")


def client_out(message: Any) -> ApiClient:
    return ApiClient(
        client_id=message.client_id, name=message.name, kind=message.kind, grant_types=list(message.grant_types),
        redirect_uris=list(message.redirect_uris), scopes=list(message.scopes),
        created_at=timestamp(message.created_at), revoked_at=timestamp(message.revoked_at),
        secret_rotated_at=timestamp(message.secret_rotated_at),
    )


class ApiClientCreate(RequestBody):
    name: Name
    kind: str = Field("confidential", description='"confidential" or "public"')
    grant_types: list[str] = Field(
        default_factory=list, description='"authorization_code", "client_credentials" (default)'
    )
    redirect_uris: list[str] = Field(default_factory=list, description="Exact URIs, for the code grant")
    scopes: list[str] = Field(
        default_factory=list,
        description="What the client may do (GET /v1/permissions lists them). None by default: a new client "
                    "holds no scope until you list some.",
    )


@router.get(
    "",
    response_model=ItemList[ApiClient],
    **operation(operation_id="listApiClients", summary="List API clients", scopes=[Scope.CLIENTS_MANAGE]),
)
async def list_api_clients(caller: CallerDep, services: BackendsDep) -> ItemList[ApiClient]:
    reply = await caller.call(services.identity.ListClients, pb.ListClientsRequest())
    return ItemList[ApiClient](items=[client_out(c) for c in reply.items])


@router.post(
    "",
    response_model=ApiClientCreated,
    **operation(operation_id="createApiClient", summary="Create an API client (returns its secret once)",
                scopes=[Scope.CLIENTS_MANAGE], errors=[*WRITE_ERRORS, 409], status_code=201),
)
async def create_api_client(
    body: ApiClientCreate, response: Response, caller: CallerDep, services: BackendsDep
) -> ApiClientCreated:
    reply = await caller.call(
        services.identity.CreateClient,
        pb.CreateClientRequest(name=body.name, kind=body.kind, grant_types=body.grant_types,
                               redirect_uris=body.redirect_uris, scopes=body.scopes),
    )
    client = client_out(reply.client)
    response.headers["Location"] = f"{router.prefix}/{client.client_id}"
    response.headers["Cache-Control"] = "no-store"
    return ApiClientCreated(**client.model_dump(), client_secret=reply.client_secret or None)


ClientId = Path(description="The client's `client_id`", max_length=200)


@router.get(
    "/{client_id}",
    response_model=ApiClient,
    **operation(operation_id="getApiClient", summary="Get an API client", scopes=[Scope.CLIENTS_MANAGE],
                errors=[400, 404]),
)
async def get_api_client(caller: CallerDep, services: BackendsDep, client_id: str = ClientId) -> ApiClient:
    reply = await caller.call(services.identity.GetApiClient, pb.GetApiClientRequest(client_id=client_id))
    return client_out(reply)


@router.post(
    "/{client_id}:rotate-secret",
    response_model=ApiClientSecret,
    **operation(
        operation_id="rotateApiClientSecret",
        summary="Replace an API client's secret (returns the new one once)",
        description="The old secret stops working at once. Tokens already issued stay valid until they "
        "expire. Public clients have no secret (`409 client_has_no_secret`); a revoked client cannot "
        "get one (`409 client_revoked`).",
        scopes=[Scope.CLIENTS_MANAGE], errors=[400, 404, 409, 413],
    ),
)
async def rotate_api_client_secret(
    response: Response, caller: CallerDep, services: BackendsDep, client_id: str = ClientId
) -> ApiClientSecret:
    reply = await caller.call(services.identity.RotateClientSecret, pb.RotateClientSecretRequest(client_id=client_id))
    response.headers["Cache-Control"] = "no-store"
    return ApiClientSecret(**client_out(reply.client).model_dump(), client_secret=reply.client_secret)


@router.post(
    "/{client_id}:revoke",
    response_model=ApiClient,
    **operation(
        operation_id="revokeApiClient",
        summary="Revoke an API client",
        description="The client can no longer get tokens, its refresh tokens are revoked and its "
        "consents forgotten. Access tokens it already holds are reported inactive by introspection "
        "and expire within their lifetime (15 minutes by default). Revoking twice is harmless.",
        scopes=[Scope.CLIENTS_MANAGE], errors=[400, 404, 413],
    ),
)
async def revoke_api_client(caller: CallerDep, services: BackendsDep, client_id: str = ClientId) -> ApiClient:
    reply = await caller.call(services.identity.RevokeClient, pb.RevokeClientRequest(client_id=client_id))
    return client_out(reply)
