"""Lockout with backoff, timed with an injected clock: 5 consecutive failures lock for 1 minute,
each further lockout doubles, capped at 1 hour; unknown emails behave exactly the same."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from crm_identity.users import lockout
from crm_identity.users import security_events as events
from crm_identity.users.login import LoginLocked
from crm_platform.db import tenant_session
from crm_platform.errors import Unauthenticated
from tests.identity.users.conftest import PASSWORD, Security, make_user


async def fail(security: Security, tenant: uuid.UUID, email: str, times: int) -> list[str]:
    outcomes = []
    for _ in range(times):
        with pytest.raises((Unauthenticated, LoginLocked)) as refused:
            await security.login.check_password(tenant, email, "not-the-password-1")
        outcomes.append(refused.value.code)
    return outcomes


def test_lock_durations_double_up_to_an_hour() -> None:
    assert [lockout.lock_duration(n) for n in range(1, 9)] == [
        timedelta(minutes=m) for m in (1, 2, 4, 8, 16, 32, 60, 60)
    ]


async def test_five_failures_lock_for_a_minute_then_backoff_doubles(security: Security, tenant_id: uuid.UUID) -> None:
    user = await make_user(security.engine, tenant_id)
    assert await fail(security, tenant_id, user.email, 5) == ["invalid_credentials"] * 4 + ["login_locked"]

    # Locked: even the right password is refused, and the answer says how long.
    with pytest.raises(LoginLocked) as locked:
        await security.login.check_password(tenant_id, user.email, PASSWORD)
    assert locked.value.extra == {"retry_after": 60, "retry_after_minutes": 1}

    security.clock.advance(seconds=59)
    with pytest.raises(LoginLocked) as locked:
        await security.login.check_password(tenant_id, user.email, PASSWORD)
    assert locked.value.extra["retry_after"] == 1
    security.clock.advance(seconds=1)
    assert (await security.login.check_password(tenant_id, user.email, PASSWORD)).id == user.id

    # Five more failures (no completed sign-in in between): the second lockout lasts 2 minutes.
    assert await fail(security, tenant_id, user.email, 5) == ["invalid_credentials"] * 4 + ["login_locked"]
    with pytest.raises(LoginLocked) as locked:
        await security.login.check_password(tenant_id, user.email, PASSWORD)
    assert locked.value.extra["retry_after"] == 120

    # ... and so on, up to the one-hour cap.
    for expected in (240, 480, 960, 1920, 3600, 3600):
        security.clock.advance(hours=1)
        await fail(security, tenant_id, user.email, 5)
        with pytest.raises(LoginLocked) as locked:
            await security.login.check_password(tenant_id, user.email.upper(), PASSWORD)
        assert locked.value.extra["retry_after"] == expected


async def test_failures_and_lockouts_are_recorded(security: Security, tenant_id: uuid.UUID) -> None:
    user = await make_user(security.engine, tenant_id)
    await fail(security, tenant_id, user.email, 6)
    async with tenant_session(security.engine, tenant_id) as session:
        kinds = [e.kind for e in await events.list_events(session, email=user.email)]
        by_user = await events.list_events(session, user_id=user.id)
    assert kinds == [events.LOGIN_FAILED] * 5 + [events.LOCKED, events.LOGIN_REFUSED_LOCKED]
    assert len(by_user) == 7


async def test_unknown_email_locks_the_same_way(security: Security, tenant_id: uuid.UUID) -> None:
    await make_user(security.engine, tenant_id)
    assert await fail(security, tenant_id, "nobody@example.com", 6) == (
        ["invalid_credentials"] * 4 + ["login_locked", "login_locked"]
    )


async def test_success_before_the_fifth_failure_resets_the_count(security: Security, tenant_id: uuid.UUID) -> None:
    from crm_identity.users.login import PendingAuthorization

    user = await make_user(security.engine, tenant_id)
    await fail(security, tenant_id, user.email, 4)
    row = await security.login.check_password(tenant_id, user.email, PASSWORD)
    progress = await security.login.begin(tenant_id, row, PendingAuthorization("crm-web", "https://x/cb", "", "c"))
    assert progress.completed is not None  # no steps: the sign-in completed and cleared the count
    assert await fail(security, tenant_id, user.email, 4) == ["invalid_credentials"] * 4
