"""Orders and contracts through the customers gRPC API against real Postgres: validation (currency,
amounts, dates, items, customer), idempotent upsert by external id with one `order.recorded` per
real change, batches with per-row results, data scope, the spend field policy, spend on customer
reads, and the merge hook (orders/merging.py)."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator
from datetime import date, timedelta
from typing import Any

import grpc
import pytest
import pytest_asyncio
import sqlalchemy as sa
from joserfc.jwk import ECKey
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_customers.orders.merging import ORDERS
from crm_customers.orders.service import OrderService
from crm_customers.orders.servicer import OrderServicer
from crm_platform.db import tenant_session
from crm_platform.errors import decode_rpc_error
from crm_platform.grpc_client import call_metadata
from crm_platform.pagination import PageTokens
from crm_proto.crm.customers.v1 import customers_pb2 as cpb
from crm_proto.crm.customers.v1 import orders_pb2 as pb
from crm_proto.crm.customers.v1 import orders_pb2_grpc
from tests.support import access_token, in_process_server

EVERYTHING = ["customers:read", "customers:write", "customers:admin", "orders:read", "orders:write"]


@pytest_asyncio.fixture(scope="module")
async def orders(engine: AsyncEngine, signing_key: ECKey) -> AsyncIterator[orders_pb2_grpc.OrderServiceStub]:
    def register(server: grpc.aio.Server) -> None:
        orders_pb2_grpc.add_OrderServiceServicer_to_server(
            OrderServicer(engine, OrderService(PageTokens("test-page-token-key"))), server
        )

    async with in_process_server(signing_key, register) as client:
        yield orders_pb2_grpc.OrderServiceStub(client)


def meta(key: ECKey, tenant: uuid.UUID, scopes: list[str] | None = None, **claims: Any) -> tuple[tuple[str, str], ...]:
    return call_metadata(access_token(key, tenant, scopes or EVERYTHING, **claims))


async def _customer(customers: Any, md: Any, name: str = "北京科技有限公司", **extra: Any) -> cpb.Customer:
    return await customers.CreateCustomer(cpb.CreateCustomerRequest(customer=cpb.CustomerInput(
        name=name, mobile="13800138000", **extra)), metadata=md)


def _order(customer_code: str = "", **overrides: Any) -> pb.OrderInput:
    values: dict[str, Any] = {
        "external_id": "ERP-1", "customer_code": customer_code, "amount": "1200.50", "currency": "CNY",
        "ordered_on": "2026-01-15", "status": "paid",
    }
    values.update(overrides)
    return pb.OrderInput(**values)


async def _recorded(engine: AsyncEngine, tenant: uuid.UUID) -> list[dict[str, Any]]:
    async with engine.connect() as conn:
        rows = (await conn.execute(sa.text(
            "SELECT payload FROM control.outbox WHERE tenant_id = :t AND subject LIKE '%.order.recorded' "
            "ORDER BY created_at, event_id"), {"t": tenant})).scalars().all()
    return [(json.loads(p) if isinstance(p, str) else p)["data"] for p in rows]


def _items(*rows: tuple[str, str]) -> list[pb.OrderItem]:
    return [pb.OrderItem(sku=f"SKU-{i}", name=f"Item {i}", quantity=q, unit_price=p) for i, (q, p) in enumerate(rows)]


# field -> (overrides, expected (field, code))
BAD_INPUT = {
    "no currency": ({"currency": ""}, ("currency", "required")),
    "unknown currency": ({"currency": "RMB"}, ("currency", "invalid_currency")),
    "JPY has no decimals": ({"currency": "JPY", "amount": "100.5"}, ("amount", "too_many_decimals")),
    "CNY at most 2 decimals": ({"amount": "1.005"}, ("amount", "too_many_decimals")),
    "amount is a number text": ({"amount": "12,00"}, ("amount", "invalid_decimal")),
    "exponent": ({"amount": "1e5"}, ("amount", "invalid_decimal")),
    "negative amount": ({"amount": "-1.00"}, ("amount", "negative")),
    "huge amount": ({"amount": "12345678901234567"}, ("amount", "out_of_range")),
    "no amount no items": ({"amount": ""}, ("amount", "required")),
    "bad date": ({"ordered_on": "2026-02-30"}, ("ordered_on", "invalid_date")),
    "date with time": ({"ordered_on": "2026-02-01T10:00:00Z"}, ("ordered_on", "invalid_date")),
    "ancient date": ({"ordered_on": "1850-01-01"}, ("ordered_on", "date_out_of_range")),
    "no date": ({"ordered_on": ""}, ("ordered_on", "required")),
    "status": ({"status": "shipped"}, ("status", "invalid_choice")),
    "kind": ({"kind": "invoice"}, ("kind", "invalid_choice")),
    "external id": ({"external_id": "has space"}, ("external_id", "invalid_external_id")),
    "no external id": ({"external_id": ""}, ("external_id", "required")),
    "unknown code": ({"customer_code": "NOPE-1"}, ("customer_code", "unknown_customer")),
    "unknown id": ({"customer_code": "", "customer_id": str(uuid.uuid4())}, ("customer_id", "unknown_customer")),
    "both refs": ({"customer_id": str(uuid.uuid4())}, ("customer_code", "one_of")),
    "item quantity 0": ({"amount": "", "items": _items(("0", "10"))}, ("items[0].quantity", "not_positive")),
    "item price float-ish": ({"amount": "", "items": _items(("1", "abc"))}, ("items[0].unit_price", "invalid_decimal")),
    "item without name": (
        {"amount": "", "items": [pb.OrderItem(quantity="1", unit_price="1")]}, ("items[0].name", "required")
    ),
    "amount vs items": ({"amount": "100.00", "items": _items(("2", "30"), ("1", "30.01"))},
                        ("amount", "amount_mismatch")),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUT))
async def test_validation_table(case: str, customers: Any, orders: Any, signing_key: ECKey,
                                tenant_id: uuid.UUID, engine: AsyncEngine) -> None:
    md = meta(signing_key, tenant_id)
    c = await _customer(customers, md)
    overrides, expected = BAD_INPUT[case]
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await orders.UpsertOrder(pb.UpsertOrderRequest(order=_order(**{"customer_code": c.code, **overrides})),
                                 metadata=md)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    detail = decode_rpc_error(caught.value)
    assert expected in [(e["field"], e["code"]) for e in detail.errors]
    assert await _recorded(engine, tenant_id) == []  # nothing half-written
    listed = await orders.ListOrders(pb.ListOrdersRequest(), metadata=md)
    assert list(listed.items) == []


async def test_items_sum_becomes_the_amount_and_valid_decimals(customers: Any, orders: Any, signing_key: ECKey,
                                                               tenant_id: uuid.UUID) -> None:
    md = meta(signing_key, tenant_id)
    c = await _customer(customers, md)
    reply = await orders.UpsertOrder(pb.UpsertOrderRequest(order=_order(
        c.code, amount="", items=_items(("2", "30.005"), ("1.5", "10"), ("1", "-5"))
    )), metadata=md)
    # 60.01 + 15 - 5 = 70.01 (half-up to CNY's 2 decimals).
    assert reply.result == "created" and reply.order.amount == "70.01"
    assert [i.quantity for i in reply.order.items] == ["2", "1.5", "1"]
    yen = await orders.UpsertOrder(pb.UpsertOrderRequest(order=_order(
        c.code, external_id="ERP-JPY", currency="jpy", amount="1500")), metadata=md)
    assert yen.order.currency == "JPY" and yen.order.amount == "1500.00"
    dinar = await orders.UpsertOrder(pb.UpsertOrderRequest(order=_order(
        c.code, external_id="ERP-KWD", currency="KWD", amount="1.125")), metadata=md)
    assert dinar.order.amount == "1.125"


async def test_idempotent_by_external_id(customers: Any, orders: Any, signing_key: ECKey, tenant_id: uuid.UUID,
                                         engine: AsyncEngine) -> None:
    md = meta(signing_key, tenant_id)
    c = await _customer(customers, md)
    first = await orders.UpsertOrder(pb.UpsertOrderRequest(order=_order(c.code)), metadata=md)
    again = await orders.UpsertOrder(pb.UpsertOrderRequest(order=_order(c.code, amount="1200.5")), metadata=md)
    by_id = await orders.UpsertOrder(pb.UpsertOrderRequest(order=_order(customer_id=c.id)), metadata=md)
    assert first.result == "created" and again.result == "unchanged" and by_id.result == "unchanged"
    assert again.order.id == first.order.id and again.order.version == 1
    events = await _recorded(engine, tenant_id)
    assert len(events) == 1
    assert events[0] == {
        "order_id": first.order.id, "external_id": "ERP-1", "customer_id": c.id, "kind": "order",
        "amount": "1200.50", "currency": "CNY", "ordered_on": "2026-01-15", "status": "paid", "version": "1",
        "moved": False,
    }
    changed = await orders.UpsertOrder(pb.UpsertOrderRequest(order=_order(c.code, status="refunded")), metadata=md)
    assert changed.result == "updated" and changed.order.version == 2 and changed.order.id == first.order.id
    events = await _recorded(engine, tenant_id)
    assert len(events) == 2 and events[1]["status"] == "refunded" and events[1]["version"] == "2"
    listed = await orders.ListOrders(pb.ListOrdersRequest(), metadata=md)
    assert [o.id for o in listed.items] == [first.order.id]


async def test_batch_writes_valid_rows_and_reports_bad_ones(customers: Any, orders: Any, signing_key: ECKey,
                                                            tenant_id: uuid.UUID, engine: AsyncEngine) -> None:
    md = meta(signing_key, tenant_id)
    c = await _customer(customers, md)
    await orders.UpsertOrder(pb.UpsertOrderRequest(order=_order(c.code, external_id="OLD")), metadata=md)
    rows = [
        _order(c.code, external_id="B-1"),
        _order(c.code, external_id="B-2", currency="XXX"),
        _order(c.code, external_id="OLD"),  # unchanged
        _order(c.code, external_id="B-1", amount="1.00"),  # repeated in the batch
        _order("NOPE", external_id="B-3"),
        _order(c.code, external_id="B-4", kind="contract", status="confirmed", ordered_on="2026-03-01"),
    ]
    reply = await orders.BatchUpsertOrders(pb.BatchUpsertOrdersRequest(orders=rows), metadata=md)
    got = [(r.index, r.external_id, r.result, [(e.field, e.code) for e in r.errors]) for r in reply.results]
    assert got == [
        (0, "B-1", "created", []),
        (1, "B-2", "invalid", [("currency", "invalid_currency")]),
        (2, "OLD", "unchanged", []),
        (3, "B-1", "invalid", [("external_id", "duplicate_in_batch")]),
        (4, "B-3", "invalid", [("customer_code", "unknown_customer")]),
        (5, "B-4", "created", []),
    ]
    assert reply.written == 2 and reply.invalid == 3
    assert sorted(e["external_id"] for e in await _recorded(engine, tenant_id)) == ["B-1", "B-4", "OLD"]
    listed = await orders.ListOrders(pb.ListOrdersRequest(), metadata=md)
    assert sorted(o.external_id for o in listed.items) == ["B-1", "B-4", "OLD"]
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await orders.BatchUpsertOrders(pb.BatchUpsertOrdersRequest(
            orders=[_order(c.code, external_id=f"X-{i}") for i in range(1001)]), metadata=md)
    assert decode_rpc_error(caught.value).errors == [
        {"field": "orders", "code": "too_many", "message": "at most 1000 orders per batch"}
    ]


async def test_lists_filter_and_page(customers: Any, orders: Any, signing_key: ECKey, tenant_id: uuid.UUID) -> None:
    md = meta(signing_key, tenant_id)
    a, b = await _customer(customers, md), await _customer(customers, md, name="上海贸易有限公司")
    for i in range(5):
        await orders.UpsertOrder(pb.UpsertOrderRequest(order=_order(
            a.code, external_id=f"A-{i}", ordered_on=f"2026-01-0{i + 1}", status="paid" if i % 2 else "pending"
        )), metadata=md)
    await orders.UpsertOrder(pb.UpsertOrderRequest(order=_order(b.code, external_id="B-0")), metadata=md)
    first = await orders.ListOrders(pb.ListOrdersRequest(customer_id=a.id, page_size=2), metadata=md)
    second = await orders.ListOrders(pb.ListOrdersRequest(customer_id=a.id, page_size=2,
                                                          page_token=first.next_page_token), metadata=md)
    third = await orders.ListOrders(pb.ListOrdersRequest(customer_id=a.id, page_size=2,
                                                         page_token=second.next_page_token), metadata=md)
    assert [o.external_id for o in [*first.items, *second.items, *third.items]] == [
        "A-4", "A-3", "A-2", "A-1", "A-0"]
    assert third.next_page_token == ""
    ranged = await orders.ListOrders(pb.ListOrdersRequest(
        ordered_after="2026-01-02", ordered_before="2026-01-04", status="paid"), metadata=md)
    assert [o.external_id for o in ranged.items] == ["A-3", "A-1"]
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await orders.ListOrders(pb.ListOrdersRequest(customer_id=b.id, page_token=first.next_page_token),
                                metadata=md)
    assert decode_rpc_error(caught.value).errors[0]["code"] == "invalid_page_token"
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await orders.ListOrders(pb.ListOrdersRequest(ordered_after="01/02/2026", status="x"), metadata=md)
    assert sorted(e["field"] for e in decode_rpc_error(caught.value).errors) == ["ordered_after", "status"]


async def test_data_scope_and_scopes(customers: Any, orders: Any, signing_key: ECKey, tenant_id: uuid.UUID) -> None:
    rep_a, rep_b = uuid.uuid4(), uuid.uuid4()
    admin = meta(signing_key, tenant_id)
    mine = await _customer(customers, admin, owner_id=str(rep_a))
    theirs = await _customer(customers, admin, name="别人的客户", owner_id=str(rep_b))
    await orders.UpsertOrder(pb.UpsertOrderRequest(order=_order(mine.code, external_id="MINE")), metadata=admin)
    other = await orders.UpsertOrder(pb.UpsertOrderRequest(order=_order(theirs.code, external_id="THEIRS")),
                                     metadata=admin)
    rep = meta(signing_key, tenant_id, uid=str(rep_a), ds="own", sub=f"user:{rep_a}")
    listed = await orders.ListOrders(pb.ListOrdersRequest(), metadata=rep)
    assert [o.external_id for o in listed.items] == ["MINE"]
    for call in (orders.GetOrder(pb.GetOrderRequest(id=other.order.id), metadata=rep),
                 orders.ListOrders(pb.ListOrdersRequest(customer_id=theirs.id), metadata=rep),
                 orders.UpsertOrder(pb.UpsertOrderRequest(order=_order(mine.code, external_id="THEIRS")),
                                    metadata=rep)):
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await call
        assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await orders.UpsertOrder(pb.UpsertOrderRequest(order=_order(theirs.code, external_id="NEW")), metadata=rep)
    assert decode_rpc_error(caught.value).errors[0]["code"] == "unknown_customer"
    reader = meta(signing_key, tenant_id, ["customers:read", "orders:read"])
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await orders.UpsertOrder(pb.UpsertOrderRequest(order=_order(mine.code, external_id="R")), metadata=reader)
    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await orders.ListOrders(pb.ListOrdersRequest(), metadata=meta(signing_key, tenant_id, ["customers:read"]))
    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED
    # Another tenant sees nothing of this one.
    stranger = meta(signing_key, uuid.uuid4())
    with pytest.raises(grpc.aio.AioRpcError):
        await orders.GetOrder(pb.GetOrderRequest(id=other.order.id), metadata=stranger)


async def test_spend_on_customer_reads_and_the_spend_field_policy(customers: Any, orders: Any, signing_key: ECKey,
                                                                  tenant_id: uuid.UUID) -> None:
    md = meta(signing_key, tenant_id)
    c = await _customer(customers, md)
    empty = await customers.GetCustomer(cpb.GetCustomerRequest(id=c.id), metadata=md)
    assert empty.HasField("annual_spend") and dict(empty.annual_spend.amounts) == {}
    today = date.today()
    rows = [
        ("R-1", "order", "paid", "100.00", "CNY", today),
        ("R-2", "order", "confirmed", "50.50", "CNY", today - timedelta(days=364)),
        ("R-3", "order", "paid", "1000.00", "CNY", today - timedelta(days=365)),  # outside the year
        ("R-4", "order", "pending", "7.00", "CNY", today),  # not spend
        ("R-5", "order", "refunded", "9.00", "CNY", today),  # not spend
        ("R-6", "contract", "confirmed", "5000.00", "CNY", today),  # contracts are not spend
        ("R-7", "order", "paid", "20.00", "USD", today),
    ]
    for ext, kind, status, amount, currency, day in rows:
        await orders.UpsertOrder(pb.UpsertOrderRequest(order=_order(
            c.code, external_id=ext, kind=kind, status=status, amount=amount, currency=currency,
            ordered_on=day.isoformat())), metadata=md)
    got = await customers.GetCustomer(cpb.GetCustomerRequest(id=c.id), metadata=md)
    assert dict(got.annual_spend.amounts) == {"CNY": "150.50", "USD": "20.00"}
    assert dict(got.lifetime_value.amounts) == {"CNY": "1150.50", "USD": "20.00"}
    listed = await customers.ListCustomers(cpb.ListCustomersRequest(), metadata=md)
    assert dict(listed.items[0].lifetime_value.amounts) == {"CNY": "1150.50", "USD": "20.00"}

    no_spend = meta(signing_key, tenant_id, fp={"annual_spend": "hidden", "lifetime_value": "hidden"})
    hidden = await customers.GetCustomer(cpb.GetCustomerRequest(id=c.id), metadata=no_spend)
    assert not hidden.HasField("annual_spend") and not hidden.HasField("lifetime_value")
    listed = await customers.ListCustomers(cpb.ListCustomersRequest(), metadata=no_spend)
    assert not listed.items[0].HasField("annual_spend") and not listed.items[0].HasField("lifetime_value")
    amounts = await orders.ListOrders(pb.ListOrdersRequest(customer_id=c.id), metadata=no_spend)
    assert amounts.items and all(o.amount_hidden and o.amount == "" for o in amounts.items)
    one = await orders.GetOrder(pb.GetOrderRequest(id=amounts.items[0].id), metadata=no_spend)
    assert one.amount == "" and one.amount_hidden


async def test_merge_moves_orders_and_undo_puts_them_back(customers: Any, orders: Any, signing_key: ECKey,
                                                          tenant_id: uuid.UUID, engine: AsyncEngine) -> None:
    md = meta(signing_key, tenant_id)
    survivor, merged = await _customer(customers, md), await _customer(customers, md, name="北京科技")
    await orders.UpsertOrder(pb.UpsertOrderRequest(order=_order(merged.code, external_id="M-1")), metadata=md)
    await orders.UpsertOrder(pb.UpsertOrderRequest(order=_order(survivor.code, external_id="S-1")), metadata=md)
    async with tenant_session(engine, tenant_id) as session:
        undo = await ORDERS.move(session, [uuid.UUID(merged.id)], uuid.UUID(survivor.id))
    moved = await orders.ListOrders(pb.ListOrdersRequest(customer_id=survivor.id), metadata=md)
    assert sorted(o.external_id for o in moved.items) == ["M-1", "S-1"]
    assert list(undo) == [merged.id] and len(undo[merged.id]) == 1
    events = await _recorded(engine, tenant_id)
    assert events[-1]["moved"] is True and events[-1]["customer_id"] == survivor.id and events[-1]["version"] == "2"
    async with tenant_session(engine, tenant_id) as session:
        await ORDERS.undo(session, json.loads(json.dumps(undo)))
    back = await orders.ListOrders(pb.ListOrdersRequest(customer_id=merged.id), metadata=md)
    assert [o.external_id for o in back.items] == ["M-1"] and back.items[0].version == 3
    assert (await _recorded(engine, tenant_id))[-1]["customer_id"] == merged.id


async def test_a_full_batch_of_1000(customers: Any, orders: Any, signing_key: ECKey, tenant_id: uuid.UUID,
                                    engine: AsyncEngine) -> None:
    md = meta(signing_key, tenant_id)
    codes = [(await _customer(customers, md, name=f"批量客户{i}")).code for i in range(20)]
    rows = [_order(codes[i % 20], external_id=f"BULK-{i:04d}", amount=f"{i}.50",
                   items=_items(("1", f"{i}.50"))) for i in range(1000)]
    started = time.perf_counter()
    reply = await orders.BatchUpsertOrders(pb.BatchUpsertOrdersRequest(orders=rows), metadata=md, timeout=120)
    elapsed = time.perf_counter() - started
    print(f"batch of 1000 new orders: {elapsed:.2f} s")  # figure for docs/benchmarks.md; not asserted
    assert reply.written == 1000 and reply.invalid == 0
    assert len(await _recorded(engine, tenant_id)) == 1000
    again = await orders.BatchUpsertOrders(pb.BatchUpsertOrdersRequest(orders=rows), metadata=md, timeout=120)
    assert {r.result for r in again.results} == {"unchanged"} and again.written == 0
    assert len(await _recorded(engine, tenant_id)) == 1000
