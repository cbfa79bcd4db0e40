"""Transactional outbox: a state change and its event are written in one transaction; the relay
publishes committed rows to JetStream with `Nats-Msg-Id` = event id (so a retried publish is
deduplicated by the stream) and marks them published."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import sqlalchemy as sa
from nats.aio.client import Client as NATS
from sqlalchemy.dialects import postgresql as pg
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from crm_platform import events, telemetry
from crm_platform.db import control_session, json_rows, json_rows_param, outbox_committed
from crm_platform.tables import outbox

log = logging.getLogger(__name__)

# Seconds the relay waits for the stream's acknowledgements of one batch.
PUBLISH_TIMEOUT = 5.0


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
    mark_written(session)
    return event, statement


@dataclass(frozen=True)
class NewEvent:
    """An event and its outbox row's fields, not yet written (`new_events`, then `insert_events`)."""

    event: events.CloudEvent
    tenant_id: uuid.UUID
    subject: str
    headers: Mapping[str, Any]


def new_events(*, source: str, tenant_id: uuid.UUID | str, aggregate: str, verb: str,
               items: list[tuple[dict[str, Any], str | None]]) -> list[NewEvent]:
    """The events of `add_events`, built but not written: for a caller that writes events of many
    tenants at once (a scheduler handler `defer`ring `insert_events`)."""
    headers = telemetry.inject({})
    subject = events.subject_for(tenant_id, aggregate, verb)
    tenant = uuid.UUID(str(tenant_id))
    return [
        NewEvent(events.CloudEvent.new(source=source, type=events.event_type(aggregate, verb), tenant_id=tenant_id,
                                       data=data, subject=subject_id), tenant, subject, headers)
        for data, subject_id in items
    ]


_EVENT_COLUMNS: Final = (("event_id", pg.UUID(as_uuid=True)), ("tenant_id", pg.UUID(as_uuid=True)),
                         ("subject", sa.Text), ("payload", pg.JSONB), ("headers", pg.JSONB))


@functools.cache
def _events_insert() -> sa.Insert:
    rows = json_rows("event", _EVENT_COLUMNS)
    return sa.insert(outbox).from_select(
        ["event_id", "tenant_id", "subject", "payload", "headers"],
        sa.select(rows.c.event_id, rows.c.tenant_id, rows.c.subject, rows.c.payload, rows.c.headers)
        .order_by(rows.c.ordinality))


async def insert_events(session: AsyncSession, pending: list[NewEvent]) -> None:
    """Writes events (of any tenants) in one INSERT, in the order given (the relay publishes by
    `seq`): one statement text for any number of rows, the rows sent as one JSON parameter."""
    if not pending:
        return
    await session.execute(_events_insert(), json_rows_param("event", [
        {"event_id": p.event.id, "tenant_id": p.tenant_id, "subject": p.subject, "payload": p.event.to_json(),
         "headers": p.headers}
        for p in pending
    ]))
    mark_written(session)


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
    pending = new_events(source=source, tenant_id=tenant_id, aggregate=aggregate, verb=verb, items=items)
    await insert_events(session, pending)
    return [p.event for p in pending]


# A UUIDv7 in SQL (PostgreSQL 15 has no uuidv7()): the millisecond clock over a random UUID's first
# 48 bits, version bits 0111. Event ids keep the shape `ids.new_id` gives them in Python.
_UUID7 = ("encode(set_bit(set_bit(overlay(uuid_send(gen_random_uuid()) placing "
          "substring(int8send((extract(epoch FROM clock_timestamp()) * 1000)::bigint) FROM 3) "
          "FROM 1 FOR 6), 52, 1), 53, 1), 'hex')::uuid")
# CloudEvent.time as Python writes it (ISO 8601, microseconds, "Z").
_TIME = """to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')"""


def events_from_select(rows: sa.Select[Any], *, source: str, tenant_id: uuid.UUID | str, aggregate: str) -> sa.Insert:
    """`add_events` built in SQL: one event per row of `rows`, whose columns are `verb` (text),
    `data` (the payload, jsonb), `subject_id` (text) and `position` (publishing order). The
    envelope is CloudEvent.to_json's, so consumers cannot tell these events from Python-built ones;
    a set-based write (a rule sweep tagging 100,000 customers) then announces its changes without
    bringing a row to Python. `rows` may read data-modifying CTEs of the caller's statement; the
    caller executes the INSERT (or embeds it as a CTE) and calls `mark_written`."""
    given = rows.subquery("given")
    # OFFSET 0 keeps the subquery from being flattened, so each row draws one id, used twice below.
    stamped = sa.select(sa.literal_column(_UUID7).label("event_id"), given).offset(0).subquery("stamped")
    # event_type / subject_for with the verb appended in SQL.
    prefix = sa.literal(events.event_type(aggregate, ""))
    envelope = sa.func.jsonb_build_object(
        "specversion", events.SPEC_VERSION, "id", sa.cast(stamped.c.event_id, sa.Text), "source", source,
        "type", prefix.concat(stamped.c.verb), "time", sa.literal_column(_TIME),
        "datacontenttype", "application/json", "tenantid", str(tenant_id), "data", stamped.c.data,
        "subject", stamped.c.subject_id)
    selected = sa.select(
        stamped.c.event_id, sa.literal(uuid.UUID(str(tenant_id)), pg.UUID(as_uuid=True)),
        sa.literal(events.subject_for(tenant_id, aggregate, "")).concat(stamped.c.verb), envelope,
        sa.literal(telemetry.inject({}), pg.JSONB),
    ).order_by(stamped.c.position)
    return sa.insert(outbox).from_select(["event_id", "tenant_id", "subject", "payload", "headers"], selected)


def mark_written(session: AsyncSession) -> None:
    """Tells the relay (after commit) that this session wrote outbox rows without `add_event`."""
    session.info["outbox_written"] = True


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
            failure: BaseException | None = None
            # Pipelined: every message of the batch is written before any acknowledgement is awaited
            # (one round trip and one stream fsync for many, instead of one each: an import's burst
            # reached consumers at ~40 events/s on a busy disk). The connection keeps their order;
            # only the acknowledged prefix is marked, so after a failure the rest is sent again in
            # order (the stream drops any copy it already has by `Nats-Msg-Id`).
            acks: list[asyncio.Future[Any]] = []
            try:
                for row in rows:
                    headers = {**(row.headers or {}), "Nats-Msg-Id": str(row.event_id)}
                    body = events.CloudEvent.from_json(row.payload).encode()
                    acks.append(await self.js.publish_async(row.subject, body, headers=headers))
            except Exception as exc:
                failure = exc
            if acks:
                done, _ = await asyncio.wait(acks, timeout=PUBLISH_TIMEOUT)
                for row, ack in zip(rows, acks, strict=False):
                    if ack not in done or ack.cancelled():
                        failure = failure or TimeoutError("no acknowledgement from the stream")
                        break
                    if ack.exception() is not None:
                        failure = failure or ack.exception()
                        break
                    published.append(row.seq)
                for ack in acks:
                    if not ack.done():
                        ack.cancel()
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
