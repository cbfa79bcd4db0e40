"""GetCustomer's read on the driver (customer/repository.py `read_for_reply`, crm_platform/db.py
`DriverStatement`, issue 9 §6): the same row, column for column, as SQLAlchemy's statement with the
data scope clause gives, for every shape of data scope, in a read session and inside a transaction.
Real PostgreSQL."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from crm_customers.customer import access, repository
from crm_platform.auth import Principal
from crm_platform.db import tenant_read_session, tenant_session
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
