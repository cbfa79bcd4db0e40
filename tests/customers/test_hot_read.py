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

