"""Every SQL statement about cadence rules."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from crm_followups.cadence.tables import cadence_rules


async def insert(session: AsyncSession, values: dict[str, Any]) -> sa.Row[Any]:
    return (await session.execute(sa.insert(cadence_rules).values(**values).returning(cadence_rules))).one()


async def list_all(session: AsyncSession) -> list[sa.Row[Any]]:
    query = sa.select(cadence_rules).order_by(cadence_rules.c.created_at, cadence_rules.c.id)
    return list((await session.execute(query)).all())


async def for_tag(session: AsyncSession, tag_id: uuid.UUID) -> list[sa.Row[Any]]:
    query = (sa.select(cadence_rules).where(cadence_rules.c.tag_id == tag_id)
             .order_by(cadence_rules.c.created_at, cadence_rules.c.id))
    return list((await session.execute(query)).all())
