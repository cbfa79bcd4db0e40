"""Every SQL statement about saved customer views (table from migration c0008)."""

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

customer_views = sa.Table(
    "customer_views",
    metadata,
    sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
    sa.Column("owner", sa.Text, nullable=False),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("filters", pg.JSONB, nullable=False),
    sa.Column("order_by", sa.Text, nullable=False),
    sa.Column("columns", pg.ARRAY(sa.Text), nullable=False),
    sa.Column("version", sa.BigInteger, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
    sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
    schema=TENANT,
)


def _name_taken() -> Conflict:
    return Conflict("you already have a view with this name", code="view_name_taken", extra={"field": "name"})


async def list_for(session: AsyncSession, owner: str) -> list[sa.Row[Any]]:
    query = sa.select(customer_views).where(customer_views.c.owner == owner).order_by(
        customer_views.c.name, customer_views.c.id
    )
    return list((await session.execute(query)).all())


async def count_for(session: AsyncSession, owner: str) -> int:
    query = sa.select(sa.func.count()).select_from(customer_views).where(customer_views.c.owner == owner)
    return int((await session.execute(query)).scalar_one())


async def get(session: AsyncSession, view_id: uuid.UUID, owner: str) -> sa.Row[Any] | None:
    """Only the owner's view: another user's is not found."""
    query = sa.select(customer_views).where(customer_views.c.id == view_id, customer_views.c.owner == owner)
    return (await session.execute(query)).first()


async def insert(session: AsyncSession, values: dict[str, Any]) -> sa.Row[Any]:
    try:
        async with session.begin_nested():
            return (await session.execute(sa.insert(customer_views).values(**values).returning(customer_views))).one()
    except IntegrityError:
        raise _name_taken() from None


async def update(session: AsyncSession, view_id: uuid.UUID, owner: str, values: dict[str, Any]) -> sa.Row[Any]:
    try:
        async with session.begin_nested():
            return (await session.execute(
                sa.update(customer_views)
                .where(customer_views.c.id == view_id, customer_views.c.owner == owner)
                .values(**values, version=customer_views.c.version + 1, updated_at=sa.func.now())
                .returning(customer_views)
            )).one()
    except IntegrityError:
        raise _name_taken() from None


async def delete(session: AsyncSession, view_id: uuid.UUID, owner: str) -> None:
    await session.execute(
        sa.delete(customer_views).where(customer_views.c.id == view_id, customer_views.c.owner == owner)
    )
