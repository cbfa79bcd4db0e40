"""Writers that lock several customers' facts rows take them in customer id order (migration c0271,
value_segments/column.py), so a 1,000-order batch's metrics refresh and the value segment consumer
cannot deadlock (one of them was cancelled by PostgreSQL and the batch answered 500: found by
tests/bench/bench_api.py). Each writer is asked for the higher id first while the lower one is
held: it must wait for the lower one holding nothing, leaving the higher one free."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_customers.customer.service import CustomerService
from crm_customers.value_segments import column
from crm_platform.db import tenant_schema, tenant_session
from tests.customers.test_customer_facts import customers as service  # noqa: F401 - a fixture
from tests.customers.test_customer_facts import person


async def _waiting_for_lock(engine: AsyncEngine) -> None:
    """Until a backend of this database waits for a row lock (the test's PostgreSQL is its own)."""
    deadline = time.monotonic() + 30
    async with engine.connect() as conn:
        while time.monotonic() < deadline:
            waiting = (await conn.execute(sa.text(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                "AND datname = current_database()"))).scalar_one()
            if waiting:
                return
            await asyncio.sleep(0.1)
        seen = (await conn.execute(sa.text(
            "SELECT state, wait_event_type, wait_event, left(query, 120) FROM pg_stat_activity "
            "WHERE datname = current_database()"))).all()
    raise AssertionError(f"the writer never waited for the held row: {seen}")


@pytest.mark.parametrize("writer", ["metrics refresh", "value segments"])
async def test_facts_rows_are_locked_in_id_order(service: CustomerService, engine: AsyncEngine,  # noqa: F811
                                                 tenant_id: uuid.UUID, writer: str) -> None:
    caller = person(tenant_id)
    async with tenant_session(engine, tenant_id) as session:
        made = [await service.create(session, caller, {"name": name, "mobile": mobile})
                for name, mobile in (("甲方公司", "13900003333"), ("乙方公司", "13900004444"))]
    low, high = sorted(r.id for r in made)
    schema = tenant_schema(tenant_id)

    async def metrics_refresh() -> None:
        async with engine.begin() as conn:
            await conn.execute(sa.text(f'SELECT "{schema}".customer_facts_metrics(:ids)'), {"ids": [high, low]})

    async def value_segments() -> None:
        async with tenant_session(engine, tenant_id) as session:
            await column.record(session, [(high, "high_value", 10**6), (low, "high_value", 10**6)])

    write: Callable[[], Awaitable[None]] = metrics_refresh if writer == "metrics refresh" else value_segments
    lock = f'SELECT 1 FROM "{schema}".customer_facts WHERE id = :id FOR UPDATE'
    async with engine.connect() as holder:
        await holder.execute(sa.text(lock), {"id": low})
        task = asyncio.create_task(write())
        await _waiting_for_lock(engine)
        # Free: the writer holds nothing while it waits (a writer holding it would deadlock with us).
        await holder.execute(sa.text(lock + " NOWAIT"), {"id": high})
        await holder.rollback()
    await asyncio.wait_for(task, 30)
