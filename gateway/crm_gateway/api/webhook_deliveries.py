"""/v1/webhook-deliveries and /v1/webhook-replays (webhooks): the delivery log's resources, one
delivery's replay, and range replays' progress (docs/webhooks.md)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from fastapi import APIRouter, Response
from google.protobuf.timestamp_pb2 import Timestamp
from pydantic import Field, field_validator

from crm_gateway.api.common import (
    BackendsDep,
    CallerDep,
    RequestBody,
    Resource,
    operation,
    timestamp,
)
from crm_platform.auth import Scope
from crm_proto.crm.webhooks.v1 import webhooks_pb2 as pb

router = APIRouter(prefix="/v1/webhook-deliveries", tags=["webhooks"])
replays_router = APIRouter(prefix="/v1/webhook-replays", tags=["webhooks"])

DeliveryStatus = Literal["pending", "succeeded", "failed", "dead", "cancelled"]
ReplayableStatus = Literal["succeeded", "dead"]


class WebhookDeliveryAttempt(Resource):
    id: str
    number: int = Field(description="1 for the delivery's first attempt, counting across replays")
    trigger: Literal["event", "replay"] = Field(description='"event": its own retry schedule; "replay": after a replay')
    attempted_at: datetime | None
    duration_ms: int
    url: str
    request_headers: dict[str, str] = Field(
        description="Headers sent: webhook-id, webhook-timestamp, content-type, user-agent, content-length "
                    "(never the signature)"
    )
    status_code: int | None = Field(description="Absent when no response arrived (see `error`)")
    error: str | None = Field(description='"HTTP 503", "timed out after 10 s (...)", "ConnectError: ..." ...')
    response_headers: dict[str, str] = Field(
        description="content-type, content-length, retry-after, location, date, server, x-request-id when present"
    )
    response_body_excerpt: str = Field(description="The first 1 KiB of the response body")
    response_truncated: bool = Field(description="The response body was longer than the excerpt")


class WebhookDelivery(Resource):
    id: str
    endpoint_id: str
    event_id: str = Field(description="The `webhook-id` header: the same on every attempt and replay")
    event_type: str
    status: DeliveryStatus = Field(
        description='"pending", "succeeded", "failed" (waiting for its next retry), "dead" (retries used up, or '
                    'its endpoint was disabled; replayable) or "cancelled" (its customer was erased, or its '
                    "endpoint deleted)"
    )
    attempts: int = Field(description="Attempts made, counting across replays")
    replays: int = 0
    last_status_code: int = Field(description="0 when the last attempt got no response")
    last_error: str
    next_attempt_at: datetime | None = Field(description="Absent when nothing more is scheduled")
    last_attempt_at: datetime | None = None
    created_at: datetime | None
    request_body_excerpt: str = Field(
        "", description="The first 2 KiB of the request body (the signed CloudEvent JSON); empty once erased"
    )
    request_body_bytes: int = 0
    attempt_log: list[WebhookDeliveryAttempt] = Field(
        default_factory=list, description="The latest attempts (at most 25), oldest first"
    )


class WebhookReplay(Resource):
    id: str
    endpoint_id: str
    since: datetime | None
    until: datetime | None
    statuses: list[ReplayableStatus]
    status: Literal["queued", "running", "succeeded", "failed"]
    deliveries_total: int = Field(description="Deliveries in the range with those statuses when it was created")
    deliveries_replayed: int
    deliveries_skipped: int = Field(description="In the range but not sent again: their payload was erased")
    requested_by: str
    created_at: datetime | None
    finished_at: datetime | None
    error: str | None


class WebhookReplayCreate(RequestBody):
    since: datetime = Field(description="Deliveries created at or after this time (RFC 3339; without an offset: UTC)")
    until: datetime | None = Field(None, description="... and before this time; default (and at most): now")
    statuses: list[ReplayableStatus] = Field(
        default_factory=list, max_length=2, description='Which finished deliveries: default ["succeeded", "dead"]'
    )

    @field_validator("since", "until")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        return utc(value)


def utc(value: datetime | None) -> datetime | None:
    """A time from a query or body; one without an offset is read as UTC."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def proto_time(value: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(value)
    return stamp


