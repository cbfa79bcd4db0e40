"""The steps between the password and the code: first-login password change, TOTP, enrollment
required for admins; and a signed-in user's password change and an admin's reset."""

from __future__ import annotations

import uuid

import pyotp
import pytest
import sqlalchemy as sa

from crm_identity.tables import users
from crm_identity.tenants import password_policy
from crm_identity.users.login import LoginLocked, LoginProgress, PendingAuthorization
from crm_platform.auth import Principal
from crm_platform.db import tenant_session
from crm_platform.errors import InvalidInput, PermissionDenied, PreconditionFailed, Unauthenticated
from tests.identity.users.conftest import PASSWORD, Security, make_user

PENDING = PendingAuthorization("crm-web", "https://app.example/cb", "customers:read", "c" * 43)


async def sign_in(security: Security, tenant: uuid.UUID, email: str, password: str = PASSWORD) -> LoginProgress:
    user = await security.login.check_password(tenant, email, password)
    return await security.login.begin(tenant, user, PENDING)


async def step(security: Security, progress: LoginProgress, name: str, **inputs: str) -> LoginProgress:
    return await security.login.continue_login(
        ticket=progress.ticket, step=name, client_id=PENDING.client_id, redirect_uri=PENDING.redirect_uri, **inputs
    )


async def test_first_login_must_choose_a_new_valid_different_password(security: Security,
                                                                      tenant_id: uuid.UUID) -> None:
    user = await make_user(security.engine, tenant_id, must_change_password=True)
    progress = await sign_in(security, tenant_id, user.email)
    assert progress.completed is None and progress.next_step == "change_password"
    assert progress.ticket.startswith(tenant_id.hex + ".")

    for bad, code in ((PASSWORD, "password_reused"), ("short", "password_too_short"),
                      ("1234567890", "common_password"), ("rep-rep-rep-42", "password_contains_email")):
        with pytest.raises(InvalidInput) as refused:
            await step(security, progress, "change_password", new_password=bad)
        assert code in [e.code for e in refused.value.errors]

    done = await step(security, progress, "change_password", new_password="Brand-new-lantern-8")
    assert done.completed == PENDING
    # The ticket is spent, the new password works, the old one does not, no step is left.
    with pytest.raises(Unauthenticated):
        await step(security, progress, "change_password", new_password="Another-new-one-9")
    assert (await sign_in(security, tenant_id, user.email, "Brand-new-lantern-8")).completed == PENDING
    with pytest.raises(Unauthenticated):
        await security.login.check_password(tenant_id, user.email, PASSWORD)


async def test_ticket_is_bound_to_client_redirect_and_step_and_expires(security: Security,
                                                                      tenant_id: uuid.UUID) -> None:
    user = await make_user(security.engine, tenant_id, must_change_password=True)
    progress = await sign_in(security, tenant_id, user.email)
    with pytest.raises(Unauthenticated):
        await security.login.continue_login(ticket=progress.ticket, step="change_password", client_id="other",
                                            redirect_uri=PENDING.redirect_uri, new_password="Brand-new-lantern-8")
    with pytest.raises(PreconditionFailed):
        await step(security, progress, "mfa", code="123456")
    with pytest.raises(Unauthenticated):
        await security.login.continue_login(ticket=f"{uuid.uuid4().hex}.forged", step="change_password",
                                            client_id=PENDING.client_id, redirect_uri=PENDING.redirect_uri)
    security.clock.advance(minutes=11)
    with pytest.raises(Unauthenticated) as expired:
        await step(security, progress, "change_password", new_password="Brand-new-lantern-8")
    assert expired.value.code == "login_expired"


async def enrolled_user(security: Security, tenant: uuid.UUID) -> tuple[sa.Row, pyotp.TOTP]:  # type: ignore[type-arg]
    user = await make_user(security.engine, tenant)
    principal = Principal(tenant, str(user.id), "crm-web", frozenset(), user_id=user.id)
    async with tenant_session(security.engine, tenant) as session:
        secret, _ = await security.account.start_totp(session, principal)
    totp = pyotp.TOTP(secret)
    async with tenant_session(security.engine, tenant) as session:
        await security.account.confirm_totp(session, principal, totp.at(security.clock()))
    security.clock.advance(seconds=30)
    return user, totp


