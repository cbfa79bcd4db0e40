"""The claim against a real PostgreSQL (dispatch/repository.py): fair order, in-flight caps per
endpoint and tenant across claims, leases, and two claimers never taking the same delivery."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_platform.db import control_session
from crm_platform.ids import new_id
from crm_webhooks.dispatch import repository
from crm_webhooks.dispatch.repository import Claimed, Limits
from crm_webhooks.dispatch.tables import webhook_queue

pytestmark = pytest.mark.usefixtures("empty_queue")
LEASE = timedelta(minutes=1)


async def queue(engine: AsyncEngine, tenant_id: uuid.UUID, endpoint_id: uuid.UUID, count: int) -> list[uuid.UUID]:
    ids = [new_id() for _ in range(count)]
    async with control_session(engine) as session:
        await repository.enqueue(session, tenant_id=tenant_id, endpoint_id=endpoint_id, delivery_ids=ids)
    return ids


async def claim(engine: AsyncEngine, slots: int, endpoint: int = 4, tenant: int = 8) -> list[Claimed]:
    return await repository.claim(engine, slots=slots, limits=Limits(endpoint=endpoint, tenant=tenant), lease=LEASE)


async def test_a_quiet_tenant_gets_the_first_free_slot_past_a_busy_tenants_backlog(engine: AsyncEngine) -> None:
    busy, quiet = new_id(), new_id()
    busy_endpoint, quiet_endpoint = new_id(), new_id()
    await queue(engine, busy, busy_endpoint, 200)
    first = await claim(engine, slots=2)
    assert [c.tenant_id for c in first] == [busy, busy]
    [waiting] = await queue(engine, quiet, quiet_endpoint, 1)

    # One slot frees: the tenant served least recently (never: the quiet one) takes it.
    [next_one] = await claim(engine, slots=1)
    assert (next_one.delivery_id, next_one.attempt, next_one.trigger) == (waiting, 0, "event")


async def test_in_flight_caps_hold_across_claims(engine: AsyncEngine) -> None:
    tenant, other = new_id(), new_id()
    endpoints = [new_id(), new_id(), new_id()]
    for endpoint_id in endpoints:
        await queue(engine, tenant, endpoint_id, 20)
    await queue(engine, other, new_id(), 20)

    taken = await claim(engine, slots=16, endpoint=2, tenant=5)
    mine = [c for c in taken if c.tenant_id == tenant]
    assert len(mine) == 5  # the tenant cap
    assert max(sum(1 for c in mine if c.endpoint_id == e) for e in endpoints) <= 2  # the endpoint cap
    assert len([c for c in taken if c.tenant_id == other]) == 2
    # Nothing more while those are in flight.
    assert await claim(engine, slots=16, endpoint=2, tenant=5) == []

    # Two of the tenant's finish (one sent, one waiting for a retry): room for exactly two more of
    # its deliveries; the other tenant's one endpoint is still full.
    async with control_session(engine) as session:
        assert await repository.release(session, mine[0])
        assert await repository.reschedule(session, mine[1], timedelta(hours=1)) is not None
    again = await claim(engine, slots=16, endpoint=2, tenant=5)
    assert [c.tenant_id for c in again] == [tenant, tenant]
    # A lost claim (another claim id) changes nothing.
    async with control_session(engine) as session:
        stale = Claimed(again[0].delivery_id, again[0].tenant_id, again[0].endpoint_id, 0, "event", new_id())
        assert not await repository.release(session, stale)
        assert await repository.reschedule(session, stale, timedelta(seconds=1)) is None


async def test_an_expired_lease_makes_the_delivery_due_again(engine: AsyncEngine) -> None:
    tenant, endpoint = new_id(), new_id()
    [delivery_id] = await queue(engine, tenant, endpoint, 1)
    [first] = await claim(engine, slots=4)
    assert await claim(engine, slots=4) == []
    async with control_session(engine) as session:  # the worker died: its lease runs out
        await session.execute(sa.update(webhook_queue).values(run_at=sa.func.now() - timedelta(seconds=1)))
    [second] = await claim(engine, slots=4)
    assert second.delivery_id == delivery_id and second.claim_id != first.claim_id
    async with control_session(engine) as session:
        assert not await repository.release(session, first)  # the dead worker's late write is refused
        assert await repository.release(session, second)


async def test_concurrent_claimers_never_share_a_delivery_or_pass_the_endpoint_cap(engine: AsyncEngine) -> None:
    tenants = [new_id() for _ in range(3)]
    for tenant in tenants:
        for _ in range(2):
            await queue(engine, tenant, new_id(), 30)

    batches = await asyncio.gather(*(claim(engine, slots=6, endpoint=3, tenant=100) for _ in range(4)))
    taken = [c for batch in batches for c in batch]
    assert len({c.delivery_id for c in taken}) == len(taken)
    per_endpoint: dict[uuid.UUID, int] = {}
    for item in taken:
        per_endpoint[item.endpoint_id] = per_endpoint.get(item.endpoint_id, 0) + 1
    assert max(per_endpoint.values()) <= 3
    assert {c.tenant_id for c in taken} == set(tenants)
