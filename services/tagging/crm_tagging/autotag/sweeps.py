"""The rule sweep as a job (crm_platform/jobs.py): the daily schedule of each tenant with rules
fires (crm_platform/scheduler.py) and enqueues one job in the firing's transaction (handlers stay
short); a person's re-run enqueues the same job for one rule. The job runs the sweep in one tenant
transaction (all of it or none of it: a failed run is retried from the start and applies nothing
twice, since tags already on a customer are skipped) and reports progress per rule."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from crm_platform import jobs
from crm_platform.db import tenant_session
from crm_platform.scheduler import Firing
from crm_tagging.autotag.service import SWEEP_JOB, AutoTagService

RETRY_SCHEDULE = (timedelta(minutes=1), timedelta(minutes=10), timedelta(hours=1))


async def enqueue_sweeps(session: AsyncSession, firings: Sequence[Firing]) -> None:
    for firing in firings:
        await jobs.enqueue(session, SWEEP_JOB, {"trigger": "sweep"}, tenant_id=firing.tenant_id,
                           dedupe_key=f"{SWEEP_JOB}:{firing.tenant_id}:{firing.occurrence_at.isoformat()}")


def sweep_runner(engine: AsyncEngine, autotag: AutoTagService) -> jobs.JobHandler:
    async def run(job: jobs.Job) -> dict[str, Any]:
        assert job.tenant_id is not None
        rule_ids = [uuid.UUID(r) for r in job.payload.get("rule_ids", [])] or None
        async with tenant_session(engine, job.tenant_id) as session:
            result = await autotag.sweep(session, job.tenant_id, trigger=str(job.payload.get("trigger", "sweep")),
                                         rule_ids=rule_ids)
        await jobs.report_progress(engine, job.id, result["rules"], result["rules"])
        return result

    return run
