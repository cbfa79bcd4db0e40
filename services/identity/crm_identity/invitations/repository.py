"""Every SQL statement about invitations (tenant schema, it0006)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from crm_identity.tables import invitations, tenant_directory, users
from crm_platform.ids import new_id

# An invitation as shown: the invitation joined with its user's current name, roles and team.
_VIEW_COLUMNS = (
    invitations,
    users.c.email, users.c.display_name, users.c.roles, users.c.team_id,
)


def _view() -> sa.Select[Any]:
    return sa.select(*_VIEW_COLUMNS).join(users, users.c.id == invitations.c.user_id)


async def insert(
    session: AsyncSession, *, user_id: uuid.UUID, token_hash: str, invited_by: str, import_id: uuid.UUID | None,
    now: datetime, expires_at: datetime,
) -> uuid.UUID:
    invitation_id = new_id()
    await session.execute(sa.insert(invitations).values(
        id=invitation_id, user_id=user_id, token_hash=token_hash, state="pending", invited_by=invited_by,
        import_id=import_id, send_count=1, created_at=now, sent_at=now, expires_at=expires_at,
    ))
    return invitation_id


async def get(session: AsyncSession, invitation_id: uuid.UUID, *, lock: bool = False) -> sa.Row[Any] | None:
    query = _view().where(invitations.c.id == invitation_id)
    if lock:
        query = query.with_for_update(of=invitations)
    return (await session.execute(query)).first()


async def by_token_hash(session: AsyncSession, token_hash: str, *, lock: bool = False) -> sa.Row[Any] | None:
    query = _view().where(invitations.c.token_hash == token_hash)
    if lock:
        query = query.with_for_update(of=invitations)
    return (await session.execute(query)).first()


async def update(session: AsyncSession, invitation_id: uuid.UUID, **values: Any) -> None:
    await session.execute(sa.update(invitations).where(invitations.c.id == invitation_id).values(**values))


async def set_user(session: AsyncSession, user_id: uuid.UUID, **values: Any) -> None:
    await session.execute(sa.update(users).where(users.c.id == user_id).values(**values))


async def page(
    session: AsyncSession, states: tuple[str, ...], limit: int, after: uuid.UUID | None
) -> list[sa.Row[Any]]:
    """Newest first (ids are UUIDv7)."""
    query = _view().where(invitations.c.state.in_(states)).order_by(invitations.c.id.desc()).limit(limit)
    if after is not None:
        query = query.where(invitations.c.id < after)
    return list((await session.execute(query)).all())


async def tenant(session: AsyncSession, tenant_id: uuid.UUID) -> sa.Row[Any] | None:
    return (await session.execute(sa.select(tenant_directory).where(tenant_directory.c.id == tenant_id))).first()


async def display_name(session: AsyncSession, user_id: uuid.UUID) -> str:
    name = (await session.execute(sa.select(users.c.display_name).where(users.c.id == user_id))).scalar()
    return str(name or "")
