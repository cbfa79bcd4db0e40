"""Every SQL statement about orders and contracts."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg
from sqlalchemy.ext.asyncio import AsyncSession

from crm_customers.customer.tables import customers
from crm_customers.orders.tables import orders

# Statuses whose amount counts as spend (docs/customers.md, "Orders").
SPEND_STATUSES = ("confirmed", "paid")

_WITH_CODE = sa.select(orders, customers.c.code.label("customer_code")).join(
    customers, customers.c.id == orders.c.customer_id
)


async def find_customer(
    session: AsyncSession, *, customer_id: uuid.UUID | None, code: str, scope: sa.ColumnElement[bool] | None
) -> sa.Row[Any, Any] | None:
    """A live customer by id or code, if the caller's data scope shows it."""
    query = sa.select(customers.c.id, customers.c.code).where(customers.c.deleted_at.is_(None))
    query = query.where(customers.c.id == customer_id) if customer_id else query.where(customers.c.code == code)
    if scope is not None:
        query = query.where(scope)
    return (await session.execute(query)).first()


async def find_customers(
    session: AsyncSession, *, ids: set[uuid.UUID], codes: set[str], scope: sa.ColumnElement[bool] | None
) -> list[sa.Row[Any, Any]]:
    """Live customers with these ids or codes that the caller's data scope shows (one query)."""
    if not ids and not codes:
        return []
    query = sa.select(customers.c.id, customers.c.code).where(
        customers.c.deleted_at.is_(None), sa.or_(customers.c.id.in_(ids), customers.c.code.in_(codes))
    )
    if scope is not None:
        query = query.where(scope)
    return list((await session.execute(query)).all())


async def by_external_ids(session: AsyncSession, external_ids: list[str]) -> dict[str, sa.Row[Any]]:
    """Existing orders by external id, locked for the rest of the transaction."""
    if not external_ids:
        return {}
    rows = (await session.execute(
        sa.select(orders).where(orders.c.external_id.in_(external_ids)).with_for_update()
    )).all()
    return {r.external_id: r for r in rows}


async def insert_many(session: AsyncSession, rows: list[dict[str, Any]]) -> dict[str, sa.Row[Any]]:
    """One INSERT for many orders; returns the inserted rows by external id (an external id that
    another transaction inserted first is absent)."""
    if not rows:
        return {}
    inserted = (await session.execute(
        pg.insert(orders).values(rows).on_conflict_do_nothing(index_elements=["external_id"]).returning(orders)
    )).all()
    return {r.external_id: r for r in inserted}


async def update(session: AsyncSession, order_id: uuid.UUID, values: dict[str, Any]) -> sa.Row[Any]:
    return (await session.execute(
        sa.update(orders).where(orders.c.id == order_id)
        .values(**values, version=orders.c.version + 1, updated_at=sa.func.now())
        .returning(orders)
    )).one()


async def customer_codes(session: AsyncSession, ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    if not ids:
        return {}
    rows = (await session.execute(sa.select(customers.c.id, customers.c.code).where(customers.c.id.in_(ids)))).all()
    return {r.id: r.code for r in rows}


async def get(session: AsyncSession, order_id: uuid.UUID, scope: sa.ColumnElement[bool] | None) -> sa.Row[Any] | None:
    query = _WITH_CODE.where(orders.c.id == order_id, customers.c.deleted_at.is_(None))
    if scope is not None:
        query = query.where(scope)
    return (await session.execute(query)).first()


@dataclass
class OrderFilter:
    customer_id: uuid.UUID | None = None
    status: str = ""
    kind: str = ""
    ordered_after: date | None = None
    ordered_before: date | None = None
    scope: sa.ColumnElement[bool] | None = None


async def list_page(
    session: AsyncSession, f: OrderFilter, *, limit: int, after: tuple[date, uuid.UUID] | None
) -> list[sa.Row[Any]]:
    """Newest order date first; only orders of live customers the caller's data scope shows."""
    query = _WITH_CODE.where(customers.c.deleted_at.is_(None))
    if f.scope is not None:
        query = query.where(f.scope)
    if f.customer_id is not None:
        query = query.where(orders.c.customer_id == f.customer_id)
    if f.status:
        query = query.where(orders.c.status == f.status)
    if f.kind:
        query = query.where(orders.c.kind == f.kind)
    if f.ordered_after is not None:
        query = query.where(orders.c.ordered_on >= f.ordered_after)
    if f.ordered_before is not None:
        query = query.where(orders.c.ordered_on <= f.ordered_before)
    if after is not None:
        query = query.where(sa.tuple_(orders.c.ordered_on, orders.c.id) < sa.tuple_(*after))
    query = query.order_by(orders.c.ordered_on.desc(), orders.c.id.desc()).limit(limit)
    return list((await session.execute(query)).all())


def _spend_sums(counted: sa.ColumnElement[bool]) -> sa.Select[Any]:
    """Per currency over orders that count as spend: `annual` covers order dates in the last 365
    days (today included), `lifetime` all of them."""
    recent = orders.c.ordered_on > sa.func.current_date() - 365
    return (
        sa.select(
            orders.c.currency,
            sa.func.coalesce(sa.func.sum(orders.c.amount).filter(recent), 0).label("annual"),
            sa.func.sum(orders.c.amount).label("lifetime"),
        )
        .where(counted, orders.c.kind == "order", orders.c.status.in_(SPEND_STATUSES))
        .group_by(orders.c.currency)
    )


def spend_column(customer_id: sa.Column[Any]) -> sa.ScalarSelect[Any]:
    """A customer's spend, as one column of a query over customers (`customer_id`'s table
    or alias; a read stays one statement, and an INSERT or UPDATE can return it): a JSON list of
    [currency, annual, lifetime], amounts as decimal text (JSON numbers would come back as floats)."""
    outer = customer_id.table
    sums = _spend_sums(orders.c.customer_id == customer_id).correlate(outer).subquery("spend")
    triple = sa.func.jsonb_build_array(sums.c.currency, sa.cast(sums.c.annual, sa.Text),
                                       sa.cast(sums.c.lifetime, sa.Text))
    return (sa.select(sa.func.coalesce(sa.func.jsonb_agg(triple), sa.text("'[]'::jsonb")))
            .correlate(outer).scalar_subquery())
