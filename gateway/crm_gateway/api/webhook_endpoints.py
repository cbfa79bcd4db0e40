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


class WebhookEndpointCreated(WebhookEndpoint):
    secret: str = Field(description="Signing secret (whsec_...), shown once; store it now")


def endpoint_out(message: Any) -> WebhookEndpoint:
    return WebhookEndpoint(
        id=message.id, url=message.url, event_types=list(message.event_types), enabled=message.enabled,
        created_at=timestamp(message.created_at),
    )


class WebhookEndpointCreate(RequestBody):
    url: str
    event_types: list[str] = Field(default_factory=list)


class WebhookDelivery(Resource):
    id: str
    endpoint_id: str
    event_id: str
    event_type: str
    status: str = Field(description='"pending", "succeeded", "failed" (retrying) or "dead"')
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
        services.webhooks.CreateEndpoint, pb.CreateEndpointRequest(url=body.url, event_types=body.event_types)
    )
    endpoint = endpoint_out(reply.endpoint)
    response.headers["Location"] = f"{router.prefix}/{endpoint.id}"
    response.headers["Cache-Control"] = "no-store"
    return WebhookEndpointCreated(**endpoint.model_dump(), secret=reply.secret)


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
