"""GetCustomer's read on the driver (customer/repository.py `read_for_reply`, crm_platform/db.py
`DriverStatement`, issue 9 §6): the same row, column for column, as SQLAlchemy's statement with the
data scope clause gives, for every shape of data scope, in a read session and inside a transaction.
Real PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from crm_customers.customer import access, repository
from crm_platform.auth import Principal
from crm_platform.db import (
    IDLE_PING_SECONDS,
    GenericPlanPool,
    create_engine,
    generic_plan_pool,
    tenant_engine,
    tenant_read_session,
    tenant_session,
)
from crm_proto.crm.customers.v1 import customers_pb2 as pb
from tests.customers.conftest import Metadata
from tests.customers.test_owners import record, user_event


def _principal(tenant_id: uuid.UUID, **extra: Any) -> Principal:
    return Principal(tenant_id=tenant_id, subject="u", client_id="web", scopes=frozenset(), **extra)


async def test_the_driver_read_is_the_sqlalchemy_row_in_every_scope(engine: AsyncEngine, tenant_id: uuid.UUID,
                                                                    customers: Any, as_user: Metadata) -> None:
    team, me, mate, stranger = uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    await record(engine, tenant_id, user_event(tenant_id, me, 1, "王芳", team=team),
                 user_event(tenant_id, mate, 1, "李雷", team=team), user_event(tenant_id, stranger, 1, "Stranger"))
    ids = []
    for number, owner in enumerate((me, mate, stranger, None)):
        made = await customers.CreateCustomer(pb.CreateCustomerRequest(customer=pb.CustomerInput(
            name=f"星辰科技{number}", mobile=f"1380013800{number}", owner_id=str(owner or ""), notes="多行\n备注",
            annual_revenue="1250000.50", first_contact_date="2026-01-02", email=f"c{number}@example.cn")),
            metadata=as_user())
        ids.append(uuid.UUID(made.id))
    callers = [
        None,
        _principal(tenant_id),  # data scope all
        _principal(tenant_id, data_scope="own", user_id=me),
        _principal(tenant_id, data_scope="team", user_id=me, team_ids=(str(team),)),
        _principal(tenant_id, data_scope="own"),  # no user: sees nothing
        _principal(tenant_id, data_scope="team", team_ids=(str(team),)),
    ]
    found = []
    for open_session in (tenant_read_session, tenant_session):
        async with open_session(engine, tenant_id) as session:
            for caller in callers:
                scope = access.scope_clause(caller) if caller is not None else None
                for customer_id in [*ids, uuid.uuid4()]:
                    expected = await repository.get(session, customer_id, scope, reply=True)
                    got = await repository.read_for_reply(session, customer_id, caller)
                    assert (got is None) == (expected is None), (caller, customer_id)
                    if expected is not None:
                        assert got._fields == expected._fields
                        assert tuple(got) == tuple(expected)
                        assert [type(value) for value in got] == [type(value) for value in expected]
                    found.append(got is not None)
    # No caller and `all`: the four; own: mine; team: mine and my teammate's; no user: own none, team the team's.
    per_caller = [sum(found[i * 5:(i + 1) * 5]) for i in range(len(callers))]
    assert per_caller == [4, 4, 1, 2, 0, 2]



async def test_plain_pages_on_the_driver_are_the_sqlalchemy_pages(engine: AsyncEngine, tenant_id: uuid.UUID,
                                                                 customers: Any, as_user: Metadata) -> None:
    """A list page without filters (any order, first page or after a cursor, with or without a data
    scope of owners, none of whom may be visible) is the page SQLAlchemy's statement gives."""
    owner, other = uuid.uuid4(), uuid.uuid4()
    await record(engine, tenant_id, user_event(tenant_id, owner, 1, "王芳"), user_event(tenant_id, other, 1, "李雷"))
    for number, (name, status, industry) in enumerate([("星辰科技", "intent", "IT"), ("阿里", "won", "制造"),
                                                       ("Zeta", "potential", ""), ("星辰科技", "lost", "IT"),
                                                       ("北京", "won", "零售")]):
        await customers.CreateCustomer(pb.CreateCustomerRequest(customer=pb.CustomerInput(
            name=name, status=status, industry=industry, mobile=f"1390013900{number}",
            owner_id=str(owner if number % 2 else other), region="华北/北京" if number % 3 else "")),
            metadata=as_user())
    scopes: list[list[uuid.UUID] | None] = [None, [owner], [owner, other], []]
    async with tenant_read_session(engine, tenant_id) as session:
        for order_by in repository.ORDERINGS:
            for owners in scopes:
                filters = repository.ListFilter(scope=access.owners_clause(owners), scope_owners=owners)
                expected = list((await session.execute(
                    repository._page_query(order_by, 2, None, filters, True))).all())
                got = await repository.list_page(session, order_by=order_by, limit=2, after=None, filters=filters,
                                                 reply=True)
                _same_rows(got, expected)
                if not expected:
                    continue
                column = order_by.split()[0]
                after = (getattr(expected[-1], column), expected[-1].id)
                expected = list((await session.execute(
                    repository._page_query(order_by, 10, after, filters, True))).all())
                got = await repository.list_page(session, order_by=order_by, limit=10, after=after, filters=filters,
                                                 reply=True)
                assert len(expected) == (3 if owners is None or len(owners) == 2 else 0)
                _same_rows(got, expected)


