"""User import: validate every row of an uploaded file (dry run: nothing is written), then, only when
every row is valid, create and invite the users as a job (`identity.user_import`).

The import's validated rows are stored with it (`user_import_rows`). The job takes rows without a
`user_id` in batches (`FOR UPDATE SKIP LOCKED`); each batch's users, invitations, row marks and
progress commit together, so a crashed or retried job carries on where it stopped and nobody is
created twice. A row whose email was taken after validation is skipped with `email_exists`."""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from crm_identity.imports import spreadsheet
from crm_identity.imports.messages import message
from crm_identity.invitations.service import Actor, Invitations
from crm_identity.roles import service as roles
from crm_identity.roles.access import BUILTIN_ROLES
from crm_identity.tables import roles as roles_table
from crm_identity.tables import teams as teams_table
from crm_identity.tables import user_import_rows, user_imports
from crm_identity.tables import users as users_table
from crm_identity.users import service as users
from crm_platform import jobs, telemetry, text
from crm_platform.auth import Principal
from crm_platform.db import tenant_session
from crm_platform.errors import Conflict, DomainError, FieldError, InvalidInput, NotFound, PermissionDenied
from crm_platform.i18n import NC_, Messages, Msg, both, locale_or_default, messages
from crm_platform.ids import new_id

log = logging.getLogger(__name__)

JOB_KIND: Final = "identity.user_import"
RETRY_SCHEDULE: Final = (timedelta(seconds=5), timedelta(seconds=30), timedelta(minutes=2), timedelta(minutes=10))
MAX_ROWS: Final = 5000
MAX_FILE_BYTES: Final = 2 * 1024 * 1024
MAX_EMAIL: Final = 254
MAX_NAME: Final = 100
BATCH: Final = 20
ROLE_SEPARATORS: Final = re.compile(r"[,，、;；\n]+")
# Built-in role names in both languages (the web UI's labels), accepted in the roles column.
BUILTIN_LABELS: Final[dict[str, Msg]] = {
    "tenant_admin": NC_("role", "Tenant admin"),
    "sales_manager": NC_("role", "Sales manager"),
    "sales_rep": NC_("role", "Sales rep"),
    "customer_service": NC_("role", "Customer service"),
}


# What each column holds, for the text rule.
CELL_KINDS: Final = (
    ("email", text.TextKind.LINE), ("display_name", text.TextKind.NAME), ("roles", text.TextKind.LINE),
    ("team", text.TextKind.LINE),
)


@dataclass(frozen=True)
class RowError:
    row: int
    column: str
    code: str
    message: str


@dataclass
class Validated:
    total: int
    errors: list[RowError] = field(default_factory=list)
    rows: list[tuple[int, dict[str, Any]]] = field(default_factory=list)


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text.strip()).lower()


def _team_paths(teams: Sequence[sa.Row[Any]]) -> dict[uuid.UUID, str]:
    """Each team's path from the root, e.g. "销售部/华北组" (a cycle, which the API refuses, stops the walk)."""
    by_id = {r.id: r for r in teams}
    result: dict[uuid.UUID, str] = {}
    for row in teams:
        parts: list[str] = []
        seen: set[uuid.UUID] = set()
        node: sa.Row[Any] | None = row
        while node is not None and node.id not in seen:
            seen.add(node.id)
            parts.append(str(node.name).strip())
            node = by_id.get(node.parent_id) if node.parent_id else None
        result[row.id] = "/".join(reversed(parts))
    return result


