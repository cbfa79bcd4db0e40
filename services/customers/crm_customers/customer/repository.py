"""Every SQL statement about customers."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from crm_customers.customer.tables import customer_code_seq, customers
from crm_platform.errors import Conflict


async def next_code_number(session: AsyncSession) -> int:
    return int((await session.execute(sa.select(customer_code_seq.next_value()))).scalar_one())


async def insert(session: AsyncSession, values: dict[str, Any]) -> sa.Row[Any]:
    try:
        async with session.begin_nested():
            return (await session.execute(sa.insert(customers).values(**values).returning(customers))).one()
    except IntegrityError:
        raise Conflict("a customer with this code exists", code="code_taken", extra={"field": "code"}) from None


async def get(session: AsyncSession, customer_id: uuid.UUID) -> sa.Row[Any] | None:
    return (await session.execute(sa.select(customers).where(customers.c.id == customer_id))).first()


async def update_if_version(
    session: AsyncSession, customer_id: uuid.UUID, expected_version: int, values: dict[str, Any]
) -> sa.Row[Any] | None:
    """Updates only if the stored version is the expected one (optimistic concurrency)."""
    try:
        async with session.begin_nested():
            return (
                await session.execute(
                    sa.update(customers)
                    .where(customers.c.id == customer_id, customers.c.version == expected_version)
                    .values(**values, version=customers.c.version + 1, updated_at=sa.func.now())
                    .returning(customers)
                )
            ).first()
    except IntegrityError:
        raise Conflict("a customer with this code exists", code="code_taken", extra={"field": "code"}) from None


ORDERINGS = {
    "created_at desc": (customers.c.created_at.desc(), customers.c.id.desc()),
    "created_at asc": (customers.c.created_at.asc(), customers.c.id.asc()),
}


async def list_page(
    session: AsyncSession,
    *,
    order_by: str,
    limit: int,
    after: tuple[datetime, uuid.UUID] | None,
    industry: str,
    status: str,
    q: str,
) -> list[sa.Row[Any]]:
    query = sa.select(customers).order_by(*ORDERINGS[order_by]).limit(limit)
    if industry:
        query = query.where(customers.c.industry == industry)
    if status:
        query = query.where(customers.c.status == status)
    if q:
        pattern = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(
            sa.or_(
                customers.c.name.ilike(pattern),
                customers.c.code.ilike(pattern),
                customers.c.mobile.like(pattern),
                customers.c.email.ilike(pattern),
            )
        )
    if after is not None:
        key = sa.tuple_(customers.c.created_at, customers.c.id)
        query = query.where(key < sa.tuple_(*after) if order_by.endswith("desc") else key > sa.tuple_(*after))
    return list((await session.execute(query)).all())
