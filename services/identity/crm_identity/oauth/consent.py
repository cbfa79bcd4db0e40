"""Consent for third-party clients: what a user approved for a client (asked once per scope set),
and the one-time ticket that carries a signed-in user from the login form to the consent screen
without the password being sent again. Every SQL statement about consent lives here."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from crm_identity.tables import consent_tickets, oauth_consents

TICKET_TTL = timedelta(minutes=10)


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


async def granted_scopes(
    session: AsyncSession, tenant_id: uuid.UUID, user_id: uuid.UUID, client_id: str
) -> frozenset[str]:
    scopes = (
        await session.execute(
            sa.select(oauth_consents.c.scopes).where(
                oauth_consents.c.tenant_id == tenant_id,
                oauth_consents.c.user_id == user_id,
                oauth_consents.c.client_id == client_id,
            )
        )
    ).scalar()
    return frozenset(scopes or ())


async def remember(
    session: AsyncSession, tenant_id: uuid.UUID, user_id: uuid.UUID, client_id: str, scopes: list[str]
) -> None:
    """Adds `scopes` to what the user approved for the client."""
    merged = sorted(set(scopes) | await granted_scopes(session, tenant_id, user_id, client_id))
    await session.execute(
        pg_insert(oauth_consents)
        .values(tenant_id=tenant_id, user_id=user_id, client_id=client_id, scopes=merged)
        .on_conflict_do_update(
            index_elements=["tenant_id", "user_id", "client_id"], set_={"scopes": merged, "granted_at": sa.func.now()}
        )
    )


async def forget_client(session: AsyncSession, client_id: str) -> None:
    await session.execute(sa.delete(oauth_consents).where(oauth_consents.c.client_id == client_id))


async def open_ticket(
    session: AsyncSession,
    *,
    client_id: str,
    tenant_id: uuid.UUID,
    user_id: uuid.UUID,
    redirect_uri: str,
    scope: str,
    code_challenge: str,
    now: datetime,
) -> str:
    ticket = secrets.token_urlsafe(32)
    await session.execute(
        sa.insert(consent_tickets).values(
            ticket_hash=_hash(ticket), client_id=client_id, tenant_id=tenant_id, user_id=user_id,
            redirect_uri=redirect_uri, scope=scope, code_challenge=code_challenge, expires_at=now + TICKET_TTL,
        )
    )
    return ticket


async def take_ticket(session: AsyncSession, ticket: str, now: datetime) -> sa.Row[Any] | None:
    """The ticket, consumed (a second answer finds nothing); None if unknown, used or expired."""
    row = (
        await session.execute(
            sa.update(consent_tickets)
            .where(consent_tickets.c.ticket_hash == _hash(ticket), consent_tickets.c.used_at.is_(None))
            .values(used_at=now)
            .returning(consent_tickets)
        )
    ).first()
    if row is None or row.expires_at <= now:
        return None
    return row
