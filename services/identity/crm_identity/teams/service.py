"""Teams: a tree (parent_id) with an optional manager each. A user belongs to at most one team
(users.team_id); a sales manager's data scope `team` covers their team and every team below it."""

from __future__ import annotations

import uuid
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from crm_identity.roles.access import team_descendants
from crm_identity.tables import teams, users
from crm_platform.errors import Conflict, FieldError, InvalidInput, NotFound, PreconditionFailed
from crm_platform.ids import new_id

MAX_NAME: Final = 100
MAX_TEAMS: Final = 2000


def _uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except (ValueError, AttributeError, TypeError):
        return None


async def list_teams(session: AsyncSession) -> list[sa.Row[Any]]:
    query = sa.select(teams).order_by(teams.c.name, teams.c.id).limit(MAX_TEAMS)
    return list((await session.execute(query)).all())


async def get_team(session: AsyncSession, team_id: str, *, lock: bool = False) -> sa.Row[Any]:
    parsed = _uuid(team_id)
    row = None
    if parsed is not None:
        query = sa.select(teams).where(teams.c.id == parsed)
        row = (await session.execute(query.with_for_update() if lock else query)).first()
    if row is None:
        raise NotFound("team not found")
    return row


async def _reference(session: AsyncSession, table: sa.Table, raw: str, field: str,
                     errors: list[FieldError]) -> uuid.UUID | None:
    """An id sent in a body that must name an existing row ("" = none)."""
    if not raw:
        return None
    parsed = _uuid(raw)
    found = parsed is not None and (
        await session.execute(sa.select(table.c.id).where(table.c.id == parsed))
    ).first() is not None
    if not found:
        errors.append(FieldError(field, "not_found", f"no such {'team' if table is teams else 'user'}"))
    return parsed


def _name_errors(values: dict[str, Any], errors: list[FieldError]) -> None:
    if "name" in values:
        name = str(values["name"]).strip()
        if not name or len(name) > MAX_NAME:
            errors.append(FieldError("name", "required" if not name else "too_long", "1 to 100 characters"))
        values["name"] = name


async def create_team(session: AsyncSession, values: dict[str, Any]) -> sa.Row[Any]:
    errors: list[FieldError] = []
    if "name" not in values:
        errors.append(FieldError("name", "required", "name is required"))
    _name_errors(values, errors)
    parent = await _reference(session, teams, values.get("parent_id", ""), "parent_id", errors)
    manager = await _reference(session, users, values.get("manager_id", ""), "manager_id", errors)
    if errors:
        raise InvalidInput(errors)
    return (
        await session.execute(
            sa.insert(teams)
            .values(id=new_id(), name=values["name"], parent_id=parent, manager_id=manager)
            .returning(teams)
        )
    ).one()


async def update_team(
    session: AsyncSession, team_id: str, values: dict[str, Any], expected_version: int
) -> sa.Row[Any]:
    row = await get_team(session, team_id, lock=True)
    if expected_version and expected_version != row.version:
        raise PreconditionFailed("the team was changed by someone else", code="stale_version",
                                 extra={"current_version": row.version})
    errors: list[FieldError] = []
    _name_errors(values, errors)
    changes: dict[str, Any] = {}
    if "name" in values:
        changes["name"] = values["name"]
    if "parent_id" in values:
        changes["parent_id"] = await _reference(session, teams, values["parent_id"], "parent_id", errors)
        if changes["parent_id"] is not None:
            parents = {str(r.id): str(r.parent_id) if r.parent_id else None
                       for r in (await session.execute(sa.select(teams.c.id, teams.c.parent_id))).all()}
            if str(changes["parent_id"]) in team_descendants(parents, str(row.id)):
                errors.append(FieldError("parent_id", "team_cycle", "a team cannot sit below itself"))
    if "manager_id" in values:
        changes["manager_id"] = await _reference(session, users, values["manager_id"], "manager_id", errors)
    if errors:
        raise InvalidInput(errors)
    return (
        await session.execute(
            sa.update(teams).where(teams.c.id == row.id)
            .values(**changes, version=row.version + 1, updated_at=sa.func.now())
            .returning(teams)
        )
    ).one()


async def delete_team(session: AsyncSession, team_id: str) -> sa.Row[Any]:
    row = await get_team(session, team_id, lock=True)
    children = (await session.execute(sa.select(sa.func.count()).where(teams.c.parent_id == row.id))).scalar_one()
    members = (await session.execute(sa.select(sa.func.count()).where(users.c.team_id == row.id))).scalar_one()
    if children or members:
        raise Conflict("the team still has sub-teams or members", code="team_not_empty",
                       extra={"sub_teams": children, "members": members})
    await session.execute(sa.delete(teams).where(teams.c.id == row.id))
    return row


async def member_counts(session: AsyncSession) -> dict[str, int]:
    rows = (
        await session.execute(
            sa.select(users.c.team_id, sa.func.count()).where(users.c.team_id.is_not(None)).group_by(users.c.team_id)
        )
    ).all()
    return {str(team): count for team, count in rows}