def _same_rows(got: list[Any], expected: list[Any]) -> None:
    assert [tuple(row) for row in got] == [tuple(row) for row in expected]
    assert all(row._fields == expected[0]._fields for row in got)
    assert [[type(value) for value in row] for row in got] == [[type(value) for value in row] for row in expected]


def test_only_a_plain_list_takes_the_driver() -> None:
    plain = [repository.ListFilter(), repository.ListFilter(scope=access.owners_clause([]), scope_owners=[],
                                                            own_only=True, hidden=frozenset({"mobile"}))]
    filtered = [repository.ListFilter(status="won"), repository.ListFilter(q="星辰"), repository.ListFilter(
        show_deleted=True), repository.ListFilter(tag_ids=[uuid.uuid4()]), repository.ListFilter(ranges={
            "employees": (1, None)}), repository.ListFilter(scope=access.owners_clause([]))]
    assert [repository._plain(f) for f in plain + filtered] == [True] * len(plain) + [False] * len(filtered)


async def _plans(driver: Any) -> list[tuple[int, int]]:
    """(generic plans, custom plans) of the statements psycopg prepared on this connection."""
    async with driver.cursor() as cursor:
        await cursor.execute("SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE from_sql = false")
        return [tuple(row) for row in await cursor.fetchall()]


async def test_a_read_by_id_is_planned_once_per_connection_and_sees_its_transaction(
        engine: AsyncEngine, tenant_id: uuid.UUID, customers: Any, as_user: Metadata) -> None:
    """In a read session GetCustomer's read runs on the engine's generic-plan companion, where
    PostgreSQL plans it once per connection (it was planned anew on every run, ~5x its execution:
    docs/benchmarks.md); the list's connections still plan every run. In a transaction it runs on the
    transaction's connection: a customer written there and not yet committed is found."""
    made = await customers.CreateCustomer(pb.CreateCustomerRequest(customer=pb.CustomerInput(
        name="星辰科技", mobile="13800138999")), metadata=as_user())
    companion = generic_plan_pool_of(engine, tenant_id)
    assert companion is not None
    for _ in range(8):
        async with tenant_read_session(engine, tenant_id) as session:
            assert (await repository.read_for_reply(session, uuid.UUID(made.id), None)).name == "星辰科技"
    assert len(companion.idle) == 1  # one read at a time: one connection, kept
    async with companion.connection() as driver:
        plans = await _plans(driver)
    assert plans and all(custom == 0 and generic >= 1 for generic, custom in plans), plans
    async with tenant_read_session(engine, tenant_id) as session:
        connection = await session.connection()
        driver = (await connection.get_raw_connection()).driver_connection
        async with driver.cursor() as cursor:
            await cursor.execute("SHOW plan_cache_mode")
            assert (await cursor.fetchone()) == ("force_custom_plan",)

    class RollBack(Exception):
        pass

    with pytest.raises(RollBack):
        async with tenant_session(engine, tenant_id) as session:
            await session.execute(repository.customers.update().where(
                repository.customers.c.id == uuid.UUID(made.id)).values(name="未提交"))
            assert (await repository.read_for_reply(session, uuid.UUID(made.id), None)).name == "未提交"
            async with tenant_read_session(engine, tenant_id) as other:  # not committed: not seen outside
                assert (await repository.read_for_reply(other, uuid.UUID(made.id), None)).name == "星辰科技"
            raise RollBack


