"""The NATS edge: every event of every tenant becomes deliveries (the consumer wrapper owns the
inbox transaction, so a redelivered event adds nothing)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from crm_platform.consumer import Subscription
from crm_platform.events import CloudEvent
from crm_webhooks.delivery.service import DeliveryService

DURABLE = "webhooks"
ALL_EVENTS = "crm.>"


def subscription(deliveries: DeliveryService) -> Subscription:
    async def deliver_event(event: CloudEvent, session: AsyncSession) -> None:
        await deliveries.fan_out(session, event)

    return Subscription(durable=DURABLE, filter_subjects=[ALL_EVENTS], handler=deliver_event)
