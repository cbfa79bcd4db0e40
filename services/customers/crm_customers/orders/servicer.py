"""gRPC transport for orders and contracts: translation only."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from crm_customers.orders.service import OrderService
from crm_platform.auth import Scope
from crm_platform.grpc_server import Call, rpc
from crm_proto.crm.customers.v1 import orders_pb2 as pb
from crm_proto.crm.customers.v1 import orders_pb2_grpc

SERVICE_NAME = "crm.customers.v1.OrderService"


class OrderServicer(orders_pb2_grpc.OrderServiceServicer):
    def __init__(self, engine: AsyncEngine, orders: OrderService):
        self.engine = engine
        self.orders = orders

    @rpc(Scope.ORDERS_WRITE)
    async def UpsertOrder(self, request: pb.UpsertOrderRequest, call: Call) -> pb.UpsertOrderResponse:
        order, result = await self.orders.upsert(call.session, call.principal, request.order)
        return pb.UpsertOrderResponse(order=order, result=result)

    @rpc(Scope.ORDERS_WRITE)
    async def BatchUpsertOrders(
        self, request: pb.BatchUpsertOrdersRequest, call: Call
    ) -> pb.BatchUpsertOrdersResponse:
        results = await self.orders.batch(call.session, call.principal, list(request.orders))
        return pb.BatchUpsertOrdersResponse(
            results=[
                pb.BatchRowResult(
                    index=r.index, external_id=r.external_id, result=r.result, order=r.order,
                    errors=[pb.RowError(field=e.field, code=e.code, message=e.message) for e in r.errors],
                )
                for r in results
            ],
            written=sum(r.result in ("created", "updated") for r in results),
            invalid=sum(r.result == "invalid" for r in results),
        )

    @rpc(Scope.ORDERS_READ)
    async def GetOrder(self, request: pb.GetOrderRequest, call: Call) -> pb.Order:
        return await self.orders.get(call.session, call.principal, request.id)

    @rpc(Scope.ORDERS_READ)
    async def ListOrders(self, request: pb.ListOrdersRequest, call: Call) -> pb.ListOrdersResponse:
        items, next_token = await self.orders.list(
            call.session, call.principal, size=request.page_size, token=request.page_token,
            customer_id=request.customer_id, status=request.status, kind=request.kind,
            ordered_after=request.ordered_after, ordered_before=request.ordered_before,
        )
        return pb.ListOrdersResponse(items=items, next_page_token=next_token)
