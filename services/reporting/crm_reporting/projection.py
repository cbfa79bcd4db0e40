"""The durable `reporting` consumer: every event on crm.> is projected into the analytics store.

Idempotence has two layers. The platform's Postgres inbox (the session the handler is given)
skips an event this consumer already committed. The analytics tables are keyed so a repeat is
harmless anyway, which matters because ClickHouse is not part of the inbox transaction: when
the insert succeeds and the inbox commit fails, the event comes again and collapses into the
first copy.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from crm_platform.consumer import Subscription
from crm_platform.events import CloudEvent
from crm_reporting.analytics import Analytics
from crm_reporting.customers.service import customer_service
from crm_reporting.event_log.service import event_log_service

DURABLE_NAME = "reporting"
ALL_EVENTS = "crm.>"


class EventProjector:
    def __init__(self, analytics: Analytics):
        self.analytics = analytics

    async def project(self, event: CloudEvent) -> None:
        await event_log_service.record(self.analytics, event)
        if customer_service.projects(event):
            await customer_service.record(self.analytics, event)

    async def handle(self, event: CloudEvent, session: AsyncSession) -> None:
        """consumer.Handler: the session only carries the inbox row; nothing else is written
        to Postgres."""
        await self.project(event)


def reporting_subscription(analytics: Analytics) -> Subscription:
    return Subscription(
        durable=DURABLE_NAME, filter_subjects=[ALL_EVENTS], handler=EventProjector(analytics).handle
    )
