"""Every SQL statement about tag categories."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from crm_platform.errors import Conflict
from crm_tagging.tag.tables import tag_categories, tags

# The unique index on lower(name) created by migration tg0130.
NAME_INDEX = "uq_tag_categories_name_lower"


def _violated_constraint(error: IntegrityError) -> str | None:
    return getattr(getattr(error.orig, "diag", None), "constraint_name", None)


def _with_counts() -> sa.Select[Any]:
    count = (sa.select(sa.func.count()).select_from(tags).where(tags.c.category_id == tag_categories.c.id)
             .scalar_subquery())
    return sa.select(tag_categories, count.label("tag_count"))


async def _guard_name(statement: Any, session: AsyncSession) -> None:
    try:
        async with session.begin_nested():
            await session.execute(statement)
    except IntegrityError as exc:
        if _violated_constraint(exc) == NAME_INDEX:
            raise Conflict("a category with this name exists", code="category_name_taken",
                           extra={"field": "name"}) from None
        raise


async def list_categories(session: AsyncSession) -> list[sa.Row[Any]]:
    query = _with_counts().order_by(tag_categories.c.position, tag_categories.c.created_at, tag_categories.c.id)
    return list((await session.execute(query)).all())


async def get_category(session: AsyncSession, category_id: uuid.UUID) -> sa.Row[Any] | None:
    return (await session.execute(_with_counts().where(tag_categories.c.id == category_id))).first()


async def insert_category(session: AsyncSession, values: dict[str, Any]) -> None:
    await _guard_name(sa.insert(tag_categories).values(**values), session)


async def update_category(session: AsyncSession, category_id: uuid.UUID, values: dict[str, Any]) -> None:
    await _guard_name(sa.update(tag_categories).where(tag_categories.c.id == category_id).values(**values), session)


async def delete_category(session: AsyncSession, category_id: uuid.UUID) -> None:
    # tags.category_id is ON DELETE SET NULL: the category's tags become uncategorised.
    await session.execute(sa.delete(tag_categories).where(tag_categories.c.id == category_id))
