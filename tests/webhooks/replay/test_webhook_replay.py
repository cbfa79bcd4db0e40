"""Replays against a real PostgreSQL and receiver: one delivery (same webhook-id, a fresh run, or
"now" for one waiting), refusals with stable codes, and range replays as a resumable job."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_platform.db import tenant_session
from crm_platform.errors import Conflict, InvalidInput, NotFound
from crm_platform.ids import new_id
from crm_webhooks.delivery.tables import deliveries
from crm_webhooks.dispatch import repository as queue
from crm_webhooks.dispatch.repository import Limits
from crm_webhooks.main import Components, build_components, build_job_worker
from crm_webhooks.replay import service as replay_module
from crm_webhooks.replay.repository import Replay
from tests.webhooks.conftest import make_settings
from tests.webhooks.flows import (
    create_endpoint,
    deliveries_of,
    fan_out,
    make_event,
    queue_rows,
    run_dispatcher_until,
    views_of,
)
from tests.webhooks.webhooks_testkit import Receiver, wait_until

pytestmark = pytest.mark.usefixtures("empty_queue")


async def status_of(engine: AsyncEngine, tenant_id: uuid.UUID, components: Components) -> str:
    [delivery] = await deliveries_of(engine, tenant_id, components)
    return delivery.status


async def test_a_dead_delivery_is_sent_again_with_the_same_webhook_id(
    engine: AsyncEngine, tenant_id: uuid.UUID, components: Components, receiver: Receiver
) -> None:
    receiver.default_status = 500
    await create_endpoint(engine, tenant_id, components, receiver.url)
    event = make_event(tenant_id)
    [delivery_id] = await fan_out(engine, components, event)

    async def dead() -> bool:
        return await status_of(engine, tenant_id, components) == "dead"

    await run_dispatcher_until(engine, components, dead)
    receiver.default_status = 200  # the receiver is fixed
    async with tenant_session(engine, tenant_id) as session:
        view = await components.replay_service.replay_delivery(session, tenant_id, str(delivery_id))
    assert (view.delivery.status, view.delivery.replays) == ("pending", 1)
    [row] = await queue_rows(engine)
    assert (row.attempt, row.trigger) == (0, "replay")

    async def succeeded() -> bool:
        return await status_of(engine, tenant_id, components) == "succeeded"

    await run_dispatcher_until(engine, components, succeeded)
    [view] = await views_of(engine, tenant_id, components)
    assert view.delivery.attempts == 5
    assert [(a.number, a.trigger, a.status_code) for a in view.attempts][-2:] == [(4, "event", 500),
                                                                                (5, "replay", 200)]
    assert {r.headers["webhook-id"] for r in receiver.received} == {event.id}
    assert len({r.body for r in receiver.received}) == 1


@pytest.fixture
def slow_retries(database_url: str) -> Components:
    """Retries an hour apart: a failed delivery waits."""
    return build_components(make_settings(database_url, retry_schedule="3600"))


async def test_a_delivery_waiting_for_its_retry_is_attempted_now(
    engine: AsyncEngine, tenant_id: uuid.UUID, slow_retries: Components, receiver: Receiver
) -> None:
    components = slow_retries
    receiver.statuses = [503]
    await create_endpoint(engine, tenant_id, components, receiver.url)
    [delivery_id] = await fan_out(engine, components, make_event(tenant_id))

    async def failed() -> bool:
        return await status_of(engine, tenant_id, components) == "failed"

    await run_dispatcher_until(engine, components, failed)
    [waiting] = await deliveries_of(engine, tenant_id, components)
    assert waiting.next_attempt_at is not None and waiting.next_attempt_at > datetime.now(UTC) + timedelta(minutes=50)
    async with tenant_session(engine, tenant_id) as session:
        view = await components.replay_service.replay_delivery(session, tenant_id, str(delivery_id))
    assert view.delivery.status == "failed" and view.delivery.replays == 0  # same run, attempt now
    [row] = await queue_rows(engine)
    assert (row.attempt, row.trigger) == (1, "event")

    async def succeeded() -> bool:
        return await status_of(engine, tenant_id, components) == "succeeded"

    await run_dispatcher_until(engine, components, succeeded)
    assert len(receiver.received) == 2


async def test_replay_refusals_have_stable_codes(
    engine: AsyncEngine, tenant_id: uuid.UUID, new_tenant: object, components: Components, receiver: Receiver
) -> None:
    created = await create_endpoint(engine, tenant_id, components, receiver.url)
    [in_flight] = await fan_out(engine, components, make_event(tenant_id))
    await queue.claim(engine, slots=1, limits=Limits(endpoint=4, tenant=8), lease=timedelta(minutes=1))
    replays = components.replay_service

    async def refusal(raw_id: str, tenant: uuid.UUID = tenant_id) -> Exception:
        with pytest.raises((Conflict, NotFound)) as refused:
            async with tenant_session(engine, tenant) as session:
                await replays.replay_delivery(session, tenant, raw_id)
        return refused.value

    assert getattr(await refusal(str(in_flight)), "code", "") == "delivery_in_progress"
    other_tenant = new_tenant()  # type: ignore[operator]
    assert isinstance(await refusal(str(in_flight), other_tenant), NotFound)
    assert isinstance(await refusal(str(new_id())), NotFound)
    assert isinstance(await refusal("not-an-id"), NotFound)

    async with tenant_session(engine, tenant_id) as session:
        await session.execute(sa.update(deliveries).where(deliveries.c.id == in_flight)
                              .values(status="cancelled", payload={}, payload_purged_at=sa.func.now()))
    assert getattr(await refusal(str(in_flight)), "code", "") == "delivery_purged"

    async with tenant_session(engine, tenant_id) as session:
        await components.endpoint_service.update(session, str(created.endpoint.id), enabled=False)
    assert getattr(await refusal(str(in_flight)), "code", "") == "endpoint_disabled"


# -- range replays ------------------------------------------------------------------------------
async def _finished(engine: AsyncEngine, tenant_id: uuid.UUID, components: Components, receiver: Receiver,
                    statuses: list[str], created: datetime) -> list[uuid.UUID]:
    """Deliveries of one endpoint, already finished with the given statuses, a minute apart."""
    endpoint = await create_endpoint(engine, tenant_id, components, receiver.url)
    ids = []
    for index, status in enumerate(statuses):
        [delivery_id] = await fan_out(engine, components, make_event(tenant_id))
        async with tenant_session(engine, tenant_id) as session:
            await session.execute(sa.update(deliveries).where(deliveries.c.id == delivery_id).values(
                status=status, attempts=1, next_attempt_at=None, created_at=created + timedelta(minutes=index)))
        ids.append(delivery_id)
    await _clear_queue_of(engine, components, tenant_id, endpoint.endpoint.id)
    return ids


async def _clear_queue_of(engine: AsyncEngine, components: Components, tenant_id: uuid.UUID,
                          endpoint_id: uuid.UUID) -> None:
    async with tenant_session(engine, tenant_id) as session:
        await queue.remove_endpoint(session, endpoint_id)


async def _run_replay_jobs(engine: AsyncEngine, components: Components, replay_id: uuid.UUID,
                           tenant_id: uuid.UUID) -> Replay:
    worker = build_job_worker(engine, components)
    worker.poll_seconds = 0.05
    task = asyncio.create_task(worker.run())
    try:
        async def finished() -> bool:
            async with tenant_session(engine, tenant_id) as session:
                replay = await components.replay_service.get(session, str(replay_id))
            return replay.status in ("succeeded", "failed")

        await wait_until(finished, within=20)
    finally:
        worker.stop()
        await asyncio.wait_for(task, 15)
    async with tenant_session(engine, tenant_id) as session:
        return await components.replay_service.get(session, str(replay_id))


async def test_a_range_replay_sends_finished_deliveries_of_the_range_again_in_resumable_batches(
    engine: AsyncEngine, tenant_id: uuid.UUID, components: Components, receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(replay_module, "BATCH", 2)
    start = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
    ids = await _finished(engine, tenant_id, components, receiver,
                          ["succeeded", "dead", "failed", "succeeded", "dead", "succeeded", "dead"], start)
    endpoint_id = (await deliveries_of(engine, tenant_id, components))[0].endpoint_id
    async with tenant_session(engine, tenant_id) as session:  # one of them was about an erased customer
        await session.execute(sa.update(deliveries).where(deliveries.c.id == ids[3])
                              .values(payload={}, payload_purged_at=sa.func.now()))
        # The range: minutes 1..5 (ids[1] to ids[5]); ids[2] is still being retried.
        replay = await components.replay_service.create(
            session, tenant_id, endpoint_id=str(endpoint_id), since=start + timedelta(minutes=1),
            until=start + timedelta(minutes=6), statuses=[], requested_by="user-1",
        )
    assert (replay.status, replay.deliveries_total, replay.statuses) == ("queued", 4, ["succeeded", "dead"])

    # One batch, committed: a job restarted now resumes after it.
    async with tenant_session(engine, tenant_id) as session:
        assert not await components.replay_service.run_batch(session, tenant_id, replay.id)
    async with tenant_session(engine, tenant_id) as session:
        halfway = await components.replay_service.get(session, str(replay.id))
    assert (halfway.status, halfway.deliveries_replayed, halfway.deliveries_skipped) == ("running", 1, 1)

    done = await _run_replay_jobs(engine, components, replay.id, tenant_id)
    assert (done.status, done.deliveries_replayed, done.deliveries_skipped) == ("succeeded", 3, 1)
    assert done.finished_at is not None
    after = {d.id: d for d in await deliveries_of(engine, tenant_id, components)}
    assert {i for i in ids if after[i].replays == 1} == {ids[1], ids[4], ids[5]}  # each once
    assert {after[i].status for i in (ids[1], ids[4], ids[5])} == {"pending"}
    assert (after[ids[0]].status, after[ids[6]].status, after[ids[3]].status) == ("succeeded", "dead", "succeeded")
    assert sorted(r.delivery_id for r in await queue_rows(engine)) == sorted([ids[1], ids[4], ids[5]])
    assert {r.trigger for r in await queue_rows(engine)} == {"replay"}


async def test_a_range_replay_of_dead_letters_only(
    engine: AsyncEngine, tenant_id: uuid.UUID, components: Components, receiver: Receiver
) -> None:
    start = datetime.now(UTC) - timedelta(hours=1)
    ids = await _finished(engine, tenant_id, components, receiver, ["succeeded", "dead", "dead"], start)
    endpoint_id = (await deliveries_of(engine, tenant_id, components))[0].endpoint_id
    async with tenant_session(engine, tenant_id) as session:
        replay = await components.replay_service.create(
            session, tenant_id, endpoint_id=str(endpoint_id), since=start, until=None, statuses=["dead"],
            requested_by="user-1",
        )
    done = await _run_replay_jobs(engine, components, replay.id, tenant_id)
    assert (done.deliveries_total, done.deliveries_replayed, done.until <= datetime.now(UTC)) == (2, 2, True)
    assert sorted(r.delivery_id for r in await queue_rows(engine)) == sorted(ids[1:])


async def test_range_replay_input_is_checked(
    engine: AsyncEngine, tenant_id: uuid.UUID, components: Components, receiver: Receiver
) -> None:
    created = await create_endpoint(engine, tenant_id, components, receiver.url)
    endpoint_id = str(created.endpoint.id)
    now = datetime.now(UTC)

    async def errors(**kwargs: object) -> list[tuple[str, str]]:
        with pytest.raises(InvalidInput) as bad:
            async with tenant_session(engine, tenant_id) as session:
                await components.replay_service.create(session, tenant_id, endpoint_id=endpoint_id,
                                                       requested_by="u", **kwargs)  # type: ignore[arg-type]
        return [(e.field, e.code) for e in bad.value.errors]

    assert await errors(since=None, until=None, statuses=[]) == [("since", "required")]
    hour_ago = now - timedelta(hours=1)
    assert await errors(since=hour_ago, until=hour_ago - timedelta(hours=1), statuses=[]) == [
        ("until", "invalid_range")]
    assert await errors(since=now + timedelta(hours=1), until=None, statuses=[]) == [("since", "invalid_range")]
    assert await errors(since=now - timedelta(hours=1), until=None, statuses=["dead", "failed"]) == [
        ("statuses[1]", "invalid_status")]
    async with tenant_session(engine, tenant_id) as session:
        await components.endpoint_service.update(session, endpoint_id, enabled=False)
    with pytest.raises(Conflict) as disabled:
        async with tenant_session(engine, tenant_id) as session:
            await components.replay_service.create(session, tenant_id, endpoint_id=endpoint_id,
                                                   since=now - timedelta(hours=1), until=None, statuses=[],
                                                   requested_by="u")
    assert disabled.value.code == "endpoint_disabled"
    with pytest.raises(NotFound):
        async with tenant_session(engine, tenant_id) as session:
            await components.replay_service.create(session, tenant_id, endpoint_id=str(new_id()),
                                                   since=now - timedelta(hours=1), until=None, statuses=[],
                                                   requested_by="u")
