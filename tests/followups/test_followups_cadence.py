"""Cadence rules turning tag.applied events into tasks, through the real consumer wrapper."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from nats.aio.client import Client as NATS
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_followups.cadence.events import DURABLE, TAG_APPLIED, occurred_at, subscription
from crm_followups.cadence.service import CadenceService
from crm_followups.task.tables import tasks
from crm_platform.consumer import EventConsumer
from crm_platform.db import control_session, tenant_session
from crm_platform.events import CloudEvent, event_type, proto_data, subject_for
from crm_platform.ids import new_id
from crm_platform.tables import outbox
from crm_proto.crm.events.v1 import events_pb2


def tag_applied(tenant_id: uuid.UUID, customer_id: uuid.UUID, tag_id: uuid.UUID) -> CloudEvent:
    data = proto_data(events_pb2.TagApplied(customer_id=str(customer_id), tag_id=str(tag_id), tag_name="VIP",
                                            source="rule", rule_id=str(uuid.uuid4())))
    return CloudEvent.new(source="crm/tagging", type=event_type("tag", "applied"), tenant_id=tenant_id, data=data)


async def stored_tasks(engine: AsyncEngine, tenant_id: uuid.UUID) -> list[sa.Row[Any]]:
    async with tenant_session(engine, tenant_id) as session:
        return list((await session.execute(sa.select(tasks).order_by(tasks.c.due_at))).all())


async def created_events(engine: AsyncEngine, tenant_id: uuid.UUID) -> list[dict[str, Any]]:
    async with control_session(engine) as session:
        return list((await session.execute(
            sa.select(outbox.c.payload).where(
                outbox.c.tenant_id == tenant_id,
                outbox.c.subject == subject_for(tenant_id, "followup_task", "created"),
            ).order_by(outbox.c.seq)
        )).scalars())


async def add_rule(cadence_service: CadenceService, engine: AsyncEngine, tenant_id: uuid.UUID,
                   tag_id: uuid.UUID, days: int, title: str) -> sa.Row[Any]:
    async with tenant_session(engine, tenant_id) as session:
        return await cadence_service.create_rule(session, tag_id=str(tag_id), due_in_days=days, title=title)


async def test_a_redelivered_tag_applied_creates_each_task_once(
    engine: AsyncEngine, nc: NATS, tenant_id: uuid.UUID, cadence_service: CadenceService,
) -> None:
    vip, other_tag = uuid.uuid4(), uuid.uuid4()
    welcome = await add_rule(cadence_service, engine, tenant_id, vip, 1, "Welcome call")
    review = await add_rule(cadence_service, engine, tenant_id, vip, 30, "Account review")
    await add_rule(cadence_service, engine, tenant_id, other_tag, 7, "Not for VIPs")
    consumer = EventConsumer(engine, nc, subscription(cadence_service))
    customer_id = new_id()
    event = tag_applied(tenant_id, customer_id, vip)

    first = await consumer.apply(event)
    again = await consumer.apply(event)

    assert (first, again) == (True, False)
    applied = occurred_at(event)
    stored = await stored_tasks(engine, tenant_id)
    assert [(t.customer_id, t.title, t.status, t.cadence_rule_id, t.source_event_id, t.due_at) for t in stored] == [
        (customer_id, "Welcome call", "open", welcome.id, event.id, applied + timedelta(days=1)),
        (customer_id, "Account review", "open", review.id, event.id, applied + timedelta(days=30)),
    ]
    published = await created_events(engine, tenant_id)
    assert sorted(e["data"]["task"]["id"] for e in published) == sorted(str(t.id) for t in stored)
    assert {e["data"]["task"]["cadence_rule_id"] for e in published} == {str(welcome.id), str(review.id)}


async def test_the_table_constraint_guards_even_past_the_inbox(
    engine: AsyncEngine, tenant_id: uuid.UUID, cadence_service: CadenceService,
) -> None:
    """The handler run twice for one event without the inbox (e.g. an inbox row pruned, or a
    second consumer name) still makes one task per rule, and announces it once."""
    vip = uuid.uuid4()
    await add_rule(cadence_service, engine, tenant_id, vip, 3, "Call")
    handler = subscription(cadence_service).handler
    event = tag_applied(tenant_id, new_id(), vip)

    for _ in range(2):
        async with tenant_session(engine, tenant_id) as session:
            await handler(event, session)

    assert len(await stored_tasks(engine, tenant_id)) == 1
    assert len(await created_events(engine, tenant_id)) == 1


async def test_each_new_application_of_a_tag_schedules_again(
    engine: AsyncEngine, nc: NATS, tenant_id: uuid.UUID, cadence_service: CadenceService,
) -> None:
    vip = uuid.uuid4()
    await add_rule(cadence_service, engine, tenant_id, vip, 3, "Call")
    consumer = EventConsumer(engine, nc, subscription(cadence_service))

    await consumer.apply(tag_applied(tenant_id, new_id(), vip))
    await consumer.apply(tag_applied(tenant_id, new_id(), vip))

    assert len(await stored_tasks(engine, tenant_id)) == 2


async def test_tags_without_cadence_and_malformed_events_create_nothing(
    engine: AsyncEngine, nc: NATS, tenant_id: uuid.UUID, cadence_service: CadenceService,
) -> None:
    consumer = EventConsumer(engine, nc, subscription(cadence_service))
    malformed = CloudEvent.new(source="crm/tagging", type="crm.tag.applied", tenant_id=tenant_id,
                               data={"customer_id": "x", "tag_id": ""})

    assert await consumer.apply(tag_applied(tenant_id, new_id(), uuid.uuid4()))
    assert await consumer.apply(malformed)

    assert await stored_tasks(engine, tenant_id) == []
    assert await created_events(engine, tenant_id) == []


def test_due_dates_count_from_when_the_tag_was_applied() -> None:
    event = CloudEvent(id="e", source="s", type="t", tenantid=str(uuid.uuid4()), time="2030-01-02T03:04:05.123Z",
                       data={})
    unreadable = CloudEvent(id="e", source="s", type="t", tenantid=str(uuid.uuid4()), time="yesterday", data={})

    assert occurred_at(event) == datetime(2030, 1, 2, 3, 4, 5, 123000, tzinfo=UTC)
    assert abs(occurred_at(unreadable) - datetime.now(UTC)) < timedelta(seconds=5)
    assert (DURABLE, TAG_APPLIED) == ("followups", ["crm.*.tag.applied"])
