"""/v1/api-clients: the tenant's OAuth clients (identity)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Response
from pydantic import Field

from crm_gateway.api.common import (
    WRITE_ERRORS,
    BackendsDep,
    CallerDep,
    ItemList,
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


class ApiClientCreated(ApiClient):
    client_secret: str | None = Field(description="Shown once; store it now. Absent for public clients.")


def client_out(message: Any) -> ApiClient:
    return ApiClient(
        client_id=message.client_id, name=message.name, kind=message.kind, grant_types=list(message.grant_types),
        redirect_uris=list(message.redirect_uris), scopes=list(message.scopes),
        created_at=timestamp(message.created_at),
    )


class ApiClientCreate(RequestBody):
    name: str
    kind: str = Field("confidential", description='"confidential" or "public"')
    grant_types: list[str] = Field(
        default_factory=list, description='"authorization_code", "client_credentials" (default)'
    )
    redirect_uris: list[str] = Field(default_factory=list, description="Exact URIs, for the code grant")
    scopes: list[str] = Field(default_factory=list, description="Empty means every tenant scope")


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
