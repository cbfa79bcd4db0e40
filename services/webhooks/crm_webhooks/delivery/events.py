"""The NATS edge: every event of every tenant becomes deliveries (the consumer wrapper owns the
inbox transaction, so a redelivered event adds nothing).

Customer erasure (docs/webhooks.md, "Erasure"): `customer.erased` first cancels and purges the
deliveries about the customer, then is delivered like any event; an event about a customer erased
before it arrived makes no delivery (crm_platform/erasure.py)."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from crm_platform.consumer import Subscription
from crm_platform.erasure import about_erased_customer, apply_erasure
from crm_platform.events import CloudEvent
from crm_webhooks.delivery import repository
from crm_webhooks.delivery.service import DeliveryService
from crm_webhooks.dispatch import repository as queue

DURABLE = "webhooks"
ALL_EVENTS = "crm.>"


async def purge_customer(session: AsyncSession, tenant_id: uuid.UUID, customer_id: uuid.UUID) -> None:
    purged = await repository.purge_about_customer(session, customer_id)
    await queue.remove_deliveries(session, purged["cancelled"])


def subscription(deliveries: DeliveryService) -> Subscription:
    async def deliver_event(event: CloudEvent, session: AsyncSession) -> None:
        if await about_erased_customer(session, event):
            return
        await apply_erasure(session, event, purge_customer)
        await deliveries.fan_out(session, event)

    return Subscription(durable=DURABLE, filter_subjects=[ALL_EVENTS], handler=deliver_event)
