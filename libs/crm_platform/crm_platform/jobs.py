"""Long work as jobs in Postgres: enqueued in the caller's transaction, claimed with
`FOR UPDATE SKIP LOCKED` under a lease (so a crashed worker's job is picked up again; a live
worker renews the lease while its handler runs), with progress, retries on a schedule, and a dead
state after the last attempt."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from crm_platform import telemetry
from crm_platform.db import control_session
from crm_platform.ids import new_id
from crm_platform.tables import jobs

log = logging.getLogger(__name__)

WORKER_ID = f"{socket.gethostname()}:{os.getpid()}"


@dataclass(frozen=True)
class Job:
    id: uuid.UUID
    kind: str
    tenant_id: uuid.UUID | None
    payload: dict[str, Any]
    attempts: int
    max_attempts: int


class RetryLater(Exception):
    """Raised by a handler to be retried on the queue's schedule (the message is kept)."""


async def enqueue(
    session: AsyncSession,
    kind: str,
    payload: dict[str, Any],
    *,
    tenant_id: uuid.UUID | None = None,
    run_at: datetime | None = None,
    max_attempts: int = 5,
    dedupe_key: str | None = None,
) -> uuid.UUID:
    """Adds a job in the caller's transaction. A repeated `dedupe_key` adds nothing."""
    job_id = new_id()
    await session.execute(
        pg_insert(jobs)
        .values(
            id=job_id,
            kind=kind,
            tenant_id=tenant_id,
            payload=payload,
            status="queued",
            attempts=0,
            max_attempts=max_attempts,
            run_at=run_at if run_at is not None else sa.func.now(),  # the database's clock, as claim() uses
            progress_done=0,
            dedupe_key=dedupe_key,
        )
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
    )
    return job_id


