"""Customers' projection of tagging's customer tags and the list's tag filter, against real
Postgres through the consumer's handler: the newest change per customer and tag wins whatever
order events arrive in (a removal is kept, so a late older apply cannot resurrect the tag),
tags combine with AND, bad ids are field errors, saved filter maps carry several ids."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_customers.customer.list_query import ListQuery
from crm_customers.customer.service import CustomerService
from crm_customers.search.filters import list_arguments
from crm_customers.sensitive.keys import LocalKeyWrapper
from crm_customers.sensitive.service import SensitiveFields
from crm_customers.tags.events import record_tag_change
from crm_customers.tags.tables import customer_tags
from crm_platform.auth import Principal
from crm_platform.db import tenant_session
from crm_platform.errors import InvalidInput
from crm_platform.events import CloudEvent
from crm_platform.pagination import PageTokens
from tests.customers.conftest import MASTER_KEY
from tests.customers.test_activity import person


@pytest.fixture
def customers() -> CustomerService:
    return CustomerService(PageTokens("test-key"), SensitiveFields(LocalKeyWrapper(MASTER_KEY)))


def tag_event(tenant_id: uuid.UUID, verb: str, customer_id: Any, tag_id: uuid.UUID, change_seq: int) -> CloudEvent:
    return CloudEvent.new(source="crm/tagging", type=f"crm.tag.{verb}", tenant_id=tenant_id,
                          data={"customer_id": str(customer_id), "tag_id": str(tag_id), "tag_name": "VIP",
                                "source": "manual", "change_seq": str(change_seq)},
                          subject=str(customer_id))


async def deliver(engine: AsyncEngine, tenant_id: uuid.UUID, *events: CloudEvent) -> None:
    for event in events:
        async with tenant_session(engine, tenant_id) as session:
            await record_tag_change(event, session)


async def listed(engine: AsyncEngine, customers: CustomerService, caller: Principal, *tag_ids: Any) -> set[str]:
    async with tenant_session(engine, caller.tenant_id) as session:
        rows, _ = await customers.list(session, size=100, token="", order_by="", caller=caller,
                                       query=ListQuery(tag_ids=tuple(str(t) for t in tag_ids)))
    return {r.name for r in rows}


async def make_customers(engine: AsyncEngine, customers: CustomerService, caller: Principal,
                         *names: str) -> list[Any]:
    made = []
    async with tenant_session(engine, caller.tenant_id) as session:
        for name in names:
            made.append(await customers.create(session, caller, {"name": name, "mobile": "13800138000"},
                                               allow_duplicates=True))
    return made


async def test_newest_change_wins_in_any_order_and_tags_combine_with_and(
    engine: AsyncEngine, tenant_id: uuid.UUID, customers: CustomerService
) -> None:
    admin = person(tenant_id)
    a, b, c = await make_customers(engine, customers, admin, "甲公司", "乙公司", "丙公司")
    vip, tech = uuid.uuid4(), uuid.uuid4()
    await deliver(engine, tenant_id,
                  tag_event(tenant_id, "applied", a.id, vip, 1), tag_event(tenant_id, "applied", a.id, tech, 2),
                  tag_event(tenant_id, "applied", b.id, vip, 3),
                  # c: removed (seq 5) before its older apply (seq 4) arrives, then the apply redelivered
                  tag_event(tenant_id, "removed", c.id, vip, 5), tag_event(tenant_id, "applied", c.id, vip, 4))

    assert await listed(engine, customers, admin, vip) == {"甲公司", "乙公司"}
    assert await listed(engine, customers, admin, vip, tech) == {"甲公司"}
    assert await listed(engine, customers, admin, tech, tech) == {"甲公司"}  # a repeated id is one condition
    assert await listed(engine, customers, admin) == {"甲公司", "乙公司", "丙公司"}

    await deliver(engine, tenant_id, tag_event(tenant_id, "removed", a.id, vip, 6),
                  tag_event(tenant_id, "applied", a.id, vip, 1))  # the old apply again: ignored
    assert await listed(engine, customers, admin, vip) == {"乙公司"}
    await deliver(engine, tenant_id, tag_event(tenant_id, "applied", a.id, vip, 7))
    assert await listed(engine, customers, admin, vip) == {"甲公司", "乙公司"}


async def test_unknown_customers_and_malformed_events_leave_no_rows(
    engine: AsyncEngine, tenant_id: uuid.UUID, customers: CustomerService
) -> None:
    vip = uuid.uuid4()
    bad = CloudEvent.new(source="crm/tagging", type="crm.tag.applied", tenant_id=tenant_id,
                         data={"customer_id": "nope", "tag_id": str(vip), "change_seq": "1"})
    await deliver(engine, tenant_id, tag_event(tenant_id, "applied", uuid.uuid4(), vip, 1), bad)
    async with tenant_session(engine, tenant_id) as session:
        assert (await session.execute(sa.select(customer_tags))).all() == []


async def test_the_tag_filter_keeps_data_scope_and_counts(
    engine: AsyncEngine, tenant_id: uuid.UUID, customers: CustomerService
) -> None:
    admin = person(tenant_id)
    rep = person(tenant_id, data_scope="own")
    mine, theirs = await make_customers(engine, customers, admin, "我的客户", "别人的客户")
    async with tenant_session(engine, tenant_id) as session:
        mine = await customers.update(session, admin, str(mine.id), {"owner_id": str(rep.user_id)}, mine.version)
    vip = uuid.uuid4()
    await deliver(engine, tenant_id, tag_event(tenant_id, "applied", mine.id, vip, 1),
                  tag_event(tenant_id, "applied", theirs.id, vip, 2))

    assert await listed(engine, customers, rep, vip) == {"我的客户"}
    async with tenant_session(engine, tenant_id) as session:
        assert await customers.count(session, caller=admin, query=ListQuery(tag_ids=(str(vip),))) == 2
        assert await customers.count(session, caller=rep, query=ListQuery(tag_ids=(str(vip),))) == 1


async def test_a_malformed_tag_id_is_a_field_error(
    engine: AsyncEngine, tenant_id: uuid.UUID, customers: CustomerService
) -> None:
    with pytest.raises(InvalidInput) as caught:
        await listed(engine, customers, person(tenant_id), "not-an-id")
    assert [(e.field, e.code) for e in caught.value.errors] == [("tag_id", "invalid_id")]


async def test_page_tokens_are_bound_to_the_tag_filter(
    engine: AsyncEngine, tenant_id: uuid.UUID, customers: CustomerService
) -> None:
    admin = person(tenant_id)
    made = await make_customers(engine, customers, admin, "一", "二", "三")
    vip = uuid.uuid4()
    await deliver(engine, tenant_id, *(tag_event(tenant_id, "applied", c.id, vip, i + 1) for i, c in enumerate(made)))
    async with tenant_session(engine, tenant_id) as session:
        first, token = await customers.list(session, size=2, token="", order_by="", caller=admin,
                                            query=ListQuery(tag_ids=(str(vip),)))
        rest, end = await customers.list(session, size=2, token=token, order_by="", caller=admin,
                                         query=ListQuery(tag_ids=(str(vip),)))
        assert (len(first), len(rest), end) == (2, 1, "")
        with pytest.raises(InvalidInput):
            await customers.list(session, size=2, token=token, order_by="", caller=admin, query=ListQuery())


def test_a_saved_filter_map_holds_several_tags_joined_by_commas() -> None:
    a, b = uuid.uuid4(), uuid.uuid4()
    query, errors = list_arguments({"tag_id": f"{a}, {b}", "status": "won"})
    assert errors == []
    assert query == ListQuery(status="won", tag_ids=(str(a), str(b)))
