"""Every SQL statement about deliveries and their attempts (the delivery log)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from crm_webhooks.delivery.tables import deliveries, delivery_attempts

WAITING_STATUSES = ("pending", "failed")


@dataclass(frozen=True)
class Delivery:
    id: uuid.UUID
    endpoint_id: uuid.UUID
    event_id: str
    event_type: str
    status: str
    attempts: int
    last_status_code: int | None
    last_error: str | None
    next_attempt_at: datetime | None
    created_at: datetime
    replays: int = 0
    last_attempt_at: datetime | None = None
    payload_purged_at: datetime | None = None


@dataclass(frozen=True)
class DeliveryWithPayload:
    delivery: Delivery
    payload: dict[str, Any]


@dataclass(frozen=True)
class AttemptRecord:
    """One HTTP attempt as the delivery log keeps it (no signature, no secret)."""

    id: uuid.UUID
    delivery_id: uuid.UUID
    number: int
    trigger: str
    attempted_at: datetime
    duration_ms: int
    url: str
    status_code: int | None
    error: str | None
    request_headers: dict[str, str] = field(default_factory=dict)
    response_headers: dict[str, str] = field(default_factory=dict)
    response_body_excerpt: str = ""
    response_truncated: bool = False


_COLUMNS = (
    deliveries.c.id, deliveries.c.endpoint_id, deliveries.c.event_id, deliveries.c.event_type,
    deliveries.c.status, deliveries.c.attempts, deliveries.c.last_status_code, deliveries.c.last_error,
    deliveries.c.next_attempt_at, deliveries.c.created_at, deliveries.c.replays, deliveries.c.last_attempt_at,
    deliveries.c.payload_purged_at,
)


def _delivery(row: Any) -> Delivery:
    return Delivery(
        row.id, row.endpoint_id, row.event_id, row.event_type, row.status, row.attempts,
        row.last_status_code, row.last_error, row.next_attempt_at, row.created_at, row.replays,
        row.last_attempt_at, row.payload_purged_at,
    )


async def insert_if_new(
    session: AsyncSession,
    *,
    delivery_id: uuid.UUID,
    endpoint_id: uuid.UUID,
    event_id: str,
    event_type: str,
    payload: dict[str, Any],
) -> bool:
    """Adds a pending delivery; False when this endpoint already has one for this event."""
    inserted = await session.execute(
        pg_insert(deliveries)
        .values(
            id=delivery_id, endpoint_id=endpoint_id, event_id=event_id, event_type=event_type,
            payload=payload, status="pending", attempts=0, next_attempt_at=sa.func.now(),
        )
        .on_conflict_do_nothing(index_elements=["endpoint_id", "event_id"])
        .returning(deliveries.c.id)
    )
    return inserted.first() is not None


async def get(session: AsyncSession, delivery_id: uuid.UUID, *, lock: bool = False) -> Delivery | None:
    query = sa.select(*_COLUMNS).where(deliveries.c.id == delivery_id)
    if lock:
        query = query.with_for_update()
    row = (await session.execute(query)).first()
    return None if row is None else _delivery(row)


async def get_with_payload(session: AsyncSession, delivery_id: uuid.UUID) -> DeliveryWithPayload | None:
    query = sa.select(*_COLUMNS, deliveries.c.payload).where(deliveries.c.id == delivery_id)
    row = (await session.execute(query)).first()
    return None if row is None else DeliveryWithPayload(_delivery(row), row.payload)


async def record_attempt(
    session: AsyncSession,
    delivery_id: uuid.UUID,
    *,
    status: str | None,
    status_code: int | None,
    error: str | None,
    next_attempt_at: datetime | None,
) -> int:
    """Counts an attempt and returns its number. `status` None: the attempt's claim was lost
    (cancelled, disabled or taken over), so the delivery's state - status, last outcome (which
    says why it was cancelled) - is not changed by it; the attempt is in the log all the same."""
    values: dict[str, Any] = {
        "attempts": deliveries.c.attempts + 1, "last_attempt_at": sa.func.now(), "updated_at": sa.func.now(),
    }
    if status is not None:
        values |= {"status": status, "next_attempt_at": next_attempt_at, "last_status_code": status_code,
                   "last_error": error}
    row = (
        await session.execute(
            sa.update(deliveries).where(deliveries.c.id == delivery_id).values(**values)
            .returning(deliveries.c.attempts)
        )
    ).first()
    return 0 if row is None else int(row.attempts)


async def insert_attempt(session: AsyncSession, record: AttemptRecord) -> None:
    await session.execute(sa.insert(delivery_attempts).values(
        id=record.id, delivery_id=record.delivery_id, number=record.number, trigger=record.trigger,
        attempted_at=record.attempted_at, duration_ms=record.duration_ms, url=record.url,
        request_headers=record.request_headers, status_code=record.status_code, error=record.error,
        response_headers=record.response_headers, response_body_excerpt=record.response_body_excerpt,
        response_truncated=record.response_truncated,
    ))


async def finish_without_attempt(session: AsyncSession, delivery_id: uuid.UUID, *, status: str, error: str) -> None:
    """Gives up on a waiting delivery without an attempt (e.g. its endpoint was disabled meanwhile)."""
    await session.execute(
        sa.update(deliveries)
        .where(deliveries.c.id == delivery_id, deliveries.c.status.in_(WAITING_STATUSES))
        .values(status=status, last_error=error, next_attempt_at=None, updated_at=sa.func.now())
    )


async def stop_endpoint(session: AsyncSession, endpoint_id: uuid.UUID, *, status: str, error: str) -> int:
    """Every delivery of the endpoint still waiting becomes `status` (dead: disabled, replayable
    later; cancelled: deleted). Returns how many."""
    result = await session.execute(
        sa.update(deliveries)
        .where(deliveries.c.endpoint_id == endpoint_id, deliveries.c.status.in_(WAITING_STATUSES))
        .values(status=status, last_error=error, next_attempt_at=None, updated_at=sa.func.now())
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def restart(session: AsyncSession, delivery_id: uuid.UUID) -> Delivery | None:
    """A finished delivery starts a new run (replay): pending, due now, counted as a replay."""
    row = (
        await session.execute(
            sa.update(deliveries)
            .where(deliveries.c.id == delivery_id)
            .values(status="pending", replays=deliveries.c.replays + 1, next_attempt_at=sa.func.now(),
                    updated_at=sa.func.now())
            .returning(*_COLUMNS)
        )
    ).first()
    return None if row is None else _delivery(row)


async def restart_many(session: AsyncSession, delivery_ids: Sequence[uuid.UUID]) -> None:
    if delivery_ids:
        await session.execute(
            sa.update(deliveries)
            .where(deliveries.c.id.in_(delivery_ids))
            .values(status="pending", replays=deliveries.c.replays + 1, next_attempt_at=sa.func.now(),
                    updated_at=sa.func.now())
        )


async def set_due_now(session: AsyncSession, delivery_id: uuid.UUID) -> Delivery | None:
    row = (
        await session.execute(
            sa.update(deliveries).where(deliveries.c.id == delivery_id)
            .values(next_attempt_at=sa.func.now(), updated_at=sa.func.now())
            .returning(*_COLUMNS)
        )
    ).first()
    return None if row is None else _delivery(row)


@dataclass(frozen=True)
class ListFilter:
    endpoint_id: uuid.UUID | None
    status: str | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None


async def list_newest_first(
    session: AsyncSession, where: ListFilter, *, after: tuple[datetime, uuid.UUID] | None, limit: int
) -> list[DeliveryWithPayload]:
    """Newest first by (created_at, id), strictly after the cursor `after` in that order."""
    query = (
        sa.select(*_COLUMNS, deliveries.c.payload)
        .order_by(deliveries.c.created_at.desc(), deliveries.c.id.desc())
        .limit(limit)
    )
    if where.endpoint_id is not None:
        query = query.where(deliveries.c.endpoint_id == where.endpoint_id)
    if where.status is not None:
        query = query.where(deliveries.c.status == where.status)
    if where.created_after is not None:
        query = query.where(deliveries.c.created_at >= where.created_after)
    if where.created_before is not None:
        query = query.where(deliveries.c.created_at < where.created_before)
    if after is not None:
        query = query.where(sa.tuple_(deliveries.c.created_at, deliveries.c.id) < sa.tuple_(*after))
    return [DeliveryWithPayload(_delivery(row), row.payload) for row in await session.execute(query)]


async def latest_attempts(
    session: AsyncSession, delivery_ids: Sequence[uuid.UUID], *, per_delivery: int
) -> dict[uuid.UUID, list[AttemptRecord]]:
    """The latest `per_delivery` attempts of each delivery, oldest first."""
    if not delivery_ids:
        return {}
    numbered = (
        sa.select(
            delivery_attempts,
            sa.func.row_number().over(
                partition_by=delivery_attempts.c.delivery_id, order_by=delivery_attempts.c.number.desc()
            ).label("recent"),
        )
        .where(delivery_attempts.c.delivery_id.in_(delivery_ids))
        .subquery()
    )
    rows = await session.execute(
        sa.select(numbered).where(numbered.c.recent <= per_delivery)
        .order_by(numbered.c.delivery_id, numbered.c.number)
    )
    found: dict[uuid.UUID, list[AttemptRecord]] = {}
    for row in rows:
        found.setdefault(row.delivery_id, []).append(AttemptRecord(
            row.id, row.delivery_id, row.number, row.trigger, row.attempted_at, row.duration_ms, row.url,
            row.status_code, row.error, dict(row.request_headers or {}), dict(row.response_headers or {}),
            row.response_body_excerpt, row.response_truncated,
        ))
    return found


# -- range replays ----------------------------------------------------------------------------
def _in_range(endpoint_id: uuid.UUID, since: datetime, until: datetime) -> sa.ColumnElement[bool]:
    return sa.and_(deliveries.c.endpoint_id == endpoint_id, deliveries.c.created_at >= since,
                   deliveries.c.created_at < until)


async def count_in_range(
    session: AsyncSession, endpoint_id: uuid.UUID, since: datetime, until: datetime, statuses: Sequence[str]
) -> int:
    return int((await session.execute(
        sa.select(sa.func.count()).where(_in_range(endpoint_id, since, until), deliveries.c.status.in_(statuses))
    )).scalar_one())


@dataclass(frozen=True)
class RangeItem:
    id: uuid.UUID
    created_at: datetime
    status: str
    purged: bool


async def next_in_range(
    session: AsyncSession, endpoint_id: uuid.UUID, since: datetime, until: datetime, statuses: Sequence[str],
    *, after: tuple[datetime, uuid.UUID] | None, limit: int,
) -> list[RangeItem]:
    """The range's next deliveries with one of `statuses`, in (created_at, id) order, locked for the batch."""
    query = (
        sa.select(deliveries.c.id, deliveries.c.created_at, deliveries.c.status, deliveries.c.payload_purged_at)
        .where(_in_range(endpoint_id, since, until), deliveries.c.status.in_(statuses))
        .order_by(deliveries.c.created_at, deliveries.c.id)
        .limit(limit)
        .with_for_update()
    )
    if after is not None:
        query = query.where(sa.tuple_(deliveries.c.created_at, deliveries.c.id) > sa.tuple_(*after))
    return [RangeItem(r.id, r.created_at, r.status, r.payload_purged_at is not None)
            for r in await session.execute(query)]


