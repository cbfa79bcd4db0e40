"""The `webhook.replay` job: a range replay in batches, each committed with its cursor, so a job
that is retried (or claimed again after a crash) resumes where the last batch ended."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from crm_platform.db import tenant_session
from crm_platform.jobs import Job
from crm_webhooks.replay.service import ReplayService


class RunReplay:
    def __init__(self, engine: AsyncEngine, replays: ReplayService):
        self.engine = engine
        self.replays = replays

    async def __call__(self, job: Job) -> dict[str, Any]:
        tenant_id = job.tenant_id or uuid.UUID(job.payload["tenant_id"])
        replay_id = uuid.UUID(job.payload["replay_id"])
        batches = 0
        try:
            done = False
            while not done:
                async with tenant_session(self.engine, tenant_id) as session:
                    done = await self.replays.run_batch(session, tenant_id, replay_id)
                batches += 1
        except Exception as exc:
            if job.attempts >= job.max_attempts:  # the last try: the replay reports why it stopped
                async with tenant_session(self.engine, tenant_id) as session:
                    await self.replays.fail(session, replay_id, f"{type(exc).__name__}: {exc}")
            raise
        return {"replay_id": str(replay_id), "batches": batches}
