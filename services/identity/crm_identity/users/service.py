"""Users: creation with argon2id password hashes, credential checks."""

from __future__ import annotations

import asyncio
import contextlib
import re
import uuid
from typing import Any

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from crm_identity.tables import users
from crm_identity.users.passwords import DEFAULT_POLICY, PasswordPolicy, password_errors
from crm_identity.users.roles import Role
from crm_platform.errors import Conflict, FieldError, InvalidInput
from crm_platform.ids import new_id

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters
# A hash of a random password, verified when the email is unknown so response time does not
# reveal which emails exist.
_DUMMY_HASH = _hasher.hash(str(uuid.uuid4()))

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD_LENGTH = DEFAULT_POLICY.min_length


def validate_new_user(
    email: str, password: str, display_name: str, roles: list[str], policy: PasswordPolicy = DEFAULT_POLICY
) -> list[FieldError]:
    errors: list[FieldError] = []
    if not EMAIL_RE.match(email.strip()):
        errors.append(FieldError("email", "invalid_email", "not a valid email address"))
    errors.extend(password_errors(password, email=email, policy=policy))
    if not display_name.strip():
        errors.append(FieldError("display_name", "required", "display name is required"))
    for role in roles:
        if role not in Role._value2member_map_:
            errors.append(FieldError("roles", "unknown_role", f"unknown role {role!r}"))
    return errors


async def create_user(
    session: AsyncSession,
    email: str,
    password: str,
    display_name: str,
    roles: list[str],
    *,
    policy: PasswordPolicy = DEFAULT_POLICY,
    must_change_password: bool = False,
) -> sa.Row[Any]:
    """`must_change_password`: the user chooses their own password at first sign-in (set for users
    an admin creates; not for the tenant's first admin, who chose theirs at sign-up)."""
    errors = validate_new_user(email, password, display_name, roles, policy)
    if errors:
        raise InvalidInput(errors)
    password_hash = await hash_password(password)
    try:
        async with session.begin_nested():
            row = (
                await session.execute(
                    sa.insert(users)
                    .values(
                        id=new_id(),
                        email=email.strip().lower(),
                        password_hash=password_hash,
                        display_name=display_name.strip(),
                        roles=roles or [Role.SALES_REP.value],
                        must_change_password=must_change_password,
                    )
                    .returning(users)
                )
            ).one()
    except IntegrityError:
        raise Conflict("a user with this email exists", code="email_taken") from None
    return row


async def authenticate(session: AsyncSession, email: str, password: str) -> sa.Row[Any] | None:
    """The user if the password matches, else None (same work either way)."""
    row = (
        await session.execute(
            sa.select(users).where(sa.func.lower(users.c.email) == email.strip().lower(), users.c.disabled.is_(False))
        )
    ).first()
    candidate_hash = row.password_hash if row is not None else _DUMMY_HASH
    try:
        await asyncio.to_thread(_hasher.verify, candidate_hash, password)
    except (VerificationError, InvalidHashError):
        return None
    return row


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_hasher.hash, password)


async def password_matches(password_hash: str, password: str) -> bool:
    try:
        return bool(await asyncio.to_thread(_hasher.verify, password_hash, password))
    except (VerificationError, InvalidHashError):
        return False


async def authenticate_nobody(password: str) -> None:
    """Spends the same time as a real check, for an unknown company."""
    with contextlib.suppress(VerificationError, InvalidHashError):
        await asyncio.to_thread(_hasher.verify, _DUMMY_HASH, password)


async def list_users(session: AsyncSession, limit: int, after: uuid.UUID | None) -> list[sa.Row[Any]]:
    query = sa.select(users).order_by(users.c.id).limit(limit)
    if after is not None:
        query = query.where(users.c.id > after)
    return list((await session.execute(query)).all())
