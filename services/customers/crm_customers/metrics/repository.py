"""Every SQL statement about the value metrics projection (metrics/tables.py): recomputing the
figures of some customers from their orders (the order write's transaction, merges, the refresh
job), finding the rows the sliding windows made stale, and the segment conditions that read it.

A row is *fresh* while `stale_from > current_date`: its figure is then exactly what the orders
give today. A stale row (its oldest order has left the window since it was computed) is read as
the orders give it (a per-customer aggregate on ix_orders_customer_ordered_on), so conditions are
exact whether or not the refresh job has run yet; the job only keeps the stale rows few."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg
from sqlalchemy.ext.asyncio import AsyncSession

from crm_customers.metrics.tables import orders_30d, spend_12m
from crm_customers.orders.repository import SPEND_STATUSES
from crm_customers.orders.tables import orders

SPEND_DAYS = 365
ORDER_DAYS = 30


def counted(days: int, currency: str | sa.ColumnElement[str] | None = None) -> list[sa.ColumnElement[bool]]:
    """Orders counted as spend (orders/repository.py `_spend_sums`: kind order, confirmed or paid)
    dated in the last `days` days, today included (ix_orders_counted_on, migration c0180)."""
    conditions = [orders.c.kind == "order", orders.c.status.in_(SPEND_STATUSES),
                  orders.c.ordered_on > sa.func.current_date() - days]
    return conditions + ([orders.c.currency == currency] if currency is not None else [])


async def refresh(session: AsyncSession, customer_ids: Iterable[uuid.UUID]) -> None:
    """Recomputes these customers' rows from their orders, in the caller's transaction. A
    transaction-scoped advisory lock per customer (taken in id order) serialises two writers of
    one customer's orders, so the second recomputes after the first committed and sees its order."""
    ids = sorted(set(customer_ids))
    if not ids:
        return
    given = sa.literal(ids, pg.ARRAY(pg.UUID(as_uuid=True)))
    locked = sa.func.unnest(given).table_valued("id").render_derived()
    await session.execute(sa.select(sa.func.count()).select_from(
        sa.select(sa.func.pg_advisory_xact_lock(sa.func.hashtextextended(
            sa.literal("customer_metrics:") + sa.cast(locked.c.id, sa.Text), 0)))
        .order_by(locked.c.id).subquery()))
    await _recompute(session, given)


async def rebuild(session: AsyncSession) -> None:
    """Every row from the orders (orders loaded behind the service's back: benchmarks, repairs)."""
    await _recompute(session, None)


async def _recompute(session: AsyncSession, given: sa.ColumnElement[Any] | None) -> None:
    """Replaces the rows of the customers in the array `given` (None: of everyone) by what their
    orders give today."""
    for table in (spend_12m, orders_30d):
        await session.execute(sa.delete(table).where(
            *([table.c.customer_id == sa.func.any(given)] if given is not None else [])))
    mine = [orders.c.customer_id == sa.func.any(given)] if given is not None else []
    await session.execute(sa.insert(spend_12m).from_select(
        ["customer_id", "currency", "amount", "stale_from"],
        sa.select(orders.c.customer_id, orders.c.currency, sa.func.sum(orders.c.amount),
                  sa.func.min(orders.c.ordered_on) + SPEND_DAYS)
        .where(*mine, *counted(SPEND_DAYS)).group_by(orders.c.customer_id, orders.c.currency)))
    await session.execute(sa.insert(orders_30d).from_select(
        ["customer_id", "orders", "stale_from"],
        sa.select(orders.c.customer_id, sa.func.count(), sa.func.min(orders.c.ordered_on) + ORDER_DAYS)
        .where(*mine, *counted(ORDER_DAYS)).group_by(orders.c.customer_id)))


