"""Transactional outbox: a state change and its event are written in one transaction; the relay
publishes committed rows to JetStream with `Nats-Msg-Id` = event id (so a retried publish is
deduplicated by the stream) and marks them published."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from typing import Any

import sqlalchemy as sa
from nats.aio.client import Client as NATS
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from crm_platform import events, telemetry
from crm_platform.db import control_session, outbox_committed
from crm_platform.tables import outbox

log = logging.getLogger(__name__)


async def add_event(
    session: AsyncSession,
    *,
    source: str,
    tenant_id: uuid.UUID | str,
    aggregate: str,
    verb: str,
    data: dict[str, Any],
    subject_id: str | None = None,
) -> events.CloudEvent:
    """Adds an event to the caller's transaction; it is published only if that commits."""
    event, statement = event_insert(session, source=source, tenant_id=tenant_id, aggregate=aggregate, verb=verb,
                                    data=data, subject_id=subject_id)
    await session.execute(statement)
    return event


def event_insert(
    session: AsyncSession,
    *,
    source: str,
    tenant_id: uuid.UUID | str,
    aggregate: str,
    verb: str,
    data: dict[str, Any],
    subject_id: str | None = None,
) -> tuple[events.CloudEvent, sa.Insert]:
    """`add_event`'s event and INSERT, for a caller that sends it with other writes in one
    statement (crm_platform/db.py `execute_together`); the session must execute it."""
    event = events.CloudEvent.new(
        source=source,
        type=events.event_type(aggregate, verb),
        tenant_id=tenant_id,
        data=data,
        subject=subject_id,
    )
    statement = sa.insert(outbox).values(
        event_id=uuid.UUID(event.id),
        tenant_id=uuid.UUID(str(tenant_id)),
        subject=events.subject_for(tenant_id, aggregate, verb),
        payload=event.to_json(),
        headers=telemetry.inject({}),
    )
    session.info["outbox_written"] = True
    return event, statement


async def add_events(
    session: AsyncSession,
    *,
    source: str,
    tenant_id: uuid.UUID | str,
    aggregate: str,
    verb: str,
    items: list[tuple[dict[str, Any], str | None]],
) -> list[events.CloudEvent]:
    """`add_event` for many events of one kind in one INSERT (a batch write of 1,000 records then
    costs one statement, not 1,000 round trips). `items`: (data, subject id) in publishing order."""
    if not items:
        return []
    created = [
        events.CloudEvent.new(source=source, type=events.event_type(aggregate, verb), tenant_id=tenant_id,
                              data=data, subject=subject_id)
        for data, subject_id in items
    ]
    headers = telemetry.inject({})
    subject = events.subject_for(tenant_id, aggregate, verb)
    # executemany (SQLAlchemy's insertmanyvalues batches it): compiling one VALUES list of
    # thousands of rows cost seconds per batch (docs/benchmarks.md, tag rule sweep).
    await session.execute(sa.insert(outbox), [
        {"event_id": uuid.UUID(e.id), "tenant_id": uuid.UUID(str(tenant_id)), "subject": subject,
         "payload": e.to_json(), "headers": headers}
        for e in created
    ])
    session.info["outbox_written"] = True
    return created


class OutboxRelay:
    """Publishes unpublished outbox rows in order. Runs as a background task in each service."""

    def __init__(self, engine: AsyncEngine, nc: NATS, batch_size: int = 200, poll_seconds: float = 1.0):
        self.engine = engine
        self.js = nc.jetstream()
        self.batch_size = batch_size
        self.poll_seconds = poll_seconds
        self._stopping = False

    async def publish_batch(self) -> int:
        """Publishes one batch; returns how many rows were published."""
        async with control_session(self.engine) as session:
            rows = (
                await session.execute(
                    sa.select(outbox.c.seq, outbox.c.event_id, outbox.c.subject, outbox.c.payload, outbox.c.headers)
                    .where(outbox.c.published_at.is_(None))
                    .order_by(outbox.c.seq)
                    .limit(self.batch_size)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            published: list[int] = []
            failure: Exception | None = None
            for row in rows:
                headers = {**(row.headers or {}), "Nats-Msg-Id": str(row.event_id)}
                body = events.CloudEvent.from_json(row.payload).encode()
                try:
                    await self.js.publish(row.subject, body, headers=headers, timeout=5)
                except Exception as exc:
                    failure = exc
                    break
                published.append(row.seq)
            # What the stream acknowledged is marked (and committed) even if a later publish failed.
            if published:
                await session.execute(
                    sa.update(outbox).where(outbox.c.seq.in_(published)).values(published_at=sa.func.now())
                )
        if failure is not None:
            raise failure
        return len(published)

    async def run(self) -> None:
        backoff = 0.5
        while not self._stopping:
            # Cleared before reading, so a commit landing during the batch is not missed.
            outbox_committed.clear()
            try:
                count = await self.publish_batch()
                backoff = 0.5
                if count == self.batch_size:
                    continue
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # NATS down or timing out: the rows wait, nothing is lost
                log.warning("outbox relay: publish failed, will retry", extra=telemetry.log_fields(error=str(exc)))
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 10.0)
                continue
            # Woken by a local commit at once; polling covers rows other replicas wrote.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(outbox_committed.wait(), timeout=self.poll_seconds)

    def stop(self) -> None:
        self._stopping = True
        outbox_committed.set()
