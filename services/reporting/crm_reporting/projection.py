"""The durable `reporting` consumer: every event on crm.> is projected into the analytics store.

Idempotence has two layers. The platform's Postgres inbox (the session the handler is given)
skips an event this consumer already committed. The analytics tables are keyed so a repeat is
harmless anyway, which matters because ClickHouse is not part of the inbox transaction: when
the insert succeeds and the inbox commit fails, the event comes again and collapses into the
first copy.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from crm_platform.consumer import Subscription
from crm_platform.erasure import about_erased_customer, apply_erasure, customers_in, erased_among, erased_customer
from crm_platform.events import CloudEvent
from crm_reporting.analytics import Analytics, Row, TenantTable
from crm_reporting.customers.service import customer_service
from crm_reporting.customers.tables import CUSTOMERS
from crm_reporting.erasure import erase_customer
from crm_reporting.event_log.service import event_row
from crm_reporting.event_log.tables import EVENTS
from crm_reporting.feedback.service import feedback_rows
from crm_reporting.followups import service as followups
from crm_reporting.orders import rollup
from crm_reporting.orders.service import order_reports
from crm_reporting.orders.tables import ORDERS
from crm_reporting.value.segment_changes import affected_customers, forget, recompute
from crm_reporting.value.segments_table import value_segment_rows

DURABLE_NAME = "reporting"
# Events fetched and inserted at once: an import's burst lands in a few inserts instead of one per
# event, and a quiet stream still hands over a single event at once (the fetch does not wait to fill).
BATCH_SIZE = 500
ALL_EVENTS = "crm.>"


class EventProjector:
    def __init__(self, analytics: Analytics, tables: Sequence[TenantTable] = ()):
        self.analytics = analytics
        # Every analytics table, for customer erasure (crm_reporting/erasure.py).
        self.tables = tuple(tables)

    @staticmethod
    def rows(event: CloudEvent) -> list[tuple[TenantTable, Row]]:
        """Every analytics row one event stands for: its event-log row and its projections."""
        rows: list[tuple[TenantTable, Row]] = [(EVENTS, event_row(event))]
        if customer_service.projects(event):
            rows += customer_service.rows(event)
        if order_reports.projects(event):
            rows += order_reports.rows(event)
        rows += customer_service.tag_rows(event)
        rows += feedback_rows(event)
        rows += followups.followup_rows(event)
        rows += followups.activity_rows(event, rows)
        rows += value_segment_rows(event)
        return rows

    async def insert(self, rows: Sequence[tuple[TenantTable, Row]]) -> None:
        """One insert per table, in declaration order of the rows' first appearance; then the orders
        re-keyed by day and the daily spend rollup recomputed for what these rows changed (the
        written orders, and customers whose owner or deletion changed: compared before and after)."""
        by_table: dict[TenantTable, list[Row]] = defaultdict(list)
        for table, row in rows:
            by_table[table].append(row)
        orders: dict[uuid.UUID, set[uuid.UUID]] = defaultdict(set)
        customers: dict[uuid.UUID, set[uuid.UUID]] = defaultdict(set)
        for row in by_table.get(ORDERS, []):
            orders[row["tenant_id"]].add(row["order_id"])
        for row in by_table.get(CUSTOMERS, []):
            customers[row["tenant_id"]].add(row["customer_id"])
        before = {tenant: await rollup.customer_states(self.analytics, tenant, sorted(ids))
                  for tenant, ids in customers.items()}
        for table, table_rows in by_table.items():
            await self.analytics.insert(table, table_rows)
        for tenant in orders.keys() | customers.keys():
            ids = sorted(customers.get(tenant, ()))
            after = await rollup.customer_states(self.analytics, tenant, ids)
            known = before.get(tenant, {})
            changed = [c for c in ids if str(c) in known and known[str(c)] != after.get(str(c))]
            appeared = [c for c in ids if str(c) not in known]
            await rollup.refresh(self.analytics, tenant, sorted(orders.get(tenant, ())), changed, appeared)

    async def project(self, event: CloudEvent) -> None:
        await self.insert(self.rows(event))

    async def handle(self, event: CloudEvent, session: AsyncSession) -> None:
        """consumer.Handler: the session carries the inbox row and, for `customer.erased`, the
        erased-id marker; nothing else is written to Postgres. Events about an erased customer
        that arrive after its erasure are not projected."""
        if await about_erased_customer(session, event):
            return
        await apply_erasure(session, event, self._erase)
        await self.project(event)
        if followups.moves(event):
            await followups.apply_move(self.analytics, event)
        await self._value_segments(session, [event], set())

    async def handle_batch(self, batch: list[CloudEvent], session: AsyncSession) -> None:
        """consumer.BatchHandler: one tenant's events in stream order, one analytics insert per table
        for the lot (docs/reporting.md, "Freshness"). Erased customers are looked up once; an
        erasure first flushes the rows gathered before it, so its delete sees them, and later events
        about that customer are skipped as `handle` skips them."""
        tenant_id = uuid.UUID(batch[0].tenantid)
        mentioned = set().union(*(customers_in(event) for event in batch))
        erased = set(await erased_among(session, tenant_id, mentioned)) if mentioned else set()
        pending: list[tuple[TenantTable, Row]] = []
        for event in batch:
            gone = erased_customer(event)
            if gone is not None:
                await self.insert(pending)
                pending = []
                await apply_erasure(session, event, self._erase)
                erased.add(gone)
            elif customers_in(event) & erased:
                continue
            elif followups.moves(event):  # a merge moves the rows gathered before it too
                await self.insert(pending)
                pending = []
                await followups.apply_move(self.analytics, event)
            pending += self.rows(event)
        await self.insert(pending)
        await self._value_segments(session, batch, erased)

    async def _value_segments(self, session: AsyncSession, events: list[CloudEvent], erased: set[uuid.UUID]) -> None:
        """Recomputes the value segments of the customers these events may have moved (their
        orders, deletion, merge), now that the events are projected, and publishes the changes in
        this transaction (value/segment_changes.py)."""
        customers = affected_customers(events) - erased
        if customers:
            await recompute(session, self.analytics, uuid.UUID(events[0].tenantid), customers, "order")

    async def _erase(self, session: AsyncSession, tenant_id: uuid.UUID, customer_id: uuid.UUID) -> None:
        await rollup.forget_customer(self.analytics, tenant_id, customer_id,
                                     lambda: erase_customer(self.analytics, self.tables, tenant_id, customer_id))
        await forget(session, customer_id)


def reporting_subscription(analytics: Analytics, tables: Sequence[TenantTable] = (),
                           batch_size: int = BATCH_SIZE) -> Subscription:
    projector = EventProjector(analytics, tables)
    return Subscription(durable=DURABLE_NAME, filter_subjects=[ALL_EVENTS], handler=projector.handle,
                        batch_handler=projector.handle_batch if batch_size > 1 else None,
                        batch_size=batch_size if batch_size > 1 else 50)  # 1: the per-event path
