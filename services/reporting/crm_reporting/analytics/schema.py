"""Creates the analytics tables at start-up, adds the columns a table created by an older release
lacks, applies the declared MergeTree settings, and rebuilds a table whose declared partitioning
changed (copying its rows into the new layout), and fills a new table derived from others (its
declared backfill); every step is idempotent and safe to repeat after
a crash (docs/reporting.md, "Analytics schema")."""

from __future__ import annotations

from collections.abc import Sequence

from crm_reporting.analytics.backend import Analytics
from crm_reporting.analytics.tables import TenantTable

REBUILD_SUFFIX = "_rebuild"


def _same_expression(a: str, b: str) -> bool:
    return "".join(a.split()) == "".join(b.split())


async def ensure_schema(analytics: Analytics, tables: Sequence[TenantTable]) -> None:
    for table in tables:
        copy = table.name + REBUILD_SUFFIX
        # A rebuild's copy left by a crash: before the exchange it holds a partial copy, after it
        # the old layout's rows; either way it goes (the rebuild starts again when still needed).
        await analytics.command(f"DROP TABLE IF EXISTS {copy}")
        existing = await analytics.partition_key(table.name)
        if existing is not None and not _same_expression(existing, table.partition_by or ""):
            await rebuild(analytics, table)
        if existing is None and table.backfill is not None:
            await backfill(analytics, table)
        await analytics.command(table.create_sql())
        await analytics.command(table.add_columns_sql())
        settings = table.modify_settings_sql()
        if settings:
            await analytics.command(settings)


async def backfill(analytics: Analytics, table: TenantTable) -> None:
    """Creates a derived table filled from the tables it derives from (`TenantTable.backfill`): into a
    copy first, renamed only once full, so a crash leaves no half-filled table (the copy goes at the
    next start, which fills again). Run at start, before the consumer writes."""
    copy = table.name + REBUILD_SUFFIX
    await analytics.command(table.create_sql(copy))
    columns = ", ".join(c.name for c in table.columns)
    await analytics.command(f"INSERT INTO {copy} ({columns}) {table.backfill}")
    await analytics.command(f"RENAME TABLE {copy} TO {table.name}")


async def rebuild(analytics: Analytics, table: TenantTable) -> None:
    """Moves an existing table to the declared layout: a copy with the new DDL, every row copied
    (versions and all, so ReplacingMergeTree still keeps the latest of each key), then an atomic
    `EXCHANGE TABLES` and the old layout dropped. Run at start, before the consumer writes."""
    copy = table.name + REBUILD_SUFFIX
    await analytics.command(table.add_columns_sql())  # the old table gains the columns copied below
    await analytics.command(table.create_sql(copy))
    columns = ", ".join(c.name for c in table.columns)
    await analytics.command(f"INSERT INTO {copy} ({columns}) SELECT {columns} FROM {table.name}")
    await analytics.command(f"EXCHANGE TABLES {table.name} AND {copy}")
    await analytics.command(f"DROP TABLE IF EXISTS {copy}")
