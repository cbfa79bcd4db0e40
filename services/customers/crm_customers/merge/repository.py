"""Every SQL statement about merge records and the rows a merge moves inside customers."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from crm_customers.customer.tables import customers, status_history
from crm_customers.merge.tables import merges

# A merge row with its survivor's name and code (for lists); the survivor's scope decides visibility.
_WITH_SURVIVOR = sa.select(merges, customers.c.name.label("survivor_name"), customers.c.code.label("survivor_code"))


async def insert(session: AsyncSession, values: dict[str, Any]) -> sa.Row[Any]:
    return (await session.execute(sa.insert(merges).values(**values).returning(merges))).one()


async def get(
    session: AsyncSession, merge_id: uuid.UUID, scope: sa.ColumnElement[bool] | None, *, for_update: bool = False
) -> sa.Row[Any] | None:
    """The merge if its survivor is in `scope` (the caller's data scope; None = all)."""
    query = _WITH_SURVIVOR.join(customers, customers.c.id == merges.c.survivor_id).where(merges.c.id == merge_id)
    if scope is not None:
        query = query.where(scope)
    if for_update:
        query = query.with_for_update(of=merges)
    return (await session.execute(query)).first()


async def list_page(
    session: AsyncSession, *, scope: sa.ColumnElement[bool] | None, survivor_id: uuid.UUID | None, limit: int,
    after: tuple[datetime, uuid.UUID] | None,
) -> list[sa.Row[Any]]:
    """Newest first, keyed on (merged_at, id)."""
    query = (
        _WITH_SURVIVOR.join(customers, customers.c.id == merges.c.survivor_id)
        .order_by(merges.c.merged_at.desc(), merges.c.id.desc())
        .limit(limit)
    )
    if scope is not None:
        query = query.where(scope)
    if survivor_id is not None:
        query = query.where(merges.c.survivor_id == survivor_id)
    if after is not None:
        query = query.where(sa.tuple_(merges.c.merged_at, merges.c.id) < sa.tuple_(*after))
    return list((await session.execute(query)).all())


async def mark_undone(session: AsyncSession, merge_id: uuid.UUID, actor: str) -> None:
    await session.execute(
        sa.update(merges).where(merges.c.id == merge_id).values(undone_at=sa.func.now(), undone_by=actor)
    )


async def lock_customers(session: AsyncSession, ids: Sequence[uuid.UUID]) -> None:
    """Row locks on every involved customer, in id order (two merges sharing a customer wait for
    each other instead of deadlocking)."""
    await session.execute(
        sa.select(customers.c.id).where(customers.c.id.in_(ids)).order_by(customers.c.id).with_for_update()
    )


async def set_merge_state(
    session: AsyncSession, customer_id: uuid.UUID, *, merged_into: uuid.UUID | None, actor: str
) -> sa.Row[Any]:
    """Soft-deletes a merged customer pointing at its survivor, or (merged_into=None) restores it."""
    deleted = {"deleted_at": sa.func.now(), "deleted_by": actor} if merged_into else {
        "deleted_at": None, "deleted_by": ""}
    return (
        await session.execute(
            sa.update(customers)
            .where(customers.c.id == customer_id)
            .values(**deleted, merged_into=merged_into, updated_by=actor, version=customers.c.version + 1,
                    updated_at=sa.func.now())
            .returning(customers)
        )
    ).one()


# -- status history (the customers service's own related records) ---------------------------------


async def history_ids(session: AsyncSession, customer_ids: Sequence[uuid.UUID]) -> list[sa.Row[Any]]:
    return list((await session.execute(
        sa.select(status_history)
        .where(status_history.c.customer_id.in_(customer_ids))
    )).all())


async def repoint_history(session: AsyncSession, row_ids: Sequence[uuid.UUID], customer_id: uuid.UUID) -> None:
    if row_ids:
        await session.execute(
            sa.update(status_history).where(status_history.c.id.in_(row_ids)).values(customer_id=customer_id)
        )