class Directory:
    """The tenant's roles and teams, resolved from what people type."""

    def __init__(self, custom_roles: Sequence[sa.Row[Any]], teams: Sequence[sa.Row[Any]]):
        self.roles: dict[str, str] = {}
        for role_id, label in BUILTIN_LABELS.items():
            self.roles[role_id] = role_id
            for spelling in both(label):
                self.roles[_norm(spelling)] = role_id
        for row in custom_roles:
            self.roles[_norm(row.name)] = str(row.id)
            self.roles[str(row.id)] = str(row.id)
        self.team_paths: dict[str, uuid.UUID] = {}
        self.team_names: dict[str, list[uuid.UUID]] = {}
        paths = _team_paths(teams)
        for row in teams:
            self.team_paths[_norm(paths[row.id])] = row.id
            self.team_names.setdefault(_norm(row.name), []).append(row.id)
        self.custom_role_names = [r.name for r in custom_roles]
        self.paths = sorted(paths.values())

    def role(self, text: str) -> str | None:
        return self.roles.get(_norm(text)) or self.roles.get(text.strip())

    def team(self, text: str) -> tuple[uuid.UUID | None, str]:
        """(team id, error code or "")."""
        wanted = "/".join(p.strip() for p in re.split(r"[/／]", text))
        found = self.team_paths.get(_norm(wanted))
        if found is not None:
            return found, ""
        if "/" not in wanted:
            named = self.team_names.get(_norm(wanted), [])
            if len(named) == 1:
                return named[0], ""
            if len(named) > 1:
                return None, "ambiguous_team"
        return None, "unknown_team"


async def load_directory(session: AsyncSession) -> Directory:
    custom = (await session.execute(sa.select(roles_table).order_by(roles_table.c.name))).all()
    teams = (await session.execute(sa.select(teams_table))).all()
    return Directory(custom, teams)


