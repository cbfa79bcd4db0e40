"""Customers-by-industry, fed by events through the projector into a real chDB store."""

from __future__ import annotations

import dataclasses
import uuid

from crm_platform.events import CloudEvent
from crm_reporting.analytics import Analytics
from crm_reporting.customers.service import CustomersByIndustry, IndustryCount, customer_service
from crm_reporting.event_log.service import event_log_service
from crm_reporting.projection import EventProjector
from tests.reporting.reporting_events import customer_event, followup_task_created_event, tag_applied_event


async def project(analytics: Analytics, *events: CloudEvent) -> None:
    projector = EventProjector(analytics)
    for event in events:
        await projector.project(event)


async def report(analytics: Analytics, tenant: uuid.UUID) -> dict[str, int]:
    result = await customer_service.customers_by_industry(analytics, tenant)
    counts = {row.industry: row.customers for row in result.rows}
    assert result.total == sum(counts.values())
    return counts


async def test_each_tenant_sees_only_its_own_customers(
    analytics: Analytics, tenant: uuid.UUID, other_tenant: uuid.UUID
) -> None:
    await project(
        analytics,
        customer_event(tenant, uuid.uuid4(), industry="retail"),
        customer_event(tenant, uuid.uuid4(), industry="retail"),
        customer_event(tenant, uuid.uuid4(), industry=""),
        customer_event(other_tenant, uuid.uuid4(), industry="finance"),
        # The same customer id in another tenant is another customer.
        customer_event(other_tenant, uuid.UUID(int=1), industry="retail"),
        customer_event(tenant, uuid.UUID(int=1), industry="energy"),
    )

    assert await customer_service.customers_by_industry(analytics, tenant) == CustomersByIndustry(
        rows=[IndustryCount("retail", 2), IndustryCount("", 1), IndustryCount("energy", 1)], total=4
    )
    assert await report(analytics, other_tenant) == {"finance": 1, "retail": 1}
    assert await report(analytics, uuid.uuid4()) == {}


async def test_an_updated_customer_moves_between_industries_and_counts_once(
    analytics: Analytics, tenant: uuid.UUID
) -> None:
    customer = uuid.uuid4()
    await project(
        analytics,
        customer_event(tenant, customer, industry="retail", version=1),
        customer_event(tenant, customer, verb="updated", industry="finance", version=2),
    )

    assert await report(analytics, tenant) == {"finance": 1}


async def test_an_older_version_arriving_late_does_not_win(analytics: Analytics, tenant: uuid.UUID) -> None:
    customer = uuid.uuid4()
    await project(
        analytics,
        customer_event(tenant, customer, verb="updated", industry="finance", version=3),
        customer_event(tenant, customer, verb="updated", industry="retail", version=2),
        customer_event(tenant, customer, industry="energy", version=1),
    )

    assert await report(analytics, tenant) == {"finance": 1}


async def test_a_redelivered_event_changes_nothing(analytics: Analytics, tenant: uuid.UUID) -> None:
    created = customer_event(tenant, uuid.uuid4(), industry="retail")
    await project(analytics, created, created, created)

    assert await report(analytics, tenant) == {"retail": 1}
    assert await event_log_service.count(analytics, tenant) == 1


async def test_a_deleted_customer_is_not_counted_and_a_restored_one_is(
    analytics: Analytics, tenant: uuid.UUID
) -> None:
    kept, removed = uuid.uuid4(), uuid.uuid4()
    await project(
        analytics,
        customer_event(tenant, kept, industry="retail"),
        customer_event(tenant, removed, industry="retail"),
        customer_event(tenant, removed, verb="deleted", industry="retail", version=2),
    )
    assert await report(analytics, tenant) == {"retail": 1}

    await project(analytics, customer_event(tenant, removed, verb="restored", industry="retail", version=3))
    assert await report(analytics, tenant) == {"retail": 2}


async def test_other_events_are_kept_in_the_event_log_only(analytics: Analytics, tenant: uuid.UUID) -> None:
    customer = uuid.uuid4()
    await project(
        analytics,
        customer_event(tenant, customer, industry="retail"),
        tag_applied_event(tenant, customer),
        followup_task_created_event(tenant, customer),
    )

    assert await report(analytics, tenant) == {"retail": 1}
    assert await event_log_service.count(analytics, tenant) == 3
    assert await event_log_service.count(analytics, tenant, "crm.tag.applied") == 1
    assert await event_log_service.count(analytics, tenant, "crm.followup_task.created") == 1


async def test_a_customer_event_that_cannot_be_projected_is_logged_and_skipped(
    analytics: Analytics, tenant: uuid.UUID
) -> None:
    good = customer_event(tenant, uuid.uuid4(), industry="retail")
    broken = [
        dataclasses.replace(good, id=str(uuid.uuid4()), data={}),
        dataclasses.replace(good, id=str(uuid.uuid4()), data={"customer": {**good.data["customer"], "id": "x"}}),
        dataclasses.replace(good, id=str(uuid.uuid4()), data={"customer": {**good.data["customer"], "version": "0"}}),
        dataclasses.replace(good, id=str(uuid.uuid4()), data={"customer": {**good.data["customer"], "industry": 7}}),
        dataclasses.replace(good, id=str(uuid.uuid4()), type="crm.customer.merged"),
    ]

    await project(analytics, good, *broken)

    assert await report(analytics, tenant) == {"retail": 1}
    assert await event_log_service.count(analytics, tenant) == 1 + len(broken)


async def test_an_import_batch_counts_every_customer_and_its_undo_removes_the_created(
    analytics: Analytics, tenant: uuid.UUID
) -> None:
    ids = [uuid.uuid4() for _ in range(3)]
    created = [customer_event(tenant, i, industry="retail" if n < 2 else "energy") for n, i in enumerate(ids)]
    batch = CloudEvent.new(source="customers", type="crm.customer.imported", tenant_id=tenant,
                           data={"import_id": "x", "customers": [e.data["customer"] for e in created]})
    await project(analytics, batch)
    assert await report(analytics, tenant) == {"retail": 2, "energy": 1}

    gone = dict(created[0].data["customer"], version="2", deleted_at="2026-12-07T01:00:00Z")
    undo = CloudEvent.new(source="customers", type="crm.customer.import_reverted", tenant_id=tenant,
                          data={"import_id": "x", "customers": [gone]})
    await project(analytics, undo)
    assert await report(analytics, tenant) == {"retail": 1, "energy": 1}
