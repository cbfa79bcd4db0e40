"""Mass changes against real Postgres: the job hands a rep's customers to another rep through the
single-update path (event, history, timeline per customer), lists customers that cannot change as
failures, stays inside the caller's data scope, and resumes after a crash without changing any
customer twice."""

from __future__ import annotations

import json
import uuid
from collections import Counter
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_customers.activity.tables import customer_activity
from crm_customers.bulk.service import JOB_KIND, BulkChangeRunner, BulkChangeService
from crm_customers.customer.service import CustomerService
from crm_customers.customer.tables import customers as customers_table
from crm_customers.sensitive.keys import LocalKeyWrapper
from crm_customers.sensitive.service import SensitiveFields
from crm_platform import jobs
from crm_platform.auth import Principal
from crm_platform.db import tenant_session
from crm_platform.errors import InvalidInput, NotFound
from crm_platform.pagination import PageTokens
from crm_platform.tables import jobs as jobs_table
from crm_platform.tables import outbox
from crm_proto.crm.customers.v1 import bulk_changes_pb2 as bulk_pb
from crm_proto.crm.customers.v1 import customers_pb2 as pb
from tests.customers.conftest import MASTER_KEY
from tests.customers.test_activity import person


@pytest.fixture
def customers() -> CustomerService:
    return CustomerService(PageTokens("test-key"), SensitiveFields(LocalKeyWrapper(MASTER_KEY)))


@pytest.fixture
def bulk(customers: CustomerService) -> BulkChangeService:
    return BulkChangeService(PageTokens("test-key"), customers)


async def make_customers(engine: AsyncEngine, customers: CustomerService, admin: Principal, owner: uuid.UUID,
                         count: int, prefix: str) -> list[uuid.UUID]:
    ids = []
    async with tenant_session(engine, admin.tenant_id) as session:
        for n in range(count):
            row = await customers.create(session, admin, {"name": f"{prefix} {n}", "mobile": f"1380013{n:04d}",
                                                          "owner_id": str(owner)})
            ids.append(row.id)
    return ids


async def start(engine: AsyncEngine, bulk: BulkChangeService, caller: Principal, changes: dict[str, str],
                **filters: Any) -> Any:
    custom = filters.pop("custom_fields", {})
    async with tenant_session(engine, caller.tenant_id) as session:
        return await bulk.start(session, caller, pb.ListCustomersRequest(**filters, custom_fields=custom),
                                bulk_pb.BulkChangeSet(**changes))


async def state(engine: AsyncEngine, bulk: BulkChangeService, caller: Principal, bulk_id: uuid.UUID) -> Any:
    async with tenant_session(engine, caller.tenant_id) as session:
        row = await bulk.get(session, caller, str(bulk_id))
        failures, _ = await bulk.failures(session, row, 100, "")
    return row, [(f.customer_id, f.code) for f in failures]


async def run_job(engine: AsyncEngine, runner: BulkChangeRunner) -> dict[str, Any]:
    claimed = await jobs.claim(engine, [JOB_KIND], 1, timedelta(minutes=5))
    assert len(claimed) == 1
    result = await runner(claimed[0])
    await jobs.complete(engine, claimed[0].id, result)
    return result


def translated(tenant_id: uuid.UUID) -> dict[str, Any]:
    return {"schema_translate_map": {"tenant": f"t_{tenant_id.hex}"}}


async def owners(engine: AsyncEngine, tenant_id: uuid.UUID, ids: list[uuid.UUID]) -> dict[uuid.UUID, Any]:
    async with engine.connect() as conn:
        rows = (await conn.execute(sa.select(customers_table.c.id, customers_table.c.owner_id,
                                             customers_table.c.status, customers_table.c.version)
                                   .where(customers_table.c.id.in_(ids)).execution_options(**translated(tenant_id))))
    return {r.id: r for r in rows}


async def activity_counts(engine: AsyncEngine, tenant_id: uuid.UUID, kind: str) -> Counter[uuid.UUID]:
    async with engine.connect() as conn:
        rows = (await conn.execute(sa.select(customer_activity.c.customer_id).where(customer_activity.c.kind == kind)
                                   .execution_options(**translated(tenant_id)))).scalars()
        return Counter(rows)


async def updated_events(engine: AsyncEngine, tenant_id: uuid.UUID, field: str) -> Counter[str]:
    async with engine.connect() as conn:
        payloads = (await conn.execute(sa.select(outbox.c.payload).where(
            outbox.c.tenant_id == tenant_id, outbox.c.subject.like("%.customer.updated")))).scalars().all()
    found: Counter[str] = Counter()
    for payload in payloads:
        body = json.loads(payload) if isinstance(payload, str) else payload
        if field in body["data"].get("changed_fields", []):
            found[body["data"]["customer"]["id"]] += 1
    return found


