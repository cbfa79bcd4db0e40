"""gRPC transport for mass changes: translation only."""

from __future__ import annotations

from typing import Any

import grpc
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from crm_customers.bulk.service import BulkChangeService, filter_request
from crm_customers.customer.schemas import ts
from crm_customers.customer.service import CustomerService
from crm_platform.auth import Scope
from crm_platform.grpc_server import Call, rpc
from crm_platform.pagination import PageTokens
from crm_proto.crm.customers.v1 import bulk_changes_pb2 as pb
from crm_proto.crm.customers.v1 import bulk_changes_pb2_grpc

SERVICE_NAME = "crm.customers.v1.CustomerBulkChangeService"


class BulkChangeServicer(bulk_changes_pb2_grpc.CustomerBulkChangeServiceServicer):
    def __init__(self, engine: AsyncEngine, bulk: BulkChangeService):
        self.engine = engine
        self.bulk = bulk

    async def _out(self, session: AsyncSession, row: Any, size: int = 0, token: str = "") -> pb.BulkChange:
        failures, next_token = await self.bulk.failures(session, row, size, token)
        changes = row.changes
        message = pb.BulkChange(
            id=str(row.id), status=row.status, filter=filter_request(row.filter),
            set=pb.BulkChangeSet(owner_id=changes.get("owner_id", ""), status=changes.get("status", ""),
                                 reason=changes.get("reason", "")),
            processed=row.processed, changed=row.changed, unchanged=row.unchanged, failed=row.failed,
            failures=[pb.BulkChangeFailure(customer_id=str(f.customer_id), code=f.code) for f in failures],
            failures_next_page_token=next_token, created_by=row.created_by, created_at=ts(row.created_at),
            updated_at=ts(row.updated_at), finished_at=ts(row.finished_at),
        )
        if row.total is not None:
            message.total = row.total
        return message

    @rpc(Scope.CUSTOMERS_WRITE)
    async def StartBulkChange(self, request: pb.StartBulkChangeRequest, call: Call) -> pb.BulkChange:
        row = await self.bulk.start(call.session, call.principal, request.filter, request.set)
        return await self._out(call.session, row)

    @rpc(Scope.CUSTOMERS_READ)
    async def GetBulkChange(self, request: pb.GetBulkChangeRequest, call: Call) -> pb.BulkChange:
        row = await self.bulk.get(call.session, call.principal, request.id)
        return await self._out(call.session, row, request.failures_page_size, request.failures_page_token)

    @rpc(Scope.CUSTOMERS_WRITE)
    async def CancelBulkChange(self, request: pb.CancelBulkChangeRequest, call: Call) -> pb.BulkChange:
        row = await self.bulk.cancel(call.session, call.principal, request.id)
        return await self._out(call.session, row)

    @rpc(Scope.CUSTOMERS_READ)
    async def CountBulkChangeTargets(
        self, request: pb.CountBulkChangeTargetsRequest, call: Call
    ) -> pb.CountBulkChangeTargetsResponse:
        count, more = await self.bulk.count(call.session, call.principal, request.filter)
        return pb.CountBulkChangeTargetsResponse(count=count, more=more)


def add_to_server(server: grpc.aio.Server, engine: AsyncEngine, customers: CustomerService,
                  page_tokens: PageTokens) -> str:
    bulk_changes_pb2_grpc.add_CustomerBulkChangeServiceServicer_to_server(
        BulkChangeServicer(engine, BulkChangeService(page_tokens, customers)), server
    )
    return SERVICE_NAME
