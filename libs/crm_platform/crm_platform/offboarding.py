"""Offboarding a tenant in one service: export its data as JSON lines, then erase it.

Generic for every service: the tenant's schema is iterated table by table (no per-service code),
and erasing drops the schema and deletes the tenant's rows from every `control` table that has a
`tenant_id` column (outbox, inbox, jobs - e.g. queued webhook deliveries - and any service table
such as identity's OAuth clients). A service with data outside Postgres (reporting's ClickHouse)
adds a `TenantDataHook`. Identity's tenant directory row is the one kept: a tenant id and slug are
never reused (docs/tenancy.md).
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_platform import telemetry
from crm_platform.db import CONTROL, control_session
from crm_platform.errors import FieldError, InvalidInput, PreconditionFailed
from crm_platform.ids import tenant_schema
from crm_platform.tables import erased_tenants, tenants

log = logging.getLogger(__name__)

MAX_PAGE = 1000
DEFAULT_PAGE = 500
# Columns never exported: credentials and sealed secrets are useless outside this platform and
# dangerous in a download.
SECRET_COLUMN = re.compile(r"(^password|_hash$|_sealed$|_encrypted$|^secret)")
# Kept when a tenant is erased: the registry that refuses its id and slug forever.
KEPT_CONTROL_TABLES = frozenset({"tenant_directory", "erased_tenants", "tenants"})
# Not exported: migration state, and identity's stored backups themselves (a backup would otherwise
# hold every earlier backup).
SKIPPED_TABLES = frozenset({"alembic_version", "tenant_backups", "tenant_backup_pages"})


async def _no_tables(tenant_id: uuid.UUID) -> list[tuple[str, int]]:
    return []


async def _no_rows(tenant_id: uuid.UUID, table: str, offset: int, limit: int) -> list[str]:
    raise InvalidInput([FieldError("table", "unknown_table", f"no table {table!r} for this tenant")])


async def _nothing_erased(tenant_id: uuid.UUID) -> dict[str, int]:
    return {}


Row = dict[str, Any]


async def _rows_as_they_are(tenant_id: uuid.UUID, source_id: uuid.UUID, table: str, rows: list[Row]) -> list[Row]:
    return rows


async def _no_external_import(tenant_id: uuid.UUID, source_id: uuid.UUID, table: str, rows: list[Row]) -> int:
    return 0


@dataclass
class TenantDataHook:
    """What a service adds to the generic export and erase: data kept outside its schema (e.g.
    reporting's ClickHouse rows, tables named with one of `prefixes`), and work done before the
    schema is dropped (e.g. identity marks the tenant offboarded)."""

    tables: Callable[[uuid.UUID], Awaitable[list[tuple[str, int]]]] = _no_tables
    export: Callable[[uuid.UUID, str, int, int], Awaitable[list[str]]] = _no_rows
    # Runs before the schema is dropped; returns rows deleted per table.
    erase: Callable[[uuid.UUID], Awaitable[dict[str, int]]] = _nothing_erased
    prefixes: tuple[str, ...] = field(default=("clickhouse.",))
    # Restore: rows of a schema table changed before they are inserted into the new tenant (values
    # bound to the source tenant, e.g. customers' sealed fields, identity's missing password hashes).
    prepare_import: Callable[[uuid.UUID, uuid.UUID, str, list[Row]], Awaitable[list[Row]]] = _rows_as_they_are
    # Restore of a table named with one of `prefixes` (kept outside Postgres); returns rows written.
    import_external: Callable[[uuid.UUID, uuid.UUID, str, list[Row]], Awaitable[int]] = _no_external_import


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


async def schema_tables(engine: AsyncEngine, tenant_id: uuid.UUID) -> list[tuple[str, int]]:
    schema = tenant_schema(tenant_id)
    async with control_session(engine) as session:
        names = (
            await session.execute(
                sa.text(
                    "SELECT table_name FROM information_schema.tables WHERE table_schema = :s"
                    " AND table_type = 'BASE TABLE' ORDER BY table_name"
                ),
                {"s": schema},
            )
        ).scalars().all()
        result = []
        for name in names:
            if name in SKIPPED_TABLES:
                continue
            count = (await session.execute(sa.text(f"SELECT count(*) FROM {_quote(schema)}.{_quote(name)}"))).scalar()
            result.append((str(name), int(count or 0)))
    return result


async def _columns(engine: AsyncEngine, schema: str, table: str) -> list[str]:
    async with control_session(engine) as session:
        return list(
            (
                await session.execute(
                    sa.text(
                        "SELECT column_name FROM information_schema.columns"
                        " WHERE table_schema = :s AND table_name = :t ORDER BY ordinal_position"
                    ),
                    {"s": schema, "t": table},
                )
            ).scalars()
        )


async def export_page(engine: AsyncEngine, tenant_id: uuid.UUID, table: str, offset: int, limit: int) -> list[str]:
    """One page of a schema table as JSON objects (Postgres's own JSON rendering of each row)."""
    schema = tenant_schema(tenant_id)
    known = {name for name, _ in await schema_tables(engine, tenant_id)}
    if table not in known:
        raise InvalidInput([FieldError("table", "unknown_table", f"no table {table!r} for this tenant")])
    columns = [c for c in await _columns(engine, schema, table) if not SECRET_COLUMN.search(c)]
    selected = ", ".join(f"{_quote(c)}" for c in columns)
    # ctid order is stable while nothing writes: offboarding suspends the tenant first.
    sql = (
        f"SELECT row_to_json(r)::text FROM (SELECT {selected} FROM {_quote(schema)}.{_quote(table)}"
        " ORDER BY ctid OFFSET :o LIMIT :l) r"
    )
    async with control_session(engine) as session:
        return [str(v) for v in (await session.execute(sa.text(sql), {"o": offset, "l": limit})).scalars()]


FOREIGN_KEY_VIOLATION = "23503"


async def import_page(engine: AsyncEngine, tenant_id: uuid.UUID, table: str, rows: list[Row], *,
                      replace: bool = False) -> int:
    """Restore: inserts rows of a backup (JSON objects as `export_page` wrote them) into a table of
    the tenant's schema, ids and all, in one statement (`jsonb_populate_recordset`: Postgres parses
    its own JSON rendering back, bytea, arrays and JSONB included). Only the columns the rows carry
    are written, so the others take their defaults; a row whose primary key is already there (one
    the new tenant's migrations seeded, or a page sent twice) takes the archive's values; with
    `replace` (a table's first page) the rows already there are deleted first when nothing refers to
    them, so seeded rows with ids of their own (default categories) make way for the archive's. A row
    referencing one not restored yet raises PreconditionFailed `import_order`: the caller retries the
    table after the others. Serial and identity columns' sequences are moved past the restored values."""
    schema = tenant_schema(tenant_id)
    async with control_session(engine) as session:
        found = (await session.execute(sa.text(
            "SELECT column_name, is_generated, is_identity, column_default FROM information_schema.columns"
            " WHERE table_schema = :s AND table_name = :t ORDER BY ordinal_position"), {"s": schema, "t": table})).all()
    if not found or table in SKIPPED_TABLES:
        raise InvalidInput([FieldError("table", "unknown_table", f"no table {table!r} for this tenant")])
    if not rows and not replace:
        return 0
    carried = {key for row in rows for key in row}
    columns = [c.column_name for c in found if c.is_generated != "ALWAYS" and c.column_name in carried]
    if not columns:
        return 0
    sequenced = [c.column_name for c in found
                 if c.is_identity == "YES" or str(c.column_default or "").startswith("nextval(")]
    qualified = f"{_quote(schema)}.{_quote(table)}"
    listed = ", ".join(_quote(c) for c in columns)
    overriding = " OVERRIDING SYSTEM VALUE" if any(c.is_identity == "YES" for c in found) else ""
    async with control_session(engine) as session:
        key = (await session.execute(sa.text(
            "SELECT c.conname, array_agg(a.attname::text) AS columns FROM pg_constraint c"
            " JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY(c.conkey)"
            " WHERE c.conrelid = CAST(:q AS regclass) AND c.contype = 'p' GROUP BY c.conname"),
            {"q": f"{_quote(schema)}.{_quote(table)}"})).first()
    # A row the new tenant already has is one its migrations seeded (default dictionaries, settings):
    # it takes the archive's values. Without a primary key, existing rows are kept.
    conflict = "ON CONFLICT DO NOTHING"
    if key is not None:
        updated = [c for c in columns if c not in key.columns]
        if updated:
            conflict = (f"ON CONFLICT ON CONSTRAINT {_quote(key.conname)} DO UPDATE SET "
                        + ", ".join(f"{_quote(c)} = EXCLUDED.{_quote(c)}" for c in updated))
    sql = (f"INSERT INTO {qualified} ({listed}){overriding} SELECT {listed}"
           f" FROM jsonb_populate_recordset(NULL::{qualified}, CAST(:rows AS jsonb)) {conflict}")
    try:
        async with control_session(engine) as session:
            if replace:
                try:
                    async with session.begin_nested():
                        await session.execute(sa.text(f"DELETE FROM {qualified}"))
                except DBAPIError:  # seeded rows other seeded rows refer to: kept, upserted below
                    pass
            if not rows:
                return 0
            result = await session.execute(sa.text(sql), {"rows": json.dumps(rows, ensure_ascii=False)})
            inserted = int(result.rowcount or 0)  # type: ignore[attr-defined]
            for column in sequenced:
                await session.execute(sa.text(
                    f"SELECT setval(pg_get_serial_sequence(:q, :c), GREATEST(coalesce(max({_quote(column)}), 0), 1))"
                    f" FROM {qualified}"), {"q": f"{schema}.{table}", "c": column})
    except IntegrityError as exc:
        if getattr(exc.orig, "sqlstate", None) == FOREIGN_KEY_VIOLATION or "foreign key" in str(exc.orig):
            raise PreconditionFailed(f"{table} references rows not restored yet", code="import_order") from None
        raise InvalidInput([FieldError("rows", "invalid_rows", f"{table}: {exc.orig}")]) from None
    except DBAPIError as exc:
        raise InvalidInput([FieldError("rows", "invalid_rows", f"{table}: {exc.orig}")]) from None
    return inserted


async def _tenant_control_tables(engine: AsyncEngine) -> list[str]:
    async with control_session(engine) as session:
        return [
            str(t)
            for t in (
                await session.execute(
                    sa.text(
                        "SELECT table_name FROM information_schema.columns"
                        " WHERE table_schema = :s AND column_name = 'tenant_id' ORDER BY table_name"
                    ),
                    {"s": CONTROL},
                )
            ).scalars()
            if t not in KEPT_CONTROL_TABLES
        ]


async def erase_postgres(engine: AsyncEngine, tenant_id: uuid.UUID) -> tuple[dict[str, int], bool]:
    """Drops the schema and deletes the tenant's control rows; records the tenant as erased."""
    schema = tenant_schema(tenant_id)
    deleted: dict[str, int] = {name: rows for name, rows in await schema_tables(engine, tenant_id)}
    pending = await _tenant_control_tables(engine)
    async with control_session(engine) as session:
        found = sa.text("SELECT 1 FROM information_schema.schemata WHERE schema_name = :s")
        existed = (await session.execute(found, {"s": schema})).first() is not None
        await session.execute(sa.text(f"DROP SCHEMA IF EXISTS {_quote(schema)} CASCADE"))
        # Tables referencing each other (e.g. codes -> clients) are retried after the others.
        for _ in range(len(pending) + 1):
            retry: list[str] = []
            for table in pending:
                try:
                    async with session.begin_nested():
                        result = await session.execute(
                            sa.text(f"DELETE FROM {CONTROL}.{_quote(table)} WHERE tenant_id = :t"), {"t": tenant_id}
                        )
                    count = int(result.rowcount or 0)  # type: ignore[attr-defined]
                    deleted[f"control.{table}"] = deleted.get(f"control.{table}", 0) + count
                except DBAPIError:
                    retry.append(table)
            if not retry:
                break
            pending = retry
        else:
            raise RuntimeError(f"could not delete the tenant's rows from {pending}")
        result = await session.execute(sa.delete(tenants).where(tenants.c.tenant_id == tenant_id))
        deleted["control.tenants"] = int(result.rowcount or 0)  # type: ignore[attr-defined]
        await session.execute(pg_insert(erased_tenants).values(tenant_id=tenant_id).on_conflict_do_nothing())
    return deleted, existed


def page_size(requested: int) -> int:
    if requested < 0 or requested > MAX_PAGE:
        raise InvalidInput([FieldError("page_size", "out_of_range", f"page_size must be 0..{MAX_PAGE}")])
    return requested or DEFAULT_PAGE


def audit(action: str, service: str, tenant_id: uuid.UUID, **fields: object) -> None:
    """Offboarding steps are audited as log lines until the audit log exists."""
    log.info(
        "audit: tenant %s", action,
        extra=telemetry.log_fields(audit=True, service=service, tenant=str(tenant_id), **fields),
    )
