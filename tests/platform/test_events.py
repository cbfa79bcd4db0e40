"""Outbox -> JetStream -> durable consumer with inbox: published once committed, applied once."""

from __future__ import annotations

import asyncio
import contextlib
import uuid

import sqlalchemy as sa
from nats.aio.client import Client as NATS
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from crm_platform import events, outbox
from crm_platform.consumer import EventConsumer, Subscription
from crm_platform.db import control_session, tenant_session
from crm_platform.outbox import OutboxRelay
from crm_platform.tables import inbox
from crm_platform.tables import outbox as outbox_table

from .conftest import notes


async def _write_note_with_event(engine: AsyncEngine, tenant: uuid.UUID, note_id: int) -> events.CloudEvent:
    async with tenant_session(engine, tenant) as session:
        await session.execute(sa.insert(notes).values(id=note_id, body="hello"))
        return await outbox.add_event(
            session, source="tests", tenant_id=tenant, aggregate="note", verb="created", data={"id": note_id}
        )


async def test_event_is_not_published_when_the_transaction_rolls_back(engine: AsyncEngine, tenant: uuid.UUID) -> None:
    try:
        async with tenant_session(engine, tenant) as session:
            await outbox.add_event(
                session, source="tests", tenant_id=tenant, aggregate="note", verb="created", data={"id": 1}
            )
            raise RuntimeError("rolled back")
    except RuntimeError:
        pass
    async with control_session(engine) as session:
        count = (
            await session.execute(
                sa.select(sa.func.count()).select_from(outbox_table).where(outbox_table.c.tenant_id == tenant)
            )
        ).scalar_one()
    assert count == 0


async def test_relay_publishes_with_message_id_and_marks_rows(engine: AsyncEngine, tenant: uuid.UUID, nc: NATS) -> None:
    event = await _write_note_with_event(engine, tenant, 1)
    js = nc.jetstream()
    subject = events.subject_for(tenant, "note", "created")
    sub = await js.pull_subscribe(subject, durable=f"t{tenant.hex[:12]}", stream=events.STREAM)
    relay = OutboxRelay(engine, nc)
    while await relay.publish_batch():
        pass
    [msg] = await sub.fetch(1, timeout=5)
    assert msg.headers is not None and msg.headers["Nats-Msg-Id"] == event.id
    body = events.CloudEvent.decode(msg.data)
    assert (body.id, body.type, body.tenantid, body.data) == (event.id, "crm.note.created", str(tenant), {"id": 1})
    async with control_session(engine) as session:
        published = (
            await session.execute(
                sa.select(outbox_table.c.published_at).where(outbox_table.c.event_id == uuid.UUID(event.id))
            )
        ).scalar_one()
    assert published is not None


async def test_republishing_the_same_event_id_is_deduplicated_by_the_stream(nc: NATS, tenant: uuid.UUID) -> None:
    js = nc.jetstream()
    event = events.CloudEvent.new(source="tests", type="crm.note.created", tenant_id=tenant, data={})
    subject = events.subject_for(tenant, "note", "created")
    first = await js.publish(subject, event.encode(), headers={"Nats-Msg-Id": event.id})
    second = await js.publish(subject, event.encode(), headers={"Nats-Msg-Id": event.id})
    assert not first.duplicate and second.duplicate


async def test_consumer_applies_a_redelivered_event_once(engine: AsyncEngine, tenant: uuid.UUID, nc: NATS) -> None:
    applied: list[str] = []

    async def handler(event: events.CloudEvent, session: AsyncSession) -> None:
        applied.append(event.id)
        await session.execute(sa.update(notes).values(body=notes.c.body + "!"))

    await _write_note_with_event(engine, tenant, 1)
    consumer = EventConsumer(engine, nc, Subscription(f"dedupe-{tenant.hex[:8]}", ["crm.*.note.*"], handler))
    event = events.CloudEvent.new(source="tests", type="crm.note.created", tenant_id=tenant, data={})
    assert await consumer.apply(event) is True
    assert await consumer.apply(event) is False  # the redelivery
    assert applied == [event.id]
    async with tenant_session(engine, tenant) as session:
        assert (await session.execute(sa.select(notes.c.body))).scalar_one() == "hello!"
        rows = (await session.execute(sa.select(inbox).where(inbox.c.event_id == event.id))).all()
    assert len(rows) == 1


async def test_failed_handler_leaves_no_inbox_row_so_the_retry_applies(
    engine: AsyncEngine, tenant: uuid.UUID, nc: NATS
) -> None:
    calls = 0

    async def flaky(event: events.CloudEvent, session: AsyncSession) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("transient")

    consumer = EventConsumer(engine, nc, Subscription(f"flaky-{tenant.hex[:8]}", ["crm.*.note.*"], flaky))
    event = events.CloudEvent.new(source="tests", type="crm.note.created", tenant_id=tenant, data={})
    with contextlib.suppress(RuntimeError):
        await consumer.apply(event)
    assert await consumer.apply(event) is True
    assert calls == 2


async def test_running_consumer_receives_relayed_events_in_order(
    engine: AsyncEngine, tenant: uuid.UUID, nc: NATS
) -> None:
    seen: list[int] = []

    async def handler(event: events.CloudEvent, session: AsyncSession) -> None:
        if event.tenantid == str(tenant):
            seen.append(event.data["id"])

    for note_id in range(1, 6):
        await _write_note_with_event(engine, tenant, note_id)
    relay = OutboxRelay(engine, nc, poll_seconds=0.1)
    consumer = EventConsumer(engine, nc, Subscription(f"order-{tenant.hex[:8]}", [f"crm.{tenant}.note.*"], handler))
    tasks = [asyncio.create_task(relay.run()), asyncio.create_task(consumer.run())]
    try:
        for _ in range(100):
            if len(seen) >= 5:
                break
            await asyncio.sleep(0.1)
    finally:
        relay.stop()
        consumer.stop()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    assert seen == [1, 2, 3, 4, 5]
