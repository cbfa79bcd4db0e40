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

from crm_identity.tables import teams, users
from crm_identity.users.passwords import DEFAULT_POLICY, PasswordPolicy, password_errors
from crm_identity.users.roles import Role
from crm_platform import outbox
from crm_platform.errors import Conflict, FieldError, InvalidInput, NotFound, PreconditionFailed
from crm_platform.events import proto_data
from crm_platform.ids import new_id
from crm_proto.crm.events.v1 import events_pb2

EVENT_SOURCE = "crm.identity"

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
        # Custom roles are ids (their existence is checked by roles.service.check_assignable).
        if role not in Role._value2member_map_ and not _is_uuid(role):
            errors.append(FieldError("roles", "unknown_role", f"unknown role {role!r}"))
    return errors


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except (ValueError, AttributeError, TypeError):
        return False
    return True


async def create_user(
    session: AsyncSession,
    email: str,
    password: str,
    display_name: str,
    roles: list[str],
    *,
    policy: PasswordPolicy = DEFAULT_POLICY,
    must_change_password: bool = False,
    team_id: uuid.UUID | None = None,
    tenant_id: uuid.UUID | str | None = None,
) -> sa.Row[Any]:
    """`tenant_id`: when given, `crm.<tenant>.user.created` is added to the outbox (customers keeps
    each user's team for data scopes). `must_change_password`: the user chooses their own password at
    first sign-in (set for users an admin creates; not for the tenant's first admin, who chose theirs at sign-up)."""
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
                        team_id=team_id,
                    )
                    .returning(users)
                )
            ).one()
    except IntegrityError:
        raise Conflict("a user with this email exists", code="email_taken") from None
    if tenant_id is not None:
        await _user_event(session, tenant_id, "created", row)
    return row


async def _user_event(session: AsyncSession, tenant_id: uuid.UUID | str, verb: str, row: sa.Row[Any]) -> None:
    """`user.created` / `user.updated`: id, team, roles and version (consumers keep the newest)."""
    message = events_pb2.UserCreated if verb == "created" else events_pb2.UserUpdated
    data = proto_data(message(user_id=str(row.id), team_id=str(row.team_id or ""), roles=list(row.roles),
                              version=row.version))
    await outbox.add_event(session, source=EVENT_SOURCE, tenant_id=tenant_id, aggregate="user", verb=verb,
                           data=data, subject_id=str(row.id))


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


async def get_user(session: AsyncSession, user_id: str, *, lock: bool = False) -> sa.Row[Any]:
    parsed = uuid.UUID(user_id) if _is_uuid(user_id) else None
    row = None
    if parsed is not None:
        query = sa.select(users).where(users.c.id == parsed)
        row = (await session.execute(query.with_for_update() if lock else query)).first()
    if row is None:
        raise NotFound("user not found")
    return row


async def update_user(
    session: AsyncSession, user_id: str, changes: dict[str, Any], expected_version: int,
    tenant_id: uuid.UUID | str | None = None,
) -> sa.Row[Any]:
    """Changes display name, roles (already checked by the caller) and team; `expected_version`
    (If-Match) must be the current one. With `tenant_id`, `user.updated` goes to the outbox."""
    row = await get_user(session, user_id, lock=True)
    if expected_version != row.version:
        raise PreconditionFailed("the user was changed by someone else", code="stale_version",
                                 extra={"current_version": row.version})
    values: dict[str, Any] = {}
    errors: list[FieldError] = []
    if "display_name" in changes:
        name = str(changes["display_name"]).strip()
        if not name or len(name) > 100:
            errors.append(FieldError("display_name", "required", "1 to 100 characters"))
        values["display_name"] = name
    if "roles" in changes:
        values["roles"] = list(changes["roles"])
    if "team_id" in changes:
        values["team_id"] = await team_reference(session, changes["team_id"], errors)
    if errors:
        raise InvalidInput(errors)
    updated = (
        await session.execute(
            sa.update(users).where(users.c.id == row.id)
            .values(**values, version=row.version + 1, updated_at=sa.func.now())
            .returning(users)
        )
    ).one()
    if tenant_id is not None:
        await _user_event(session, tenant_id, "updated", updated)
    return updated


async def team_reference(session: AsyncSession, raw: str, errors: list[FieldError]) -> uuid.UUID | None:
    """A team id from a request ("" = no team) that must name an existing team."""
    if not raw:
        return None
    parsed = uuid.UUID(raw) if _is_uuid(raw) else None
    if parsed is None or (await session.execute(sa.select(teams.c.id).where(teams.c.id == parsed))).first() is None:
        errors.append(FieldError("team_id", "not_found", "no such team"))
    return parsed
