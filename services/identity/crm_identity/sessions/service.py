"""Sign-in sessions: a session is a refresh-token family (`oauth/refresh.py`, control schema) seen
from its user's side, with what the family itself does not keep: the client, when it was created
and last used, and the ip and user agent of its last use (`sign_in_sessions`, tenant schema, it0005,
same id as the family). Revoking a session revokes its family: its refresh token stops working at
once; access tokens already issued run out within their lifetime (15 minutes by default).

Every statement runs in a tenant session: the control tables are reachable from it (only the
`tenant` schema is translated), so the family, the session row and the audit entry commit together."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from crm_identity.audit import log as audit
from crm_identity.tables import refresh_families, refresh_tokens, sign_in_sessions
from crm_platform.auth import Principal
from crm_platform.errors import NotFound, PermissionDenied
from crm_platform.origin import current_origin

# revoked_reason values written by this module (refresh.py writes reuse, revoked, client_revoked, ...).
SIGNED_OUT: Final = "signed_out"
SIGNED_OUT_BY_ADMIN: Final = "signed_out_by_admin"
USER_DISABLED: Final = "user_disabled"
MFA_CHANGED: Final = "mfa_changed"


@dataclass(frozen=True)
class SessionView:
    id: str
    client_id: str
    created_at: datetime
    last_used_at: datetime
    ip: str
    user_agent: str
    current: bool


async def start(session: AsyncSession, family_id: uuid.UUID, user_id: uuid.UUID, client_id: str,
                now: datetime) -> None:
    """The session row of a new family, with the origin of the call that created it."""
    where = current_origin()
    await session.execute(sa.insert(sign_in_sessions).values(
        id=family_id, user_id=user_id, client_id=client_id, created_at=now, last_used_at=now, ip=where.ip,
        user_agent=where.user_agent,
    ))


async def touch(session: AsyncSession, family_id: uuid.UUID, now: datetime) -> None:
    """A refresh: last used now, from where this call came."""
    where = current_origin()
    await session.execute(
        sa.update(sign_in_sessions).where(sign_in_sessions.c.id == family_id)
        .values(last_used_at=now, ip=where.ip, user_agent=where.user_agent)
    )


def _live(tenant_id: uuid.UUID, now: datetime) -> Any:
    """Families of the tenant that can still refresh: not revoked, not past the absolute deadline,
    and holding an unused refresh token within its idle deadline."""
    usable_token = sa.exists().where(
        refresh_tokens.c.family_id == refresh_families.c.id, refresh_tokens.c.used_at.is_(None),
        refresh_tokens.c.expires_at > now,
    )
    return sa.and_(refresh_families.c.tenant_id == tenant_id, refresh_families.c.revoked_at.is_(None),
                   refresh_families.c.expires_at > now, usable_token)


async def list_sessions(session: AsyncSession, tenant_id: uuid.UUID, user_id: uuid.UUID, now: datetime,
                        current: str = "") -> list[SessionView]:
    """The user's live sessions, most recently used first; `current` is the caller's `sid`."""
    s = sign_in_sessions.c
    rows = (await session.execute(
        sa.select(sign_in_sessions)
        .join(refresh_families, refresh_families.c.id == s.id)
        .where(s.user_id == user_id, refresh_families.c.user_id == user_id, _live(tenant_id, now))
        .order_by(s.last_used_at.desc(), s.id.desc())
    )).all()
    return [SessionView(str(r.id), r.client_id, r.created_at, r.last_used_at, r.ip, r.user_agent,
                        str(r.id) == current) for r in rows]


async def _revoke(session: AsyncSession, tenant_id: uuid.UUID, user_id: uuid.UUID, reason: str,
                  family_id: uuid.UUID | None = None, keep: uuid.UUID | None = None) -> list[uuid.UUID]:
    f = refresh_families.c
    query = sa.update(refresh_families).where(f.tenant_id == tenant_id, f.user_id == user_id, f.revoked_at.is_(None))
    if family_id is not None:
        query = query.where(f.id == family_id)
    if keep is not None:
        query = query.where(f.id != keep)
    result = await session.execute(query.values(revoked_at=sa.func.now(), revoked_reason=reason).returning(f.id))
    return [row.id for row in result.all()]


async def _audit(session: AsyncSession, principal: Principal, user_id: uuid.UUID, revoked: list[uuid.UUID],
                 reason: str) -> None:
    if revoked:
        await audit.record_by(session, principal, audit.SESSION_REVOKED, target_type="user", target_id=str(user_id),
                              details={"sessions": sorted(str(r) for r in revoked), "reason": reason})


def _own_user(principal: Principal) -> uuid.UUID:
    if principal.user_id is None:
        raise PermissionDenied("only a signed-in user has sessions", code="user_token_required")
    return principal.user_id


async def revoke_mine(session: AsyncSession, principal: Principal, session_id: str, now: datetime) -> None:
    """Signs one of the caller's own sessions out; another user's (or an unknown, or already ended)
    session is NotFound."""
    user_id = _own_user(principal)
    family_id = uuid.UUID(session_id) if _is_uuid(session_id) else None
    live = {uuid.UUID(v.id) for v in await list_sessions(session, principal.tenant_id, user_id, now)}
    if family_id is None or family_id not in live:
        raise NotFound("session not found")
    revoked = await _revoke(session, principal.tenant_id, user_id, SIGNED_OUT, family_id=family_id)
    await _audit(session, principal, user_id, revoked, SIGNED_OUT)


async def revoke_my_others(session: AsyncSession, principal: Principal) -> int:
    """Every session of the caller except the one its token came from (`sid`)."""
    user_id = _own_user(principal)
    keep = uuid.UUID(principal.session_id) if _is_uuid(principal.session_id) else None
    revoked = await _revoke(session, principal.tenant_id, user_id, SIGNED_OUT, keep=keep)
    await _audit(session, principal, user_id, revoked, SIGNED_OUT)
    return len(revoked)


async def revoke_all(session: AsyncSession, principal: Principal | None, tenant_id: uuid.UUID,
                     user_id: uuid.UUID, reason: str) -> int:
    """Every session of a user (an admin's "sign out everywhere", a disabled user). Audited when
    `principal` (who did it) is given."""
    revoked = await _revoke(session, tenant_id, user_id, reason)
    if principal is not None:
        await _audit(session, principal, user_id, revoked, reason)
    return len(revoked)


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except (ValueError, TypeError, AttributeError):
        return False
    return True
