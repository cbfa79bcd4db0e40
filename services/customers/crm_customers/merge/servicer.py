"""gRPC transport for merges: translation only."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_customers.customer.access import apply_field_policies, readable
from crm_customers.customer.schemas import to_proto, ts
from crm_customers.customer.service import CustomerService
from crm_customers.merge.service import MergeService, undoable
from crm_platform.auth import Principal, Scope
from crm_platform.grpc_server import Call, rpc
from crm_platform.pagination import PageTokens
from crm_proto.crm.customers.v1 import merges_pb2 as pb
from crm_proto.crm.customers.v1 import merges_pb2_grpc

SERVICE_NAME = "crm.customers.v1.MergeService"


def merge_proto(caller: Principal, row: sa.Row[Any], survivor: sa.Row[Any] | None = None) -> pb.Merge:
    message = pb.Merge(
        id=str(row.id), survivor_id=str(row.survivor_id), merged_ids=[str(i) for i in row.merged_ids],
        values=dict(row.choices or {}), changed_fields=list(row.changed_fields), merged_by=row.merged_by,
        merged_at=ts(row.merged_at), expires_at=ts(row.expires_at), undone_at=ts(row.undone_at),
        undone_by=row.undone_by, undoable=undoable(row),
        survivor_name=row.survivor_name if readable(caller, "name") else "",
        survivor_code=row.survivor_code if readable(caller, "code") else "",
    )
    if survivor is not None:
        message.survivor.CopyFrom(apply_field_policies(caller, to_proto(survivor)))
    return message


class MergeServicer(merges_pb2_grpc.MergeServiceServicer):
    def __init__(self, engine: AsyncEngine, merges: MergeService):
        self.engine = engine
        self.merges = merges

    @rpc(Scope.CUSTOMERS_WRITE)
    async def MergeCustomers(self, request: pb.MergeCustomersRequest, call: Call) -> pb.Merge:
        merge, survivor = await self.merges.merge(
            call.session, call.principal, survivor_id=request.survivor_id, merged_ids=list(request.merged_ids),
            values=dict(request.values), expected_version=request.expected_version,
        )
        return merge_proto(call.principal, merge, survivor)

    @rpc(Scope.CUSTOMERS_WRITE)
    async def UndoMerge(self, request: pb.UndoMergeRequest, call: Call) -> pb.Merge:
        merge, survivor = await self.merges.undo(call.session, call.principal, request.id, force=request.force)
        return merge_proto(call.principal, merge, survivor)

    @rpc(Scope.CUSTOMERS_READ)
    async def GetMerge(self, request: pb.GetMergeRequest, call: Call) -> pb.Merge:
        return merge_proto(call.principal, await self.merges.get(call.session, call.principal, request.id))

    @rpc(Scope.CUSTOMERS_READ)
    async def ListMerges(self, request: pb.ListMergesRequest, call: Call) -> pb.ListMergesResponse:
        rows, next_token = await self.merges.list(
            call.session, call.principal, size=request.page_size, token=request.page_token,
            survivor_id=request.survivor_id,
        )
        return pb.ListMergesResponse(items=[merge_proto(call.principal, r) for r in rows],
                                     next_page_token=next_token)


def add_to_server(server: Any, engine: AsyncEngine, customers: CustomerService, page_tokens: PageTokens) -> str:
    """Registers MergeService (main.py `_register`); returns its name for health."""
    merges_pb2_grpc.add_MergeServiceServicer_to_server(MergeServicer(engine, MergeService(customers, page_tokens)),
                                                       server)
    return SERVICE_NAME
