"""The chunked, SQL-announced rule sweep (docs/tagging.md, "By the daily sweep"): its events are
exactly the CloudEvents `announce_many` writes (envelope, proto-JSON payload, change_seq order, the
rivals' removals first, history rows), split over chunks it gives the same tags as one pass, and a
job that failed after a committed chunk resumes after it instead of starting over."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from nats.aio.client import Client as NATS
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from crm_platform import jobs
from crm_platform.consumer import EventConsumer
from crm_platform.db import control_session, tenant_session
from crm_platform.events import CloudEvent, proto_data, subject_for
from crm_platform.ids import new_id
from crm_platform.tables import outbox
from crm_proto.crm.events.v1 import events_pb2
from crm_proto.crm.tagging.v1 import tagging_pb2 as pb
from crm_tagging.autotag import sweeps
from crm_tagging.autotag.events import subscription
from crm_tagging.autotag.service import AutoTagService
from crm_tagging.autotag.tables import sweep_progress
from crm_tagging.tag.tables import customer_tags, tag_history
from tests.tagging.test_tagging_rules import MANAGE, Stub, carried, customer_event, rule

TokenFor = Callable[[uuid.UUID, list[str]], tuple[tuple[str, str], ...]]


async def outbox_rows(engine: AsyncEngine, tenant_id: uuid.UUID) -> list[Any]:
    async with control_session(engine) as session:
        return list((await session.execute(
            sa.select(outbox.c.event_id, outbox.c.subject, outbox.c.payload, outbox.c.headers)
            .where(outbox.c.tenant_id == tenant_id,
                   outbox.c.subject.in_([subject_for(tenant_id, "tag", "applied"),
                                         subject_for(tenant_id, "tag", "removed")]))
            .order_by(outbox.c.seq))).all())


@pytest.mark.parametrize("size", [1, 50_000])
async def test_sweep_events_are_the_ones_announce_many_writes(
    tagging: Stub, engine: AsyncEngine, nc: NATS, tenant_id: uuid.UUID, token_for: TokenFor,
    autotag_service: AutoTagService, size: int,
) -> None:
    md = token_for(tenant_id, MANAGE)
    everyone = {"field": "name", "op": "not_empty"}
    normal = await rule(tagging, md, "普通", everyone, priority=20, tag={"exclusive_group": "tier"})
    vip = await rule(tagging, md, "VIP", {"field": "industry", "op": "equals", "value": "it"}, priority=30,
                     tag={"exclusive_group": "tier"})
    consumer = EventConsumer(engine, nc, subscription(autotag_service))
    customers = {new_id(): "retail", new_id(): "it", new_id(): "it"}
    for customer, industry in customers.items():
        await consumer.apply(customer_event(tenant_id, customer, industry=industry))
    async with tenant_session(engine, tenant_id) as session:  # the events tagged them: start the sweep empty
        await session.execute(sa.delete(customer_tags))
    before = len(await outbox_rows(engine, tenant_id))
    async with tenant_session(engine, tenant_id) as session:
        result = await autotag_service.sweep(session, tenant_id, trigger="sweep", size=size)
    # 普通 on all three, then VIP replaces it on the two "it" customers.
    assert result == {"rules": 2, "applied": 5, "removed": 2}
    for customer, industry in customers.items():
        assert sorted(await carried(tagging, md, customer)) == (["VIP"] if industry == "it" else ["普通"])

    rows = (await outbox_rows(engine, tenant_id))[before:]
    assert len(rows) == 7
    seqs: list[int] = []
    seen: list[tuple[str, str, str]] = []
    for row in rows:
        event = CloudEvent.from_json(row.payload)
        verb = row.subject.rsplit(".", 1)[1]
        assert (event.id, event.type, event.source, event.tenantid, event.subject) == (
            str(row.event_id), f"crm.tag.{verb}", "crm/tagging", str(tenant_id), event.data["customer_id"])
        assert uuid.UUID(event.id).version == 7
        assert event.time.endswith("Z")
        assert abs(datetime.fromisoformat(event.time) - datetime.now(UTC)) < timedelta(minutes=5)
        assert CloudEvent.decode(event.encode()) == event
        assert isinstance(row.headers, dict)
        seq = int(event.data["change_seq"])
        rule_id = normal.id if event.data["tag_name"] == "普通" else vip.id
        if verb == "applied":
            expected = proto_data(events_pb2.TagApplied(
                customer_id=event.data["customer_id"], tag_id=event.data["tag_id"], tag_name=event.data["tag_name"],
                source="rule", rule_id=rule_id, change_seq=seq))
        else:
            expected = proto_data(events_pb2.TagRemoved(
                customer_id=event.data["customer_id"], tag_id=event.data["tag_id"], tag_name=event.data["tag_name"],
                source="rule", change_seq=seq))
        assert event.data == expected
        seqs.append(seq)
        seen.append((verb, event.data["tag_name"], event.data["customer_id"]))
    assert seqs == sorted(set(seqs))  # published in change order, each number once
    for customer, industry in customers.items():
        mine = [(verb, name) for verb, name, c in seen if c == str(customer)]
        if industry == "it":
            assert mine == [("applied", "普通"), ("removed", "普通"), ("applied", "VIP")]
        else:
            assert mine == [("applied", "普通")]

    async with tenant_session(engine, tenant_id) as session:
        history = (await session.execute(
            sa.select(tag_history.c.customer_id, tag_history.c.action, tag_history.c.source, tag_history.c.rule_id,
                      tag_history.c.actor).where(tag_history.c.source == "rule", tag_history.c.actor == "")
            .order_by(tag_history.c.id))).all()
    swept = [(str(h.customer_id), h.action, str(h.rule_id)) for h in history][-7:]
    # A rival's removal is credited to the rule that displaced it.
    assert sorted(swept) == sorted((c, verb, normal.id if (verb, name) == ("applied", "普通") else vip.id)
                                   for verb, name, c in seen)


class FailsAfter(AutoTagService):
    """Runs `chunks` chunks, then fails as a crashed worker would."""

    def __init__(self, real: AutoTagService, chunks: int):
        super().__init__(real.tags)
        self.left = chunks

    async def sweep_chunk(self, session: AsyncSession, tenant_id: uuid.UUID | str, **given: Any
                          ) -> tuple[dict[str, int], uuid.UUID | None]:
        if self.left == 0:
            raise RuntimeError("worker died")
        self.left -= 1
        return await super().sweep_chunk(session, tenant_id, **given)


async def test_a_failed_sweep_job_resumes_after_its_last_committed_chunk(
    tagging: Stub, engine: AsyncEngine, nc: NATS, tenant_id: uuid.UUID, token_for: TokenFor,
    autotag_service: AutoTagService,
) -> None:
    md = token_for(tenant_id, MANAGE)
    it = await rule(tagging, md, "IT", {"field": "industry", "op": "equals", "value": "it"})
    consumer = EventConsumer(engine, nc, subscription(autotag_service))
    customers = sorted(new_id() for _ in range(3))
    for customer in customers:
        await consumer.apply(customer_event(tenant_id, customer, industry="it"))
    async with tenant_session(engine, tenant_id) as session:
        await session.execute(sa.delete(customer_tags))
    job = await tagging.RerunTagRule(pb.RerunTagRuleRequest(id=it.id), metadata=md)
    claimed = next(j for j in await jobs.claim(engine, ["tagging.rule_sweep"], 10, timedelta(minutes=1))
               if str(j.id) == job.id)

    with pytest.raises(RuntimeError, match="worker died"):
        await sweeps.sweep_runner(engine, FailsAfter(autotag_service, 1), chunk=1)(claimed)
    # The first chunk (the first customer) committed with the job's place.
    assert sorted(await carried(tagging, md, customers[0])) == ["IT"]
    assert await carried(tagging, md, customers[1]) == {}
    async with tenant_session(engine, tenant_id) as session:
        place = (await session.execute(sa.select(sweep_progress).where(
            sweep_progress.c.job_id == claimed.id))).one()
        assert (place.after_customer, place.done, place.applied) == (customers[0], 1, 1)
        # Someone takes the tag off the first customer meanwhile: a restart from the beginning
        # would put it back, a resume does not.
        await session.execute(sa.delete(customer_tags).where(customer_tags.c.customer_id == customers[0]))

    result = await sweeps.sweep_runner(engine, autotag_service, chunk=1)(claimed)
    assert result == {"rules": 1, "applied": 3, "removed": 0}  # the failed run's chunk counts too
    assert await carried(tagging, md, customers[0]) == {}
    for customer in customers[1:]:
        assert sorted(await carried(tagging, md, customer)) == ["IT"]
    async with tenant_session(engine, tenant_id) as session:
        assert (await session.execute(sa.select(sa.func.count()).select_from(sweep_progress))).scalar_one() == 0
    await jobs.complete(engine, claimed.id, result)
    done = await tagging.GetTagJob(pb.GetTagJobRequest(id=job.id), metadata=md)
    assert (done.status, done.done, done.total) == ("succeeded", 3, 3)
