"""Steps shared by the webhooks service tests: endpoints, events fanned out as the consumer does,
the delivery log, the queue, and a dispatcher run until a condition holds."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_platform.db import control_session, tenant_session
from crm_platform.events import CloudEvent
from crm_webhooks.delivery.repository import Delivery
from crm_webhooks.delivery.service import DeliveryView
from crm_webhooks.dispatch.tables import webhook_queue
from crm_webhooks.endpoint.service import CreatedEndpoint
from crm_webhooks.main import Components, build_dispatcher
from tests.webhooks.webhooks_testkit import wait_until


async def create_endpoint(
    engine: AsyncEngine, tenant_id: uuid.UUID, components: Components, url: str,
    event_types: Sequence[str] = (),
) -> CreatedEndpoint:
    async with tenant_session(engine, tenant_id) as session:
        return await components.endpoint_service.create(session, tenant_id, url=url, event_types=event_types)


def make_event(tenant_id: uuid.UUID, event_type: str = "crm.customer.created") -> CloudEvent:
    return CloudEvent.new(
        source="crm/customers", type=event_type, tenant_id=tenant_id,
        data={"customer": {"id": str(uuid.uuid4()), "name": "张三"}},
    )


async def fan_out(engine: AsyncEngine, components: Components, event: CloudEvent) -> list[uuid.UUID]:
    async with tenant_session(engine, event.tenantid) as session:
        return await components.delivery_service.fan_out(session, event)


async def views_of(
    engine: AsyncEngine, tenant_id: uuid.UUID, components: Components, **filters: Any
) -> list[DeliveryView]:
    async with tenant_session(engine, tenant_id) as session:
        page = await components.delivery_service.list_page(
            session, endpoint_id="", page_size=0, page_token="", **filters
        )
    return page.items


async def deliveries_of(engine: AsyncEngine, tenant_id: uuid.UUID, components: Components) -> list[Delivery]:
    return [view.delivery for view in await views_of(engine, tenant_id, components)]


async def queue_rows(engine: AsyncEngine) -> list[Any]:
    async with control_session(engine) as session:
        return list((await session.execute(sa.select(webhook_queue))).all())


async def run_dispatcher_until(
    engine: AsyncEngine, components: Components, condition: Callable[[], Awaitable[bool]],
    lease: timedelta | None = None,
) -> None:
    dispatcher = build_dispatcher(engine, components)
    dispatcher.poll_seconds = 0.05
    if lease is not None:
        dispatcher.lease = lease
    task = asyncio.create_task(dispatcher.run())
    try:
        await wait_until(condition, within=20)
    finally:
        dispatcher.stop()
        await asyncio.wait_for(task, 15)