async def test_hand_a_reps_customers_to_another(engine: AsyncEngine, tenant_id: uuid.UUID,
                                                customers: CustomerService, bulk: BulkChangeService) -> None:
    admin = person(tenant_id)
    rep_a, rep_b, rep_c = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    a_ids = await make_customers(engine, customers, admin, rep_a, 25, "A")
    c_ids = await make_customers(engine, customers, admin, rep_c, 3, "C")
    change = await start(engine, bulk, admin, {"owner_id": str(rep_b)}, owner_id=str(rep_a))
    assert change.status == "queued" and change.total is None and change.job_id is not None
    result = await run_job(engine, BulkChangeRunner(engine, customers, batch_size=10))
    assert result == {"status": "succeeded", "total": 25, "changed": 25, "failed": 0}
    row, failures = await state(engine, bulk, admin, change.id)
    assert (row.total, row.processed, row.changed, row.unchanged, row.failed) == (25, 25, 25, 0, 0)
    assert failures == [] and row.finished_at is not None
    now = await owners(engine, tenant_id, a_ids + c_ids)
    assert {now[i].owner_id for i in a_ids} == {rep_b} and {now[i].owner_id for i in c_ids} == {rep_c}
    assert {now[i].version for i in a_ids} == {2}
    assert await activity_counts(engine, tenant_id, "owner_changed") == Counter(a_ids)
    assert await updated_events(engine, tenant_id, "owner_id") == Counter(str(i) for i in a_ids)


async def test_customers_that_cannot_transition_are_failures(
    engine: AsyncEngine, tenant_id: uuid.UUID, customers: CustomerService, bulk: BulkChangeService
) -> None:
    admin = person(tenant_id)
    ids = await make_customers(engine, customers, admin, admin.user_id or uuid.uuid4(), 5, "S")
    won = ids[1:3]
    async with tenant_session(engine, tenant_id) as session:
        for customer_id in won:
            await customers.change_status(session, admin, str(customer_id), "won", "signed")
        await customers.change_status(session, admin, str(ids[4]), "intent", "already")
    change = await start(engine, bulk, admin, {"status": "intent", "reason": "campaign"})
    await run_job(engine, BulkChangeRunner(engine, customers, batch_size=2))
    row, failures = await state(engine, bulk, admin, change.id)
    assert (row.status, row.total, row.changed, row.unchanged, row.failed) == ("succeeded", 5, 2, 1, 2)
    assert sorted(failures) == sorted((i, "transition_not_allowed") for i in won)
    now = await owners(engine, tenant_id, ids)
    assert [now[i].status for i in ids] == ["intent", "won", "won", "intent", "intent"]
    changed = await activity_counts(engine, tenant_id, "status_changed")
    assert changed[ids[0]] == 1 and changed[ids[3]] == 1 and changed[ids[1]] == 1  # (the manual change to won)


async def test_a_reps_change_stays_in_their_scope(engine: AsyncEngine, tenant_id: uuid.UUID,
                                                  customers: CustomerService, bulk: BulkChangeService) -> None:
    admin = person(tenant_id)
    rep = person(tenant_id, data_scope="own")
    assert rep.user_id is not None
    mine = await make_customers(engine, customers, admin, rep.user_id, 3, "Mine")
    theirs = await make_customers(engine, customers, admin, uuid.uuid4(), 4, "Theirs")
    change = await start(engine, bulk, rep, {"status": "lost", "reason": "cleanup"})
    await run_job(engine, BulkChangeRunner(engine, customers))
    row, _ = await state(engine, bulk, rep, change.id)
    assert (row.total, row.changed) == (3, 3)
    now = await owners(engine, tenant_id, mine + theirs)
    assert {now[i].status for i in mine} == {"lost"} and {now[i].status for i in theirs} == {"potential"}
    # Another user does not see the rep's mass change; an admin does.
    other_rep = replace(person(tenant_id, data_scope="own"), scopes=frozenset({"customers:read", "customers:write"}))
    with pytest.raises(NotFound):
        await state(engine, bulk, other_rep, change.id)
    with pytest.raises(NotFound):
        async with tenant_session(engine, tenant_id) as session:
            await bulk.cancel(session, other_rep, str(change.id))
    assert (await state(engine, bulk, admin, change.id))[0].id == change.id