# -- customer erasure -------------------------------------------------------------------------
async def purge_about_customer(session: AsyncSession, customer_id: uuid.UUID) -> dict[str, list[uuid.UUID]]:
    """Customer erasure: deliveries whose payload mentions the customer lose their payload (set to
    `{}`, `payload_purged_at` set; id, event id and type, status, attempts and times stay) and their
    attempts' response excerpts (a receiver may echo what it got); those not yet delivered
    (pending, failed and waiting for a retry) are also cancelled. Scans the tenant's deliveries
    (the payload is JSONB, matched as text). Returns the ids cancelled and purged."""
    about = sa.cast(deliveries.c.payload, sa.Text).contains(str(customer_id))
    cancelled = await session.execute(
        sa.update(deliveries)
        .where(about, deliveries.c.status.in_(WAITING_STATUSES))
        .values(status="cancelled", payload={}, payload_purged_at=sa.func.now(), next_attempt_at=None,
                last_error="customer erased", updated_at=sa.func.now())
        .returning(deliveries.c.id)
    )
    cancelled_ids = list(cancelled.scalars())
    purged = await session.execute(
        sa.update(deliveries)
        .where(about, deliveries.c.payload_purged_at.is_(None))
        .values(payload={}, payload_purged_at=sa.func.now(), updated_at=sa.func.now())
        .returning(deliveries.c.id)
    )
    purged_ids = cancelled_ids + list(purged.scalars())
    if purged_ids:
        await session.execute(
            sa.update(delivery_attempts)
            .where(delivery_attempts.c.delivery_id.in_(purged_ids))
            .values(response_body_excerpt="", response_headers={}, response_truncated=False)
        )
    return {"cancelled": cancelled_ids, "purged": purged_ids}
