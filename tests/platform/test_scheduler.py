"""The platform scheduler against a real PostgreSQL: schedules written in the owner's transaction,
fired exactly once (also with two schedulers on one database, and after a crash mid-batch),
recurring in the row's time zone (DST-correct), missed occurrences fired once, failures retried,
isolated, recorded and observable, suspended tenants held, erased tenants' schedules gone."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from crm_platform import migrations, offboarding, scheduler
from crm_platform.db import control_session, tenant_session
from crm_platform.errors import InvalidInput
from crm_platform.ids import new_id
from crm_platform.scheduler import Firing, Scheduler
from crm_platform.tables import schedules, tenants

from .conftest import TENANT_TREE, Infra, fired, metric

SHANGHAI = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")
DAILY_9 = "FREQ=DAILY;BYHOUR=9;BYMINUTE=0;BYSECOND=0"
NO_WAIT = [timedelta(0), timedelta(0)]


def new_kind() -> str:
    return f"test.{new_id().hex[:12]}"


def recorder(name: str = "s1", seen: list[Firing] | None = None,
             fail_keys: frozenset[str] = frozenset()) -> scheduler.ScheduleHandler:
    """A handler writing one `fired` row per firing in the tenant's schema (and failing for some keys)."""

    async def handle(session: AsyncSession, firings: Sequence[Firing]) -> None:
        await session.execute(sa.insert(fired), [
            {"schedule_key": f.key, "occurrence_at": f.occurrence_at, "fired_by": name} for f in firings])
        if seen is not None:
            seen.extend(firings)
        broken = [f.key for f in firings if f.key in fail_keys]
        if broken:
            raise RuntimeError(f"cannot fire {broken[0]}")

    return handle


async def fired_rows(engine: AsyncEngine, tenant: uuid.UUID) -> list[Any]:
    async with tenant_session(engine, tenant) as session:
        return list((await session.execute(sa.select(fired).order_by(fired.c.id))).all())


async def schedule_row(engine: AsyncEngine, tenant: uuid.UUID, kind: str, key: str) -> Any:
    async with control_session(engine) as session:
        return await scheduler.get(session, tenant, kind, key)


async def make_due(engine: AsyncEngine, kind: str, occurrence: datetime | None = None) -> None:
    """Moves every schedule of `kind` to be due now (or at `occurrence`), as time passing would."""
    async with control_session(engine) as session:
        await session.execute(sa.update(schedules).where(schedules.c.kind == kind).values(
            due_at=sa.func.now() - timedelta(seconds=1) if occurrence is None else occurrence,
            occurrence_at=sa.func.now() - timedelta(seconds=1) if occurrence is None else occurrence))


# -- the owner's API --------------------------------------------------------------------------------

async def test_one_shot_fires_once_in_the_tenant_and_is_gone(engine: AsyncEngine, tenant: uuid.UUID) -> None:
    kind = new_kind()
    seen: list[Firing] = []
    at = datetime.now(UTC) - timedelta(seconds=2)
    async with tenant_session(engine, tenant) as session:
        first = await scheduler.schedule(session, tenant, kind, "task-1", at=at, payload={"task_id": "t1"})
    assert first == at
    later = datetime.now(UTC) + timedelta(hours=1)
    async with tenant_session(engine, tenant) as session:
        await scheduler.schedule(session, tenant, kind, "task-later", at=later)
    reader = InMemoryMetricReader()
    worker = Scheduler(engine, {kind: recorder(seen=seen)}, meter=MeterProvider([reader]).get_meter("t"))
    assert await worker.run_batch() == 1
    assert await worker.run_batch() == 0  # nothing else is due; the later one waits

    [row] = await fired_rows(engine, tenant)
    assert (row.schedule_key, row.occurrence_at) == ("task-1", at)
    [firing] = seen
    assert (firing.tenant_id, firing.kind, firing.payload, firing.attempt, firing.recurring) == (
        tenant, kind, {"task_id": "t1"}, 1, False)
    assert await schedule_row(engine, tenant, kind, "task-1") is None
    assert (await schedule_row(engine, tenant, kind, "task-later")).occurrence_at == later
    [fired_count] = metric(reader, "crm.scheduler.fired")
    [lag] = metric(reader, "crm.scheduler.lag")
    assert fired_count.value == 1 and lag.count == 1 and lag.sum >= 2.0


