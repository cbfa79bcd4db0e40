"""Putting a tag on a customer by hand and taking it off, through the real gRPC edge: idempotent
apply, 404 on a removal of a tag not there, field errors, scopes, tenant isolation, and the
`tag.applied` / `tag.removed` events with increasing `change_seq` (tag/changes.py)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import grpc
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_platform.db import control_session
from crm_platform.events import subject_for
from crm_platform.ids import new_id
from crm_platform.tables import outbox
from crm_proto.crm.tagging.v1 import tagging_pb2 as pb
from crm_proto.crm.tagging.v1 import tagging_pb2_grpc
from tests.tagging.test_tagging_api import field_errors, rejected
from tests.tagging.test_tagging_autotag import tag_rows

TokenFor = Callable[[uuid.UUID, list[str]], tuple[tuple[str, str], ...]]

MANAGE = ["tags:manage", "tags:read"]
TAGGER = ["customers:write", "tags:read"]


async def tag_events(engine: AsyncEngine, tenant_id: uuid.UUID) -> list[dict[str, Any]]:
    """This tenant's tag.applied and tag.removed outbox payloads, oldest first."""
    async with control_session(engine) as session:
        rows = (await session.execute(
            sa.select(outbox.c.payload).where(
                outbox.c.tenant_id == tenant_id,
                outbox.c.subject.in_([subject_for(tenant_id, "tag", "applied"),
                                      subject_for(tenant_id, "tag", "removed")]))
            .order_by(outbox.c.seq)
        )).all()
    return [row.payload for row in rows]


async def make_tag(tagging: tagging_pb2_grpc.TaggingServiceStub, token_for: TokenFor, tenant_id: uuid.UUID,
                   name: str = "VIP") -> pb.Tag:
    return await tagging.CreateTag(pb.CreateTagRequest(name=name, color="#e11d48"),
                                   metadata=token_for(tenant_id, MANAGE))


async def test_apply_is_idempotent_and_remove_takes_it_off_with_ordered_events(
    tagging: tagging_pb2_grpc.TaggingServiceStub, engine: AsyncEngine, tenant_id: uuid.UUID, token_for: TokenFor
) -> None:
    vip = await make_tag(tagging, token_for, tenant_id)
    customer = str(new_id())
    md = token_for(tenant_id, TAGGER)

    first = await tagging.ApplyCustomerTag(pb.ApplyCustomerTagRequest(customer_id=customer, tag_id=vip.id),
                                           metadata=md)
    again = await tagging.ApplyCustomerTag(pb.ApplyCustomerTagRequest(customer_id=customer, tag_id=vip.id),
                                           metadata=md)

    assert (first.newly_applied, again.newly_applied) == (True, False)
    assert again.customer_tag == first.customer_tag
    tag = first.customer_tag
    assert (tag.customer_id, tag.tag_id, tag.tag_name, tag.tag_color, tag.source, tag.applied_by) == (
        customer, vip.id, "VIP", "#e11d48", "manual", "client:test")
    listed = await tagging.ListCustomerTags(pb.ListCustomerTagsRequest(customer_id=customer),
                                            metadata=token_for(tenant_id, ["tags:read"]))
    assert [t.tag_id for t in listed.items] == [vip.id]

    removed = await tagging.RemoveCustomerTag(pb.RemoveCustomerTagRequest(customer_id=customer, tag_id=vip.id),
                                              metadata=md)
    assert removed.removed.tag_id == vip.id
    assert await tag_rows(engine, tenant_id) == []
    gone = await rejected(tagging.RemoveCustomerTag(
        pb.RemoveCustomerTagRequest(customer_id=customer, tag_id=vip.id), metadata=md))
    assert gone.code() == grpc.StatusCode.NOT_FOUND

    events = await tag_events(engine, tenant_id)
    assert [e["type"] for e in events] == ["crm.tag.applied", "crm.tag.removed"]  # one apply: the repeat is silent
    applied, taken_off = (e["data"] for e in events)
    assert (applied["source"], applied["actor"], applied["customer_id"]) == ("manual", "client:test", customer)
    assert (taken_off["source"], taken_off["actor"], taken_off["tag_name"]) == ("manual", "client:test", "VIP")
    assert int(taken_off["change_seq"]) > int(applied["change_seq"]) > 0


