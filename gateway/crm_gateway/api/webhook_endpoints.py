"""/v1/webhook-endpoints, their deliveries (the delivery log) and range replays (webhooks)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from pydantic import Field, field_validator

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
from crm_gateway.api.webhook_deliveries import (
    DeliveryStatus,
    WebhookDelivery,
    WebhookReplay,
    WebhookReplayCreate,
    delivery_out,
    proto_time,
    replay_location,
    replay_out,
    utc,
)
from crm_platform.auth import Scope
from crm_proto.crm.webhooks.v1 import webhooks_pb2 as pb

router = APIRouter(prefix="/v1/webhook-endpoints", tags=["webhooks"])


class WebhookEndpoint(Resource):
    id: str
    url: str
    description: str = Field("", description="What the receiver is, for the people who manage it")
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
    disabled_reason: Literal["manual", "failing"] | None = Field(
        None, description='While disabled: "manual" (PATCH enabled=false) or "failing" (every attempt failed for '
                          "5 days; the tenant's admins are told). PATCH enabled=true re-enables it."
    )
    disabled_at: datetime | None = None
    failing_since: datetime | None = Field(
        None, description="The first failed attempt since the last successful one; absent while healthy"
    )


class WebhookEndpointCreated(WebhookEndpoint):
    secret: str = Field(description="Signing secret (whsec_...), shown once; store it now")


def endpoint_out(message: Any) -> WebhookEndpoint:
    return WebhookEndpoint(
        id=message.id, url=message.url, description=message.description,
        event_types=list(message.event_types), enabled=message.enabled,
        created_at=timestamp(message.created_at), hidden_fields=list(message.hidden_fields),
        field_policies=dict(message.field_policies), policies_set_by=message.policies_set_by,
        updated_at=timestamp(message.updated_at), disabled_reason=message.disabled_reason or None,
        disabled_at=timestamp(message.disabled_at), failing_since=timestamp(message.failing_since),
    )


class WebhookEndpointCreate(RequestBody):
    url: str
    description: str = Field("", max_length=500)
    event_types: list[str] = Field(default_factory=list)
    hidden_fields: list[str] = Field(
        default_factory=list, max_length=100,
        description='Customer fields never sent to this endpoint, e.g. ["email", "cf.budget"]',
    )


class WebhookEndpointPatch(RequestBody):
    url: str | None = None
    description: str | None = Field(None, max_length=500)
    event_types: list[str] | None = None
    enabled: bool | None = None
    hidden_fields: list[str] | None = Field(None, max_length=100)


class WebhookEndpointDeleted(Resource):
    id: str
    deliveries_cancelled: int = Field(description="Deliveries that were waiting to be sent and are now cancelled")


class DeliveryQuery(PageQuery):
    status: DeliveryStatus | None = Field(None, description="Only deliveries with this status")
    created_after: datetime | None = Field(None, description="Created at or after (RFC 3339; a date means 00:00 UTC)")
    created_before: datetime | None = Field(None, description="Created before")

    @field_validator("created_after", "created_before")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        return utc(value)


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
        pb.CreateEndpointRequest(url=body.url, event_types=body.event_types, hidden_fields=body.hidden_fields,
                                 description=body.description),
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
    if body.description is not None:
        request.description = body.description
    if body.event_types is not None:
        request.replace_event_types = True
        request.event_types.extend(body.event_types)
    if body.hidden_fields is not None:
        request.replace_hidden_fields = True
        request.hidden_fields.extend(body.hidden_fields)
    return endpoint_out(await caller.call(services.webhooks.UpdateEndpoint, request))


@router.delete(
    "/{endpoint_id}",
    response_model=WebhookEndpointDeleted,
    **operation(
        operation_id="deleteWebhookEndpoint", summary="Delete a webhook endpoint", scopes=[Scope.WEBHOOKS_MANAGE],
        errors=[404],
        description="Nothing more is sent to it: deliveries still waiting are cancelled, its signing secret is "
                    "destroyed, and the endpoint, its deliveries and replays are 404 from then on.",
    ),
)
async def delete_endpoint(endpoint_id: str, caller: CallerDep, services: BackendsDep) -> WebhookEndpointDeleted:
    reply = await caller.call(services.webhooks.DeleteEndpoint, pb.DeleteEndpointRequest(id=endpoint_id))
    return WebhookEndpointDeleted(id=endpoint_id, deliveries_cancelled=reply.deliveries_cancelled)


@router.get(
    "/{endpoint_id}/deliveries",
    response_model=Page[WebhookDelivery],
    **operation(
        operation_id="listWebhookDeliveries", summary="An endpoint's delivery log, newest first",
        scopes=[Scope.WEBHOOKS_MANAGE], errors=[400, 404],
        description="Each delivery with its status, attempts and the latest 25 attempts (time, duration, HTTP "
                    "status, request headers without the signature, response headers and the first 1 KiB of the "
                    "response), and the first 2 KiB of the request body. Filter by `status` and creation time.",
    ),
)
async def list_deliveries(
    endpoint_id: str, query: Annotated[DeliveryQuery, Query()], caller: CallerDep, services: BackendsDep
) -> Page[WebhookDelivery]:
    request = pb.ListDeliveriesRequest(endpoint_id=endpoint_id, page_size=query.size, page_token=query.page_token,
                                       status=query.status or "")
    if query.created_after is not None:
        request.created_after.CopyFrom(proto_time(query.created_after))
    if query.created_before is not None:
        request.created_before.CopyFrom(proto_time(query.created_before))
    reply = await caller.call(services.webhooks.ListDeliveries, request)
    return page([delivery_out(d) for d in reply.items], reply.next_page_token)


@router.post(
    "/{endpoint_id}:replay",
    response_model=WebhookReplay,
    **operation(
        operation_id="replayWebhookEndpoint", summary="Replay an endpoint's deliveries made in a time range (a job)",
        scopes=[Scope.WEBHOOKS_MANAGE], errors=[*WRITE_ERRORS, 404, 409], status_code=202,
        description="Every succeeded and/or dead delivery created in [since, until) is sent again with its own "
                    "`webhook-id` and a fresh retry schedule, oldest first, in batches (a job; follow it at "
                    "`Location`). Deliveries still being retried are left to their schedule; those whose customer "
                    "was erased are skipped. 409 `endpoint_disabled`: enable the endpoint first.",
    ),
)
async def replay_endpoint(endpoint_id: str, body: WebhookReplayCreate, response: Response, caller: CallerDep,
                          services: BackendsDep) -> WebhookReplay:
    request = pb.CreateReplayRequest(endpoint_id=endpoint_id, since=proto_time(body.since), statuses=body.statuses)
    if body.until is not None:
        request.until.CopyFrom(proto_time(body.until))
    replay = replay_out(await caller.call(services.webhooks.CreateReplay, request))
    replay_location(response, replay)
    return replay


@router.get(
    "/{endpoint_id}/replays",
    response_model=Page[WebhookReplay],
    **operation(operation_id="listWebhookReplays", summary="An endpoint's range replays, newest first",
                scopes=[Scope.WEBHOOKS_MANAGE], errors=[400, 404]),
)
async def list_replays(
    endpoint_id: str, query: Annotated[PageQuery, Query()], caller: CallerDep, services: BackendsDep
) -> Page[WebhookReplay]:
    reply = await caller.call(
        services.webhooks.ListReplays,
        pb.ListReplaysRequest(endpoint_id=endpoint_id, page_size=query.size, page_token=query.page_token),
    )
    return page([replay_out(r) for r in reply.items], reply.next_page_token)


@router.post(
    "/{endpoint_id}:rotate-secret",
    response_model=WebhookEndpointCreated,
    **operation(
        operation_id="rotateWebhookEndpointSecret", summary="Give a webhook endpoint a new signing secret",
        scopes=[Scope.WEBHOOKS_MANAGE], errors=[*WRITE_ERRORS, 404],
        description="Returns the new secret (whsec_...) once. Every attempt from now on is signed with it; the "
                    "old secret stops working at once, so update the receiver right away.",
    ),
)
async def rotate_secret(endpoint_id: str, response: Response, caller: CallerDep,
                        services: BackendsDep) -> WebhookEndpointCreated:
    reply = await caller.call(services.webhooks.RotateEndpointSecret,
                              pb.RotateEndpointSecretRequest(id=endpoint_id))
    response.headers["Cache-Control"] = "no-store"
    return WebhookEndpointCreated(**endpoint_out(reply.endpoint).model_dump(), secret=reply.secret)


@router.post(
    "/{endpoint_id}:send-test-event",
    response_model=WebhookDelivery,
    **operation(
        operation_id="sendWebhookTestEvent", summary="Send a test event to a webhook endpoint",
        scopes=[Scope.WEBHOOKS_MANAGE], errors=[*WRITE_ERRORS, 404, 409], status_code=202,
        description='Queues a `crm.webhook.test` CloudEvent (data: `{"endpoint_id", "message"}`) to this endpoint '
                    "only, whatever event types it subscribes to: a delivery in its log like any other, signed, "
                    "retried and replayable. 409 `endpoint_disabled`.",
    ),
)
async def send_test_event(endpoint_id: str, response: Response, caller: CallerDep,
                          services: BackendsDep) -> WebhookDelivery:
    delivery = delivery_out(await caller.call(services.webhooks.SendTestEvent,
                                              pb.SendTestEventRequest(endpoint_id=endpoint_id)))
    response.headers["Location"] = f"/v1/webhook-deliveries/{delivery.id}"
    return delivery
