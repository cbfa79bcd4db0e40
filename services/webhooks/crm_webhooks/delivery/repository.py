"""Every SQL statement about deliveries."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from crm_webhooks.delivery.tables import deliveries


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


@dataclass(frozen=True)
class DeliveryWithPayload:
    delivery: Delivery
    payload: dict[str, Any]


_COLUMNS = (
    deliveries.c.id, deliveries.c.endpoint_id, deliveries.c.event_id, deliveries.c.event_type,
    deliveries.c.status, deliveries.c.attempts, deliveries.c.last_status_code, deliveries.c.last_error,
    deliveries.c.next_attempt_at, deliveries.c.created_at,
)


def _delivery(row: Any) -> Delivery:
    return Delivery(
        row.id, row.endpoint_id, row.event_id, row.event_type, row.status, row.attempts,
        row.last_status_code, row.last_error, row.next_attempt_at, row.created_at,
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


async def get_with_payload(session: AsyncSession, delivery_id: uuid.UUID) -> DeliveryWithPayload | None:
    query = sa.select(*_COLUMNS, deliveries.c.payload).where(deliveries.c.id == delivery_id)
    row = (await session.execute(query)).first()
    return None if row is None else DeliveryWithPayload(_delivery(row), row.payload)


async def record_attempt(
    session: AsyncSession,
    delivery_id: uuid.UUID,
    *,
    status: str,
    status_code: int | None,
    error: str | None,
    retry_in: timedelta | None,
) -> None:
    await session.execute(
        sa.update(deliveries)
        # An attempt in flight while its customer was erased does not bring the delivery back.
        .where(deliveries.c.id == delivery_id, deliveries.c.status != "cancelled")
        .values(
            status=status,
            attempts=deliveries.c.attempts + 1,
            last_status_code=status_code,
            last_error=error,
            next_attempt_at=None if retry_in is None else sa.func.now() + retry_in,
            updated_at=sa.func.now(),
        )
    )


async def mark_dead(session: AsyncSession, delivery_id: uuid.UUID, error: str) -> None:
    """Gives up without an attempt (e.g. the endpoint was disabled meanwhile)."""
    await session.execute(
        sa.update(deliveries)
        .where(deliveries.c.id == delivery_id, deliveries.c.status != "cancelled")
        .values(status="dead", last_error=error, next_attempt_at=None, updated_at=sa.func.now())
    )


async def list_newest_first(
    session: AsyncSession, *, endpoint_id: uuid.UUID | None, before_id: uuid.UUID | None, limit: int
) -> list[Delivery]:
    """Newest first by id (UUIDv7 ids are time-ordered), strictly before `before_id`."""
    query = sa.select(*_COLUMNS).order_by(deliveries.c.id.desc()).limit(limit)
    if endpoint_id is not None:
        query = query.where(deliveries.c.endpoint_id == endpoint_id)
    if before_id is not None:
        query = query.where(deliveries.c.id < before_id)
    return [_delivery(row) for row in await session.execute(query)]


async def purge_about_customer(session: AsyncSession, customer_id: uuid.UUID) -> dict[str, int]:
    """Customer erasure: deliveries whose payload mentions the customer lose their payload (set to
    `{}`, `payload_purged_at` set; id, event id and type, status, attempts and times stay); those
    not yet delivered (pending, failed and waiting for a retry) are also cancelled. Scans the
    tenant's deliveries (the payload is JSONB, matched as text)."""
    about = sa.cast(deliveries.c.payload, sa.Text).contains(str(customer_id))
    cancelled = await session.execute(
        sa.update(deliveries)
        .where(about, deliveries.c.status.in_(("pending", "failed")))
        .values(status="cancelled", payload={}, payload_purged_at=sa.func.now(), next_attempt_at=None,
                last_error="customer erased", updated_at=sa.func.now())
    )
    purged = await session.execute(
        sa.update(deliveries)
        .where(about, deliveries.c.payload_purged_at.is_(None))
        .values(payload={}, payload_purged_at=sa.func.now(), updated_at=sa.func.now())
    )
    return {"cancelled": int(getattr(cancelled, "rowcount", 0) or 0),
            "purged": int(getattr(purged, "rowcount", 0) or 0)}
