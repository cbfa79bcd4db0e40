"""gRPC transport for the activity timeline: translation only."""

from __future__ import annotations

from typing import Any

import grpc
from google.protobuf.struct_pb2 import Struct
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_customers.activity.service import ActivityService, actor_names
from crm_customers.customer.schemas import ts
from crm_customers.customer.service import CustomerService
from crm_platform.auth import Scope
from crm_platform.grpc_server import Call, rpc
from crm_platform.pagination import PageTokens
from crm_proto.crm.customers.v1 import activity_pb2 as pb
from crm_proto.crm.customers.v1 import activity_pb2_grpc

SERVICE_NAME = "crm.customers.v1.CustomerActivityService"


def entry_proto(row: Any, data: dict[str, Any], actor_name: str = "") -> pb.ActivityEntry:
    struct = Struct()
    struct.update(data)
    return pb.ActivityEntry(id=str(row.id), customer_id=str(row.customer_id), occurred_at=ts(row.occurred_at),
                            kind=row.kind, actor=row.actor, data=struct, actor_name=actor_name)


class ActivityServicer(activity_pb2_grpc.CustomerActivityServiceServicer):
    def __init__(self, engine: AsyncEngine, activity: ActivityService):
        self.engine = engine
        self.activity = activity

    @rpc(Scope.CUSTOMERS_READ)
    async def ListCustomerActivity(
        self, request: pb.ListCustomerActivityRequest, call: Call
    ) -> pb.ListCustomerActivityResponse:
        entries, next_token = await self.activity.list(
            call.session, call.principal, request.customer_id, list(request.kinds), request.page_size,
            request.page_token,
        )
        names = await actor_names(call.session, entries)
        return pb.ListCustomerActivityResponse(
            items=[entry_proto(row, data, names.get(row.actor, "")) for row, data in entries],
            next_page_token=next_token,
        )


def add_to_server(server: grpc.aio.Server, engine: AsyncEngine, customers: CustomerService,
                  page_tokens: PageTokens) -> str:
    activity_pb2_grpc.add_CustomerActivityServiceServicer_to_server(
        ActivityServicer(engine, ActivityService(page_tokens, customers)), server
    )
    return SERVICE_NAME
