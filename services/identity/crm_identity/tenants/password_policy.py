"""The tenant's password policy and MFA requirement (one row in the tenant schema; the defaults
apply until an admin changes something)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from crm_identity.tables import security_policy
from crm_identity.users.passwords import DEFAULT_POLICY, MAX_MIN_LENGTH, MIN_MIN_LENGTH, PasswordPolicy
from crm_platform.errors import FieldError, InvalidInput, PreconditionFailed

FIELDS = ("min_length", "reject_common_passwords", "mfa_required_for_admins")


def _policy(row: sa.Row[Any] | None) -> PasswordPolicy:
    if row is None:
        return DEFAULT_POLICY
    return PasswordPolicy(row.min_length, row.reject_common_passwords, row.mfa_required_for_admins, row.version)


async def get_policy(session: AsyncSession) -> tuple[PasswordPolicy, Any]:
    """The policy and when it last changed (None while the defaults apply)."""
    row = (await session.execute(sa.select(security_policy).where(security_policy.c.id == 1))).first()
    return _policy(row), (row.updated_at if row is not None else None)


async def update_policy(
    session: AsyncSession, changes: dict[str, Any], expected_version: int
) -> tuple[PasswordPolicy, Any]:
    unknown = [name for name in changes if name not in FIELDS]
    errors = [FieldError("update_mask", "unknown_field", f"unknown field {name!r}") for name in unknown]
    min_length = changes.get("min_length")
    if min_length is not None and not MIN_MIN_LENGTH <= int(min_length) <= MAX_MIN_LENGTH:
        errors.append(FieldError(
            "min_length", "out_of_range", f"min_length must be between {MIN_MIN_LENGTH} and {MAX_MIN_LENGTH}"
        ))
    if errors:
        raise InvalidInput(errors)
    current, _ = await get_policy(session)
    if expected_version != current.version:
        raise PreconditionFailed(
            "the policy changed since it was read", code="stale_version", extra={"current_version": current.version}
        )
    values = {
        "min_length": current.min_length,
        "reject_common_passwords": current.reject_common_passwords,
        "mfa_required_for_admins": current.mfa_required_for_admins,
        **changes,
    }
    # The version check and the write are one statement, so two concurrent updates cannot both win.
    row = (
        await session.execute(
            pg_insert(security_policy)
            .values(id=1, version=1, **values)
            .on_conflict_do_update(
                index_elements=["id"],
                set_={**values, "version": security_policy.c.version + 1, "updated_at": sa.func.now()},
                where=security_policy.c.version == expected_version,
            )
            .returning(security_policy)
        )
    ).first()
    if row is None:
        latest, _ = await get_policy(session)
        raise PreconditionFailed(
            "the policy changed since it was read", code="stale_version", extra={"current_version": latest.version}
        )
    return _policy(row), row.updated_at
