"""The value metrics projection (docs/customers.md, "Value metrics"): segment counts on spend in 12
months and orders in 30 days stay exactly what an independent computation from the orders gives —
after batch writes, an order moving to another customer or being cancelled, a merge and its undo,
and as the windows slide (before the refresh job, by reading the stale rows' orders; after it, from
refreshed rows)."""

from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from joserfc.jwk import ECKey
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import NullPool

from crm_customers.customer.service import CustomerService
from crm_customers.customer.tables import customers as customers_table
from crm_customers.main import DEFINITION
from crm_customers.metrics import service as metrics
from crm_customers.metrics.tables import orders_30d, spend_12m
from crm_customers.orders.merging import ORDERS
from crm_customers.orders.service import OrderService
from crm_customers.orders.tables import orders
from crm_customers.segments.definition import Definition
from crm_customers.segments.service import Segments
from crm_customers.sensitive.keys import LocalKeyWrapper
from crm_customers.sensitive.service import SensitiveFields
from crm_platform import scheduler
from crm_platform.auth import Principal
from crm_platform.db import tenant_session
from crm_platform.pagination import PageTokens
from crm_proto.crm.customers.v1 import orders_pb2 as pb
from tests.customers.conftest import MASTER_KEY
from tests.customers.test_orders import _customer, meta
from tests.support import Infra

SCOPES = frozenset({"customers:read", "customers:write", "orders:read", "orders:write"})
# (min, max, currency) for spend; (min, max) for orders in 30 days. None: unbounded.
SPEND_CASES: list[tuple[Any, Any, str]] = [
    (Decimal("1"), None, "CNY"), (Decimal("50000"), None, "CNY"), (None, Decimal("1000"), "CNY"),
    (Decimal("100"), Decimal("60000"), "CNY"), (None, Decimal("0"), "CNY"), (Decimal("1"), None, "USD"),
    (Decimal("0"), Decimal("10"), "USD"),
]
ORDER_CASES: list[tuple[Any, Any]] = [(1, None), (2, None), (None, 1), (None, 0), (1, 2), (0, 3)]


def caller(tenant_id: uuid.UUID) -> Principal:
    return Principal(tenant_id=tenant_id, subject="user:admin", client_id="test", scopes=SCOPES,
                     user_id=uuid.uuid4(), data_scope="all")


def segments() -> Segments:
    return Segments(CustomerService(PageTokens("test-page-token-key"), SensitiveFields(LocalKeyWrapper(MASTER_KEY))))


def definition(spend: tuple[Any, Any, str] | None = None, recent: tuple[Any, Any] | None = None) -> Definition:
    def text(value: Any) -> str:
        return "" if value is None else str(value)

    if spend is not None:
        return Definition(spend_12m_min=text(spend[0]), spend_12m_max=text(spend[1]), spend_currency=spend[2])
    assert recent is not None
    return Definition(orders_30d_min=text(recent[0]), orders_30d_max=text(recent[1]))


async def expected_figures(engine: AsyncEngine, tenant_id: uuid.UUID
                           ) -> tuple[dict[tuple[uuid.UUID, str], Decimal], dict[uuid.UUID, int], set[uuid.UUID]]:
    """From the orders, in Python: counted (kind order, confirmed or paid) and in the window."""
    async with tenant_session(engine, tenant_id) as session:
        today: date = (await session.execute(sa.select(sa.func.current_date()))).scalar_one()
        rows = (await session.execute(sa.select(orders))).all()
        everyone = set((await session.execute(sa.select(customers_table.c.id)
                                              .where(customers_table.c.deleted_at.is_(None)))).scalars())
    spend: dict[tuple[uuid.UUID, str], Decimal] = defaultdict(Decimal)
    recent: dict[uuid.UUID, int] = defaultdict(int)
    for row in rows:
        if row.kind != "order" or row.status not in ("confirmed", "paid"):
            continue
        if row.ordered_on > today - timedelta(days=365):
            spend[(row.customer_id, row.currency)] += row.amount
        if row.ordered_on > today - timedelta(days=30):
            recent[row.customer_id] += 1
    return dict(spend), dict(recent), everyone


def within(value: Any, lowest: Any, highest: Any) -> bool:
    return (lowest is None or value >= lowest) and (highest is None or value <= highest)


