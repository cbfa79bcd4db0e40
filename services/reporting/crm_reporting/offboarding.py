"""Reporting's part of offboarding a tenant: its ClickHouse rows, exported and erased through the
tenant-safe builder (`TenantQuery` to read, `TenantDelete` to delete), next to the generic export
and erase of its Postgres schema (crm_platform/offboarding.py)."""

from __future__ import annotations

import json
import uuid

from crm_platform.errors import FieldError, InvalidInput
from crm_platform.offboarding import Row, TenantDataHook
from crm_reporting.analytics import TenantTable
from crm_reporting.analytics.pending import PendingAnalytics
from crm_reporting.analytics.query import TenantDelete, TenantQuery
from crm_reporting.analytics.tables import TENANT_COLUMN

PREFIX = "clickhouse."


def tenant_data(analytics: PendingAnalytics, tables: tuple[TenantTable, ...]) -> TenantDataHook:
    by_name = {f"{PREFIX}{t.name}": t for t in tables}

    async def count(table: TenantTable, tenant_id: uuid.UUID) -> int:
        rows = await analytics.query(TenantQuery(table, tenant_id).select("count() AS n"))
        return int(rows[0]["n"]) if rows else 0

    async def list_tables(tenant_id: uuid.UUID) -> list[tuple[str, int]]:
        return [(name, await count(table, tenant_id)) for name, table in by_name.items()]

    async def export(tenant_id: uuid.UUID, name: str, offset: int, limit: int) -> list[str]:
        table = by_name.get(name)
        if table is None:
            raise InvalidInput([FieldError("table", "unknown_table", f"no table {name!r} for this tenant")])
        query = TenantQuery(table, tenant_id).select("*").order_by(*table.order_by).limit(limit, offset)
        return [json.dumps(row, ensure_ascii=False, default=str) for row in await analytics.query(query)]

    async def erase(tenant_id: uuid.UUID) -> dict[str, int]:
        deleted = {}
        for name, table in by_name.items():
            deleted[name] = await count(table, tenant_id)
            await analytics.delete_tenant(TenantDelete(table, tenant_id))
        return deleted

    async def import_rows(tenant_id: uuid.UUID, source_id: uuid.UUID, name: str, rows: list[Row]) -> int:
        """Restore (docs/tenancy.md#restore-into-a-new-tenant): the exported rows (ClickHouse's own
        JSON rendering) inserted under the new tenant's id, the only value that changes; the
        JSONEachRow reader parses them back. Unlike the Postgres tables a page sent twice is
        inserted twice: the restore sends each page once."""
        table = by_name.get(name)
        if table is None:
            raise InvalidInput([FieldError("table", "unknown_table", f"no table {name!r} for this tenant")])
        known = table.column_names
        await analytics.insert(table, [{**{k: v for k, v in row.items() if k in known}, TENANT_COLUMN: tenant_id}
                                       for row in rows])
        return len(rows)

    return TenantDataHook(tables=list_tables, export=export, erase=erase, prefixes=(PREFIX,),
                          import_external=import_rows)
