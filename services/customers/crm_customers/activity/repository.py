"""Every SQL statement about the activity timeline."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from crm_customers.activity.tables import customer_activity
from crm_customers.customer.tables import customers
from crm_platform.ids import new_id


async def add(
    session: AsyncSession, customer_id: uuid.UUID, kind: str, actor: str, data: dict[str, Any],
    occurred_at: datetime | None = None,
) -> None:
    await session.execute(entry_insert(customer_id, kind, actor, data, occurred_at))


def entry_insert(
    customer_id: uuid.UUID, kind: str, actor: str, data: dict[str, Any], occurred_at: datetime | None = None,
) -> sa.Insert:
    """`add`'s INSERT, for a caller that sends it together with other writes."""
    return sa.insert(customer_activity).values(
        id=new_id(), customer_id=customer_id, kind=kind, actor=actor, data=data,
        occurred_at=occurred_at if occurred_at is not None else sa.func.now(),
    )


async def customer_exists(session: AsyncSession, customer_id: uuid.UUID) -> bool:
    """In this tenant, deleted or not (events may arrive about a customer deleted since)."""
    found = await session.execute(sa.select(customers.c.id).where(customers.c.id == customer_id))
    return found.first() is not None


async def page(
    session: AsyncSession, customer_id: uuid.UUID, kinds: Sequence[str], limit: int,
    after: tuple[datetime, uuid.UUID] | None,
) -> list[sa.Row[Any]]:
    """Newest first; `after` is the (occurred_at, id) of the previous page's last entry."""
    c = customer_activity.c
    query = sa.select(customer_activity).where(c.customer_id == customer_id)
    if kinds:
        query = query.where(c.kind.in_(list(kinds)))
    if after is not None:
        query = query.where(sa.tuple_(c.occurred_at, c.id) < sa.tuple_(*after))
    query = query.order_by(c.occurred_at.desc(), c.id.desc()).limit(limit)
    return list((await session.execute(query)).all())


async def move(session: AsyncSession, from_customer: uuid.UUID, to_customer: uuid.UUID) -> list[uuid.UUID]:
    """Re-points every entry of one customer to another; returns the moved entries' ids."""
    rows = await session.execute(
        sa.update(customer_activity).where(customer_activity.c.customer_id == from_customer)
        .values(customer_id=to_customer).returning(customer_activity.c.id)
    )
    return list(rows.scalars())


async def move_back(session: AsyncSession, entry_ids: Sequence[uuid.UUID], to_customer: uuid.UUID) -> None:
    if entry_ids:
        await session.execute(
            sa.update(customer_activity).where(customer_activity.c.id.in_(list(entry_ids)))
            .values(customer_id=to_customer)
        )
