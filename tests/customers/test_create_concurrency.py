"""Creates of one tenant at once (issue 13 P2, docs/benchmarks.md "API hot paths"): they do not wait
for each other's transactions, get distinct codes that follow the tenant's pattern, and each gets
its match keys, facts and reply as a create made alone does (the row, its keys and the reply's
columns are one statement: customer/repository.py `insert`)."""

from __future__ import annotations

import asyncio
import re
import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_customers.customer.service import CustomerService
from crm_customers.customer.tables import customers as customers_table
from crm_customers.duplicates import keys as match
from crm_customers.duplicates.tables import match_keys, name_deletions
from crm_platform.db import tenant_session
from crm_proto.crm.customers.v1 import customers_pb2 as pb
from tests.customers.test_customer_facts import assert_facts_follow, person
from tests.customers.test_customer_facts import customers as service  # noqa: F401 - a fixture

PATTERN = "{region}-{industry}-{seq:03}"
REGIONS = {"北京": "HB", "上海": "HD"}


async def _stored_keys(engine: AsyncEngine, tenant_id: uuid.UUID, customer_id: str) -> set[tuple[str, str]]:
    async with tenant_session(engine, tenant_id) as session:
        found = {(r.kind, r.value) for r in await session.execute(
            sa.select(match_keys).where(match_keys.c.customer_id == uuid.UUID(customer_id)))}
        deleted = (await session.execute(sa.select(name_deletions.c.deletions).where(
            name_deletions.c.customer_id == uuid.UUID(customer_id)))).scalar_one_or_none()
    return found | {("name_del", v) for v in deleted or []}


async def test_concurrent_creates_get_distinct_pattern_codes(customers: Any, as_user: Any, engine: AsyncEngine,
                                                             tenant_id: uuid.UUID) -> None:
    meta = as_user()
    await customers.UpdateCustomerSettings(pb.UpdateCustomerSettingsRequest(code_pattern=PATTERN), metadata=meta)
    inputs = [pb.CustomerInput(name=f"并发测试{i:02d}号贸易有限公司", mobile=f"1390000{i:04d}",
                               email=f"c{i}@example.cn", region=list(REGIONS)[i % 2], industry="IT",
                               contact_person="王伟")
              for i in range(16)]
    replies = await asyncio.gather(*(customers.CreateCustomer(pb.CreateCustomerRequest(customer=c), metadata=meta)
                                     for c in inputs))
    codes = [r.code for r in replies]
    assert len(set(codes)) == 16
    for sent, reply in zip(inputs, replies, strict=True):
        prefix = f"{REGIONS[sent.region]}-IT-"
        assert re.fullmatch(rf"{prefix}\d{{3}}", reply.code), reply.code
    for prefix in REGIONS.values():  # nothing failed, so no number was skipped
        assert sorted(c for c in codes if c.startswith(prefix)) == [f"{prefix}-IT-{n:03d}" for n in range(1, 9)]
    for reply in replies:
        # The keys written with the row are those of the stored row, as a key refresh would write.
        stored = await customers.GetCustomer(pb.GetCustomerRequest(id=reply.id), metadata=meta)
        shown = pb.Customer()
        shown.CopyFrom(reply)
        shown.ClearField("possible_duplicates")  # names one edit apart: each may list the others
        assert shown == stored  # the reply's columns came back with the INSERT
        async with tenant_session(engine, tenant_id) as session:
            row = (await session.execute(sa.select(customers_table).where(
                customers_table.c.id == uuid.UUID(reply.id)))).one()
        assert await _stored_keys(engine, tenant_id, reply.id) == match.keys_of(row._mapping)
    await assert_facts_follow(engine, tenant_id)
    # Duplicate detection sees every one of them.
    again = await customers.CreateCustomer(pb.CreateCustomerRequest(customer=pb.CustomerInput(
        name="别的公司", mobile="13900000007", region="北京", industry="IT")), metadata=meta)
    assert [d.id for d in again.possible_duplicates] == [replies[7].id]


async def test_a_create_does_not_wait_for_another_open_create(service: CustomerService, engine: AsyncEngine,  # noqa: F811
                                                              tenant_id: uuid.UUID) -> None:
    """While one create's transaction is open (its row written, not committed), another create of
    the same tenant and code prefix completes."""
    caller = person(tenant_id)
    async with tenant_session(engine, tenant_id) as first:
        one = await service.create(first, caller, {"name": "先开始的公司", "mobile": "13900001111"})
        async with tenant_session(engine, tenant_id) as second:
            other = await asyncio.wait_for(
                service.create(second, caller, {"name": "后开始的公司", "mobile": "13900002222"}), 10)
        assert other.code != one.code
