"""gRPC for deliveries: translation only (rules live in service.py)."""

from __future__ import annotations

from datetime import UTC, datetime

from google.protobuf.timestamp_pb2 import Timestamp

from crm_platform.auth import Scope
from crm_platform.grpc_server import Call, HasEngine, rpc
from crm_proto.crm.webhooks.v1 import webhooks_pb2
from crm_webhooks.delivery.repository import AttemptRecord
from crm_webhooks.delivery.service import DeliveryService, DeliveryView


def timestamp_or_none(value: Timestamp, present: bool) -> datetime | None:
    """An optional Timestamp field as an aware datetime (None when unset)."""
    return value.ToDatetime(tzinfo=UTC) if present else None


def attempt_message(record: AttemptRecord) -> webhooks_pb2.DeliveryAttempt:
    return webhooks_pb2.DeliveryAttempt(
        id=str(record.id), number=record.number, trigger=record.trigger, attempted_at=record.attempted_at,
        duration_ms=record.duration_ms, url=record.url, request_headers=record.request_headers,
        status_code=record.status_code or 0, error=record.error or "", response_headers=record.response_headers,
        response_body_excerpt=record.response_body_excerpt, response_truncated=record.response_truncated,
    )


def delivery_message(view: DeliveryView) -> webhooks_pb2.Delivery:
    delivery = view.delivery
    message = webhooks_pb2.Delivery(
        id=str(delivery.id),
        endpoint_id=str(delivery.endpoint_id),
        event_id=delivery.event_id,
        event_type=delivery.event_type,
        status=delivery.status,
        attempts=delivery.attempts,
        last_status_code=delivery.last_status_code or 0,
        last_error=delivery.last_error or "",
        created_at=delivery.created_at,
        replays=delivery.replays,
        request_body_excerpt=view.request_body_excerpt,
        request_body_bytes=view.request_body_bytes,
        attempt_log=[attempt_message(a) for a in view.attempts],
    )
    if delivery.next_attempt_at is not None:  # unset when nothing more will be attempted
        message.next_attempt_at.FromDatetime(delivery.next_attempt_at)
    if delivery.last_attempt_at is not None:
        message.last_attempt_at.FromDatetime(delivery.last_attempt_at)
    return message


class DeliveryRpcs(HasEngine):
    """The delivery half of WebhookService (combined in crm_webhooks.servicer)."""

    delivery_service: DeliveryService

    @rpc(Scope.WEBHOOKS_MANAGE)
    async def ListDeliveries(
        self, request: webhooks_pb2.ListDeliveriesRequest, call: Call
    ) -> webhooks_pb2.ListDeliveriesResponse:
        page = await self.delivery_service.list_page(
            call.session, endpoint_id=request.endpoint_id, page_size=request.page_size,
            page_token=request.page_token, status=request.status,
            created_after=timestamp_or_none(request.created_after, request.HasField("created_after")),
            created_before=timestamp_or_none(request.created_before, request.HasField("created_before")),
        )
        return webhooks_pb2.ListDeliveriesResponse(
            items=[delivery_message(d) for d in page.items], next_page_token=page.next_page_token
        )

    @rpc(Scope.WEBHOOKS_MANAGE)
    async def GetDelivery(self, request: webhooks_pb2.GetDeliveryRequest, call: Call) -> webhooks_pb2.Delivery:
        return delivery_message(await self.delivery_service.get(call.session, request.id))

    @rpc(Scope.WEBHOOKS_MANAGE)
    async def SendTestEvent(self, request: webhooks_pb2.SendTestEventRequest, call: Call) -> webhooks_pb2.Delivery:
        return delivery_message(
            await self.delivery_service.send_test(call.session, call.principal.tenant_id, request.endpoint_id)
        )
