"""Every SQL statement about follow-up records."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from crm_followups.record.tables import records


async def insert(session: AsyncSession, values: dict[str, Any]) -> sa.Row[Any]:
    return (await session.execute(sa.insert(records).values(**values).returning(records))).one()


async def set_next_task(session: AsyncSession, record_id: uuid.UUID, task_id: uuid.UUID) -> sa.Row[Any]:
    return (await session.execute(sa.update(records).where(records.c.id == record_id)
                                  .values(next_task_id=task_id).returning(records))).one()


async def get(session: AsyncSession, record_id: uuid.UUID) -> sa.Row[Any] | None:
    return (await session.execute(sa.select(records).where(records.c.id == record_id))).first()


async def list_page(session: AsyncSession, *, visible: sa.ColumnElement[bool], limit: int,
                    customer_id: uuid.UUID | None, followed_by: str, since: datetime | None,
                    until: datetime | None, before: tuple[datetime, uuid.UUID] | None) -> list[sa.Row[Any]]:
    """Newest first, keyed on (followed_at, id); `since` inclusive, `until` exclusive."""
    query = (sa.select(records).where(visible)
             .order_by(records.c.followed_at.desc(), records.c.id.desc()).limit(limit))
    if customer_id is not None:
        query = query.where(records.c.customer_id == customer_id)
    if followed_by:
        query = query.where(records.c.followed_by == followed_by)
    if since is not None:
        query = query.where(records.c.followed_at >= since)
    if until is not None:
        query = query.where(records.c.followed_at < until)
    if before is not None:
        query = query.where(sa.tuple_(records.c.followed_at, records.c.id) < sa.tuple_(*before))
    return list((await session.execute(query)).all())
