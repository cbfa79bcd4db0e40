"""Lockout with backoff: after LOCK_AFTER consecutive failed sign-ins for one email, sign-in is
refused for 1 minute, doubling with each further lockout up to 1 hour. Counted per email whether
or not a user has it, so the lockout itself reveals nothing about which emails exist. A
completed sign-in clears the record. `now` is passed in (the caller's clock), so tests control time."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Final

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from crm_identity.tables import login_throttle
from crm_identity.users import security_events as events

LOCK_AFTER: Final = 5
FIRST_LOCK: Final = timedelta(minutes=1)
MAX_LOCK: Final = timedelta(hours=1)


def email_key(email: str) -> str:
    return email.strip().lower()


def lock_duration(lockout_number: int) -> timedelta:
    """The length of the n-th consecutive lockout (1-based): 1, 2, 4, ... minutes, at most an hour."""
    return min(FIRST_LOCK * (2 ** min(max(lockout_number, 1) - 1, 16)), MAX_LOCK)


async def locked_until(session: AsyncSession, email: str, now: datetime) -> datetime | None:
    query = sa.select(login_throttle.c.locked_until).where(login_throttle.c.email == email_key(email))
    until = (await session.execute(query)).scalar_one_or_none()
    return until if until is not None and until > now else None


async def record_failure(
    session: AsyncSession, email: str, now: datetime, *, user_id: uuid.UUID | None, kind: str = events.LOGIN_FAILED
) -> datetime | None:
    """Counts one failure; returns the lock's end when this failure locks the email."""
    key = email_key(email)
    # One statement increments, so concurrent failures are all counted.
    row = (
        await session.execute(
            pg_insert(login_throttle)
            .values(email=key, failed_count=1, lockout_count=0, last_failure_at=now)
            .on_conflict_do_update(
                index_elements=["email"],
                set_={"failed_count": login_throttle.c.failed_count + 1, "last_failure_at": now},
            )
            .returning(login_throttle)
        )
    ).one()
    await events.record(session, kind, now, user_id=user_id, email=key, consecutive=row.failed_count)
    if row.failed_count < LOCK_AFTER:
        return None
    lockout_number = row.lockout_count + 1
    until = now + lock_duration(lockout_number)
    await session.execute(
        sa.update(login_throttle)
        .where(login_throttle.c.email == key)
        .values(failed_count=0, lockout_count=lockout_number, locked_until=until)
    )
    await events.record(
        session, events.LOCKED, now, user_id=user_id, email=key, lockout=lockout_number,
        seconds=int((until - now).total_seconds()),
    )
    return until


async def clear(session: AsyncSession, email: str) -> None:
    await session.execute(sa.delete(login_throttle).where(login_throttle.c.email == email_key(email)))