def attempt_out(message: Any) -> WebhookDeliveryAttempt:
    return WebhookDeliveryAttempt(
        id=message.id, number=message.number, trigger=message.trigger, attempted_at=timestamp(message.attempted_at),
        duration_ms=message.duration_ms, url=message.url, request_headers=dict(message.request_headers),
        status_code=message.status_code or None, error=message.error or None,
        response_headers=dict(message.response_headers), response_body_excerpt=message.response_body_excerpt,
        response_truncated=message.response_truncated,
    )


def delivery_out(message: Any) -> WebhookDelivery:
    return WebhookDelivery(
        id=message.id, endpoint_id=message.endpoint_id, event_id=message.event_id, event_type=message.event_type,
        status=message.status, attempts=message.attempts, replays=message.replays,
        last_status_code=message.last_status_code, last_error=message.last_error,
        next_attempt_at=timestamp(message.next_attempt_at), last_attempt_at=timestamp(message.last_attempt_at),
        created_at=timestamp(message.created_at), request_body_excerpt=message.request_body_excerpt,
        request_body_bytes=message.request_body_bytes, attempt_log=[attempt_out(a) for a in message.attempt_log],
    )


def replay_out(message: Any) -> WebhookReplay:
    return WebhookReplay(
        id=message.id, endpoint_id=message.endpoint_id, since=timestamp(message.since), until=timestamp(message.until),
        statuses=list(message.statuses), status=message.status, deliveries_total=message.deliveries_total,
        deliveries_replayed=message.deliveries_replayed, deliveries_skipped=message.deliveries_skipped,
        requested_by=message.requested_by, created_at=timestamp(message.created_at),
        finished_at=timestamp(message.finished_at), error=message.error or None,
    )


@router.get(
    "/{delivery_id}",
    response_model=WebhookDelivery,
    **operation(operation_id="getWebhookDelivery", summary="One delivery with its latest attempts",
                scopes=[Scope.WEBHOOKS_MANAGE], errors=[404]),
)
async def get_delivery(delivery_id: str, caller: CallerDep, services: BackendsDep) -> WebhookDelivery:
    return delivery_out(await caller.call(services.webhooks.GetDelivery, pb.GetDeliveryRequest(id=delivery_id)))


@router.post(
    "/{delivery_id}:replay",
    response_model=WebhookDelivery,
    **operation(
        operation_id="replayWebhookDelivery", summary="Send a delivery again (same webhook-id)",
        scopes=[Scope.WEBHOOKS_MANAGE], errors=[400, 404, 409, 413], status_code=202,
        description="A succeeded or dead delivery starts a new run with a fresh retry schedule; one waiting for "
                    "its next retry is attempted now. The body and `webhook-id` are the same as before, so "
                    "receivers deduplicate. 409 `endpoint_disabled` (enable the endpoint first), "
                    "`delivery_in_progress` (an attempt is in flight), `delivery_purged` (its customer was erased).",
    ),
)
async def replay_delivery(delivery_id: str, caller: CallerDep, services: BackendsDep) -> WebhookDelivery:
    return delivery_out(await caller.call(services.webhooks.ReplayDelivery, pb.ReplayDeliveryRequest(id=delivery_id)))


@replays_router.get(
    "/{replay_id}",
    response_model=WebhookReplay,
    **operation(operation_id="getWebhookReplay", summary="A range replay's progress",
                scopes=[Scope.WEBHOOKS_MANAGE], errors=[404]),
)
async def get_replay(replay_id: str, caller: CallerDep, services: BackendsDep) -> WebhookReplay:
    return replay_out(await caller.call(services.webhooks.GetReplay, pb.GetReplayRequest(id=replay_id)))


def replay_location(response: Response, replay: WebhookReplay) -> None:
    response.headers["Location"] = f"{replays_router.prefix}/{replay.id}"
