"""gRPC transport for duplicate scans and groups: translation only."""

from __future__ import annotations

from typing import Any

import grpc
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_customers.customer.access import apply_field_policies
from crm_customers.customer.schemas import to_proto, ts
from crm_customers.customer.servicer import possible_duplicate_proto
from crm_customers.duplicates.service import DuplicateService
from crm_customers.owners import service as owners
from crm_platform.auth import Scope
from crm_platform.grpc_server import Call, rpc
from crm_platform.pagination import PageTokens
from crm_proto.crm.customers.v1 import duplicates_pb2 as pb
from crm_proto.crm.customers.v1 import duplicates_pb2_grpc

SERVICE_NAME = "crm.customers.v1.DuplicateService"


def scan_proto(row: Any) -> pb.DuplicateScan:
    return pb.DuplicateScan(
        id=str(row.id), status=row.status, phase=row.phase, processed=row.processed, total=row.total,
        pairs_found=row.pairs_found, groups_found=row.groups_found, error=row.error, requested_by=row.requested_by,
        created_at=ts(row.created_at), started_at=ts(row.started_at), finished_at=ts(row.finished_at),
    )


class DuplicateServicer(duplicates_pb2_grpc.DuplicateServiceServicer):
    def __init__(self, engine: AsyncEngine, duplicates: DuplicateService):
        self.engine = engine
        self.duplicates = duplicates

    async def _group(self, call: Call, row: Any, members: list[Any]) -> pb.DuplicateGroup:
        visible = await self.duplicates.visible(call.session, call.principal, [m.id for m in members])
        shown = [m for m in members if m.id in visible]
        ids = {str(m.id) for m in shown}
        pairs = [p for p in row.pairs if p["a"] in ids and p["b"] in ids]
        members_out = [apply_field_policies(call.principal, to_proto(m)) for m in shown]
        await owners.attach_names(call.session, members_out)
        return pb.DuplicateGroup(
            id=str(row.id), status=row.status, confidence=row.confidence, reasons=list(row.reasons),
            members=members_out,
            pairs=[pb.DuplicatePair(a=p["a"], b=p["b"], confidence=p["confidence"], reasons=p["reasons"])
                   for p in pairs],
            hidden_members=len(members) - len(shown), scan_id=str(row.scan_id),
            created_at=ts(row.created_at), updated_at=ts(row.updated_at), size=row.size or len(members),
            too_large=row.too_large,
        )

    @rpc(Scope.CUSTOMERS_ADMIN)
    async def StartDuplicateScan(self, request: pb.StartDuplicateScanRequest, call: Call) -> pb.DuplicateScan:
        return scan_proto(await self.duplicates.start_scan(call.session, call.principal))

    @rpc(Scope.CUSTOMERS_ADMIN)
    async def GetDuplicateScan(self, request: pb.GetDuplicateScanRequest, call: Call) -> pb.DuplicateScan:
        return scan_proto(await self.duplicates.get_scan(call.session, request.id))

    @rpc(Scope.CUSTOMERS_ADMIN)
    async def ListDuplicateScans(
        self, request: pb.ListDuplicateScansRequest, call: Call
    ) -> pb.ListDuplicateScansResponse:
        rows = await self.duplicates.list_scans(call.session, request.page_size)
        return pb.ListDuplicateScansResponse(items=[scan_proto(r) for r in rows])

    @rpc(Scope.CUSTOMERS_READ)
    async def ListDuplicateGroups(
        self, request: pb.ListDuplicateGroupsRequest, call: Call
    ) -> pb.ListDuplicateGroupsResponse:
        rows, members, next_token = await self.duplicates.list_groups(
            call.session, call.principal, size=request.page_size, token=request.page_token, status=request.status
        )
        items = [await self._group(call, r, members.get(r.id, [])) for r in rows]
        return pb.ListDuplicateGroupsResponse(items=items, next_page_token=next_token)

    @rpc(Scope.CUSTOMERS_READ)
    async def GetDuplicateGroup(self, request: pb.GetDuplicateGroupRequest, call: Call) -> pb.DuplicateGroup:
        row, members = await self.duplicates.get_group(call.session, call.principal, request.id)
        return await self._group(call, row, members)

    @rpc(Scope.CUSTOMERS_ADMIN)
    async def DismissDuplicateGroup(
        self, request: pb.DismissDuplicateGroupRequest, call: Call
    ) -> pb.DuplicateGroup:
        row, members = await self.duplicates.dismiss(call.session, call.principal, request.id)
        return await self._group(call, row, members)

    @rpc(Scope.CUSTOMERS_READ)
    async def ListPossibleDuplicates(
        self, request: pb.ListPossibleDuplicatesRequest, call: Call
    ) -> pb.ListPossibleDuplicatesResponse:
        found = await self.duplicates.possible_duplicates(call.session, call.principal, request.customer_id)
        return pb.ListPossibleDuplicatesResponse(items=[possible_duplicate_proto(d) for d in found])


def add_to_server(server: grpc.aio.Server, engine: AsyncEngine, page_tokens: PageTokens) -> str:
    duplicates_pb2_grpc.add_DuplicateServiceServicer_to_server(
        DuplicateServicer(engine, DuplicateService(page_tokens)), server
    )
    return SERVICE_NAME