async def test_upsert_cancel_and_rollback(engine: AsyncEngine, tenant: uuid.UUID) -> None:
    kind = new_kind()
    soon = datetime.now(UTC) + timedelta(minutes=5)
    async with tenant_session(engine, tenant) as session:
        await scheduler.schedule(session, tenant, kind, "k", at=soon, payload={"v": 1})
        await scheduler.schedule(session, tenant, kind, "k", at=soon + timedelta(minutes=1), payload={"v": 2})
    row = await schedule_row(engine, tenant, kind, "k")
    assert (row.occurrence_at, row.payload) == (soon + timedelta(minutes=1), {"v": 2})
    async with control_session(engine) as session:
        assert (await session.execute(sa.select(sa.func.count()).where(schedules.c.kind == kind))).scalar() == 1

    # A schedule exists only if the owner's transaction committed.
    with pytest.raises(RuntimeError):
        async with tenant_session(engine, tenant) as session:
            await scheduler.schedule(session, tenant, kind, "rolled-back", at=soon)
            raise RuntimeError("the business change failed")
    assert await schedule_row(engine, tenant, kind, "rolled-back") is None

    async with tenant_session(engine, tenant) as session:
        assert await scheduler.cancel(session, tenant, kind, "k")
        assert not await scheduler.cancel(session, tenant, kind, "k")
    assert await schedule_row(engine, tenant, kind, "k") is None


async def test_bad_schedules_are_refused_with_the_field(engine: AsyncEngine, tenant: uuid.UUID) -> None:
    kind = new_kind()
    cases: list[tuple[dict[str, Any], str, str]] = [
        ({"rrule": "FREQ=SOMETIMES"}, "rrule", "invalid_rrule"),
        ({"rrule": "DTSTART:20260101T000000Z\nRRULE:FREQ=DAILY"}, "rrule", "invalid_rrule"),
        ({"rrule": "FREQ=SECONDLY"}, "rrule", "rrule_too_frequent"),
        ({"rrule": "FREQ=MINUTELY;BYSECOND=0,30"}, "rrule", "rrule_too_frequent"),
        ({"rrule": "FREQ=DAILY;COUNT=1", "dtstart": datetime(2020, 1, 1, tzinfo=UTC)}, "rrule",
         "rrule_has_no_occurrence"),
        ({"rrule": DAILY_9, "time_zone": "Mars/Olympus"}, "time_zone", "invalid_time_zone"),
        ({"at": datetime(2030, 1, 1, 9, 0)}, "at", "naive_datetime"),
    ]
    for arguments, field, code in cases:
        with pytest.raises(InvalidInput) as refused:
            async with tenant_session(engine, tenant) as session:
                await scheduler.schedule(session, tenant, kind, "bad", **arguments)
        assert [(e.field, e.code) for e in refused.value.errors] == [(field, code)], arguments
    assert await schedule_row(engine, tenant, kind, "bad") is None


# -- recurrence in the tenant's time zone -------------------------------------------------------------

def test_daily_nine_in_shanghai() -> None:
    start = datetime(2026, 3, 1, 9, 0, tzinfo=SHANGHAI)
    after = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai: today's 09:00 has passed
    nxt = scheduler.next_occurrence(DAILY_9, start, "Asia/Shanghai", after)
    assert nxt == datetime(2026, 3, 11, 1, 0, tzinfo=UTC)  # 09:00 +08:00