async def test_enrolled_user_needs_a_totp_code(security: Security, tenant_id: uuid.UUID) -> None:
    user, totp = await enrolled_user(security, tenant_id)
    progress = await sign_in(security, tenant_id, user.email)
    assert progress.next_step == "mfa"
    with pytest.raises(InvalidInput) as wrong:
        await step(security, progress, "mfa", code="000000" if totp.at(security.clock()) != "000000" else "111111")
    assert wrong.value.errors[0].code == "invalid_otp"
    assert (await step(security, progress, "mfa", code=totp.at(security.clock()))).completed == PENDING

    # The same code cannot finish another sign-in (replay).
    again = await sign_in(security, tenant_id, user.email)
    with pytest.raises(InvalidInput):
        await step(security, again, "mfa", code=totp.at(security.clock()))


async def test_wrong_totp_codes_count_towards_the_lockout(security: Security, tenant_id: uuid.UUID) -> None:
    user, totp = await enrolled_user(security, tenant_id)
    progress = await sign_in(security, tenant_id, user.email)
    for _ in range(4):
        with pytest.raises(InvalidInput):
            await step(security, progress, "mfa", code="abcdef")
    with pytest.raises(LoginLocked):
        await step(security, progress, "mfa", code="abcdef")
    with pytest.raises(Unauthenticated):  # the sign-in was dropped with the lock
        await step(security, progress, "mfa", code=totp.at(security.clock()))


async def test_admins_enroll_at_next_login_when_the_tenant_requires_it(security: Security,
                                                                      tenant_id: uuid.UUID) -> None:
    admin = await make_user(security.engine, tenant_id, "boss@example.com", roles=["tenant_admin"])
    rep = await make_user(security.engine, tenant_id, "rep@example.com")
    async with tenant_session(security.engine, tenant_id) as session:
        await password_policy.update_policy(session, {"mfa_required_for_admins": True}, expected_version=0)
    assert (await sign_in(security, tenant_id, rep.email)).completed == PENDING  # not an admin

    progress = await sign_in(security, tenant_id, admin.email)
    assert progress.next_step == "mfa_enroll" and progress.totp_secret and progress.totp_uri
    totp = pyotp.TOTP(progress.totp_secret)
    shown = await step(security, progress, "mfa_enroll", code=totp.at(security.clock()))
    assert shown.next_step == "acknowledge_recovery_codes" and len(shown.recovery_codes) == 10
    assert (await step(security, shown, "acknowledge_recovery_codes")).completed == PENDING

    security.clock.advance(seconds=30)
    next_time = await sign_in(security, tenant_id, admin.email)
    assert next_time.next_step == "mfa"  # enrolled now: a code, not enrollment
    assert (await step(security, next_time, "mfa", code=shown.recovery_codes[0])).completed == PENDING


async def test_signed_in_user_changes_password(security: Security, tenant_id: uuid.UUID) -> None:
    user = await make_user(security.engine, tenant_id)
    me = Principal(tenant_id, str(user.id), "crm-web", frozenset(), user_id=user.id)
    async with tenant_session(security.engine, tenant_id) as session:
        with pytest.raises(InvalidInput) as wrong:
            await security.account.change_my_password(session, me, "not-my-password", "Brand-new-lantern-8")
    assert wrong.value.errors[0].field == "current_password"
    async with tenant_session(security.engine, tenant_id) as session:
        state = await security.account.change_my_password(session, me, PASSWORD, "Brand-new-lantern-8")
    assert state.password_changed_at == security.clock() and not state.must_change_password
    await security.login.check_password(tenant_id, user.email, "Brand-new-lantern-8")
    client = Principal(tenant_id, "client:x", "x", frozenset())
    async with tenant_session(security.engine, tenant_id) as session:
        with pytest.raises(PermissionDenied):
            await security.account.state(session, client)


async def test_admin_reset_forces_a_change_and_lifts_a_lock(security: Security, tenant_id: uuid.UUID) -> None:
    admin = await make_user(security.engine, tenant_id, "boss@example.com", roles=["tenant_admin"])
    user = await make_user(security.engine, tenant_id)
    for _ in range(5):
        with pytest.raises((Unauthenticated, LoginLocked)):
            await security.login.check_password(tenant_id, user.email, "wrong-password-1")
    by = Principal(tenant_id, str(admin.id), "crm-web", frozenset(), user_id=admin.id)
    async with tenant_session(security.engine, tenant_id) as session:
        row = await security.account.reset_password(session, by, str(user.id), "Temporary-pass-42")
    assert row.must_change_password
    progress = await sign_in(security, tenant_id, user.email, "Temporary-pass-42")
    assert progress.next_step == "change_password"
    async with tenant_session(security.engine, tenant_id) as session:
        assert (await session.execute(sa.select(users.c.must_change_password).where(users.c.id == user.id))
                ).scalar_one()
