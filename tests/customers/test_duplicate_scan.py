"""The tenant-wide duplicate scan against real Postgres: quality on the benchmark's generated data
(5,000 customers, 3% planted duplicates), the job with its progress, resuming after a crash, the
groups API (order, paging, data scope, isolation, scopes) and dismissals that later scans respect."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any

import grpc
import pytest
import pytest_asyncio
from joserfc.jwk import ECKey
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_customers.customer.checksums import credit_code_check_char
from crm_customers.duplicates import repository, scoring
from crm_customers.duplicates.scan import SCAN_JOB, DuplicateScan, ScanJobHandler
from crm_customers.duplicates.service import DuplicateService
from crm_customers.duplicates.servicer import DuplicateServicer
from crm_platform import jobs
from crm_platform.db import tenant_session
from crm_platform.grpc_client import call_metadata
from crm_platform.ids import new_id
from crm_platform.pagination import PageTokens
from crm_proto.crm.customers.v1 import customers_pb2 as cpb
from crm_proto.crm.customers.v1 import duplicates_pb2 as pb
from crm_proto.crm.customers.v1 import duplicates_pb2_grpc
from tests.bench.bench_duplicates import evaluate, generate, load
from tests.support import Infra, access_token, in_process_server

ADMIN = ["customers:read", "customers:write", "customers:admin"]


@pytest_asyncio.fixture(scope="package")
async def duplicates(engine: AsyncEngine, signing_key: ECKey) -> AsyncIterator[Any]:
    def register(server: grpc.aio.Server) -> None:
        duplicates_pb2_grpc.add_DuplicateServiceServicer_to_server(
            DuplicateServicer(engine, DuplicateService(PageTokens("test-page-token-key"))), server)

    async with in_process_server(signing_key, register) as client:
        yield duplicates_pb2_grpc.DuplicateServiceStub(client)


def _conninfo(infra: Infra) -> str:
    return infra.database_url.replace("postgresql+psycopg://", "postgresql://")


async def _scan(engine: AsyncEngine, tenant_id: uuid.UUID, **kw: Any) -> Any:
    scan_id = new_id()
    async with tenant_session(engine, tenant_id) as session:
        await repository.insert_scan(session, scan_id, "test")
    await DuplicateScan(engine, tenant_id, scan_id, **kw).run()
    return scan_id


async def test_quality_on_generated_data(infra: Infra, engine: AsyncEngine, tenant_id: uuid.UUID) -> None:
    """The benchmark's generator at 5,000 rows, look-alikes included (brand families, namesakes,
    common personal names, shared phones): precision >= 0.95 and recall >= 0.90 (functional, not
    timed), groups no larger than a merge takes; the exact-keys-only baseline groups namesakes."""
    data = generate(5000)
    assert data.duplicates == 150 and data.makers["brand families"] and data.makers["English namesakes"]
    ids = load(_conninfo(infra), tenant_id, data)
    await _scan(engine, tenant_id, exact_only=True)
    baseline = evaluate(_conninfo(infra), tenant_id, data, ids)
    await _scan(engine, tenant_id)
    quality = evaluate(_conninfo(infra), tenant_id, data, ids)
    assert quality.precision >= 0.95, quality
    assert quality.recall >= 0.90, quality
    assert quality.largest <= scoring.MAX_GROUP, quality
    assert baseline.precision < 0.5, baseline


async def _customer(customers: Any, meta: Any, **fields: str) -> Any:
    return await customers.CreateCustomer(cpb.CreateCustomerRequest(customer=cpb.CustomerInput(**fields)),
                                          metadata=meta)


async def _seed(customers: Any, meta: Any) -> dict[str, Any]:
    made = {
        "a1": await _customer(customers, meta, name="北京星辰科技有限公司", mobile="13800138000",
                              contact_person="李雷"),
        "a2": await _customer(customers, meta, name="（北京）星辰科技股份有限公司", email="a@xingchen.com",
                              contact_person="李雷"),
        "a3": await _customer(customers, meta, name="星辰科技（北京）有限公司", mobile="138 0013 8000",
                              contact_person="李雷"),
        "b1": await _customer(customers, meta, name="Star Tech Co., Ltd.", email="info@star.example"),
        "b2": await _customer(customers, meta, name="Sttar Tech Inc", email="sales@star.example"),
        "c1": await _customer(customers, meta, name="天津海河贸易有限公司", mobile="13900000001"),
        "c2": await _customer(customers, meta, name="天津海河商贸有限公司", mobile="13900000002"),
    }
    return made


async def test_groups_dismiss_and_rescan(customers: Any, duplicates: Any, as_user: Any, engine: AsyncEngine,
                                         tenant_id: uuid.UUID) -> None:
    meta = as_user()
    made = await _seed(customers, meta)
    await _scan(engine, tenant_id)
    reply = await duplicates.ListDuplicateGroups(pb.ListDuplicateGroupsRequest(), metadata=meta)
    groups = list(reply.items)
    assert [sorted(m.name for m in g.members) for g in groups] == [
        sorted(made[k].name for k in ("a1", "a2", "a3")), sorted(made[k].name for k in ("b1", "b2"))]
    first, second = groups
    assert first.confidence >= second.confidence and first.status == "open"
    assert list(first.reasons) == ["phone", "name", "contact_person"]
    assert list(second.reasons) == ["name_similar", "email_domain"]
    assert (first.size, first.too_large, second.size) == (3, False, 2)
    assert all(p.a in {m.id for m in first.members} for p in first.pairs) and first.hidden_members == 0
    # paging: one per page, highest confidence first, then the end
    page1 = await duplicates.ListDuplicateGroups(pb.ListDuplicateGroupsRequest(page_size=1), metadata=meta)
    page2 = await duplicates.ListDuplicateGroups(
        pb.ListDuplicateGroupsRequest(page_size=1, page_token=page1.next_page_token), metadata=meta)
    assert [g.id for g in (*page1.items, *page2.items)] == [first.id, second.id] and not page2.next_page_token
    # dismissing remembers every pair; a later scan does not bring the group back
    dismissed = await duplicates.DismissDuplicateGroup(pb.DismissDuplicateGroupRequest(id=second.id), metadata=meta)
    assert dismissed.status == "dismissed"
    with pytest.raises(grpc.aio.AioRpcError) as again:
        await duplicates.DismissDuplicateGroup(pb.DismissDuplicateGroupRequest(id=second.id), metadata=meta)
    assert again.value.code() in (grpc.StatusCode.ALREADY_EXISTS, grpc.StatusCode.ABORTED)
    await _scan(engine, tenant_id)
    after = await duplicates.ListDuplicateGroups(pb.ListDuplicateGroupsRequest(), metadata=meta)
    assert [sorted(m.id for m in g.members) for g in after.items] == [sorted(m.id for m in first.members)]
    old = await duplicates.ListDuplicateGroups(pb.ListDuplicateGroupsRequest(status="dismissed"), metadata=meta)
    assert [g.id for g in old.items] == [second.id]
    # a deleted member leaves the group
    a3 = made["a3"]
    await customers.DeleteCustomer(cpb.DeleteCustomerRequest(id=a3.id, expected_version=a3.version), metadata=meta)
    group = await duplicates.GetDuplicateGroup(pb.GetDuplicateGroupRequest(id=after.items[0].id), metadata=meta)
    assert a3.id not in {m.id for m in group.members} and len(group.members) == 2
    # deleted (or merged) down to one live member: nothing left to review in the open list
    a2 = made["a2"]
    await customers.DeleteCustomer(cpb.DeleteCustomerRequest(id=a2.id, expected_version=a2.version), metadata=meta)
    assert list((await duplicates.ListDuplicateGroups(pb.ListDuplicateGroupsRequest(), metadata=meta)).items) == []


async def test_bad_input(duplicates: Any, as_user: Any) -> None:
    meta = as_user()
    for request, field in ((pb.ListDuplicateGroupsRequest(status="closed"), "status"),
                           (pb.ListDuplicateGroupsRequest(page_token="junk"), "page_token")):
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await duplicates.ListDuplicateGroups(request, metadata=meta)
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert field in dict(caught.value.trailing_metadata())["crm-error"]
    with pytest.raises(grpc.aio.AioRpcError) as bad_id:
        await duplicates.GetDuplicateGroup(pb.GetDuplicateGroupRequest(id="nope"), metadata=meta)
    assert bad_id.value.code() in (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.NOT_FOUND)


async def test_scopes_isolation_and_data_scope(
    customers: Any, duplicates: Any, as_user: Any, engine: AsyncEngine, tenant_id: uuid.UUID,
    signing_key: ECKey, provision_tenant: Callable[[], uuid.UUID],
) -> None:
    meta = as_user()
    made = await _seed(customers, meta)
    await _scan(engine, tenant_id)
    group = (await duplicates.ListDuplicateGroups(pb.ListDuplicateGroupsRequest(), metadata=meta)).items[0]
    reader = as_user(["customers:read"])
    for call, request in ((duplicates.StartDuplicateScan, pb.StartDuplicateScanRequest()),
                          (duplicates.DismissDuplicateGroup, pb.DismissDuplicateGroupRequest(id=group.id)),
                          (duplicates.ListDuplicateScans, pb.ListDuplicateScansRequest())):
        with pytest.raises(grpc.aio.AioRpcError) as denied:
            await call(request, metadata=reader)
        assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED
    # another tenant's admin: the group does not exist for them
    other = call_metadata(access_token(signing_key, provision_tenant(), ADMIN))
    for call, request in ((duplicates.GetDuplicateGroup, pb.GetDuplicateGroupRequest(id=group.id)),
                          (duplicates.DismissDuplicateGroup, pb.DismissDuplicateGroupRequest(id=group.id))):
        with pytest.raises(grpc.aio.AioRpcError) as missing:
            await call(request, metadata=other)
        assert missing.value.code() == grpc.StatusCode.NOT_FOUND
    assert list((await duplicates.ListDuplicateGroups(pb.ListDuplicateGroupsRequest(), metadata=other)).items) == []
    # a rep with data scope `own` and none of the members: 404, and no groups listed
    rep = call_metadata(access_token(signing_key, tenant_id, ADMIN, uid=str(uuid.uuid4()), ds="own"))
    with pytest.raises(grpc.aio.AioRpcError) as unseen:
        await duplicates.GetDuplicateGroup(pb.GetDuplicateGroupRequest(id=group.id), metadata=rep)
    assert unseen.value.code() == grpc.StatusCode.NOT_FOUND
    assert list((await duplicates.ListDuplicateGroups(pb.ListDuplicateGroupsRequest(), metadata=rep)).items) == []
    # an owner of one member sees the group with that member only
    owner = uuid.uuid4()
    mine = await _customer(customers, call_metadata(access_token(signing_key, tenant_id, ADMIN, uid=str(owner),
                                                                 ds="own")),
                           name="天津海河贸易有限公司", mobile="13900000001")
    await _scan(engine, tenant_id)
    owner_meta = call_metadata(access_token(signing_key, tenant_id, ADMIN, uid=str(owner), ds="own"))
    [seen] = (await duplicates.ListDuplicateGroups(pb.ListDuplicateGroupsRequest(), metadata=owner_meta)).items
    assert [m.id for m in seen.members] == [mine.id] and seen.hidden_members == 1
    assert made["c1"].id not in repr(seen)


async def test_job_progress_and_resume(duplicates: Any, customers: Any, as_user: Any, engine: AsyncEngine,
                                       tenant_id: uuid.UUID, monkeypatch: pytest.MonkeyPatch) -> None:
    meta = as_user()
    await _seed(customers, meta)
    scan = await duplicates.StartDuplicateScan(pb.StartDuplicateScanRequest(), metadata=meta)
    assert scan.status == "queued"
    same = await duplicates.StartDuplicateScan(pb.StartDuplicateScanRequest(), metadata=meta)
    assert same.id == scan.id  # one at a time
    # the worker crashes in the fuzzy phase: the exact phase's pairs are kept...
    calls = {"exact": 0}
    real_exact, real_fuzzy = DuplicateScan._exact, DuplicateScan._fuzzy

    async def counting_exact(self: DuplicateScan) -> None:
        calls["exact"] += 1
        await real_exact(self)

    async def crash(self: DuplicateScan) -> None:
        raise RuntimeError("worker died")

    monkeypatch.setattr(DuplicateScan, "_exact", counting_exact)
    monkeypatch.setattr(DuplicateScan, "_fuzzy", crash)
    worker = jobs.JobWorker(engine, {SCAN_JOB: ScanJobHandler(engine)}, [timedelta(seconds=0)])
    [job] = await jobs.claim(engine, [SCAN_JOB], 1, timedelta(minutes=1))
    await worker.run_job(job)
    crashed = await duplicates.GetDuplicateScan(pb.GetDuplicateScanRequest(id=scan.id), metadata=meta)
    assert crashed.status == "running" and crashed.phase == "fuzzy" and 0 < crashed.processed < crashed.total
    # ...and the retry resumes there, without redoing phase 1
    monkeypatch.setattr(DuplicateScan, "_fuzzy", real_fuzzy)
    [retry] = await jobs.claim(engine, [SCAN_JOB], 1, timedelta(minutes=1))
    await worker.run_job(retry)
    done = await duplicates.GetDuplicateScan(pb.GetDuplicateScanRequest(id=scan.id), metadata=meta)
    assert calls["exact"] == 1
    assert (done.status, done.phase, done.groups_found) == ("succeeded", "done", 2)
    assert done.processed == done.total > 0 and done.finished_at.seconds > 0
    async with tenant_session(engine, tenant_id) as session:
        row = await jobs.get(session, job.id)
    assert row is not None and row.status == "succeeded" and row.progress_done == row.progress_total
    listed = await duplicates.ListDuplicateScans(pb.ListDuplicateScansRequest(), metadata=meta)
    assert [s.id for s in listed.items] == [scan.id]


async def test_forget_customer_leaves_no_trace(customers: Any, duplicates: Any, as_user: Any, engine: AsyncEngine,
                                               tenant_id: uuid.UUID) -> None:
    """What erasure calls: the customer leaves groups, pairs and dismissals."""
    meta = as_user()
    made = await _seed(customers, meta)
    await _scan(engine, tenant_id)
    groups = (await duplicates.ListDuplicateGroups(pb.ListDuplicateGroupsRequest(), metadata=meta)).items
    star = next(g for g in groups if made["b1"].id in {m.id for m in g.members})
    await duplicates.DismissDuplicateGroup(pb.DismissDuplicateGroupRequest(id=star.id), metadata=meta)
    a1 = uuid.UUID(made["a1"].id)
    b1 = uuid.UUID(made["b1"].id)
    async with tenant_session(engine, tenant_id) as session:
        await repository.forget_customer(session, a1)
        await repository.forget_customer(session, b1)
    async with tenant_session(engine, tenant_id) as session:
        rows = await repository.members_of(session, [g.id for g in groups])
        pairs = [p for g in groups for p in (await repository.get_group(session, uuid.UUID(g.id), None)).pairs]
        dismissed = await repository.dismissed_pairs(session)
    assert a1 not in {r.id for r in rows} and b1 not in {r.id for r in rows}
    assert pairs and all(str(a1) not in (p["a"], p["b"]) and str(b1) not in (p["a"], p["b"]) for p in pairs)
    assert all(b1 not in pair for pair in dismissed)


def _credit_code(n: int) -> str:
    first = f"9111000010000{n:04d}"
    return first + credit_code_check_char(first)


async def test_scan_vetoes_hubs_and_oversized_groups(customers: Any, duplicates: Any, as_user: Any,
                                                     engine: AsyncEngine, tenant_id: uuid.UUID) -> None:
    meta = as_user()
    # namesakes with different credit codes, on one phone and one email: never a group
    for n in (1, 2):
        await _customer(customers, meta, name="Sunrise Trading Ltd", region="United Kingdom", mobile="13800000001",
                        email="info@sunrise.example", credit_code=_credit_code(n))
    # a switchboard on twelve companies (a hub): two of them named alike are not grouped by it
    for i in range(12):
        await _customer(customers, meta, name="Hub Twin Ltd" if i < 2 else f"代理记账客户{i:02d}号",
                        phone="010-88886666")
    # a chain A-B-C where A and C are two companies: B joins one of them, never both
    a = await _customer(customers, meta, name="星辰电子有限公司", mobile="13800000011", credit_code=_credit_code(3))
    b = await _customer(customers, meta, name="星辰电子", mobile="13800000011", email="b@xc-dz.example")
    c = await _customer(customers, meta, name="星辰电子有限公司", email="b@xc-dz.example", credit_code=_credit_code(4))
    # twelve records of one credit code: more than a merge takes, and no weaker links to cut
    code = _credit_code(5)
    twelve = [await _customer(customers, meta, name=f"重复录入{i:02d}号公司", mobile=f"1390000{i:04d}",
                              credit_code=code) for i in range(12)]
    await _scan(engine, tenant_id)
    groups = list((await duplicates.ListDuplicateGroups(pb.ListDuplicateGroupsRequest(), metadata=meta)).items)
    names = {frozenset(m.name for m in g.members) for g in groups}
    assert frozenset({"Sunrise Trading Ltd"}) not in names and frozenset({"Hub Twin Ltd"}) not in names
    [chain] = [g for g in groups if b.id in {m.id for m in g.members}]
    assert {m.id for m in chain.members} in ({a.id, b.id}, {b.id, c.id}) and not chain.too_large
    [flagged] = [g for g in groups if g.too_large]
    assert flagged.size == 12 and {m.id for m in flagged.members} == {t.id for t in twelve}
    assert flagged.reasons[0] == "credit_code"
    assert len(groups) == 2
