"""TOTP with real codes from pyotp: enrollment, verification, replay refused; recovery codes are
single-use; secrets are sealed (not stored in the clear, bound to their user)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pyotp
import pytest
import sqlalchemy as sa

from crm_identity.tables import recovery_codes, users
from crm_platform.db import tenant_session
from crm_platform.errors import Conflict, InvalidInput
from crm_platform.sealing import SealError
from tests.identity.users.conftest import Security, make_user


async def load(security: Security, tenant: uuid.UUID, user_id: uuid.UUID) -> sa.Row:  # type: ignore[type-arg]
    async with tenant_session(security.engine, tenant) as session:
        return (await session.execute(sa.select(users).where(users.c.id == user_id))).one()


async def enroll(security: Security, tenant: uuid.UUID, user: sa.Row) -> tuple[pyotp.TOTP, list[str]]:  # type: ignore[type-arg]
    async with tenant_session(security.engine, tenant) as session:
        secret, uri = await security.mfa.start_enrollment(session, tenant, user)
    assert uri.startswith("otpauth://totp/") and f"secret={secret}" in uri
    totp = pyotp.TOTP(secret)
    async with tenant_session(security.engine, tenant) as session:
        codes = await security.mfa.confirm_enrollment(
            session, tenant, await load(security, tenant, user.id), totp.at(security.clock()), security.clock()
        )
    return totp, codes


async def verify(security: Security, tenant: uuid.UUID, user_id: uuid.UUID, code: str) -> bool:
    async with tenant_session(security.engine, tenant) as session:
        user = await load(security, tenant, user_id)
        return await security.mfa.verify(session, tenant, user, code, security.clock())


async def test_enroll_then_verify_real_codes_and_refuse_replay(security: Security, tenant_id: uuid.UUID) -> None:
    user = await make_user(security.engine, tenant_id)
    totp, codes = await enroll(security, tenant_id, user)
    assert len(codes) == 10 and len(set(codes)) == 10

    stored = await load(security, tenant_id, user.id)
    assert stored.totp_enabled_at is not None and stored.totp_pending_sealed is None
    assert totp.secret.encode() not in stored.totp_secret_sealed  # sealed, not in the clear

    # The enrollment code's step is used: the same code again is a replay.
    assert not await verify(security, tenant_id, user.id, totp.at(security.clock()))
    security.clock.advance(seconds=30)
    code = totp.at(security.clock())
    assert await verify(security, tenant_id, user.id, code)
    assert not await verify(security, tenant_id, user.id, code)  # replay within its window
    assert not await verify(security, tenant_id, user.id, "000000" if code != "000000" else "111111")
    # One step of drift is accepted, an older step than the last accepted one is not.
    security.clock.advance(seconds=30)
    assert await verify(security, tenant_id, user.id, totp.at(security.clock() + timedelta(seconds=30)))
    assert not await verify(security, tenant_id, user.id, totp.at(security.clock()))


async def test_wrong_enrollment_code_keeps_mfa_off(security: Security, tenant_id: uuid.UUID) -> None:
    user = await make_user(security.engine, tenant_id)
    async with tenant_session(security.engine, tenant_id) as session:
        await security.mfa.start_enrollment(session, tenant_id, user)
    with pytest.raises(InvalidInput) as wrong:
        async with tenant_session(security.engine, tenant_id) as session:
            await security.mfa.confirm_enrollment(
                session, tenant_id, await load(security, tenant_id, user.id), "123456", security.clock()
            )
    assert wrong.value.errors[0].code == "invalid_otp"
    assert (await load(security, tenant_id, user.id)).totp_enabled_at is None


async def test_cannot_enroll_twice(security: Security, tenant_id: uuid.UUID) -> None:
    user = await make_user(security.engine, tenant_id)
    await enroll(security, tenant_id, user)
    with pytest.raises(Conflict):
        async with tenant_session(security.engine, tenant_id) as session:
            await security.mfa.start_enrollment(session, tenant_id, await load(security, tenant_id, user.id))


async def test_recovery_codes_work_once_and_are_stored_hashed(security: Security, tenant_id: uuid.UUID) -> None:
    user = await make_user(security.engine, tenant_id)
    _, codes = await enroll(security, tenant_id, user)
    async with tenant_session(security.engine, tenant_id) as session:
        stored = [r.code_hash for r in (await session.execute(sa.select(recovery_codes))).all()]
    assert len(stored) == 10 and not set(codes) & set(stored)

    assert await verify(security, tenant_id, user.id, codes[0])
    assert not await verify(security, tenant_id, user.id, codes[0])
    # Typed in capitals and without the dash, another code still works (once).
    assert await verify(security, tenant_id, user.id, codes[1].replace("-", "").upper())
    assert not await verify(security, tenant_id, user.id, codes[1])
    assert not await verify(security, tenant_id, user.id, "aaaaa-bbbbb")
    async with tenant_session(security.engine, tenant_id) as session:
        assert await security.mfa.recovery_codes_left(session, user.id) == 8


async def test_sealed_secret_is_bound_to_its_user(security: Security, tenant_id: uuid.UUID) -> None:
    first = await make_user(security.engine, tenant_id, "a@example.com")
    await enroll(security, tenant_id, first)
    sealed = (await load(security, tenant_id, first.id)).totp_secret_sealed
    with pytest.raises(SealError):
        security.sealer.open(sealed, f"totp:{tenant_id}:{uuid.uuid4()}")
