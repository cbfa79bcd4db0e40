"""gRPC transport for tagging: translation only."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from crm_platform.auth import Scope
from crm_platform.grpc_server import Call, rpc
from crm_proto.crm.tagging.v1 import tagging_pb2 as pb
from crm_proto.crm.tagging.v1 import tagging_pb2_grpc
from crm_tagging.autotag.schemas import rule_to_proto
from crm_tagging.autotag.service import AutoTagService
from crm_tagging.tag.schemas import customer_tag_to_proto, tag_to_proto
from crm_tagging.tag.service import TagService

SERVICE_NAME = "crm.tagging.v1.TaggingService"


class TaggingServicer(tagging_pb2_grpc.TaggingServiceServicer):
    def __init__(self, engine: AsyncEngine, tags: TagService, autotag: AutoTagService):
        self.engine = engine
        self.tags = tags
        self.autotag = autotag

    @rpc(Scope.TAGS_MANAGE)
    async def CreateTag(self, request: pb.CreateTagRequest, call: Call) -> pb.Tag:
        return tag_to_proto(await self.tags.create(call.session, name=request.name, color=request.color))

    @rpc(Scope.TAGS_READ)
    async def ListTags(self, request: pb.ListTagsRequest, call: Call) -> pb.ListTagsResponse:
        if request.ids:
            return pb.ListTagsResponse(items=[tag_to_proto(r) for r in await self.tags.with_ids(call.session,
                                                                                              list(request.ids))])
        rows, next_token = await self.tags.list_page(call.session, size=request.page_size,
                                                token=request.page_token)
        return pb.ListTagsResponse(items=[tag_to_proto(r) for r in rows], next_page_token=next_token)

    @rpc(Scope.TAGS_MANAGE)
    async def CreateTagRule(self, request: pb.CreateTagRuleRequest, call: Call) -> pb.TagRule:
        row = await self.autotag.create_rule(call.session, tag_id=request.tag_id, field=request.field,
                                             operator=request.operator, value=request.value)
        return rule_to_proto(row)

    @rpc(Scope.TAGS_READ)
    async def ListTagRules(self, request: pb.ListTagRulesRequest, call: Call) -> pb.ListTagRulesResponse:
        rows = await self.autotag.list_rules(call.session)
        return pb.ListTagRulesResponse(items=[rule_to_proto(r) for r in rows])

    @rpc(Scope.TAGS_READ)
    async def ListCustomerTags(self, request: pb.ListCustomerTagsRequest,
                               call: Call) -> pb.ListCustomerTagsResponse:
        rows = await self.tags.list_for_customer(call.session, call.principal, request.customer_id)
        return pb.ListCustomerTagsResponse(items=[customer_tag_to_proto(r) for r in rows])

    @rpc(Scope.CUSTOMERS_WRITE, Scope.TAGS_READ)
    async def ApplyCustomerTag(self, request: pb.ApplyCustomerTagRequest,
                               call: Call) -> pb.ApplyCustomerTagResponse:
        row, newly_applied = await self.tags.apply_by_hand(call.session, call.principal,
                                                           customer_id=request.customer_id, tag_id=request.tag_id)
        return pb.ApplyCustomerTagResponse(customer_tag=customer_tag_to_proto(row), newly_applied=newly_applied)

    @rpc(Scope.CUSTOMERS_WRITE, Scope.TAGS_READ)
    async def RemoveCustomerTag(self, request: pb.RemoveCustomerTagRequest,
                                call: Call) -> pb.RemoveCustomerTagResponse:
        row = await self.tags.remove_by_hand(call.session, call.principal, customer_id=request.customer_id,
                                             tag_id=request.tag_id)
        return pb.RemoveCustomerTagResponse(removed=customer_tag_to_proto(row))
