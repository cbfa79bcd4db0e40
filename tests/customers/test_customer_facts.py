"""`customer_facts` (migration c0240, crm_customers/customer/facts.py): the narrow per-customer rows
exact counts read. They equal the customers row and the value metrics projection after every kind
of write (create, update, tags, delete and restore, erasure, orders), c0240 backfills them, and a
segment or list count on them equals the rows the list returns, for each data scope and for a
role whose field policy hides spend."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_customers.customer import repository
from crm_customers.customer.facts import customer_facts
from crm_customers.customer.list_query import ListQuery
from crm_customers.customer.service import CustomerService
from crm_customers.customer.tables import customers as customers_table
from crm_customers.customer.tables import user_teams
from crm_customers.metrics.tables import orders_30d, spend_12m
from crm_customers.orders.service import OrderService
from crm_customers.segments.definition import Definition
from crm_customers.segments.service import SegmentChanges, Segments
from crm_customers.sensitive.keys import LocalKeyWrapper
from crm_customers.sensitive.service import SensitiveFields
from crm_customers.tags.events import record_tag_change
from crm_customers.value_segments import column as value_segment_column
from crm_platform.auth import Principal
from crm_platform.db import TENANT, tenant_session
from crm_platform.errors import InvalidInput
from crm_platform.events import CloudEvent
from crm_platform.ids import tenant_schema
from crm_platform.pagination import PageTokens
from crm_proto.crm.customers.v1 import orders_pb2 as opb
from tests.customers.conftest import MASTER_KEY
from tests.customers.test_activity import SCOPES
from tests.customers.test_value_metrics import _migrate
from tests.support import Infra

COPIED = ("owner_id", "status", "industry", "region", "source", "type", "created_at", "deleted_at",
          "custom_fields", "value_segment")


@pytest.fixture
def customers() -> CustomerService:
    return CustomerService(PageTokens("test-key"), SensitiveFields(LocalKeyWrapper(MASTER_KEY)))


def person(tenant_id: uuid.UUID, data_scope: str = "all", user_id: uuid.UUID | None = None,
           team: uuid.UUID | None = None, field_policies: dict[str, str] | None = None) -> Principal:
    user = user_id or uuid.uuid4()
    return Principal(tenant_id=tenant_id, subject=f"user:{user}", client_id="web",
                     scopes=SCOPES | {"orders:write"}, user_id=user, data_scope=data_scope,
                     team_ids=(str(team),) if team else (), field_policies=field_policies or {})


def tag_event(tenant_id: uuid.UUID, verb: str, customer_id: Any, tag_id: uuid.UUID, seq: int) -> CloudEvent:
    return CloudEvent.new(source="crm/tagging", type=f"crm.tag.{verb}", tenant_id=tenant_id,
                          data={"customer_id": str(customer_id), "tag_id": str(tag_id), "tag_name": "VIP",
                                "source": "manual", "change_seq": str(seq)}, subject=str(customer_id))


async def assert_facts_follow(engine: AsyncEngine, tenant_id: uuid.UUID) -> None:
    """Every customer has exactly one facts row, equal to its customers row and metrics rows
    (computed here independently of the triggers)."""
    async with tenant_session(engine, tenant_id) as session:
        rows = {r.id: r for r in await session.execute(sa.select(
            customers_table, sa.literal_column("customers.tag_ids").label("tag_ids"),
            sa.literal_column("customers.value_segment").label("value_segment")))}
        facts = {r.id: r for r in await session.execute(sa.select(customer_facts))}
        money: dict[uuid.UUID, list[Any]] = {}
        for r in await session.execute(sa.select(spend_12m)):
            money.setdefault(r.customer_id, []).append(r)
        recent = {r.customer_id: r for r in await session.execute(sa.select(orders_30d))}
    assert facts.keys() == rows.keys()
    for customer_id, row in rows.items():
        fact = facts[customer_id]
        assert {c: getattr(fact, c) for c in (*COPIED, "tag_ids")} == {c: getattr(row, c) for c in (*COPIED, "tag_ids")}
        spent = money.get(customer_id, [])
        expected_spend = ((None, None) if not spent else (spent[0].currency, spent[0].amount) if len(spent) == 1
                          else ("*", None))
        assert (fact.spend_currency, fact.spend_12m) == expected_spend
        assert fact.spend_stale_from == (min(s.stale_from for s in spent) if spent else None)
        orders = recent.get(customer_id)
        expected_orders = (orders.orders, orders.stale_from) if orders else (0, None)
        assert (fact.orders_30d, fact.orders_stale_from) == expected_orders


def order(external_id: str, customer_id: Any, amount: str, days_ago: int, currency: str = "CNY") -> opb.OrderInput:
    return opb.OrderInput(external_id=external_id, customer_id=str(customer_id), amount=amount, currency=currency,
                          ordered_on=(date.today() - timedelta(days=days_ago)).isoformat(), status="paid")


async def test_facts_follow_every_write_of_customers_tags_and_orders(
    engine: AsyncEngine, tenant_id: uuid.UUID, customers: CustomerService
) -> None:
    admin = person(tenant_id)
    async with tenant_session(engine, tenant_id) as session:
        a = await customers.create(session, admin, {"name": "事实甲", "mobile": "13800138000", "status": "intent",
                                                    "region": "北京"}, {}, allow_duplicates=True)
        b = await customers.create(session, admin, {"name": "事实乙", "mobile": "13800138001"},
                                   allow_duplicates=True)
        c = await customers.create(session, admin, {"name": "事实丙", "mobile": "13800138002"},
                                   allow_duplicates=True)
    await assert_facts_follow(engine, tenant_id)
    async with tenant_session(engine, tenant_id) as session:
        updated = await customers.update(session, admin, str(a.id), {"region": "上海", "source": "referral"},
                                         a.version)
        await customers.change_status(session, admin, str(a.id), "won", "signed", updated.version)
    vip = uuid.uuid4()
    for seq, (verb, customer) in enumerate((("applied", a), ("applied", b), ("removed", a)), start=1):
        async with tenant_session(engine, tenant_id) as session:
            await record_tag_change(tag_event(tenant_id, verb, customer.id, vip, seq), session)
    async with tenant_session(engine, tenant_id) as session:
        await OrderService(PageTokens("test-key")).batch(session, admin, [
            order("F-1", a.id, "500.00", 3), order("F-2", b.id, "70.00", 40),
            order("F-3", b.id, "9.00", 100, currency="USD")])
        await value_segment_column.record(session, [(b.id, "high_value", 1)])  # reporting's value segment
    await assert_facts_follow(engine, tenant_id)
    async with tenant_session(engine, tenant_id) as session:
        current = await repository.get(session, c.id)
        assert current is not None
        await customers.delete(session, admin, str(c.id), current.version)
    await assert_facts_follow(engine, tenant_id)
    async with tenant_session(engine, tenant_id) as session:
        await customers.restore(session, admin, str(c.id))
        await session.execute(sa.delete(customers_table).where(customers_table.c.id == b.id))  # erasure
    await assert_facts_follow(engine, tenant_id)


async def test_c0240_backfills_the_facts_of_existing_customers(
    engine: AsyncEngine, infra: Infra, tenant_id: uuid.UUID, customers: CustomerService
) -> None:
    admin = person(tenant_id)
    async with tenant_session(engine, tenant_id) as session:
        made = [await customers.create(session, admin, {"name": f"旧客户{i}", "mobile": "13800138000"},
                                       allow_duplicates=True) for i in range(3)]
        await OrderService(PageTokens("test-key")).batch(session, admin, [
            order("B-1", made[0].id, "300.00", 5), order("B-2", made[0].id, "200.00", 100, currency="USD"),
            order("B-3", made[1].id, "50.00", 10)])
    schema = f"t_{tenant_id.hex}"
    await asyncio.to_thread(_migrate, infra.database_url, schema, "c0252", down=True)
    async with tenant_session(engine, tenant_id) as session:
        await customers.create(session, admin, {"name": "旧客户3", "mobile": "13800138000"}, allow_duplicates=True)
    await asyncio.to_thread(_migrate, infra.database_url, schema, "head", down=False)
    await assert_facts_follow(engine, tenant_id)


async def listed_ids(engine: AsyncEngine, customers: CustomerService, caller: Principal,
                     query: ListQuery) -> set[uuid.UUID]:
    """Every row the list returns, page by page (the customers table, not the facts)."""
    found: set[uuid.UUID] = set()
    token = ""
    async with tenant_session(engine, caller.tenant_id) as session:
        while True:
            rows, token = await customers.list(session, size=100, token=token, order_by="", caller=caller,
                                               query=query)
            found |= {r.id for r in rows}
            if not token:
                return found


async def test_counts_on_facts_equal_the_lists_rows_for_each_role(
    engine: AsyncEngine, tenant_id: uuid.UUID, customers: CustomerService
) -> None:
    team, other_team = uuid.uuid4(), uuid.uuid4()
    rep, mate, stranger = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    async with tenant_session(engine, tenant_id) as session:
        await session.execute(sa.insert(user_teams), [
            {"user_id": rep, "team_id": team, "version": 1}, {"user_id": mate, "team_id": team, "version": 1},
            {"user_id": stranger, "team_id": other_team, "version": 1}])
    admin = person(tenant_id)
    vip, big = uuid.uuid4(), uuid.uuid4()
    made = []
    async with tenant_session(engine, tenant_id) as session:
        for i in range(24):
            owner = (rep, mate, stranger)[i % 3]
            made.append(await customers.create(session, admin, {
                "name": f"计数客户{i}", "mobile": "13800138000", "owner_id": str(owner),
                "status": ("potential", "won")[i % 2], "region": ("北京", "上海")[i % 4 // 2],
            }, allow_duplicates=True))
        await OrderService(PageTokens("test-key")).batch(session, admin, [
            order(f"C-{i}", m.id, f"{(i + 1) * 1000}.00", i * 20, currency="USD" if i % 7 == 0 else "CNY")
            for i, m in enumerate(made) if i % 2 == 0])
    seq = 0
    for i, m in enumerate(made):
        for tag, share in ((vip, 2), (big, 5)):
            if i % share == 0:
                seq += 1
                async with tenant_session(engine, tenant_id) as session:
                    await record_tag_change(tag_event(tenant_id, "applied", m.id, tag, seq), session)
    async with tenant_session(engine, tenant_id) as session:
        await customers.delete(session, admin, str(made[4].id), made[4].version)

    definitions = [
        Definition(),
        Definition(all_tags=(str(vip),), none_tags=(str(big),)),
        Definition(any_tags=(str(vip), str(big)), filters={"status": "won"}),
        Definition(filters={"region": "北京"}, spend_12m_min="5000"),
        Definition(spend_12m_max="3000"),
        Definition(spend_12m_min="1", spend_currency="USD"),
        Definition(orders_30d_min="1", none_tags=(str(vip),)),
        Definition(filters={"q": "计数客户1"}),  # text search: counted on customers
    ]
    readers = [admin, person(tenant_id, "team", rep, team), person(tenant_id, "own", mate)]
    segments = Segments(customers)
    for reader in readers:
        for definition in definitions:
            async with tenant_session(engine, tenant_id) as session:
                counted = await segments.preview(session, reader, definition, 0)
                inner = await customers.definition_filter(session, reader, definition, [], "definition")
                assert inner is not None
                filters, _, _ = await customers.list_filter(session, order_by="", caller=reader, query=ListQuery())
                inner.own_only = filters.own_only
                filters.segment = inner
                on_facts = repository._facts_count(filters) is not None
            assert on_facts == ("q" not in definition.filters), definition
            rows = await listed_ids_of_definition(engine, customers, reader, definition)
            assert counted.count == len(rows), (reader.data_scope, definition)
    # A role that may not see spend may not count by it, on facts or not.
    hidden = person(tenant_id, field_policies={"annual_spend": "hidden"})
    async with tenant_session(engine, tenant_id) as session:
        with pytest.raises(InvalidInput) as raised:
            await segments.preview(session, hidden, Definition(spend_12m_min="1"), 0)
    assert raised.value.errors[0].code == "field_hidden"


async def listed_ids_of_definition(engine: AsyncEngine, customers: CustomerService, caller: Principal,
                                   definition: Definition) -> set[uuid.UUID]:
    """The definition's members as the list returns them: a saved segment as the list filter."""
    segments = Segments(customers)
    async with tenant_session(engine, caller.tenant_id) as session:
        saved = await segments.create(session, caller, SegmentChanges(name=f"s{uuid.uuid4().hex[:8]}",
                                                                      definition=definition))
    return await listed_ids(engine, customers, caller, ListQuery(segment_id=str(saved.id)))


