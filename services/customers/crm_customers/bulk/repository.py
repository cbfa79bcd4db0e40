"""Every SQL statement about mass changes."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from crm_customers.bulk.tables import bulk_change_items, bulk_changes


async def insert(session: AsyncSession, values: dict[str, Any]) -> sa.Row[Any]:
    return (await session.execute(sa.insert(bulk_changes).values(**values).returning(bulk_changes))).one()


async def get(session: AsyncSession, bulk_id: uuid.UUID, *, lock: bool = False) -> sa.Row[Any] | None:
    query = sa.select(bulk_changes).where(bulk_changes.c.id == bulk_id)
    if lock:
        query = query.with_for_update()
    return (await session.execute(query)).first()


async def update(session: AsyncSession, bulk_id: uuid.UUID, values: dict[str, Any]) -> sa.Row[Any]:
    return (await session.execute(
        sa.update(bulk_changes).where(bulk_changes.c.id == bulk_id)
        .values(**values, updated_at=sa.func.now()).returning(bulk_changes)
    )).one()


async def add_items(session: AsyncSession, bulk_id: uuid.UUID, customer_ids: Sequence[uuid.UUID]) -> None:
    rows = [{"bulk_change_id": bulk_id, "position": n, "customer_id": cid}
            for n, cid in enumerate(customer_ids, start=1)]
    for start in range(0, len(rows), 1000):
        await session.execute(sa.insert(bulk_change_items), rows[start:start + 1000])


async def next_items(session: AsyncSession, bulk_id: uuid.UUID, after: int, limit: int) -> list[sa.Row[Any]]:
    c = bulk_change_items.c
    query = (sa.select(bulk_change_items).where(c.bulk_change_id == bulk_id, c.position > after)
             .order_by(c.position).limit(limit))
    return list((await session.execute(query)).all())


async def set_outcome(session: AsyncSession, bulk_id: uuid.UUID, position: int, outcome: str, code: str) -> None:
    c = bulk_change_items.c
    await session.execute(sa.update(bulk_change_items).where(c.bulk_change_id == bulk_id, c.position == position)
                          .values(outcome=outcome, code=code))


async def failures(session: AsyncSession, bulk_id: uuid.UUID, after: int, limit: int) -> list[sa.Row[Any]]:
    c = bulk_change_items.c
    query = (sa.select(bulk_change_items)
             .where(c.bulk_change_id == bulk_id, c.outcome == "failed", c.position > after)
             .order_by(c.position).limit(limit))
    return list((await session.execute(query)).all())
