"""The tenant's append-only record of sign-in security: failed sign-ins, lockouts, password and MFA
changes. Written in the same transaction as the change it records; no API updates or deletes it."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from crm_identity.tables import security_events
from crm_platform.ids import new_id

LOGIN_FAILED: Final = "login_failed"
LOGIN_REFUSED_LOCKED: Final = "login_refused_locked"
LOCKED: Final = "locked"
LOGIN_SUCCEEDED: Final = "login_succeeded"
MFA_FAILED: Final = "mfa_failed"
MFA_ENROLLED: Final = "mfa_enrolled"
RECOVERY_CODE_USED: Final = "recovery_code_used"
PASSWORD_CHANGED: Final = "password_changed"
PASSWORD_RESET: Final = "password_reset"


async def record(
    session: AsyncSession, kind: str, at: datetime, *, user_id: uuid.UUID | None = None, email: str | None = None,
    **detail: Any,
) -> None:
    await session.execute(
        sa.insert(security_events).values(id=new_id(), at=at, kind=kind, user_id=user_id, email=email, detail=detail)
    )


async def list_events(session: AsyncSession, *, user_id: uuid.UUID | None = None,
                      email: str | None = None) -> list[sa.Row[Any]]:
    query = sa.select(security_events).order_by(security_events.c.at, security_events.c.id)
    if user_id is not None:
        query = query.where(security_events.c.user_id == user_id)
    if email is not None:
        query = query.where(security_events.c.email == email)
    return list((await session.execute(query)).all())