async def stale_customers(session: AsyncSession, limit: int) -> list[uuid.UUID]:
    """Up to `limit` customers with a row the windows made stale (ix_..._stale)."""
    stale = sa.union(
        sa.select(spend_12m.c.customer_id).where(spend_12m.c.stale_from <= sa.func.current_date()),
        sa.select(orders_30d.c.customer_id).where(orders_30d.c.stale_from <= sa.func.current_date()),
    ).subquery()
    return list((await session.execute(sa.select(stale.c.customer_id).limit(limit))).scalars())


def _range(value: sa.ColumnElement[Any], lowest: Any, highest: Any) -> list[sa.ColumnElement[bool]]:
    return [*([value >= lowest] if lowest is not None else []), *([value <= highest] if highest is not None else [])]


def _live_spend(currency: str) -> sa.ColumnElement[Any]:
    return (sa.select(sa.func.coalesce(sa.func.sum(orders.c.amount), Decimal(0))).select_from(orders)
            .where(orders.c.customer_id == spend_12m.c.customer_id, *counted(SPEND_DAYS, currency))
            .scalar_subquery())


def _live_orders() -> sa.ColumnElement[Any]:
    return (sa.select(sa.func.count()).select_from(orders)
            .where(orders.c.customer_id == orders_30d.c.customer_id, *counted(ORDER_DAYS)).scalar_subquery())


def _split(table: sa.Table, scope: list[sa.ColumnElement[bool]], stored: list[sa.ColumnElement[bool]],
           live: list[sa.ColumnElement[bool]]) -> sa.CompoundSelect[Any]:
    """Customers with a row meeting the condition: fresh rows by the stored figure (an index
    range), stale rows by their orders."""
    today = sa.func.current_date()
    return sa.union_all(
        sa.select(table.c.customer_id).where(*scope, table.c.stale_from > today, *stored),
        sa.select(table.c.customer_id).where(*scope, table.c.stale_from <= today, *live),
    )


def in_range(customer_id: sa.ColumnElement[uuid.UUID], metric: str, lowest: Any, highest: Any,
             currency: str = "") -> sa.ColumnElement[bool]:
    """The customer's `spend_12m` (in `currency`) or `orders_30d` lies in [lowest, highest] (None:
    unbounded); a customer without a row has 0. When the range excludes 0, the customers in it;
    else everyone except those above it."""
    table: sa.Table
    zero: Any
    if metric == "spend_12m":
        table, value, live, scope, zero = (spend_12m, spend_12m.c.amount, _live_spend(currency),
                                           [spend_12m.c.currency == currency], Decimal(0))
    else:
        table, value, live, scope, zero = orders_30d, orders_30d.c.orders, _live_orders(), [], 0
    if lowest is not None and lowest > zero:
        return customer_id.in_(_split(table, scope, _range(value, lowest, highest), _range(live, lowest, highest)))
    if highest is None:
        return sa.true()
    return customer_id.notin_(_split(table, scope, [value > highest], [live > highest]))


def live_value(customer_id: sa.ColumnElement[uuid.UUID], metric: str, currency: str = "") -> sa.ColumnElement[Any]:
    """The customer's `spend_12m` (in `currency`) or `orders_30d` as its orders give it today."""
    if metric == "spend_12m":
        return (sa.select(sa.func.coalesce(sa.func.sum(orders.c.amount), Decimal(0))).select_from(orders)
                .where(orders.c.customer_id == customer_id, *counted(SPEND_DAYS, currency))
                .correlate_except(orders).scalar_subquery())
    return (sa.select(sa.func.count()).select_from(orders)
            .where(orders.c.customer_id == customer_id, *counted(ORDER_DAYS))
            .correlate_except(orders).scalar_subquery())


def per_customer(customer_id: sa.ColumnElement[uuid.UUID], metric: str, lowest: Any, highest: Any,
                 currency: str = "") -> sa.ColumnElement[bool]:
    """The same condition computed for each candidate row from its own orders: for a reader who
    sees few customers (data scope `own`), cheaper than any set of customers."""
    bounds = _range(live_value(customer_id, metric, currency), lowest, highest)
    return sa.and_(*bounds) if bounds else sa.true()