async def claim(engine: AsyncEngine, kinds: Sequence[str], limit: int, lease: timedelta) -> list[Job]:
    """Takes due jobs (and jobs whose worker's lease ran out) for this worker."""
    now = sa.func.now()
    async with control_session(engine) as session:
        due = (
            sa.select(jobs.c.id)
            .where(
                jobs.c.kind.in_(kinds),
                sa.or_(
                    sa.and_(jobs.c.status == "queued", jobs.c.run_at <= now),
                    sa.and_(
                        jobs.c.status == "running",
                        jobs.c.locked_until < now,
                        jobs.c.attempts < jobs.c.max_attempts,
                    ),
                ),
            )
            .order_by(jobs.c.run_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
            .scalar_subquery()
        )
        rows = (
            await session.execute(
                sa.update(jobs)
                .where(jobs.c.id.in_(due))
                .values(
                    status="running",
                    attempts=jobs.c.attempts + 1,
                    locked_by=WORKER_ID,
                    locked_until=now + lease,
                    updated_at=now,
                )
                .returning(
                    jobs.c.id, jobs.c.kind, jobs.c.tenant_id, jobs.c.payload, jobs.c.attempts, jobs.c.max_attempts
                )
            )
        ).all()
    return [Job(r.id, r.kind, r.tenant_id, r.payload, r.attempts, r.max_attempts) for r in rows]


async def renew_lease(engine: AsyncEngine, job_id: uuid.UUID, lease: timedelta) -> bool:
    """Extends this worker's lease on a running job; False if the job is no longer ours (finished,
    or claimed by another worker after the lease ran out)."""
    async with control_session(engine) as session:
        renewed = await session.execute(
            sa.update(jobs)
            .where(jobs.c.id == job_id, jobs.c.status == "running", jobs.c.locked_by == WORKER_ID)
            .values(locked_until=sa.func.now() + lease)
            .returning(jobs.c.id)
        )
        return renewed.first() is not None


async def report_progress(engine: AsyncEngine, job_id: uuid.UUID, done: int, total: int | None) -> None:
    async with control_session(engine) as session:
        await session.execute(
            sa.update(jobs)
            .where(jobs.c.id == job_id)
            .values(progress_done=done, progress_total=total, updated_at=sa.func.now())
        )


async def complete(engine: AsyncEngine, job_id: uuid.UUID, result: dict[str, Any] | None = None) -> None:
    async with control_session(engine) as session:
        await session.execute(
            sa.update(jobs)
            .where(jobs.c.id == job_id)
            .values(status="succeeded", result=result, locked_by=None, locked_until=None, updated_at=sa.func.now())
        )


async def fail(engine: AsyncEngine, job: Job, error: str, retry_in: timedelta | None) -> str:
    """Schedules a retry, or marks the job dead after its last attempt. Returns the new status."""
    status = "dead" if retry_in is None or job.attempts >= job.max_attempts else "queued"
    values: dict[str, Any] = {
        "status": status,
        "last_error": error[:2000],
        "locked_by": None,
        "locked_until": None,
        "updated_at": sa.func.now(),
    }
    if status == "queued" and retry_in is not None:
        values["run_at"] = sa.func.now() + retry_in
    async with control_session(engine) as session:
        await session.execute(sa.update(jobs).where(jobs.c.id == job.id).values(**values))
    return status


async def get(session: AsyncSession, job_id: uuid.UUID) -> sa.Row[Any] | None:
    return (await session.execute(sa.select(jobs).where(jobs.c.id == job_id))).first()


JobHandler = Callable[[Job], Awaitable[dict[str, Any] | None]]


class JobWorker:
    """Runs handlers for some job kinds. `retry_schedule[n]` is the wait after attempt n+1."""

    def __init__(
        self,
        engine: AsyncEngine,
        handlers: dict[str, JobHandler],
        retry_schedule: Sequence[timedelta],
        concurrency: int = 4,
        poll_seconds: float = 0.5,
        lease: timedelta = timedelta(minutes=5),
    ):
        self.engine = engine
        self.handlers = handlers
        self.retry_schedule = list(retry_schedule)
        self.concurrency = concurrency
        self.poll_seconds = poll_seconds
        self.lease = lease
        self._stopping = False

    def retry_delay(self, attempts: int) -> timedelta | None:
        index = attempts - 1
        return self.retry_schedule[index] if index < len(self.retry_schedule) else None

    async def _keep_lease(self, job: Job) -> None:
        """Renews the lease at a third of its length while the handler runs, so a job that takes
        longer than one lease is not claimed a second time by another worker."""
        interval = max(self.lease.total_seconds() / 3, 0.05)
        while True:
            await asyncio.sleep(interval)
            try:
                if not await renew_lease(self.engine, job.id, self.lease):
                    return
            except asyncio.CancelledError:
                raise
            except Exception:  # Postgres briefly away: try again next interval, the lease still holds
                log.warning("could not renew a job lease", extra=telemetry.log_fields(job_id=str(job.id)))

    async def run_job(self, job: Job) -> None:
        handler = self.handlers[job.kind]
        token = telemetry.tenant_var.set(str(job.tenant_id) if job.tenant_id else None)
        keeper = asyncio.create_task(self._keep_lease(job))
        try:
            result = await handler(job)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            status = await fail(self.engine, job, f"{type(exc).__name__}: {exc}", self.retry_delay(job.attempts))
            level = logging.ERROR if status == "dead" else logging.WARNING
            log.log(
                level,
                "job failed",
                extra=telemetry.log_fields(job_id=str(job.id), kind=job.kind, attempts=job.attempts, status=status),
            )
        else:
            await complete(self.engine, job.id, result)
        finally:
            keeper.cancel()
            telemetry.tenant_var.reset(token)

    async def run(self) -> None:
        while not self._stopping:
            try:
                claimed = await claim(self.engine, list(self.handlers), self.concurrency, self.lease)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("job claim failed")
                claimed = []
            if claimed:
                outcomes = await asyncio.gather(*(self.run_job(job) for job in claimed), return_exceptions=True)
                for outcome in outcomes:
                    # Recording the outcome failed (e.g. Postgres restarting): the job stays
                    # 'running' and is claimed again when its lease runs out.
                    if isinstance(outcome, Exception):
                        log.error("could not record a job's outcome", exc_info=outcome)
                continue
            await asyncio.sleep(self.poll_seconds)

    def stop(self) -> None:
        self._stopping = True
