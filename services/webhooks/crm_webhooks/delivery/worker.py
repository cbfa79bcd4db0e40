"""The `webhook.deliver` job: one attempt per run, retried by the platform JobWorker on the
configured schedule, dead after the last attempt.

No transaction is held open during the POST (a slow receiver may take 10 s): the attempt is read
in one short tenant transaction and its outcome written in another, which commits before the job
is failed, so the delivery row keeps its status even though the job handler raises.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from crm_platform import telemetry
from crm_platform.db import tenant_session
from crm_platform.jobs import Job, JobWorker
from crm_webhooks.delivery.sender import WebhookSender
from crm_webhooks.delivery.service import DELIVER_JOB, DeliveryService

log = logging.getLogger(__name__)

# API.md: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 24 h, then a dead letter.
DEFAULT_RETRY_SCHEDULE = "5,300,1800,7200,18000,36000,50400,72000,86400"


class DeliveryFailed(Exception):
    """Raised after a failed attempt is recorded, so the JobWorker schedules the next one."""


def parse_retry_schedule(text: str) -> list[timedelta]:
    """Comma-separated seconds (fractions allowed, for tests), e.g. "5,300,1800"."""
    try:
        seconds = [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise ValueError("retry schedule must be comma-separated seconds, e.g. 5,300,1800") from None
    if not seconds or any(value <= 0 for value in seconds):
        raise ValueError("retry schedule needs at least one positive number of seconds")
    return [timedelta(seconds=value) for value in seconds]


def max_attempts(retry_schedule: Sequence[timedelta]) -> int:
    """The first attempt plus one retry per schedule entry."""
    return len(retry_schedule) + 1


def retry_delay(retry_schedule: Sequence[timedelta], job: Job) -> timedelta | None:
    """The wait before the next attempt, or None if this was the last one. Mirrors
    `JobWorker.retry_delay` and `jobs.fail`, which decide the job's own fate the same way."""
    index = job.attempts - 1
    if job.attempts >= job.max_attempts or index >= len(retry_schedule):
        return None
    return retry_schedule[index]


class DeliverWebhook:
    """Handler of `webhook.deliver` jobs (payload: tenant_id, delivery_id)."""

    def __init__(
        self,
        engine: AsyncEngine,
        deliveries: DeliveryService,
        sender: WebhookSender,
        retry_schedule: Sequence[timedelta],
    ):
        self.engine = engine
        self.deliveries = deliveries
        self.sender = sender
        self.retry_schedule = list(retry_schedule)

    async def __call__(self, job: Job) -> dict[str, Any] | None:
        tenant_id = job.tenant_id or uuid.UUID(job.payload["tenant_id"])
        delivery_id = uuid.UUID(job.payload["delivery_id"])
        async with tenant_session(self.engine, tenant_id) as session:
            attempt = await self.deliveries.prepare_attempt(session, tenant_id, delivery_id)
        if attempt is None:
            return {"sent": False}
        outcome = await self.sender.send(
            url=attempt.url, secret=attempt.secret, message_id=attempt.message_id, body=attempt.body
        )
        retry_in = None if outcome.succeeded else retry_delay(self.retry_schedule, job)
        async with tenant_session(self.engine, tenant_id) as session:
            await self.deliveries.record_outcome(session, delivery_id, outcome, retry_in)
        if not outcome.succeeded:
            raise DeliveryFailed(outcome.error)
        return {"sent": True, "status_code": outcome.status_code}


class DeliveryJobWorker(JobWorker):
    """Workaround for a platform bug (reported): `JobWorker.run` gathers `run_job` without a guard,
    so one failed `jobs.complete`/`jobs.fail` write (e.g. Postgres restarting) ends the worker
    task for good and deliveries stop until the process restarts. Here such a job is left
    `running`; its lease expires and it is claimed again (a succeeded delivery is not re-sent)."""

    async def run_job(self, job: Job) -> None:
        try:
            await super().run_job(job)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("job bookkeeping failed; retried when its lease expires",
                          extra=telemetry.log_fields(job_id=str(job.id)))


def delivery_worker(
    engine: AsyncEngine, handler: DeliverWebhook, *, concurrency: int, poll_seconds: float = 0.5
) -> JobWorker:
    return DeliveryJobWorker(
        engine, {DELIVER_JOB: handler}, handler.retry_schedule,
        concurrency=concurrency, poll_seconds=poll_seconds,
    )
