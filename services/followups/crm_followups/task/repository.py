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
                    after: tuple[datetime, uuid.UUID] | None, visible: sa.ColumnElement[bool],
                    assignee_id: uuid.UUID | None = None, status: str = "", due_after: datetime | None = None,
                    due_before: datetime | None = None) -> list[sa.Row[Any]]:
    """Soonest due first, keyed on (due_at, id) so pages are stable; `visible` is the caller's
    data scope (crm_platform/customer_scope.py). `due_before` is exclusive, `due_after` inclusive."""
    query = sa.select(tasks).where(visible).order_by(tasks.c.due_at, tasks.c.id).limit(limit)
    if customer_id is not None:
        query = query.where(tasks.c.customer_id == customer_id)
    if assignee_id is not None:
        query = query.where(tasks.c.assignee_id == assignee_id)
    if status:
        query = query.where(tasks.c.status == status)
    if due_after is not None:
        query = query.where(tasks.c.due_at >= due_after)
    if due_before is not None:
        query = query.where(tasks.c.due_at < due_before)
    if after is not None:
        query = query.where(sa.tuple_(tasks.c.due_at, tasks.c.id) > sa.tuple_(*after))
    return list((await session.execute(query)).all())


async def get(session: AsyncSession, task_id: uuid.UUID, *, lock: bool = False) -> sa.Row[Any] | None:
    query = sa.select(tasks).where(tasks.c.id == task_id)
    return (await session.execute(query.with_for_update() if lock else query)).first()


async def complete_if_open(session: AsyncSession, task_id: uuid.UUID, *, record_id: uuid.UUID | None,
                           completed_at: datetime) -> sa.Row[Any] | None:
    """Marks an open task done; None when it is not open (or absent)."""
    return (await session.execute(
        sa.update(tasks).where(tasks.c.id == task_id, tasks.c.status == "open")
        .values(status="done", record_id=record_id, completed_at=completed_at)
        .returning(tasks)
    )).first()


async def update(session: AsyncSession, task_id: uuid.UUID, values: dict[str, Any]) -> sa.Row[Any]:
    return (await session.execute(sa.update(tasks).where(tasks.c.id == task_id).values(**values)
                                  .returning(tasks))).one()


async def get_many(session: AsyncSession, task_ids: list[uuid.UUID]) -> list[sa.Row[Any]]:
    return list((await session.execute(sa.select(tasks).where(tasks.c.id.in_(task_ids)))).all())
