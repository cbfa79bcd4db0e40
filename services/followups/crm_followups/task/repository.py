"""Every SQL statement about follow-up tasks."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from crm_followups.task.tables import tasks


async def insert(session: AsyncSession, values: dict[str, Any]) -> sa.Row[Any]:
    return (await session.execute(sa.insert(tasks).values(**values).returning(tasks))).one()


async def insert_once_per_event(session: AsyncSession, values: dict[str, Any]) -> sa.Row[Any] | None:
    """Inserts a task caused by an event; None if this (event, rule) already made its task."""
    inserted = await session.execute(
        pg_insert(tasks)
        .values(**values)
        .on_conflict_do_nothing(index_elements=[tasks.c.source_event_id, tasks.c.cadence_rule_id])
        .returning(tasks)
    )
    return inserted.first()


async def list_page(session: AsyncSession, *, customer_id: uuid.UUID | None, limit: int,
                    after: tuple[datetime, uuid.UUID] | None, visible: sa.ColumnElement[bool]) -> list[sa.Row[Any]]:
    """Soonest due first, keyed on (due_at, id) so pages are stable; `visible` is the caller's
    data scope (crm_platform/customer_scope.py)."""
    query = sa.select(tasks).where(visible).order_by(tasks.c.due_at, tasks.c.id).limit(limit)
    if customer_id is not None:
        query = query.where(tasks.c.customer_id == customer_id)
    if after is not None:
        query = query.where(sa.tuple_(tasks.c.due_at, tasks.c.id) > sa.tuple_(*after))
    return list((await session.execute(query)).all())


async def get(session: AsyncSession, task_id: uuid.UUID, *, lock: bool = False) -> sa.Row[Any] | None:
    query = sa.select(tasks).where(tasks.c.id == task_id)
    return (await session.execute(query.with_for_update() if lock else query)).first()


async def complete_if_open(session: AsyncSession, task_id: uuid.UUID) -> sa.Row[Any] | None:
    """Marks an open task done; None when it is not open (or absent)."""
    return (await session.execute(
        sa.update(tasks).where(tasks.c.id == task_id, tasks.c.status == "open").values(status="done")
        .returning(tasks)
    )).first()
