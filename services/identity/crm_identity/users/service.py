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

from crm_identity.audit import log as audit
from crm_identity.roles.service import load_access
from crm_identity.sessions import service as sign_in_sessions
from crm_identity.tables import teams, users
from crm_identity.users.passwords import DEFAULT_POLICY, PasswordPolicy, password_errors
from crm_identity.users.roles import Role
from crm_platform import outbox
from crm_platform.auth import Principal
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
    email: str, password: str | None, display_name: str, roles: list[str], policy: PasswordPolicy = DEFAULT_POLICY
) -> list[FieldError]:
    """`password` None: an invited user, who chooses one on the accept page (invitations/)."""
    errors: list[FieldError] = []
    if not EMAIL_RE.match(email.strip()):
        errors.append(FieldError("email", "invalid_email", "not a valid email address"))
    if password is not None:
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
    password: str | None,
    display_name: str,
    roles: list[str],
    *,
    policy: PasswordPolicy = DEFAULT_POLICY,
    must_change_password: bool = False,
    team_id: uuid.UUID | None = None,
    tenant_id: uuid.UUID | str | None = None,
    status: str = "active",
) -> sa.Row[Any]:
    """`password` None with `status="invited"`: no usable password (the dummy hash of a random
    secret nobody knows) until the invitation is accepted.
    `tenant_id`: when given, `crm.<tenant>.user.created` is added to the outbox (customers keeps
    each user's team for data scopes). `must_change_password`: the user chooses their own password at
    first sign-in (set for users an admin creates; not for the tenant's first admin, who chose theirs at sign-up)."""
    errors = validate_new_user(email, password, display_name, roles, policy)
    if errors:
        raise InvalidInput(errors)
    # No password yet: the dummy hash (of a random secret nobody knows) verifies as slowly as a real one.
    password_hash = await hash_password(password) if password is not None else _DUMMY_HASH
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
                        status=status,
                    )
                    .returning(users)
                )
            ).one()
    except IntegrityError:
        raise Conflict("a user with this email exists", code="email_taken") from None
    if tenant_id is not None:
        await user_event(session, tenant_id, "created", row)
    return row


def user_event_data(verb: str, row: Any, access: Any = None,
                    team_manager: uuid.UUID | bool | None = False) -> dict[str, Any]:
    """`user.created` / `user.updated` data: id, team, roles, name, disabled and version (consumers
    keep the newest), the effective access when given (roles/access.py `Access`), and the manager
    of the user's team when given (`team_manager`: an id or None for none; False: not told). Also
    used by migration it0007, which announces every existing user once."""
    message = events_pb2.UserCreated if verb == "created" else events_pb2.UserUpdated
    extra: dict[str, Any] = {}
    if access is not None:
        extra = {"access_known": True, "access_scopes": sorted(access.scopes), "data_scope": access.data_scope,
                 "team_ids": list(access.team_ids), "field_policies": dict(access.field_policies)}
    if team_manager is not False:
        extra.update(team_manager_known=True, team_manager_id=str(team_manager or ""))
    return proto_data(message(user_id=str(row.id), team_id=str(row.team_id or ""), roles=list(row.roles),
                              version=row.version, display_name=row.display_name, disabled=bool(row.disabled),
                              email=str(getattr(row, "email", "") or ""), locale=str(getattr(row, "locale", "") or ""),
                              time_zone=str(getattr(row, "time_zone", "") or ""), **extra))


async def user_event(session: AsyncSession, tenant_id: uuid.UUID | str, verb: str, row: sa.Row[Any]) -> None:
    access = await load_access(session, row)
    manager = None
    if row.team_id is not None:
        manager = (await session.execute(sa.select(teams.c.manager_id).where(teams.c.id == row.team_id))).scalar()
    await outbox.add_event(session, source=EVENT_SOURCE, tenant_id=tenant_id, aggregate="user", verb=verb,
                           data=user_event_data(verb, row, access, manager), subject_id=str(row.id))


async def announce_team(session: AsyncSession, tenant_id: uuid.UUID | str, team_id: uuid.UUID) -> None:
    """A team's manager changed: its members' events carry the new one (a new version each)."""
    query = (sa.update(users).where(users.c.team_id == team_id)
             .values(version=users.c.version + 1, updated_at=sa.func.now()).returning(users))
    for row in (await session.execute(query)).all():
        await user_event(session, tenant_id, "updated", row)


async def announce_access(session: AsyncSession, tenant_id: uuid.UUID | str, role_id: str | None = None) -> None:
    """A role's definition (`role_id`) or the team tree (None: every user) changed: the holders'
    effective access did too, so each gets a new version and `user.updated` with it."""
    query = sa.update(users).values(version=users.c.version + 1, updated_at=sa.func.now()).returning(users)
    if role_id is not None:
        query = query.where(users.c.roles.any(role_id))
    for row in (await session.execute(query)).all():
        await user_event(session, tenant_id, "updated", row)


