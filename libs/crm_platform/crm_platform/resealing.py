"""Re-sealing stored secrets in the one envelope of crm_platform/sealing.py: a resumable job per
(target, tenant) that rewrites every value not yet sealed under the current key.

A data migration enqueues the job (`enqueue_in_migration`, only when the table holds sealed values),
because the keys live in the service's settings, not in Alembic: the service's job worker runs it
with its own keys. The job walks the table in primary-key order in batches, each batch one
transaction with the rows locked; a value already current is skipped, so a retried or repeated job
changes nothing twice, and a value that does not open is counted (`failed`) and left as it is.
Reads accept the old formats meanwhile (and afterwards: values in merge snapshots, for instance,
are not rewritten), so the order of deploy, migration and job does not matter. The same job
re-seals under a new key after a key rotation (`Sealer(new, old)`).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from crm_platform import telemetry
from crm_platform.db import control_session, tenant_session
from crm_platform.ids import new_id
from crm_platform.jobs import Job, JobWorker, report_progress
from crm_platform.sealing import Legacy, Sealer, SealError
from crm_platform.tables import jobs

log = logging.getLogger(__name__)

JOB_KIND: Final = "sealing.reseal"
BATCH: Final = 200

# The associated-data context of one sealed column for a row (and its tenant; None for control tables).
Context = Callable[[sa.Row[Any], uuid.UUID | None], str]
# The sealer for a tenant's values (None: control tables); may read the database (tenant data keys).
SealerFor = Callable[[AsyncSession, uuid.UUID | None], Awaitable[Sealer]]


@dataclass(frozen=True)
class ResealTarget:
    """Sealed columns of one table: column name -> its context; `legacy` the format they had."""

    name: str
    table: sa.Table
    columns: Mapping[str, Context]
    legacy: Legacy
    sealer: SealerFor
    in_tenant_schema: bool = True


class Resealer:
    """The `sealing.reseal` job handler for a service's targets."""

    def __init__(self, engine: AsyncEngine, targets: list[ResealTarget]):
        self.engine = engine
        self.targets = {target.name: target for target in targets}

    def session(self, target: ResealTarget, tenant_id: uuid.UUID | None) -> Any:
        if target.in_tenant_schema:
            assert tenant_id is not None
            return tenant_session(self.engine, tenant_id)
        return control_session(self.engine)

    async def run(self, job: Job) -> dict[str, Any]:
        target = self.targets[str(job.payload["target"])]
        resealed = failed = 0
        after: tuple[Any, ...] | None = None
        while True:
            async with self.session(target, job.tenant_id) as session:
                done, failures, after = await self._batch(session, target, job.tenant_id, after)
            resealed += done
            failed += failures
            await report_progress(self.engine, job.id, resealed + failed, None)
            if after is None:
                break
        if failed:
            log.error("sealed values that do not open were left as they are",
                      extra=telemetry.log_fields(target=target.name, failed=failed))
        return {"target": target.name, "resealed": resealed, "failed": failed}

    async def _batch(self, session: AsyncSession, target: ResealTarget, tenant_id: uuid.UUID | None,
                     after: tuple[Any, ...] | None) -> tuple[int, int, tuple[Any, ...] | None]:
        """Re-seals one batch after the primary key `after`; returns (resealed, failed, last key
        or None at the end)."""
        sealer = await target.sealer(session, tenant_id)
        table = target.table
        key = list(table.primary_key.columns)
        header = sealer.current_header
        stale = sa.or_(*(sa.and_(table.c[name].is_not(None),
                                 sa.func.substring(table.c[name], 1, len(header)) != header)
                         for name in target.columns))
        query = sa.select(table).where(stale).order_by(*key).limit(BATCH).with_for_update()
        if after is not None:
            query = query.where(sa.tuple_(*key) > sa.tuple_(*after))
        rows = (await session.execute(query)).all()
        resealed = failed = 0
        for row in rows:
            values: dict[str, bytes] = {}
            for name, context in target.columns.items():
                sealed = getattr(row, name)
                if sealed is None:
                    continue
                try:
                    fresh = sealer.reseal(bytes(sealed), context(row, tenant_id), legacy=target.legacy)
                except SealError:
                    failed += 1
                    continue
                if fresh is not None:
                    values[name] = fresh
            if values:
                await session.execute(
                    sa.update(table).where(*(column == getattr(row, column.name) for column in key)).values(**values)
                )
                resealed += 1
        last = tuple(getattr(rows[-1], column.name) for column in key) if len(rows) == BATCH else None
        return resealed, failed, last


RETRY_SCHEDULE: Final = (timedelta(seconds=30), timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2))


def worker(engine: AsyncEngine, targets: list[ResealTarget]) -> JobWorker:
    """A job worker for the service's re-seal jobs (one at a time: they are rare and bulk)."""
    return JobWorker(engine, {JOB_KIND: Resealer(engine, targets).run}, RETRY_SCHEDULE, concurrency=1,
                     poll_seconds=5.0)


def enqueue_in_migration(bind: sa.Connection, target: str, table: str, columns: list[str], schema: str,
                         tenant_id: uuid.UUID | None) -> None:
    """For a data migration: queues the target's re-seal job for this tenant (or the control
    schema) when the table holds sealed values; once per target and tenant."""
    present = " OR ".join(f'"{column}" IS NOT NULL' for column in columns)
    if not bind.execute(sa.text(f'SELECT EXISTS (SELECT 1 FROM "{schema}"."{table}" WHERE {present})')).scalar():
        return
    bind.execute(pg_insert(jobs).values(
        id=new_id(), kind=JOB_KIND, tenant_id=tenant_id, payload={"target": target}, status="queued", attempts=0,
        max_attempts=5, run_at=sa.func.now(), progress_done=0, dedupe_key=f"{JOB_KIND}:{target}:{tenant_id or ''}",
    ).on_conflict_do_nothing(index_elements=["dedupe_key"]))
