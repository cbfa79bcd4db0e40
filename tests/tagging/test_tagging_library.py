"""The tag library through the real gRPC edge (docs/tagging.md): built-in and own categories,
rename / archive / merge / delete of tags with their customers and rules, exclusive groups, the
per-customer limit for people and for rules, and the usage history every change writes."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import grpc
import pytest
import sqlalchemy as sa
from joserfc.jwk import ECKey
from nats.aio.client import Client as NATS
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_platform.consumer import EventConsumer
from crm_platform.db import tenant_session
from crm_platform.errors import decode_rpc_error
from crm_platform.events import CloudEvent, event_type
from crm_platform.grpc_client import call_metadata
from crm_platform.ids import new_id
from crm_proto.crm.tagging.v1 import tagging_pb2 as pb
from crm_proto.crm.tagging.v1 import tagging_pb2_grpc
from crm_tagging import access
from crm_tagging.autotag import facts
from crm_tagging.autotag.service import AutoTagService
from crm_tagging.tag.tables import tag_history
from tests.support import Customers, access_token
from tests.tagging.test_tagging_api import field_errors, rejected
from tests.tagging.test_tagging_autotag import tag_rows
from tests.tagging.test_tagging_manual import tag_events

TokenFor = Callable[[uuid.UUID, list[str]], tuple[tuple[str, str], ...]]
Stub = tagging_pb2_grpc.TaggingServiceStub

MANAGE = ["tags:manage", "tags:read"]
TAGGER = ["customers:write", "tags:read"]


async def tag(tagging: Stub, md: tuple[tuple[str, str], ...], name: str, **extra: str) -> pb.Tag:
    return await tagging.CreateTag(pb.CreateTagRequest(name=name, **extra), metadata=md)


async def put(tagging: Stub, md: tuple[tuple[str, str], ...], customer: str, tag_id: str) -> bool:
    reply = await tagging.ApplyCustomerTag(pb.ApplyCustomerTagRequest(customer_id=customer, tag_id=tag_id),
                                           metadata=md)
    return bool(reply.newly_applied)


async def carried(tagging: Stub, md: tuple[tuple[str, str], ...], customer: str) -> list[str]:
    reply = await tagging.ListCustomerTags(pb.ListCustomerTagsRequest(customer_id=customer), metadata=md)
    return sorted(t.tag_name for t in reply.items)


async def test_every_tenant_starts_with_the_four_guide_categories_and_may_add_its_own(
    tagging: Stub, tenant_id: uuid.UUID, provision_tenant: Callable[[], uuid.UUID], token_for: TokenFor
) -> None:
    md = token_for(tenant_id, MANAGE)
    built_in = (await tagging.ListTagCategories(pb.ListTagCategoriesRequest(), metadata=md)).items
    assert [c.key for c in built_in] == ["basic", "behaviour", "value", "preference"]

    own = await tagging.CreateTagCategory(pb.CreateTagCategoryRequest(name=" 渠道 ", description="来源渠道"),
                                          metadata=md)
    taken = await rejected(tagging.CreateTagCategory(pb.CreateTagCategoryRequest(name="渠道"), metadata=md))
    assert (taken.code(), decode_rpc_error(taken).code) == (grpc.StatusCode.ALREADY_EXISTS, "category_name_taken")
    vip = await tag(tagging, md, "VIP", category_id=own.id)
    listed = (await tagging.ListTagCategories(pb.ListTagCategoriesRequest(), metadata=md)).items
    assert [(c.name, c.key, c.tag_count) for c in listed][-1] == ("渠道", "", 1)

    # Another tenant sees only its own four.
    theirs = (await tagging.ListTagCategories(pb.ListTagCategoriesRequest(),
                                              metadata=token_for(provision_tenant(), MANAGE))).items
    assert len(theirs) == 4 and own.id not in {c.id for c in theirs}

    builtin = await rejected(tagging.DeleteTagCategory(pb.DeleteTagCategoryRequest(id=built_in[0].id), metadata=md))
    assert decode_rpc_error(builtin).code == "builtin_category"
    renamed = await tagging.UpdateTagCategory(pb.UpdateTagCategoryRequest(id=built_in[0].id, name="基本信息标签"),
                                              metadata=md)
    assert (renamed.name, renamed.key) == ("基本信息标签", "basic")

    await tagging.DeleteTagCategory(pb.DeleteTagCategoryRequest(id=own.id), metadata=md)
    assert (await tagging.GetTag(pb.GetTagRequest(id=vip.id), metadata=md)).category_id == ""


async def test_create_and_patch_validate_every_field_and_write_nothing_on_error(
    tagging: Stub, tenant_id: uuid.UUID, token_for: TokenFor
) -> None:
    md = token_for(tenant_id, MANAGE)
    bad = await rejected(tagging.CreateTag(pb.CreateTagRequest(
        name="", color="red", description="x" * 501, category_id=str(new_id())), metadata=md))
    assert field_errors(bad) == [("category_id", "unknown_category"), ("color", "invalid_color"),
                                 ("description", "too_long"), ("name", "required")]
    vip = await tag(tagging, md, "VIP", description="大客户")
    await tag(tagging, md, "Normal")

    patch = await rejected(tagging.UpdateTag(pb.UpdateTagRequest(id=vip.id, name="", color="#zzzzzz"), metadata=md))
    assert field_errors(patch) == [("color", "invalid_color"), ("name", "required")]
    clash = await rejected(tagging.UpdateTag(pb.UpdateTagRequest(id=vip.id, name="normal"), metadata=md))
    assert decode_rpc_error(clash).code == "tag_name_taken"
    stale = await rejected(tagging.UpdateTag(pb.UpdateTagRequest(id=vip.id, expected_version=7, name="X"),
                                             metadata=md))
    assert stale.code() == grpc.StatusCode.FAILED_PRECONDITION
    unchanged = await tagging.GetTag(pb.GetTagRequest(id=vip.id), metadata=md)
    assert (unchanged.name, unchanged.color, unchanged.version) == ("VIP", vip.color, 1)

    renamed = await tagging.UpdateTag(pb.UpdateTagRequest(id=vip.id, expected_version=1, name="重要客户",
                                                          description=""), metadata=md)
    assert (renamed.name, renamed.description, renamed.color, renamed.version) == ("重要客户", "", vip.color, 2)
    missing = await rejected(tagging.GetTag(pb.GetTagRequest(id="not-an-id"), metadata=md))
    assert missing.code() == grpc.StatusCode.NOT_FOUND


async def test_archived_tags_stay_on_customers_and_are_applied_no_more(
    tagging: Stub, autotag_service: AutoTagService, engine: AsyncEngine, tenant_id: uuid.UUID,
    token_for: TokenFor,
) -> None:
    md, hand = token_for(tenant_id, MANAGE), token_for(tenant_id, TAGGER)
    vip = await tag(tagging, md, "VIP")
    first, second = str(new_id()), new_id()
    await put(tagging, hand, first, vip.id)
    await tagging.CreateTagRule(pb.CreateTagRuleRequest(tag_id=vip.id, field="industry", operator="equals",
                                                        value="IT"), metadata=md)

    archived = await tagging.UpdateTag(pb.UpdateTagRequest(id=vip.id, archived=True), metadata=md)
    assert archived.archived and archived.HasField("archived_at") and archived.customer_count == 1

    refused = await rejected(tagging.ApplyCustomerTag(pb.ApplyCustomerTagRequest(customer_id=str(second),
                                                                                 tag_id=vip.id), metadata=hand))
    assert field_errors(refused) == [("tag_id", "tag_archived")]
    async with tenant_session(engine, tenant_id) as session:
        await facts.record_customer(session, second, {"id": str(second), "industry": "IT", "version": 1},
                                    status_changed=False)
        assert await autotag_service.tag_customer(session, tenant_id, second) == []
    assert await carried(tagging, hand, first) == ["VIP"]
    active = await tagging.ListTags(pb.ListTagsRequest(state="active"), metadata=md)
    assert list(active.items) == []
    restored = await tagging.UpdateTag(pb.UpdateTagRequest(id=vip.id, archived=False), metadata=md)
    assert not restored.archived
    assert await put(tagging, hand, str(second), vip.id)


async def test_the_eleventh_tag_is_refused_and_the_limit_is_a_tenant_setting(
    tagging: Stub, tenant_id: uuid.UUID, token_for: TokenFor
) -> None:
    md, hand = token_for(tenant_id, MANAGE), token_for(tenant_id, TAGGER)
    settings = await tagging.GetTaggingSettings(pb.GetTaggingSettingsRequest(), metadata=md)
    assert settings.max_tags_per_customer == 10
    tags = [await tag(tagging, md, f"T{i:02}") for i in range(12)]
    customer = str(new_id())
    for t in tags[:10]:
        assert await put(tagging, hand, customer, t.id)

    eleventh = await rejected(tagging.ApplyCustomerTag(pb.ApplyCustomerTagRequest(customer_id=customer,
                                                                                  tag_id=tags[10].id), metadata=hand))
    detail = decode_rpc_error(eleventh)
    assert (eleventh.code(), detail.code, detail.extra["limit"]) == (grpc.StatusCode.ALREADY_EXISTS,
                                                                      "tag_limit_reached", 10)
    assert not await put(tagging, hand, customer, tags[0].id)  # one already there is still fine

    out_of_range = await rejected(tagging.UpdateTaggingSettings(
        pb.UpdateTaggingSettingsRequest(max_tags_per_customer=0), metadata=md))
    assert field_errors(out_of_range) == [("max_tags_per_customer", "out_of_range")]
    raised = await tagging.UpdateTaggingSettings(pb.UpdateTaggingSettingsRequest(max_tags_per_customer=11),
                                                 metadata=md)
    assert (raised.max_tags_per_customer, raised.version) == (11, 2)
    assert await put(tagging, hand, customer, tags[10].id)
    refused = await rejected(tagging.ApplyCustomerTag(pb.ApplyCustomerTagRequest(customer_id=customer,
                                                                                 tag_id=tags[11].id), metadata=hand))
    assert decode_rpc_error(refused).extra["limit"] == 11
    assert len(await carried(tagging, hand, customer)) == 11
    other = await rejected(tagging.UpdateTaggingSettings(pb.UpdateTaggingSettingsRequest(max_tags_per_customer=5),
                                                         metadata=token_for(tenant_id, ["tags:read"])))
    assert other.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_rules_skip_a_customer_at_the_limit_in_rule_order(
    tagging: Stub, autotag_service: AutoTagService, engine: AsyncEngine, tenant_id: uuid.UUID,
    token_for: TokenFor,
) -> None:
    md = token_for(tenant_id, MANAGE)
    await tagging.UpdateTaggingSettings(pb.UpdateTaggingSettingsRequest(max_tags_per_customer=2), metadata=md)
    names = ["First", "Second", "Third"]
    for name in names:
        t = await tag(tagging, md, name)
        await tagging.CreateTagRule(pb.CreateTagRuleRequest(tag_id=t.id, field="industry", operator="equals",
                                                            value="IT"), metadata=md)
    customer = new_id()
    async with tenant_session(engine, tenant_id) as session:
        await facts.record_customer(session, customer, {"id": str(customer), "industry": "IT", "version": 1},
                                    status_changed=False)
        applied = await autotag_service.tag_customer(session, tenant_id, customer)
    assert [r.tag_name for r in applied] == ["First", "Second"]
    assert len(await tag_rows(engine, tenant_id)) == 2


async def test_an_exclusive_group_keeps_one_tag_per_customer(
    tagging: Stub, engine: AsyncEngine, tenant_id: uuid.UUID, token_for: TokenFor
) -> None:
    md, hand = token_for(tenant_id, MANAGE), token_for(tenant_id, TAGGER)
    vip = await tag(tagging, md, "VIP", exclusive_group="Tier ")
    normal = await tag(tagging, md, "Normal", exclusive_group="tier")
    other = await tag(tagging, md, "Likes phone")
    assert vip.exclusive_group == normal.exclusive_group == "tier"
    customer = str(new_id())
    await put(tagging, hand, customer, other.id)
    await put(tagging, hand, customer, normal.id)
    await put(tagging, hand, customer, vip.id)

    assert await carried(tagging, hand, customer) == ["Likes phone", "VIP"]
    events = [(e["type"], e["data"]["tag_name"]) for e in await tag_events(engine, tenant_id)]
    assert events[-2:] == [("crm.tag.removed", "Normal"), ("crm.tag.applied", "VIP")]


async def test_merge_moves_customers_and_rules_and_deletes_the_source(
    tagging: Stub, engine: AsyncEngine, tenant_id: uuid.UUID, token_for: TokenFor
) -> None:
    md, hand = token_for(tenant_id, MANAGE), token_for(tenant_id, TAGGER)
    vip, big = await tag(tagging, md, "VIP"), await tag(tagging, md, "大客户")
    only_vip, both = str(new_id()), str(new_id())
    await put(tagging, hand, only_vip, vip.id)
    await put(tagging, hand, both, vip.id)
    await put(tagging, hand, both, big.id)
    await tagging.CreateTagRule(pb.CreateTagRuleRequest(tag_id=vip.id, field="industry", operator="equals",
                                                        value="IT"), metadata=md)

    same = await rejected(tagging.MergeTags(pb.MergeTagsRequest(source_tag_id=vip.id, target_tag_id=vip.id),
                                            metadata=md))
    assert field_errors(same) == [("target_tag_id", "same_tag")]
    merged = await tagging.MergeTags(pb.MergeTagsRequest(source_tag_id=vip.id, target_tag_id=big.id), metadata=md)

    assert (merged.moved_customers, merged.already_tagged, merged.moved_rules) == (1, 1, 1)
    assert merged.target.customer_count == 2
    assert await carried(tagging, hand, only_vip) == ["大客户"]
    assert await carried(tagging, hand, both) == ["大客户"]
    rules = (await tagging.ListTagRules(pb.ListTagRulesRequest(), metadata=md)).items
    assert [r.tag_id for r in rules] == [big.id]
    gone = await rejected(tagging.GetTag(pb.GetTagRequest(id=vip.id), metadata=md))
    assert gone.code() == grpc.StatusCode.NOT_FOUND
    changes = [(e["type"], e["data"]["tag_name"], e["data"]["customer_id"])
               for e in await tag_events(engine, tenant_id)][3:]
    assert sorted(changes) == sorted([("crm.tag.removed", "VIP", only_vip), ("crm.tag.removed", "VIP", both),
                                      ("crm.tag.applied", "大客户", only_vip)])


async def test_delete_takes_the_tag_off_every_customer_and_says_how_many(
    tagging: Stub, engine: AsyncEngine, tenant_id: uuid.UUID, provision_tenant: Callable[[], uuid.UUID],
    token_for: TokenFor,
) -> None:
    md, hand = token_for(tenant_id, MANAGE), token_for(tenant_id, TAGGER)
    vip = await tag(tagging, md, "VIP")
    customers = [str(new_id()) for _ in range(3)]
    for customer in customers:
        await put(tagging, hand, customer, vip.id)
    await tagging.CreateTagRule(pb.CreateTagRuleRequest(tag_id=vip.id, field="industry", operator="equals",
                                                        value="IT"), metadata=md)
    assert (await tagging.GetTag(pb.GetTagRequest(id=vip.id), metadata=md)).customer_count == 3

    elsewhere = await rejected(tagging.DeleteTag(pb.DeleteTagRequest(id=vip.id),
                                                 metadata=token_for(provision_tenant(), MANAGE)))
    assert elsewhere.code() == grpc.StatusCode.NOT_FOUND
    deleted = await tagging.DeleteTag(pb.DeleteTagRequest(id=vip.id), metadata=md)

    assert (deleted.tag.name, deleted.removed_from_customers, deleted.deleted_rules) == ("VIP", 3, 1)
    assert await tag_rows(engine, tenant_id) == []
    removed = [e for e in await tag_events(engine, tenant_id) if e["type"] == "crm.tag.removed"]
    assert sorted(e["data"]["customer_id"] for e in removed) == sorted(customers)
    assert list((await tagging.ListTagRules(pb.ListTagRulesRequest(), metadata=md)).items) == []


async def test_every_change_is_kept_in_the_usage_history(
    tagging: Stub, engine: AsyncEngine, tenant_id: uuid.UUID, token_for: TokenFor
) -> None:
    md, hand = token_for(tenant_id, MANAGE), token_for(tenant_id, TAGGER)
    vip = await tag(tagging, md, "VIP")
    customer = str(new_id())
    await put(tagging, hand, customer, vip.id)
    await tagging.RemoveCustomerTag(pb.RemoveCustomerTagRequest(customer_id=customer, tag_id=vip.id), metadata=hand)
    async with tenant_session(engine, tenant_id) as session:
        rows = (await session.execute(sa.select(tag_history.c.action, tag_history.c.source, tag_history.c.actor)
                                      .order_by(tag_history.c.id))).all()
    assert [tuple(r) for r in rows] == [("applied", "manual", "client:test"), ("removed", "manual", "client:test")]


@pytest.mark.parametrize("state", ["gone", "ARCHIVED"])
async def test_a_bad_list_filter_is_a_field_error(tagging: Stub, tenant_id: uuid.UUID, token_for: TokenFor,
                                                  state: str) -> None:
    error = await rejected(tagging.ListTags(pb.ListTagsRequest(state=state), metadata=token_for(tenant_id, MANAGE)))
    assert field_errors(error) == [("state", "invalid_choice")]


async def test_customer_counts_obey_the_callers_data_scope(
    tagging: Stub, engine: AsyncEngine, nc: NATS, tenant_id: uuid.UUID, token_for: TokenFor, signing_key: ECKey,
    customers: Customers,
) -> None:
    """A rep counts only the customers they may see (independently: the customers each owns)."""
    md = token_for(tenant_id, MANAGE)
    vip = await tag(tagging, md, "VIP")
    rep_a, rep_b = uuid.uuid4(), uuid.uuid4()
    consumer = EventConsumer(engine, nc, access.subscriptions()[0])
    owners = {uuid.uuid4(): rep_a, uuid.uuid4(): rep_a, uuid.uuid4(): rep_b}
    for customer, owner in owners.items():
        assert await consumer.apply(CloudEvent.new(
            source="crm/customers", type=event_type("customer", "created"), tenant_id=tenant_id,
            data={"customer": {"id": str(customer), "owner_id": str(owner), "version": "1"}},
            subject=str(customer)))
        customers.declare(tenant_id, customer, owner)
        await put(tagging, token_for(tenant_id, TAGGER), str(customer), vip.id)

    def rep(user: uuid.UUID) -> tuple[tuple[str, str], ...]:
        return call_metadata(access_token(signing_key, tenant_id, ["tags:read"], uid=str(user), ds="own"))

    for user in (rep_a, rep_b):
        expected = sum(1 for owner in owners.values() if owner == user)
        assert (await tagging.GetTag(pb.GetTagRequest(id=vip.id), metadata=rep(user))).customer_count == expected
        listed = await tagging.ListTags(pb.ListTagsRequest(), metadata=rep(user))
        assert [t.customer_count for t in listed.items] == [expected]
    assert (await tagging.GetTag(pb.GetTagRequest(id=vip.id), metadata=md)).customer_count == 3


async def test_usage_review_counts_history_and_finds_overlaps(
    tagging: Stub, tenant_id: uuid.UUID, token_for: TokenFor
) -> None:
    md, hand = token_for(tenant_id, MANAGE), token_for(tenant_id, TAGGER)
    vip, big, unused = (await tag(tagging, md, "VIP"), await tag(tagging, md, "大客户"), await tag(tagging, md, "旧"))
    customers = [str(new_id()) for _ in range(6)]
    for customer in customers:
        await put(tagging, hand, customer, vip.id)
    for customer in customers[:5]:
        await put(tagging, hand, customer, big.id)
    await tagging.RemoveCustomerTag(pb.RemoveCustomerTagRequest(customer_id=customers[5], tag_id=vip.id),
                                    metadata=hand)

    usage = await tagging.GetTagUsage(pb.GetTagUsageRequest(), metadata=md)
    by_name = {r.tag.name: r for r in usage.rows}
    assert (by_name["VIP"].tag.customer_count, by_name["VIP"].applied_90d, by_name["VIP"].removed_90d,
            by_name["VIP"].applied_by_hand_90d, by_name["VIP"].applied_by_rule_90d) == (5, 6, 1, 6, 0)
    assert by_name["VIP"].HasField("last_applied_at")
    assert (by_name["旧"].tag.customer_count, by_name["旧"].applied_90d) == (0, 0)
    assert not by_name["旧"].HasField("last_applied_at") and unused.id
    assert [(sorted([o.tag_id, o.other_tag_id]), o.both, o.ratio) for o in usage.overlaps] == [
        (sorted([vip.id, big.id]), 5, 1.0)]
