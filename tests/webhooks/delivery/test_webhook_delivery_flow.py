"""From event to signed POST: fan-out, the delivery job, retries and the dead letter, against a
real PostgreSQL, the platform JobWorker and a real HTTP receiver."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine
from standardwebhooks.webhooks import Webhook

from crm_platform.db import control_session, tenant_session
from crm_platform.events import CloudEvent
from crm_platform.tables import jobs
from crm_webhooks.delivery.repository import Delivery
from crm_webhooks.delivery.service import DELIVER_JOB
from crm_webhooks.delivery.worker import DeliverWebhook, delivery_worker
from crm_webhooks.endpoint.service import CreatedEndpoint
from crm_webhooks.endpoint.tables import endpoints
from crm_webhooks.main import Components
from tests.webhooks.webhooks_testkit import Receiver, wait_until


@pytest.fixture(autouse=True)
async def no_leftover_jobs(engine: AsyncEngine) -> AsyncIterator[None]:
    """The job queue is service-wide: each test starts and ends with no delivery jobs."""
    await _delete_jobs(engine)
    yield
    await _delete_jobs(engine)


async def _delete_jobs(engine: AsyncEngine) -> None:
    async with control_session(engine) as session:
        await session.execute(sa.delete(jobs).where(jobs.c.kind == DELIVER_JOB))


# -- factories ------------------------------------------------------------------------------
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


async def deliveries_of(engine: AsyncEngine, tenant_id: uuid.UUID, components: Components) -> list[Delivery]:
    async with tenant_session(engine, tenant_id) as session:
        page = await components.delivery_service.list_page(session, endpoint_id="", page_size=0, page_token="")
    return page.items


async def delivery_jobs(engine: AsyncEngine) -> list[Any]:
    async with control_session(engine) as session:
        return list((await session.execute(sa.select(jobs).where(jobs.c.kind == DELIVER_JOB))).all())


async def run_worker_until(
    engine: AsyncEngine, components: Components, condition: Callable[[], Awaitable[bool]]
) -> None:
    handler = DeliverWebhook(
        engine, components.delivery_service, components.sender, components.settings.retry_delays
    )
    worker = delivery_worker(engine, handler, concurrency=4, poll_seconds=0.05)
    task = asyncio.create_task(worker.run())
    try:
        await wait_until(condition, within=20)
    finally:
        worker.stop()
        await asyncio.wait_for(task, 15)


# -- fan-out -------------------------------------------------------------------------------
async def test_an_event_reaches_every_enabled_subscribed_endpoint_once(
    engine: AsyncEngine, tenant_id: uuid.UUID, components: Components, receiver: Receiver
) -> None:
    every = await create_endpoint(engine, tenant_id, components, receiver.url)
    created_only = await create_endpoint(engine, tenant_id, components, receiver.url, ["crm.customer.created"])
    await create_endpoint(engine, tenant_id, components, receiver.url, ["crm.tag.applied"])
    disabled = await create_endpoint(engine, tenant_id, components, receiver.url)
    async with tenant_session(engine, tenant_id) as session:
        await session.execute(
            sa.update(endpoints).where(endpoints.c.id == disabled.endpoint.id).values(enabled=False)
        )
    event = make_event(tenant_id)

    first = await fan_out(engine, components, event)
    again = await fan_out(engine, components, event)  # NATS redelivered it, inbox aside

    assert again == []
    made = await deliveries_of(engine, tenant_id, components)
    assert sorted(d.endpoint_id for d in made) == sorted([every.endpoint.id, created_only.endpoint.id])
    assert {d.id for d in made} == set(first)
    assert {(d.status, d.attempts, d.event_id, d.event_type) for d in made} == {
        ("pending", 0, event.id, "crm.customer.created")
    }
    queued = await delivery_jobs(engine)
    assert sorted(j.dedupe_key for j in queued) == sorted(f"deliver:{i}" for i in first)
    assert {(j.tenant_id, j.max_attempts) for j in queued} == {(tenant_id, 4)}  # 3 retries + first


# -- delivery job ----------------------------------------------------------------------------
async def test_receiver_failing_twice_then_succeeding(
    engine: AsyncEngine, tenant_id: uuid.UUID, components: Components, receiver: Receiver
) -> None:
    receiver.statuses = [500, 502]
    created = await create_endpoint(engine, tenant_id, components, receiver.url)
    event = make_event(tenant_id)
    await fan_out(engine, components, event)

    async def succeeded() -> bool:
        [delivery] = await deliveries_of(engine, tenant_id, components)
        return delivery.status == "succeeded"

    await run_worker_until(engine, components, succeeded)

    [delivery] = await deliveries_of(engine, tenant_id, components)
    assert (delivery.attempts, delivery.last_status_code, delivery.last_error) == (3, 204, None)
    assert delivery.next_attempt_at is None
    assert len(receiver.received) == 3
    # Every attempt: same webhook-id (receivers dedupe), same bytes, a valid signature.
    assert {r.headers["webhook-id"] for r in receiver.received} == {event.id}
    assert len({r.body for r in receiver.received}) == 1
    for request in receiver.received:
        assert Webhook(created.secret).verify(request.body, request.headers) == event.to_json()
    [job] = await delivery_jobs(engine)
    assert (job.status, job.attempts) == ("succeeded", 3)


async def test_failed_attempt_is_recorded_with_the_next_attempt_time(
    engine: AsyncEngine, tenant_id: uuid.UUID, components: Components, receiver: Receiver
) -> None:
    receiver.statuses = [500]
    receiver.default_status = 200
    await create_endpoint(engine, tenant_id, components, receiver.url)
    await fan_out(engine, components, make_event(tenant_id))
    seen: list[Delivery] = []

    async def failed_once() -> bool:
        [delivery] = await deliveries_of(engine, tenant_id, components)
        if delivery.status == "failed":
            seen.append(delivery)
        return delivery.status == "succeeded"

    await run_worker_until(engine, components, failed_once)

    failed = seen[0]
    assert (failed.attempts, failed.last_status_code, failed.last_error) == (1, 500, "HTTP 500")
    assert failed.next_attempt_at is not None and failed.next_attempt_at > failed.created_at


async def test_dead_after_the_last_attempt(
    engine: AsyncEngine, tenant_id: uuid.UUID, components: Components, receiver: Receiver
) -> None:
    receiver.default_status = 500
    await create_endpoint(engine, tenant_id, components, receiver.url)
    await fan_out(engine, components, make_event(tenant_id))

    async def dead() -> bool:
        [delivery] = await deliveries_of(engine, tenant_id, components)
        return delivery.status == "dead"

    await run_worker_until(engine, components, dead)
    await asyncio.sleep(0.5)  # nothing more may be attempted

    [delivery] = await deliveries_of(engine, tenant_id, components)
    assert (delivery.attempts, delivery.last_status_code, delivery.last_error) == (4, 500, "HTTP 500")
    assert delivery.next_attempt_at is None
    assert len(receiver.received) == 4
    [job] = await delivery_jobs(engine)
    assert (job.status, job.attempts) == ("dead", 4)


async def test_unreachable_receiver_is_retried_with_the_error(
    engine: AsyncEngine, tenant_id: uuid.UUID, components: Components
) -> None:
    await create_endpoint(engine, tenant_id, components, "http://127.0.0.1:1/hook")
    await fan_out(engine, components, make_event(tenant_id))

    async def dead() -> bool:
        [delivery] = await deliveries_of(engine, tenant_id, components)
        return delivery.status == "dead"

    await run_worker_until(engine, components, dead)
    [delivery] = await deliveries_of(engine, tenant_id, components)
    assert delivery.attempts == 4 and delivery.last_status_code is None
    assert delivery.last_error is not None and delivery.last_error.startswith("ConnectError")


async def test_endpoint_disabled_before_sending_gives_up_without_posting(
    engine: AsyncEngine, tenant_id: uuid.UUID, components: Components, receiver: Receiver
) -> None:
    created = await create_endpoint(engine, tenant_id, components, receiver.url)
    await fan_out(engine, components, make_event(tenant_id))
    async with tenant_session(engine, tenant_id) as session:
        await session.execute(
            sa.update(endpoints).where(endpoints.c.id == created.endpoint.id).values(enabled=False)
        )

    async def finished() -> bool:
        return all(j.status == "succeeded" for j in await delivery_jobs(engine))

    await run_worker_until(engine, components, finished)
    [delivery] = await deliveries_of(engine, tenant_id, components)
    assert (delivery.status, delivery.attempts, delivery.last_error) == ("dead", 0, "endpoint disabled")
    assert receiver.received == []


async def test_deliveries_list_newest_first_in_pages(
    engine: AsyncEngine, tenant_id: uuid.UUID, components: Components, receiver: Receiver
) -> None:
    created = await create_endpoint(engine, tenant_id, components, receiver.url)
    other = await create_endpoint(engine, tenant_id, components, receiver.url)
    for _ in range(5):
        await fan_out(engine, components, make_event(tenant_id))
    service = components.delivery_service
    endpoint_id = str(created.endpoint.id)

    pages: list[list[Delivery]] = []
    token = ""
    async with tenant_session(engine, tenant_id) as session:
        while True:
            page = await service.list_page(session, endpoint_id=endpoint_id, page_size=2, page_token=token)
            pages.append(page.items)
            token = page.next_page_token
            if not token:
                break
    ids = [d.id for items in pages for d in items]
    assert [len(items) for items in pages] == [2, 2, 1]
    assert ids == sorted(ids, reverse=True)
    assert {d.endpoint_id for items in pages for d in items} == {created.endpoint.id}
    assert other.endpoint.id != created.endpoint.id
