"""Signing in past the password: lockout with backoff, and the steps that must happen before an
authorization code is issued.

`check_password` applies the lockout (the same work and the same answers whether the email exists
or not). `required_steps` says what else the sign-in needs, in this order:

1. `mfa`: a TOTP or recovery code, when the user has TOTP on (before anything else is allowed);
2. `change_password`: a new password, when an admin set the current one (first sign-in, reset);
3. `mfa_enroll`: set up TOTP, when the tenant requires it for admins and this admin has none;
   followed by `acknowledge_recovery_codes`, which shows the new recovery codes once.

While steps remain, the sign-in is a *login transaction* in the tenant schema, named by a one-time
ticket (`<tenant id hex>.<256 random bits>`, stored hashed) that the login page carries in a hidden
field for 10 minutes. `continue_login` performs the pending step; when none is left it returns
the authorization request so the caller issues the code. Another step (e.g. consent) fits in by
adding its name to the list and a branch to `_perform`."""

from __future__ import annotations

import hashlib
import math
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import grpc
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from crm_identity.tables import login_transactions, tenant_directory, users
from crm_identity.tenants import password_policy
from crm_identity.users import lockout, mfa
from crm_identity.users import security_events as events
from crm_identity.users import service as user_service
from crm_identity.users.passwords import PasswordPolicy, password_errors
from crm_identity.users.roles import Role
from crm_platform.db import control_session, tenant_session
from crm_platform.errors import DomainError, FieldError, InvalidInput, PreconditionFailed, Unauthenticated

TRANSACTION_TTL: Final = timedelta(minutes=10)
STEP_MFA: Final = "mfa"
STEP_CHANGE_PASSWORD: Final = "change_password"
STEP_MFA_ENROLL: Final = "mfa_enroll"
STEP_ACK_RECOVERY_CODES: Final = "acknowledge_recovery_codes"

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


class LoginLocked(DomainError):
    """Too many failed attempts: refused until the lock ends (`retry_after` seconds)."""

    code = "login_locked"
    status = grpc.StatusCode.RESOURCE_EXHAUSTED

    def __init__(self, until: datetime, now: datetime):
        seconds = max(1, math.ceil((until - now).total_seconds()))
        super().__init__(
            f"too many failed attempts; try again in {math.ceil(seconds / 60)} minute(s)",
            extra={"retry_after": seconds, "retry_after_minutes": math.ceil(seconds / 60)},
        )


def login_expired() -> Unauthenticated:
    return Unauthenticated("this sign-in expired; start again", code="login_expired")


def _ticket_hash(ticket: str) -> str:
    return hashlib.sha256(ticket.encode()).hexdigest()


@dataclass(frozen=True)
class PendingAuthorization:
    """What the code will be bound to once the sign-in completes (already checked by the caller)."""

    client_id: str
    redirect_uri: str
    scope: str
    code_challenge: str


@dataclass(frozen=True)
class LoginProgress:
    """Either `next_step` (+ `ticket`) is set, or `completed` is: issue the code for it."""

    tenant_id: uuid.UUID
    user_id: uuid.UUID
    next_step: str = ""
    ticket: str = ""
    totp_secret: str = ""
    totp_uri: str = ""
    recovery_codes: list[str] = field(default_factory=list)
    completed: PendingAuthorization | None = None


def required_steps(user: sa.Row[Any], policy: PasswordPolicy) -> list[str]:
    steps: list[str] = []
    if user.totp_enabled_at is not None:
        steps.append(STEP_MFA)
    if user.must_change_password:
        steps.append(STEP_CHANGE_PASSWORD)
    if user.totp_enabled_at is None and policy.mfa_required_for_admins and Role.TENANT_ADMIN.value in user.roles:
        steps.append(STEP_MFA_ENROLL)
    return steps