class CrashingRunner(BulkChangeRunner):
    """Dies in the middle of a batch, after some customers of it were changed (in its transaction)."""

    def __init__(self, *args: Any, crash_after: int, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.left = crash_after

    async def apply_one(self, *args: Any, **kwargs: Any) -> tuple[str, str]:
        if self.left == 0:
            raise RuntimeError("worker killed")
        self.left -= 1
        return await super().apply_one(*args, **kwargs)


async def test_a_killed_job_resumes_without_changing_anyone_twice(
    engine: AsyncEngine, tenant_id: uuid.UUID, customers: CustomerService, bulk: BulkChangeService
) -> None:
    admin = person(tenant_id)
    rep_a, rep_b = uuid.uuid4(), uuid.uuid4()
    ids = await make_customers(engine, customers, admin, rep_a, 25, "K")
    change = await start(engine, bulk, admin, {"owner_id": str(rep_b)}, owner_id=str(rep_a))
    (job,) = await jobs.claim(engine, [JOB_KIND], 1, timedelta(minutes=5))
    crashing = CrashingRunner(engine, customers, batch_size=10, crash_after=15)
    with pytest.raises(RuntimeError):
        await crashing(job)  # one batch of 10 committed, the second died after 5 changes
    row, _ = await state(engine, bulk, admin, change.id)
    assert (row.status, row.total, row.processed, row.changed, row.cursor) == ("running", 25, 10, 10, 10)
    moved = await owners(engine, tenant_id, ids)
    assert sum(1 for i in ids if moved[i].owner_id == rep_b) == 10  # the dead batch's changes rolled back
    # The worker is gone: its lease runs out and the job is claimed again.
    async with engine.begin() as conn:
        await conn.execute(sa.update(jobs_table).where(jobs_table.c.id == job.id)
                           .values(locked_until=sa.func.now() - timedelta(seconds=1)))
    (again,) = await jobs.claim(engine, [JOB_KIND], 1, timedelta(minutes=5))
    assert again.id == job.id and again.attempts == 2
    await BulkChangeRunner(engine, customers, batch_size=10)(again)
    row, _ = await state(engine, bulk, admin, change.id)
    assert (row.status, row.total, row.processed, row.changed, row.failed) == ("succeeded", 25, 25, 25, 0)
    now = await owners(engine, tenant_id, ids)
    assert {now[i].owner_id for i in ids} == {rep_b} and {now[i].version for i in ids} == {2}
    assert await activity_counts(engine, tenant_id, "owner_changed") == Counter(ids)
    assert await updated_events(engine, tenant_id, "owner_id") == Counter(str(i) for i in ids)


async def test_bad_input_writes_nothing(engine: AsyncEngine, tenant_id: uuid.UUID, customers: CustomerService,
                                        bulk: BulkChangeService) -> None:
    rep = person(tenant_id, data_scope="own")
    cases: list[tuple[dict[str, str], dict[str, Any], str, str]] = [
        ({"owner_id": str(uuid.uuid4())}, {}, "set.owner_id", "owner_out_of_scope"),
        ({"owner_id": "nope"}, {}, "set.owner_id", "invalid_id"),
        ({"status": "won"}, {}, "set.reason", "required"),
        ({"status": "gone", "reason": "x"}, {}, "set.status", "invalid_choice"),
        ({"owner_id": str(rep.user_id), "status": "won"}, {}, "set", "one_change"),
        ({}, {}, "set", "required"),
        ({"status": "won", "reason": "x"}, {"custom_fields": {"nope": "1"}}, "filter.cf.nope", "unknown_custom_field"),
        ({"status": "won", "reason": "x"}, {"created_after": "yesterday"}, "filter.created_after", "invalid_date"),
    ]
    for changes, filters, field, code in cases:
        with pytest.raises(InvalidInput) as caught:
            await start(engine, bulk, rep, changes, **filters)
        assert (field, code) in [(e.field, e.code) for e in caught.value.errors], (changes, filters)
    async with engine.connect() as conn:
        queued = (await conn.execute(sa.select(sa.func.count()).select_from(jobs_table)
                                     .where(jobs_table.c.tenant_id == tenant_id))).scalar_one()
    assert queued == 0


async def test_cancel(engine: AsyncEngine, tenant_id: uuid.UUID, customers: CustomerService,
                      bulk: BulkChangeService) -> None:
    admin = person(tenant_id)
    ids = await make_customers(engine, customers, admin, uuid.uuid4(), 4, "X")
    change = await start(engine, bulk, admin, {"status": "lost", "reason": "r"})
    async with tenant_session(engine, tenant_id) as session:
        assert (await bulk.cancel(session, admin, str(change.id))).status == "cancelling"
    await run_job(engine, BulkChangeRunner(engine, customers))
    row, _ = await state(engine, bulk, admin, change.id)
    assert row.status == "cancelled" and row.changed == 0
    assert {r.status for r in (await owners(engine, tenant_id, ids)).values()} == {"potential"}
