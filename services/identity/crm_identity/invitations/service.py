"""Invitations: an admin (`users:manage`) invites a person; the user exists at once in the `invited`
state with no usable password; a one-time link `{public_url}/invite/{token}` lets them choose one.

- The token is `<tenant id hex>.<256 random bits>`; only its SHA-256 is stored. It expires after
  7 days. A resend issues a new token (the old link stops working); a revoke ends the link and
  disables the user (a later resend re-opens it).
- Validation and the no-escalation rule are those of creating a user (`users.service`,
  `roles.service.check_assignable`).
- The email, in the tenant's default locale, is queued in the platform's mail outbox in the same
  transaction (crm_platform/mail.py): it is sent after the invitation commits, retried while the
  mail server is away, and never sent for an invitation that did not commit.
- Written to the audit log: `invitation.sent`, `.resent`, `.revoked`, `.accepted`."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from crm_identity.audit import log as audit
from crm_identity.invitations import repository as repo
from crm_identity.roles import service as roles
from crm_identity.tenants import password_policy
from crm_identity.users import lockout
from crm_identity.users import service as users
from crm_identity.users.passwords import password_errors
from crm_platform.auth import Principal
from crm_platform.db import tenant_session
from crm_platform.errors import Conflict, FieldError, InvalidInput, NotFound
from crm_platform.i18n import N_, locale_or_default, messages
from crm_platform.mail import Mail, Mailer

INVITATION_TTL: Final = timedelta(days=7)
MAIL_CATEGORY: Final = "identity.invitation"
SENT: Final = "invitation.sent"
RESENT: Final = "invitation.resent"
REVOKED: Final = "invitation.revoked"
ACCEPTED: Final = "invitation.accepted"
LIST_STATES: Final[dict[str, tuple[str, ...]]] = {
    "": ("pending",), "pending": ("pending",), "accepted": ("accepted",), "revoked": ("revoked",),
    "all": ("pending", "accepted", "revoked"),
}

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token(tenant_id: uuid.UUID) -> str:
    return f"{tenant_id.hex}.{secrets.token_urlsafe(32)}"


def tenant_of(token: str) -> uuid.UUID | None:
    prefix, _, rest = token.partition(".")
    if not rest or len(token) > 200:
        return None
    try:
        return uuid.UUID(hex=prefix)
    except ValueError:
        return None


def state_of(row: sa.Row[Any], now: datetime) -> str:
    """pending / accepted / revoked, or expired (pending past its deadline)."""
    if row.state == "pending" and row.expires_at <= now:
        return "expired"
    return str(row.state)


@dataclass(frozen=True)
class Actor:
    """Who sends an invitation: an admin's token, or the admin who started an import."""

    id: str
    kind: str
    name: str = ""

    @classmethod
    def of(cls, principal: Principal) -> Actor:
        actor, kind = audit.actor_of(principal)
        return cls(actor, kind)


@dataclass(frozen=True)
class Preview:
    state: str
    tenant_name: str = ""
    tenant_slug: str = ""
    email: str = ""
    display_name: str = ""
    min_password_length: int = 0
    default_locale: str = "en"
    expires_at: datetime | None = None


# -- the message -------------------------------------------------------------------------------------

_SUBJECT: Final = N_("%(inviter)s invited you to %(tenant)s")
_TEXT: Final = N_(
    "Hello %(name)s,\n\n%(inviter)s invited you to %(tenant)s's CRM as %(email)s.\n"
    "Open this link to choose your password and activate your account:\n\n%(link)s\n\n"
    "The link works once and expires on %(expires)s (UTC).\n"
    "If you did not expect this invitation, you can ignore this email.\n"
)


def invitation_mail(
    locale: str, *, to: str, name: str, inviter: str, tenant: str, link: str, expires: datetime
) -> Mail:
    text = messages(locale_or_default(locale))
    values = {"name": name, "inviter": inviter or tenant, "tenant": tenant, "email": to, "link": link,
              "expires": f"{expires:%Y-%m-%d %H:%M}"}
    return Mail(to=to, subject=text.text(_SUBJECT, **values), text=text.text(_TEXT, **values))