def test_berlin_keeps_nine_oclock_across_both_dst_changes() -> None:
    start = datetime(2026, 3, 27, 9, 0, tzinfo=BERLIN)
    cursor = start - timedelta(minutes=1)
    spring = []
    for _ in range(4):  # 27th, 28th (CET), 29th DST starts, 30th (CEST)
        nxt = scheduler.next_occurrence(DAILY_9, start, "Europe/Berlin", cursor)
        assert nxt is not None
        spring.append(nxt)
        cursor = nxt
    assert [d.hour for d in spring] == [8, 8, 7, 7]
    assert all(d.astimezone(BERLIN).hour == 9 for d in spring)
    autumn = scheduler.next_occurrence(DAILY_9, start, "Europe/Berlin", datetime(2026, 10, 25, 0, 0, tzinfo=UTC))
    assert autumn == datetime(2026, 10, 25, 8, 0, tzinfo=UTC)  # CET again on the 25th
    # 02:30 does not exist on 29 March in Berlin: RFC 5545 takes the offset before the gap (03:30 CEST).
    gap = scheduler.next_occurrence("FREQ=DAILY;BYHOUR=2;BYMINUTE=30;BYSECOND=0", start, "Europe/Berlin",
                                    datetime(2026, 3, 28, 12, 0, tzinfo=UTC))
    assert gap == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)


async def test_recurring_schedule_fires_and_moves_to_the_next_local_nine(engine: AsyncEngine,
                                                                          tenant: uuid.UUID) -> None:
    kind = new_kind()
    async with tenant_session(engine, tenant) as session:
        first = await scheduler.schedule(session, tenant, kind, "daily-report", rrule=DAILY_9,
                                         time_zone="Europe/Berlin", dtstart=datetime(2026, 1, 5, 9, 0))
    local = first.astimezone(BERLIN)
    assert (local.hour, local.minute) == (9, 0) and first > datetime.now(UTC)
    # Time passes until it is due: the scheduler fires it and computes the next 09:00 in Berlin.
    await make_due(engine, kind)
    worker = Scheduler(engine, {kind: recorder()})
    assert await worker.run_batch() == 1
    row = await schedule_row(engine, tenant, kind, "daily-report")
    local = row.occurrence_at.astimezone(BERLIN)
    assert (local.hour, local.minute) == (9, 0) and row.occurrence_at > datetime.now(UTC)
    assert (row.fired_count, row.attempts, row.status) == (1, 0, "active") and row.last_fired_at is not None
    assert len(await fired_rows(engine, tenant)) == 1


async def test_missed_occurrences_fire_once_then_continue(engine: AsyncEngine, tenant: uuid.UUID) -> None:
    kind = new_kind()
    async with tenant_session(engine, tenant) as session:
        await scheduler.schedule(session, tenant, kind, "hourly", rrule="FREQ=HOURLY;BYMINUTE=0;BYSECOND=0",
                                 time_zone="Asia/Shanghai")
    missed_since = (datetime.now(UTC) - timedelta(hours=5)).replace(minute=0, second=0, microsecond=0)
    await make_due(engine, kind, missed_since)  # the service was down for five hours
    worker = Scheduler(engine, {kind: recorder()})
    assert await worker.run_batch() == 1
    assert await worker.run_batch() == 0
    [row] = await fired_rows(engine, tenant)
    assert row.occurrence_at == missed_since
    nxt = (await schedule_row(engine, tenant, kind, "hourly")).occurrence_at
    now = datetime.now(UTC)
    assert now < nxt <= now + timedelta(hours=1) and (nxt.minute, nxt.second) == (0, 0)


# -- exactly once -----------------------------------------------------------------------------------

