"""Identity's part of backups and restore (docs/tenancy.md#restore-into-a-new-tenant).

- The tenant's settings (name, default language, time zone) live in the control table
  `tenant_directory`, outside the tenant's schema: exported as the table `control.tenant` (one row)
  and, on restore, written onto the new tenant's directory row (its id and slug stay the new ones).
- Users come without password hashes (never exported): restored users get the unusable dummy hash
  and must choose a password at their first sign-in; `crm tenant restore` sets one admin's.
- Only a tenant still `provisioning` (being restored) takes restored settings."""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_identity.tables import tenant_directory
from crm_identity.users import service as users
from crm_platform.db import control_session
from crm_platform.errors import FieldError, InvalidInput
from crm_platform.offboarding import Row, TenantDataHook

SETTINGS_TABLE: Final = "control.tenant"
RESTORED_SETTINGS: Final = ("name", "default_locale", "time_zone")


def tenant_settings_data(
    engine: AsyncEngine, erase: Callable[[uuid.UUID], Awaitable[dict[str, int]]],
) -> TenantDataHook:
    async def tables(tenant_id: uuid.UUID) -> list[tuple[str, int]]:
        return [(SETTINGS_TABLE, 1)]

    async def export(tenant_id: uuid.UUID, table: str, offset: int, limit: int) -> list[str]:
        if table != SETTINGS_TABLE:
            raise InvalidInput([FieldError("table", "unknown_table", f"no table {table!r} for this tenant")])
        if offset > 0:
            return []
        async with control_session(engine) as session:
            row = (await session.execute(sa.select(
                tenant_directory.c.id, tenant_directory.c.slug, tenant_directory.c.name,
                tenant_directory.c.default_locale, tenant_directory.c.time_zone, tenant_directory.c.created_at,
            ).where(tenant_directory.c.id == tenant_id))).first()
        if row is None:
            return []
        values: dict[str, Any] = dict(row._mapping)
        return [json.dumps({**values, "id": str(row.id), "created_at": row.created_at.isoformat()},
                           ensure_ascii=False)]

    async def prepare_import(tenant_id: uuid.UUID, source_id: uuid.UUID, table: str, rows: list[Row]) -> list[Row]:
        if table != "users":
            return rows
        # No password hash in a backup: nobody can sign in until they choose one.
        return [{**row, "password_hash": users._DUMMY_HASH, "must_change_password": True} for row in rows]

    async def import_external(tenant_id: uuid.UUID, source_id: uuid.UUID, table: str, rows: list[Row]) -> int:
        if table != SETTINGS_TABLE:
            raise InvalidInput([FieldError("table", "unknown_table", f"no table {table!r} for this tenant")])
        if not rows:
            return 0
        values = {k: str(rows[0][k]) for k in RESTORED_SETTINGS if rows[0].get(k)}
        async with control_session(engine) as session:
            result = await session.execute(sa.update(tenant_directory).where(
                tenant_directory.c.id == tenant_id, tenant_directory.c.status == "provisioning").values(**values))
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    return TenantDataHook(tables=tables, export=export, erase=erase, prefixes=("control.",),
                          prepare_import=prepare_import, import_external=import_external)
