"""The rule sweep as a job (crm_platform/jobs.py): the daily schedule of each tenant with rules
fires (crm_platform/scheduler.py) and enqueues one job in the firing's transaction (handlers stay
short); a person's re-run enqueues the same job for one rule. The job runs the sweep in chunks of
customers (`SWEEP_CHUNK`), each in its own tenant transaction that also records how far the job got
(`sweep_progress`), so each commits within seconds, the outbox relay starts publishing while the
sweep goes on, and a restarted job resumes after the last committed chunk (a chunk is all or
nothing; tags already on a customer are skipped in any case). Progress: customers done of all."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from crm_platform import jobs
from crm_platform.db import tenant_session
from crm_platform.scheduler import Firing
from crm_tagging.autotag import repository
from crm_tagging.autotag.service import SWEEP_CHUNK, SWEEP_JOB, AutoTagService

RETRY_SCHEDULE = (timedelta(minutes=1), timedelta(minutes=10), timedelta(hours=1))


async def enqueue_sweeps(session: AsyncSession, firings: Sequence[Firing]) -> None:
    for firing in firings:
        await jobs.enqueue(session, SWEEP_JOB, {"trigger": "sweep"}, tenant_id=firing.tenant_id,
                           dedupe_key=f"{SWEEP_JOB}:{firing.tenant_id}:{firing.occurrence_at.isoformat()}")


def sweep_runner(engine: AsyncEngine, autotag: AutoTagService, chunk: int = SWEEP_CHUNK) -> jobs.JobHandler:
    async def run(job: jobs.Job) -> dict[str, Any]:
        assert job.tenant_id is not None
        rule_ids = [uuid.UUID(r) for r in job.payload.get("rule_ids", [])] or None
        trigger = str(job.payload.get("trigger", "sweep"))
        async with tenant_session(engine, job.tenant_id) as session:
            total = await repository.customer_count(session)
            progress = await repository.sweep_progress_of(session, job.id)
        after: uuid.UUID | None = progress.after_customer if progress else None
        done, applied, removed = (progress.done, progress.applied, progress.removed) if progress else (0, 0, 0)
        while True:
            async with tenant_session(engine, job.tenant_id) as session:
                result, after = await autotag.sweep_chunk(session, job.tenant_id, trigger=trigger,
                                                          rule_ids=rule_ids, after=after, size=chunk)
                applied, removed = applied + result["applied"], removed + result["removed"]
                done = total if after is None else min(done + chunk, total)
                if after is None:
                    await repository.forget_sweep_progress(session, job.id)
                else:
                    await repository.save_sweep_progress(session, job.id, after=after, done=done,
                                                         applied=applied, removed=removed)
            await jobs.report_progress(engine, job.id, done, total)
            if after is None:
                return {"rules": result["rules"], "applied": applied, "removed": removed}

    return run