async def test_stale_and_multi_currency_facts_are_counted_from_the_orders(
    engine: AsyncEngine, tenant_id: uuid.UUID, customers: CustomerService
) -> None:
    """A facts row whose figure went stale (an order left the window since) or is in several
    currencies is counted by what its orders give today (c0261's functions), as the list counts it."""
    admin = person(tenant_id)
    async with tenant_session(engine, tenant_id) as session:
        stale, mixed, fresh = [await customers.create(session, admin, {"name": f"过期{i}", "mobile": "13800138000"},
                                                      allow_duplicates=True) for i in range(3)]
        await OrderService(PageTokens("test-key")).batch(session, admin, [
            order("S-1", stale.id, "500.00", 100), order("S-2", stale.id, "70.00", 10),
            order("S-3", mixed.id, "60000.00", 20), order("S-4", mixed.id, "5.00", 30, currency="USD"),
            order("S-5", fresh.id, "60000.00", 3)])
        # As if a 100,000 order had left the 12-month window today and a recent order the 30 days.
        await session.execute(sa.update(spend_12m).where(spend_12m.c.customer_id == stale.id)
                              .values(amount=spend_12m.c.amount + 100_000, stale_from=sa.func.current_date()))
        await session.execute(sa.update(orders_30d).where(orders_30d.c.customer_id == stale.id)
                              .values(orders=orders_30d.c.orders + 5, stale_from=sa.func.current_date()))
    async with tenant_session(engine, tenant_id) as session:
        facts = {r.id: r for r in await session.execute(sa.select(customer_facts))}
    assert facts[stale.id].spend_12m == Decimal("100570") and facts[mixed.id].spend_currency == "*"
    cases = [
        (Definition(spend_12m_min="50000"), {mixed.id, fresh.id}),
        (Definition(spend_12m_max="1000"), {stale.id}),
        (Definition(spend_12m_min="1", spend_currency="USD"), {mixed.id}),
        (Definition(orders_30d_min="2"), set()),
        (Definition(orders_30d_min="1", orders_30d_max="1"), {stale.id, mixed.id, fresh.id}),
    ]
    segments = Segments(customers)
    for definition, expected in cases:
        async with tenant_session(engine, tenant_id) as session:
            counted = await segments.preview(session, admin, definition, 0)
        assert await listed_ids_of_definition(engine, customers, admin, definition) == expected, definition
        assert counted.count == len(expected), definition


