"""Customer erasure in followups, through the real consumer wrappers: `customer.erased` deletes the
customer's tasks; a late `tag.applied` about it schedules nothing and creating a task for it is a
400 `customer_erased`; other customers keep theirs."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from nats.aio.client import Client as NATS
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_followups import erasure
from crm_followups.cadence.events import subscription
from crm_followups.cadence.service import CadenceService
from crm_platform.consumer import EventConsumer
from crm_platform.db import tenant_session
from crm_platform.errors import InvalidInput
from crm_platform.events import CloudEvent
from crm_platform.ids import new_id
from tests.followups.test_followups_cadence import add_rule, created_events, stored_tasks, tag_applied
from tests.followups.test_followups_scope import service_principal


async def test_erased_customer_loses_its_tasks_and_gets_none_later(
    engine: AsyncEngine, nc: NATS, tenant_id: uuid.UUID, cadence_service: CadenceService,
) -> None:
    vip = uuid.uuid4()
    await add_rule(cadence_service, engine, tenant_id, vip, 1, "Welcome call")
    cadences = EventConsumer(engine, nc, subscription(cadence_service))
    erasing = EventConsumer(engine, nc, erasure.subscription())
    gone, kept = new_id(), new_id()
    assert await cadences.apply(tag_applied(tenant_id, gone, vip))
    assert await cadences.apply(tag_applied(tenant_id, kept, vip))
    assert {t.customer_id for t in await stored_tasks(engine, tenant_id)} == {gone, kept}

    assert await erasing.apply(CloudEvent.new(source="crm/customers", type="crm.customer.erased",
                                              tenant_id=tenant_id, data={"customer_id": str(gone)},
                                              subject=str(gone)))
    assert {t.customer_id for t in await stored_tasks(engine, tenant_id)} == {kept}

    announced = len(await created_events(engine, tenant_id))
    assert await cadences.apply(tag_applied(tenant_id, gone, vip))  # late: applied, but makes nothing
    assert {t.customer_id for t in await stored_tasks(engine, tenant_id)} == {kept}
    assert len(await created_events(engine, tenant_id)) == announced

    with pytest.raises(InvalidInput) as refused:
        async with tenant_session(engine, tenant_id) as session:
            await cadence_service.tasks.create(session, service_principal(tenant_id), customer_id=str(gone),
                                               title="Call", due_at=datetime(2030, 1, 1, tzinfo=UTC), assignee_id="")
    assert [(e.field, e.code) for e in refused.value.errors] == [("customer_id", "customer_erased")]
