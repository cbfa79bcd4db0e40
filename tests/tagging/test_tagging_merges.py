"""Customer merges in tagging, through the real consumer wrapper (inbox) on a provisioned tenant
schema: `customer.merged` moves tags to the survivor (a tag both carried is kept once), a
redelivery changes nothing, `customer.unmerged` gives every customer its tags back, and an undo
that arrives before its merge makes the late merge a no-op."""

from __future__ import annotations

import uuid
from typing import Any

from nats.aio.client import Client as NATS
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_platform.consumer import EventConsumer
from crm_platform.events import CloudEvent
from crm_platform.ids import new_id
from crm_tagging.autotag.events import subscription
from crm_tagging.autotag.service import AutoTagService
from crm_tagging.merging import events as merging
from crm_tagging.tag.service import TagService
from tests.tagging.test_tagging_autotag import customer_event, make_tag_with_rule, tag_rows
from tests.tagging.test_tagging_manual import tag_events


def merge_event(tenant_id: uuid.UUID, verb: str, merge_id: uuid.UUID, survivor: uuid.UUID,
                merged: list[uuid.UUID]) -> CloudEvent:
    return CloudEvent.new(source="crm/customers", type=f"crm.customer.{verb}", tenant_id=tenant_id,
                          data={"merge_id": str(merge_id), "survivor_id": str(survivor),
                                "merged_ids": [str(m) for m in merged]}, subject=str(survivor))


async def _tags(engine: AsyncEngine, tenant_id: uuid.UUID) -> dict[uuid.UUID, set[str]]:
    by_customer: dict[uuid.UUID, set[str]] = {}
    for row in await tag_rows(engine, tenant_id):
        by_customer.setdefault(row.customer_id, set()).add(str(row.tag_id))
    return by_customer


async def test_merge_moves_dedupes_and_undo_restores(
    engine: AsyncEngine, nc: NATS, tenant_id: uuid.UUID, tag_service: TagService,
    autotag_service: AutoTagService,
) -> None:
    tech, _ = await make_tag_with_rule(tag_service, autotag_service, engine, tenant_id, "Tech", "name", "contains",
                                       "科技")
    vip, _ = await make_tag_with_rule(tag_service, autotag_service, engine, tenant_id, "VIP", "name", "contains",
                                      "VIP")
    autotag = EventConsumer(engine, nc, subscription(autotag_service))
    merges = EventConsumer(engine, nc, merging.subscription())
    survivor, merged = new_id(), new_id()
    assert await autotag.apply(customer_event(tenant_id, survivor))  # Tech
    assert await autotag.apply(customer_event(tenant_id, merged, name="VIP 科技"))  # Tech + VIP
    before = await _tags(engine, tenant_id)
    assert before == {survivor: {str(tech.id)}, merged: {str(tech.id), str(vip.id)}}

    merge_id = new_id()
    merged_event = merge_event(tenant_id, "merged", merge_id, survivor, [merged])
    assert await merges.apply(merged_event)
    assert await _tags(engine, tenant_id) == {survivor: {str(tech.id), str(vip.id)}}
    assert not await merges.apply(merged_event)  # redelivered: the inbox skips it

    assert await merges.apply(merge_event(tenant_id, "unmerged", merge_id, survivor, [merged]))
    assert await _tags(engine, tenant_id) == before


async def test_undo_before_its_merge_makes_the_merge_a_no_op(
    engine: AsyncEngine, nc: NATS, tenant_id: uuid.UUID, tag_service: TagService,
    autotag_service: AutoTagService,
) -> None:
    await make_tag_with_rule(tag_service, autotag_service, engine, tenant_id, "Tech", "name", "contains", "科技")
    autotag = EventConsumer(engine, nc, subscription(autotag_service))
    merges = EventConsumer(engine, nc, merging.subscription())
    survivor, merged = new_id(), new_id()
    assert await autotag.apply(customer_event(tenant_id, merged))
    before = await _tags(engine, tenant_id)
    merge_id = new_id()
    assert await merges.apply(merge_event(tenant_id, "unmerged", merge_id, survivor, [merged]))
    assert await merges.apply(merge_event(tenant_id, "merged", merge_id, survivor, [merged]))
    assert await _tags(engine, tenant_id) == before


