"""Outcome automation's matching and its loop guard, through the real consumer wrapper on real
Postgres (docs/followups.md, "Outcome automation"): an event whose actor is `automation:<rule>`
never fires that same rule; another rule's action does fire it; each (rule, event) fires once, so a
redelivered event fires nothing twice; a disabled rule fires nothing."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from nats.aio.client import Client as NATS
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_followups.automation.events import subscription, trigger_of
from crm_followups.automation.service import AutomationService, RuleInput, actor_of
from crm_platform.consumer import EventConsumer
from crm_platform.db import control_session, tenant_session
from crm_platform.events import CloudEvent, event_type, proto_data, subject_for
from crm_platform.ids import new_id
from crm_platform.tables import outbox
from crm_proto.crm.events.v1 import events_pb2


def tag_applied(tenant_id: uuid.UUID, customer_id: uuid.UUID, tag_id: uuid.UUID, actor: str = "") -> CloudEvent:
    data = proto_data(events_pb2.TagApplied(customer_id=str(customer_id), tag_id=str(tag_id), tag_name="T",
                                            source="manual", actor=actor))
    return CloudEvent.new(source="crm/tagging", type=event_type("tag", "applied"), tenant_id=tenant_id, data=data)


async def fired(engine: AsyncEngine, tenant_id: uuid.UUID) -> list[dict[str, Any]]:
    async with control_session(engine) as session:
        return [p["data"] for p in (await session.execute(
            sa.select(outbox.c.payload).where(
                outbox.c.tenant_id == tenant_id,
                outbox.c.subject == subject_for(tenant_id, "automation_rule", "fired"),
            ).order_by(outbox.c.seq))).scalars()]


async def test_a_rule_never_retriggers_itself_and_fires_once_per_event(
    engine: AsyncEngine, nc: NATS, tenant_id: uuid.UUID,
) -> None:
    service = AutomationService()
    x, y = uuid.uuid4(), uuid.uuid4()
    async with tenant_session(engine, tenant_id) as session:
        # Self-loop: "when X is applied, apply X"; and a pair X -> Y.
        echo = await service.create(session, "test", RuleInput(name="echo", trigger="tag_applied",
                                                               trigger_value=str(x), action="add_tag", tag_id=str(x)))
        onward = await service.create(session, "test", RuleInput(name="onward", trigger="tag_applied",
                                                                 trigger_value=str(x), action="add_tag",
                                                                 tag_id=str(y)))
        off = await service.create(session, "test", RuleInput(name="off", trigger="tag_applied", trigger_value=str(x),
                                                              action="set_status", status="won", reason="r",
                                                              enabled=False))
    consumer = EventConsumer(engine, nc, subscription(service))
    customer = new_id()

    by_hand = tag_applied(tenant_id, customer, x, actor=str(uuid.uuid4()))
    assert await consumer.apply(by_hand) is True
    assert await consumer.apply(by_hand) is False  # redelivered: the inbox
    first = await fired(engine, tenant_id)
    assert sorted(e["rule_id"] for e in first) == sorted([str(echo.id), str(onward.id)])
    assert all(e["actor"] == actor_of(e["rule_id"]) and e["customer_id"] == str(customer) for e in first)

    # The echo rule's own change comes back: it does not fire again; the other rule may.
    own = tag_applied(tenant_id, customer, x, actor=actor_of(echo.id))
    await consumer.apply(own)
    second = (await fired(engine, tenant_id))[len(first):]
    assert [e["rule_id"] for e in second] == [str(onward.id)]
    assert str(off.id) not in {e["rule_id"] for e in await fired(engine, tenant_id)}

    # Past the inbox (the handler run twice for one event): automation_runs keeps it once.
    async with tenant_session(engine, tenant_id) as session:
        trigger = trigger_of(by_hand)
        assert trigger is not None
        seen = await service.handle(session, tenant_id, trigger)
    assert seen == []
    async with tenant_session(engine, tenant_id) as session:
        counts = {r.id: r.fired_count for r in await service.list_rules(session)}
    assert counts == {echo.id: 1, onward.id: 2, off.id: 0}
