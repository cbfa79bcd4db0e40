"""Share links (docs/reporting.md, "Share links"): a read-only, expiring, revocable, optionally
password-protected link to a dashboard, computed under the sharer's access frozen at creation.

- The URL token is `secrets.token_urlsafe(32)` (256 bits); only its sha256 is stored, in the
  tenant's `share_links` and in `control.share_link_tokens`, which tells the public page's call
  (no bearer token) which tenant to open.
- The password is hashed with argon2id (the same library and parameters as identity's passwords),
  verified off the event loop.
- The sharer's data scope is stored resolved to owners (a `team` sharer's team members at creation)
  with their field policies; personal fields are masked unless the tenant's share settings allow them.
- Every open that reaches a link (shown, password asked, wrong password, expired, revoked) is an
  event `crm.share_link.viewed`, which identity writes into the tenant's audit log; creating and
  revoking are `crm.share_link.created` / `.revoked`.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Final

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from crm_platform import outbox
from crm_platform.auth import Principal, Scope
from crm_platform.db import control_session, tenant_session
from crm_platform.errors import FieldError, InvalidInput, NotFound, PermissionDenied
from crm_platform.ids import new_id
from crm_platform.origin import current_origin
from crm_reporting.delivery.access import AccessSnapshot, snapshot_of
from crm_reporting.delivery.dashboard import Target
from crm_reporting.delivery.tables import share_link_tokens, share_links, share_settings

SOURCE: Final = "crm/reporting"
DEFAULT_DAYS: Final = 7
MAX_DAYS: Final = 90
MIN_PASSWORD: Final = 8
MAX_PASSWORD: Final = 200
MAX_TITLE: Final = 200
MAX_LINKS_LISTED: Final = 500
_hasher = PasswordHasher()


def token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def link_state(row: Any, now: datetime) -> str:
    if row.revoked_at is not None:
        return "revoked"
    if row.expires_at <= now:
        return "expired"
    return "active"


@dataclass(frozen=True)
class Opened:
    """The outcome of opening a token: `state` and, when it reached a link, the tenant and link."""

    state: str
    tenant_id: uuid.UUID | None = None
    link: Any = None


async def allow_personal_fields(session: AsyncSession) -> tuple[bool, int]:
    row = (await session.execute(sa.select(share_settings).where(share_settings.c.id == 1))).first()
    return (bool(row.allow_personal_fields), int(row.version)) if row else (False, 0)


async def save_settings(session: AsyncSession, principal: Principal, allow: bool) -> tuple[bool, int]:
    _, version = await allow_personal_fields(session)
    values = {"allow_personal_fields": allow, "version": version + 1, "updated_at": datetime.now(UTC),
              "updated_by": principal.actor}
    if version:
        await session.execute(sa.update(share_settings).where(share_settings.c.id == 1).values(**values))
    else:
        await session.execute(sa.insert(share_settings).values(id=1, **values))
    return allow, version + 1


def _check(title: str, days: int, password: str) -> int:
    errors: list[FieldError] = []
    if len(title) > MAX_TITLE:
        errors.append(FieldError("title", "too_long", f"at most {MAX_TITLE} characters"))
    days = days or DEFAULT_DAYS
    if not 1 <= days <= MAX_DAYS:
        errors.append(FieldError("expires_in_days", "out_of_range", f"1 to {MAX_DAYS} days"))
    if password and len(password) < MIN_PASSWORD:
        errors.append(FieldError("password", "too_short", f"at least {MIN_PASSWORD} characters"))
    if len(password) > MAX_PASSWORD:
        errors.append(FieldError("password", "too_long", f"at most {MAX_PASSWORD} characters"))
    if errors:
        raise InvalidInput(errors)
    return days


async def _event(session: AsyncSession, tenant_id: uuid.UUID, verb: str, link: Any, actor: str,
                 **extra: Any) -> None:
    origin = current_origin()
    await outbox.add_event(session, source=SOURCE, tenant_id=tenant_id, aggregate="share_link", verb=verb,
                           subject_id=str(link.id),
                           data={"link_id": str(link.id), "actor": actor, "title": link.title,
                                 "target_kind": str(link.target.get("kind") or "dashboard"),
                                 "created_by": str(link.created_by), "ip": origin.ip,
                                 "user_agent": origin.user_agent, **extra})


async def create(session: AsyncSession, principal: Principal, target: Target, title: str, days: int,
                 password: str) -> tuple[Any, str]:
    if principal.user_id is None:
        raise PermissionDenied("a share link shows what a user can see; sign in as one", code="user_required")
    days = _check(title, days, password)
    snapshot = await snapshot_of(session, principal)
    allow, _ = await allow_personal_fields(session)
    if not allow:
        snapshot = snapshot.masking_personal()
    password_hash = await asyncio.to_thread(_hasher.hash, password) if password else None
    token = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    link_id = new_id()
    row = (await session.execute(sa.insert(share_links).values(
        id=link_id, token_hash=token_hash(token), target=target.as_json(), title=title.strip(),
        scope_snapshot=snapshot.as_json(), personal_masked=not allow, password_hash=password_hash,
        created_by=principal.user_id, created_at=now, expires_at=now + timedelta(days=days), views=0,
    ).returning(share_links))).one()
    await session.execute(sa.insert(share_link_tokens).values(
        token_hash=token_hash(token), tenant_id=principal.tenant_id, link_id=link_id))
    await _event(session, principal.tenant_id, "created", row, principal.actor, expires_at=row.expires_at.isoformat(),
                 password_protected=password_hash is not None)
    return row, token


def _may_manage(principal: Principal) -> bool:
    return Scope.REPORTS_MANAGE.value in principal.scopes


async def list_links(session: AsyncSession, principal: Principal, state: str) -> list[Any]:
    query = sa.select(share_links).order_by(share_links.c.created_at.desc()).limit(MAX_LINKS_LISTED)
    if not _may_manage(principal):
        if principal.user_id is None:
            return []
        query = query.where(share_links.c.created_by == principal.user_id)
    if state == "active":
        query = query.where(share_links.c.revoked_at.is_(None), share_links.c.expires_at > sa.func.now())
    elif state:
        raise InvalidInput([FieldError("state", "invalid_choice", "active or empty")])
    return list((await session.execute(query)).all())


async def get(session: AsyncSession, principal: Principal, link_id: str) -> Any:
    """The link if the caller made it (or may manage every link); otherwise NotFound."""
    try:
        ident = uuid.UUID(link_id)
    except ValueError:
        raise NotFound("no such share link") from None
    query = sa.select(share_links).where(share_links.c.id == ident)
    if not _may_manage(principal):
        query = query.where(share_links.c.created_by == principal.user_id)
    row = (await session.execute(query)).first()
    if row is None:
        raise NotFound("no such share link")
    return row


async def revoke(session: AsyncSession, principal: Principal, link_id: str) -> Any:
    row = await get(session, principal, link_id)
    if row.revoked_at is not None:
        return row
    row = (await session.execute(
        sa.update(share_links).where(share_links.c.id == row.id)
        .values(revoked_at=datetime.now(UTC), revoked_by=principal.actor).returning(share_links)
    )).one()
    await _event(session, principal.tenant_id, "revoked", row, principal.actor)
    return row


async def tenant_of(engine: AsyncEngine, token: str) -> tuple[uuid.UUID, uuid.UUID] | None:
    if not token or len(token) > 100:
        return None
    async with control_session(engine) as session:
        row = (await session.execute(
            sa.select(share_link_tokens.c.tenant_id, share_link_tokens.c.link_id)
            .where(share_link_tokens.c.token_hash == token_hash(token))
        )).first()
    return (row.tenant_id, row.link_id) if row else None


async def _password_ok(stored: str, given: str) -> bool:
    try:
        return await asyncio.to_thread(_hasher.verify, stored, given)
    except (VerificationError, InvalidHashError):
        return False


async def open_link(session: AsyncSession, tenant_id: uuid.UUID, link_id: uuid.UUID, password: str) -> Opened:
    """Checks the link (state, password), counts a successful view and audits every attempt."""
    row = (await session.execute(sa.select(share_links).where(share_links.c.id == link_id))).first()
    if row is None:
        return Opened("not_found")
    now = datetime.now(UTC)
    state = link_state(row, now)
    if state == "active" and row.password_hash:
        if not password:
            state = "password_required"
        elif not await _password_ok(row.password_hash, password):
            state = "password_wrong"
    if state == "active":
        row = (await session.execute(
            sa.update(share_links).where(share_links.c.id == row.id)
            .values(views=share_links.c.views + 1, last_viewed_at=now).returning(share_links)
        )).one()
    await _event(session, tenant_id, "viewed", row, "anonymous", outcome="shown" if state == "active" else state)
    return Opened("ok" if state == "active" else state, tenant_id, row)


async def open_token(engine: AsyncEngine, token: str, password: str) -> Opened:
    found = await tenant_of(engine, token)
    if found is None:
        return Opened("not_found")
    tenant_id, link_id = found
    async with tenant_session(engine, tenant_id) as session:
        return await open_link(session, tenant_id, link_id, password)


def snapshot(row: Any) -> AccessSnapshot:
    return AccessSnapshot.from_json(row.scope_snapshot)


def today() -> date:
    return datetime.now(UTC).date()
