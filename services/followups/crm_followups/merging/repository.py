"""Every SQL statement about re-pointing follow-up tasks for a merge and putting them back."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from crm_followups.merging.tables import merge_log, merge_task_moves
from crm_followups.task.tables import tasks


async def begin_merge(session: AsyncSession, merge_id: uuid.UUID, survivor_id: uuid.UUID) -> bool:
    """True if this merge is new here; False if it was seen before (applied, or undone first)."""
    inserted = await session.execute(
        pg_insert(merge_log).values(merge_id=merge_id, survivor_id=survivor_id, merged_at=sa.func.now())
        .on_conflict_do_nothing().returning(merge_log.c.merge_id)
    )
    return inserted.first() is not None


async def begin_undo(session: AsyncSession, merge_id: uuid.UUID, survivor_id: uuid.UUID) -> bool:
    """Marks the merge undone; True if its moves were applied here and must be put back."""
    row = (await session.execute(
        pg_insert(merge_log).values(merge_id=merge_id, survivor_id=survivor_id, undone_at=sa.func.now())
        .on_conflict_do_update(index_elements=[merge_log.c.merge_id], set_={"undone_at": sa.func.now()},
                               where=merge_log.c.undone_at.is_(None))
        .returning(merge_log.c.merged_at)
    )).first()
    return row is not None and row.merged_at is not None


async def move_tasks(
    session: AsyncSession, merge_id: uuid.UUID, merged_ids: Sequence[uuid.UUID], survivor_id: uuid.UUID
) -> int:
    """Records each merged customer's task, then re-points them all to the survivor."""
    recorded = await session.execute(
        pg_insert(merge_task_moves).from_select(
            ["merge_id", "task_id", "customer_id"],
            sa.select(sa.literal(merge_id, tasks.c.id.type), tasks.c.id, tasks.c.customer_id)
            .where(tasks.c.customer_id.in_(merged_ids)),
        ).returning(merge_task_moves.c.task_id)
    )
    task_ids = [row.task_id for row in recorded]
    if task_ids:
        await session.execute(sa.update(tasks).where(tasks.c.id.in_(task_ids)).values(customer_id=survivor_id))
    return len(task_ids)


async def put_back(session: AsyncSession, merge_id: uuid.UUID, survivor_id: uuid.UUID) -> int:
    """Tasks still on the survivor go back to the customer they came from (deleted ones are gone)."""
    result = await session.execute(
        sa.update(tasks)
        .where(tasks.c.id == merge_task_moves.c.task_id, merge_task_moves.c.merge_id == merge_id,
               tasks.c.customer_id == survivor_id)
        .values(customer_id=merge_task_moves.c.customer_id)
    )
    return int(getattr(result, "rowcount", 0) or 0)