async def test_bad_ids_are_field_errors_or_not_found_and_write_nothing(
    tagging: tagging_pb2_grpc.TaggingServiceStub, engine: AsyncEngine, tenant_id: uuid.UUID, token_for: TokenFor
) -> None:
    vip = await make_tag(tagging, token_for, tenant_id)
    md = token_for(tenant_id, TAGGER)

    unknown_tag = await rejected(tagging.ApplyCustomerTag(
        pb.ApplyCustomerTagRequest(customer_id=str(new_id()), tag_id=str(new_id())), metadata=md))
    malformed = await rejected(tagging.ApplyCustomerTag(
        pb.ApplyCustomerTagRequest(customer_id="nope", tag_id="x"), metadata=md))
    blank = await rejected(tagging.ApplyCustomerTag(pb.ApplyCustomerTagRequest(), metadata=md))
    remove_malformed = await rejected(tagging.RemoveCustomerTag(
        pb.RemoveCustomerTagRequest(customer_id="nope", tag_id=vip.id), metadata=md))

    assert unknown_tag.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field_errors(unknown_tag) == [("tag_id", "unknown_tag")]
    assert field_errors(malformed) == [("customer_id", "invalid_id"), ("tag_id", "invalid_id")]
    assert field_errors(blank) == [("customer_id", "required"), ("tag_id", "required")]
    assert remove_malformed.code() == grpc.StatusCode.NOT_FOUND
    assert await tag_rows(engine, tenant_id) == []
    assert await tag_events(engine, tenant_id) == []


async def test_apply_and_remove_need_customers_write_and_tags_read(
    tagging: tagging_pb2_grpc.TaggingServiceStub, engine: AsyncEngine, tenant_id: uuid.UUID, token_for: TokenFor
) -> None:
    vip = await make_tag(tagging, token_for, tenant_id)
    customer = str(new_id())
    for scopes in (["tags:read"], ["customers:write"], ["customers:read", "tags:manage"]):
        md = token_for(tenant_id, scopes)
        applying = await rejected(tagging.ApplyCustomerTag(
            pb.ApplyCustomerTagRequest(customer_id=customer, tag_id=vip.id), metadata=md))
        removing = await rejected(tagging.RemoveCustomerTag(
            pb.RemoveCustomerTagRequest(customer_id=customer, tag_id=vip.id), metadata=md))
        assert (applying.code(), removing.code()) == (grpc.StatusCode.PERMISSION_DENIED,) * 2, scopes
    assert await tag_rows(engine, tenant_id) == []


async def test_another_tenants_tag_is_unknown_and_its_tags_untouched(
    tagging: tagging_pb2_grpc.TaggingServiceStub, engine: AsyncEngine, tenant_id: uuid.UUID, token_for: TokenFor,
    provision_tenant: Callable[[], uuid.UUID],
) -> None:
    other = provision_tenant()
    theirs = await make_tag(tagging, token_for, other, "Theirs")
    customer = str(new_id())
    await tagging.ApplyCustomerTag(pb.ApplyCustomerTagRequest(customer_id=customer, tag_id=theirs.id),
                                   metadata=token_for(other, TAGGER))

    md = token_for(tenant_id, TAGGER)
    applying = await rejected(tagging.ApplyCustomerTag(
        pb.ApplyCustomerTagRequest(customer_id=customer, tag_id=theirs.id), metadata=md))
    removing = await rejected(tagging.RemoveCustomerTag(
        pb.RemoveCustomerTagRequest(customer_id=customer, tag_id=theirs.id), metadata=md))

    assert field_errors(applying) == [("tag_id", "unknown_tag")]
    assert removing.code() == grpc.StatusCode.NOT_FOUND
    assert [r.tag_id for r in await tag_rows(engine, other)] == [uuid.UUID(theirs.id)]


async def test_list_tags_by_ids_returns_only_existing_ones(
    tagging: tagging_pb2_grpc.TaggingServiceStub, tenant_id: uuid.UUID, token_for: TokenFor
) -> None:
    vip = await make_tag(tagging, token_for, tenant_id, "VIP")
    await make_tag(tagging, token_for, tenant_id, "Other")
    reply = await tagging.ListTags(pb.ListTagsRequest(ids=[vip.id, str(new_id()), "not-an-id"]),
                                   metadata=token_for(tenant_id, ["tags:read"]))
    assert [t.id for t in reply.items] == [vip.id]
