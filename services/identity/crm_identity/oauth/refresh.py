"""Refresh tokens (RFC 6749 §6, rotated per RFC 9700 §4.14.2): every SQL statement about them.

A *family* is everything descended from one authorization (one code exchange). Each refresh
rotates: the presented token is marked used and a new one is issued in the same family. A token
presented after it was used means two parties hold it (the client and a thief); since the server
cannot tell which is which, the whole family is revoked. Tokens are 256-bit random values stored
only as SHA-256 hashes. A token dies at the earlier of its idle deadline (renewed at each
rotation) and the family's absolute deadline (fixed at the authorization)."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from crm_identity.tables import refresh_families, refresh_tokens
from crm_platform.ids import new_id

TOKEN_PREFIX = "rt_"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _new_token() -> str:
    return f"{TOKEN_PREFIX}{secrets.token_urlsafe(32)}"


async def _issue(session: AsyncSession, family_id: uuid.UUID, expires_at: datetime) -> str:
    token = _new_token()
    await session.execute(
        sa.insert(refresh_tokens).values(token_hash=token_hash(token), family_id=family_id, expires_at=expires_at)
    )
    return token


async def start_family(
    session: AsyncSession,
    *,
    client_id: str,
    tenant_id: uuid.UUID,
    user_id: uuid.UUID,
    scope: str,
    now: datetime,
    lifetime: timedelta,
    idle: timedelta,
) -> tuple[str, uuid.UUID]:
    """A new family for one authorization, and its first refresh token (with the family's id)."""
    family_id = new_id()
    expires_at = now + lifetime
    await session.execute(
        sa.insert(refresh_families).values(
            id=family_id, client_id=client_id, tenant_id=tenant_id, user_id=user_id, scope=scope,
            created_at=now, expires_at=expires_at,
        )
    )
    return await _issue(session, family_id, min(now + idle, expires_at)), family_id


def _joined() -> sa.Select[Any]:
    return sa.select(
        refresh_tokens.c.token_hash,
        refresh_tokens.c.family_id,
        refresh_tokens.c.issued_at,
        refresh_tokens.c.expires_at,
        refresh_tokens.c.used_at,
        refresh_families.c.client_id,
        refresh_families.c.tenant_id,
        refresh_families.c.user_id,
        refresh_families.c.scope,
        refresh_families.c.expires_at.label("family_expires_at"),
        refresh_families.c.revoked_at,
    ).join(refresh_families, refresh_families.c.id == refresh_tokens.c.family_id)


async def find(session: AsyncSession, token: str, *, lock: bool = False) -> sa.Row[Any] | None:
    """The token with its family; `lock` holds the token row until the transaction ends, so two
    concurrent refreshes with one token are serialised (and the second is seen as a reuse)."""
    query = _joined().where(refresh_tokens.c.token_hash == token_hash(token))
    if lock:
        query = query.with_for_update(of=refresh_tokens)
    return (await session.execute(query)).first()


def deadline(row: sa.Row[Any]) -> datetime:
    expires_at: datetime = min(row.expires_at, row.family_expires_at)
    return expires_at


def usable(row: sa.Row[Any], now: datetime) -> bool:
    return row.revoked_at is None and row.used_at is None and deadline(row) > now


async def rotate(session: AsyncSession, row: sa.Row[Any], *, now: datetime, idle: timedelta) -> str:
    """Marks the presented token used and issues its successor (same family and deadline)."""
    await session.execute(
        sa.update(refresh_tokens).where(refresh_tokens.c.token_hash == row.token_hash).values(used_at=now)
    )
    return await _issue(session, row.family_id, min(now + idle, row.family_expires_at))


async def revoke_family(session: AsyncSession, family_id: uuid.UUID, reason: str) -> bool:
    """True when this call revoked it (False: it was revoked already)."""
    result = await session.execute(
        sa.update(refresh_families)
        .where(refresh_families.c.id == family_id, refresh_families.c.revoked_at.is_(None))
        .values(revoked_at=sa.func.now(), revoked_reason=reason)
    )
    return bool(getattr(result, "rowcount", 0))


async def revoke_client(session: AsyncSession, client_id: str, reason: str) -> int:
    """Revokes every live family of a client; returns how many."""
    result = await session.execute(
        sa.update(refresh_families)
        .where(refresh_families.c.client_id == client_id, refresh_families.c.revoked_at.is_(None))
        .values(revoked_at=sa.func.now(), revoked_reason=reason)
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def family_revoked_reason(session: AsyncSession, family_id: uuid.UUID) -> str | None:
    reason = (
        await session.execute(sa.select(refresh_families.c.revoked_reason).where(refresh_families.c.id == family_id))
    ).scalar()
    return str(reason) if reason is not None else None