def _changes(events: list[dict[str, Any]]) -> list[tuple[str, str, str, str]]:
    return [(e["type"].removeprefix("crm.tag."), e["data"]["customer_id"], e["data"]["tag_name"], e["data"]["source"])
            for e in events]


async def test_merge_and_undo_announce_every_tag_move(
    engine: AsyncEngine, nc: NATS, tenant_id: uuid.UUID, tag_service: TagService,
    autotag_service: AutoTagService,
) -> None:
    """The customer list's tag filter follows merges only through these events: each customer
    that loses a tag gets `tag.removed`, each that gains one `tag.applied` (source "merge"), with
    change numbers above the original applies."""
    await make_tag_with_rule(tag_service, autotag_service, engine, tenant_id, "Tech", "name", "contains", "科技")
    await make_tag_with_rule(tag_service, autotag_service, engine, tenant_id, "VIP", "name", "contains", "VIP")
    autotag = EventConsumer(engine, nc, subscription(autotag_service))
    merges = EventConsumer(engine, nc, merging.subscription())
    survivor, merged = new_id(), new_id()
    assert await autotag.apply(customer_event(tenant_id, survivor))  # Tech
    assert await autotag.apply(customer_event(tenant_id, merged, name="VIP 科技"))  # Tech + VIP
    applied_by_rules = len(await tag_events(engine, tenant_id))
    merge_id = new_id()

    assert await merges.apply(merge_event(tenant_id, "merged", merge_id, survivor, [merged]))
    after_merge = (await tag_events(engine, tenant_id))[applied_by_rules:]
    assert sorted(_changes(after_merge)) == sorted([
        ("removed", str(merged), "Tech", "merge"),  # the survivor already had it
        ("removed", str(merged), "VIP", "merge"),
        ("applied", str(survivor), "VIP", "merge"),
    ])

    assert await merges.apply(merge_event(tenant_id, "unmerged", merge_id, survivor, [merged]))
    everything = await tag_events(engine, tenant_id)
    after_undo = everything[applied_by_rules + len(after_merge):]
    assert sorted(_changes(after_undo)) == sorted([
        ("removed", str(survivor), "VIP", "merge"),
        ("applied", str(merged), "Tech", "merge"),
        ("applied", str(merged), "VIP", "merge"),
    ])
    sequence = [int(e["data"]["change_seq"]) for e in everything]
    assert sequence == sorted(sequence) and len(set(sequence)) == len(sequence)


async def test_merge_into_an_erased_survivor_moves_nothing(
    engine: AsyncEngine, nc: NATS, tenant_id: uuid.UUID, tag_service: TagService,
    autotag_service: AutoTagService,
) -> None:
    """The survivor's erasure reached tagging before the merge did: no tag is put on the erased id."""
    from crm_platform.db import tenant_session
    from crm_platform.erasure import mark_erased

    tech, _ = await make_tag_with_rule(tag_service, autotag_service, engine, tenant_id, "Tech", "name", "contains",
                                       "科技")
    autotag = EventConsumer(engine, nc, subscription(autotag_service))
    merges = EventConsumer(engine, nc, merging.subscription())
    survivor, merged = new_id(), new_id()
    assert await autotag.apply(customer_event(tenant_id, merged))
    async with tenant_session(engine, tenant_id) as session:
        await mark_erased(session, tenant_id, survivor)
    assert await merges.apply(merge_event(tenant_id, "merged", new_id(), survivor, [merged]))
    assert await _tags(engine, tenant_id) == {merged: {str(tech.id)}}