async def test_metric_counts_on_facts_may_run_in_parallel(engine: AsyncEngine, tenant_id: uuid.UUID,
                                                          customers: CustomerService) -> None:
    """A count with a value metric is one parallel scan like a tag count: before c0261 its live
    figure was a correlated subquery, which PostgreSQL runs on one core only."""
    admin = person(tenant_id)
    definition = Definition(none_tags=(str(uuid.uuid4()),), spend_12m_min="10000", orders_30d_min="1")
    async with tenant_session(engine, tenant_id) as session:
        inner = await customers.definition_filter(session, admin, definition, [], "definition")
        assert inner is not None
        filters, _, _ = await customers.list_filter(session, order_by="", caller=admin, query=ListQuery())
        filters.segment = inner
        query = repository._facts_count(filters)
        assert query is not None
        # Puts a Gather over any plan that may run in a worker (whatever the table's size).
        await session.execute(sa.text("SET LOCAL debug_parallel_query = on"))
        connection = await session.connection()
        compiled = query.compile(dialect=connection.dialect, render_schema_translate=True,
                                 schema_translate_map={TENANT: tenant_schema(tenant_id)})
        plan = "\n".join(r[0] for r in await connection.exec_driver_sql(f"EXPLAIN {compiled}", compiled.params))
    assert "Gather" in plan and "SubPlan" not in plan, plan
