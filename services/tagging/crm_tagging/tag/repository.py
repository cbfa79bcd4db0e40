"""Every SQL statement about tags and the tags applied to customers."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from crm_platform.errors import Conflict
from crm_tagging.tag.tables import customer_tags, tag_change_seq, tags

# The unique index on lower(name) created by migration tg0001.
NAME_INDEX = "uq_tags_name_lower"


def _violated_constraint(error: IntegrityError) -> str | None:
    diag = getattr(error.orig, "diag", None)
    return getattr(diag, "constraint_name", None)


async def insert_tag(session: AsyncSession, values: dict[str, Any]) -> sa.Row[Any]:
    try:
        # A savepoint, so a taken name leaves the caller's transaction usable.
        async with session.begin_nested():
            return (await session.execute(sa.insert(tags).values(**values).returning(tags))).one()
    except IntegrityError as exc:
        if _violated_constraint(exc) == NAME_INDEX:
            raise Conflict("a tag with this name exists", code="tag_name_taken",
                           extra={"field": "name"}) from None
        raise


async def get_tag(session: AsyncSession, tag_id: uuid.UUID) -> sa.Row[Any] | None:
    return (await session.execute(sa.select(tags).where(tags.c.id == tag_id))).first()


async def list_tags_page(session: AsyncSession, *, limit: int,
                         after: tuple[datetime, uuid.UUID] | None) -> list[sa.Row[Any]]:
    """Oldest first, keyed on (created_at, id) so pages stay stable while tags are added."""
    query = sa.select(tags).order_by(tags.c.created_at, tags.c.id).limit(limit)
    if after is not None:
        query = query.where(sa.tuple_(tags.c.created_at, tags.c.id) > sa.tuple_(*after))
    return list((await session.execute(query)).all())


async def tags_with_ids(session: AsyncSession, tag_ids: list[uuid.UUID]) -> list[sa.Row[Any]]:
    query = sa.select(tags).where(tags.c.id.in_(tag_ids)).order_by(tags.c.created_at, tags.c.id)
    return list((await session.execute(query)).all())


async def insert_customer_tag_if_absent(session: AsyncSession, *, customer_id: uuid.UUID, tag_id: uuid.UUID,
                                        source: str, rule_id: uuid.UUID | None, applied_by: str = "") -> bool:
    """True if the tag was newly applied; False if the customer already carried it."""
    inserted = await session.execute(
        pg_insert(customer_tags)
        .values(customer_id=customer_id, tag_id=tag_id, source=source, rule_id=rule_id, applied_by=applied_by)
        .on_conflict_do_nothing(index_elements=[customer_tags.c.customer_id, customer_tags.c.tag_id])
        .returning(customer_tags.c.tag_id)
    )
    return inserted.first() is not None


def _with_tag() -> sa.Select[Any]:
    """customer_tags rows with their tag's name and colour (`tag_name`, `tag_color`)."""
    return (
        sa.select(customer_tags, tags.c.name.label("tag_name"), tags.c.color.label("tag_color"))
        .join(tags, tags.c.id == customer_tags.c.tag_id)
    )


async def list_customer_tags(session: AsyncSession, customer_id: uuid.UUID) -> list[sa.Row[Any]]:
    query = _with_tag().where(customer_tags.c.customer_id == customer_id).order_by(
        customer_tags.c.applied_at, tags.c.name
    )
    return list((await session.execute(query)).all())


async def get_customer_tag(session: AsyncSession, customer_id: uuid.UUID, tag_id: uuid.UUID) -> sa.Row[Any] | None:
    query = _with_tag().where(customer_tags.c.customer_id == customer_id, customer_tags.c.tag_id == tag_id)
    return (await session.execute(query)).first()


async def delete_customer_tag(session: AsyncSession, customer_id: uuid.UUID, tag_id: uuid.UUID) -> bool:
    """True if the customer carried the tag (and no longer does)."""
    deleted = await session.execute(
        sa.delete(customer_tags)
        .where(customer_tags.c.customer_id == customer_id, customer_tags.c.tag_id == tag_id)
        .returning(customer_tags.c.tag_id)
    )
    return deleted.first() is not None


async def next_change_seq(session: AsyncSession) -> int:
    return int((await session.execute(sa.select(tag_change_seq.next_value()))).scalar_one())
