"""Every SQL statement about auto-tag rules."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from crm_tagging.autotag.tables import tag_rules
from crm_tagging.tag.tables import tags


async def insert_rule(session: AsyncSession, values: dict[str, Any]) -> sa.Row[Any]:
    return (await session.execute(sa.insert(tag_rules).values(**values).returning(tag_rules))).one()


async def list_rules(session: AsyncSession) -> list[sa.Row[Any]]:
    query = sa.select(tag_rules).order_by(tag_rules.c.created_at, tag_rules.c.id)
    return list((await session.execute(query)).all())


async def enabled_rules_with_tag_names(session: AsyncSession) -> list[sa.Row[Any]]:
    """Enabled rules in creation order, each with its tag's name (for the tag.applied event)."""
    query = (
        sa.select(tag_rules, tags.c.name.label("tag_name"))
        .join(tags, tags.c.id == tag_rules.c.tag_id)
        .where(tag_rules.c.enabled)
        .order_by(tag_rules.c.created_at, tag_rules.c.id)
    )
    return list((await session.execute(query)).all())


async def delete_rules_of_tag(session: AsyncSession, tag_id: uuid.UUID) -> int:
    deleted = await session.execute(sa.delete(tag_rules).where(tag_rules.c.tag_id == tag_id).returning(tag_rules.c.id))
    return len(deleted.all())


async def repoint_rules(session: AsyncSession, from_tag: uuid.UUID, to_tag: uuid.UUID) -> int:
    moved = await session.execute(sa.update(tag_rules).where(tag_rules.c.tag_id == from_tag)
                                  .values(tag_id=to_tag).returning(tag_rules.c.id))
    return len(moved.all())