async def test_two_schedulers_fire_each_occurrence_exactly_once(engine: AsyncEngine, infra: Infra) -> None:
    kind = new_kind()
    tenants_used = [new_id() for _ in range(3)]
    for tenant in tenants_used:
        await asyncio.to_thread(migrations.upgrade_tenant, infra.database_url, TENANT_TREE, tenant)
    past = datetime.now(UTC) - timedelta(seconds=1)
    for tenant in tenants_used:
        async with tenant_session(engine, tenant) as session:
            for index in range(100):
                await scheduler.schedule(session, tenant, kind, f"once-{index}", at=past)
            for index in range(10):
                await scheduler.schedule(session, tenant, kind, f"daily-{index}", rrule=DAILY_9,
                                         time_zone="Asia/Shanghai")
    await make_due(engine, kind)
    first = Scheduler(engine, {kind: recorder("a")}, batch_size=7, concurrency=2, poll_seconds=0.02)
    second = Scheduler(engine, {kind: recorder("b")}, batch_size=7, concurrency=2, poll_seconds=0.02)
    tasks = [asyncio.create_task(first.run()), asyncio.create_task(second.run())]
    try:
        for _ in range(300):
            async with control_session(engine) as session:
                due = (await scheduler.backlog(session, [kind])).overdue
            if due == 0:
                break
            await asyncio.sleep(0.05)
    finally:
        first.stop()
        second.stop()
        await asyncio.gather(*tasks)
    for tenant in tenants_used:
        keys = [r.schedule_key for r in await fired_rows(engine, tenant)]
        assert sorted(keys) == sorted([f"once-{i}" for i in range(100)] + [f"daily-{i}" for i in range(10)])
    async with control_session(engine) as session:
        left = (await session.execute(sa.select(schedules.c.key, schedules.c.occurrence_at)
                                      .where(schedules.c.kind == kind))).all()
    assert len(left) == 30 and all(r.key.startswith("daily-") and r.occurrence_at > past for r in left)


async def test_a_crash_mid_batch_rolls_back_and_the_next_scheduler_fires_it(engine: AsyncEngine,
                                                                            tenant: uuid.UUID) -> None:
    """The row lock is the lease: while a batch runs nobody else takes its rows; if its process
    dies, nothing it did is kept and the rows are due again."""
    kind = new_kind()
    async with tenant_session(engine, tenant) as session:
        await scheduler.schedule(session, tenant, kind, "r1", at=datetime.now(UTC) - timedelta(seconds=1))
    entered = asyncio.Event()

    async def hangs(session: AsyncSession, firings: Sequence[Firing]) -> None:
        await session.execute(sa.insert(fired).values(schedule_key="r1", occurrence_at=firings[0].occurrence_at,
                                                      fired_by="crashed"))
        entered.set()
        await asyncio.Event().wait()  # the process dies here

    crashing = asyncio.create_task(Scheduler(engine, {kind: hangs}).run_batch())
    await asyncio.wait_for(entered.wait(), 10)
    other = Scheduler(engine, {kind: recorder("survivor")})
    assert await other.run_batch() == 0  # locked by the running batch: skipped, not fired twice
    crashing.cancel()
    with pytest.raises(asyncio.CancelledError):
        await crashing
    assert await other.run_batch() == 1
    assert [(r.schedule_key, r.fired_by) for r in await fired_rows(engine, tenant)] == [("r1", "survivor")]


# -- failures ---------------------------------------------------------------------------------------

