"""gRPC transport for erasure: translation only."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from crm_customers.customer.schemas import ts
from crm_customers.erasure.service import ErasureService, erasure_service
from crm_platform.auth import Scope
from crm_platform.grpc_server import Call, rpc
from crm_proto.crm.customers.v1 import erasure_pb2 as pb
from crm_proto.crm.customers.v1 import erasure_pb2_grpc

SERVICE_NAME: str = pb.DESCRIPTOR.services_by_name["CustomerErasureService"].full_name


def erasure_proto(row: Any) -> pb.CustomerErasure:
    return pb.CustomerErasure(
        customer_id=str(row.customer_id), erased_at=ts(row.erased_at), erased_by=row.erased_by, reason=row.reason
    )


class CustomerErasureServicer(erasure_pb2_grpc.CustomerErasureServiceServicer):
    def __init__(self, engine: AsyncEngine, erasure: ErasureService):
        self.engine = engine
        self.erasure = erasure

    @rpc(Scope.CUSTOMERS_DELETE)
    async def EraseCustomer(self, request: pb.EraseCustomerRequest, call: Call) -> pb.CustomerErasure:
        return erasure_proto(await self.erasure.erase(
            call.session, call.principal, request.id, request.confirm, request.reason
        ))


def add_to_server(server: Any, engine: AsyncEngine) -> str:
    """Registers the service (one line in main.py's `_register`); returns its name for health."""
    servicer = CustomerErasureServicer(engine, erasure_service)
    erasure_pb2_grpc.add_CustomerErasureServiceServicer_to_server(servicer, server)
    return SERVICE_NAME
