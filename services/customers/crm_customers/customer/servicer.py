"""gRPC transport for customers: translation only."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from crm_customers.customer.schemas import sent_fields, to_proto
from crm_customers.customer.service import CustomerService
from crm_platform.auth import Scope
from crm_platform.grpc_server import Call, rpc
from crm_proto.crm.customers.v1 import customers_pb2 as pb
from crm_proto.crm.customers.v1 import customers_pb2_grpc

SERVICE_NAME = "crm.customers.v1.CustomerService"


class CustomerServicer(customers_pb2_grpc.CustomerServiceServicer):
    def __init__(self, engine: AsyncEngine, customers: CustomerService):
        self.engine = engine
        self.customers = customers

    @rpc(Scope.CUSTOMERS_WRITE)
    async def CreateCustomer(self, request: pb.CreateCustomerRequest, call: Call) -> pb.Customer:
        return to_proto(await self.customers.create(call.session, call.principal, sent_fields(request.customer)))

    @rpc(Scope.CUSTOMERS_READ)
    async def GetCustomer(self, request: pb.GetCustomerRequest, call: Call) -> pb.Customer:
        return to_proto(await self.customers.get(call.session, request.id))

    @rpc(Scope.CUSTOMERS_READ)
    async def ListCustomers(self, request: pb.ListCustomersRequest, call: Call) -> pb.ListCustomersResponse:
        rows, next_token = await self.customers.list(
            call.session,
            size=request.page_size,
            token=request.page_token,
            order_by=request.order_by,
            industry=request.industry,
            status=request.status,
            q=request.q,
        )
        return pb.ListCustomersResponse(items=[to_proto(r) for r in rows], next_page_token=next_token)

    @rpc(Scope.CUSTOMERS_WRITE)
    async def UpdateCustomer(self, request: pb.UpdateCustomerRequest, call: Call) -> pb.Customer:
        row = await self.customers.update(
            call.session, call.principal, request.id, sent_fields(request.customer), request.expected_version
        )
        return to_proto(row)