class LoginSecurity:
    def __init__(self, engine: AsyncEngine, mfa_service: mfa.Mfa | None, clock: Clock = utc_now):
        self.engine = engine
        self._mfa = mfa_service
        self.clock = clock

    @property
    def mfa(self) -> mfa.Mfa:
        if self._mfa is None:  # wiring error: main.py gives identity's Mfa (it needs the master key)
            raise RuntimeError("LoginSecurity was built without MFA support")
        return self._mfa

    # -- the password ------------------------------------------------------------------------
    async def check_password(self, tenant_id: uuid.UUID, email: str, password: str) -> sa.Row[Any]:
        """The user, or LoginLocked / Unauthenticated. The password hash is verified in every case
        (known email or not, locked or not), so timing tells nothing either."""
        now = self.clock()
        failure: DomainError | None = None
        async with tenant_session(self.engine, tenant_id) as session:
            locked = await lockout.locked_until(session, email, now)
            user = await user_service.authenticate(session, email, password)
            if locked is not None:
                await events.record(session, events.LOGIN_REFUSED_LOCKED, now,
                                    user_id=user.id if user else await _user_id(session, email),
                                    email=lockout.email_key(email))
                failure = LoginLocked(locked, now)
            elif user is None:
                until = await lockout.record_failure(session, email, now, user_id=await _user_id(session, email))
                failure = LoginLocked(until, now) if until else _wrong_credentials()
        # The failure is committed before it is raised.
        if failure is not None:
            raise failure
        assert user is not None
        return user

    # -- what comes after it -------------------------------------------------------------------
    async def begin(
        self, tenant_id: uuid.UUID, user: sa.Row[Any], pending: PendingAuthorization
    ) -> LoginProgress:
        """Starts the remaining steps, or completes the sign-in at once when there are none."""
        now = self.clock()
        async with tenant_session(self.engine, tenant_id) as session:
            policy, _ = await password_policy.get_policy(session)
            steps = required_steps(user, policy)
            if not steps:
                await self._succeeded(session, user, now)
                return LoginProgress(tenant_id, user.id, completed=pending)
            ticket = f"{tenant_id.hex}.{secrets.token_urlsafe(32)}"
            await session.execute(
                sa.insert(login_transactions).values(
                    ticket_hash=_ticket_hash(ticket), user_id=user.id, client_id=pending.client_id,
                    redirect_uri=pending.redirect_uri, scope=pending.scope, code_challenge=pending.code_challenge,
                    steps=steps, expires_at=now + TRANSACTION_TTL,
                )
            )
            return await self._enter(session, tenant_id, user, LoginProgress(tenant_id, user.id, steps[0], ticket))

    async def continue_login(
        self, *, ticket: str, step: str, client_id: str, redirect_uri: str, new_password: str = "", code: str = ""
    ) -> LoginProgress:
        tenant_id = await self._tenant_of(ticket)
        now = self.clock()
        failure: DomainError | None = None
        async with tenant_session(self.engine, tenant_id) as session:
            tx = (
                await session.execute(
                    sa.select(login_transactions)
                    .where(login_transactions.c.ticket_hash == _ticket_hash(ticket))
                    .with_for_update()
                )
            ).first()
            if tx is None or tx.expires_at <= now or tx.client_id != client_id or tx.redirect_uri != redirect_uri:
                raise login_expired()
            if not tx.steps or tx.steps[0] != step:
                raise PreconditionFailed(f"the pending step is {tx.steps[0] if tx.steps else 'none'}",
                                         code="login_step_mismatch")
            user = (
                await session.execute(sa.select(users).where(users.c.id == tx.user_id, users.c.disabled.is_(False)))
            ).first()
            if user is None:
                raise login_expired()
            locked = await lockout.locked_until(session, user.email, now)
            if locked is not None:
                await self._drop(session, ticket)
                failure = LoginLocked(locked, now)
            else:
                outcome = await self._perform(session, tenant_id, user, tx, step, new_password, code, now)
                if isinstance(outcome, DomainError):
                    failure = outcome
                else:
                    return await self._advance(session, tenant_id, ticket, tx, outcome, now)
        # Failures recorded above are committed before they are raised.
        assert failure is not None
        raise failure

    # -- steps ---------------------------------------------------------------------------------
    async def _perform(
        self, session: AsyncSession, tenant_id: uuid.UUID, user: sa.Row[Any], tx: sa.Row[Any], step: str,
        new_password: str, code: str, now: datetime,
    ) -> list[str] | DomainError:
        """Does the step; returns recovery codes to show (possibly none) or the failure to raise
        after committing what was recorded. Bad input raises at once (nothing to keep)."""
        if step == STEP_MFA:
            if not code.strip():
                raise InvalidInput([FieldError("code", "required", "enter the code from your authenticator app")])
            if await self.mfa.verify(session, tenant_id, user, code, now):
                return []
            until = await lockout.record_failure(session, user.email, now, user_id=user.id, kind=events.MFA_FAILED)
            if until is not None:
                await self._drop_by_hash(session, tx.ticket_hash)
                return LoginLocked(until, now)
            return InvalidInput([FieldError("code", "invalid_otp", "the code is wrong, expired or already used")])
        if step == STEP_CHANGE_PASSWORD:
            policy, _ = await password_policy.get_policy(session)
            await change_password(session, user, new_password, policy, now, field="new_password")
            return []
        if step == STEP_MFA_ENROLL:
            if not code.strip():
                raise InvalidInput([FieldError("code", "required", "enter the code from your authenticator app")])
            return await self.mfa.confirm_enrollment(session, tenant_id, user, code, now)
        if step == STEP_ACK_RECOVERY_CODES:
            return []
        raise PreconditionFailed(f"unknown step {step!r}", code="login_step_mismatch")

    async def _advance(
        self, session: AsyncSession, tenant_id: uuid.UUID, ticket: str, tx: sa.Row[Any], shown_codes: list[str],
        now: datetime,
    ) -> LoginProgress:
        remaining = list(tx.steps[1:])
        if shown_codes:
            remaining.insert(0, STEP_ACK_RECOVERY_CODES)
        user = (await session.execute(sa.select(users).where(users.c.id == tx.user_id))).one()
        if not remaining:
            await self._drop_by_hash(session, tx.ticket_hash)
            await self._succeeded(session, user, now)
            pending = PendingAuthorization(tx.client_id, tx.redirect_uri, tx.scope, tx.code_challenge)
            return LoginProgress(tenant_id, user.id, completed=pending)
        await session.execute(
            sa.update(login_transactions)
            .where(login_transactions.c.ticket_hash == tx.ticket_hash)
            .values(steps=remaining)
        )
        progress = LoginProgress(tenant_id, user.id, remaining[0], ticket, recovery_codes=shown_codes)
        return await self._enter(session, tenant_id, user, progress)

    async def _enter(
        self, session: AsyncSession, tenant_id: uuid.UUID, user: sa.Row[Any], progress: LoginProgress
    ) -> LoginProgress:
        """What a step needs before it is shown (a new TOTP secret for enrollment)."""
        if progress.next_step == STEP_MFA_ENROLL:
            secret, uri = await self.mfa.start_enrollment(session, tenant_id, user)
            return replace(progress, totp_secret=secret, totp_uri=uri)
        return progress

    async def _succeeded(self, session: AsyncSession, user: sa.Row[Any], now: datetime) -> None:
        await lockout.clear(session, user.email)
        await events.record(session, events.LOGIN_SUCCEEDED, now, user_id=user.id, email=user.email)

    async def _drop(self, session: AsyncSession, ticket: str) -> None:
        await self._drop_by_hash(session, _ticket_hash(ticket))

    @staticmethod
    async def _drop_by_hash(session: AsyncSession, ticket_hash: str) -> None:
        await session.execute(sa.delete(login_transactions).where(login_transactions.c.ticket_hash == ticket_hash))

    async def _tenant_of(self, ticket: str) -> uuid.UUID:
        prefix, _, rest = ticket.partition(".")
        try:
            tenant_id = uuid.UUID(hex=prefix)
        except ValueError:
            raise login_expired() from None
        if not rest:
            raise login_expired()
        async with control_session(self.engine) as session:
            active = (
                await session.execute(
                    sa.select(tenant_directory.c.id).where(
                        tenant_directory.c.id == tenant_id, tenant_directory.c.status == "active"
                    )
                )
            ).first()
        if active is None:
            raise login_expired()
        return tenant_id


def _wrong_credentials() -> Unauthenticated:
    return Unauthenticated("wrong company, email or password", code="invalid_credentials")


async def _user_id(session: AsyncSession, email: str) -> uuid.UUID | None:
    return (
        await session.execute(sa.select(users.c.id).where(sa.func.lower(users.c.email) == lockout.email_key(email)))
    ).scalar_one_or_none()


async def change_password(
    session: AsyncSession, user: sa.Row[Any], new_password: str, policy: PasswordPolicy, now: datetime,
    *, field: str = "new_password", must_change: bool = False, kind: str = events.PASSWORD_CHANGED,
) -> None:
    """Sets a new password that satisfies the policy and differs from the current one."""
    errors = password_errors(new_password, email=user.email, policy=policy, field=field)
    if not errors and await user_service.password_matches(user.password_hash, new_password):
        errors.append(FieldError(field, "password_reused", "choose a password different from the current one"))
    if errors:
        raise InvalidInput(errors)
    await session.execute(
        sa.update(users)
        .where(users.c.id == user.id)
        .values(password_hash=await user_service.hash_password(new_password), must_change_password=must_change,
                password_changed_at=now)
    )
    await events.record(session, kind, now, user_id=user.id, email=user.email)
