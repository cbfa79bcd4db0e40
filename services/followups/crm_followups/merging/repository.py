"""Every SQL statement about re-pointing follow-up tasks, records, feedback and surveys for a merge
and putting them back."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from crm_followups.feedback.tables import feedback, surveys
from crm_followups.merging.tables import merge_log, merge_row_moves, merge_task_moves
from crm_followups.record.tables import records
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


# What else a merge moves, by the `kind` kept in `merge_row_moves`.
MOVED_TABLES: dict[str, sa.Table] = {"record": records, "feedback": feedback, "survey": surveys}


async def move_rows(
    session: AsyncSession, merge_id: uuid.UUID, merged_ids: Sequence[uuid.UUID], survivor_id: uuid.UUID
) -> dict[str, list[uuid.UUID]]:
    """Records, feedback and surveys of the merged customers: each noted with the customer it
    came from, then re-pointed to the survivor. Returns the ids moved, by kind."""
    moved = {}
    for kind, table in MOVED_TABLES.items():
        noted = await session.execute(
            pg_insert(merge_row_moves).from_select(
                ["merge_id", "kind", "row_id", "customer_id"],
                sa.select(sa.literal(merge_id, merge_row_moves.c.merge_id.type), sa.literal(kind),
                          table.c.id, table.c.customer_id)
                .where(table.c.customer_id.in_(merged_ids)),
            ).on_conflict_do_nothing().returning(merge_row_moves.c.row_id)
        )
        ids = [row.row_id for row in noted]
        if ids:
            await session.execute(sa.update(table).where(table.c.id.in_(ids)).values(customer_id=survivor_id))
        moved[kind] = ids
    return moved


async def put_back_rows(session: AsyncSession, merge_id: uuid.UUID,
                        survivor_id: uuid.UUID) -> dict[str, list[uuid.UUID]]:
    """The merge's records, feedback and surveys still on the survivor go back to where they came
    from (erased or deleted ones are gone). Returns the ids moved back, by kind."""
    back = {}
    for kind, table in MOVED_TABLES.items():
        result = await session.execute(
            sa.update(table)
            .where(table.c.id == merge_row_moves.c.row_id, merge_row_moves.c.merge_id == merge_id,
                   merge_row_moves.c.kind == kind, table.c.customer_id == survivor_id)
            .values(customer_id=merge_row_moves.c.customer_id)
            .returning(table.c.id)
        )
        back[kind] = [row.id for row in result]
    return back
