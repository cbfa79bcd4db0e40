"""gRPC transport for tagging: translation only."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from crm_platform import jobs
from crm_platform.auth import Scope
from crm_platform.errors import NotFound
from crm_platform.grpc_server import Call, rpc
from crm_proto.crm.tagging.v1 import tagging_pb2 as pb
from crm_proto.crm.tagging.v1 import tagging_pb2_grpc
from crm_tagging.autotag.schemas import job_to_proto, rule_to_proto
from crm_tagging.autotag.service import AutoTagService, RuleInput
from crm_tagging.batch.schemas import batch_to_proto
from crm_tagging.batch.service import BatchService
from crm_tagging.category.service import CategoryService
from crm_tagging.tag.schemas import (
    category_to_proto,
    customer_tag_to_proto,
    settings_to_proto,
    tag_to_proto,
    timestamp,
)
from crm_tagging.tag.service import TagService


def _optional(request: Any, field: str) -> Any:
    """A proto3 `optional` field's value, or None when the caller left it out."""
    return getattr(request, field) if request.HasField(field) else None

SERVICE_NAME = "crm.tagging.v1.TaggingService"


class TaggingServicer(tagging_pb2_grpc.TaggingServiceServicer):
    def __init__(self, engine: AsyncEngine, tags: TagService, autotag: AutoTagService,
                 categories: CategoryService | None = None, batches: BatchService | None = None):
        self.engine = engine
        self.tags = tags
        self.autotag = autotag
        self.categories = categories or CategoryService()
        self.batches = batches or BatchService(tags)

    @rpc(Scope.TAGS_MANAGE)
    async def CreateTag(self, request: pb.CreateTagRequest, call: Call) -> pb.Tag:
        return tag_to_proto(await self.tags.create(
            call.session, name=request.name, color=request.color, description=request.description,
            category_id=request.category_id, exclusive_group=request.exclusive_group))

    @rpc(Scope.TAGS_READ)
    async def GetTag(self, request: pb.GetTagRequest, call: Call) -> pb.Tag:
        return tag_to_proto(await self.tags.get(call.session, request.id, call.principal))

    @rpc(Scope.TAGS_MANAGE)
    async def UpdateTag(self, request: pb.UpdateTagRequest, call: Call) -> pb.Tag:
        return tag_to_proto(await self.tags.update(
            call.session, request.id, caller=call.principal, expected_version=request.expected_version,
            name=_optional(request, "name"), color=_optional(request, "color"),
            description=_optional(request, "description"), category_id=_optional(request, "category_id"),
            exclusive_group=_optional(request, "exclusive_group"), archived=_optional(request, "archived")))

    @rpc(Scope.TAGS_MANAGE)
    async def DeleteTag(self, request: pb.DeleteTagRequest, call: Call) -> pb.DeleteTagResponse:
        tag, customers, rules = await self.tags.delete(call.session, call.principal.tenant_id, call.principal.actor,
                                                       request.id, request.expected_version)
        return pb.DeleteTagResponse(tag=tag_to_proto(tag), removed_from_customers=customers, deleted_rules=rules)

    @rpc(Scope.TAGS_MANAGE)
    async def MergeTags(self, request: pb.MergeTagsRequest, call: Call) -> pb.MergeTagsResponse:
        target, moved, both, rules = await self.tags.merge(
            call.session, call.principal.tenant_id, call.principal.actor, source_tag_id=request.source_tag_id,
            target_tag_id=request.target_tag_id)
        return pb.MergeTagsResponse(target=tag_to_proto(target), moved_customers=moved, already_tagged=both,
                                    moved_rules=rules)

    @rpc(Scope.TAGS_READ)
    async def ListTagCategories(self, request: pb.ListTagCategoriesRequest,
                                call: Call) -> pb.ListTagCategoriesResponse:
        rows = await self.categories.list(call.session)
        return pb.ListTagCategoriesResponse(items=[category_to_proto(r) for r in rows])

    @rpc(Scope.TAGS_MANAGE)
    async def CreateTagCategory(self, request: pb.CreateTagCategoryRequest, call: Call) -> pb.TagCategory:
        return category_to_proto(await self.categories.create(
            call.session, name=request.name, description=request.description, position=request.position))

    @rpc(Scope.TAGS_MANAGE)
    async def UpdateTagCategory(self, request: pb.UpdateTagCategoryRequest, call: Call) -> pb.TagCategory:
        return category_to_proto(await self.categories.update(
            call.session, request.id, name=_optional(request, "name"),
            description=_optional(request, "description"), position=_optional(request, "position")))

    @rpc(Scope.TAGS_MANAGE)
    async def DeleteTagCategory(self, request: pb.DeleteTagCategoryRequest, call: Call) -> pb.TagCategory:
        return category_to_proto(await self.categories.delete(call.session, request.id))

    @rpc(Scope.TAGS_READ)
    async def GetTaggingSettings(self, request: pb.GetTaggingSettingsRequest, call: Call) -> pb.TaggingSettings:
        return settings_to_proto(await self.tags.settings(call.session))

    @rpc(Scope.TAGS_MANAGE)
    async def UpdateTaggingSettings(self, request: pb.UpdateTaggingSettingsRequest,
                                    call: Call) -> pb.TaggingSettings:
        return settings_to_proto(await self.tags.update_settings(
            call.session, max_tags_per_customer=_optional(request, "max_tags_per_customer"),
            expected_version=request.expected_version))

    @rpc(Scope.TAGS_READ)
    async def ListTags(self, request: pb.ListTagsRequest, call: Call) -> pb.ListTagsResponse:
        if request.ids:
            rows = await self.tags.with_ids(call.session, list(request.ids), call.principal)
            return pb.ListTagsResponse(items=[tag_to_proto(r) for r in rows])
        rows, next_token = await self.tags.list_page(call.session, size=request.page_size,
                                                token=request.page_token, category_id=request.category_id,
                                                state=request.state, caller=call.principal)
        return pb.ListTagsResponse(items=[tag_to_proto(r) for r in rows], next_page_token=next_token)

    @rpc(Scope.TAGS_MANAGE)
    async def CreateTagRule(self, request: pb.CreateTagRuleRequest, call: Call) -> pb.TagRule:
        row = await self.autotag.create_rule(call.session, call.principal.tenant_id, RuleInput(
            tag_id=request.tag_id, field=request.field, operator=request.operator, value=request.value,
            name=request.name, conditions_json=request.conditions_json or None, action=request.action or "add",
            priority=_optional(request, "priority")))
        return rule_to_proto(row)

    @rpc(Scope.TAGS_READ)
    async def GetTagRule(self, request: pb.GetTagRuleRequest, call: Call) -> pb.TagRule:
        return rule_to_proto(await self.autotag.get_rule(call.session, request.id))

    @rpc(Scope.TAGS_MANAGE)
    async def UpdateTagRule(self, request: pb.UpdateTagRuleRequest, call: Call) -> pb.TagRule:
        given = RuleInput(tag_id=_optional(request, "tag_id"), name=_optional(request, "name"),
                          conditions_json=_optional(request, "conditions_json"), action=_optional(request, "action"),
                          priority=_optional(request, "priority"), enabled=_optional(request, "enabled"))
        return rule_to_proto(await self.autotag.update_rule(call.session, call.principal.tenant_id, request.id, given,
                                                            request.expected_version))

    @rpc(Scope.TAGS_MANAGE)
    async def DeleteTagRule(self, request: pb.DeleteTagRuleRequest, call: Call) -> pb.DeleteTagRuleResponse:
        rule, taken = await self.autotag.delete_rule(call.session, call.principal.tenant_id, request.id,
                                                     take_back=request.take_back, actor=call.principal.actor)
        return pb.DeleteTagRuleResponse(rule=rule_to_proto(rule), tags_taken_back=taken)

    @rpc(Scope.TAGS_READ)
    async def PreviewTagRule(self, request: pb.PreviewTagRuleRequest, call: Call) -> pb.PreviewTagRuleResponse:
        count, sample, time_based = await self.autotag.preview(call.session, call.principal, request.conditions_json)
        return pb.PreviewTagRuleResponse(count=count, sample_customer_ids=[str(c) for c in sample],
                                         time_based=time_based)

    @rpc(Scope.TAGS_MANAGE)
    async def RerunTagRule(self, request: pb.RerunTagRuleRequest, call: Call) -> pb.TagJob:
        job_id = await self.autotag.request_rerun(call.session, call.principal.tenant_id, request.id)
        return await self._job(call, str(job_id))

    @rpc(Scope.TAGS_READ)
    async def GetTagJob(self, request: pb.GetTagJobRequest, call: Call) -> pb.TagJob:
        return await self._job(call, request.id)

    @rpc(Scope.CUSTOMERS_WRITE, Scope.TAGS_READ)
    async def StartTagBatch(self, request: pb.StartTagBatchRequest, call: Call) -> pb.TagBatch:
        return batch_to_proto(await self.batches.start(call.session, call.principal, action=request.action,
                                                       tag_ids=list(request.tag_ids),
                                                       customer_ids=list(request.customer_ids)))

    @rpc(Scope.TAGS_READ)
    async def GetTagBatch(self, request: pb.GetTagBatchRequest, call: Call) -> pb.TagBatch:
        return batch_to_proto(await self.batches.get(call.session, request.id))

    @rpc(Scope.CUSTOMERS_WRITE, Scope.TAGS_READ)
    async def UndoTagBatch(self, request: pb.UndoTagBatchRequest, call: Call) -> pb.TagBatch:
        return batch_to_proto(await self.batches.undo(call.session, call.principal, request.id))

    @rpc(Scope.TAGS_READ)
    async def GetTagUsage(self, request: pb.GetTagUsageRequest, call: Call) -> pb.TagUsage:
        rows, pairs = await self.tags.usage(call.session, call.principal)
        usage = pb.TagUsage(overlaps=[pb.TagOverlap(tag_id=str(p.tag_id), other_tag_id=str(p.other_tag_id),
                                                    both=p.both, ratio=float(p.ratio)) for p in pairs])
        for tag, history in rows:
            row = usage.rows.add(tag=tag_to_proto(tag))
            if history is not None:
                row.applied_90d, row.removed_90d = history.applied, history.removed
                row.applied_by_hand_90d, row.applied_by_rule_90d = history.by_hand, history.by_rule
                if history.last_applied is not None:
                    row.last_applied_at.CopyFrom(timestamp(history.last_applied))
        return usage

    async def _job(self, call: Call, job_id: str) -> pb.TagJob:
        """A job of the caller's tenant and of tagging's kinds; NotFound otherwise."""
        try:
            parsed = uuid.UUID(job_id)
        except ValueError:
            raise NotFound("no job with this id") from None
        row = await jobs.get(call.session, parsed)
        if row is None or str(row.tenant_id) != str(call.principal.tenant_id) or not row.kind.startswith("tagging."):
            raise NotFound("no job with this id")
        return job_to_proto(row)

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
