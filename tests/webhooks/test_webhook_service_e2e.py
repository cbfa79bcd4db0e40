"""The deployable end to end: `python -m crm_webhooks` against real PostgreSQL and NATS
JetStream, an event published on the stream, and a signed POST at a real receiver."""

from __future__ import annotations

import asyncio

import sqlalchemy as sa
from standardwebhooks.webhooks import Webhook

from crm_dev.infra import EmbeddedPostgres, NatsServer
from crm_platform import events
from crm_platform.db import control_session, tenant_session
from crm_platform.ids import new_id
from crm_platform.tables import inbox
from tests.webhooks.service_process import webhooks_service
from tests.webhooks.webhooks_testkit import Receiver, wait_until


async def test_published_event_is_delivered_once_and_signed(
    postgres: EmbeddedPostgres, nats_server: NatsServer, receiver: Receiver
) -> None:
    async with webhooks_service(postgres, nats_server) as service:
        tenant_id = await service.new_tenant()
        async with tenant_session(service.engine, tenant_id) as session:
            created = await service.parts.endpoint_service.create(
                session, tenant_id, url=receiver.url, event_types=["crm.customer.created"]
            )

        event = events.CloudEvent.new(
            source="crm/customers", type="crm.customer.created", tenant_id=tenant_id,
            data={"customer": {"id": str(new_id()), "name": "李四"}},
        )
        ignored = events.CloudEvent.new(source="crm/tagging", type="crm.tag.applied", tenant_id=tenant_id, data={})
        await service.publish(ignored, event)
        # The same event again, as a redelivery would bring it (other msg id, so the stream keeps it).
        nc = await events.connect(nats_server.url, "webhooks-e2e-test")
        await nc.jetstream().publish(events.subject_for(tenant_id, "customer", "created"), event.encode(),
                                     headers={"Nats-Msg-Id": f"again-{event.id}"})
        await nc.close()

        async def both_consumed() -> bool:
            async with control_session(service.engine) as session:
                rows = await session.execute(sa.select(inbox.c.event_id).where(inbox.c.consumer == "webhooks"))
                return {ignored.id, event.id} <= set(rows.scalars())

        async def succeeded() -> bool:
            async with tenant_session(service.engine, tenant_id) as session:
                page = await service.parts.delivery_service.list_page(
                    session, endpoint_id="", page_size=0, page_token="")
            return [v.delivery.status for v in page.items] == ["succeeded"]

        await wait_until(both_consumed, within=30)
        await wait_until(succeeded, within=30)
        await asyncio.sleep(1.0)  # time for a wrong second delivery to show up

        assert len(receiver.received) == 1
        [request] = receiver.received
        assert Webhook(created.secret).verify(request.body, request.headers) == event.to_json()
        assert request.headers["webhook-id"] == event.id
        async with tenant_session(service.engine, tenant_id) as session:
            page = await service.parts.delivery_service.list_page(session, endpoint_id="", page_size=0, page_token="")
        delivery = page.items[0].delivery
        assert (delivery.event_type, delivery.attempts, delivery.last_status_code) == ("crm.customer.created", 1, 204)
