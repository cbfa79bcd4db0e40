"""A signed-in user's own security settings (password, TOTP) and an admin's password reset."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from crm_identity.tables import users
from crm_identity.tenants import password_policy
from crm_identity.users import lockout, mfa
from crm_identity.users import security_events as events
from crm_identity.users import service as user_service
from crm_identity.users.login import Clock, LoginLocked, change_password, utc_now
from crm_identity.users.passwords import password_errors
from crm_identity.users.roles import Role
from crm_platform.auth import Principal
from crm_platform.db import tenant_session
from crm_platform.errors import Conflict, FieldError, InvalidInput, NotFound, PermissionDenied
from crm_platform.ids import parse_uuid


@dataclass(frozen=True)
class SecurityState:
    mfa_enabled: bool
    recovery_codes_remaining: int
    must_change_password: bool
    password_changed_at: datetime | None
    min_password_length: int


class AccountSecurity:
    def __init__(self, engine: AsyncEngine, mfa_service: mfa.Mfa, clock: Clock = utc_now):
        self.engine = engine
        self.mfa = mfa_service
        self.clock = clock

    @staticmethod
    async def me(session: AsyncSession, principal: Principal, *, lock: bool = False) -> sa.Row[Any]:
        """The calling user (a user token, not a client's), still active."""
        if principal.user_id is None:
            raise PermissionDenied("only a signed-in user has an account", code="user_token_required")
        query = sa.select(users).where(users.c.id == principal.user_id, users.c.disabled.is_(False))
        row = (await session.execute(query.with_for_update() if lock else query)).first()
        if row is None:
            raise NotFound("user not found")
        return row

    async def state(self, session: AsyncSession, principal: Principal) -> SecurityState:
        user = await self.me(session, principal)
        policy, _ = await password_policy.get_policy(session)
        return SecurityState(
            mfa_enabled=user.totp_enabled_at is not None,
            recovery_codes_remaining=await self.mfa.recovery_codes_left(session, user.id),
            must_change_password=user.must_change_password,
            password_changed_at=user.password_changed_at,
            min_password_length=policy.min_length,
        )

    async def change_my_password(
        self, session: AsyncSession, principal: Principal, current_password: str, new_password: str
    ) -> SecurityState:
        """A wrong current password counts towards the lockout, like a failed sign-in; it is recorded
        in a transaction of its own, so it stays recorded when this call's transaction rolls back."""
        now = self.clock()
        user = await self.me(session, principal, lock=True)
        locked = await lockout.locked_until(session, user.email, now)
        if locked is not None:
            raise LoginLocked(locked, now)
        if not current_password:
            raise InvalidInput([FieldError("current_password", "required", "enter your current password")])
        if not await user_service.password_matches(user.password_hash, current_password):
            async with tenant_session(self.engine, principal.tenant_id) as own:
                until = await lockout.record_failure(own, user.email, now, user_id=user.id)
            if until is not None:
                raise LoginLocked(until, now)
            raise InvalidInput([FieldError("current_password", "wrong_password", "the current password is wrong")])
        policy, _ = await password_policy.get_policy(session)
        await change_password(session, user, new_password, policy, now, field="new_password")
        return await self.state(session, principal)

    async def start_totp(self, session: AsyncSession, principal: Principal) -> tuple[str, str]:
        user = await self.me(session, principal, lock=True)
        return await self.mfa.start_enrollment(session, principal.tenant_id, user)

    async def confirm_totp(self, session: AsyncSession, principal: Principal, code: str) -> list[str]:
        if not code.strip():
            raise InvalidInput([FieldError("code", "required", "enter the code from your authenticator app")])
        user = await self.me(session, principal, lock=True)
        return await self.mfa.confirm_enrollment(session, principal.tenant_id, user, code, self.clock())

    async def _check_code(self, session: AsyncSession, principal: Principal, user: sa.Row[Any], code: str,
                          *, totp_only: bool) -> None:
        """A TOTP code (or, unless `totp_only`, a recovery code) for the signed-in user. A wrong code
        counts towards the lockout like one at sign-in, recorded in its own transaction so it stays
        when this call's rolls back."""
        if user.totp_enabled_at is None:
            raise Conflict("two-step verification is not on", code="mfa_not_enabled")
        if not code.strip():
            raise InvalidInput([FieldError("code", "required", "enter the code from your authenticator app")])
        now = self.clock()
        locked = await lockout.locked_until(session, user.email, now)
        if locked is not None:
            raise LoginLocked(locked, now)
        check = self.mfa.verify_totp_only if totp_only else self.mfa.verify
        if await check(session, principal.tenant_id, user, code, now):
            return
        async with tenant_session(self.engine, principal.tenant_id) as own:
            until = await lockout.record_failure(own, user.email, now, user_id=user.id, kind=events.MFA_FAILED)
        if until is not None:
            raise LoginLocked(until, now)
        raise InvalidInput([FieldError("code", "invalid_otp", "the code is wrong or expired")])

    async def disable_totp(self, session: AsyncSession, principal: Principal, code: str) -> SecurityState:
        """Turns TOTP off with a current TOTP code or an unused recovery code. Refused (409
        `mfa_required_by_policy`) when the tenant requires TOTP for this user's role."""
        user = await self.me(session, principal, lock=True)
        policy, _ = await password_policy.get_policy(session)
        if policy.mfa_required_for_admins and Role.TENANT_ADMIN.value in user.roles:
            raise Conflict("the tenant requires two-step verification for administrators",
                           code="mfa_required_by_policy")
        await self._check_code(session, principal, user, code, totp_only=False)
        await self.mfa.disable(session, user)
        await events.record(session, events.MFA_DISABLED, self.clock(), user_id=user.id, email=user.email)
        return await self.state(session, principal)

    async def regenerate_recovery_codes(self, session: AsyncSession, principal: Principal, code: str) -> list[str]:
        """Ten new recovery codes for a current TOTP code; the old ones stop working."""
        user = await self.me(session, principal, lock=True)
        await self._check_code(session, principal, user, code, totp_only=True)
        codes = await self.mfa.new_recovery_codes(session, principal.tenant_id, user.id)
        await events.record(session, events.RECOVERY_CODES_REGENERATED, self.clock(), user_id=user.id,
                            email=user.email)
        return codes

    async def reset_password(
        self, session: AsyncSession, principal: Principal, user_id: str, new_password: str
    ) -> sa.Row[Any]:
        """An admin sets a temporary password; the user must change it at next sign-in."""
        target_id: uuid.UUID = parse_uuid(user_id, "user_id")
        user = (await session.execute(sa.select(users).where(users.c.id == target_id).with_for_update())).first()
        if user is None:
            raise NotFound("user not found")
        policy, _ = await password_policy.get_policy(session)
        errors = password_errors(new_password, email=user.email, policy=policy, field="new_password")
        if errors:
            raise InvalidInput(errors)
        now = self.clock()
        await session.execute(
            sa.update(users)
            .where(users.c.id == user.id)
            .values(password_hash=await user_service.hash_password(new_password), must_change_password=True,
                    password_changed_at=now)
        )
        # A reset also lifts a lockout: the admin has vouched for whoever gets the new password.
        await lockout.clear(session, user.email)
        await events.record(session, events.PASSWORD_RESET, now, user_id=user.id, email=user.email,
                            by=principal.actor)
        return (await session.execute(sa.select(users).where(users.c.id == user.id))).one()
