"""gRPC transport of `crm.followups.v1.InboundMailService`: translation only."""

from __future__ import annotations

from typing import Final

from sqlalchemy.ext.asyncio import AsyncEngine

from crm_followups.inbound.service import InboundService, Mailbox
from crm_platform.auth import Scope
from crm_platform.grpc_server import Call, rpc
from crm_proto.crm.followups.v1 import inbound_pb2 as pb
from crm_proto.crm.followups.v1 import inbound_pb2_grpc

SERVICE_NAME: Final = "crm.followups.v1.InboundMailService"


def address_pb(box: Mailbox) -> pb.InboundAddress:
    return pb.InboundAddress(local_part=box.local_part, domain=box.domain)


class InboundMailServicer(inbound_pb2_grpc.InboundMailServiceServicer):
    def __init__(self, engine: AsyncEngine, service: InboundService):
        self.engine = engine
        self.service = service

    @rpc(Scope.FOLLOWUPS_READ)
    async def GetInboundAddress(self, request: pb.GetInboundAddressRequest, call: Call) -> pb.InboundAddress:
        return address_pb(await self.service.address(call.session, call.principal.tenant_id))

    @rpc(Scope.FOLLOWUPS_MANAGE)
    async def RotateInboundAddress(self, request: pb.RotateInboundAddressRequest, call: Call) -> pb.InboundAddress:
        return address_pb(await self.service.address(call.session, call.principal.tenant_id, rotate=True))
