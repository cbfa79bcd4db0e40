"""Merge and undo rules of crm_customers/merge/ through the real gRPC edge against real Postgres:
chosen values (incl. sensitive and custom fields, status with history), merged customers soft-deleted
with `merged_into`, status history moved and put back, the snapshot holding no plaintext, events,
bad input naming the field, data scope and field policies, undo twice / late / after an edit."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest
import pytest_asyncio
import sqlalchemy as sa
from joserfc.jwk import ECKey
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_customers.customer.service import CustomerService
from crm_customers.customer.servicer import CustomerServicer
from crm_customers.merge import servicer as merge_servicer
from crm_customers.sensitive.keys import LocalKeyWrapper
from crm_customers.sensitive.service import SensitiveFields
from crm_platform.db import tenant_schema
from crm_platform.grpc_client import call_metadata
from crm_platform.pagination import PageTokens
from crm_proto.crm.customers.v1 import customers_pb2 as pb
from crm_proto.crm.customers.v1 import customers_pb2_grpc, merges_pb2_grpc
from crm_proto.crm.customers.v1 import merges_pb2 as mpb
from tests.customers.conftest import ALL, MASTER_KEY
from tests.support import access_token, in_process_server

ID = "11010519491231002X"


@pytest_asyncio.fixture(scope="package")
async def stubs(engine: AsyncEngine, signing_key: ECKey) -> AsyncIterator[tuple[Any, Any]]:
    def register(server: grpc.aio.Server) -> None:
        tokens = PageTokens("test-page-token-key")
        service = CustomerService(tokens, SensitiveFields(LocalKeyWrapper(MASTER_KEY)))
        customers_pb2_grpc.add_CustomerServiceServicer_to_server(CustomerServicer(engine, service), server)
        merge_servicer.add_to_server(server, engine, service, tokens)

    async with in_process_server(signing_key, register) as client:
        yield customers_pb2_grpc.CustomerServiceStub(client), merges_pb2_grpc.MergeServiceStub(client)


@pytest.fixture
def meta(signing_key: ECKey, tenant_id: uuid.UUID) -> Any:
    def make(scopes: list[str] | None = None, **claims: Any) -> tuple[tuple[str, str], ...]:
        return call_metadata(access_token(signing_key, tenant_id, scopes or ALL, **claims))

    return make


async def _create(customers: Any, meta: Any, **fields: str) -> pb.Customer:
    return await customers.CreateCustomer(pb.CreateCustomerRequest(customer=pb.CustomerInput(**fields)),
                                          metadata=meta)


def _error(caught: pytest.ExceptionInfo[grpc.aio.AioRpcError]) -> dict[str, Any]:
    detail: dict[str, Any] = json.loads(dict(caught.value.trailing_metadata())["crm-error"])
    return detail


async def _events(engine: AsyncEngine, tenant_id: uuid.UUID) -> list[dict[str, Any]]:
    async with engine.connect() as conn:
        rows = (await conn.execute(sa.text(
            "SELECT payload FROM control.outbox WHERE tenant_id = :t ORDER BY seq"), {"t": tenant_id})).scalars()
        return [json.loads(p) if isinstance(p, str) else p for p in rows]


async def test_merge_then_undo_puts_everything_back(stubs: Any, meta: Any, engine: AsyncEngine,
                                                    tenant_id: uuid.UUID) -> None:
    customers, merges = stubs
    m = meta()
    a = await _create(customers, m, name="Acme 北京", mobile="13800138000", email="a@acme.cn", industry="IT")
    b = await _create(customers, m, name="ACME Beijing", mobile="13900139000", email="sales@acme.cn",
                      resident_id=ID, status="intent")
    await customers.ChangeCustomerStatus(pb.ChangeCustomerStatusRequest(id=b.id, status="won", reason="signed"),
                                         metadata=m)

    merge = await merges.MergeCustomers(mpb.MergeCustomersRequest(
        survivor_id=a.id, merged_ids=[b.id],
        values={"email": b.id, "resident_id": b.id, "status": b.id, "name": a.id}, expected_version=a.version,
    ), metadata=m)
    survivor = merge.survivor
    assert (survivor.email, survivor.mobile, survivor.status) == ("sales@acme.cn", "+8613800138000", "won")
    assert survivor.resident_id == "110***********002X" and survivor.version == a.version + 1
    assert sorted(merge.changed_fields) == ["email", "resident_id", "status"]
    assert merge.undoable and merge.merged_ids == [b.id] and dict(merge.values)["email"] == b.id

    # The merged customer is gone from reads, and says where it went.
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await customers.GetCustomer(pb.GetCustomerRequest(id=b.id), metadata=m)
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    assert _error(caught)["code"] == "customer_merged" and _error(caught)["merged_into"] == a.id
    listed = await customers.ListCustomers(pb.ListCustomersRequest(), metadata=m)
    assert [c.id for c in listed.items] == [a.id]
    # Status history moved: the survivor now holds B's rows plus its own and the merge's.
    history = await customers.ListStatusHistory(pb.ListStatusHistoryRequest(id=a.id), metadata=m)
    newest = history.items[0]
    assert (newest.from_status, newest.to_status, newest.reason) == ("potential", "won", "merge")
    assert {(h.from_status, h.to_status) for h in history.items} >= {("intent", "won"), ("", "intent")}

    # The snapshot keeps ciphertext, never the plaintext; events went out in one transaction.
    schema = tenant_schema(tenant_id)
    async with engine.connect() as conn:
        stored = (await conn.execute(sa.text(f'SELECT snapshot::text FROM "{schema}".merges'))).scalar_one()
    assert ID not in stored and ID.lower() not in stored and "110***********002X" in stored
    # The survivor's timeline says what the merge changed (the status with its reason), no plaintext.
    async with engine.connect() as conn:
        entries = (await conn.execute(sa.text(
            f'SELECT kind, data::text AS data FROM "{schema}".customer_activity WHERE customer_id = :id'),
            {"id": a.id})).all()
    kinds = {e.kind for e in entries}
    assert {"updated", "status_changed"} <= kinds and all(ID not in e.data for e in entries)
    assert any("sales@acme.cn" in e.data for e in entries if e.kind == "updated")
    types = [(e["type"], e.get("subject")) for e in await _events(engine, tenant_id)]
    assert types[-3:] == [("crm.customer.deleted", b.id), ("crm.customer.updated", a.id),
                          ("crm.customer.merged", a.id)]
    merged_event = (await _events(engine, tenant_id))[-1]["data"]
    assert merged_event == {"merge_id": merge.id, "survivor_id": a.id, "merged_ids": [b.id]}

    # A merged customer cannot be restored on its own.
    admin = meta([*ALL])
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await customers.RestoreCustomer(pb.RestoreCustomerRequest(id=b.id), metadata=admin)
    assert _error(caught)["code"] == "customer_merged"

    undone = await merges.UndoMerge(mpb.UndoMergeRequest(id=merge.id), metadata=m)
    assert not undone.undoable and undone.undone_at.seconds > 0
    back_a = await customers.GetCustomer(pb.GetCustomerRequest(id=a.id), metadata=m)
    back_b = await customers.GetCustomer(pb.GetCustomerRequest(id=b.id), metadata=m)
    assert (back_a.email, back_a.status, back_a.resident_id) == ("a@acme.cn", "potential", "")
    assert (back_b.email, back_b.status, back_b.resident_id) == ("sales@acme.cn", "won", "110***********002X")
    b_history = await customers.ListStatusHistory(pb.ListStatusHistoryRequest(id=b.id), metadata=m)
    assert [(h.from_status, h.to_status) for h in b_history.items] == [("intent", "won"), ("", "intent")]
    a_history = await customers.ListStatusHistory(pb.ListStatusHistoryRequest(id=a.id), metadata=m)
    assert [h.reason for h in a_history.items][:2] == ["merge undone", "merge"]
    events = await _events(engine, tenant_id)
    assert [e["type"] for e in events[-3:]] == ["crm.customer.restored", "crm.customer.updated",
                                                 "crm.customer.unmerged"]

    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await merges.UndoMerge(mpb.UndoMergeRequest(id=merge.id), metadata=m)
    assert caught.value.code() == grpc.StatusCode.ALREADY_EXISTS
    assert _error(caught)["code"] == "merge_already_undone"


async def test_custom_fields_and_several_merged(stubs: Any, meta: Any) -> None:
    customers, merges = stubs
    m = meta()
    await customers.CreateCustomerField(pb.CreateCustomerFieldRequest(
        field=pb.CustomerFieldInput(key="tier", label="Tier", type="text")), metadata=m)
    a = await _create(customers, m, name="A", mobile="13800138001")
    b = await _create(customers, m, name="B", mobile="13800138002")
    c = await _create(customers, m, name="C", email="c@example.com")
    await customers.UpdateCustomer(pb.UpdateCustomerRequest(
        id=c.id, customer=pb.CustomerInput(custom_fields={"tier": "gold"}), expected_version=c.version), metadata=m)
    merge = await merges.MergeCustomers(mpb.MergeCustomersRequest(
        survivor_id=a.id, merged_ids=[b.id, c.id], values={"custom_fields.tier": c.id, "email": c.id},
    ), metadata=m)
    assert merge.survivor.custom_fields["tier"] == "gold" and merge.survivor.email == "c@example.com"
    listed = await merges.ListMerges(mpb.ListMergesRequest(survivor_id=a.id), metadata=m)
    assert [x.id for x in listed.items] == [merge.id] and listed.items[0].survivor_name == "A"
    got = await merges.GetMerge(mpb.GetMergeRequest(id=merge.id), metadata=m)
    assert sorted(got.merged_ids) == sorted([b.id, c.id])


async def test_bad_input_names_the_field_and_writes_nothing(stubs: Any, meta: Any) -> None:
    customers, merges = stubs
    m = meta()
    a = await _create(customers, m, name="A", mobile="13800138001")
    b = await _create(customers, m, name="B", mobile="13800138002")
    cases: list[tuple[dict[str, Any], set[tuple[str, str]]]] = [
        ({"survivor_id": a.id, "merged_ids": [a.id]}, {("merged_ids[0]", "survivor_in_merged")}),
        ({"survivor_id": a.id, "merged_ids": [b.id, b.id]}, {("merged_ids[1]", "duplicate")}),
        ({"survivor_id": a.id, "merged_ids": [str(uuid.uuid4()) for _ in range(10)]}, {("merged_ids", "too_many")}),
        ({"survivor_id": a.id, "merged_ids": []}, {("merged_ids", "required")}),
        ({"survivor_id": "", "merged_ids": [b.id]}, {("survivor_id", "required")}),
        ({"survivor_id": a.id, "merged_ids": ["nope"]}, {("merged_ids[0]", "invalid_id")}),
        ({"survivor_id": a.id, "merged_ids": [b.id], "values": {"favourite_colour": b.id}},
         {("values.favourite_colour", "unknown_field")}),
        ({"survivor_id": a.id, "merged_ids": [b.id], "values": {"code": b.id}}, {("values.code", "unknown_field")}),
        ({"survivor_id": a.id, "merged_ids": [b.id], "values": {"email": str(uuid.uuid4())}},
         {("values.email", "not_involved")}),
    ]
    for body, expected in cases:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await merges.MergeCustomers(mpb.MergeCustomersRequest(**body), metadata=m)
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT, body
        assert {(e["field"], e["code"]) for e in _error(caught)["errors"]} >= expected, body
    # Nothing was written: B is live, A unchanged.
    assert (await customers.GetCustomer(pb.GetCustomerRequest(id=b.id), metadata=m)).version == b.version
    assert (await customers.GetCustomer(pb.GetCustomerRequest(id=a.id), metadata=m)).version == a.version
    # A stale If-Match is a 412 like an update's.
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await merges.MergeCustomers(mpb.MergeCustomersRequest(
            survivor_id=a.id, merged_ids=[b.id], expected_version=a.version + 5), metadata=m)
    assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert _error(caught)["code"] == "stale_version"


async def test_scope_policies_and_missing_scope(stubs: Any, meta: Any) -> None:
    customers, merges = stubs
    rep, other = uuid.uuid4(), uuid.uuid4()
    admin = meta()
    mine = await _create(customers, admin, name="Mine", mobile="13800138001", owner_id=str(rep))
    also_mine = await _create(customers, admin, name="Also mine", mobile="13800138003", owner_id=str(rep),
                              email="x@example.com")
    theirs = await _create(customers, admin, name="Theirs", mobile="13800138002", owner_id=str(other))
    as_rep = meta(uid=str(rep), ds="own", fp={"email": "read_only"})
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await merges.MergeCustomers(mpb.MergeCustomersRequest(survivor_id=mine.id, merged_ids=[theirs.id]),
                                    metadata=as_rep)
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await merges.MergeCustomers(mpb.MergeCustomersRequest(
            survivor_id=mine.id, merged_ids=[also_mine.id], values={"email": also_mine.id}), metadata=as_rep)
    assert {(e["field"], e["code"]) for e in _error(caught)["errors"]} == {("values.email", "field_read_only")}
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await merges.MergeCustomers(mpb.MergeCustomersRequest(survivor_id=mine.id, merged_ids=[also_mine.id]),
                                    metadata=meta(["customers:read"]))
    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED
    merge = await merges.MergeCustomers(mpb.MergeCustomersRequest(survivor_id=mine.id, merged_ids=[also_mine.id]),
                                        metadata=as_rep)
    # Another rep sees neither the merge nor can undo it.
    as_other = meta(uid=str(other), ds="own")
    for call in (merges.GetMerge(mpb.GetMergeRequest(id=merge.id), metadata=as_other),
                 merges.UndoMerge(mpb.UndoMergeRequest(id=merge.id), metadata=as_other)):
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await call
        assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    assert list((await merges.ListMerges(mpb.ListMergesRequest(), metadata=as_other)).items) == []


async def test_undo_after_an_edit_needs_force_and_expires(stubs: Any, meta: Any, engine: AsyncEngine,
                                                          tenant_id: uuid.UUID) -> None:
    customers, merges = stubs
    m = meta()
    a = await _create(customers, m, name="A", mobile="13800138001")
    b = await _create(customers, m, name="B", mobile="13800138002", notes="from b")
    merge = await merges.MergeCustomers(mpb.MergeCustomersRequest(
        survivor_id=a.id, merged_ids=[b.id], values={"notes": b.id}), metadata=m)
    edited = await customers.UpdateCustomer(pb.UpdateCustomerRequest(
        id=a.id, customer=pb.CustomerInput(needs="more"), expected_version=merge.survivor.version), metadata=m)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await merges.UndoMerge(mpb.UndoMergeRequest(id=merge.id), metadata=m)
    detail = _error(caught)
    assert detail["code"] == "survivor_changed_since_merge" and detail["current_version"] == edited.version
    forced = await merges.UndoMerge(mpb.UndoMergeRequest(id=merge.id, force=True), metadata=m)
    assert (forced.survivor.notes, forced.survivor.needs) == ("", "")

    c = await _create(customers, m, name="C", mobile="13800138003")
    late = await merges.MergeCustomers(mpb.MergeCustomersRequest(survivor_id=a.id, merged_ids=[c.id]), metadata=m)
    async with engine.begin() as conn:
        await conn.execute(sa.text(
            f'UPDATE "{tenant_schema(tenant_id)}".merges SET expires_at = now() - interval \'1 second\' '
            "WHERE id = :id"), {"id": late.id})
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await merges.UndoMerge(mpb.UndoMergeRequest(id=late.id), metadata=m)
    assert _error(caught)["code"] == "merge_undo_expired"
    assert not (await merges.GetMerge(mpb.GetMergeRequest(id=late.id), metadata=m)).undoable
