"""Every SQL statement about moving customer tags for a merge and putting them back."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from crm_tagging.autotag.tables import tag_rules
from crm_tagging.merging.tables import merge_log, merge_tag_moves
from crm_tagging.tag.tables import customer_tags, tags


async def begin_merge(session: AsyncSession, merge_id: uuid.UUID, survivor_id: uuid.UUID) -> bool:
    """True if this merge is new here; False if it was seen before (applied, or undone first)."""
    inserted = await session.execute(
        pg_insert(merge_log).values(merge_id=merge_id, survivor_id=survivor_id, merged_at=sa.func.now())
        .on_conflict_do_nothing().returning(merge_log.c.merge_id)
    )
    return inserted.first() is not None


async def begin_undo(session: AsyncSession, merge_id: uuid.UUID, survivor_id: uuid.UUID) -> bool:
    """Marks the merge undone; True if its moves were applied here and must be put back. An undo
    seen before its merge leaves a row that makes the late merge a no-op."""
    row = (await session.execute(
        pg_insert(merge_log).values(merge_id=merge_id, survivor_id=survivor_id, undone_at=sa.func.now())
        .on_conflict_do_update(index_elements=[merge_log.c.merge_id], set_={"undone_at": sa.func.now()},
                               where=merge_log.c.undone_at.is_(None))
        .returning(merge_log.c.merged_at)
    )).first()
    return row is not None and row.merged_at is not None


async def tags_of(session: AsyncSession, customer_ids: Sequence[uuid.UUID]) -> list[sa.Row[Any]]:
    """The customers' tag rows (locked), each with its tag's name as `tag_name` (for the events)."""
    return list((await session.execute(
        sa.select(customer_tags, tags.c.name.label("tag_name"))
        .join(tags, tags.c.id == customer_tags.c.tag_id)
        .where(customer_tags.c.customer_id.in_(customer_ids))
        .order_by(customer_tags.c.applied_at, customer_tags.c.customer_id, customer_tags.c.tag_id)
        .with_for_update(of=customer_tags)
    )).all())


async def tag_names(session: AsyncSession, tag_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, str]:
    """Names of the tags that still exist."""
    rows = (await session.execute(sa.select(tags.c.id, tags.c.name).where(tags.c.id.in_(tag_ids)))).all()
    return {row.id: row.name for row in rows}


async def record_move(session: AsyncSession, merge_id: uuid.UUID, row: sa.Row[Any], moved: bool) -> None:
    await session.execute(sa.insert(merge_tag_moves).values(
        merge_id=merge_id, customer_id=row.customer_id, tag_id=row.tag_id, moved=moved, source=row.source,
        rule_id=row.rule_id, applied_at=row.applied_at, applied_by=row.applied_by,
    ))


async def repoint(session: AsyncSession, tag_id: uuid.UUID, from_id: uuid.UUID, to_id: uuid.UUID) -> None:
    await session.execute(
        sa.update(customer_tags)
        .where(customer_tags.c.customer_id == from_id, customer_tags.c.tag_id == tag_id)
        .values(customer_id=to_id)
    )


async def drop(session: AsyncSession, customer_id: uuid.UUID, tag_id: uuid.UUID) -> bool:
    """True if the customer carried the tag."""
    deleted = await session.execute(
        sa.delete(customer_tags).where(customer_tags.c.customer_id == customer_id, customer_tags.c.tag_id == tag_id)
        .returning(customer_tags.c.tag_id)
    )
    return deleted.first() is not None


async def moves(session: AsyncSession, merge_id: uuid.UUID) -> list[sa.Row[Any]]:
    return list((await session.execute(
        sa.select(merge_tag_moves).where(merge_tag_moves.c.merge_id == merge_id)
    )).all())


async def put_back(session: AsyncSession, move: sa.Row[Any]) -> bool:
    """The merged customer's tag row as it was, unless the tag was deleted since (a rule deleted
    since leaves no rule id). True if the row went back (the customer did not carry it)."""
    rule = sa.select(tag_rules.c.id).where(tag_rules.c.id == move.rule_id).scalar_subquery()
    source = sa.select(
        sa.literal(move.customer_id, pg.UUID(as_uuid=True)), tags.c.id, sa.literal(move.source), rule,
        sa.literal(move.applied_at, sa.DateTime(timezone=True)), sa.literal(move.applied_by),
    ).where(tags.c.id == move.tag_id)
    inserted = await session.execute(
        pg_insert(customer_tags)
        .from_select(["customer_id", "tag_id", "source", "rule_id", "applied_at", "applied_by"], source)
        .on_conflict_do_nothing(index_elements=[customer_tags.c.customer_id, customer_tags.c.tag_id])
        .returning(customer_tags.c.tag_id)
    )
    return inserted.first() is not None
