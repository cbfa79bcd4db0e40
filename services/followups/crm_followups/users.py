"""Users named in follow-ups (assignees, who followed up): users of the tenant as followups knows
them from identity's user events (the `user_teams` projection, crm_followups/access.py)."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from crm_followups.access import user_teams
from crm_platform.errors import FieldError


async def is_user(session: AsyncSession, user_id: uuid.UUID) -> bool:
    found = await session.execute(sa.select(user_teams.c.user_id).where(user_teams.c.user_id == user_id))
    return found.first() is not None


async def clean_user(session: AsyncSession, value: str, field: str, errors: list[FieldError]) -> uuid.UUID | None:
    """A user id of this tenant, or None for blank; `invalid_id` / `unknown_user` on `field`. A
    user of another tenant is unknown here (the projection is per tenant schema)."""
    text = value.strip()
    if not text:
        return None
    try:
        user_id = uuid.UUID(text)
    except ValueError:
        errors.append(FieldError(field, "invalid_id", f"{field} is not a valid id"))
        return None
    if not await is_user(session, user_id):
        errors.append(FieldError(field, "unknown_user", f"{field} is not a user of this tenant"))
        return None
    return user_id
