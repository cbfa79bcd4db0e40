"""An endpoint's life against a real PostgreSQL and receiver: disable and re-enable, automatic
disable after failing for the configured time (with its event in the outbox), and delete."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_platform.db import control_session, tenant_session
from crm_platform.errors import NotFound
from crm_platform.tables import outbox
from crm_webhooks.dispatch.tables import webhook_lanes
from crm_webhooks.endpoint.tables import endpoints
from crm_webhooks.main import Components, build_components
from tests.webhooks.conftest import make_settings
from tests.webhooks.flows import (
    create_endpoint,
    deliveries_of,
    fan_out,
    make_event,
    queue_rows,
    run_dispatcher_until,
)
from tests.webhooks.webhooks_testkit import Receiver

pytestmark = pytest.mark.usefixtures("empty_queue")


async def test_disabling_dead_letters_what_waits_and_enabling_starts_clean(
    engine: AsyncEngine, tenant_id: uuid.UUID, components: Components, receiver: Receiver
) -> None:
    created = await create_endpoint(engine, tenant_id, components, receiver.url)
    endpoint_id = str(created.endpoint.id)
    waiting = await fan_out(engine, components, make_event(tenant_id))
    async with tenant_session(engine, tenant_id) as session:
        disabled = await components.endpoint_service.update(session, endpoint_id, enabled=False)
    assert (disabled.enabled, disabled.disabled_reason, disabled.disabled_at is not None) == (False, "manual", True)
    [delivery] = await deliveries_of(engine, tenant_id, components)
    assert (delivery.id, delivery.status, delivery.last_error) == (waiting[0], "dead", "endpoint disabled")
    assert await queue_rows(engine) == []
    assert await fan_out(engine, components, make_event(tenant_id)) == []  # nothing new while disabled

    async with tenant_session(engine, tenant_id) as session:
        enabled = await components.endpoint_service.update(session, endpoint_id, enabled=True)
    assert (enabled.enabled, enabled.disabled_reason, enabled.disabled_at, enabled.failing_since) == (
        True, None, None, None)
    assert len(await fan_out(engine, components, make_event(tenant_id))) == 1


@pytest.fixture
def quick_to_disable(database_url: str) -> Components:
    """Endpoints failing for half a second are disabled; retries every 0.2 s for a while."""
    return build_components(make_settings(database_url, retry_schedule="0.2,0.2,0.2,0.2,0.2,0.2,0.2,0.2",
                                          disable_failing_after="0.5"))


async def test_an_endpoint_failing_for_the_set_time_is_disabled_and_admins_get_an_event(
    engine: AsyncEngine, tenant_id: uuid.UUID, quick_to_disable: Components, receiver: Receiver
) -> None:
    components = quick_to_disable
    receiver.default_status = 502
    created = await create_endpoint(engine, tenant_id, components, receiver.url)
    first = await fan_out(engine, components, make_event(tenant_id))

    async def disabled() -> bool:
        async with tenant_session(engine, tenant_id) as session:
            found = await components.endpoint_service.get(session, str(created.endpoint.id))
        return not found.enabled

    await run_dispatcher_until(engine, components, disabled)
    async with tenant_session(engine, tenant_id) as session:
        endpoint = await components.endpoint_service.get(session, str(created.endpoint.id))
    assert endpoint.disabled_reason == "failing" and endpoint.failing_since is not None
    assert endpoint.disabled_at is not None and endpoint.disabled_at > endpoint.failing_since
    [delivery] = await deliveries_of(engine, tenant_id, components)
    assert (delivery.id, delivery.status) == (first[0], "dead")
    assert await queue_rows(engine) == []

    async with control_session(engine) as session:
        rows = (await session.execute(
            sa.select(outbox).where(outbox.c.tenant_id == tenant_id,
                                    outbox.c.subject == f"crm.{tenant_id}.webhook_endpoint.disabled")
        )).all()
    [row] = rows  # once, however many attempts failed around the moment
    event = row.payload
    assert (event["type"], event["source"], event["subject"]) == (
        "crm.webhook_endpoint.disabled", "crm/webhooks", str(created.endpoint.id))
    data = event["data"]
    assert (data["endpoint_id"], data["url"], data["reason"], data["last_status_code"]) == (
        str(created.endpoint.id), receiver.url, "failing", 502)
    assert data["last_error"] == "HTTP 502" and data["failing_since"].endswith("Z")
    assert data["disabled_at"] > data["failing_since"]


async def test_a_success_ends_the_failing_period(
    engine: AsyncEngine, tenant_id: uuid.UUID, quick_to_disable: Components, receiver: Receiver
) -> None:
    components = quick_to_disable
    receiver.statuses = [500]
    created = await create_endpoint(engine, tenant_id, components, receiver.url)
    await fan_out(engine, components, make_event(tenant_id))

    async def succeeded() -> bool:
        [delivery] = await deliveries_of(engine, tenant_id, components)
        return delivery.status == "succeeded"

    await run_dispatcher_until(engine, components, succeeded)
    async with tenant_session(engine, tenant_id) as session:
        endpoint = await components.endpoint_service.get(session, str(created.endpoint.id))
    assert (endpoint.enabled, endpoint.failing_since) == (True, None)


async def test_deleting_an_endpoint_cancels_what_waits_and_forgets_it(
    engine: AsyncEngine, tenant_id: uuid.UUID, components: Components, receiver: Receiver
) -> None:
    created = await create_endpoint(engine, tenant_id, components, receiver.url)
    kept = await create_endpoint(engine, tenant_id, components, receiver.url)
    endpoint_id = str(created.endpoint.id)
    await fan_out(engine, components, make_event(tenant_id))
    service = components.endpoint_service

    async with tenant_session(engine, tenant_id) as session:
        assert await service.delete(session, endpoint_id) == 1
    statuses = {(d.endpoint_id, d.status, d.last_error) for d in await deliveries_of(engine, tenant_id, components)}
    assert statuses == {(created.endpoint.id, "cancelled", "endpoint deleted"), (kept.endpoint.id, "pending", None)}
    assert {r.endpoint_id for r in await queue_rows(engine)} == {kept.endpoint.id}
    async with control_session(engine) as session:
        lanes = set((await session.execute(sa.select(webhook_lanes.c.endpoint_id))).scalars())
    assert lanes == {kept.endpoint.id}

    async with tenant_session(engine, tenant_id) as session:
        assert [e.id for e in await service.list_all(session)] == [kept.endpoint.id]
        for gone in (service.get(session, endpoint_id), service.delete(session, endpoint_id),
                     service.update(session, endpoint_id, enabled=True),
                     components.delivery_service.list_page(session, endpoint_id=endpoint_id, page_size=0,
                                                           page_token="")):
            with pytest.raises(NotFound):
                await gone
        # The signing secret is destroyed; the row stays only as its deliveries' tombstone.
        secret = (await session.execute(sa.select(endpoints.c.secret_encrypted)
                                        .where(endpoints.c.id == created.endpoint.id))).scalar_one()
    assert secret == b""
    assert len(await fan_out(engine, components, make_event(tenant_id))) == 1  # only the kept endpoint
