"""Jobs: claimed once under concurrency, retried on schedule, dead after the last attempt,
and picked up again when a worker's lease runs out."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_platform import jobs
from crm_platform.db import control_session
from crm_platform.ids import new_id
from crm_platform.tables import jobs as jobs_table


async def _enqueue(engine: AsyncEngine, kind: str, count: int = 1, max_attempts: int = 5) -> None:
    async with control_session(engine) as session:
        for index in range(count):
            await jobs.enqueue(session, kind, {"n": index}, max_attempts=max_attempts)


async def _status(engine: AsyncEngine, kind: str) -> list[tuple[str, int]]:
    async with control_session(engine) as session:
        rows = (
            await session.execute(
                sa.select(jobs_table.c.status, jobs_table.c.attempts).where(jobs_table.c.kind == kind)
            )
        ).all()
    return [(r.status, r.attempts) for r in rows]


async def test_concurrent_claims_never_take_the_same_job(engine: AsyncEngine) -> None:
    kind = f"k-{new_id().hex}"
    await _enqueue(engine, kind, 20)
    batches = await asyncio.gather(*(jobs.claim(engine, [kind], 5, timedelta(minutes=1)) for _ in range(6)))
    claimed = [job.id for batch in batches for job in batch]
    assert len(claimed) == 20 and len(set(claimed)) == 20


async def test_dedupe_key_enqueues_once(engine: AsyncEngine) -> None:
    kind = f"k-{new_id().hex}"
    async with control_session(engine) as session:
        await jobs.enqueue(session, kind, {}, dedupe_key=f"{kind}:1")
        await jobs.enqueue(session, kind, {}, dedupe_key=f"{kind}:1")
    assert len(await _status(engine, kind)) == 1


async def test_failing_job_retries_then_goes_dead(engine: AsyncEngine) -> None:
    kind = f"k-{new_id().hex}"
    await _enqueue(engine, kind, max_attempts=3)
    attempts = 0

    async def always_fails(job: jobs.Job) -> None:
        nonlocal attempts
        attempts += 1
        raise RuntimeError("receiver down")

    worker = jobs.JobWorker(engine, {kind: always_fails}, retry_schedule=[timedelta(0)] * 5, poll_seconds=0.05)
    task = asyncio.create_task(worker.run())
    for _ in range(100):
        if await _status(engine, kind) == [("dead", 3)]:
            break
        await asyncio.sleep(0.05)
    worker.stop()
    await task
    assert await _status(engine, kind) == [("dead", 3)]
    assert attempts == 3


async def test_job_succeeds_and_records_result(engine: AsyncEngine) -> None:
    kind = f"k-{new_id().hex}"
    await _enqueue(engine, kind)

    async def works(job: jobs.Job) -> dict[str, int]:
        await jobs.report_progress(engine, job.id, 10, 10)
        return {"rows": 10}

    worker = jobs.JobWorker(engine, {kind: works}, retry_schedule=[], poll_seconds=0.05)
    [job] = await jobs.claim(engine, [kind], 1, timedelta(minutes=1))
    await worker.run_job(job)
    async with control_session(engine) as session:
        row = await jobs.get(session, job.id)
    assert row is not None
    assert (row.status, row.result, row.progress_done, row.progress_total) == ("succeeded", {"rows": 10}, 10, 10)


async def test_expired_lease_is_claimed_again(engine: AsyncEngine) -> None:
    kind = f"k-{new_id().hex}"
    await _enqueue(engine, kind)
    [first] = await jobs.claim(engine, [kind], 1, timedelta(seconds=-1))  # the worker "crashed"
    [again] = await jobs.claim(engine, [kind], 1, timedelta(minutes=1))
    assert again.id == first.id and again.attempts == 2


async def test_running_job_keeps_its_lease(engine: AsyncEngine) -> None:
    """A handler running for several leases is not claimed by another worker meanwhile."""
    kind = f"k-{new_id().hex}"
    await _enqueue(engine, kind)
    lease = timedelta(seconds=0.6)
    released = asyncio.Event()
    runs = 0

    async def slow(job: jobs.Job) -> None:
        nonlocal runs
        runs += 1
        await released.wait()

    worker = jobs.JobWorker(engine, {kind: slow}, retry_schedule=[], poll_seconds=0.05, lease=lease)
    [job] = await jobs.claim(engine, [kind], 1, lease)
    running = asyncio.create_task(worker.run_job(job))
    for _ in range(6):  # three leases' worth of other workers trying to claim
        await asyncio.sleep(0.3)
        assert await jobs.claim(engine, [kind], 1, lease) == []
    released.set()
    await running
    assert runs == 1
    assert await _status(engine, kind) == [("succeeded", 1)]
    assert not await jobs.renew_lease(engine, job.id, lease)  # finished: nothing to renew
