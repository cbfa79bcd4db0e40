"""Fair delivery and outages, on the real deployable (`python -m crm_webhooks` with PostgreSQL and
NATS JetStream) and real local receivers verified with the `standardwebhooks` library.

- One tenant's backlog never delays another's: tenant B has 10,000 queued deliveries to a receiver
  that fails slowly, filling every sender slot it may; tenant A's new event still reaches A's
  receiver within 5 s (before the fair queue, A waited behind all of B's backlog).
- A receiver that is down for a while gets every event once it is back, each `webhook-id` once.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable

from standardwebhooks.webhooks import Webhook

from crm_dev.infra import EmbeddedPostgres, NatsServer, free_port
from crm_platform.db import tenant_session
from crm_platform.events import CloudEvent
from crm_platform.ids import new_id
from tests.webhooks.backlog import insert_backlog, queued_count
from tests.webhooks.service_process import RunningService, webhooks_service
from tests.webhooks.webhooks_testkit import Receiver, ReceiverServer, wait_until

BACKLOG = 10_000
# The pool is small on purpose: B alone could fill it, so only the claim's order lets A through.
SLOTS = 4


def customer_event(tenant_id: uuid.UUID, name: str) -> CloudEvent:
    return CloudEvent.new(source="crm/customers", type="crm.customer.created", tenant_id=tenant_id,
                          data={"customer": {"id": str(new_id()), "name": name}})


async def endpoint_for(service: RunningService, tenant_id: uuid.UUID, url: str) -> tuple[uuid.UUID, str]:
    """Creates an endpoint for every event type; returns its id and signing secret."""
    async with tenant_session(service.engine, tenant_id) as session:
        created = await service.parts.endpoint_service.create(session, tenant_id, url=url, event_types=[])
    return created.endpoint.id, created.secret


async def test_a_new_event_of_a_quiet_tenant_is_not_stuck_behind_another_tenants_backlog(
    postgres: EmbeddedPostgres, nats_server: NatsServer, receivers: Callable[[], Receiver]
) -> None:
    failing, quiet = receivers(), receivers()
    failing.default_status, failing.delay = 503, 0.2  # down, and slow to say so
    async with webhooks_service(
        postgres, nats_server, delivery_concurrency=str(SLOTS), endpoint_concurrency=str(SLOTS),
        tenant_concurrency=str(SLOTS), retry_schedule="1,1,1",
    ) as service:
        tenant_b = await service.new_tenant()
        endpoint_b, _ = await endpoint_for(service, tenant_b, failing.url)
        await insert_backlog(service.engine, tenant_b, endpoint_b, BACKLOG)
        # B is being worked on with every slot it may have before A's event exists.
        await wait_until(lambda: _at_least(failing, 2 * SLOTS), within=60)

        tenant_a = await service.new_tenant()
        _, secret_a = await endpoint_for(service, tenant_a, quiet.url)
        event = customer_event(tenant_a, "安静的公司")
        started = time.monotonic()
        await service.publish(event)
        await wait_until(lambda: _at_least(quiet, 1), within=30)
        elapsed = time.monotonic() - started

        assert elapsed < 5.0, f"tenant A's event took {elapsed:.1f} s behind tenant B's backlog"
        [request] = quiet.received
        assert Webhook(secret_a).verify(request.body, request.headers) == event.to_json()
        # B was served all along, never more than its endpoint's cap at once, its backlog far from done.
        assert len(failing.received) >= 2 * SLOTS and failing.max_in_flight <= SLOTS
        assert await queued_count(service.engine, tenant_b) > BACKLOG * 0.9


async def test_a_receiver_down_for_a_while_gets_every_event_once_after(
    postgres: EmbeddedPostgres, nats_server: NatsServer
) -> None:
    # The Standard Webhooks schedule compressed: a 10-minute outage becomes a few seconds.
    receiver = Receiver()
    server = ReceiverServer(receiver, port=free_port())
    receiver.port = server.port  # nothing listens there yet: connections are refused
    async with webhooks_service(postgres, nats_server, retry_schedule="0.5,1,1.5,2,3,4,5") as service:
        tenant_id = await service.new_tenant()
        _, secret = await endpoint_for(service, tenant_id, receiver.url)
        while_down = [customer_event(tenant_id, f"停机期间{i}") for i in range(20)]
        await service.publish(*while_down)

        async def all_failed_once() -> bool:
            async with tenant_session(service.engine, tenant_id) as session:
                page = await service.parts.delivery_service.list_page(
                    session, endpoint_id="", page_size=100, page_token="")
            return len(page.items) == 20 and all(v.delivery.attempts >= 2 for v in page.items)

        await wait_until(all_failed_once, within=60)  # down long enough to fail each one twice
        server.start()
        try:
            after = [customer_event(tenant_id, f"恢复后{i}") for i in range(5)]
            await service.publish(*after)
            expected = {e.id: e for e in while_down + after}
            await wait_until(lambda: _ids_seen(receiver, set(expected)), within=60)
            await asyncio.sleep(2.0)  # any duplicate would have arrived by now

            ids = [r.headers["webhook-id"] for r in receiver.received]
            assert sorted(ids) == sorted(expected)  # every event, each webhook-id once
            verifier = Webhook(secret)
            for request in receiver.received:
                sent = expected[request.headers["webhook-id"]]
                assert verifier.verify(request.body, request.headers) == sent.to_json()
            async with tenant_session(service.engine, tenant_id) as session:
                page = await service.parts.delivery_service.list_page(
                    session, endpoint_id="", page_size=100, page_token="")
            assert {v.delivery.status for v in page.items} == {"succeeded"}
            retried = [v for v in page.items if v.delivery.event_id in {e.id for e in while_down}]
            assert all(v.attempts[0].error and v.attempts[0].error.startswith("ConnectError") for v in retried)
        finally:
            server.stop()


async def _at_least(receiver: Receiver, count: int) -> bool:
    return len(receiver.received) >= count


async def _ids_seen(receiver: Receiver, ids: set[str]) -> bool:
    return ids <= {r.headers["webhook-id"] for r in receiver.received}
