"""Customer merges in followups, through the real consumer wrapper (inbox): `customer.merged`
re-points the merged customers' tasks to the survivor, `customer.unmerged` puts each back (a task
deleted meanwhile is skipped), an undo seen before its merge makes the late merge a no-op."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from nats.aio.client import Client as NATS
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_followups.merging import events as merging
from crm_followups.task.tables import tasks
from crm_platform.consumer import EventConsumer
from crm_platform.db import tenant_session
from crm_platform.events import CloudEvent
from crm_platform.ids import new_id


def merge_event(tenant_id: uuid.UUID, verb: str, merge_id: uuid.UUID, survivor: uuid.UUID,
                merged: list[uuid.UUID]) -> CloudEvent:
    return CloudEvent.new(source="crm/customers", type=f"crm.customer.{verb}", tenant_id=tenant_id,
                          data={"merge_id": str(merge_id), "survivor_id": str(survivor),
                                "merged_ids": [str(m) for m in merged]}, subject=str(survivor))


async def _add_task(engine: AsyncEngine, tenant_id: uuid.UUID, customer: uuid.UUID, title: str) -> uuid.UUID:
    task_id = new_id()
    async with tenant_session(engine, tenant_id) as session:
        await session.execute(sa.insert(tasks).values(id=task_id, customer_id=customer, title=title, status="open",
                                                      due_at=datetime.now(UTC) + timedelta(days=1)))
    return task_id


async def _owners(engine: AsyncEngine, tenant_id: uuid.UUID) -> dict[str, uuid.UUID]:
    async with tenant_session(engine, tenant_id) as session:
        return {r.title: r.customer_id for r in (await session.execute(sa.select(tasks))).all()}


async def test_tasks_move_and_come_back(engine: AsyncEngine, nc: NATS, tenant_id: uuid.UUID) -> None:
    consumer = EventConsumer(engine, nc, merging.subscription())
    survivor, b, c = new_id(), new_id(), new_id()
    await _add_task(engine, tenant_id, survivor, "S")
    await _add_task(engine, tenant_id, b, "B")
    gone = await _add_task(engine, tenant_id, c, "C")
    merge_id = new_id()
    assert await consumer.apply(merge_event(tenant_id, "merged", merge_id, survivor, [b, c]))
    assert await _owners(engine, tenant_id) == {"S": survivor, "B": survivor, "C": survivor}
    async with tenant_session(engine, tenant_id) as session:
        await session.execute(sa.delete(tasks).where(tasks.c.id == gone))
    assert await consumer.apply(merge_event(tenant_id, "unmerged", merge_id, survivor, [b, c]))
    assert await _owners(engine, tenant_id) == {"S": survivor, "B": b}


async def test_undo_first_then_merge_moves_nothing(engine: AsyncEngine, nc: NATS, tenant_id: uuid.UUID) -> None:
    consumer = EventConsumer(engine, nc, merging.subscription())
    survivor, b = new_id(), new_id()
    await _add_task(engine, tenant_id, b, "B")
    merge_id = new_id()
    assert await consumer.apply(merge_event(tenant_id, "unmerged", merge_id, survivor, [b]))
    assert await consumer.apply(merge_event(tenant_id, "merged", merge_id, survivor, [b]))
    assert await _owners(engine, tenant_id) == {"B": b}


async def test_merge_into_an_erased_survivor_moves_nothing(engine: AsyncEngine, nc: NATS,
                                                           tenant_id: uuid.UUID) -> None:
    """The survivor's erasure reached followups before the merge did: its tasks are gone and the
    merged customer's stay where they are (nothing re-attached to an erased id)."""
    from crm_platform.erasure import mark_erased

    consumer = EventConsumer(engine, nc, merging.subscription())
    survivor, b = new_id(), new_id()
    await _add_task(engine, tenant_id, b, "B")
    async with tenant_session(engine, tenant_id) as session:
        await mark_erased(session, tenant_id, survivor)
    assert await consumer.apply(merge_event(tenant_id, "merged", new_id(), survivor, [b]))
    assert await _owners(engine, tenant_id) == {"B": b}
