"""From event to signed POST: fan-out into the fair queue, the dispatcher's attempts, retries, the
dead letter and the delivery log, against a real PostgreSQL and a real HTTP receiver."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine
from standardwebhooks.webhooks import Webhook

from crm_platform.db import control_session, tenant_session
from crm_platform.errors import InvalidInput
from crm_webhooks.delivery.repository import Delivery
from crm_webhooks.delivery.service import DeliveryView
from crm_webhooks.delivery.tables import deliveries
from crm_webhooks.dispatch.tables import webhook_lanes
from crm_webhooks.endpoint.tables import endpoints
from crm_webhooks.main import Components
from tests.webhooks.flows import (
    create_endpoint,
    deliveries_of,
    fan_out,
    make_event,
    queue_rows,
    run_dispatcher_until,
    views_of,
)
from tests.webhooks.webhooks_testkit import Receiver

pytestmark = pytest.mark.usefixtures("empty_queue")


# -- fan-out -------------------------------------------------------------------------------
async def test_an_event_reaches_every_enabled_subscribed_endpoint_once(
    engine: AsyncEngine, tenant_id: uuid.UUID, components: Components, receiver: Receiver
) -> None:
    every = await create_endpoint(engine, tenant_id, components, receiver.url)
    created_only = await create_endpoint(engine, tenant_id, components, receiver.url, ["crm.customer.created"])
    await create_endpoint(engine, tenant_id, components, receiver.url, ["crm.tag.applied"])
    disabled = await create_endpoint(engine, tenant_id, components, receiver.url)
    async with tenant_session(engine, tenant_id) as session:
        await components.endpoint_service.update(session, str(disabled.endpoint.id), enabled=False)
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
    # Queued for the fair dispatcher: one row each, due at once, at the start of the schedule.
    queued = await queue_rows(engine)
    assert sorted(q.delivery_id for q in queued) == sorted(first)
    assert {(q.tenant_id, q.attempt, q.trigger, q.claim_id) for q in queued} == {(tenant_id, 0, "event", None)}
    async with control_session(engine) as session:
        lanes = set((await session.execute(sa.select(webhook_lanes.c.endpoint_id))).scalars())
    assert lanes == {every.endpoint.id, created_only.endpoint.id}


# -- attempts ---------------------------------------------------------------------------------
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

    await run_dispatcher_until(engine, components, succeeded)

    [view] = await views_of(engine, tenant_id, components)
    delivery = view.delivery
    assert (delivery.attempts, delivery.last_status_code, delivery.last_error) == (3, 204, None)
    assert delivery.next_attempt_at is None and delivery.last_attempt_at is not None
    assert len(receiver.received) == 3
    # Every attempt: same webhook-id (receivers dedupe), same bytes, a valid signature.
    assert {r.headers["webhook-id"] for r in receiver.received} == {event.id}
    assert len({r.body for r in receiver.received}) == 1
    for request in receiver.received:
        assert Webhook(created.secret).verify(request.body, request.headers) == event.to_json()
    # The delivery log: each attempt with its outcome, the request without its signature.
    assert [(a.number, a.status_code, a.error, a.trigger) for a in view.attempts] == [
        (1, 500, "HTTP 500", "event"), (2, 502, "HTTP 502", "event"), (3, 204, None, "event")]
    for attempt in view.attempts:
        assert attempt.url == receiver.url and attempt.duration_ms >= 0
        assert attempt.request_headers["webhook-id"] == event.id
        assert "webhook-signature" not in attempt.request_headers
    assert view.request_body_excerpt == receiver.received[0].body.decode()
    assert view.request_body_bytes == len(receiver.received[0].body)
    assert await queue_rows(engine) == []  # finished runs leave the queue


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

    await run_dispatcher_until(engine, components, failed_once)

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

    await run_dispatcher_until(engine, components, dead)
    await asyncio.sleep(0.5)  # nothing more may be attempted

    [delivery] = await deliveries_of(engine, tenant_id, components)
    assert (delivery.attempts, delivery.last_status_code, delivery.last_error) == (4, 500, "HTTP 500")
    assert delivery.next_attempt_at is None
    assert len(receiver.received) == 4  # the first attempt and 3 retries ("0.2,0.2,0.2")
    assert await queue_rows(engine) == []


async def test_unreachable_receiver_is_retried_with_the_error(
    engine: AsyncEngine, tenant_id: uuid.UUID, components: Components
) -> None:
    await create_endpoint(engine, tenant_id, components, "http://127.0.0.1:1/hook")
    await fan_out(engine, components, make_event(tenant_id))

    async def dead() -> bool:
        [delivery] = await deliveries_of(engine, tenant_id, components)
        return delivery.status == "dead"

    await run_dispatcher_until(engine, components, dead)
    [view] = await views_of(engine, tenant_id, components)
    assert view.delivery.attempts == 4 and view.delivery.last_status_code is None
    assert view.delivery.last_error is not None and view.delivery.last_error.startswith("ConnectError")
    assert [a.status_code for a in view.attempts] == [None] * 4


async def test_endpoint_disabled_behind_the_queue_gives_up_without_posting(
    engine: AsyncEngine, tenant_id: uuid.UUID, components: Components, receiver: Receiver
) -> None:
    created = await create_endpoint(engine, tenant_id, components, receiver.url)
    await fan_out(engine, components, make_event(tenant_id))
    # Disabled by a write that left the queue as it was (the service's own disable empties it).
    async with tenant_session(engine, tenant_id) as session:
        await session.execute(
            sa.update(endpoints).where(endpoints.c.id == created.endpoint.id).values(enabled=False)
        )

    async def left_queue() -> bool:
        return await queue_rows(engine) == []

    await run_dispatcher_until(engine, components, left_queue)
    [delivery] = await deliveries_of(engine, tenant_id, components)
    assert (delivery.status, delivery.attempts, delivery.last_error) == ("dead", 0, "endpoint disabled")
    assert receiver.received == []


async def test_response_excerpt_and_allowed_headers_are_kept(
    engine: AsyncEngine, tenant_id: uuid.UUID, components: Components, receiver: Receiver
) -> None:
    receiver.default_status = 422
    receiver.response_body = ("拒绝: " + "x" * 3000).encode()
    receiver.response_headers = {"content-type": "text/plain; charset=utf-8", "set-cookie": "session=secret",
                                 "retry-after": "30"}
    await create_endpoint(engine, tenant_id, components, receiver.url)
    await fan_out(engine, components, make_event(tenant_id))

    async def attempted() -> bool:
        [view] = await views_of(engine, tenant_id, components)
        return bool(view.attempts)

    await run_dispatcher_until(engine, components, attempted)
    [view] = await views_of(engine, tenant_id, components)
    attempt = view.attempts[0]
    assert attempt.status_code == 422 and attempt.error == "HTTP 422"
    assert attempt.response_body_excerpt.startswith("拒绝: xxx")
    assert len(attempt.response_body_excerpt.encode()) <= 1024 and attempt.response_truncated
    assert attempt.response_headers["content-type"] == "text/plain; charset=utf-8"
    assert attempt.response_headers["retry-after"] == "30"
    assert "set-cookie" not in attempt.response_headers


# -- the delivery log ---------------------------------------------------------------------------
async def test_deliveries_list_newest_first_in_pages_with_filters(
    engine: AsyncEngine, tenant_id: uuid.UUID, components: Components, receiver: Receiver
) -> None:
    created = await create_endpoint(engine, tenant_id, components, receiver.url)
    other = await create_endpoint(engine, tenant_id, components, receiver.url)
    for _ in range(5):
        await fan_out(engine, components, make_event(tenant_id))
    service = components.delivery_service
    endpoint_id = str(created.endpoint.id)

    pages: list[list[DeliveryView]] = []
    token = ""
    async with tenant_session(engine, tenant_id) as session:
        while True:
            page = await service.list_page(session, endpoint_id=endpoint_id, page_size=2, page_token=token)
            pages.append(page.items)
            token = page.next_page_token
            if not token:
                break
    ids = [v.delivery.id for items in pages for v in items]
    assert [len(items) for items in pages] == [2, 2, 1]
    assert ids == sorted(ids, reverse=True)  # UUIDv7: newest first
    assert {v.delivery.endpoint_id for items in pages for v in items} == {created.endpoint.id}
    assert other.endpoint.id != created.endpoint.id

    # Filters: one status, a time range; a page token only works with the filter it came from.
    newest = pages[0][0].delivery
    async with tenant_session(engine, tenant_id) as session:
        await session.execute(sa.update(deliveries).where(deliveries.c.id == newest.id).values(status="dead"))
    assert [v.delivery.id for v in await views_of(engine, tenant_id, components, status="dead")] == [newest.id]
    before_all = newest.created_at - timedelta(hours=1)
    assert await views_of(engine, tenant_id, components, created_before=before_all) == []
    assert len(await views_of(engine, tenant_id, components, created_after=before_all)) == 10
    async with tenant_session(engine, tenant_id) as session:
        first = await service.list_page(session, endpoint_id=endpoint_id, page_size=2, page_token="")
        with pytest.raises(InvalidInput) as wrong_filter:
            await service.list_page(session, endpoint_id=endpoint_id, page_size=2, page_token=first.next_page_token,
                                    status="dead")
    assert [e.field for e in wrong_filter.value.errors] == ["page_token"]


async def test_a_delivery_that_never_completes_an_attempt_is_given_up(
    engine: AsyncEngine, tenant_id: uuid.UUID, components: Components, receiver: Receiver
) -> None:
    created = await create_endpoint(engine, tenant_id, components, receiver.url)
    await fan_out(engine, components, make_event(tenant_id))
    # The stored secret no longer opens (e.g. a wrong key after a restore): every attempt fails
    # before sending, the same way, without an outcome.
    async with tenant_session(engine, tenant_id) as session:
        await session.execute(sa.update(endpoints).where(endpoints.c.id == created.endpoint.id)
                              .values(secret_encrypted=b"\x01" + b"\x00" * 40))

    async def dead() -> bool:
        [delivery] = await deliveries_of(engine, tenant_id, components)
        return delivery.status == "dead"

    await run_dispatcher_until(engine, components, dead, lease=timedelta(seconds=0.3))
    [delivery] = await deliveries_of(engine, tenant_id, components)
    assert delivery.attempts == 0
    assert delivery.last_error == "3 attempts ended without an outcome (see the service's logs)"
    assert receiver.received == [] and await queue_rows(engine) == []