# -- the service ---------------------------------------------------------------------------------------


class Invitations:
    def __init__(self, engine: AsyncEngine, mailer: Mailer, public_url: str, clock: Clock = utc_now):
        self.engine = engine
        self.mailer = mailer
        self.public_url = public_url.rstrip("/")
        self.clock = clock

    def link(self, token: str) -> str:
        return f"{self.public_url}/invite/{token}"

    # -- admin side ----------------------------------------------------------------------------
    async def invite(
        self, session: AsyncSession, caller: Principal, *, email: str, display_name: str, roles_wanted: list[str],
        team_id: str,
    ) -> sa.Row[Any]:
        """Checks exactly what creating a user checks (without a password), then invites."""
        assigned = list(roles_wanted) or ["sales_rep"]
        errors: list[FieldError] = []
        team = await users.team_reference(session, team_id, errors)
        errors += users.validate_new_user(email, None, display_name, assigned)
        if errors:
            raise InvalidInput(errors)
        assigned = await roles.check_assignable(session, caller, assigned)
        user = await users.create_user(session, email, None, display_name, assigned, team_id=team,
                                       tenant_id=caller.tenant_id, status="invited")
        return await self.issue(session, caller.tenant_id, user, Actor.of(caller))

    async def issue(
        self, session: AsyncSession, tenant_id: uuid.UUID, user: sa.Row[Any], actor: Actor,
        import_id: uuid.UUID | None = None,
    ) -> sa.Row[Any]:
        """The invitation of a user just created in the `invited` state, with its email."""
        now = self.clock()
        token = new_token(tenant_id)
        invitation_id = await repo.insert(
            session, user_id=user.id, token_hash=token_hash(token), invited_by=actor.id, import_id=import_id,
            now=now, expires_at=now + INVITATION_TTL,
        )
        row = await repo.get(session, invitation_id)
        assert row is not None
        await self._send(session, tenant_id, row, token, actor)
        await audit.record(session, SENT, actor=actor.id, actor_kind=actor.kind, target_type="user",
                           target_id=str(user.id), details={"invitation_id": str(invitation_id), "email": row.email,
                                                            **({"import_id": str(import_id)} if import_id else {})})
        return row

    async def list(
        self, session: AsyncSession, state: str, limit: int, after: uuid.UUID | None
    ) -> list[sa.Row[Any]]:
        if state not in LIST_STATES:
            raise InvalidInput([FieldError("state", "invalid_choice", "pending, accepted, revoked or all")])
        return await repo.page(session, LIST_STATES[state], limit, after)

    async def get(self, session: AsyncSession, invitation_id: str, *, lock: bool = False) -> sa.Row[Any]:
        try:
            parsed = uuid.UUID(invitation_id)
        except (ValueError, AttributeError, TypeError):
            raise NotFound("invitation not found") from None
        row = await repo.get(session, parsed, lock=lock)
        if row is None:
            raise NotFound("invitation not found")
        return row

    async def resend(self, session: AsyncSession, caller: Principal, invitation_id: str) -> sa.Row[Any]:
        row = await self.get(session, invitation_id, lock=True)
        if row.state == "accepted":
            raise Conflict("the invitation was already accepted", code="invitation_accepted")
        now = self.clock()
        token = new_token(caller.tenant_id)
        await repo.update(session, row.id, token_hash=token_hash(token), state="pending", sent_at=now,
                          expires_at=now + INVITATION_TTL, revoked_at=None, send_count=row.send_count + 1)
        await users.set_disabled(session, caller.tenant_id, row.user_id, False)
        fresh = await repo.get(session, row.id)
        assert fresh is not None
        actor = Actor.of(caller)
        await self._send(session, caller.tenant_id, fresh, token, actor)
        await audit.record_by(session, caller, RESENT, target_type="user", target_id=str(row.user_id),
                              details={"invitation_id": str(row.id), "email": row.email,
                                       "was": state_of(row, now)})
        return fresh

    async def revoke(self, session: AsyncSession, caller: Principal, invitation_id: str) -> sa.Row[Any]:
        row = await self.get(session, invitation_id, lock=True)
        if row.state == "accepted":
            raise Conflict("the invitation was already accepted", code="invitation_accepted")
        if row.state == "revoked":
            return row  # revoking twice changes nothing
        now = self.clock()
        await repo.update(session, row.id, state="revoked", revoked_at=now)
        await users.set_disabled(session, caller.tenant_id, row.user_id, True)
        await audit.record_by(session, caller, REVOKED, target_type="user", target_id=str(row.user_id),
                              details={"invitation_id": str(row.id), "email": row.email})
        fresh = await repo.get(session, row.id)
        assert fresh is not None
        return fresh

    async def _send(self, session: AsyncSession, tenant_id: uuid.UUID, row: sa.Row[Any], token: str,
                    actor: Actor) -> None:
        tenant = await repo.tenant(session, tenant_id)
        tenant_name = tenant.name if tenant is not None else ""
        inviter = actor.name
        if not inviter and actor.kind == "user":
            inviter = await repo.display_name(session, uuid.UUID(actor.id))
        mail = invitation_mail(
            tenant.default_locale if tenant is not None else "en", to=row.email, name=row.display_name,
            inviter=inviter, tenant=tenant_name, link=self.link(token), expires=row.expires_at.astimezone(UTC),
        )
        await self.mailer.queue(session, mail, tenant_id=tenant_id, category=MAIL_CATEGORY)

    # -- the invitee's side (public: the token is the credential) -----------------------------------
    async def preview(self, token: str) -> Preview:
        tenant_id = tenant_of(token)
        if tenant_id is None:
            return Preview("invalid")
        async with tenant_session(self.engine, tenant_id) as session:
            tenant = await repo.tenant(session, tenant_id)
            if tenant is None or tenant.status != "active":
                return Preview("invalid")
            row = await repo.by_token_hash(session, token_hash(token))
            if row is None:
                return Preview("invalid", tenant.name, tenant.slug, default_locale=tenant.default_locale)
            policy, _ = await password_policy.get_policy(session)
            return Preview(state_of(row, self.clock()), tenant.name, tenant.slug, row.email, row.display_name,
                           policy.min_length, tenant.default_locale, row.expires_at)

    async def accept(self, token: str, password: str) -> tuple[str, sa.Row[Any]]:
        """The tenant's slug and the now active user. A token that is not pending (unknown,
        replaced, used, revoked or expired) is `invitation_not_pending` with its `state`."""
        tenant_id = tenant_of(token)
        if tenant_id is None:
            raise _not_pending("invalid")
        now = self.clock()
        async with tenant_session(self.engine, tenant_id) as session:
            tenant = await repo.tenant(session, tenant_id)
            if tenant is None or tenant.status != "active":
                raise _not_pending("invalid")
            row = await repo.by_token_hash(session, token_hash(token), lock=True)
            if row is None:
                raise _not_pending("invalid")
            state = state_of(row, now)
            if state != "pending":
                raise _not_pending(state)
            policy, _ = await password_policy.get_policy(session)
            errors = password_errors(password, email=row.email, policy=policy, field="password")
            if errors:
                raise InvalidInput(errors)
            # They chose this password themselves: no change is asked at the first sign-in.
            await repo.set_user(session, row.user_id, password_hash=await users.hash_password(password),
                                must_change_password=False, password_changed_at=now, status="active")
            await users.set_disabled(session, tenant_id, row.user_id, False)
            await repo.update(session, row.id, state="accepted", accepted_at=now)
            await lockout.clear(session, row.email)
            await audit.record(session, ACCEPTED, actor=str(row.user_id), actor_kind="user", target_type="user",
                               target_id=str(row.user_id),
                               details={"invitation_id": str(row.id), "email": row.email}, at=now)
            user = await users.get_user(session, str(row.user_id))
            return tenant.slug, user


def _not_pending(state: str) -> Conflict:
    return Conflict(f"the invitation is {state}", code="invitation_not_pending", extra={"state": state})
