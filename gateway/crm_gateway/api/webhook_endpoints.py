"""/v1/webhook-endpoints and their deliveries (webhooks)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from pydantic import Field

from crm_gateway.api.common import (
    WRITE_ERRORS,
    BackendsDep,
    CallerDep,
    ItemList,
    Page,
    PageQuery,
    RequestBody,
    Resource,
    operation,
    page,
    timestamp,
)
from crm_platform.auth import Scope
from crm_proto.crm.webhooks.v1 import webhooks_pb2 as pb

router = APIRouter(prefix="/v1/webhook-endpoints", tags=["webhooks"])


class WebhookEndpoint(Resource):
    id: str
    url: str
    event_types: list[str] = Field(description='Such as "crm.customer.created"; empty means all')
    enabled: bool
    created_at: datetime | None
    hidden_fields: list[str] = Field(
        default_factory=list, description="Customer fields this endpoint never sends, on top of its field policies"
    )
    field_policies: dict[str, str] = Field(
        default_factory=dict,
        description="Effective policies applied to customer payloads (field -> hidden | masked | read_only): "
                    "those of the token that created or last updated the endpoint, with `hidden_fields` hidden. "
                    "Fields not listed are sent as they are.",
    )
    policies_set_by: str = Field("", description="Whose token the policies come from (user id or client:<id>)")
    updated_at: datetime | None = None


class WebhookEndpointCreated(WebhookEndpoint):
    secret: str = Field(description="Signing secret (whsec_...), shown once; store it now")


def endpoint_out(message: Any) -> WebhookEndpoint:
    return WebhookEndpoint(
        id=message.id, url=message.url, event_types=list(message.event_types), enabled=message.enabled,
        created_at=timestamp(message.created_at), hidden_fields=list(message.hidden_fields),
        field_policies=dict(message.field_policies), policies_set_by=message.policies_set_by,
        updated_at=timestamp(message.updated_at),
    )


class WebhookEndpointCreate(RequestBody):
    url: str
    event_types: list[str] = Field(default_factory=list)
    hidden_fields: list[str] = Field(
        default_factory=list, max_length=100,
        description='Customer fields never sent to this endpoint, e.g. ["email", "cf.budget"]',
    )


class WebhookEndpointPatch(RequestBody):
    url: str | None = None
    event_types: list[str] | None = None
    enabled: bool | None = None
    hidden_fields: list[str] | None = Field(None, max_length=100)


class WebhookDelivery(Resource):
    id: str
    endpoint_id: str
    event_id: str
    event_type: str
    status: str = Field(
        description='"pending", "succeeded", "failed" (retrying), "dead" or "cancelled" (its customer was erased)'
    )
    attempts: int
    last_status_code: int
    last_error: str
    next_attempt_at: datetime | None
    created_at: datetime | None


def delivery_out(message: Any) -> WebhookDelivery:
    return WebhookDelivery(
        id=message.id, endpoint_id=message.endpoint_id, event_id=message.event_id, event_type=message.event_type,
        status=message.status, attempts=message.attempts, last_status_code=message.last_status_code,
        last_error=message.last_error, next_attempt_at=timestamp(message.next_attempt_at),
        created_at=timestamp(message.created_at),
    )


@router.get(
    "",
    response_model=ItemList[WebhookEndpoint],
    **operation(operation_id="listWebhookEndpoints", summary="List webhook endpoints",
                scopes=[Scope.WEBHOOKS_MANAGE]),
)
async def list_endpoints(caller: CallerDep, services: BackendsDep) -> ItemList[WebhookEndpoint]:
    reply = await caller.call(services.webhooks.ListEndpoints, pb.ListEndpointsRequest())
    return ItemList[WebhookEndpoint](items=[endpoint_out(e) for e in reply.items])


@router.post(
    "",
    response_model=WebhookEndpointCreated,
    **operation(operation_id="createWebhookEndpoint", summary="Create a webhook endpoint (returns its secret once)",
                scopes=[Scope.WEBHOOKS_MANAGE], errors=[*WRITE_ERRORS, 409], status_code=201),
)
async def create_endpoint(body: WebhookEndpointCreate, response: Response, caller: CallerDep,
                          services: BackendsDep) -> WebhookEndpointCreated:
    reply = await caller.call(
        services.webhooks.CreateEndpoint,
        pb.CreateEndpointRequest(url=body.url, event_types=body.event_types, hidden_fields=body.hidden_fields),
    )
    endpoint = endpoint_out(reply.endpoint)
    response.headers["Location"] = f"{router.prefix}/{endpoint.id}"
    response.headers["Cache-Control"] = "no-store"
    return WebhookEndpointCreated(**endpoint.model_dump(), secret=reply.secret)


@router.get(
    "/{endpoint_id}",
    response_model=WebhookEndpoint,
    **operation(operation_id="getWebhookEndpoint", summary="Get a webhook endpoint with its effective field policies",
                scopes=[Scope.WEBHOOKS_MANAGE], errors=[404]),
)
async def get_endpoint(endpoint_id: str, caller: CallerDep, services: BackendsDep) -> WebhookEndpoint:
    return endpoint_out(await caller.call(services.webhooks.GetEndpoint, pb.GetEndpointRequest(id=endpoint_id)))


@router.patch(
    "/{endpoint_id}",
    response_model=WebhookEndpoint,
    **operation(
        operation_id="updateWebhookEndpoint", summary="Change a webhook endpoint",
        scopes=[Scope.WEBHOOKS_MANAGE], errors=[*WRITE_ERRORS, 404],
        description="Only the fields sent change. The endpoint's field policies are replaced by those of the "
                    "caller's token: whoever changes an endpoint answers for what it sends.",
    ),
)
async def update_endpoint(endpoint_id: str, body: WebhookEndpointPatch, caller: CallerDep,
                          services: BackendsDep) -> WebhookEndpoint:
    request = pb.UpdateEndpointRequest(id=endpoint_id)
    if body.url is not None:
        request.url = body.url
    if body.enabled is not None:
        request.enabled = body.enabled
    if body.event_types is not None:
        request.replace_event_types = True
        request.event_types.extend(body.event_types)
    if body.hidden_fields is not None:
        request.replace_hidden_fields = True
        request.hidden_fields.extend(body.hidden_fields)
    return endpoint_out(await caller.call(services.webhooks.UpdateEndpoint, request))


@router.get(
    "/{endpoint_id}/deliveries",
    response_model=Page[WebhookDelivery],
    **operation(operation_id="listWebhookDeliveries", summary="List an endpoint's deliveries",
                scopes=[Scope.WEBHOOKS_MANAGE], errors=[400, 404]),
)
async def list_deliveries(
    endpoint_id: str, query: Annotated[PageQuery, Query()], caller: CallerDep, services: BackendsDep
) -> Page[WebhookDelivery]:
    reply = await caller.call(
        services.webhooks.ListDeliveries,
        pb.ListDeliveriesRequest(endpoint_id=endpoint_id, page_size=query.size, page_token=query.page_token),
    )
    return page([delivery_out(d) for d in reply.items], reply.next_page_token)