async def assert_counts_exact(engine: AsyncEngine, tenant_id: uuid.UUID) -> None:
    spend, recent, everyone = await expected_figures(engine, tenant_id)
    service = segments()
    async with tenant_session(engine, tenant_id) as session:
        for lowest, highest, currency in SPEND_CASES:
            expected = sum(1 for c in everyone if within(spend.get((c, currency), Decimal(0)), lowest, highest))
            counted = await service.preview(session, caller(tenant_id), definition((lowest, highest, currency)), 0)
            assert counted.count == expected, (lowest, highest, currency)
        for lowest, highest in ORDER_CASES:
            expected = sum(1 for c in everyone if within(recent.get(c, 0), lowest, highest))
            counted = await service.preview(session, caller(tenant_id), definition(recent=(lowest, highest)), 0)
            assert counted.count == expected, (lowest, highest)


async def stored(engine: AsyncEngine, tenant_id: uuid.UUID) -> tuple[dict[Any, Decimal], dict[uuid.UUID, int]]:
    async with tenant_session(engine, tenant_id) as session:
        money = {(r.customer_id, r.currency): r.amount for r in await session.execute(sa.select(spend_12m))}
        counts = {r.customer_id: r.orders for r in await session.execute(sa.select(orders_30d))}
    return money, counts


async def assert_rows_exact(engine: AsyncEngine, tenant_id: uuid.UUID) -> None:
    spend, recent, _ = await expected_figures(engine, tenant_id)
    assert await stored(engine, tenant_id) == (spend, recent)


def order(external_id: str, customer_id: str, amount: str, days_ago: int, *, currency: str = "CNY",
          status: str = "paid", kind: str = "order") -> pb.OrderInput:
    return pb.OrderInput(external_id=external_id, customer_id=customer_id, amount=amount, currency=currency,
                         ordered_on=(date.today() - timedelta(days=days_ago)).isoformat(), status=status, kind=kind)


async def test_segment_metric_counts_equal_the_orders_through_writes_merges_and_sliding_windows(
    customers: Any, signing_key: ECKey, engine: AsyncEngine, tenant_id: uuid.UUID,
) -> None:
    md = meta(signing_key, tenant_id)
    people = [await _customer(customers, md, name=f"价值客户{i}") for i in range(6)]
    a, b, c, d, e, _ = (p.id for p in people)
    service = OrderService(PageTokens("test-page-token-key"))
    async with tenant_session(engine, tenant_id) as session:
        results = await service.batch(session, caller(tenant_id), [
            order("V-1", a, "60000.00", 3), order("V-2", a, "500.00", 40), order("V-3", a, "900.00", 364),
            order("V-4", b, "800.00", 10), order("V-5", b, "700.00", 20), order("V-6", b, "99999.00", 400),
            order("V-7", c, "120.00", 1, currency="USD"), order("V-8", c, "5000.00", 2, status="cancelled"),
            order("V-9", d, "70000.00", 5, kind="contract"), order("V-10", d, "30.00", 29, status="confirmed"),
            order("V-11", e, "1000.00", -5),  # dated in the future: counted already
            order("V-12", e, "1.00", 350, currency="USD"),
        ])
        assert {r.result for r in results} == {"created"}, [r.errors for r in results]
        assert await scheduler.get(session, tenant_id, metrics.REFRESH_SCHEDULE, metrics.REFRESH_KEY) is not None
    await assert_rows_exact(engine, tenant_id)
    await assert_counts_exact(engine, tenant_id)

    # An order moves to another customer and another is cancelled: both customers follow.
    async with tenant_session(engine, tenant_id) as session:
        await service.batch(session, caller(tenant_id), [order("V-4", c, "800.00", 10),
                                                         order("V-1", a, "60000.00", 3, status="cancelled")])
    await assert_rows_exact(engine, tenant_id)
    await assert_counts_exact(engine, tenant_id)

    # A merge moves b's orders to a; its undo moves them back.
    async with tenant_session(engine, tenant_id) as session:
        undo = await ORDERS.move(session, [uuid.UUID(b)], uuid.UUID(a))
    await assert_rows_exact(engine, tenant_id)
    await assert_counts_exact(engine, tenant_id)
    async with tenant_session(engine, tenant_id) as session:
        await ORDERS.undo(session, undo)
    await assert_rows_exact(engine, tenant_id)
    await assert_counts_exact(engine, tenant_id)

    # 40 days pass (every date moves back; the rows' `stale_from` with them, as if computed then).
    async with tenant_session(engine, tenant_id) as session:
        await session.execute(sa.update(orders).values(ordered_on=orders.c.ordered_on - 40))
        for table in (spend_12m, orders_30d):
            await session.execute(sa.update(table).values(stale_from=table.c.stale_from - 40))
    money_before, _ = await stored(engine, tenant_id)
    assert money_before[(uuid.UUID(a), "CNY")] == Decimal("1400.00")  # V-3 is now 404 days old, still stored
    # Before the refresh the stale rows are read from the orders: counts are exact already.
    await assert_counts_exact(engine, tenant_id)
    async with tenant_session(engine, tenant_id) as session:
        await metrics.refresh_stale(session, [])
    await assert_rows_exact(engine, tenant_id)  # a's V-3 (13 months old) no longer counts
    money_after, recent_after = await stored(engine, tenant_id)
    assert money_after[(uuid.UUID(a), "CNY")] == Decimal("500.00")
    # e's USD order is 390 days old now; no order is within 30 days any more (the future one is 35 days old).
    assert (uuid.UUID(e), "USD") not in money_after and recent_after == {}
    await assert_counts_exact(engine, tenant_id)


