"""Every SQL statement about endpoints."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from crm_webhooks.endpoint.tables import endpoints


@dataclass(frozen=True)
class Endpoint:
    id: uuid.UUID
    url: str
    event_types: list[str]
    enabled: bool
    created_at: datetime
    # The field policies of the token that created or last updated the endpoint (w0002).
    field_policies: dict[str, str] = field(default_factory=dict)
    hidden_fields: list[str] = field(default_factory=list)
    policies_set_by: str = ""
    updated_at: datetime | None = None
    # w0040: "manual" or "failing" while disabled; the first failure since the last success.
    disabled_reason: str | None = None
    disabled_at: datetime | None = None
    failing_since: datetime | None = None
    description: str = ""  # w0140


@dataclass(frozen=True)
class StoredEndpoint:
    """An endpoint with its encrypted secret: only the delivery path reads this."""

    endpoint: Endpoint
    secret_encrypted: bytes


_PUBLIC_COLUMNS = (endpoints.c.id, endpoints.c.url, endpoints.c.event_types, endpoints.c.enabled,
                   endpoints.c.created_at, endpoints.c.field_policies, endpoints.c.hidden_fields,
                   endpoints.c.policies_set_by, endpoints.c.updated_at, endpoints.c.disabled_reason,
                   endpoints.c.disabled_at, endpoints.c.failing_since, endpoints.c.description)
# A deleted endpoint is a tombstone: no read, list or update sees it.
_LIVE = endpoints.c.deleted_at.is_(None)


def _endpoint(row: Any) -> Endpoint:
    return Endpoint(row.id, row.url, list(row.event_types), row.enabled, row.created_at,
                    dict(row.field_policies or {}), list(row.hidden_fields or []), row.policies_set_by,
                    row.updated_at, row.disabled_reason, row.disabled_at, row.failing_since, row.description)


async def insert(
    session: AsyncSession,
    *,
    endpoint_id: uuid.UUID,
    url: str,
    secret_encrypted: bytes,
    event_types: list[str],
    field_policies: dict[str, str] | None = None,
    hidden_fields: list[str] | None = None,
    policies_set_by: str = "",
    description: str = "",
) -> Endpoint:
    row = (
        await session.execute(
            sa.insert(endpoints)
            .values(id=endpoint_id, url=url, secret_encrypted=secret_encrypted, event_types=event_types,
                    enabled=True, field_policies=field_policies or {}, hidden_fields=hidden_fields or [],
                    policies_set_by=policies_set_by, description=description)
            .returning(*_PUBLIC_COLUMNS)
        )
    ).one()
    return _endpoint(row)


async def list_all(session: AsyncSession) -> list[Endpoint]:
    rows = await session.execute(
        sa.select(*_PUBLIC_COLUMNS).where(_LIVE).order_by(endpoints.c.created_at, endpoints.c.id)
    )
    return [_endpoint(row) for row in rows]


async def exists(session: AsyncSession, endpoint_id: uuid.UUID) -> bool:
    found = await session.execute(sa.select(endpoints.c.id).where(endpoints.c.id == endpoint_id, _LIVE))
    return found.first() is not None


async def get_stored(session: AsyncSession, endpoint_id: uuid.UUID) -> StoredEndpoint | None:
    row = (
        await session.execute(
            sa.select(*_PUBLIC_COLUMNS, endpoints.c.secret_encrypted).where(endpoints.c.id == endpoint_id, _LIVE)
        )
    ).first()
    return None if row is None else StoredEndpoint(_endpoint(row), row.secret_encrypted)


async def list_enabled_for_event_type(session: AsyncSession, event_type: str) -> list[Endpoint]:
    """Enabled endpoints subscribed to `event_type`: an empty list of types means all."""
    rows = await session.execute(
        sa.select(*_PUBLIC_COLUMNS)
        .where(
            endpoints.c.enabled,
            _LIVE,
            sa.or_(
                sa.func.cardinality(endpoints.c.event_types) == 0,
                endpoints.c.event_types.any_() == event_type,
            ),
        )
        .order_by(endpoints.c.id)
    )
    return [_endpoint(row) for row in rows]


async def get(session: AsyncSession, endpoint_id: uuid.UUID) -> Endpoint | None:
    row = (await session.execute(sa.select(*_PUBLIC_COLUMNS).where(endpoints.c.id == endpoint_id, _LIVE))).first()
    return None if row is None else _endpoint(row)


async def update(session: AsyncSession, endpoint_id: uuid.UUID, values: dict[str, Any]) -> Endpoint | None:
    row = (
        await session.execute(
            sa.update(endpoints)
            .where(endpoints.c.id == endpoint_id, _LIVE)
            .values(**values, updated_at=sa.func.now())
            .returning(*_PUBLIC_COLUMNS)
        )
    ).first()
    return None if row is None else _endpoint(row)


async def delete(session: AsyncSession, endpoint_id: uuid.UUID) -> bool:
    """Leaves a tombstone: disabled, its signing secret destroyed, invisible to every read."""
    deleted = await session.execute(
        sa.update(endpoints)
        .where(endpoints.c.id == endpoint_id, _LIVE)
        .values(deleted_at=sa.func.now(), enabled=False, secret_encrypted=b"", updated_at=sa.func.now())
        .returning(endpoints.c.id)
    )
    return deleted.first() is not None


@dataclass(frozen=True)
class Failing:
    failing_since: datetime
    overdue: bool


async def mark_failing(session: AsyncSession, endpoint_id: uuid.UUID, disable_after: timedelta) -> Failing | None:
    """After a failed attempt: remembers when the failures began. Writes only on the first failure
    (and reports when they have lasted `disable_after`), so a failing endpoint's attempts do not
    all update its row. None: healthy already marked, disabled, or deleted."""
    overdue = endpoints.c.failing_since <= sa.func.now() - disable_after
    row = (
        await session.execute(
            sa.update(endpoints)
            .where(endpoints.c.id == endpoint_id, endpoints.c.enabled, _LIVE,
                   sa.or_(endpoints.c.failing_since.is_(None), overdue))
            .values(failing_since=sa.func.coalesce(endpoints.c.failing_since, sa.func.now()))
            .returning(endpoints.c.failing_since, overdue.label("overdue"))
        )
    ).first()
    return None if row is None else Failing(row.failing_since, bool(row.overdue))


async def mark_healthy(session: AsyncSession, endpoint_id: uuid.UUID) -> None:
    await session.execute(
        sa.update(endpoints)
        .where(endpoints.c.id == endpoint_id, endpoints.c.failing_since.is_not(None))
        .values(failing_since=None)
    )