async def set_disabled(session: AsyncSession, tenant_id: uuid.UUID | str, user_id: uuid.UUID, disabled: bool) -> None:
    """Disables or enables a user outside `update_user` (invitations revoke, resend and accept):
    when the flag really changes, the version goes up and `user.updated` goes to the outbox, so
    customers stops (or starts again) offering the user as an owner."""
    row = (await session.execute(
        sa.update(users).where(users.c.id == user_id, users.c.disabled.is_distinct_from(disabled))
        .values(disabled=disabled, version=users.c.version + 1, updated_at=sa.func.now())
        .returning(users)
    )).first()
    if row is not None:
        await user_event(session, tenant_id, "updated", row)


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
    tenant_id: uuid.UUID | str | None = None, actor: Principal | None = None,
) -> sa.Row[Any]:
    """Changes display name, roles (already checked by the caller), team and whether the user is
    disabled; `expected_version` (If-Match) must be the current one. With `tenant_id`, `user.updated`
    goes to the outbox. The last active tenant admin can be neither disabled nor lose `tenant_admin`
    (409 `last_tenant_admin`). Disabling revokes the user's sessions. With `actor`, audited
    (`user.updated`, or `user.disabled` / `user.enabled`) with each changed field's old and new value."""
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
    if "disabled" in changes:
        values["disabled"] = bool(changes["disabled"])
    if errors:
        raise InvalidInput(errors)
    await _keep_an_admin(session, row, values)
    updated = (
        await session.execute(
            sa.update(users).where(users.c.id == row.id)
            .values(**values, version=row.version + 1, updated_at=sa.func.now())
            .returning(users)
        )
    ).one()
    if tenant_id is not None:
        await user_event(session, tenant_id, "updated", updated)
    if actor is not None:
        if updated.disabled and not row.disabled:
            await sign_in_sessions.revoke_all(session, None, actor.tenant_id, row.id, sign_in_sessions.USER_DISABLED)
        await _audit_update(session, actor, row, updated, values)
    return updated


def _active_admin(disabled: bool, roles: list[str]) -> bool:
    return not disabled and Role.TENANT_ADMIN.value in roles


async def _keep_an_admin(session: AsyncSession, row: sa.Row[Any], values: dict[str, Any]) -> None:
    """Refuses a change that would leave the tenant without an active tenant admin (not disabled, not
    an invitation still pending). The other active admins are locked, so two admins demoting each
    other at once cannot both succeed."""
    if getattr(row, "status", "active") != "active" or not _active_admin(row.disabled, list(row.roles)):
        return
    if _active_admin(values.get("disabled", row.disabled), list(values.get("roles", row.roles))):
        return
    others = (await session.execute(
        sa.select(users.c.id)
        .where(users.c.id != row.id, users.c.disabled.is_(False), users.c.status == "active",
               users.c.roles.any(Role.TENANT_ADMIN.value))
        .with_for_update()
    )).all()
    if not others:
        raise Conflict("the tenant's last active admin cannot be disabled or lose the admin role",
                       code="last_tenant_admin")


async def _audit_update(session: AsyncSession, actor: Principal, old: sa.Row[Any], new: sa.Row[Any],
                        values: dict[str, Any]) -> None:
    changed: dict[str, Any] = {}
    for name in values:
        before, after = getattr(old, name), getattr(new, name)
        if isinstance(before, list | tuple) or isinstance(after, list | tuple):
            before, after = list(before or []), list(after or [])
        elif isinstance(before, uuid.UUID) or isinstance(after, uuid.UUID):
            before, after = str(before or ""), str(after or "")
        if before != after:
            changed[name] = {"old": before, "new": after}
    if not changed:
        return
    action = audit.USER_UPDATED
    if "disabled" in changed:
        action = audit.USER_DISABLED if new.disabled else audit.USER_ENABLED
    await audit.record_by(session, actor, action, target_type="user", target_id=str(old.id),
                          details={"changes": changed, "email": old.email})


async def team_reference(session: AsyncSession, raw: str, errors: list[FieldError]) -> uuid.UUID | None:
    """A team id from a request ("" = no team) that must name an existing team."""
    if not raw:
        return None
    parsed = uuid.UUID(raw) if _is_uuid(raw) else None
    if parsed is None or (await session.execute(sa.select(teams.c.id).where(teams.c.id == parsed))).first() is None:
        errors.append(FieldError("team_id", "not_found", "no such team"))
    return parsed
