"""Every SQL statement about tag batches."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg
from sqlalchemy.ext.asyncio import AsyncSession

from crm_tagging.batch.tables import tag_batch_changes, tag_batches


async def insert_batch(session: AsyncSession, values: dict[str, Any]) -> None:
    await session.execute(sa.insert(tag_batches).values(**values))


async def get_batch(session: AsyncSession, batch_id: uuid.UUID, *, lock: bool = False) -> sa.Row[Any] | None:
    query = sa.select(tag_batches).where(tag_batches.c.id == batch_id)
    if lock:
        query = query.with_for_update()
    return (await session.execute(query)).first()


async def update_batch(session: AsyncSession, batch_id: uuid.UUID, values: dict[str, Any]) -> None:
    await session.execute(sa.update(tag_batches).where(tag_batches.c.id == batch_id).values(**values))


async def record_changes(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    if rows:
        await session.execute(pg.insert(tag_batch_changes).values(rows).on_conflict_do_nothing())


async def changes_page(session: AsyncSession, batch_id: uuid.UUID, *, after: tuple[uuid.UUID, uuid.UUID] | None,
                       limit: int) -> list[sa.Row[Any]]:
    query = (sa.select(tag_batch_changes).where(tag_batch_changes.c.batch_id == batch_id)
             .order_by(tag_batch_changes.c.customer_id, tag_batch_changes.c.tag_id).limit(limit))
    if after is not None:
        query = query.where(sa.tuple_(tag_batch_changes.c.customer_id, tag_batch_changes.c.tag_id)
                            > sa.tuple_(*after))
    return list((await session.execute(query)).all())


async def visible_ids(session: AsyncSession, customer_ids: Sequence[uuid.UUID],
                      visible: Any) -> list[uuid.UUID]:
    """The ids (in order, without repeats) that pass the caller's data scope condition."""
    ids = sa.func.unnest(sa.literal(list(dict.fromkeys(customer_ids)), pg.ARRAY(pg.UUID(as_uuid=True)))) \
        .table_valued("customer_id", with_ordinality="n").render_derived()
    query = sa.select(ids.c.customer_id).order_by(ids.c.n)
    if visible is not None:
        query = query.where(visible(ids.c.customer_id))
    return list((await session.execute(query)).scalars().all())
