"""Auto-tagging through the real consumer wrapper (inbox) on a provisioned tenant schema."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from nats.aio.client import Client as NATS
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_platform.consumer import EventConsumer
from crm_platform.db import control_session, tenant_session
from crm_platform.events import CloudEvent, event_type, subject_for
from crm_platform.ids import new_id
from crm_platform.tables import outbox
from crm_proto.crm.tagging.v1 import tagging_pb2 as pb
from crm_proto.crm.tagging.v1 import tagging_pb2_grpc
from crm_tagging.autotag.events import DURABLE, subscription
from crm_tagging.autotag.service import AutoTagService, RuleInput
from crm_tagging.tag.service import TagService
from crm_tagging.tag.tables import customer_tags

TokenFor = Callable[[uuid.UUID, list[str]], tuple[tuple[str, str], ...]]


def customer_event(tenant_id: uuid.UUID, customer_id: uuid.UUID, verb: str = "created",
                   **fields: str) -> CloudEvent:
    customer: dict[str, Any] = {"id": str(customer_id), "name": "北京科技有限公司", "industry": "IT",
                                "region": "Beijing", "status": "potential", "type": "enterprise",
                                "email": "", "mobile": "+8613800138000", **fields}
    return CloudEvent.new(source="crm/customers", type=event_type("customer", verb), tenant_id=tenant_id,
                          data={"customer": customer})


async def tag_rows(engine: AsyncEngine, tenant_id: uuid.UUID) -> list[sa.Row[Any]]:
    async with tenant_session(engine, tenant_id) as session:
        return list((await session.execute(sa.select(customer_tags))).all())


async def applied_events(engine: AsyncEngine, tenant_id: uuid.UUID) -> list[sa.Row[Any]]:
    async with control_session(engine) as session:
        return list((await session.execute(
            sa.select(outbox).where(outbox.c.tenant_id == tenant_id,
                                    outbox.c.subject == subject_for(tenant_id, "tag", "applied"))
            .order_by(outbox.c.seq)
        )).all())


async def make_tag_with_rule(tag_service: TagService, autotag_service: AutoTagService, engine: AsyncEngine,
                             tenant_id: uuid.UUID, name: str, field: str, operator: str,
                             value: str) -> tuple[sa.Row[Any], sa.Row[Any]]:
    async with tenant_session(engine, tenant_id) as session:
        tag = await tag_service.create(session, name=name, color="")
        rule = await autotag_service.create_rule(session, tenant_id, RuleInput(
            tag_id=str(tag.id), field=field, operator=operator, value=value))
    return tag, rule


async def test_a_redelivered_customer_event_applies_each_tag_once(
    engine: AsyncEngine, nc: NATS, tenant_id: uuid.UUID, tag_service: TagService,
    autotag_service: AutoTagService,
) -> None:
    tech, tech_rule = await make_tag_with_rule(tag_service, autotag_service, engine, tenant_id,
                                               "Tech", "name", "contains", "科技")
    it_tag, _ = await make_tag_with_rule(tag_service, autotag_service, engine, tenant_id,
                                         "IT", "industry", "equals", "it")
    await make_tag_with_rule(tag_service, autotag_service, engine, tenant_id, "Lost", "status", "equals", "lost")
    consumer = EventConsumer(engine, nc, subscription(autotag_service))
    customer_id = new_id()
    event = customer_event(tenant_id, customer_id)

    first = await consumer.apply(event)
    again = await consumer.apply(event)

    assert (first, again) == (True, False)
    rows = await tag_rows(engine, tenant_id)
    assert sorted((r.customer_id, r.tag_id, r.source) for r in rows) == sorted(
        [(customer_id, tech.id, "rule"), (customer_id, it_tag.id, "rule")])
    published = await applied_events(engine, tenant_id)
    assert len(published) == 2
    by_tag = {row.payload["data"]["tag_id"]: row.payload for row in published}
    assert by_tag[str(tech.id)]["type"] == "crm.tag.applied"
    assert by_tag[str(tech.id)]["tenantid"] == str(tenant_id)
    tech_data = by_tag[str(tech.id)]["data"]
    assert int(tech_data.pop("change_seq")) > 0  # tagging's change number (proto3 JSON: int64 as a string)
    assert tech_data == {"customer_id": str(customer_id), "tag_id": str(tech.id), "tag_name": "Tech",
                         "source": "rule", "rule_id": str(tech_rule.id), "actor": ""}


async def test_a_later_update_does_not_reapply_or_remove_tags(
    engine: AsyncEngine, nc: NATS, tenant_id: uuid.UUID, tag_service: TagService,
    autotag_service: AutoTagService,
) -> None:
    it_tag, _ = await make_tag_with_rule(tag_service, autotag_service, engine, tenant_id,
                                         "IT", "industry", "equals", "IT")
    won, _ = await make_tag_with_rule(tag_service, autotag_service, engine, tenant_id,
                                      "Won", "status", "equals", "won")
    consumer = EventConsumer(engine, nc, subscription(autotag_service))
    customer_id = new_id()
    await consumer.apply(customer_event(tenant_id, customer_id))

    # Still IT (already tagged: no new event), now won (newly tagged); then no longer IT, which
    # removes nothing: rules add tags, they never take them away.
    await consumer.apply(customer_event(tenant_id, customer_id, "updated", status="won"))
    await consumer.apply(customer_event(tenant_id, customer_id, "updated", industry="Retail"))

    assert sorted(r.tag_id for r in await tag_rows(engine, tenant_id)) == sorted([it_tag.id, won.id])
    assert [e.payload["data"]["tag_name"] for e in await applied_events(engine, tenant_id)] == ["IT", "Won"]


async def test_a_customer_matching_no_rule_gets_no_tag(
    engine: AsyncEngine, nc: NATS, tenant_id: uuid.UUID, tag_service: TagService,
    autotag_service: AutoTagService,
) -> None:
    await make_tag_with_rule(tag_service, autotag_service, engine, tenant_id, "Retail", "industry", "equals",
                             "retail")
    consumer = EventConsumer(engine, nc, subscription(autotag_service))

    assert await consumer.apply(customer_event(tenant_id, new_id()))

    assert await tag_rows(engine, tenant_id) == []
    assert await applied_events(engine, tenant_id) == []


async def test_a_malformed_customer_event_is_skipped_not_retried(
    engine: AsyncEngine, nc: NATS, tenant_id: uuid.UUID, autotag_service: AutoTagService,
) -> None:
    consumer = EventConsumer(engine, nc, subscription(autotag_service))
    no_customer = CloudEvent.new(source="crm/customers", type="crm.customer.created", tenant_id=tenant_id,
                                 data={})
    bad_id = CloudEvent.new(source="crm/customers", type="crm.customer.created", tenant_id=tenant_id,
                            data={"customer": {"id": "nope", "industry": "IT"}})

    assert await consumer.apply(no_customer)
    assert await consumer.apply(bad_id)
    assert await tag_rows(engine, tenant_id) == []


async def test_rule_tags_are_listed_for_the_customer(
    engine: AsyncEngine, nc: NATS, tenant_id: uuid.UUID, tag_service: TagService,
    autotag_service: AutoTagService, tagging: tagging_pb2_grpc.TaggingServiceStub, token_for: TokenFor,
) -> None:
    tag, rule = await make_tag_with_rule(tag_service, autotag_service, engine, tenant_id,
                                         "Beijing", "region", "equals", "beijing")
    customer_id = new_id()
    await EventConsumer(engine, nc, subscription(autotag_service)).apply(customer_event(tenant_id, customer_id))

    listed = await tagging.ListCustomerTags(pb.ListCustomerTagsRequest(customer_id=str(customer_id)),
                                            metadata=token_for(tenant_id, ["tags:read"]))

    assert [(t.tag_id, t.tag_name, t.source, t.rule_id) for t in listed.items] == [
        (str(tag.id), "Beijing", "rule", str(rule.id))]


def test_the_consumer_listens_to_customer_changes_under_its_durable_name(
    autotag_service: AutoTagService,
) -> None:
    sub = subscription(autotag_service)
    assert (sub.durable, sub.filter_subjects) == (
        DURABLE, ["crm.*.customer.created", "crm.*.customer.updated", "crm.*.customer.deleted",
                  "crm.*.customer.restored", "crm.*.order.recorded", "crm.*.customer.imported",
                  "crm.*.customer.import_reverted", "crm.*.followup_record.created",
                  "crm.*.value_segment.changed"])
    assert DURABLE == "tagging-rules"


async def test_an_import_batch_tags_every_customer_it_carries(
    engine: AsyncEngine, nc: NATS, tenant_id: uuid.UUID, tag_service: TagService,
    autotag_service: AutoTagService,
) -> None:
    tech, _ = await make_tag_with_rule(tag_service, autotag_service, engine, tenant_id,
                                       "Tech", "name", "contains", "科技")
    consumer = EventConsumer(engine, nc, subscription(autotag_service))
    ids = [new_id() for _ in range(3)]
    names = ["一号科技有限公司", "二号贸易有限公司", "三号科技有限公司"]
    batch = [customer_event(tenant_id, i, name=n).data["customer"] for i, n in zip(ids, names, strict=True)]
    event = CloudEvent.new(source="crm/customers", type=event_type("customer", "imported"), tenant_id=tenant_id,
                           data={"import_id": str(new_id()), "customers": batch})

    assert await consumer.apply(event)
    rows = await tag_rows(engine, tenant_id)
    assert sorted((r.customer_id, r.tag_id) for r in rows) == sorted([(ids[0], tech.id), (ids[2], tech.id)])
    assert len(await applied_events(engine, tenant_id)) == 2
