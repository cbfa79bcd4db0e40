"""Roles as stored and served: built-in roles (read-only, defined in code) and the tenant's custom
roles (scopes from the catalogue, a data scope, field policies); which roles a caller may assign;
a user's effective access, which identity puts into the access token."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from crm_identity.roles.access import BUILTIN_ROLES, Access, RoleDef, effective_access, field_policy_errors
from crm_identity.tables import roles as roles_table
from crm_identity.tables import teams as teams_table
from crm_identity.tables import users as users_table
from crm_platform.auth import DATA_SCOPES, TENANT_SCOPES, Principal
from crm_platform.errors import Conflict, FieldError, InvalidInput, NotFound, PermissionDenied, PreconditionFailed
from crm_platform.ids import new_id

MAX_NAME: Final = 100
MAX_DESCRIPTION: Final = 500
BUILTIN_DESCRIPTIONS: Final[dict[str, str]] = {
    "tenant_admin": "Everything in the tenant",
    "sales_manager": "Customers, tags, follow-ups and reports of the manager's team",
    "sales_rep": "Own customers and follow-ups",
    "customer_service": "All customers without spend figures; follow-ups",
}


@dataclass(frozen=True)
class RoleView:
    id: str
    name: str
    description: str
    builtin: bool
    scopes: list[str]
    data_scope: str
    field_policies: dict[str, str] = field(default_factory=dict)
    version: int = 0
    created_at: datetime | None = None
    updated_at: datetime | None = None


def _builtin_view(role_id: str) -> RoleView:
    role = BUILTIN_ROLES[role_id]
    return RoleView(role_id, role_id, BUILTIN_DESCRIPTIONS[role_id], True, sorted(role.scopes), role.data_scope,
                    dict(role.field_policies))


def _view(row: sa.Row[Any]) -> RoleView:
    return RoleView(str(row.id), row.name, row.description, False, sorted(row.scopes), row.data_scope,
                    dict(row.field_policies), row.version, row.created_at, row.updated_at)


def _custom_id(role_id: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(role_id)
    except (ValueError, AttributeError, TypeError):
        return None


def _stale(version: int) -> PreconditionFailed:
    return PreconditionFailed("the role was changed by someone else", code="stale_version",
                              extra={"current_version": version})


def _builtin_readonly() -> Conflict:
    return Conflict("built-in roles cannot be changed", code="builtin_role_readonly")


async def list_roles(session: AsyncSession) -> list[RoleView]:
    rows = (await session.execute(sa.select(roles_table).order_by(roles_table.c.name))).all()
    return [_builtin_view(r) for r in BUILTIN_ROLES] + [_view(r) for r in rows]


async def _row(session: AsyncSession, role_id: str, *, lock: bool = False) -> sa.Row[Any]:
    custom = _custom_id(role_id)
    if custom is None:
        raise NotFound("role not found")
    query = sa.select(roles_table).where(roles_table.c.id == custom)
    row = (await session.execute(query.with_for_update() if lock else query)).first()
    if row is None:
        raise NotFound("role not found")
    return row


async def get_role(session: AsyncSession, role_id: str) -> RoleView:
    if role_id in BUILTIN_ROLES:
        return _builtin_view(role_id)
    return _view(await _row(session, role_id))


def _role_errors(values: Mapping[str, Any]) -> list[FieldError]:
    errors: list[FieldError] = []
    if "name" in values:
        name = str(values["name"]).strip()
        if not name:
            errors.append(FieldError("name", "required", "name is required"))
        elif len(name) > MAX_NAME or name in BUILTIN_ROLES:
            errors.append(FieldError("name", "invalid_name", "too long or the name of a built-in role"))
    if "description" in values and len(str(values["description"])) > MAX_DESCRIPTION:
        errors.append(FieldError("description", "too_long", f"at most {MAX_DESCRIPTION} characters"))
    if "scopes" in values:
        allowed = {s.value for s in TENANT_SCOPES}
        if not values["scopes"]:
            errors.append(FieldError("scopes", "required", "a role needs at least one permission"))
        for scope in values["scopes"]:
            if scope not in allowed:
                errors.append(FieldError("scopes", "invalid_scope", f"unknown permission {scope!r}"))
    if "data_scope" in values and values["data_scope"] not in DATA_SCOPES:
        errors.append(FieldError("data_scope", "invalid_data_scope", "own, team or all"))
    return errors


def _check_grantable(caller: Principal, scopes: set[str]) -> None:
    """Nobody hands out permissions they do not hold themselves (no escalation through roles)."""
    beyond = sorted(scopes - caller.scopes)
    if beyond:
        raise PermissionDenied(f"cannot grant permissions you do not hold: {' '.join(beyond)}",
                               code="grant_exceeds_own", extra={"missing_scopes": beyond})


async def create_role(session: AsyncSession, caller: Principal, values: dict[str, Any]) -> RoleView:
    values = {"description": "", "data_scope": "own", **values}
    errors = _role_errors(values)
    if "name" not in values:
        errors.append(FieldError("name", "required", "name is required"))
    if "scopes" not in values:
        errors.append(FieldError("scopes", "required", "a role needs at least one permission"))
    if errors:
        raise InvalidInput(errors)
    _check_grantable(caller, set(values["scopes"]))
    try:
        async with session.begin_nested():
            row = (
                await session.execute(
                    sa.insert(roles_table)
                    .values(id=new_id(), name=str(values["name"]).strip(), description=values["description"],
                            scopes=sorted(set(values["scopes"])), data_scope=values["data_scope"], field_policies={})
                    .returning(roles_table)
                )
            ).one()
    except IntegrityError:
        raise Conflict("a role with this name exists", code="role_name_taken") from None
    return _view(row)


async def update_role(
    session: AsyncSession, caller: Principal, role_id: str, values: dict[str, Any], expected_version: int
) -> RoleView:
    if role_id in BUILTIN_ROLES:
        raise _builtin_readonly()
    errors = _role_errors(values)
    if errors:
        raise InvalidInput(errors)
    row = await _row(session, role_id, lock=True)
    if expected_version and expected_version != row.version:
        raise _stale(row.version)
    if "scopes" in values:
        _check_grantable(caller, set(values["scopes"]))
        values["scopes"] = sorted(set(values["scopes"]))
    if "name" in values:
        values["name"] = str(values["name"]).strip()
    return await _write(session, row, values)


async def _write(session: AsyncSession, row: sa.Row[Any], values: dict[str, Any]) -> RoleView:
    try:
        async with session.begin_nested():
            updated = (
                await session.execute(
                    sa.update(roles_table)
                    .where(roles_table.c.id == row.id)
                    .values(**values, version=row.version + 1, updated_at=sa.func.now())
                    .returning(roles_table)
                )
            ).one()
    except IntegrityError:
        raise Conflict("a role with this name exists", code="role_name_taken") from None
    return _view(updated)


async def set_field_policies(
    session: AsyncSession, role_id: str, policies: dict[str, str], expected_version: int
) -> RoleView:
    if role_id in BUILTIN_ROLES:
        raise _builtin_readonly()
    errors = [FieldError(*e) for e in field_policy_errors(policies)]
    if errors:
        raise InvalidInput(errors)
    row = await _row(session, role_id, lock=True)
    if expected_version and expected_version != row.version:
        raise _stale(row.version)
    # read_write is the default: storing it would only make the claim longer.
    return await _write(session, row, {"field_policies": {k: v for k, v in policies.items() if v != "read_write"}})


async def delete_role(session: AsyncSession, role_id: str) -> RoleView:
    if role_id in BUILTIN_ROLES:
        raise _builtin_readonly()
    row = await _row(session, role_id, lock=True)
    in_use = (
        await session.execute(sa.select(sa.func.count()).where(users_table.c.roles.any(str(row.id))))
    ).scalar_one()
    if in_use:
        raise Conflict("the role is assigned to users", code="role_in_use", extra={"users": in_use})
    await session.execute(sa.delete(roles_table).where(roles_table.c.id == row.id))
    return _view(row)


async def role_defs(session: AsyncSession, role_ids: list[str]) -> list[RoleDef]:
    """The definitions of these roles; ids that name no role are skipped."""
    defs = [BUILTIN_ROLES[r] for r in role_ids if r in BUILTIN_ROLES]
    custom = [c for c in (_custom_id(r) for r in role_ids if r not in BUILTIN_ROLES) if c is not None]
    if custom:
        rows = (await session.execute(sa.select(roles_table).where(roles_table.c.id.in_(custom)))).all()
        defs += [RoleDef(str(r.id), frozenset(r.scopes), r.data_scope, dict(r.field_policies)) for r in rows]
    return defs


async def check_assignable(session: AsyncSession, caller: Principal, role_ids: list[str]) -> list[str]:
    """The role ids, deduplicated, if they all exist and grant nothing the caller lacks."""
    wanted = list(dict.fromkeys(role_ids))
    if not wanted:
        raise InvalidInput([FieldError("roles", "required", "a user needs at least one role")])
    defs = await role_defs(session, wanted)
    unknown = set(wanted) - {d.id for d in defs}
    if unknown:
        raise InvalidInput([FieldError("roles", "unknown_role", f"unknown role {r!r}") for r in sorted(unknown)])
    _check_grantable(caller, {s for d in defs for s in d.scopes})
    return wanted


async def load_access(session: AsyncSession, user: sa.Row[Any]) -> Access:
    """What the user's token carries: scopes, data scope, visible teams, field policies."""
    defs = await role_defs(session, list(user.roles))
    team_id = str(user.team_id) if user.team_id else None
    parents: dict[str, str | None] = {}
    if team_id is not None and any(d.data_scope == "team" for d in defs):
        rows = (await session.execute(sa.select(teams_table.c.id, teams_table.c.parent_id))).all()
        parents = {str(r.id): str(r.parent_id) if r.parent_id else None for r in rows}
    return effective_access(defs, team_id, parents)