async def test_the_generic_plan_companion_is_disposed_with_its_engine(engine: AsyncEngine, tenant_id: uuid.UUID,
                                                                     customers: Any, as_user: Metadata) -> None:
    made = await customers.CreateCustomer(pb.CreateCustomerRequest(customer=pb.CustomerInput(
        name="星辰科技", mobile="13800138998")), metadata=as_user())
    own = create_engine(engine.url, pool_size=2)
    for _ in range(2):
        async with tenant_read_session(own, tenant_id) as session:
            assert await repository.read_for_reply(session, uuid.UUID(made.id), None) is not None
        companion = generic_plan_pool_of(own, tenant_id)
        assert companion is not None and len(companion.idle) == 1
        [(connection, _, _)] = companion.idle
        await own.dispose()
        assert companion.idle == [] and connection.closed  # closed with the engine
        assert generic_plan_pool_of(own, tenant_id) is not companion  # the recreated pool has its own
    await own.dispose()


def generic_plan_pool_of(engine: AsyncEngine, tenant_id: uuid.UUID) -> GenericPlanPool | None:
    return generic_plan_pool(AsyncSession(tenant_engine(engine, tenant_id, autocommit=True)))


async def test_the_generic_plan_pool_replaces_what_it_cannot_use(engine: AsyncEngine, tenant_id: uuid.UUID,
                                                               customers: Any, as_user: Metadata) -> None:
    """A connection that broke while idle (a restarted database), idle past the ping interval, or
    left inside a statement is not handed out again; at most `limit` are open at once."""
    made = await customers.CreateCustomer(pb.CreateCustomerRequest(customer=pb.CustomerInput(
        name="星辰科技", mobile="13800138997")), metadata=as_user())
    own = create_engine(engine.url, pool_size=2)
    companion = generic_plan_pool_of(own, tenant_id)
    assert companion is not None and companion.limit == 2

    async def read() -> Any:
        async with tenant_read_session(own, tenant_id) as session:
            return await repository.read_for_reply(session, uuid.UUID(made.id), None)

    assert (await read()).name == "星辰科技"
    [(first, _, _)] = companion.idle
    async with engine.connect() as admin:  # the server ends that connection (as a restart would)
        await admin.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": first.info.backend_pid})
    companion.idle[0] = (first, companion.idle[0][1], companion.idle[0][2] - IDLE_PING_SECONDS)  # idle long
    assert (await read()).name == "星辰科技"
    [(second, _, _)] = companion.idle
    assert second is not first and first.closed
    with pytest.raises(RuntimeError):
        async with companion.connection() as driver:
            await driver.execute("BEGIN")  # left inside a transaction: dropped, not reused
            raise RuntimeError
    assert companion.idle == []
    gate = asyncio.Event()
    inside = 0

    async def hold() -> None:
        nonlocal inside
        async with companion.connection():
            inside += 1
            await gate.wait()

    holders = [asyncio.create_task(hold()) for _ in range(3)]
    await asyncio.sleep(0.5)
    assert inside == 2  # the third waits for a connection
    gate.set()
    await asyncio.gather(*holders)
    assert inside == 3 and len(companion.idle) == 2
    await own.dispose()


async def test_a_read_session_releases_what_it_used(engine: AsyncEngine, tenant_id: uuid.UUID, customers: Any,
                                                    as_user: Metadata) -> None:
    """A read session that ran a statement returns its connection when it ends, also when the handler
    raises; one that never used a connection (a read on the generic-plan pool) has nothing to release."""
    made = await customers.CreateCustomer(pb.CreateCustomerRequest(customer=pb.CustomerInput(
        name="星辰科技", mobile="13800138996")), metadata=as_user())
    pool = engine.sync_engine.pool
    before = pool.checkedout()  # type: ignore[attr-defined]
    async with tenant_read_session(engine, tenant_id) as session:
        assert await repository.read_for_reply(session, uuid.UUID(made.id), None) is not None
        assert not session.in_transaction() and pool.checkedout() == before  # type: ignore[attr-defined]
    async with tenant_read_session(engine, tenant_id) as session:
        assert await repository.get(session, uuid.UUID(made.id)) is not None
        assert pool.checkedout() == before + 1  # type: ignore[attr-defined]
    assert pool.checkedout() == before and not session.in_transaction()  # type: ignore[attr-defined]
    with pytest.raises(RuntimeError):
        async with tenant_read_session(engine, tenant_id) as session:
            await repository.get(session, uuid.UUID(made.id))
            raise RuntimeError
    assert pool.checkedout() == before and not session.in_transaction()  # type: ignore[attr-defined]