async def test_a_failing_firing_does_not_hold_back_the_others_and_goes_dead(engine: AsyncEngine,
                                                                            tenant: uuid.UUID) -> None:
    kind = new_kind()
    past = datetime.now(UTC) - timedelta(seconds=1)
    async with tenant_session(engine, tenant) as session:
        for key in ("ok-1", "broken", "ok-2"):
            await scheduler.schedule(session, tenant, kind, key, at=past)
    reader = InMemoryMetricReader()
    worker = Scheduler(engine, {kind: recorder(fail_keys=frozenset({"broken"}))}, retry_schedule=NO_WAIT,
                       meter=MeterProvider([reader]).get_meter("t"))
    assert await worker.run_batch() == 3
    # The group failed, so each went alone: the good ones fired, the broken one's write was rolled back.
    assert sorted(r.schedule_key for r in await fired_rows(engine, tenant)) == ["ok-1", "ok-2"]
    row = await schedule_row(engine, tenant, kind, "broken")
    assert (row.status, row.attempts) == ("active", 1) and "cannot fire broken" in row.last_error
    assert await worker.run_batch() == 1  # retry 1
    assert await worker.run_batch() == 1  # retry 2, the last
    row = await schedule_row(engine, tenant, kind, "broken")
    assert (row.status, row.attempts) == ("dead", 3)
    assert await worker.run_batch() == 0  # dead rows are not claimed
    async with control_session(engine) as session:
        listed = await scheduler.failed(session, tenant_id=tenant, kind=kind)
    assert [(r.key, r.status) for r in listed] == [("broken", "dead")]
    assert sum(p.value for p in metric(reader, "crm.scheduler.failed")) == 3
    assert sum(p.value for p in metric(reader, "crm.scheduler.given_up")) == 1
    # The owner can reschedule a dead schedule: it is active again with its error cleared.
    async with tenant_session(engine, tenant) as session:
        await scheduler.schedule(session, tenant, kind, "broken", at=past)
    row = await schedule_row(engine, tenant, kind, "broken")
    assert (row.status, row.attempts, row.last_error) == ("active", 0, None)


async def test_a_recurring_schedule_gives_up_one_occurrence_and_carries_on(engine: AsyncEngine,
                                                                          tenant: uuid.UUID) -> None:
    kind = new_kind()
    async with tenant_session(engine, tenant) as session:
        await scheduler.schedule(session, tenant, kind, "weekly", rrule="FREQ=WEEKLY;BYDAY=MO;BYHOUR=9;BYMINUTE=0",
                                 time_zone="Asia/Shanghai")
    occurrence = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)
    await make_due(engine, kind, occurrence)
    seen: list[Firing] = []
    worker = Scheduler(engine, {kind: recorder(seen=seen, fail_keys=frozenset({"weekly"}))}, retry_schedule=[])
    assert await worker.run_batch() == 1
    row = await schedule_row(engine, tenant, kind, "weekly")
    assert row.status == "active" and row.attempts == 0 and row.occurrence_at > datetime.now(UTC)
    assert row.occurrence_at.astimezone(SHANGHAI).weekday() == 0 and "cannot fire" in row.last_error
    async with control_session(engine) as session:
        assert [r.key for r in await scheduler.failed(session, tenant_id=tenant, kind=kind)] == ["weekly"]
    assert seen[0].occurrence_at == occurrence and seen[0].recurring


async def test_retries_keep_the_occurrence_and_count_attempts(engine: AsyncEngine, tenant: uuid.UUID) -> None:
    kind = new_kind()
    occurrence = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=5)
    async with tenant_session(engine, tenant) as session:
        await scheduler.schedule(session, tenant, kind, "flaky", at=occurrence)
    seen: list[Firing] = []
    broken = {"flaky"}

    async def flaky(session: AsyncSession, firings: Sequence[Firing]) -> None:
        seen.extend(firings)
        if broken:
            raise ConnectionError("downstream away")

    worker = Scheduler(engine, {kind: flaky}, retry_schedule=[timedelta(0)])
    assert await worker.run_batch() == 1
    async with control_session(engine) as session:
        assert [r.key for r in await scheduler.failed(session, kind=kind)] == ["flaky"]  # waiting for its retry
    broken.clear()
    assert await worker.run_batch() == 1
    # Attempt 1 ran twice (optimistically, then in a savepoint: only a committed run counts).
    assert [(f.occurrence_at, f.attempt) for f in seen] == [(occurrence, 1), (occurrence, 1), (occurrence, 2)]
    assert await schedule_row(engine, tenant, kind, "flaky") is None


# -- tenants ----------------------------------------------------------------------------------------

