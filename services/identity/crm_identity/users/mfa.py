"""TOTP (RFC 6238, via pyotp: SHA-1, 6 digits, 30-second steps, one step of clock drift either way)
and one-time recovery codes.

- Secrets are sealed under the master key (`crm_identity.sealing`) with the tenant and user as
  associated data; a pending secret waits in its own column until a code confirms it.
- A code is accepted only for a time step later than the last accepted one, so the same code
  (or an older one) cannot be replayed within its window.
- Recovery codes (10, shown once) are stored as keyed hashes and each works once."""

from __future__ import annotations

import hmac
import re
import secrets
import uuid
from datetime import datetime
from typing import Any, Final

import pyotp
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from crm_identity.sealing import Sealer, totp_context
from crm_identity.tables import recovery_codes, users
from crm_identity.users import security_events as events
from crm_platform.errors import Conflict, FieldError, InvalidInput

ISSUER: Final = "CRM Cloud"
DRIFT_STEPS: Final = 1
RECOVERY_CODE_COUNT: Final = 10
RECOVERY_ALPHABET: Final = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i
TOTP_RE: Final = re.compile(r"^\d{6}$")


def _aad(tenant_id: uuid.UUID, user_id: uuid.UUID) -> str:
    return totp_context(tenant_id, user_id)


def provisioning_uri(secret: str, email: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=ISSUER)


def matching_step(secret: str, code: str, now: datetime) -> int | None:
    """The time step whose code equals `code` (within the allowed drift), else None."""
    code = code.strip().replace(" ", "")
    if not TOTP_RE.match(code):
        return None
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now)
    for step in (current, *(current + d for d in range(-DRIFT_STEPS, DRIFT_STEPS + 1) if d)):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def new_recovery_code() -> str:
    raw = "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(10))
    return f"{raw[:5]}-{raw[5:]}"


def normalise_recovery_code(code: str) -> str:
    raw = re.sub(r"[\s-]", "", code.strip().lower())
    return f"{raw[:5]}-{raw[5:]}"


def looks_like_recovery_code(code: str) -> bool:
    return bool(re.fullmatch(r"[a-z0-9]{5}-?[a-z0-9]{5}", re.sub(r"\s", "", code.strip().lower())))


class Mfa:
    def __init__(self, sealer: Sealer):
        self.sealer = sealer

    def _recovery_hash(self, tenant_id: uuid.UUID, user_id: uuid.UUID, code: str) -> str:
        return self.sealer.mac("recovery-code", f"{tenant_id}:{user_id}:{normalise_recovery_code(code)}")

    async def start_enrollment(
        self, session: AsyncSession, tenant_id: uuid.UUID, user: sa.Row[Any]
    ) -> tuple[str, str]:
        """A new secret (and its otpauth URI) awaiting confirmation; replaces any earlier pending one."""
        if user.totp_enabled_at is not None:
            raise Conflict("two-step verification is already on", code="mfa_already_enabled")
        secret = pyotp.random_base32()  # 160 bits, as RFC 4226 recommends
        await session.execute(
            sa.update(users)
            .where(users.c.id == user.id)
            .values(totp_pending_sealed=self.sealer.seal(secret.encode(), _aad(tenant_id, user.id)))
        )
        return secret, provisioning_uri(secret, user.email)

    async def confirm_enrollment(
        self, session: AsyncSession, tenant_id: uuid.UUID, user: sa.Row[Any], code: str, now: datetime
    ) -> list[str]:
        """Turns TOTP on when `code` matches the pending secret; returns fresh recovery codes."""
        if user.totp_enabled_at is not None:
            raise Conflict("two-step verification is already on", code="mfa_already_enabled")
        if user.totp_pending_sealed is None:
            raise InvalidInput([FieldError("code", "mfa_not_started", "start the set-up first")])
        secret = self.sealer.open(user.totp_pending_sealed, _aad(tenant_id, user.id)).decode()
        step = matching_step(secret, code, now)
        if step is None:
            raise InvalidInput([FieldError("code", "invalid_otp", "the code is wrong or expired")])
        await session.execute(
            sa.update(users)
            .where(users.c.id == user.id)
            .values(totp_secret_sealed=user.totp_pending_sealed, totp_pending_sealed=None, totp_enabled_at=now,
                    totp_last_step=step)
        )
        codes = await self.new_recovery_codes(session, tenant_id, user.id)
        await events.record(session, events.MFA_ENROLLED, now, user_id=user.id, email=user.email)
        return codes

    async def new_recovery_codes(self, session: AsyncSession, tenant_id: uuid.UUID, user_id: uuid.UUID) -> list[str]:
        codes = [new_recovery_code() for _ in range(RECOVERY_CODE_COUNT)]
        await session.execute(sa.delete(recovery_codes).where(recovery_codes.c.user_id == user_id))
        await session.execute(
            sa.insert(recovery_codes),
            [{"user_id": user_id, "code_hash": self._recovery_hash(tenant_id, user_id, c)} for c in codes],
        )
        return codes

    async def verify(
        self, session: AsyncSession, tenant_id: uuid.UUID, user: sa.Row[Any], code: str, now: datetime
    ) -> bool:
        """A TOTP code for a step after the last accepted one, or an unused recovery code."""
        if user.totp_secret_sealed is None:
            return False
        if looks_like_recovery_code(code):
            used = (
                await session.execute(
                    sa.update(recovery_codes)
                    .where(
                        recovery_codes.c.user_id == user.id,
                        recovery_codes.c.code_hash == self._recovery_hash(tenant_id, user.id, code),
                        recovery_codes.c.used_at.is_(None),
                    )
                    .values(used_at=now)
                    .returning(recovery_codes.c.code_hash)
                )
            ).first()
            if used is not None:
                await events.record(session, events.RECOVERY_CODE_USED, now, user_id=user.id, email=user.email)
            return used is not None
        secret = self.sealer.open(user.totp_secret_sealed, _aad(tenant_id, user.id)).decode()
        step = matching_step(secret, code, now)
        if step is None:
            return False
        # Accepting a step moves the mark forward in the same statement: a replay (or a race with
        # the same code) finds the mark already there and updates nothing.
        accepted = (
            await session.execute(
                sa.update(users)
                .where(users.c.id == user.id, sa.or_(users.c.totp_last_step.is_(None), users.c.totp_last_step < step))
                .values(totp_last_step=step)
                .returning(users.c.id)
            )
        ).first()
        return accepted is not None

    async def disable(self, session: AsyncSession, user: sa.Row[Any]) -> None:
        """TOTP off: secret, pending secret, replay mark and recovery codes gone (the caller has
        checked a code and the tenant's policy)."""
        await session.execute(
            sa.update(users).where(users.c.id == user.id)
            .values(totp_secret_sealed=None, totp_pending_sealed=None, totp_enabled_at=None, totp_last_step=None)
        )
        await session.execute(sa.delete(recovery_codes).where(recovery_codes.c.user_id == user.id))

    async def verify_totp_only(
        self, session: AsyncSession, tenant_id: uuid.UUID, user: sa.Row[Any], code: str, now: datetime
    ) -> bool:
        """A current TOTP code (never a recovery code), with the same replay protection as `verify`."""
        if looks_like_recovery_code(code):
            return False
        return await self.verify(session, tenant_id, user, code, now)

    async def recovery_codes_left(self, session: AsyncSession, user_id: uuid.UUID) -> int:
        return int(
            (
                await session.execute(
                    sa.select(sa.func.count())
                    .select_from(recovery_codes)
                    .where(recovery_codes.c.user_id == user_id, recovery_codes.c.used_at.is_(None))
                )
            ).scalar_one()
        )
