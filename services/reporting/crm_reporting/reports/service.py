"""Saved reports (reporting's Postgres `saved_reports`, migration r0150): who may see, change and
share a definition. Running one is engine.py; a viewer always runs it under their own data scope and
field policies, whoever saved it.

Visibility: `private` (the owner only), `team` (the owner and the members of one team: the viewer's
own team from `user_teams`, or a team their token sees with data scope `team`, i.e. a manager's
sub-teams), `tenant` (everyone with `reports:read`). Sharing tenant-wide needs `reports:manage`;
sharing with a team needs membership of that team (or `reports:manage`). Someone who may not see a
report gets 404, never 403, so report ids reveal nothing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from crm_platform.auth import Principal, Scope
from crm_platform.errors import FieldError, InvalidInput, NotFound, PermissionDenied, PreconditionFailed
from crm_platform.ids import new_id
from crm_reporting.reports.definition import Definition, check_definition
from crm_reporting.scope.tables import saved_reports, user_teams

VISIBILITIES: Final = ("private", "team", "tenant")
MAX_NAME: Final = 200
MAX_DESCRIPTION: Final = 2000
MAX_REPORTS_LISTED: Final = 1000


@dataclass(frozen=True)
class SavedReport:
    id: uuid.UUID
    name: str
    description: str
    definition: Definition
    visibility: str
    team_id: uuid.UUID | None
    owner_id: str
    template: str
    version: int
    created_at: datetime
    updated_at: datetime
    editable: bool


def _check_text(name: str, description: str) -> list[FieldError]:
    errors = []
    if not name.strip():
        errors.append(FieldError("name", "required", "a report needs a name"))
    elif len(name) > MAX_NAME:
        errors.append(FieldError("name", "too_long", f"at most {MAX_NAME} characters"))
    if len(description) > MAX_DESCRIPTION:
        errors.append(FieldError("description", "too_long", f"at most {MAX_DESCRIPTION} characters"))
    return errors


def _manages(principal: Principal) -> bool:
    return Scope.REPORTS_MANAGE.value in principal.scopes


class SavedReportService:
    async def my_teams(self, session: AsyncSession, principal: Principal) -> set[uuid.UUID]:
        """The teams whose shared reports the caller sees: their own team and the token's teams."""
        teams = set()
        for team in principal.team_ids:
            try:
                teams.add(uuid.UUID(team))
            except ValueError:
                continue
        if principal.user_id is not None:
            own = (await session.execute(
                sa.select(user_teams.c.team_id).where(user_teams.c.user_id == principal.user_id)
            )).scalar_one_or_none()
            if own is not None:
                teams.add(own)
        return teams

    def _from_row(self, row: Any, principal: Principal) -> SavedReport:
        owner = str(row.owner_id)
        editable = owner == principal.actor or (row.visibility != "private" and _manages(principal))
        return SavedReport(
            id=row.id, name=row.name, description=row.description, definition=check_definition(row.definition),
            visibility=row.visibility, team_id=row.team_id, owner_id=owner, template=row.template,
            version=int(row.version), created_at=row.created_at, updated_at=row.updated_at, editable=editable,
        )

    def _visible(self, principal: Principal, teams: set[uuid.UUID]) -> sa.ColumnElement[bool]:
        c = saved_reports.c
        return sa.or_(c.owner_id == principal.actor, c.visibility == "tenant",
                      sa.and_(c.visibility == "team", c.team_id.in_(teams or {uuid.UUID(int=0)})))

    async def visible(self, session: AsyncSession, principal: Principal) -> list[SavedReport]:
        teams = await self.my_teams(session, principal)
        rows = (await session.execute(
            sa.select(saved_reports).where(self._visible(principal, teams))
            .order_by(saved_reports.c.updated_at.desc(), saved_reports.c.id).limit(MAX_REPORTS_LISTED)
        )).all()
        return [self._from_row(r, principal) for r in rows]

    async def get(self, session: AsyncSession, principal: Principal, report_id: str, *,
                  for_update: bool = False) -> SavedReport:
        try:
            ident = uuid.UUID(report_id)
        except ValueError:
            raise NotFound("no such report") from None
        teams = await self.my_teams(session, principal)
        query = sa.select(saved_reports).where(saved_reports.c.id == ident, self._visible(principal, teams))
        row = (await session.execute(query.with_for_update() if for_update else query)).first()
        if row is None:
            raise NotFound("no such report")
        return self._from_row(row, principal)

    async def _check_sharing(self, session: AsyncSession, principal: Principal, visibility: str,
                             team_id: str) -> uuid.UUID | None:
        if visibility not in VISIBILITIES:
            raise InvalidInput([FieldError("visibility", "invalid_choice", "private, team or tenant")])
        if visibility == "tenant":
            if not _manages(principal):
                raise PermissionDenied("sharing a report tenant-wide needs reports:manage", code="manage_required",
                                       extra={"missing_scopes": [Scope.REPORTS_MANAGE.value]})
            return None
        if visibility == "private":
            if team_id:
                raise InvalidInput([FieldError("team_id", "not_allowed", "team_id goes with visibility team")])
            return None
        teams = await self.my_teams(session, principal)
        if not team_id:
            if principal.user_id is None:
                raise InvalidInput([FieldError("team_id", "required", "the team to share with")])
            own = (await session.execute(
                sa.select(user_teams.c.team_id).where(user_teams.c.user_id == principal.user_id)
            )).scalar_one_or_none()
            if own is None:
                raise InvalidInput([FieldError("team_id", "required", "you are in no team: name the team")])
            return own
        try:
            team = uuid.UUID(team_id)
        except ValueError:
            raise InvalidInput([FieldError("team_id", "invalid_id", "a UUID")]) from None
        if team not in teams and not _manages(principal):
            raise PermissionDenied("you may share only with your own team", code="not_your_team")
        return team

    async def create(self, session: AsyncSession, principal: Principal, *, name: str, description: str,
                     definition: Any, visibility: str, team_id: str, template: str = "") -> SavedReport:
        errors = _check_text(name, description)
        try:
            checked = check_definition(definition)
        except InvalidInput as exc:
            errors += [FieldError(f"definition.{e.field}", e.code, e.message) for e in exc.errors]
            checked = None
        if errors or checked is None:
            raise InvalidInput(errors)
        team = await self._check_sharing(session, principal, visibility or "private", team_id)
        now = datetime.now(UTC)
        ident = new_id()
        await session.execute(sa.insert(saved_reports).values(
            id=ident, name=name.strip(), description=description, definition=checked.as_json(),
            visibility=visibility or "private", team_id=team, owner_id=principal.actor, template=template,
            version=1, created_at=now, updated_at=now, updated_by=principal.actor,
        ))
        return await self.get(session, principal, str(ident))

    async def update(self, session: AsyncSession, principal: Principal, report_id: str, mask: list[str], *,
                     name: str, description: str, definition: Any, visibility: str, team_id: str,
                     expected_version: int) -> SavedReport:
        current = await self.get(session, principal, report_id, for_update=True)
        if not current.editable:
            raise PermissionDenied("only the owner (or reports:manage for a shared report) may change it",
                                   code="not_editable")
        if expected_version and expected_version != current.version:
            raise PreconditionFailed("the report changed since you read it", code="version_mismatch",
                                     extra={"version": current.version})
        unknown = [m for m in mask if m not in ("name", "description", "definition", "visibility")]
        if unknown:
            raise InvalidInput([FieldError("update_mask", "unknown_field", f"cannot change {', '.join(unknown)}")])
        values: dict[str, Any] = {}
        errors = _check_text(name if "name" in mask else current.name,
                             description if "description" in mask else current.description)
        if "definition" in mask:
            try:
                values["definition"] = check_definition(definition).as_json()
            except InvalidInput as exc:
                errors += [FieldError(f"definition.{e.field}", e.code, e.message) for e in exc.errors]
        if errors:
            raise InvalidInput(errors)
        if "name" in mask:
            values["name"] = name.strip()
        if "description" in mask:
            values["description"] = description
        if "visibility" in mask:
            values["team_id"] = await self._check_sharing(session, principal, visibility or "private", team_id)
            values["visibility"] = visibility or "private"
        if values:
            await session.execute(
                sa.update(saved_reports).where(saved_reports.c.id == current.id)
                .values(**values, version=saved_reports.c.version + 1, updated_at=datetime.now(UTC),
                        updated_by=principal.actor)
            )
        return await self.get(session, principal, report_id)

    async def delete(self, session: AsyncSession, principal: Principal, report_id: str) -> SavedReport:
        current = await self.get(session, principal, report_id, for_update=True)
        if not current.editable:
            raise PermissionDenied("only the owner (or reports:manage for a shared report) may delete it",
                                   code="not_editable")
        await session.execute(sa.delete(saved_reports).where(saved_reports.c.id == current.id))
        return current


saved_report_service = SavedReportService()
