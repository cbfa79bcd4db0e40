"""The tenant's password policy: defaults, rules, updates with optimistic concurrency."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_identity.tenants import password_policy
from crm_identity.users.passwords import DEFAULT_POLICY, PasswordPolicy, is_common, password_errors
from crm_platform.db import tenant_session
from crm_platform.errors import InvalidInput, PreconditionFailed


def codes(password: str, email: str = "wang.lei@example.com", policy: PasswordPolicy = DEFAULT_POLICY) -> list[str]:
    return [e.code for e in password_errors(password, email=email, policy=policy)]


def test_defaults_need_ten_characters() -> None:
    assert DEFAULT_POLICY.min_length == 10
    assert codes("Sh0rt-pw!") == ["password_too_short"]
    assert codes("Long-enough-9") == []


def test_common_passwords_come_from_the_shipped_list() -> None:
    assert is_common("password") and is_common("PASSWORD") and is_common("1234567890")
    assert codes("qwertyuiop") == ["common_password"]
    assert codes("1234567890") == ["common_password"]
    assert codes("qwertyuiop", policy=PasswordPolicy(reject_common_passwords=False)) == []


def test_email_local_part_is_rejected_case_insensitively() -> None:
    assert codes("My-Wang.Lei-2026") == ["password_contains_email"]
    # Very short local parts would forbid too much.
    assert codes("Quiet-harbour-lamp-7", email="li@example.com") == []


def test_too_long_is_rejected() -> None:
    assert codes("x" * 257) == ["password_too_long"]


async def test_policy_defaults_until_changed_then_versioned(users_engine: AsyncEngine, tenant_id: uuid.UUID) -> None:
    async with tenant_session(users_engine, tenant_id) as session:
        policy, updated_at = await password_policy.get_policy(session)
        assert policy == DEFAULT_POLICY and updated_at is None
        policy, updated_at = await password_policy.update_policy(
            session, {"min_length": 14, "mfa_required_for_admins": True}, expected_version=0
        )
    assert (policy.min_length, policy.reject_common_passwords, policy.mfa_required_for_admins) == (14, True, True)
    assert policy.version == 1 and updated_at is not None
    async with tenant_session(users_engine, tenant_id) as session:
        with pytest.raises(PreconditionFailed) as stale:
            await password_policy.update_policy(session, {"min_length": 12}, expected_version=0)
        assert stale.value.code == "stale_version" and stale.value.extra["current_version"] == 1
        policy, _ = await password_policy.update_policy(session, {"reject_common_passwords": False}, 1)
    assert (policy.min_length, policy.reject_common_passwords, policy.version) == (14, False, 2)


async def test_policy_rejects_out_of_range_and_unknown_fields(users_engine: AsyncEngine, tenant_id: uuid.UUID) -> None:
    async with tenant_session(users_engine, tenant_id) as session:
        with pytest.raises(InvalidInput) as bad:
            await password_policy.update_policy(session, {"min_length": 4, "colour": "red"}, expected_version=0)
    assert {(e.field, e.code) for e in bad.value.errors} == {("min_length", "out_of_range"),
                                                             ("update_mask", "unknown_field")}
