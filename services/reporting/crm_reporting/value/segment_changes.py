"""Value segment changes (docs/reporting.md, "Value segment changes"): reporting computes each
customer's value segment from the tenant's value rules (value/service.py `value_query`, the same
query as the value analysis), keeps the one it last published in Postgres (`value_segments`,
migration r0190) and publishes `crm.value_segment.changed` through the outbox **only for the
customers whose segment changed**, up to 1,000 changes an event, in the transaction that records
them. Tagging (rule facts) and customers (the list's `value_segment` column) consume it.

When it recomputes:
- after the `reporting` consumer projected a batch with orders (`order.recorded`) or customers
  deleted, restored, merged or unmerged: those customers, in the batch's transaction;
- when an admin changes the value rules: every customer (the job `reporting.value_segments`);
- daily (02:00 Asia/Shanghai, the platform scheduler's `reporting.value_segments` of each tenant
  that had a segment computed): every customer, since the 12-month window and recency move with
  the date alone.

A customer is in no segment ("") without counted orders in the rules' currency, or once deleted
(a merged-away customer is deleted; its orders moved to the survivor)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from crm_platform import jobs, outbox, scheduler
from crm_platform.db import TENANT, tenant_session
from crm_platform.events import CloudEvent
from crm_platform.scheduler import Firing
from crm_reporting.analytics import Analytics
from crm_reporting.dashboards.audience import Audience
from crm_reporting.scope.service import EVERY_CUSTOMER
from crm_reporting.scope.tables import metadata
from crm_reporting.value.rules import value_rule_store
from crm_reporting.value.service import SEGMENTS, reasons, value_query

SOURCE: Final = "crm/reporting"
AGGREGATE: Final = "value_segment"
VERB: Final = "changed"
CHANGES_PER_EVENT: Final = 1000
SWEEP_KIND: Final = "reporting.value_segments"
SWEEP_JOB: Final = "reporting.value_segments"
SWEEP_KEY: Final = "daily"
SWEEP_RRULE: Final = "FREQ=DAILY;BYHOUR=2;BYMINUTE=0;BYSECOND=0"
SWEEP_TIME_ZONE: Final = "Asia/Shanghai"
# Events whose customers' segments may change: orders, and a customer leaving or coming back.
_CUSTOMER_SUFFIXES: Final = (".customer.deleted", ".customer.restored")
_MERGE_SUFFIXES: Final = (".customer.merged", ".customer.unmerged")

value_segments = sa.Table(
    "value_segments", metadata,
    sa.Column("customer_id", pg.UUID(as_uuid=True), primary_key=True),
    sa.Column("segment", sa.Text, nullable=False),
    sa.Column("version", sa.BigInteger, nullable=False),
    sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
    schema=TENANT,
)


@dataclass(frozen=True)
class Change:
    customer_id: uuid.UUID
    segment: str
    previous: str
    version: int
    reason_en: str
    reason_zh: str


def affected_customers(events: Iterable[CloudEvent]) -> set[uuid.UUID]:
    """Customers whose value segment an event may change."""
    found: set[uuid.UUID] = set()
    for event in events:
        data = event.data if isinstance(event.data, dict) else {}
        values: list[Any] = []
        if event.type.endswith(".order.recorded"):
            values.append(data.get("customer_id"))
        elif event.type.endswith(_CUSTOMER_SUFFIXES):
            customer = data.get("customer")
            values.append(customer.get("id") if isinstance(customer, dict) else data.get("customer_id"))
        elif event.type.endswith(_MERGE_SUFFIXES):
            merged = data.get("merged_ids")
            values += [data.get("survivor_id"), *(merged if isinstance(merged, list) else [])]
        for value in values:
            try:
                found.add(uuid.UUID(str(value)))
            except ValueError:
                continue
    return found


async def recompute(session: AsyncSession, analytics: Analytics, tenant_id: uuid.UUID,
                    customers: set[uuid.UUID] | None, trigger: str) -> list[Change]:
    """Computes the segments of `customers` (None: every customer), records and publishes the
    changes in the session's transaction, and returns them."""
    rules = await value_rule_store.read(session)
    today = datetime.now(UTC).date()
    query = value_query(tenant_id, Audience(EVERY_CUSTOMER), rules, rules.currency, today)
    stored_query = sa.select(value_segments.c.customer_id, value_segments.c.segment, value_segments.c.version)
    if customers is not None:
        if not customers:
            return []
        ids = sorted(str(c) for c in customers)
        query = query.where("has({changed_customers:Array(String)}, toString(customer_id))", changed_customers=ids)
        stored_query = stored_query.where(value_segments.c.customer_id.in_(sorted(customers)))
    computed: dict[uuid.UUID, tuple[str, str, str]] = {}
    for row in await analytics.query(query):
        segment = SEGMENTS[int(row["segment"]) - 1]
        computed[uuid.UUID(str(row["customer_id"]))] = (segment, *reasons(row, rules.currency, segment))
    stored = {r.customer_id: (r.segment, int(r.version)) for r in await session.execute(stored_query)}
    changes: list[Change] = []
    for customer_id in sorted(set(computed) | set(stored)):
        segment, reason_en, reason_zh = computed.get(customer_id, ("", "", ""))
        previous, version = stored.get(customer_id, ("", 0))
        if segment != previous:
            changes.append(Change(customer_id, segment, previous, version + 1, reason_en, reason_zh))
    await _record(session, changes)
    await _publish(session, tenant_id, changes, trigger, rules.currency)
    if changes:
        await keep_sweep_scheduled(session, tenant_id)
    return changes


