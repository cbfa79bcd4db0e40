"""gRPC for deliveries: translation only (rules live in service.py)."""

from __future__ import annotations

from crm_platform.auth import Scope
from crm_platform.grpc_server import Call, HasEngine, rpc
from crm_proto.crm.webhooks.v1 import webhooks_pb2
from crm_webhooks.delivery.repository import Delivery
from crm_webhooks.delivery.service import DeliveryService


def delivery_message(delivery: Delivery) -> webhooks_pb2.Delivery:
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
    )
    if delivery.next_attempt_at is not None:  # unset when nothing more will be attempted
        message.next_attempt_at.FromDatetime(delivery.next_attempt_at)
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
            page_token=request.page_token,
        )
        return webhooks_pb2.ListDeliveriesResponse(
            items=[delivery_message(d) for d in page.items], next_page_token=page.next_page_token
        )
