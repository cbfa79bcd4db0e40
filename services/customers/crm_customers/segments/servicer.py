"""gRPC transport for saved segments: translation only (service.py)."""

from __future__ import annotations

from typing import Any

import grpc
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_customers.customer.schemas import ts
from crm_customers.customer.service import CustomerService
from crm_customers.segments.definition import Definition
from crm_customers.segments.service import Counted, SegmentChanges, Segments
from crm_platform.auth import Scope
from crm_platform.grpc_server import Call, rpc
from crm_proto.crm.customers.v1 import segments_pb2 as pb
from crm_proto.crm.customers.v1 import segments_pb2_grpc

SERVICE_NAME = "crm.customers.v1.SegmentService"


def definition_proto(stored: dict[str, Any]) -> pb.SegmentDefinition:
    d = Definition.from_stored(stored)
    return pb.SegmentDefinition(
        all_tags=list(d.all_tags), any_tags=list(d.any_tags), none_tags=list(d.none_tags), filters=d.filters,
        spend_12m_min=d.spend_12m_min, spend_12m_max=d.spend_12m_max, spend_currency=d.spend_currency,
        orders_30d_min=d.orders_30d_min, orders_30d_max=d.orders_30d_max, value_segments=list(d.value_segments),
    )


def definition_from(message: pb.SegmentDefinition) -> Definition:
    return Definition(
        all_tags=tuple(message.all_tags), any_tags=tuple(message.any_tags), none_tags=tuple(message.none_tags),
        filters=dict(message.filters), spend_12m_min=message.spend_12m_min, spend_12m_max=message.spend_12m_max,
        spend_currency=message.spend_currency, orders_30d_min=message.orders_30d_min,
        orders_30d_max=message.orders_30d_max, value_segments=tuple(message.value_segments),
    )


def segment_proto(row: Any) -> pb.Segment:
    return pb.Segment(
        id=str(row.id), name=row.name, description=row.description, visibility=row.visibility, owner=row.owner,
        definition=definition_proto(row.definition), version=row.version, created_at=ts(row.created_at),
        updated_at=ts(row.updated_at),
    )


def changes(message: pb.SegmentInput) -> SegmentChanges:
    return SegmentChanges(
        name=message.name if message.HasField("name") else None,
        description=message.description if message.HasField("description") else None,
        visibility=message.visibility if message.HasField("visibility") else None,
        definition=definition_from(message.definition) if message.definition_set else None,
    )


def counted_proto(counted: Counted) -> pb.SegmentCount:
    return pb.SegmentCount(count=counted.count, sample=[
        pb.SegmentSample(id=str(r.id), name=r.name, code=r.code or "") for r in counted.sample
    ])


class SegmentServicer(segments_pb2_grpc.SegmentServiceServicer):
    def __init__(self, engine: AsyncEngine, segments: Segments):
        self.engine = engine
        self.segments = segments

    @rpc(Scope.CUSTOMERS_READ, read_only=True)
    async def ListSegments(self, request: pb.ListSegmentsRequest, call: Call) -> pb.ListSegmentsResponse:
        return pb.ListSegmentsResponse(items=[segment_proto(r) for r in await self.segments.list(
            call.session, call.principal)])

    @rpc(Scope.CUSTOMERS_READ, read_only=True)
    async def GetSegment(self, request: pb.GetSegmentRequest, call: Call) -> pb.Segment:
        return segment_proto(await self.segments.get(call.session, call.principal, request.id))

    @rpc(Scope.CUSTOMERS_READ)
    async def CreateSegment(self, request: pb.CreateSegmentRequest, call: Call) -> pb.Segment:
        return segment_proto(await self.segments.create(call.session, call.principal, changes(request.segment)))

    @rpc(Scope.CUSTOMERS_READ)
    async def UpdateSegment(self, request: pb.UpdateSegmentRequest, call: Call) -> pb.Segment:
        return segment_proto(await self.segments.update(
            call.session, call.principal, request.id, changes(request.segment), request.expected_version))

    @rpc(Scope.CUSTOMERS_READ)
    async def DeleteSegment(self, request: pb.DeleteSegmentRequest, call: Call) -> pb.Segment:
        return segment_proto(await self.segments.delete(call.session, call.principal, request.id))

    @rpc(Scope.CUSTOMERS_READ, read_only=True)
    async def CountSegment(self, request: pb.CountSegmentRequest, call: Call) -> pb.SegmentCount:
        return counted_proto(await self.segments.count(call.session, call.principal, request.id))

    @rpc(Scope.CUSTOMERS_READ, read_only=True)
    async def PreviewSegment(self, request: pb.PreviewSegmentRequest, call: Call) -> pb.SegmentCount:
        return counted_proto(await self.segments.preview(
            call.session, call.principal, definition_from(request.definition), request.sample_size))


def add_to_server(server: grpc.aio.Server, engine: AsyncEngine, customers: CustomerService) -> str:
    segments_pb2_grpc.add_SegmentServiceServicer_to_server(SegmentServicer(engine, Segments(customers)), server)
    return SERVICE_NAME
