"""Creates the analytics tables at start-up, and adds the columns a table created by an older release
lacks; every statement is idempotent (IF NOT EXISTS)."""

from __future__ import annotations

from collections.abc import Sequence

from crm_reporting.analytics.backend import Analytics
from crm_reporting.analytics.tables import TenantTable


async def ensure_schema(analytics: Analytics, tables: Sequence[TenantTable]) -> None:
    for table in tables:
        await analytics.command(table.create_sql())
        await analytics.command(table.add_columns_sql())