async def _record(session: AsyncSession, changes: Sequence[Change]) -> None:
    now = datetime.now(UTC)
    for start in range(0, len(changes), CHANGES_PER_EVENT):
        rows = [{"customer_id": c.customer_id, "segment": c.segment, "version": c.version, "changed_at": now}
                for c in changes[start:start + CHANGES_PER_EVENT]]
        statement = pg_insert(value_segments).values(rows)
        await session.execute(statement.on_conflict_do_update(
            index_elements=[value_segments.c.customer_id],
            set_={"segment": statement.excluded.segment, "version": statement.excluded.version,
                  "changed_at": statement.excluded.changed_at}))


async def _publish(session: AsyncSession, tenant_id: uuid.UUID, changes: Sequence[Change], trigger: str,
                   currency: str) -> None:
    for start in range(0, len(changes), CHANGES_PER_EVENT):
        batch = changes[start:start + CHANGES_PER_EVENT]
        await outbox.add_event(session, source=SOURCE, tenant_id=tenant_id, aggregate=AGGREGATE, verb=VERB, data={
            "trigger": trigger, "currency": currency,
            "changes": [{"customer_id": str(c.customer_id), "segment": c.segment, "previous_segment": c.previous,
                         "version": c.version, "reason_en": c.reason_en, "reason_zh": c.reason_zh} for c in batch]})


async def forget(session: AsyncSession, customer_id: uuid.UUID) -> None:
    """Erasure: the published segment of an erased customer is not kept (nor announced again)."""
    await session.execute(sa.delete(value_segments).where(value_segments.c.customer_id == customer_id))


async def keep_sweep_scheduled(session: AsyncSession, tenant_id: uuid.UUID) -> None:
    """Every tenant with value segments has the daily recompute; schedule() upserts, so this is
    idempotent (checked first so the row is not rewritten on every batch)."""
    if await scheduler.get(session, tenant_id, SWEEP_KIND, SWEEP_KEY) is None:
        await scheduler.schedule(session, tenant_id, SWEEP_KIND, SWEEP_KEY, rrule=SWEEP_RRULE,
                                 time_zone=SWEEP_TIME_ZONE, payload={})


async def enqueue_recompute(session: AsyncSession, tenant_id: uuid.UUID, trigger: str,
                            dedupe_key: str | None = None) -> None:
    await jobs.enqueue(session, SWEEP_JOB, {"trigger": trigger}, tenant_id=tenant_id, dedupe_key=dedupe_key)


async def fire_sweeps(session: AsyncSession, firings: Sequence[Firing]) -> None:
    """The scheduler's handler: one job per tenant and occurrence (handlers stay short)."""
    for firing in firings:
        await enqueue_recompute(session, firing.tenant_id, "sweep",
                                f"{SWEEP_JOB}:{firing.tenant_id}:{firing.occurrence_at.isoformat()}")


def recompute_runner(engine: AsyncEngine, analytics: Analytics) -> jobs.JobHandler:
    """The job: every customer of the tenant in one transaction (a failed run changes nothing)."""
    async def run(job: jobs.Job) -> dict[str, Any]:
        assert job.tenant_id is not None
        async with tenant_session(engine, job.tenant_id) as session:
            changes = await recompute(session, analytics, job.tenant_id, None, str(job.payload.get("trigger", "sweep")))
        return {"changes": len(changes)}

    return run
