"""Every SQL statement about range replays."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from crm_webhooks.replay.tables import replays


@dataclass(frozen=True)
class Replay:
    id: uuid.UUID
    endpoint_id: uuid.UUID
    since: datetime
    until: datetime
    statuses: list[str]
    status: str
    deliveries_total: int
    deliveries_replayed: int
    deliveries_skipped: int
    cursor_created_at: datetime | None
    cursor_id: uuid.UUID | None
    requested_by: str
    error: str | None
    created_at: datetime
    finished_at: datetime | None


def _replay(row: Any) -> Replay:
    return Replay(row.id, row.endpoint_id, row.since, row.until, list(row.statuses), row.status,
                  row.deliveries_total, row.deliveries_replayed, row.deliveries_skipped, row.cursor_created_at,
                  row.cursor_id, row.requested_by, row.error, row.created_at, row.finished_at)


async def insert(
    session: AsyncSession, *, replay_id: uuid.UUID, endpoint_id: uuid.UUID, since: datetime, until: datetime,
    statuses: list[str], total: int, requested_by: str,
) -> Replay:
    row = (
        await session.execute(
            sa.insert(replays)
            .values(id=replay_id, endpoint_id=endpoint_id, since=since, until=until, statuses=statuses,
                    status="queued", deliveries_total=total, requested_by=requested_by)
            .returning(replays)
        )
    ).one()
    return _replay(row)


async def get(session: AsyncSession, replay_id: uuid.UUID, *, lock: bool = False) -> Replay | None:
    query = sa.select(replays).where(replays.c.id == replay_id)
    if lock:
        query = query.with_for_update()
    row = (await session.execute(query)).first()
    return None if row is None else _replay(row)


async def list_newest_first(
    session: AsyncSession, endpoint_id: uuid.UUID, *, before_id: uuid.UUID | None, limit: int
) -> list[Replay]:
    query = (
        sa.select(replays).where(replays.c.endpoint_id == endpoint_id).order_by(replays.c.id.desc()).limit(limit)
    )
    if before_id is not None:
        query = query.where(replays.c.id < before_id)
    return [_replay(row) for row in await session.execute(query)]


async def advance(
    session: AsyncSession, replay_id: uuid.UUID, *, cursor: tuple[datetime, uuid.UUID], replayed: int, skipped: int
) -> None:
    """One batch done: the cursor moves past it and the counts grow, in the batch's transaction."""
    await session.execute(
        sa.update(replays).where(replays.c.id == replay_id).values(
            status="running", cursor_created_at=cursor[0], cursor_id=cursor[1],
            deliveries_replayed=replays.c.deliveries_replayed + replayed,
            deliveries_skipped=replays.c.deliveries_skipped + skipped, updated_at=sa.func.now(),
        )
    )


async def finish(session: AsyncSession, replay_id: uuid.UUID, *, status: str, error: str | None = None) -> None:
    await session.execute(
        sa.update(replays).where(replays.c.id == replay_id)
        .values(status=status, error=error, finished_at=sa.func.now(), updated_at=sa.func.now())
    )
