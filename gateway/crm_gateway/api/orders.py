"""/v1/orders: HTTP <-> crm.customers.v1.OrderService (orders and contracts from outside systems,
upserted by their external id; docs/customers.md, "Orders")."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from pydantic import Field

from crm_gateway.api.common import (
    WRITE_ERRORS,
    BackendsDep,
    CallerDep,
    Name,
    Page,
    PageQuery,
    RequestBody,
    Resource,
    operation,
    page,
    timestamp,
)
from crm_gateway.problems import etag, localise_field_errors
from crm_platform.auth import Scope
from crm_proto.crm.customers.v1 import orders_pb2 as pb

router = APIRouter(tags=["orders"])

MAX_BATCH = 1000
MAX_ITEMS = 500
BATCH_DEADLINE = 60.0
AMOUNT_NOTE = "Decimal string; null when your role's field policies hide spend (`amount_hidden`)"


class OrderItem(Resource):
    sku: str
    name: str
    quantity: str = Field(description="Decimal string")
    unit_price: str | None = Field(description=AMOUNT_NOTE)


class Order(Resource):
    id: str
    external_id: str = Field(description="The outside system's id, unique in the tenant")
    kind: str = Field(description='"order" or "contract"')
    customer_id: str
    customer_code: str
    amount: str | None = Field(description=AMOUNT_NOTE)
    currency: str = Field(description="ISO 4217")
    ordered_on: str = Field(description="YYYY-MM-DD: order date, or signing date of a contract")
    status: str = Field(description="pending, confirmed, paid, cancelled or refunded")
    items: list[OrderItem]
    amount_hidden: bool = Field(description="True when your role may not see spend: amounts are null")
    version: int
    created_at: datetime | None
    updated_at: datetime | None
    created_by: str
    updated_by: str


def order_out(message: Any) -> Order:
    hidden = message.amount_hidden
    return Order(
        id=message.id, external_id=message.external_id, kind=message.kind, customer_id=message.customer_id,
        customer_code=message.customer_code, amount=None if hidden else message.amount, currency=message.currency,
        ordered_on=message.ordered_on, status=message.status,
        items=[OrderItem(sku=i.sku, name=i.name, quantity=i.quantity, unit_price=None if hidden else i.unit_price)
               for i in message.items],
        amount_hidden=hidden, version=message.version, created_at=timestamp(message.created_at),
        updated_at=timestamp(message.updated_at), created_by=message.created_by, updated_by=message.updated_by,
    )


class OrderItemIn(RequestBody):
    sku: str = Field("", max_length=200)
    name: Name = Field(max_length=200)
    quantity: str | int = Field(description='Decimal string or integer, > 0 (e.g. "2", "1.5")')
    unit_price: str = Field(description='Decimal string; negative for a discount line (e.g. "-10.00")')


class OrderIn(RequestBody):
    """Validation (currency, amounts, dates, customer) is the customers service's rule; every
    violation is a field error (`items[2].quantity`)."""

    external_id: str = Field(description="The outside system's id: up to 200 of A-Z a-z 0-9 . _ : / # -")
    kind: str = Field("order", description='"order" (default) or "contract"')
    customer_id: str | None = Field(None, description="The customer's id; or send customer_code")
    customer_code: str | None = Field(None, description="The customer's code; or send customer_id")
    amount: str | None = Field(
        None, description="Decimal string, at most the currency's minor units (JPY 0, CNY 2, KWD 3). With items "
                          "it must equal the sum of quantity × unit_price; absent: that sum."
    )
    currency: str = Field("", description="ISO 4217, e.g. CNY")
    ordered_on: str = Field("", description="YYYY-MM-DD")
    status: str = Field("", description="pending, confirmed, paid, cancelled or refunded")
    items: list[OrderItemIn] = Field(default_factory=list, max_length=MAX_ITEMS)


def order_input(body: OrderIn) -> pb.OrderInput:
    return pb.OrderInput(
        external_id=body.external_id, kind=body.kind, customer_id=body.customer_id or "",
        customer_code=body.customer_code or "", amount=body.amount or "", currency=body.currency,
        ordered_on=body.ordered_on, status=body.status,
        items=[pb.OrderItem(sku=i.sku, name=i.name, quantity=str(i.quantity), unit_price=i.unit_price)
               for i in body.items],
    )


@router.post(
    "/v1/orders",
    response_model=Order,
    **operation(
        operation_id="upsertOrder", summary="Record an order or contract (idempotent by external_id)",
        scopes=[Scope.ORDERS_WRITE], errors=[*WRITE_ERRORS, 404], status_code=201,
        description="201 with `Location` when the external id is new; 200 with the stored order when it exists "
                    "(updated if the payload changed, untouched and no event if it is the same). A change emits "
                    "`crm.order.recorded`. 404 when the external id belongs to a customer outside your data scope.",
    ),
)
async def upsert_order(body: OrderIn, response: Response, caller: CallerDep, services: BackendsDep) -> Order:
    reply = await caller.call(services.orders.UpsertOrder, pb.UpsertOrderRequest(order=order_input(body)))
    if reply.result == "created":
        response.headers["Location"] = f"/v1/orders/{reply.order.id}"
    else:
        response.status_code = 200
    response.headers["ETag"] = etag(reply.order.version)
    return order_out(reply.order)


class BatchIn(RequestBody):
    orders: list[OrderIn] = Field(min_length=1, max_length=MAX_BATCH)


class RowError(Resource):
    field: str
    code: str
    message: str


class RowResult(Resource):
    index: int = Field(description="Position of the row in `orders` (0-based)")
    external_id: str
    result: str = Field(description="created, updated, unchanged or invalid")
    order: Order | None = Field(description="The stored order; null for an invalid row")
    errors: list[RowError]


class BatchResult(Resource):
    results: list[RowResult]
    written: int = Field(description="Rows created or updated")
    invalid: int = Field(description="Rows rejected; nothing of them was written")


@router.post(
    "/v1/orders:batch-upsert",
    response_model=BatchResult,
    **operation(
        operation_id="batchUpsertOrders", summary="Record up to 1,000 orders or contracts",
        scopes=[Scope.ORDERS_WRITE], errors=WRITE_ERRORS,
        description="Each row is upserted like `POST /v1/orders`. Valid rows are written; invalid ones are "
                    "reported with their index and field errors and write nothing (each row is all or nothing). "
                    "A body that is not a list of order objects is a 400 for the whole request.",
    ),
)
async def batch_upsert_orders(body: BatchIn, caller: CallerDep, services: BackendsDep) -> BatchResult:
    # A full batch is 1,000 writes in one transaction: it gets longer than the default deadline.
    reply = await replace(caller, deadline=BATCH_DEADLINE).call(
        services.orders.BatchUpsertOrders, pb.BatchUpsertOrdersRequest(orders=[order_input(o) for o in body.orders])
    )
    return BatchResult(
        results=[
            RowResult(
                index=r.index, external_id=r.external_id, result=r.result,
                order=order_out(r.order) if r.HasField("order") else None,
                errors=[RowError(**e) for e in localise_field_errors(
                    [{"field": e.field, "code": e.code, "message": e.message} for e in r.errors], caller.locale
                )],
            )
            for r in reply.results
        ],
        written=reply.written, invalid=reply.invalid,
    )


class OrderListQuery(PageQuery):
    status: str = Field("", description="Exact status")
    kind: str = Field("", description='"order" or "contract"')
    customer_id: str = Field("", description="Only this customer's orders")
    ordered_after: str = Field("", description="YYYY-MM-DD (inclusive)")
    ordered_before: str = Field("", description="YYYY-MM-DD (inclusive)")


async def _list(caller: CallerDep, services: BackendsDep, query: OrderListQuery, customer_id: str) -> Page[Order]:
    reply = await caller.call(services.orders.ListOrders, pb.ListOrdersRequest(
        page_size=query.size, page_token=query.page_token, customer_id=customer_id, status=query.status,
        kind=query.kind, ordered_after=query.ordered_after, ordered_before=query.ordered_before,
    ))
    return page([order_out(o) for o in reply.items], reply.next_page_token)


@router.get(
    "/v1/orders",
    response_model=Page[Order],
    **operation(operation_id="listOrders", summary="List orders and contracts, newest order date first",
                scopes=[Scope.ORDERS_READ], errors=[400, 404],
                description="Only orders of customers in your data scope. 404 when `customer_id` names a customer "
                            "you cannot see."),
)
async def list_orders(
    query: Annotated[OrderListQuery, Query()], caller: CallerDep, services: BackendsDep
) -> Page[Order]:
    return await _list(caller, services, query, query.customer_id)


@router.get(
    "/v1/orders/{order_id}",
    response_model=Order,
    **operation(operation_id="getOrder", summary="Get an order or contract", scopes=[Scope.ORDERS_READ],
                errors=[404]),
)
async def get_order(order_id: str, response: Response, caller: CallerDep, services: BackendsDep) -> Order:
    reply = await caller.call(services.orders.GetOrder, pb.GetOrderRequest(id=order_id))
    response.headers["ETag"] = etag(reply.version)
    return order_out(reply)


class CustomerOrderQuery(PageQuery):
    status: str = Field("", description="Exact status")
    kind: str = Field("", description='"order" or "contract"')
    ordered_after: str = Field("", description="YYYY-MM-DD (inclusive)")
    ordered_before: str = Field("", description="YYYY-MM-DD (inclusive)")


@router.get(
    "/v1/customers/{customer_id}/orders",
    response_model=Page[Order],
    **operation(operation_id="listCustomerOrders", summary="A customer's orders and contracts",
                scopes=[Scope.ORDERS_READ], errors=[400, 404]),
)
async def list_customer_orders(
    customer_id: str, query: Annotated[CustomerOrderQuery, Query()], caller: CallerDep, services: BackendsDep
) -> Page[Order]:
    full = OrderListQuery(**query.model_dump(), customer_id=customer_id)
    return await _list(caller, services, full, customer_id)
