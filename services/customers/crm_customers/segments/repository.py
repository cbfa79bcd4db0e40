"""Every SQL statement about saved segments (table from migration c0180)."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from crm_customers.customer.tables import metadata
from crm_platform.db import TENANT
from crm_platform.errors import Conflict

segments = sa.Table(
    "segments",
    metadata,
    sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
    sa.Column("owner", sa.Text, nullable=False),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("visibility", sa.Text, nullable=False),
    sa.Column("definition", pg.JSONB, nullable=False),
    sa.Column("version", sa.BigInteger, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
    sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
    schema=TENANT,
)


def _name_taken() -> Conflict:
    return Conflict("you already have a segment with this name", code="segment_name_taken",
                    extra={"field": "name"})


def _visible(reader: str) -> sa.ColumnElement[bool]:
    return sa.or_(segments.c.owner == reader, segments.c.visibility == "shared")


async def list_for(session: AsyncSession, reader: str) -> list[sa.Row[Any]]:
    query = sa.select(segments).where(_visible(reader)).order_by(segments.c.name, segments.c.id)
    return list((await session.execute(query)).all())


async def count_owned(session: AsyncSession, owner: str) -> int:
    query = sa.select(sa.func.count()).select_from(segments).where(segments.c.owner == owner)
    return int((await session.execute(query)).scalar_one())


async def get_visible(session: AsyncSession, segment_id: uuid.UUID, reader: str) -> sa.Row[Any] | None:
    """The reader's own segment or a shared one; another user's private segment is not found."""
    query = sa.select(segments).where(segments.c.id == segment_id, _visible(reader))
    return (await session.execute(query)).first()


async def insert(session: AsyncSession, values: dict[str, Any]) -> sa.Row[Any]:
    try:
        async with session.begin_nested():
            return (await session.execute(sa.insert(segments).values(**values).returning(segments))).one()
    except IntegrityError:
        raise _name_taken() from None


async def update(session: AsyncSession, segment_id: uuid.UUID, values: dict[str, Any]) -> sa.Row[Any]:
    try:
        async with session.begin_nested():
            return (await session.execute(
                sa.update(segments).where(segments.c.id == segment_id)
                .values(**values, version=segments.c.version + 1, updated_at=sa.func.now())
                .returning(segments)
            )).one()
    except IntegrityError:
        raise _name_taken() from None


async def delete(session: AsyncSession, segment_id: uuid.UUID) -> None:
    await session.execute(sa.delete(segments).where(segments.c.id == segment_id))
