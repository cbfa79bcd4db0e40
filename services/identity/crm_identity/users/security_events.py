"""Sign-in security events (failed sign-ins, lockouts, password and MFA changes), written through
the audit log (`crm_identity/audit/log.py`, table `audit_events`): one append-only mechanism. Written
in the same transaction as the change it records; no API updates or deletes it. (The `security_events`
table of it0002 is no longer written.)"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from crm_identity.audit import log as audit
from crm_identity.tables import audit_events

LOGIN_FAILED: Final = audit.LOGIN_FAILED
LOGIN_REFUSED_LOCKED: Final = audit.LOGIN_REFUSED_LOCKED
LOCKED: Final = audit.LOGIN_LOCKED
LOGIN_SUCCEEDED: Final = audit.LOGIN_SUCCEEDED
MFA_FAILED: Final = audit.MFA_FAILED
MFA_ENROLLED: Final = audit.MFA_ENROLLED
RECOVERY_CODE_USED: Final = audit.MFA_RECOVERY_CODE_USED
PASSWORD_CHANGED: Final = audit.USER_PASSWORD_CHANGED
PASSWORD_RESET: Final = audit.USER_PASSWORD_RESET
MFA_DISABLED: Final = audit.MFA_DISABLED
RECOVERY_CODES_REGENERATED: Final = audit.MFA_RECOVERY_CODES_REGENERATED


async def record(
    session: AsyncSession, kind: str, at: datetime, *, user_id: uuid.UUID | None = None, email: str | None = None,
    **detail: Any,
) -> None:
    """The user the event is about is its target; the actor is that user (or, for an admin's reset,
    `by`), anonymous when the email matches nobody."""
    by = detail.pop("by", None)
    actor = str(by) if by else (str(user_id) if user_id else "")
    details: dict[str, Any] = {"email": email or "", **detail}
    await audit.record(
        session, kind, actor=actor,
        actor_kind=("client" if actor.startswith("client:") else "user") if actor else "anonymous",
        target_type="user", target_id=str(user_id) if user_id else "", details=details, at=at,
    )


async def list_events(session: AsyncSession, *, user_id: uuid.UUID | None = None,
                      email: str | None = None) -> list[Any]:
    """Oldest first, with the action as `kind`."""
    t = audit_events.c
    query = sa.select(t.id, t.occurred_at.label("at"), t.action.label("kind"), t.target_id, t.details).order_by(
        t.occurred_at, t.id)
    if user_id is not None:
        query = query.where(t.target_id == str(user_id))
    if email is not None:
        query = query.where(t.details["email"].astext == email)
    return list((await session.execute(query)).all())
