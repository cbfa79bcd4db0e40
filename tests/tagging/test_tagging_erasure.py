"""Customer erasure in tagging, through the real consumer wrappers (inbox) on a provisioned tenant
schema: `customer.erased` deletes the customer's tags, and a late customer event about it (a tag
rule re-run) tags nothing again; other customers keep theirs."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from nats.aio.client import Client as NATS
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_platform.consumer import EventConsumer
from crm_platform.db import tenant_session
from crm_platform.events import CloudEvent
from crm_platform.ids import new_id
from crm_tagging import erasure
from crm_tagging.autotag.events import subscription
from crm_tagging.autotag.service import AutoTagService
from crm_tagging.batch.tables import tag_batch_changes, tag_batches
from crm_tagging.tag.service import TagService
from crm_tagging.tag.tables import tag_history
from tests.tagging.test_tagging_autotag import applied_events, customer_event, make_tag_with_rule, tag_rows


def erased_event(tenant_id: uuid.UUID, customer_id: uuid.UUID) -> CloudEvent:
    return CloudEvent.new(source="crm/customers", type="crm.customer.erased", tenant_id=tenant_id,
                          data={"customer_id": str(customer_id)}, subject=str(customer_id))


async def test_erased_customer_loses_its_tags_and_gets_none_later(
    engine: AsyncEngine, nc: NATS, tenant_id: uuid.UUID, tag_service: TagService,
    autotag_service: AutoTagService,
) -> None:
    tech, _ = await make_tag_with_rule(tag_service, autotag_service, engine, tenant_id,
                                       "Tech", "name", "contains", "科技")
    autotag = EventConsumer(engine, nc, subscription(autotag_service))
    erasing = EventConsumer(engine, nc, erasure.subscription())
    gone, kept = new_id(), new_id()
    assert await autotag.apply(customer_event(tenant_id, gone))
    assert await autotag.apply(customer_event(tenant_id, kept))
    assert {r.customer_id for r in await tag_rows(engine, tenant_id)} == {gone, kept}

    assert await erasing.apply(erased_event(tenant_id, gone))
    assert {r.customer_id for r in await tag_rows(engine, tenant_id)} == {kept}

    # A late update (e.g. redelivered after a failure) runs the rules again: nothing for the erased id.
    published = len(await applied_events(engine, tenant_id))
    assert await autotag.apply(customer_event(tenant_id, gone, "updated", name="北京新科技有限公司"))
    assert {r.customer_id for r in await tag_rows(engine, tenant_id)} == {kept}
    assert len(await applied_events(engine, tenant_id)) == published  # no tag.applied either
    assert tech.id in {r.tag_id for r in await tag_rows(engine, tenant_id)}


async def test_erasure_takes_the_customer_out_of_batches_and_history(engine: AsyncEngine, tenant_id: uuid.UUID,
                                                                     tag_service: TagService) -> None:
    erased, kept = new_id(), new_id()
    async with tenant_session(engine, tenant_id) as session:
        tag = await tag_service.create(session, name="批量", color="#2563eb")
        batch_id = new_id()
        await session.execute(sa.insert(tag_batches).values(
            id=batch_id, action="add", tag_ids=[tag.id], customer_ids=[erased, kept], actor="user:x",
            status="succeeded"))
        for customer in (erased, kept):
            await session.execute(sa.insert(tag_batch_changes).values(
                batch_id=batch_id, customer_id=customer, tag_id=tag.id, change="applied"))
            await session.execute(sa.insert(tag_history).values(
                customer_id=customer, tag_id=tag.id, action="applied", source="batch"))
        await erasure.purge_customer(session, tenant_id, erased)
        assert (await session.execute(sa.select(tag_batches.c.customer_ids))).scalar_one() == [kept]
        changes = (await session.execute(sa.select(tag_batch_changes.c.customer_id))).scalars().all()
        history = (await session.execute(sa.select(tag_history.c.customer_id))).scalars().all()
    assert changes == [kept] and history == [kept]