class UserImports:
    def __init__(self, engine: AsyncEngine, invitations: Invitations):
        self.engine = engine
        self.invitations = invitations

    # -- template ------------------------------------------------------------------------------------
    async def template(self, session: AsyncSession, fmt: str, locale: str) -> tuple[str, str, bytes]:
        if fmt not in ("xlsx", "csv"):
            raise InvalidInput([FieldError("format", "invalid_choice", "xlsx or csv")])
        directory = await load_directory(session)
        role_names = [_text(locale).text(BUILTIN_LABELS[r]) for r in BUILTIN_ROLES] + directory.custom_role_names
        return spreadsheet.template(fmt, locale, role_names, directory.paths)

    # -- validation -----------------------------------------------------------------------------------
    async def validate(
        self, session: AsyncSession, caller: Principal, filename: str, content: bytes, locale: str
    ) -> Validated:
        """Every row's errors; file-level problems (not a spreadsheet, too many rows, missing
        columns, no rows) are InvalidInput on `file`."""
        if len(content) > MAX_FILE_BYTES:
            raise _file_error("file_too_large", locale, limit=MAX_FILE_BYTES)
        try:
            sheet = spreadsheet.read(filename, content)
        except spreadsheet.NotASpreadsheet:
            raise _file_error("unsupported_file", locale) from None
        if sheet.missing:
            raise InvalidInput([
                FieldError("file", "missing_column", message("missing_column", locale,
                                                             column=_text(locale).text(spreadsheet.HEADERS[k])))
                for k in sheet.missing
            ])
        if not sheet.rows:
            raise _file_error("no_rows", locale)
        if len(sheet.rows) > MAX_ROWS:
            raise _file_error("too_many_rows", locale, limit=MAX_ROWS, count=len(sheet.rows))
        directory = await load_directory(session)
        result = Validated(total=len(sheet.rows))
        emails = [r.get("email", "").strip().lower() for r in sheet.rows]
        existing = await _existing_emails(session, [e for e in emails if e])
        first_row: dict[str, int] = {}
        grant_checked: dict[frozenset[str], str] = {}

        def add(at: int, column: str, code: str, **params: Any) -> None:
            result.errors.append(RowError(at, column, code, message(code, locale, **params)))

        for number, values in zip(sheet.numbers, sheet.rows, strict=True):
            before = len(result.errors)
            # The text rule (crm_platform/text.py) on every cell: a row with a control character (or a
            # name with nothing visible) is reported, and nothing else of it is checked.
            for error in text.field_errors((column, values.get(column, ""), kind) for column, kind in CELL_KINDS):
                add(number, error.field, error.code)
            if len(result.errors) > before:
                continue
            email = values.get("email", "").strip()
            name = values.get("display_name", "").strip()
            if not email:
                add(number, "email", "required")
            elif len(email) > MAX_EMAIL:
                add(number, "email", "too_long", limit=MAX_EMAIL)
            elif users.validate_new_user(email, None, "x", []):
                add(number, "email", "invalid_email")
            elif email.lower() in first_row:
                add(number, "email", "duplicate_email_in_file", row=first_row[email.lower()])
            elif email.lower() in existing:
                add(number, "email", "email_exists")
            if email:
                first_row.setdefault(email.lower(), number)
            if not name:
                add(number, "display_name", "required")
            elif len(name) > MAX_NAME:
                add(number, "display_name", "too_long", limit=MAX_NAME)
            role_ids: list[str] = []
            for part in (p for p in ROLE_SEPARATORS.split(values.get("roles", "")) if p.strip()):
                resolved = directory.role(part)
                if resolved is None:
                    add(number, "roles", "unknown_role", role=part.strip())
                elif resolved not in role_ids:
                    role_ids.append(resolved)
            if not role_ids and not any(e.row == number and e.column == "roles" for e in result.errors):
                role_ids = ["sales_rep"]
            if role_ids and not any(e.row == number and e.column == "roles" for e in result.errors):
                code = await _grant_check(session, caller, role_ids, grant_checked)
                if code:
                    add(number, "roles", code)
            team_id: uuid.UUID | None = None
            team_text = values.get("team", "").strip()
            if team_text:
                team_id, code = directory.team(team_text)
                if code:
                    add(number, "team", code, team=team_text)
            if len(result.errors) == before:
                result.rows.append((number, {"email": email.lower(), "display_name": name, "roles": role_ids,
                                             "team_id": team_id}))
        return result

    # -- the import -------------------------------------------------------------------------------------
    async def start(
        self, session: AsyncSession, caller: Principal, filename: str, validated: Validated
    ) -> sa.Row[Any]:
        actor = Actor.of(caller)
        import_id = new_id()
        await session.execute(sa.insert(user_imports).values(
            id=import_id, status="queued", filename=filename[:200], created_by=actor.id, created_by_kind=actor.kind,
            total=len(validated.rows), processed=0, created=0, error="",
        ))
        await session.execute(sa.insert(user_import_rows), [
            {"import_id": import_id, "row_number": number, **values} for number, values in validated.rows
        ])
        await jobs.enqueue(session, JOB_KIND, {"import_id": str(import_id)}, tenant_id=caller.tenant_id,
                           max_attempts=len(RETRY_SCHEDULE) + 1, dedupe_key=f"user-import:{import_id}")
        return await self.get(session, str(import_id))

    async def get(self, session: AsyncSession, import_id: str) -> sa.Row[Any]:
        try:
            parsed = uuid.UUID(import_id)
        except (ValueError, AttributeError, TypeError):
            raise NotFound("import not found") from None
        row = (await session.execute(sa.select(user_imports).where(user_imports.c.id == parsed))).first()
        if row is None:
            raise NotFound("import not found")
        return row

    async def run(self, job: jobs.Job) -> dict[str, Any]:
        """The job: batches until no row is left; resumable at any point."""
        assert job.tenant_id is not None
        tenant_id = job.tenant_id
        import_id = uuid.UUID(str(job.payload["import_id"]))
        async with tenant_session(self.engine, tenant_id) as session:
            started = (await session.execute(
                sa.update(user_imports).where(user_imports.c.id == import_id)
                .values(status="running", updated_at=sa.func.now()).returning(user_imports)
            )).first()
        if started is None:
            return {"missing": True}  # the tenant's data was erased meanwhile
        actor = Actor(started.created_by, started.created_by_kind)
        try:
            while await self._batch(tenant_id, import_id, actor):
                async with tenant_session(self.engine, tenant_id) as session:
                    done = (await self.get(session, str(import_id)))
                await jobs.report_progress(self.engine, job.id, done.processed, done.total)
        except DomainError as exc:
            last = job.attempts >= job.max_attempts
            async with tenant_session(self.engine, tenant_id) as session:
                await session.execute(sa.update(user_imports).where(user_imports.c.id == import_id).values(
                    error=exc.message[:500], updated_at=sa.func.now(),
                    **({"status": "failed", "finished_at": sa.func.now()} if last else {}),
                ))
            log.warning("user import interrupted", extra=telemetry.log_fields(import_id=str(import_id),
                                                                               error=exc.message, last=last))
            raise
        async with tenant_session(self.engine, tenant_id) as session:
            final = (await session.execute(
                sa.update(user_imports).where(user_imports.c.id == import_id)
                .values(status="succeeded", error="", finished_at=sa.func.now(), updated_at=sa.func.now())
                .returning(user_imports)
            )).one()
        await jobs.report_progress(self.engine, job.id, final.processed, final.total)
        return {"import_id": str(import_id), "created": final.created, "processed": final.processed}

    async def _batch(self, tenant_id: uuid.UUID, import_id: uuid.UUID, actor: Actor) -> bool:
        """One transaction: up to BATCH rows created and invited, their marks and the counters.
        False when no row was left."""
        r = user_import_rows.c
        async with tenant_session(self.engine, tenant_id) as session:
            rows = (await session.execute(
                sa.select(user_import_rows)
                .where(r.import_id == import_id, r.user_id.is_(None), r.error_code.is_(None))
                .order_by(r.row_number).limit(BATCH).with_for_update(skip_locked=True)
            )).all()
            if not rows:
                return False
            created = 0
            for row in rows:
                try:
                    async with session.begin_nested():
                        user = await users.create_user(
                            session, row.email, None, row.display_name, list(row.roles), team_id=row.team_id,
                            tenant_id=tenant_id, status="invited",
                        )
                        await self.invitations.issue(session, tenant_id, user, actor, import_id=import_id)
                except Conflict:
                    mark: dict[str, Any] = {"error_code": "email_exists"}
                except InvalidInput as exc:
                    mark = {"error_code": exc.errors[0].code if exc.errors else "invalid_input"}
                else:
                    mark = {"user_id": user.id}
                    created += 1
                await session.execute(sa.update(user_import_rows).where(
                    r.import_id == import_id, r.row_number == row.row_number).values(**mark))
            await session.execute(sa.update(user_imports).where(user_imports.c.id == import_id).values(
                processed=user_imports.c.processed + len(rows), created=user_imports.c.created + created,
                updated_at=sa.func.now(),
            ))
        return True


def _text(locale: str) -> Messages:
    return messages(locale_or_default(locale))


def _file_error(code: str, locale: str, **params: Any) -> InvalidInput:
    return InvalidInput([FieldError("file", code, message(code, locale, **params))])


async def _existing_emails(session: AsyncSession, emails: list[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(emails), 1000):
        chunk = emails[start:start + 1000]
        rows = await session.execute(
            sa.select(sa.func.lower(users_table.c.email)).where(sa.func.lower(users_table.c.email).in_(chunk))
        )
        found.update(str(e) for e in rows.scalars())
    return found


async def _grant_check(
    session: AsyncSession, caller: Principal, role_ids: list[str], cache: dict[frozenset[str], str]
) -> str:
    """"" or the error code of assigning these roles, by the same rule as creating a user."""
    key = frozenset(role_ids)
    if key not in cache:
        try:
            await roles.check_assignable(session, caller, role_ids)
            cache[key] = ""
        except PermissionDenied as exc:
            cache[key] = exc.code
        except InvalidInput as exc:
            cache[key] = exc.errors[0].code if exc.errors else "unknown_role"
    return cache[key]