async def test_fresh_rows_are_what_the_count_reads(
    customers: Any, signing_key: ECKey, engine: AsyncEngine, tenant_id: uuid.UUID,
) -> None:
    """The count reads the stored figure of a fresh row (the index range), not the orders: a row
    changed behind the orders' back changes the count; the next write of that customer's orders
    puts it right."""
    md = meta(signing_key, tenant_id)
    buyer = await _customer(customers, md, name="索引客户")
    service = OrderService(PageTokens("test-page-token-key"))
    async with tenant_session(engine, tenant_id) as session:
        await service.batch(session, caller(tenant_id), [order("F-1", buyer.id, "10.00", 1)])
    big = definition((Decimal("1000"), None, "CNY"))
    async with tenant_session(engine, tenant_id) as session:
        assert (await segments().preview(session, caller(tenant_id), big, 0)).count == 0
        await session.execute(sa.update(spend_12m).values(amount=Decimal("5000")))
    async with tenant_session(engine, tenant_id) as session:
        assert (await segments().preview(session, caller(tenant_id), big, 0)).count == 1
        await service.batch(session, caller(tenant_id), [order("F-2", buyer.id, "20.00", 2)])
    async with tenant_session(engine, tenant_id) as session:
        assert (await segments().preview(session, caller(tenant_id), big, 0)).count == 0
    await assert_rows_exact(engine, tenant_id)


def _migrate(database_url: str, schema: str, target: str, *, down: bool) -> None:
    """Moves one tenant schema to `target` as the runtime's migrator does (schema_translate_map)."""
    sync = sa.create_engine(database_url.replace("+asyncpg", "+psycopg"), poolclass=NullPool)
    try:
        with sync.begin() as connection:
            config = Config()
            config.set_main_option("script_location", str(DEFINITION.tenant_tree))
            config.attributes.update(connection=connection.execution_options(schema_translate_map={"tenant": schema}),
                                     version_table="alembic_version", version_table_schema=schema)
            (command.downgrade if down else command.upgrade)(config, target)
    finally:
        sync.dispose()


async def test_c0200_backfills_the_metrics_of_existing_orders(
    customers: Any, signing_key: ECKey, engine: AsyncEngine, infra: Infra, tenant_id: uuid.UUID,
) -> None:
    md = meta(signing_key, tenant_id)
    buyer, other = (await _customer(customers, md, name="老客户甲"), await _customer(customers, md, name="老客户乙"))
    async with tenant_session(engine, tenant_id) as session:
        await OrderService(PageTokens("test-page-token-key")).batch(session, caller(tenant_id), [
            order("B-1", buyer.id, "300.00", 5), order("B-2", buyer.id, "200.00", 100, currency="USD"),
            order("B-3", other.id, "50.00", 400), order("B-4", other.id, "70.00", 20, status="pending")])
    schema = f"t_{tenant_id.hex}"
    await asyncio.to_thread(_migrate, infra.database_url, schema, "c0190", down=True)  # orders from before c0200
    await asyncio.to_thread(_migrate, infra.database_url, schema, "head", down=False)
    await assert_rows_exact(engine, tenant_id)
    assert (await stored(engine, tenant_id)) == (
        {(uuid.UUID(buyer.id), "CNY"): Decimal("300.00"), (uuid.UUID(buyer.id), "USD"): Decimal("200.00")},
        {uuid.UUID(buyer.id): 1})
    await assert_counts_exact(engine, tenant_id)
