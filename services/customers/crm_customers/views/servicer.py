"""gRPC transport for saved customer views: translation only."""

from __future__ import annotations

from typing import Any

import grpc
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_customers.customer.schemas import ts
from crm_customers.customer.service import CustomerService
from crm_customers.views.service import CustomerViews, ViewChanges
from crm_platform.auth import Scope
from crm_platform.grpc_server import Call, rpc
from crm_proto.crm.customers.v1 import views_pb2 as pb
from crm_proto.crm.customers.v1 import views_pb2_grpc

SERVICE_NAME = "crm.customers.v1.CustomerViewService"


def view_proto(row: Any) -> pb.CustomerView:
    return pb.CustomerView(
        id=str(row.id), name=row.name, filters=dict(row.filters), order_by=row.order_by, columns=list(row.columns),
        version=row.version, created_at=ts(row.created_at), updated_at=ts(row.updated_at),
    )


def changes(message: pb.CustomerViewInput) -> ViewChanges:
    return ViewChanges(
        name=message.name if message.HasField("name") else None,
        filters=dict(message.filters) if message.filters_set else None,
        order_by=message.order_by if message.HasField("order_by") else None,
        columns=list(message.columns) if message.columns_set else None,
    )


class CustomerViewServicer(views_pb2_grpc.CustomerViewServiceServicer):
    def __init__(self, engine: AsyncEngine, views: CustomerViews):
        self.engine = engine
        self.views = views

    @rpc(Scope.CUSTOMERS_READ)
    async def ListCustomerViews(self, request: pb.ListCustomerViewsRequest, call: Call) -> pb.ListCustomerViewsResponse:
        return pb.ListCustomerViewsResponse(
            items=[view_proto(r) for r in await self.views.list(call.session, call.principal)]
        )

    @rpc(Scope.CUSTOMERS_READ)
    async def GetCustomerView(self, request: pb.GetCustomerViewRequest, call: Call) -> pb.CustomerView:
        return view_proto(await self.views.get(call.session, call.principal, request.id))

    @rpc(Scope.CUSTOMERS_READ)
    async def CreateCustomerView(self, request: pb.CreateCustomerViewRequest, call: Call) -> pb.CustomerView:
        return view_proto(await self.views.create(call.session, call.principal, changes(request.view)))

    @rpc(Scope.CUSTOMERS_READ)
    async def UpdateCustomerView(self, request: pb.UpdateCustomerViewRequest, call: Call) -> pb.CustomerView:
        return view_proto(await self.views.update(
            call.session, call.principal, request.id, changes(request.view), request.expected_version
        ))

    @rpc(Scope.CUSTOMERS_READ)
    async def DeleteCustomerView(
        self, request: pb.DeleteCustomerViewRequest, call: Call
    ) -> pb.DeleteCustomerViewResponse:
        return pb.DeleteCustomerViewResponse(view=view_proto(await self.views.delete(
            call.session, call.principal, request.id
        )))


def add_to_server(server: grpc.aio.Server, engine: AsyncEngine, customers: CustomerService) -> str:
    views_pb2_grpc.add_CustomerViewServiceServicer_to_server(CustomerViewServicer(engine, CustomerViews(customers)),
                                                            server)
    return SERVICE_NAME
