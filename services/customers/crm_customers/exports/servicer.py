"""gRPC transport for customer exports: translation only."""

from __future__ import annotations

from typing import Any

import grpc
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_customers.customer.schemas import ts
from crm_customers.customer.service import CustomerService
from crm_customers.exports.service import CustomerExports, file_name
from crm_platform.auth import Scope
from crm_platform.grpc_server import Call, rpc
from crm_proto.crm.customers.v1 import exports_pb2 as pb
from crm_proto.crm.customers.v1 import exports_pb2_grpc

SERVICE_NAME = "crm.customers.v1.CustomerExportService"


def export_proto(row: Any) -> pb.CustomerExport:
    return pb.CustomerExport(
        id=str(row.id), status=row.status, format=row.format, filters=dict(row.filters), order_by=row.order_by,
        columns=list(row.columns), rows_done=row.rows_done, rows_total=row.rows_total, file_name=file_name(row),
        size_bytes=row.size_bytes, error=row.error, created_at=ts(row.created_at), finished_at=ts(row.finished_at),
        expires_at=ts(row.expires_at),
    )


class CustomerExportServicer(exports_pb2_grpc.CustomerExportServiceServicer):
    def __init__(self, engine: AsyncEngine, exports: CustomerExports):
        self.engine = engine
        self.exports = exports

    @rpc(Scope.CUSTOMERS_EXPORT)
    async def CreateCustomerExport(self, request: pb.CreateCustomerExportRequest, call: Call) -> pb.CustomerExport:
        return export_proto(await self.exports.create(
            call.session, call.principal, dict(request.filters), request.order_by, request.format,
            list(request.columns), dict(request.column_labels), dict(request.value_labels),
        ))

    @rpc(Scope.CUSTOMERS_EXPORT)
    async def GetCustomerExport(self, request: pb.GetCustomerExportRequest, call: Call) -> pb.CustomerExport:
        return export_proto(await self.exports.get(call.session, call.principal, request.id))

    @rpc(Scope.CUSTOMERS_EXPORT)
    async def ReadCustomerExportFile(
        self, request: pb.ReadCustomerExportFileRequest, call: Call
    ) -> pb.CustomerExportFilePart:
        data, content_type, name, last = await self.exports.read_part(
            call.session, call.principal, request.id, request.part
        )
        return pb.CustomerExportFilePart(data=data, content_type=content_type, file_name=name,
                                         next_part=request.part + 1, last=last)


def add_to_server(server: grpc.aio.Server, engine: AsyncEngine, customers: CustomerService) -> str:
    exports_pb2_grpc.add_CustomerExportServiceServicer_to_server(
        CustomerExportServicer(engine, CustomerExports(customers)), server
    )
    return SERVICE_NAME
