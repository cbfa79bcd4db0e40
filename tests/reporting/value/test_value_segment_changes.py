"""Value segment changes over real Postgres and chDB (docs/reporting.md, "Value segment changes"):
the consumer's batch recomputes the customers its orders and deletions touch and publishes only
changed segments through the outbox, with per-customer versions; nothing is announced twice; the
rules' recompute and the daily sweep (a job the scheduler's handler enqueues) judge every customer;
the daily schedule is made with the first change."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_platform import jobs, scheduler
from crm_platform.db import tenant_session
from crm_platform.scheduler import Firing
from crm_platform.tables import jobs as job_rows
from crm_platform.tables import outbox
from crm_reporting.analytics.chdb_backend import ChdbAnalytics
from crm_reporting.projection import EventProjector
from crm_reporting.value.rules import value_rule_store
from crm_reporting.value.segment_changes import (
    SWEEP_JOB,
    SWEEP_KEY,
    SWEEP_KIND,
    fire_sweeps,
    recompute,
    recompute_runner,
    value_segments,
)
from tests.reporting.dashboards.test_panels import customer, order

TODAY = datetime.now(UTC).date()


async def published(engine: AsyncEngine, tenant: uuid.UUID) -> list[dict[str, Any]]:
    """The `value_segment.changed` events in the outbox, oldest first."""
    async with engine.connect() as conn:
        rows = (await conn.execute(sa.select(outbox.c.payload).where(
            outbox.c.tenant_id == tenant, outbox.c.subject.like("%.value_segment.changed"))
            .order_by(outbox.c.seq))).all()
    return [json.loads(r.payload) if isinstance(r.payload, str) else r.payload for r in rows]


def changes(events: list[dict[str, Any]]) -> dict[str, tuple[str, str, int]]:
    return {c["customer_id"]: (c["previous_segment"], c["segment"], int(c["version"]))
            for e in events for c in e["data"]["changes"]}


async def apply(engine: AsyncEngine, analytics: ChdbAnalytics, tenant: uuid.UUID, events: list[Any]) -> None:
    projector = EventProjector(analytics)
    async with tenant_session(engine, tenant) as session:
        await projector.handle_batch(events, session)


async def test_only_changes_are_published_after_orders_rules_and_the_sweep(
    engine: AsyncEngine, chdb_analytics: ChdbAnalytics, tenant_id: uuid.UUID,
) -> None:
    rich, small, quiet = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    await apply(engine, chdb_analytics, tenant_id, [
        customer(tenant_id, c, version=1, status="won", created=TODAY, changed=TODAY, owner_id="u")
        for c in (rich, small, quiet)])
    assert await published(engine, tenant_id) == []  # no orders: nobody is in a segment
    await apply(engine, chdb_analytics, tenant_id, [
        order(tenant_id, rich, "150000.00", TODAY), order(tenant_id, small, "100.00", TODAY - timedelta(days=3))])
    first = await published(engine, tenant_id)
    assert len(first) == 1 and first[0]["type"] == "crm.value_segment.changed"
    assert first[0]["data"]["trigger"] == "order" and first[0]["data"]["currency"] == "CNY"
    assert changes(first) == {str(rich): ("", "high_value", 1), str(small): ("", "normal", 1)}
    assert "150,000.00" in first[0]["data"]["changes"][0]["reason_en"] + first[0]["data"]["changes"][1]["reason_en"]
    # Another order that changes nobody's segment announces nothing.
    await apply(engine, chdb_analytics, tenant_id, [order(tenant_id, rich, "10.00", TODAY)])
    assert len(await published(engine, tenant_id)) == 1
    async with tenant_session(engine, tenant_id) as session:
        assert await scheduler.get(session, tenant_id, SWEEP_KIND, SWEEP_KEY) is not None
    # Deleting a customer takes them out of their segment.
    await apply(engine, chdb_analytics, tenant_id, [
        customer(tenant_id, small, version=2, status="won", created=TODAY, changed=TODAY, verb="deleted",
                 owner_id="u")])
    assert changes((await published(engine, tenant_id))[1:]) == {str(small): ("normal", "", 2)}
    # New rules: the job recomputes everyone (rich is now below the bar).
    async with tenant_session(engine, tenant_id) as session:
        rules = (await value_rule_store.read(session)).as_dict()
        rules.pop("version")
        await value_rule_store.write(session, {**rules, "high_value_annual_spend": "1000000"}, "admin")
    run = recompute_runner(engine, chdb_analytics)
    result = await run(jobs.Job(id=uuid.uuid4(), kind=SWEEP_JOB, tenant_id=tenant_id, payload={"trigger": "rules"},
                                attempts=1, max_attempts=5))
    assert result == {"changes": 1}
    latest = (await published(engine, tenant_id))[-1]["data"]
    assert latest["trigger"] == "rules" and changes([{"data": latest}]) == {str(rich): ("high_value", "potential", 2)}
    # The daily sweep: the scheduler's handler enqueues one job per occurrence; nothing changed, nothing published.
    async with tenant_session(engine, tenant_id) as session:
        firing = Firing(uuid.uuid4(), tenant_id, SWEEP_KIND, SWEEP_KEY, {}, datetime.now(UTC), 1, True)
        await fire_sweeps(session, [firing])
        await fire_sweeps(session, [firing])  # a retried firing adds no second job
        queued = (await session.execute(sa.select(sa.func.count()).select_from(job_rows).where(
            job_rows.c.kind == SWEEP_JOB, job_rows.c.tenant_id == tenant_id))).scalar_one()
        assert queued == 1
        assert await recompute(session, chdb_analytics, tenant_id, None, "sweep") == []
        kept = dict((await session.execute(sa.select(value_segments.c.customer_id, value_segments.c.segment))).all())
    assert kept == {rich: "potential", small: ""}
    assert len(await published(engine, tenant_id)) == 3