async def test_suspended_tenant_is_held_and_fires_once_resumed(engine: AsyncEngine, tenant: uuid.UUID) -> None:
    kind = new_kind()
    async with tenant_session(engine, tenant) as session:
        await scheduler.schedule(session, tenant, kind, "held", at=datetime.now(UTC) - timedelta(seconds=1))
    async with control_session(engine) as session:
        await session.execute(sa.update(tenants).where(tenants.c.tenant_id == tenant)
                              .values(suspended_at=sa.func.now()))
    worker = Scheduler(engine, {kind: recorder()})
    assert await worker.run_batch() == 0
    async with control_session(engine) as session:
        await session.execute(sa.update(tenants).where(tenants.c.tenant_id == tenant).values(suspended_at=None))
    assert await worker.run_batch() == 1
    assert len(await fired_rows(engine, tenant)) == 1


async def test_offboarding_erases_the_tenants_schedules(engine: AsyncEngine, tenant: uuid.UUID) -> None:
    kind = new_kind()
    async with tenant_session(engine, tenant) as session:
        await scheduler.schedule(session, tenant, kind, "a", at=datetime.now(UTC) + timedelta(days=1))
        await scheduler.schedule(session, tenant, kind, "b", rrule=DAILY_9, time_zone="Asia/Shanghai")
    deleted, _ = await offboarding.erase_postgres(engine, tenant)
    assert deleted["control.schedules"] == 2
    assert await schedule_row(engine, tenant, kind, "a") is None


async def test_backlog_reports_how_late_the_oldest_due_schedule_is(engine: AsyncEngine, tenant: uuid.UUID) -> None:
    kind = new_kind()
    async with tenant_session(engine, tenant) as session:
        for index in range(3):
            await scheduler.schedule(session, tenant, kind, f"late-{index}", at=datetime.now(UTC))
    await make_due(engine, kind, datetime.now(UTC) - timedelta(seconds=42))
    async with control_session(engine) as session:
        late = await scheduler.backlog(session, [kind])
    assert late.overdue == 3 and 42 <= late.lag_seconds < 60
    await Scheduler(engine, {kind: recorder()}).run_batch()
    async with control_session(engine) as session:
        assert await scheduler.backlog(session, [kind]) == scheduler.Backlog(0, None, 0.0)


# -- writes deferred to the end of the batch ----------------------------------------------------------

def deferring(kind: str, calls: list[int], fail_keys: frozenset[str] = frozenset(),
              poison: frozenset[str] = frozenset()) -> tuple[scheduler.ScheduleHandler, scheduler.BatchWriter]:
    """A handler that fires like `recorder` and defers a follow-up one-shot `next:<key>` per firing
    (in `kind` + ".next"), and its writer, which counts its calls (items each) and refuses a batch
    holding a follow-up of a key in `poison`."""

    async def write(session: AsyncSession, items: list[Any]) -> None:
        calls.append(len(items))
        if any(item.key.removeprefix("next:") in poison for item in items):
            raise RuntimeError("the writer refuses this batch")
        await scheduler.schedule_rows(session, items)

    handle = recorder(fail_keys=fail_keys)

    async def fire(session: AsyncSession, firings: Sequence[Firing]) -> None:
        await scheduler.defer(session, write, [
            scheduler.OneShot(f.tenant_id, f"{kind}.next", f"next:{f.key}", f.occurrence_at + timedelta(days=1),
                              {"after": f.key}) for f in firings])
        await handle(session, firings)

    return fire, write


async def follow_ups(engine: AsyncEngine, kind: str) -> list[tuple[uuid.UUID, str]]:
    async with control_session(engine) as session:
        rows = (await session.execute(sa.select(schedules.c.tenant_id, schedules.c.key)
                                      .where(schedules.c.kind == f"{kind}.next"))).all()
    return sorted((r.tenant_id, r.key) for r in rows)


async def due_in(engine: AsyncEngine, infra: Infra, kind: str, keys: Sequence[str], tenants: int = 3
                 ) -> list[uuid.UUID]:
    made = [new_id() for _ in range(tenants)]
    past = datetime.now(UTC) - timedelta(seconds=1)
    for tenant in made:
        await asyncio.to_thread(migrations.upgrade_tenant, infra.database_url, TENANT_TREE, tenant)
        async with tenant_session(engine, tenant) as session:
            for key in keys:
                await scheduler.schedule(session, tenant, kind, key, at=past)
    return made


async def test_deferred_writes_of_every_tenant_group_are_written_once_per_batch(engine: AsyncEngine,
                                                                               infra: Infra) -> None:
    """Three tenants' firings in one batch: three handler calls, one call of the writer with all
    nine follow-ups (written in the batch's commit, with the firings)."""
    kind = new_kind()
    made = await due_in(engine, infra, kind, ["a", "b", "c"])
    calls: list[int] = []
    handler, _ = deferring(kind, calls)
    assert await Scheduler(engine, {kind: handler}).run_batch() == 9
    assert calls == [9]
    assert await follow_ups(engine, kind) == sorted((t, f"next:{k}") for t in made for k in "abc")
    for tenant in made:
        assert sorted(r.schedule_key for r in await fired_rows(engine, tenant)) == ["a", "b", "c"]


async def test_a_failing_group_leaves_no_deferred_writes_and_the_others_keep_theirs(engine: AsyncEngine,
                                                                                   infra: Infra) -> None:
    """One firing's handler fails: the batch runs again carefully, each group (and then each of the
    failing group's firings) writing its own deferred items in its savepoint; the failed firing's
    follow-up is rolled back with it."""
    kind = new_kind()
    made = await due_in(engine, infra, kind, ["ok", "broken"], tenants=2)
    calls: list[int] = []
    handler, _ = deferring(kind, calls, fail_keys=frozenset({"broken"}))
    assert await Scheduler(engine, {kind: handler}, retry_schedule=NO_WAIT).run_batch() == 4
    assert await follow_ups(engine, kind) == sorted((t, "next:ok") for t in made)
    for tenant in made:
        assert [r.schedule_key for r in await fired_rows(engine, tenant)] == ["ok"]
        assert (await schedule_row(engine, tenant, kind, "broken")).attempts == 1


async def test_a_failing_writer_rolls_the_batch_back_and_fails_only_its_firing(engine: AsyncEngine,
                                                                              infra: Infra) -> None:
    """The writer refuses the batch (one poisoned item among six): nothing of that attempt stays;
    run carefully, only the poisoned firing fails (its rows rolled back), the rest fire."""
    kind = new_kind()
    made = await due_in(engine, infra, kind, ["ok", "poison"], tenants=3)
    calls: list[int] = []
    handler, _ = deferring(kind, calls, poison=frozenset({"poison"}))
    assert await Scheduler(engine, {kind: handler}, retry_schedule=NO_WAIT).run_batch() == 6
    assert calls[0] == 6  # the whole batch once, refused; then per group and per firing
    assert await follow_ups(engine, kind) == sorted((t, "next:ok") for t in made)
    for tenant in made:
        assert [r.schedule_key for r in await fired_rows(engine, tenant)] == ["ok"]
        row = await schedule_row(engine, tenant, kind, "poison")
        assert row.attempts == 1 and "the writer refuses this batch" in row.last_error


async def test_outside_a_batch_a_deferred_write_happens_at_once(engine: AsyncEngine, tenant: uuid.UUID) -> None:
    kind = new_kind()
    calls: list[int] = []
    handler, _ = deferring(kind, calls)
    firing = Firing(new_id(), tenant, kind, "by-hand", {}, datetime.now(UTC), 1, False)
    async with tenant_session(engine, tenant) as session:
        await handler(session, [firing])
        assert calls == [1]  # written before the handler returned, in the caller's transaction
    assert await follow_ups(engine, kind) == [(tenant, "next:by-hand")]
